package obytes

import (
	"fmt"

	"github.com/stprobe/stprobe/targets"
)

// The option-byte tables of the STM32U5 and STM32H7. Register offsets and
// bit positions are those of ST's CMSIS device headers (stm32u585xx.h
// FLASH_OPTR, FLASH_NSBOOTADDxR, FLASH_SECBOOTADD0R, FLASH_SECWMxRy,
// FLASH_WRPxyR, FLASH_NSSR; stm32h743xx.h FLASH_OPTSR, FLASH_PRAR,
// FLASH_SCAR, FLASH_WPSN, FLASH_BOOT) and of RM0456 §7.9 and RM0433 §4.9;
// docs/families.md lists them. As on the other RDP families the registers
// read as the option bytes loaded at reset; apply_u5h7.go programs them.

// Line sets of the U5 and H7.
var (
	u5Lines = Lines{targets.DevIDU57x, targets.DevIDU59x, targets.DevIDU53x, targets.DevIDU5Fx}
	h7Lines = Lines{targets.DevIDH74x, targets.DevIDH7Ax, targets.DevIDH72x}
	// h7Dual are the H7 lines with a second bank (RM0433, RM0455): the
	// H72x/H73x have one bank (RM0468).
	h7Dual = Lines{targets.DevIDH74x, targets.DevIDH7Ax}
)

// u5h7Tables returns the registers and fields of a U5 or H7 line's
// table; ok is false for the other families.
func u5h7Tables(family string) (regs []Register, fields []Field, ok bool) {
	switch family {
	case "STM32U5":
		return u5Registers(), u5Fields(), true
	case "STM32H7":
		return h7Registers(), h7Fields(), true
	}
	return nil, nil, false
}

// ---- STM32U5 (RM0456 §7.9; stm32u585xx.h) ----

func u5Registers() []Register {
	r := []Register{
		{Name: "OPTR", Cur: targets.U5FlashOPTR, Lines: u5Lines, Meaning: "read protection, TrustZone, BOR, reset, watchdog, bank, SRAM, boot and I/O options"},
		{Name: "NSBOOTADD0R", Cur: targets.U5FlashNSBOOTADD0, Lines: u5Lines, Meaning: "non-secure boot address 0 (BOOT0 low)"},
		{Name: "NSBOOTADD1R", Cur: targets.U5FlashNSBOOTADD1, Lines: u5Lines, Meaning: "non-secure boot address 1 (BOOT0 high)"},
		{Name: "SECBOOTADD0R", Cur: targets.U5FlashSECBOOTADD, Lines: u5Lines, Meaning: "secure boot address (TrustZone on) and its lock"},
	}
	r = append(r, u5BankRegisters("1", targets.U5FlashSECWM1R1, targets.U5FlashSECWM1R2, targets.U5FlashWRP1AR, targets.U5FlashWRP1BR)...)
	r = append(r, u5BankRegisters("2", targets.U5FlashSECWM2R1, targets.U5FlashSECWM2R2, targets.U5FlashWRP2AR, targets.U5FlashWRP2BR)...)
	return append(r, Register{Name: "NSSR", Cur: targets.U5FlashNSSR, Lines: u5Lines, Meaning: "flash status: whether the OEM1 and OEM2 keys are provisioned (read-only; the keys themselves are write-only)"})
}

// u5BankRegisters are one bank's secure watermark registers
// (FLASH_SECWMxR1, SECWMxR2) and write-protected areas (FLASH_WRPxAR,
// WRPxBR), at the given offsets.
func u5BankRegisters(bank string, secwm1, secwm2, wrpa, wrpb uint32) []Register {
	return []Register{
		{Name: "SECWM" + bank + "R1", Cur: secwm1, Lines: u5Lines, Meaning: "bank " + bank + " secure watermark"},
		{Name: "SECWM" + bank + "R2", Cur: secwm2, Lines: u5Lines, Meaning: "bank " + bank + " secure hide-protection area"},
		{Name: "WRP" + bank + "AR", Cur: wrpa, Lines: u5Lines, Meaning: "bank " + bank + " write-protected area A"},
		{Name: "WRP" + bank + "BR", Cur: wrpb, Lines: u5Lines, Meaning: "bank " + bank + " write-protected area B"},
	}
}

