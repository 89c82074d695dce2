package flashprog

import (
	"context"
	"errors"
	"fmt"

	"github.com/stprobe/stprobe/adi"
)

// HaltCore halts the core before the flash is written (DHCSR C_DEBUGEN and
// C_HALT, Armv8-M ARM C1.6.3), so the program being replaced does not run
// meanwhile, as OpenOCD's `reset halt` before a flash write. It reports
// whether the core showed S_HALT; a core that stays running (a product
// state that forbids halting) is no error: the flash controller is driven
// from the debug port either way.
func HaltCore(ctx context.Context, t Target) (bool, error) {
	if err := t.Write32(ctx, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn|adi.DHCSRCHalt); err != nil {
		return false, fmt.Errorf("target: halting the core (DHCSR): %w", err)
	}
	for i := 0; i < 100; i++ {
		d, err := t.Read32(ctx, adi.RegDHCSR)
		if err != nil {
			return false, fmt.Errorf("target: reading DHCSR: %w", err)
		}
		if d&adi.DHCSRSHalt != 0 {
			return true, nil
		}
	}
	return false, nil
}

// ResetRun releases the core from debug (DHCSR with C_DEBUGEN clear) and
// requests a system reset (AIRCR.SYSRESETREQ with VECTKEY), so that the
// chip boots the new program and runs. The link may drop with the reset:
// an error after the request was written is not reported.
func ResetRun(ctx context.Context, t Target) error {
	if err := t.Write32(ctx, adi.RegDHCSR, adi.DHCSRDebugKey); err != nil {
		return fmt.Errorf("target: releasing the core (DHCSR): %w", err)
	}
	if err := t.Write32(ctx, adi.RegAIRCR, adi.AIRCRVectKey|adi.AIRCRSysResetReq); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("target: requesting the reset (AIRCR.SYSRESETREQ): %w", err)
	}
	return nil
}
