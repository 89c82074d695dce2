package targets

// What a debugger can read, on each RDP family, about the firmware's effect
// on debug: the DBGMCU_CR low-power debug bits, the watchdog freeze bits,
// the reset-cause register's watchdog flags and how the chip chooses what
// it boots. Addresses and bits are those of ST's CMSIS device headers
// (stm32f103xb.h, stm32f411xe.h, stm32g071xx.h, stm32g474xx.h,
// stm32l476xx.h, stm32u585xx.h, stm32h743xx.h: DBGMCU_*/DBG_*, RCC_CSR or
// RCC_RSR, FLASH_OPTR); docs/families.md lists them.

// DebugFacts are a family's debug-relevant registers, read through its
// core AP.
type DebugFacts struct {
	// CR is DBGMCU_CR; LowPower the mask of its low-power debug bits
	// (DBG_SLEEP/DBG_STOP/DBG_STANDBY), LowPowerNames their names.
	CR            uint32
	LowPower      uint32
	LowPowerNames string
	// IWDGFreeze and WWDGFreeze are the registers holding the bits that stop
	// the independent and the window watchdog while the core is halted;
	// IWDGFreezeBit and WWDGFreezeBit those bits; FreezeNames says where
	// they are, for a person.
	IWDGFreeze, IWDGFreezeBit uint32
	WWDGFreeze, WWDGFreezeBit uint32
	FreezeNames               string
	// Reset is the reset-cause register (RCC_CSR, RCC_RSR on H7), ResetName
	// its name, IWDGReset and WWDGReset its watchdog-reset flags.
	Reset                uint32
	ResetName            string
	IWDGReset, WWDGReset uint32
	// BootAlias is true when the boot memory (main flash, system memory or
	// SRAM) is aliased at 0x00000000, so its reset vector tells what the
	// chip booted (F1, F4, G0, G4, L4); false on U5 and H7, which boot from
	// an address kept in option bytes.
	BootAlias bool
	// SystemMemory is where the ROM bootloader lives.
	SystemMemory uint32
	// Boot says in one sentence what selects the boot memory.
	Boot string
	// SWDPins names the SWD pins.
	SWDPins string
}

// Facts shared by several families.
const (
	// bootPinsF1F4 is how the F1 and the F4 choose what they boot.
	bootPinsF1F4 = "the BOOT0 pin and the BOOT1 pin (PB2): BOOT0 low boots main flash, BOOT0 high with BOOT1 low the system-memory bootloader, both high SRAM"
	// stopStandbyBits names DBGMCU_CR's low-power bits on the G0 and U5.
	stopStandbyBits = "DBG_STOP, DBG_STANDBY (bits 1-2)"
)

