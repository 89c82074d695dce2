package cli

import (
	"testing"

	"github.com/stprobe/stprobe/internal/peertest"
)

// TestH7FlashHeldToOpenOCD holds `stprobe flash` to OpenOCD 0.12's
// stm32h7x driver on the h743-open board: OpenOCD's `program` writes an
// Intel HEX image over both banks (the second segment at 0x08100000) and
// stprobe's `flash verify` passes on it; stprobe's `flash write` of the ELF
// and the BIN image passes OpenOCD's `verify_image`; a changed byte is
// found by both.
func TestH7FlashHeldToOpenOCD(t *testing.T) {
	openocd := peertest.Need(t, "openocd", "openocd")
	// stm32h7x.cfg declares bank 2 (0x08100000) only with DUAL_BANK set.
	holdFlashToOpenOCD(t, openocd, "h743-open", "stm32h7x.cfg", 2048, "set DUAL_BANK 1")
}
