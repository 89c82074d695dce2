package sweep

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/targets"
)

// The diagnosis rules of the families protected by read-out protection
// levels beyond RDP 1 and 2 (diagnose.go): RDP level 0.5 with TrustZone
// (U5), a watchdog that resets the halted core, a chip that booted its
// system-memory bootloader, an empty flash, and what the only-Under-Reset
// pattern means on each family. Each reads what inspectFirmware found
// through the core port; the registers and bits are those of
// targets.Family.Debug.

// debugFacts are the identified family's debug facts.
func (f *facts) debugFacts() (targets.DebugFacts, bool) {
	if f.family == nil {
		return targets.DebugFacts{}, false
	}
	return f.family.Debug()
}

// firmwareCells are the cells that read FirmwareFacts satisfying keep. A
// cell implied by an earlier one carries its facts without reading them,
// so it is left out: the default sweep and --full then cite the same cells.
func (f *facts) firmwareCells(keep func(fw *FirmwareFacts) bool) []Cell {
	return f.where(func(c Cell) bool { return c.Firmware != nil && c.ImpliedBy == nil && keep(c.Firmware) })
}

// ruleRDP05: a U5 with TrustZone at RDP level 0.5 (RM0456 §7.6.2):
// non-secure debug open, secure debug closed.
func ruleRDP05(f *facts) *Finding {
	c, cells, ok := f.protectedAt(targets.RDPLevel05)
	if !ok {
		return nil
	}
	var d strings.Builder
	fmt.Fprintf(&d, "%s answers on AP%d and its %s reads %v with TZEN set: the debugger reaches the non-secure world (non-secure flash, SRAM and peripherals), not the secure one. "+
		"The flash pages inside the secure watermark, the secure aliases and the secure registers fault", f.chip, c.AP, f.family.RDP.RegName, *c.Protection)
	if c.FlashReadErr != "" {
		fmt.Fprintf(&d, ", as the read of flash at 0x%08X did (%s)", targets.FlashMemBase, c.FlashReadErr)
	}
	d.WriteString(".")
	if ur := f.where(func(c Cell) bool { return c.Mode == probe.ModeUnderReset && c.Outcome == OutcomeModeFailed }); len(ur) > 0 {
		d.WriteString(" Under Reset fails because the core leaves reset in the secure state, where level 0.5 forbids halting; Normal and Hot Plug stop the running non-secure application. NRST is not the problem.")
		cells = append(cells, ur...)
	}
	return &Finding{Severity: SeverityWarning,
		Title:  fmt.Sprintf("%s at RDP level 0.5 with TrustZone: non-secure debug open, the secure side closed", f.family.Name),
		Detail: d.String(),
		Next: "Debug the non-secure application with Normal or Hot Plug. To reach the secure side again, regress to level 0 (RDP=0xAA): the whole flash, secure and non-secure, is erased (and the SRAMs); TrustZone can be turned off (TZEN=0) only during that regression; " +
			"if the OEM1 key is locked, the regression needs that key first, and without it there is no way back to level 0. " +
			"Never write RDP=0xCC (level 2) unless the OEM2 key is provisioned and kept: without it level 2 is for ever.",
		Cells: keys(cells), Steps: steps(ActionReadOptionBytes)}
}

// ruleWatchdog: the reset-cause register holds a watchdog flag and the
// DBGMCU freeze bit is clear: the watchdog resets the halted core.
func ruleWatchdog(f *facts) *Finding {
	d, ok := f.debugFacts()
	if !ok {
		return nil
	}
	cells := f.firmwareCells(func(fw *FirmwareFacts) bool {
		return fw.WatchdogReset && fw.HasFreeze && !fw.IWDGFrozen
	})
	if len(cells) == 0 {
		return nil
	}
	fw := cells[0].Firmware
	which := "independent watchdog (IWDG)"
	if !fw.IWDGReset {
		which = "window watchdog (WWDG)"
	}
	lost := f.where(func(c Cell) bool {
		return c.Mode == probe.ModeNormal && c.Outcome == OutcomeModeFailed && int(c.AP) == f.coreAP
	})
	also := ""
	if len(lost) > 0 {
		also = fmt.Sprintf(" That is why Normal failed on AP%d (%s): the watchdog reset the core the debugger had just halted.", lost[0].AP, lost[0].Reason)
		cells = append(cells, lost...)
	}
	return &Finding{Severity: SeverityWarning,
		Title: fmt.Sprintf("The %s resets %s while the debugger holds the core halted", which, f.family.Name),
		Detail: fmt.Sprintf("%s at 0x%08X reads 0x%08X through AP%d: the %s reset the chip since its last power-on, and the freeze bits (%s) are clear, "+
			"so the watchdog keeps counting while the core is halted. A halt longer than its period (a breakpoint, a memory dump, an option-byte read) ends in a reset: "+
			"the debugger loses the halted core and the program starts again.%s", d.ResetName, d.Reset, fw.ResetFlags, cells[0].AP, which, d.FreezeNames, also),
		Next: fmt.Sprintf("Set the freeze bits before halting (%s; OpenOCD's stock target configs set them when they attach) and keep halts short until then. "+
			"Never change the watchdog option bytes (IWDG_SW and the like) to silence it: that changes how the product behaves in the field and outlives the debug session, while the DBGMCU freeze bits are cleared at power-on.", d.FreezeNames),
		Cells: keys(cells)}
}

