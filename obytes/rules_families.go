package obytes

import (
	"fmt"

	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/targets"
)

// classifyRDPFamily decides the risk of one field change on a family
// protected by read-out protection levels (F1, F4, G0, G4, L4), or refuses
// it. The levels and what each costs are those of RM0008 §2.5, RM0090
// §3.7.3, RM0444 §3.5.1, RM0440 §5.5.1 and RM0351 §3.5.1 (docs/families.md).
func classifyRDPFamily(in *planInput, f *Field, from, to uint32, refuse func(string, string) (guarded.Risk, string, *Refusal)) (guarded.Risk, string, *Refusal) {
	l := in.l
	rdp, _ := l.Field("RDP")
	level := l.rdpLevelOf(rdp.Get(in.cur[rdp.Register]))
	if level == targets.RDPLevel2 {
		return refuse("the chip is at RDP level 2: its option bytes are frozen and debug is disabled for ever.", "none: RDP level 2 is permanent.")
	}
	if r, why, ref, ok := classifyU5H7(in, f, from, to, refuse); ok { // rules_u5h7.go
		return r, why, ref
	}
	switch f.Name {
	case "RDP":
		return classifyRDP(l.rdpLevelOf(from), l.rdpLevelOf(to), to)
	case "WDG_SW", "IWDG_SW", "WWDG_SW":
		if to == 0 {
			return guarded.Caution, "the watchdog then starts by itself at every reset and resets the core under the debugger (a halted core cannot refresh it) unless the firmware refreshes it or the DBGMCU freeze bits stop it while halted; write 1 back to undo.", nil
		}
		return guarded.Safe, "the watchdog starts only when firmware enables it; write the old value back to undo.", nil
	case "IWDG_STOP", "IWDG_STDBY":
		return guarded.Caution, "changes whether the independent watchdog runs in low-power mode: a running watchdog resets a sleeping board; write the old value back to undo.", nil
	case "BOR_LEV", "BOREN", "BORF_LEV", "BORR_LEV":
		return guarded.Caution, "a brown-out threshold above the board's supply holds the chip in reset: no firmware runs and the debugger cannot halt it; check the supply voltage first.", nil
	case "nBOOT0", "nBOOT1", "nSWBOOT0", "nBOOT_SEL", "BFB2", "nSWAP_BANK":
		return guarded.Caution, "changes what the chip boots after reset (user flash, system-memory bootloader or SRAM, or the other bank): the firmware may no longer start; write the old value back to undo.", nil
	case "NRST_MODE":
		if to == 2 {
			return guarded.Caution, "NRST becomes a GPIO: a reset from the probe, and so a connect Under Reset, no longer reaches the chip; with firmware that disables SWD the board then has no way in but the bootloader.", nil
		}
		return guarded.Caution, "changes what the NRST pin does; write the old value back to undo.", nil
	case "DUALBANK", "DUAL_BANK", "DB1M", "DBANK":
		return guarded.Caution, "changes the flash organisation: page addresses move, so the flash content must be erased and programmed again.", nil
	case "SRAM2_RST", "SRAM2_PE", "SRAM_PE", "CCMSRAM_RST", "RAM_PARITY_CHECK":
		return guarded.Caution, "changes an SRAM option: SRAM content and parity behaviour change at the next reset.", nil
	case "SPRMOD":
		return guarded.Caution, "changes the meaning of the nWRP bits between write protection and code read protection (PCROP); leaving PCROP needs an RDP level 1 to 0 regression on some lines.", nil
	}
	return guarded.Safe, "write the old value back to undo.", nil
}

// classifyRDP classifies a read-out protection change.
func classifyRDP(from, to targets.RDPLevel, raw uint32) (guarded.Risk, string, *Refusal) {
	switch {
	case to == targets.RDPLevel2:
		return guarded.Brick, fmt.Sprintf("RDP level 2 (0x%02X) is permanent: debug is disabled for ever, the option bytes freeze, and no tool, not even ST's, can bring the chip back.", raw), nil
	case from == targets.RDPLevel1 && to == targets.RDPLevel0:
		return guarded.Irreversible, "leaving RDP level 1 mass-erases the whole main flash when the option bytes load: the firmware and any data, keys or calibration kept in flash are lost for good (backup registers and SRAM are reset too on most lines). Save first what can still be read at level 1: SRAM and the peripheral registers (stprobe mem read), the option bytes (stprobe ob read --json) and the UID; the flash itself cannot be read at level 1.", nil
	case from == targets.RDPLevel0 && to == targets.RDPLevel1:
		return guarded.Irreversible, "RDP level 1 closes the flash to every debugger; the only way back, level 0, mass-erases the flash. Save the flash first (stprobe mem read 0x08000000 …) if you may need it.", nil
	case from == to:
		return guarded.Safe, fmt.Sprintf("the chip stays at RDP %v.", to), nil
	}
	return guarded.Caution, fmt.Sprintf("RDP %v to %v.", from, to), nil
}