// u5RDP is the U5's RDP byte: 0x55 is level 0.5 only with TZEN set.
func u5RDP() Field {
	return Field{
		Name: "RDP", Register: "OPTR", Shift: 0, Width: 8, Kind: KindNumber, Lines: u5Lines,
		Meaning: "read-out protection: 0xAA level 0, 0x55 level 0.5 (TrustZone on), 0xCC level 2 (permanent unless the OEM2 key is provisioned), any other value level 1",
		Describe: func(v, reg uint32) string {
			lvl, _ := targets.STM32U5().RDP.Level(reg&^0xFF | v)
			switch lvl {
			case targets.RDPLevel0:
				return "level 0: no protection"
			case targets.RDPLevel05:
				return "level 0.5: non-secure debug open, secure side closed to the debugger"
			case targets.RDPLevel2:
				return "level 2: debug disabled, option bytes frozen (a provisioned OEM2 key alone can bring it back to level 1)"
			}
			return "level 1: flash closed to the debugger; going back to level 0 erases it (and needs the OEM1 key when one is provisioned)"
		},
	}
}

// u5BootAddress is an NSBOOTADDx/SECBOOTADD0 field: address bits 31:7.
func u5BootAddress(name, reg string) Field {
	return Field{Name: name, Register: reg, Shift: 7, Width: 25, Kind: KindNumber, Lines: u5Lines,
		Meaning:  "boot address, bits 31:7 (128-byte aligned)",
		Describe: func(v, _ uint32) string { return fmt.Sprintf("boots at 0x%08X", v<<7) }}
}

// u5ECC is a FLASH_OPTR bit that turns a RAM's ECC off (0: on).
func u5ECC(name string, shift uint, ram string) Field {
	return bit(name, "OPTR", shift, u5Lines, ram+" ECC", "ENABLED", "ECC on", "DISABLED", "ECC off")
}

// u5SRAMErase is a FLASH_OPTR bit that keeps RAMs across a system reset
// (0: erased).
func u5SRAMErase(name string, shift uint, rams string) Field {
	return bit(name, "OPTR", shift, u5Lines, rams+" erase on system reset", "ERASED", "erased on every system reset", "KEPT", "kept across system reset")
}

// u5HSLV is a FLASH_OPTR bit that turns on the high-speed I/O at low
// voltage of one supply (1: on, only below 2.5 V).
func u5HSLV(name string, shift uint, supply string) Field {
	return bit(name, "OPTR", shift, u5Lines, "high-speed I/O at low "+supply, "DISABLED", "off", "ENABLED", "on: only allowed with "+supply+" below 2.5 V")
}

// u5AreaLock is WRPxy_UNLOCK, bit 31 of FLASH_WRPxyR (RM0456 §7.9): 0
// freezes write-protected area y of bank x until a regression to level 0.
func u5AreaLock(bank, area string) Field {
	return bit("WRP"+bank+area+"_UNLOCK", "WRP"+bank+area+"R", 31, u5Lines, "bank "+bank+" area "+area+" lock",
		"LOCKED", "area "+area+" frozen until a regression to level 0", "UNLOCKED", "area "+area+" may change")
}