// ruleBootMemory: the boot memory aliased at 0x00000000 holds the ROM
// bootloader's vector table: BOOT0 (or its option) selects system memory.
func ruleBootMemory(f *facts) *Finding {
	d, ok := f.debugFacts()
	if !ok {
		return nil
	}
	cells := f.firmwareCells(func(fw *FirmwareFacts) bool { return fw.HasBootVectors && d.InSystemMemory(fw.BootPC) })
	if len(cells) == 0 {
		return nil
	}
	fw := cells[0].Firmware
	var b strings.Builder
	fmt.Fprintf(&b, "The reset vector of the boot memory aliased at 0x00000000 reads 0x%08X, inside the system memory at 0x%08X: the chip runs its ROM bootloader, not the program in flash. "+
		"On %s the boot memory is chosen by %s.", fw.BootPC, d.SystemMemory, f.family.Name, d.Boot)
	if fw.HasFlashVectors && fw.FlashPC != 0xFFFFFFFF {
		fmt.Fprintf(&b, " The program is still in main flash (its reset vector at 0x%08X reads 0x%08X).", targets.FlashMemBase+4, fw.FlashPC)
	}
	return &Finding{Severity: SeverityWarning,
		Title:  fmt.Sprintf("%s booted its system-memory bootloader (BOOT0), not the firmware", f.family.Name),
		Detail: b.String(),
		Next: "Pull BOOT0 low (its jumper or button) and reset; where the family has boot option bits, read them (stprobe ob read) before changing one. " +
			"Never erase or reprogram the flash, or change RDP, because \"the firmware does not start\": the firmware is there, the boot selection skips it.",
		Cells: keys(cells), Steps: steps(ActionReadOptionBytes)}
}

// ruleEmptyFlash: the vector table at the start of main flash is erased.
func ruleEmptyFlash(f *facts) *Finding {
	if f.family == nil || f.family.RDP == nil {
		return nil
	}
	cells := f.firmwareCells(func(fw *FirmwareFacts) bool {
		return fw.HasFlashVectors && fw.FlashSP == 0xFFFFFFFF && fw.FlashPC == 0xFFFFFFFF
	})
	if len(cells) == 0 {
		return nil
	}
	after := "the core loads SP and PC 0xFFFFFFFF at reset, faults at once and locks up (DHCSR S_LOCKUP) or loops in its fault handler"
	if f.family.Name == "STM32G0" {
		after = "the G0's empty check then boots the system-memory bootloader instead"
	}
	return &Finding{Severity: SeverityWarning,
		Title: "Main flash is empty: the vector table at 0x08000000 reads 0xFFFFFFFF",
		Detail: fmt.Sprintf("Words 0 and 1 of main flash (initial stack pointer and reset vector) read 0xFFFFFFFF through AP%d: no program is there; %s. The debug port and the core are fine.",
			cells[0].AP, after),
		Next:  "Program the firmware (OpenOCD's program command, st-flash write, STM32CubeProgrammer). Nothing is locked: never change option bytes or RDP to \"unlock\" an empty chip.",
		Cells: keys(cells)}
}

// underResetFamily is what the only-Under-Reset pattern means on the
// identified RDP family: the SWD pins, the DBGMCU_CR low-power bits (and
// what a cell read there), what to try and what never to do.
func (f *facts) underResetFamily(ok []Cell) (detail, next string) {
	d, known := f.debugFacts()
	if !known {
		return "", ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, " On %s the SWD pins are %s; debug in low-power modes needs DBGMCU_CR %s at 0x%08X.", f.family.Name, d.SWDPins, d.LowPowerNames, d.CR)
	if i := slices.IndexFunc(ok, func(c Cell) bool { return c.Firmware != nil && c.Firmware.HasDBGMCUCR }); i >= 0 {
		cr := ok[i].Firmware.DBGMCUCR
		state := "clear"
		if cr&d.LowPower == d.LowPower {
			state = "set"
		}
		fmt.Fprintf(&b, " Read under reset, DBGMCU_CR is 0x%08X: the low-power debug bits are %s.", cr, state)
	}
	b.WriteString(" A sweep cannot tell the two causes apart: both silence SWD once the program runs.")
	next = fmt.Sprintf(" To tell them apart, connect Under Reset, set DBGMCU_CR %s and let the program run: if the board stays reachable it sleeps, if not it reuses %s. "+
		"Never set RDP level 2, and never turn NRST into a GPIO (NRST_MODE where the family has it), on such a board: Under Reset is its only way in.", d.LowPowerNames, d.SWDPins)
	return b.String(), next
}
