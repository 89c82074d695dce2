package sweep

import (
	"context"

	"github.com/stprobe/stprobe/targets"
)

// FirmwareFacts are what a cell read, on a chip of an RDP family, about
// what its firmware does to debug: the DBGMCU low-power and watchdog-freeze
// bits, the reset cause, the vector table of main flash and of the boot
// memory aliased at 0x00000000. Has* say which words were readable.
type FirmwareFacts struct {
	DBGMCUCR             uint32
	HasDBGMCUCR          bool
	IWDGFrozen           bool
	HasFreeze            bool
	ResetFlags           uint32 // the reset-cause register (RCC_CSR, RCC_RSR)
	HasResetFlags        bool
	FlashSP, FlashPC     uint32 // words 0 and 1 of main flash
	HasFlashVectors      bool
	BootSP, BootPC       uint32 // words 0 and 1 at 0x00000000 (the boot alias)
	HasBootVectors       bool
	WatchdogReset        bool // the reset-cause register holds an IWDG or WWDG flag
	IWDGReset, WWDGReset bool
}

// inspectFirmware reads the FirmwareFacts of an RDP-family chip through
// the cell's core port: at most nine words, each failure leaving its Has*
// flag clear (a read-protected flash, a closed secure area).
func inspectFirmware(ctx context.Context, r targets.MemReader, chip *targets.Chip, c *Cell) error {
	d, ok := chip.Family.Debug()
	if !ok {
		return nil
	}
	ap := chip.Family.CoreAP
	read := func(addr uint32) (uint32, bool) {
		v, err := r.Read32(ctx, ap, addr)
		return v, err == nil
	}
	fw := &FirmwareFacts{}
	fw.DBGMCUCR, fw.HasDBGMCUCR = read(d.CR)
	if v, ok := read(d.IWDGFreeze); ok {
		fw.IWDGFrozen, fw.HasFreeze = v&d.IWDGFreezeBit != 0, true
	}
	if v, ok := read(d.Reset); ok {
		fw.ResetFlags, fw.HasResetFlags = v, true
		fw.IWDGReset, fw.WWDGReset = v&d.IWDGReset != 0, v&d.WWDGReset != 0
		fw.WatchdogReset = fw.IWDGReset || fw.WWDGReset
	}
	if sp, ok := read(targets.FlashMemBase); ok {
		if pc, ok := read(targets.FlashMemBase + 4); ok {
			fw.FlashSP, fw.FlashPC, fw.HasFlashVectors = sp, pc, true
		}
	}
	if d.BootAlias {
		if sp, ok := read(0); ok {
			if pc, ok := read(4); ok {
				fw.BootSP, fw.BootPC, fw.HasBootVectors = sp, pc, true
			}
		}
	}
	c.Firmware = fw
	return ctx.Err()
}