func u5Fields() []Field {
	l := u5Lines
	// OPTR bits 0 to 19 are laid out as the L4's (families.go), but for
	// level 0.5 in the RDP byte and SRAM_RST at bit 15.
	f := []Field{u5RDP(), borLevels(l)}
	f = append(f, lowPowerResets(12, l)...)
	f = append(f, u5SRAMErase("SRAM_RST", 15, "SRAM1, SRAM3 and SRAM4"))
	f = append(f, watchdogOptions(l)...)
	f = append(f,
		bit("SWAP_BANK", "OPTR", 20, l, "bank swap", "NOT_SWAPPED", "bank 1 at 0x08000000", "SWAPPED", "bank 2 at 0x08000000"),
		bit("DUALBANK", "OPTR", 21, l, "flash organisation of the parts with half the largest flash", "SINGLE", "single bank", "DUAL", "two banks"),
		u5ECC("BKPRAM_ECC", 22, "backup SRAM"),
		u5ECC("SRAM3_ECC", 23, "SRAM3"),
		u5ECC("SRAM2_ECC", 24, "SRAM2"),
		u5SRAMErase("SRAM2_RST", 25, "SRAM2"),
		bit("nSWBOOT0", "OPTR", 26, l, "what selects the boot address", "nBOOT0_BIT", "the nBOOT0 option bit selects, the BOOT0 pin is ignored", "BOOT0_PIN", "the BOOT0 pin selects (factory default)"),
		bit("nBOOT0", "OPTR", 27, l, "boot address when nSWBOOT0=0", "ADD1", "NSBOOTADD1 (the system-memory bootloader by default)", "ADD0", "NSBOOTADD0 (user flash by default)"),
		bit("PA15_PUPEN", "OPTR", 28, l, "PA15 pull-up at reset (JTDI)", "DISABLED", "no pull-up", "ENABLED", "pull-up on"),
		u5HSLV("IO_VDD_HSLV", 29, "VDD"),
		u5HSLV("IO_VDDIO2_HSLV", 30, "VDDIO2"),
		bit("TZEN", "OPTR", 31, l, "TrustZone", "DISABLED", "TrustZone off: no secure world", "ENABLED", "TrustZone on: secure and non-secure worlds; RDP 0x55 means level 0.5"),
		u5BootAddress("NSBOOTADD0", "NSBOOTADD0R"),
		u5BootAddress("NSBOOTADD1", "NSBOOTADD1R"),
		u5BootAddress("SECBOOTADD0", "SECBOOTADD0R"),
		bit("BOOT_LOCK", "SECBOOTADD0R", 0, l, "boot lock (TrustZone on)", "UNLOCKED", "boot address and boot options may change", "LOCKED", "the secure boot address and boot options are frozen"),
		bit("HDP1EN", "SECWM1R2", 31, l, "bank 1 hide protection", "DISABLED", "no hide-protected area", "ENABLED", "hide-protected area up to HDP1_PEND"),
		Field{Name: "HDP1_PEND", Register: "SECWM1R2", Shift: 16, Width: 7, Kind: KindNumber, Lines: l, Meaning: "last page of the bank 1 hide-protected area"},
		bit("HDP2EN", "SECWM2R2", 31, l, "bank 2 hide protection", "DISABLED", "no hide-protected area", "ENABLED", "hide-protected area up to HDP2_PEND"),
		Field{Name: "HDP2_PEND", Register: "SECWM2R2", Shift: 16, Width: 7, Kind: KindNumber, Lines: l, Meaning: "last page of the bank 2 hide-protected area"},
		u5AreaLock("1", "A"),
		u5AreaLock("1", "B"),
		u5AreaLock("2", "A"),
		u5AreaLock("2", "B"),
		bit("OEM1LOCK", "NSSR", 18, l, "OEM1 key provisioned (status)", "NO_KEY", "no OEM1 key: a regression from level 1 to 0 needs none", "KEY_LOCKED", "an OEM1 key is provisioned: a regression from level 1 to 0 needs it"),
		bit("OEM2LOCK", "NSSR", 19, l, "OEM2 key provisioned (status)", "NO_KEY", "no OEM2 key: level 2 is permanent", "KEY_LOCKED", "an OEM2 key is provisioned: level 2 can regress to level 1 with it"),
	)
	f = append(f, pageArea("SECWM1_P", "SECWM1R1", 7, l, "secure")...)
	f = append(f, pageArea("SECWM2_P", "SECWM2R1", 7, l, "secure")...)
	return append(f, wrpAreas("_P", 7, l, l)...)
}

// ---- STM32H7 (RM0433 §4.9; stm32h743xx.h) ----

func h7Registers() []Register {
	return []Register{
		{Name: "OPTSR_CUR", Cur: targets.H7FlashOPTSRCur, Lines: h7Lines, Meaning: "read protection, BOR, watchdog, reset, bank and I/O options as loaded"},
		{Name: "PRAR_CUR1", Cur: targets.H7FlashPRAR1, Lines: h7Lines, Meaning: "bank 1 proprietary-code (PCROP) area"},
		{Name: "SCAR_CUR1", Cur: targets.H7FlashSCAR1, Lines: h7Lines, Meaning: "bank 1 secure-access area"},
		{Name: "WPSN_CUR1", Cur: targets.H7FlashWPSN1, Lines: h7Lines, Meaning: "bank 1 sector write protection"},
		{Name: "BOOT_CUR", Cur: targets.H7FlashBOOTCur, Lines: h7Lines, Meaning: "the two boot addresses"},
		{Name: "PRAR_CUR2", Cur: targets.H7FlashPRAR2, Lines: h7Dual, Meaning: "bank 2 proprietary-code (PCROP) area"},
		{Name: "SCAR_CUR2", Cur: targets.H7FlashSCAR2, Lines: h7Dual, Meaning: "bank 2 secure-access area"},
		{Name: "WPSN_CUR2", Cur: targets.H7FlashWPSN2, Lines: h7Dual, Meaning: "bank 2 sector write protection"},
	}
}

// area is a 12-bit start/end pair in 256-byte units (PRAR, SCAR): none when
// start > end (RM0433 §4.9, FLASH_PRAR and FLASH_SCAR).
func area(prefix, reg string, lines Lines, what string) []Field {
	start := Field{Name: prefix + "_START", Register: reg, Shift: 0, Width: 12, Kind: KindNumber, Lines: lines,
		Meaning: "first 256-byte block of the " + what + " area (START > END: no area)",
		Describe: func(v, reg uint32) string {
			if end := reg >> 16 & 0xFFF; v > end {
				return fmt.Sprintf("block %d; after END (%d): no %s area", v, end, what)
			}
			return fmt.Sprintf("%s area starts at offset 0x%X", what, v<<8)
		}}
	end := Field{Name: prefix + "_END", Register: reg, Shift: 16, Width: 12, Kind: KindNumber, Lines: lines,
		Meaning: "last 256-byte block of the " + what + " area"}
	return []Field{start, end}
}

