package obytes

import (
	"fmt"
	"strings"

	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/targets"
)

// The guard rules of the STM32U5 and STM32H7 (RM0456 §7.6.2, RM0433
// §4.5.3; docs/families.md): the U5's level 0.5 and its OEM-key
// regressions, TrustZone that only a regression turns off, the H7's
// secure-access mode. classifyRDPFamily calls them first; the rest of a
// field's rules are the RDP families' common ones.

// OEMKeyMethod is the WayBackProof method of a checked U5 OEM1 key: the
// proof that the key a regression from level 1 to 0 needs is the one the
// chip holds.
const OEMKeyMethod = "OEM1 key"

// u5Level is the RDP level an RDP byte and TZEN select on a U5.
func u5Level(rdp, tzen uint32) targets.RDPLevel {
	reg := rdp & 0xFF
	if tzen != 0 {
		reg |= targets.U5TZEN
	}
	lvl, _ := targets.STM32U5().RDP.Level(reg)
	return lvl
}

// classifyU5H7 classifies one field change on a U5 or an H7; ok is false
// when the common RDP-family rules decide.
func classifyU5H7(in *planInput, f *Field, from, to uint32, refuse func(string, string) (guarded.Risk, string, *Refusal)) (r guarded.Risk, why string, ref *Refusal, ok bool) {
	switch in.l.Family {
	case "STM32U5":
		r, why, ref = classifyU5(in, f, from, to, refuse)
		return r, why, ref, r != guarded.Safe || why != "" || ref != nil
	case "STM32H7":
		r, why, ref = classifyH7(f, from, to, refuse)
		return r, why, ref, why != "" || ref != nil
	}
	return 0, "", nil, false
}

// oem1Locked reports whether the chip holds an OEM1 key (FLASH_NSSR
// OEM1LOCK): leaving level 1 for level 0 then needs that key.
func oem1Locked(in *planInput) bool {
	v, _ := get(in.l, in.cur, "OEM1LOCK")
	return v == 1
}

func oem2Locked(in *planInput) bool {
	v, _ := get(in.l, in.cur, "OEM2LOCK")
	return v == 1
}

// oemProven reports whether the plan holds a checked proof of the OEM1 key.
func oemProven(in *planInput) bool {
	return in.wayBack.Proven() && in.wayBack.Method == OEMKeyMethod
}

// u5OEMWay is how a U5 whose OEM1 key is provisioned leaves level 1.
const u5OEMWay = "provide the OEM1 key while regressing to level 0 (STM32CubeProgrammer's RDP regression with password, UM2237); stprobe cannot check an OEM key on the chip: the key registers are write-only."

func classifyU5(in *planInput, f *Field, from, to uint32, refuse func(string, string) (guarded.Risk, string, *Refusal)) (guarded.Risk, string, *Refusal) {
	tzen, _ := get(in.l, in.cur, "TZEN")
	tzenAfter, _ := get(in.l, in.after, "TZEN")
	switch f.Name {
	case "RDP":
		return classifyU5RDP(in, u5Level(from, tzen), u5Level(to, tzenAfter), to)
	case "TZEN":
		rdp, _ := get(in.l, in.cur, "RDP")
		rdpAfter, _ := get(in.l, in.after, "RDP")
		regressing := u5Level(rdpAfter, tzenAfter) == targets.RDPLevel0 && u5Level(rdp, tzen) != targets.RDPLevel0
		switch {
		case from == 0 && to == 1 && u5Level(rdp, tzen) != targets.RDPLevel0:
			return refuse("TrustZone can be turned on at RDP level 0 only.", "regress to level 0 first (this erases the flash).")
		case from == 0 && to == 1:
			return guarded.Irreversible, "TrustZone on: the chip boots secure and the secure watermarks apply; turning it off again is possible only while regressing RDP from level 1 or 0.5 to 0, which erases the whole flash.", nil
		case from == 1 && to == 0 && !regressing:
			return refuse("TrustZone can be turned off only together with an RDP regression to level 0 (RM0456 §7.6.2).",
				"plan RDP=0xAA from level 1 or 0.5 together with TZEN=0: the whole flash is erased.")
		case from == 1 && to == 0:
			return guarded.Irreversible, "TrustZone turns off with the regression to level 0: the flash, secure and non-secure, is erased.", nil
		}
	case "OEM1LOCK", "OEM2LOCK":
		return refuse(f.Name+" is a status bit: it is set by provisioning an OEM key, not written.", "provision or remove the key with ST's tools (RM0456 §7.6.2).")
	case "BOOT_LOCK":
		if to == 1 {
			return guarded.Irreversible, "freezes the secure boot address and the boot options; only a regression to level 0 unlocks them.", nil
		}
		return refuse("BOOT_LOCK is cleared only by a regression to level 0.", "plan RDP=0xAA (this erases the flash).")
	case "NSBOOTADD0", "NSBOOTADD1", "SECBOOTADD0", "SWAP_BANK", "nSWBOOT0", "nBOOT0":
		if lock, _ := get(in.l, in.cur, "BOOT_LOCK"); lock == 1 {
			return refuse(f.Name+" is frozen by BOOT_LOCK.", "a regression to level 0 unlocks it (this erases the flash).")
		}
		if strings.HasPrefix(f.Name, "NSBOOTADD") || f.Name == "SECBOOTADD0" {
			return guarded.Caution, "changes where the chip boots: a wrong address leaves nothing to run; write the old value back to undo.", nil
		}
	case "WRP1A_UNLOCK", "WRP1B_UNLOCK", "WRP2A_UNLOCK", "WRP2B_UNLOCK":
		if to == 0 {
			return guarded.Irreversible, "locks the write-protected area: only a regression to level 0 unlocks it.", nil
		}
		return refuse("a locked write-protected area is unlocked only by a regression to level 0.", "plan RDP=0xAA (this erases the flash).")
	case "SECWM1_P_STRT", "SECWM1_P_END", "SECWM2_P_STRT", "SECWM2_P_END", "HDP1EN", "HDP1_PEND", "HDP2EN", "HDP2_PEND":
		return guarded.Caution, "changes which pages are secure or hidden: firmware there may stop running until it is changed back.", nil
	case "IO_VDD_HSLV", "IO_VDDIO2_HSLV":
		if to == 1 {
			return guarded.Caution, "only allowed with that supply below 2.5 V; above it the I/Os may be damaged.", nil
		}
	case "SRAM_RST", "BKPRAM_ECC", "SRAM3_ECC":
		return guarded.Caution, "changes an SRAM option: SRAM content and ECC behaviour change at the next reset.", nil
	}
	return guarded.Safe, "", nil
}

