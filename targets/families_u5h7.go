package targets

// The STM32H7 and STM32U5 facts beyond identification: the H7's three
// access ports and where each reaches (OpenOCD target/stm32h7x.cfg; RM0433,
// debug infrastructure), the U5's secure aliases and option registers
// (ST's CMSIS device header stm32u585xx.h; RM0456 §7.9). Every value is
// cited in docs/families.md.

// STM32H7 debug ports and addresses.
const (
	// H7DBGMCUAPB is DBGMCU on the APB-D debug bus, reached through AP2
	// (stm32h7x.cfg stm32h7x_dbgmcu_mmw: 0xE00E1000 through the ap2
	// mem_ap; it answers while NRST is held low, the AXI path through AP0
	// does not).
	H7DBGMCUAPB = 0xE00E1000
	// H7SRAM4 is the D3 domain's SRAM4, what AP1 (the D3 AHB-AP) reaches
	// (stm32h743xx.h SRAM4_BASE, 64 KiB).
	H7SRAM4     = 0x38000000
	H7SRAM4Size = 64 << 10
	// H7DebugAP is the APB-AP of the debug bus; H7D3AP the D3 AHB-AP.
	H7D3AP    = 1
	H7DebugAP = 2
)

// h7APs are the STM32H7's access ports: AP0 the Cortex-M7's AHB-AP (the
// core, its AXI and AHB buses, DBGMCU at 0x5C001000), AP1 the D3 domain's
// AHB-AP, AP2 the APB-AP of the debug bus (DBGMCU at 0xE00E1000).
func h7APs() []APRole {
	return []APRole{
		{AP: 0, Kind: "AHB-AP", Role: "Cortex-M7 system bus: core debug, memory, flash and option bytes, DBGMCU at 0x5C001000", DBGMCU: DBGMCUH7, ReachesCore: true},
		{AP: H7D3AP, Kind: "AHB-AP", Role: "D3 domain bus: SRAM4 and the D3 peripherals; not the core"},
		{AP: H7DebugAP, Kind: "APB-AP", Role: "debug APB: DBGMCU at 0xE00E1000, trace; answers while NRST is held low", DBGMCU: H7DBGMCUAPB},
	}
}

// STM32U5 option registers, offsets in the FLASH block (stm32u585xx.h
// FLASH_TypeDef; RM0456 §7.9).
const (
	U5FlashOPTKEYR    = 0x10 // FLASH_OPTKEYR
	U5FlashNSSR       = 0x20 // FLASH_NSSR
	U5FlashNSCR       = 0x28 // FLASH_NSCR: OPTSTRT b17, OBL_LAUNCH b27, OPTLOCK b30, LOCK b31
	U5FlashOPTR       = 0x40 // FLASH_OPTR: RDP[7:0] … TZEN b31
	U5FlashNSBOOTADD0 = 0x44
	U5FlashNSBOOTADD1 = 0x48
	U5FlashSECBOOTADD = 0x4C
	U5FlashSECWM1R1   = 0x50
	U5FlashSECWM1R2   = 0x54
	U5FlashWRP1AR     = 0x58
	U5FlashWRP1BR     = 0x5C
	U5FlashSECWM2R1   = 0x60
	U5FlashSECWM2R2   = 0x64
	U5FlashWRP2AR     = 0x68
	U5FlashWRP2BR     = 0x6C
	// The OEM keys are write-only: they read as zero (RM0456 §7.9, FLASH_OEM1KEYR1 … FLASH_OEM2KEYR2).
	U5FlashOEM1KEYR1 = 0x70
	U5FlashOEM1KEYR2 = 0x74
	U5FlashOEM2KEYR1 = 0x78
	U5FlashOEM2KEYR2 = 0x7C

	// U5TZEN is FLASH_OPTR.TZEN (bit 31).
	U5TZEN = 1 << 31
	// U5FlashSecure is the secure alias of the U5's main flash
	// (stm32u585xx.h FLASH_BASE_S); U5SRAMSecure the secure alias of SRAM1.
	U5FlashSecure = 0x0C000000
	U5SRAMSecure  = 0x30000000
	// U5PageSize is the U5's flash page (8 KiB; RM0456, flash memory organization).
	U5PageSize = 8 << 10
)

// STM32H7 option registers, offsets in the FLASH block (stm32h743xx.h
// FLASH_TypeDef; RM0433 §4.9).
const (
	H7FlashOPTKEYR  = 0x08
	H7FlashOPTCR    = 0x18 // OPTLOCK b0, OPTSTART b1
	H7FlashOPTSRCur = 0x1C // FLASH_OPTSR_CUR: RDP[15:8]
	H7FlashOPTSRPrg = 0x20
	H7FlashPRAR1    = 0x28 // PRAR_CUR1: PCROP area of bank 1
	H7FlashSCAR1    = 0x30 // SCAR_CUR1: secure-access area of bank 1
	H7FlashWPSN1    = 0x38 // WPSN_CUR1: write protection of bank 1's sectors
	H7FlashBOOTCur  = 0x40 // BOOT_CUR: BOOT_ADD0[15:0], BOOT_ADD1[31:16]
	H7FlashPRAR2    = 0x128
	H7FlashSCAR2    = 0x130
	H7FlashWPSN2    = 0x138
)