func h7Fields() []Field {
	l := h7Lines
	f := []Field{
		rdpByte("OPTSR_CUR", 8, l),
		enumField("BOR_LEV", "OPTSR_CUR", 2, 2, l, "brown-out reset threshold",
			Value{Raw: 0, Name: "OFF", Meaning: "BOR off: reset at the POR threshold only (factory default)"},
			borLevel(1, 1, "2.1"),
			borLevel(2, 2, "2.4"),
			borLevel(3, 3, "2.7")),
		watchdog("IWDG1_SW", "OPTSR_CUR", 4, l, "IWDG1"),
		resetOn("NRST_STOP_D1", "OPTSR_CUR", 6, l, "D1 Stop"),
		resetOn("NRST_STBY_D1", "OPTSR_CUR", 7, l, "D1 Standby"),
		iwdgIn("FZ_IWDG_STOP", "OPTSR_CUR", 17, l, "Stop"),
		iwdgIn("FZ_IWDG_SDBY", "OPTSR_CUR", 18, l, "Standby"),
		enumField("ST_RAM_SIZE", "OPTSR_CUR", 19, 2, l, "RAM kept for ST's secure services",
			Value{Raw: 0, Name: "2KB", Meaning: "2 KiB"}, Value{Raw: 1, Name: "4KB", Meaning: "4 KiB"},
			Value{Raw: 2, Name: "8KB", Meaning: "8 KiB"}, Value{Raw: 3, Name: "16KB", Meaning: "16 KiB"}),
		bit("SECURITY", "OPTSR_CUR", 21, l, "secure access mode", "DISABLED", "no secure-access area, ST's secure services off", "ENABLED", "secure-access mode on: the secure area runs only through ST's root secure services (cannot be undone by a debugger)"),
		bit("IO_HSLV", "OPTSR_CUR", 29, l, "high-speed I/O at low voltage", "DISABLED", "off", "ENABLED", "on: only allowed with VDD below 2.7 V"),
		bit("SWAP_BANK_OPT", "OPTSR_CUR", 31, h7Dual, "bank swap", "NOT_SWAPPED", "bank 1 at 0x08000000", "SWAPPED", "bank 2 at 0x08000000"),
		bit("DMEP1", "PRAR_CUR1", 31, l, "erase the PCROP area on a regression to level 0", "KEEP", "the PCROP area survives the regression", "ERASE", "the PCROP area is erased with the rest"),
		bit("DMES1", "SCAR_CUR1", 31, l, "erase the secure area on a regression to level 0", "KEEP", "the secure area survives the regression", "ERASE", "the secure area is erased with the rest"),
		protMask("WRPSN1", "WPSN_CUR1", 0, 8, l, "sector (bank 1)"),
		{Name: "BOOT_ADD0", Register: "BOOT_CUR", Shift: 0, Width: 16, Kind: KindNumber, Lines: l, Meaning: "boot address with the BOOT pin low, bits 31:16",
			Describe: func(v, _ uint32) string { return fmt.Sprintf("boots at 0x%08X with BOOT low", v<<16) }},
		{Name: "BOOT_ADD1", Register: "BOOT_CUR", Shift: 16, Width: 16, Kind: KindNumber, Lines: l, Meaning: "boot address with the BOOT pin high, bits 31:16",
			Describe: func(v, _ uint32) string { return fmt.Sprintf("boots at 0x%08X with BOOT high", v<<16) }},
		bit("DMEP2", "PRAR_CUR2", 31, h7Dual, "erase the bank 2 PCROP area on a regression to level 0", "KEEP", "the PCROP area survives the regression", "ERASE", "the PCROP area is erased with the rest"),
		bit("DMES2", "SCAR_CUR2", 31, h7Dual, "erase the bank 2 secure area on a regression to level 0", "KEEP", "the secure area survives the regression", "ERASE", "the secure area is erased with the rest"),
		protMask("WRPSN2", "WPSN_CUR2", 0, 8, h7Dual, "sector (bank 2)"),
	}
	f = append(f, area("PROT_AREA1", "PRAR_CUR1", l, "PCROP")...)
	f = append(f, area("SEC_AREA1", "SCAR_CUR1", l, "secure-access")...)
	f = append(f, area("PROT_AREA2", "PRAR_CUR2", h7Dual, "PCROP")...)
	f = append(f, area("SEC_AREA2", "SCAR_CUR2", h7Dual, "secure-access")...)
	return f
}