// Debug returns the family's debug facts; false for STM32H5, whose debug
// is governed by product states.
func (f Family) Debug() (DebugFacts, bool) {
	m34 := func(rcc uint32) DebugFacts {
		return DebugFacts{
			CR: DBGMCUCortexM3M4 + DBGMCUCR, LowPower: 0x7, LowPowerNames: "DBG_SLEEP, DBG_STOP, DBG_STANDBY (bits 0-2)",
			IWDGFreeze: DBGMCUCortexM3M4 + 0x008, IWDGFreezeBit: 1 << 12, WWDGFreeze: DBGMCUCortexM3M4 + 0x008, WWDGFreezeBit: 1 << 11,
			Reset: rcc, ResetName: "RCC_CSR", IWDGReset: 1 << 29, WWDGReset: 1 << 30,
			BootAlias: true, SystemMemory: 0x1FFF0000,
		}
	}
	var d DebugFacts
	switch f.Name {
	case "STM32F1":
		d = m34(0x40021024) // RCC_BASE 0x40021000 + CSR 0x24
		// The F1 keeps its watchdog freeze bits in DBGMCU_CR itself.
		d.IWDGFreeze, d.IWDGFreezeBit, d.WWDGFreeze, d.WWDGFreezeBit = d.CR, 1<<8, d.CR, 1<<9
		d.FreezeNames = "DBGMCU_CR DBG_IWDG_STOP (bit 8), DBG_WWDG_STOP (bit 9) at 0xE0042004"
		d.SystemMemory = 0x1FFFF000
		d.Boot = bootPinsF1F4
	case "STM32F4":
		d = m34(0x40023874) // RCC_BASE 0x40023800 + CSR 0x74
		d.FreezeNames = "DBGMCU_APB1_FZ DBG_WWDG_STOP (bit 11), DBG_IWDG_STOP (bit 12) at 0xE0042008"
		d.Boot = bootPinsF1F4
	case "STM32G0":
		d = m34(0x40021060) // RCC_BASE 0x40021000 + CSR 0x60
		d.CR, d.LowPower, d.LowPowerNames = DBGMCUG0+DBGMCUCR, 0x6, stopStandbyBits
		d.IWDGFreeze, d.WWDGFreeze = DBGMCUG0+0x008, DBGMCUG0+0x008
		d.FreezeNames = "DBG_APB_FZ1 DBG_WWDG_STOP (bit 11), DBG_IWDG_STOP (bit 12) at 0x40015808"
		d.Boot = "FLASH_OPTR nBOOT_SEL (bit 24): set, the nBOOT0 option bit (26) replaces the BOOT0 pin (PA14, shared with SWCLK); nBOOT0 low with nBOOT1 (25) high boots the system-memory bootloader; an empty main flash also boots it (empty check)"
	case "STM32G4", "STM32L4":
		d = m34(0x40021094) // RCC_BASE 0x40021000 + CSR 0x94
		d.FreezeNames = "DBGMCU_APB1FZR1 DBG_WWDG_STOP (bit 11), DBG_IWDG_STOP (bit 12) at 0xE0042008"
		d.Boot = "the BOOT0 pin (PB8 on G4, PH3 on most L4), or with FLASH_OPTR nSWBOOT0 (bit 26) clear the nBOOT0 option bit (27); BOOT0 high with nBOOT1 (bit 23) set boots the system-memory bootloader"
	case "STM32U5":
		d = DebugFacts{
			CR: DBGMCUU5 + DBGMCUCR, LowPower: 0x6, LowPowerNames: stopStandbyBits,
			IWDGFreeze: DBGMCUU5 + 0x008, IWDGFreezeBit: 1 << 12, WWDGFreeze: DBGMCUU5 + 0x008, WWDGFreezeBit: 1 << 11,
			FreezeNames: "DBGMCU_APB1FZR1 DBG_WWDG_STOP (bit 11), DBG_IWDG_STOP (bit 12) at 0xE0044008",
			Reset:       0x46020CF4, ResetName: "RCC_CSR", IWDGReset: 1 << 29, WWDGReset: 1 << 30, // RCC_BASE_NS 0x46020C00 + CSR 0xF4
			SystemMemory: 0x0BF90000,
			Boot:         "the BOOT0 pin (PH3), or with FLASH_OPTR nSWBOOT0 (bit 26) clear the nBOOT0 option bit (27); the boot address then comes from NSBOOTADD0R/NSBOOTADD1R (SECBOOTADD0R with TrustZone on)",
		}
	case "STM32H7":
		d = DebugFacts{
			CR: DBGMCUH7 + DBGMCUCR, LowPower: 0x7, LowPowerNames: "DBG_SLEEPD1, DBG_STOPD1, DBG_STANDBYD1 (bits 0-2)",
			IWDGFreeze: DBGMCUH7 + 0x054, IWDGFreezeBit: 1 << 18, WWDGFreeze: DBGMCUH7 + 0x034, WWDGFreezeBit: 1 << 6,
			FreezeNames: "DBGMCU_APB4FZ1 DBG_IWDG1 (bit 18) at 0x5C001054, DBGMCU_APB3FZ1 DBG_WWDG1 (bit 6) at 0x5C001034",
			Reset:       0x580244D0, ResetName: "RCC_RSR", IWDGReset: 1 << 26, WWDGReset: 1 << 28, // RCC_BASE 0x58024400 + RSR 0xD0
			SystemMemory: 0x1FF00000,
			Boot:         "the BOOT pin: low boots from FLASH_BOOT_CUR BOOT_ADD0 (user flash by default), high from BOOT_ADD1 (the system-memory bootloader by default)",
		}
	default:
		return DebugFacts{}, false
	}
	d.SWDPins = "PA13 (SWDIO) and PA14 (SWCLK)" // on every family here
	return d, true
}

// InSystemMemory reports whether addr lies in the family's system memory
// (the ROM bootloader): the 64 KiB from SystemMemory (the F1's is 2 KiB at
// 0x1FFFF000, inside that window too).
func (d DebugFacts) InSystemMemory(addr uint32) bool {
	return d.SystemMemory != 0 && addr&^1 >= d.SystemMemory && addr&^1-d.SystemMemory < 0x10000
}