// classifyU5RDP classifies a U5 read-out protection change, the level 0.5
// and the OEM keys included.
func classifyU5RDP(in *planInput, from, to targets.RDPLevel, raw uint32) (guarded.Risk, string, *Refusal) {
	closing := to > from && to != targets.RDPLevel2
	switch {
	case from == to:
		return guarded.Safe, fmt.Sprintf("the chip stays at RDP %v.", to), nil
	case to == targets.RDPLevel2:
		why := fmt.Sprintf("RDP level 2 (0x%02X) disables debug and freezes the option bytes", raw)
		if oem2Locked(in) {
			return guarded.Brick, why + "; an OEM2 key is provisioned, with which ST documents a regression to level 1, but stprobe cannot check that key on the chip: treat level 2 as for ever.", nil
		}
		return guarded.Brick, why + " for ever: no OEM2 key is provisioned, so nothing can bring the chip back.", nil
	case closing && oem1Locked(in) && !oemProven(in):
		return guarded.Brick, fmt.Sprintf("RDP %v closes the flash to the debugger, and an OEM1 key is provisioned (OEM1LOCK): the only way back to level 0 needs that key. "+
			"Without proof that you hold it, closing the chip may be for ever. Check the key first (a way-back proof of method %q).", to, OEMKeyMethod), nil
	case closing && to == targets.RDPLevel05:
		return guarded.Irreversible, "RDP level 0.5 closes the secure side to the debugger (non-secure debug stays open); the way back, level 0, erases the whole flash, secure and non-secure.", nil
	case closing:
		return guarded.Irreversible, fmt.Sprintf("RDP %v closes the flash to every debugger; the way back to level 0 erases it, secure and non-secure (and the SRAMs). Save the flash first if you may need it.", to), nil
	case to == targets.RDPLevel0 && oem1Locked(in) && !oemProven(in):
		return 0, "", &Refusal{Field: "RDP", From: from.String(), To: to.String(),
			Reason: "an OEM1 key is provisioned (OEM1LOCK): the chip refuses a regression to level 0 without it.", WayBack: u5OEMWay}
	case to == targets.RDPLevel0:
		return guarded.Irreversible, fmt.Sprintf("leaving RDP %v erases the whole flash, secure and non-secure, the SRAMs and the backup registers when the option bytes load: the firmware and any keys or data kept in flash are lost for good. "+
			"Save first what the debugger can still read (non-secure SRAM and peripherals, the option bytes: stprobe ob read --json, the UID).", from), nil
	}
	// Level 1 to 0.5 (TrustZone on): a partial regression.
	return guarded.Irreversible, "RDP level 1 to 0.5 is a partial regression: the non-secure flash is erased, the secure side stays closed to the debugger (RM0456 §7.6.2; not checked against a chip).", nil
}

// classifyH7 classifies the H7's own fields; RDP and the rest follow the
// common rules.
func classifyH7(f *Field, from, to uint32, refuse func(string, string) (guarded.Risk, string, *Refusal)) (guarded.Risk, string, *Refusal) {
	switch f.Name {
	case "SECURITY":
		if to == 1 {
			return guarded.Irreversible, "secure-access mode hands the secure areas to ST's root secure services; stprobe knows no debugger path that turns it off again (RM0433, secure access mode).", nil
		}
		return refuse("turning secure-access mode off is not a plain option-byte change.", "see RM0433 (secure access mode) and ST's secure-services documentation.")
	case "IWDG1_SW":
		if to == 0 {
			return guarded.Caution, "the watchdog then starts by itself at every reset and resets the core under the debugger (a halted core cannot refresh it) unless DBGMCU freezes it while halted; write 1 back to undo.", nil
		}
		return guarded.Safe, "the watchdog starts only when firmware enables it; write the old value back to undo.", nil
	case "FZ_IWDG_STOP", "FZ_IWDG_SDBY":
		return guarded.Caution, "changes whether the independent watchdog runs in low-power mode: a running watchdog resets a sleeping board; write the old value back to undo.", nil
	case "SWAP_BANK_OPT", "BOOT_ADD0", "BOOT_ADD1":
		return guarded.Caution, "changes what the chip boots after reset: the firmware may no longer start; write the old value back to undo.", nil
	case "DMEP1", "DMEP2", "DMES1", "DMES2":
		return guarded.Caution, "changes whether a protected area survives the next regression to level 0; write the old value back to undo.", nil
	case "PROT_AREA1_START", "PROT_AREA1_END", "PROT_AREA2_START", "PROT_AREA2_END":
		return guarded.Caution, "changes the PCROP area: code there becomes execute-only; shrinking it needs a regression to level 0 on most lines.", nil
	case "ST_RAM_SIZE", "IO_HSLV":
		return guarded.Caution, "changes a system option that takes effect at the next reset; write the old value back to undo.", nil
	}
	return guarded.Safe, "", nil
}
