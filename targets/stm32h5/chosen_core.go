package stm32h5

import "github.com/stprobe/stprobe/targets"

// This file holds the model's choices about the Cortex-M33 debug view and
// DBGMCU's identification that public sources do not settle (chosen.go
// holds the rest). Correct them here when a real chip says otherwise.

// DBGMCU CoreSight identification (offsets 0xFD0-0xFFC of DBGMCU, read at
// 0xE0044000 through AP0 and at 0x44024000 through AP1). The STM32H5 SVD
// files give PIDR2 = 0x0A (JEP106 identity bits [6:4] = 2 with the JEDEC
// bit: STMicroelectronics, 0x20), CIDR0..3 = 0x0D, 0xF0, 0x05, 0xB1 (a
// valid CoreSight preamble, class 0xF) and 0 for PIDR4 (continuation code 0,
// one 4 KiB block) and PIDR3. For PIDR0/PIDR1 the SVD says 0, a placeholder
// like its DBGMCU_IDCODE reset value; chosen: the part number is the DEV_ID,
// as ST's other CoreSight IDs on the H5 (the AP0 ROM table) carry it.
func dbgmcuID(off uint32, devID uint16) (uint32, bool) {
	switch off {
	case 0xFD0, 0xFD4, 0xFD8, 0xFDC, 0xFEC: // PIDR4-7, PIDR3
		return 0, true
	case 0xFE0: // PIDR0: part number [7:0]
		return uint32(devID & 0xFF), true
	case 0xFE4: // PIDR1: JEP106 identity [3:0] (0x20 → 0), part number [11:8]
		return uint32(devID>>8) & 0xF, true
	case 0xFE8:
		return 0x0A, true
	case 0xFF0:
		return 0x0D, true
	case 0xFF4:
		return 0xF0, true
	case 0xFF8:
		return 0x05, true
	case 0xFFC:
		return 0xB1, true
	}
	return 0, false
}

// coreHasSecurity says whether the line's Cortex-M33 implements the
// Security Extension (ID_PFR1.Security = 1). Chosen: it is a property of
// the silicon, so every TrustZone line reports it whatever TZEN says; the
// H503 has no TrustZone and reports none.
func coreHasSecurity(line targets.Line) bool { return line.TrustZone }

// dauthStatus is the Cortex-M33 DAUTHSTATUS (0xE000EFB8) for the chip's
// state (UNCONFIRMED on silicon; the encoding is Armv8-M's). Chosen:
// non-secure invasive and non-invasive debug read as allowed (0b11) while
// AP1 is open, not allowed (0b10) otherwise; on a line with the Security
// Extension, secure debug reads as allowed only where secure-alias
// transfers work (ap1SecureOpen: TZEN = 0xB4 in OPEN or PROVISIONING, or
// after a DA "open debug"), otherwise as implemented and not allowed. So
// OpenOCD, which shows the secure banked registers (msp_ns, psp_ns, ...)
// when DAUTHSTATUS.SID is not zero, shows them on every TrustZone line.
func dauthStatus(security, nsOpen, secureOpen bool) uint32 {
	ns := uint32(0b10)
	if nsOpen {
		ns = 0b11
	}
	v := ns | ns<<2 // NSID, NSNID
	if security {
		s := uint32(0b10)
		if secureOpen {
			s = 0b11
		}
		v |= s<<4 | s<<6 // SID, SNID
	}
	return v
}

// bootAddress is where the core fetches its vector table after a reset.
// RM0481 gives SECBOOTADD when TrustZone is enabled and NSBOOTADD
// otherwise (BOOT0 low and a product state that runs user code). Chosen:
// BOOT0 is low, and PROVISIONING (where the ROM runs) still shows the user
// vector: the model does not execute code, so nothing changes the PC.
func bootAddress(tzen targets.TZEN, nsbootr, secbootr uint32) uint32 {
	if tzen.Enabled() {
		return secbootr &^ 0xFF
	}
	return nsbootr &^ 0xFF
}
