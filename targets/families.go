package targets

// The families protected by read-out protection levels rather than product
// states: STM32F1, F4, G0, G4, L4, U5 and H7. Every address, DEV_ID and
// flash size below is cited in docs/families.md; in short:
//
//   - DBGMCU_IDCODE: 0xE0042000 on F1, F4, G4 and L4, 0x40015800 on G0,
//     0xE0044000 on U5, 0x5C001000 on H7 (OpenOCD src/flash/nor/stm32f1x.c,
//     stm32f2x.c, stm32l4x.h DBGMCU_IDCODE_*, stm32h7x.c
//     DBGMCU_IDCODE_REGISTER; ST's CMSIS device headers DBGMCU_BASE).
//   - The flash size (u16, KiB): 0x1FFFF7E0 on F1, 0x1FFF7A22 on F4,
//     0x1FFF75E0 on G0, G4 and L4, 0x0BFA07A0 on U5, 0x1FF1E880 on
//     H74x/75x and H72x/73x, 0x08FFF80C on H7A3/B3 (OpenOCD part tables,
//     fsize_addr; CMSIS FLASHSIZE_BASE).
//   - The 96-bit unique ID: 0x1FFFF7E8 (F1), 0x1FFF7A10 (F4), 0x1FFF7590
//     (G0, G4, L4), 0x0BFA0700 (U5), 0x1FF1E800 (H7) (CMSIS UID_BASE).

// DEV_IDs of the RDP families (DBGMCU_IDCODE[11:0]).
const (
	DevIDF1MD   uint16 = 0x410 // STM32F101/F102/F103 medium density
	DevIDF1LD   uint16 = 0x412 // STM32F101/F102/F103 low density
	DevIDF1HD   uint16 = 0x414 // STM32F101/F103 high density
	DevIDF1CL   uint16 = 0x418 // STM32F105/F107 connectivity line
	DevIDF1VL   uint16 = 0x420 // STM32F100 low/medium density value line
	DevIDF1VLHD uint16 = 0x428 // STM32F100 high density value line
	DevIDF1XL   uint16 = 0x430 // STM32F101/F103 XL density

	DevIDF40x   uint16 = 0x413 // STM32F405/F407/F415/F417
	DevIDF42x   uint16 = 0x419 // STM32F42x/F43x
	DevIDF446   uint16 = 0x421 // STM32F446
	DevIDF401BC uint16 = 0x423 // STM32F401xB/C
	DevIDF411   uint16 = 0x431 // STM32F411
	DevIDF401DE uint16 = 0x433 // STM32F401xD/E
	DevIDF469   uint16 = 0x434 // STM32F469/F479
	DevIDF412   uint16 = 0x441 // STM32F412
	DevIDF410   uint16 = 0x458 // STM32F410
	DevIDF413   uint16 = 0x463 // STM32F413/F423

	DevIDG05x uint16 = 0x456 // STM32G05x/G06x
	DevIDG07x uint16 = 0x460 // STM32G07x/G08x
	DevIDG03x uint16 = 0x466 // STM32G03x/G04x
	DevIDG0Bx uint16 = 0x467 // STM32G0Bx/G0Cx

	DevIDG43x uint16 = 0x468 // STM32G43x/G44x
	DevIDG47x uint16 = 0x469 // STM32G47x/G48x
	DevIDG49x uint16 = 0x479 // STM32G49x/G4Ax

	DevIDL47x uint16 = 0x415 // STM32L47x/L48x
	DevIDL43x uint16 = 0x435 // STM32L43x/L44x
	DevIDL45x uint16 = 0x462 // STM32L45x/L46x
	DevIDL41x uint16 = 0x464 // STM32L41x/L42x
	DevIDL49x uint16 = 0x461 // STM32L49x/L4Ax
	DevIDL4Rx uint16 = 0x470 // STM32L4R/L4S
	DevIDL4Px uint16 = 0x471 // STM32L4P/L4Q

	DevIDU57x uint16 = 0x482 // STM32U575/U585
	DevIDU59x uint16 = 0x481 // STM32U59x/U5Ax
	DevIDU53x uint16 = 0x455 // STM32U535/U545
	DevIDU5Fx uint16 = 0x476 // STM32U5Fx/U5Gx

	DevIDH74x uint16 = 0x450 // STM32H742/H743/H745/H747/H750/H753/H755/H757
	DevIDH7Ax uint16 = 0x480 // STM32H7A3/H7B0/H7B3
	DevIDH72x uint16 = 0x483 // STM32H723/H725/H730/H733/H735
)

// DBGMCU and engineering-area addresses of the RDP families (see above).
const (
	DBGMCUCortexM3M4 = 0xE0042000 // DBGMCU on F1, F4, G4, L4 (PPB)
	DBGMCUG0         = 0x40015800 // DBGMCU on G0 (APB)
	DBGMCUU5         = 0xE0044000 // DBGMCU on U5 (PPB)
	DBGMCUH7         = 0x5C001000 // DBGMCU on H7 (D3 domain, through AP0)

	F1FlashSize = 0x1FFFF7E0
	F1UID       = 0x1FFFF7E8
	F4FlashSize = 0x1FFF7A22
	F4UID       = 0x1FFF7A10
	// G0, G4 and L4 share the engineering area layout.
	G0L4FlashSize = 0x1FFF75E0
	G0L4UID       = 0x1FFF7590
	G0L4Package   = 0x1FFF7500
	U5FlashSize   = 0x0BFA07A0
	U5UID         = 0x0BFA0700
	U5Package     = 0x0BFA0500
	H7FlashSize   = 0x1FF1E880
	H7UID         = 0x1FF1E800
	H7AxFlashSize = 0x08FFF80C

	// Flash interface register blocks.
	F1FlashRegs = 0x40022000 // FLASH on F1 (OBR at +0x1C, WRPR at +0x20)
	F4FlashRegs = 0x40023C00 // FLASH on F4 (OPTCR at +0x14, OPTCR1 at +0x18)
	L4FlashRegs = 0x40022000 // FLASH on G0, G4, L4 (OPTR at +0x20)
	U5FlashRegs = 0x40022000 // FLASH on U5, non-secure (OPTR at +0x40)
	// U5FlashRegsSec is the U5's FLASH block through the secure alias
	// (stm32u585xx.h AHB1PERIPH_BASE_S + 0x2000; OpenOCD stm32l4x.c uses it when TZEN
	// is set at RDP level 0).
	U5FlashRegsSec = 0x50022000
	H7FlashRegs    = 0x52002000 // FLASH on H7 (OPTSR_CUR at +0x1C)
)

// Cortex-M CPUID values of the RDP families' cores (ARMv7-M/ARMv6-M/ARMv8-M
// architecture reference manuals, CPUID register).
const (
	CPUIDCortexM0Plus = 0x410CC601 // r0p1, STM32G0
	CPUIDCortexM3     = 0x412FC231 // r2p1, STM32F1
	CPUIDCortexM4     = 0x410FC241 // r0p1, STM32F4, G4, L4
	CPUIDCortexM7     = 0x411FC271 // r1p1, STM32H7
	CPUIDCortexM33    = 0x410FD214 // r0p4, STM32U5
)

// DPIDRs seen on the RDP families: SW-DP v1 of the Cortex-M3 and M4 parts, the
// Cortex-M0+ DP of G0 (v2, MINDP), the Cortex-M7 DP of H7 and the
// Cortex-M33 DP of U5 (OpenOCD target/stm32*.cfg _CPUTAPID/_DAP_TAPID).
const (
	DPIDRCortexM3  = 0x1BA01477
	DPIDRCortexM4  = 0x2BA01477
	DPIDRCortexM0P = 0x0BC11477
	DPIDRCortexM7  = 0x6BA02477
	DPIDRCortexM33 = 0x0BE12477
)

// rdpFamily builds an RDP family whose core, DBGMCU and flash registers all
// sit behind AP0.
func rdpFamily(name, core string, dpidr uint32, dbgmcu uint32, rdp RDPScheme, lines []Line) Family {
	return Family{
		Name:   name,
		Core:   core,
		DPIDRs: []uint32{dpidr},
		APs: []APRole{
			{AP: 0, Kind: "AHB-AP", Role: core + " system bus: core debug, DBGMCU, memory, flash and option bytes", DBGMCU: dbgmcu, ReachesCore: true},
		},
		DebugAP: 0, CoreAP: 0,
		FlashRegs: rdp.FlashRegs,
		RDP:       &rdp,
		Lines:     lines,
	}
}

func line(devID uint16, name, rm string, maxFlashKB, sramKB int, parts ...string) Line {
	return Line{DevID: devID, Name: name, Parts: parts, RefManual: rm, MaxFlashKB: maxFlashKB, SRAMKB: sramKB}
}

// STM32F1 returns the STM32F1 family table (RM0008; OpenOCD stm32f1x.c).
func STM32F1() Family {
	f := rdpFamily("STM32F1", "Cortex-M3", DPIDRCortexM3, DBGMCUCortexM3M4, f1RDP(), []Line{
		line(DevIDF1LD, "STM32F10x low density", "RM0008", 32, 10, "STM32F101x6", "STM32F103x6"),
		line(DevIDF1MD, "STM32F10x medium density", "RM0008", 128, 20, "STM32F101xB", "STM32F103xB", "STM32F103C8"),
		line(DevIDF1HD, "STM32F10x high density", "RM0008", 512, 64, "STM32F101xE", "STM32F103xE"),
		line(DevIDF1XL, "STM32F10x XL density", "RM0008", 1024, 96, "STM32F101xG", "STM32F103xG"),
		line(DevIDF1CL, "STM32F105/F107 connectivity line", "RM0008", 256, 64, "STM32F105", "STM32F107"),
		line(DevIDF1VL, "STM32F100 value line", "RM0041", 128, 8, "STM32F100x4", "STM32F100xB"),
		line(DevIDF1VLHD, "STM32F100 high-density value line", "RM0041", 512, 32, "STM32F100xE"),
	})
	f.UIDAddr, f.FlashSizeAddr = F1UID, F1FlashSize
	f.Lines[1].Revisions = []Revision{{0x0000, "A", true}, {0x2000, "B", true}, {0x2001, "Z", true}, {0x2003, "Y", true}}
	return f
}

// STM32F4 returns the STM32F4 family table (RM0090, RM0368, RM0383,
// RM0390, RM0401, RM0402, RM0386, RM0430; OpenOCD stm32f2x.c).
func STM32F4() Family {
	f := rdpFamily("STM32F4", "Cortex-M4", DPIDRCortexM4, DBGMCUCortexM3M4, f4RDP(), []Line{
		line(DevIDF40x, "STM32F405/F407/F415/F417", "RM0090", 1024, 128, "STM32F405", "STM32F407", "STM32F415", "STM32F417"),
		line(DevIDF42x, "STM32F42x/F43x", "RM0090", 2048, 192, "STM32F427", "STM32F429", "STM32F437", "STM32F439"),
		line(DevIDF446, "STM32F446", "RM0390", 512, 128, "STM32F446"),
		line(DevIDF401BC, "STM32F401xB/C", "RM0368", 256, 64, "STM32F401xB", "STM32F401xC"),
		line(DevIDF411, "STM32F411", "RM0383", 512, 128, "STM32F411xC", "STM32F411xE"),
		line(DevIDF401DE, "STM32F401xD/E", "RM0368", 512, 96, "STM32F401xD", "STM32F401xE"),
		line(DevIDF469, "STM32F469/F479", "RM0386", 2048, 320, "STM32F469", "STM32F479"),
		line(DevIDF412, "STM32F412", "RM0402", 1024, 256, "STM32F412"),
		line(DevIDF410, "STM32F410", "RM0401", 128, 32, "STM32F410"),
		line(DevIDF413, "STM32F413/F423", "RM0430", 1536, 320, "STM32F413", "STM32F423"),
	})
	f.UIDAddr, f.FlashSizeAddr = F4UID, F4FlashSize
	f.Lines[4].Revisions = []Revision{{0x1000, "A", true}}
	return f
}

// STM32G0 returns the STM32G0 family table (RM0444, RM0454; OpenOCD
// stm32l4x.c).
func STM32G0() Family {
	f := rdpFamily("STM32G0", "Cortex-M0+", DPIDRCortexM0P, DBGMCUG0, l4RDP(), []Line{
		line(DevIDG03x, "STM32G03x/G04x", "RM0454", 64, 8, "STM32G030", "STM32G031", "STM32G041"),
		line(DevIDG05x, "STM32G05x/G06x", "RM0444", 64, 18, "STM32G050", "STM32G051", "STM32G061"),
		line(DevIDG07x, "STM32G07x/G08x", "RM0444", 128, 36, "STM32G070", "STM32G071", "STM32G081"),
		line(DevIDG0Bx, "STM32G0Bx/G0Cx", "RM0444", 512, 144, "STM32G0B0", "STM32G0B1", "STM32G0C1"),
	})
	f.UIDAddr, f.FlashSizeAddr, f.PackageAddr = G0L4UID, G0L4FlashSize, G0L4Package
	f.Lines[2].Revisions = []Revision{{0x1000, "A", true}, {0x2000, "B", true}}
	return f
}

// STM32G4 returns the STM32G4 family table (RM0440; OpenOCD stm32l4x.c).
func STM32G4() Family {
	f := rdpFamily("STM32G4", "Cortex-M4", DPIDRCortexM4, DBGMCUCortexM3M4, l4RDP(), []Line{
		line(DevIDG43x, "STM32G43x/G44x", "RM0440", 128, 32, "STM32G431", "STM32G441"),
		line(DevIDG47x, "STM32G47x/G48x", "RM0440", 512, 128, "STM32G471", "STM32G473", "STM32G474", "STM32G483", "STM32G484"),
		line(DevIDG49x, "STM32G49x/G4Ax", "RM0440", 512, 112, "STM32G491", "STM32G4A1"),
	})
	f.UIDAddr, f.FlashSizeAddr, f.PackageAddr = G0L4UID, G0L4FlashSize, G0L4Package
	return f
}

// STM32L4 returns the STM32L4 family table (RM0351, RM0394, RM0432;
// OpenOCD stm32l4x.c).
func STM32L4() Family {
	f := rdpFamily("STM32L4", "Cortex-M4", DPIDRCortexM4, DBGMCUCortexM3M4, l4RDP(), []Line{
		line(DevIDL47x, "STM32L47x/L48x", "RM0351", 1024, 96, "STM32L475", "STM32L476", "STM32L486"),
		line(DevIDL49x, "STM32L49x/L4Ax", "RM0351", 1024, 256, "STM32L496", "STM32L4A6"),
		line(DevIDL43x, "STM32L43x/L44x", "RM0394", 256, 48, "STM32L431", "STM32L432", "STM32L433", "STM32L443"),
		line(DevIDL45x, "STM32L45x/L46x", "RM0394", 512, 128, "STM32L451", "STM32L452", "STM32L462"),
		line(DevIDL41x, "STM32L41x/L42x", "RM0394", 128, 32, "STM32L412", "STM32L422"),
		line(DevIDL4Rx, "STM32L4R/L4S", "RM0432", 2048, 192, "STM32L4R5", "STM32L4R9", "STM32L4S5", "STM32L4S9"),
		line(DevIDL4Px, "STM32L4P/L4Q", "RM0432", 1024, 128, "STM32L4P5", "STM32L4Q5"),
	})
	f.UIDAddr, f.FlashSizeAddr, f.PackageAddr = G0L4UID, G0L4FlashSize, G0L4Package
	f.Lines[0].Revisions = []Revision{{0x1007, "4", true}}
	return f
}

// STM32U5 returns the STM32U5 family table (RM0456; OpenOCD stm32l4x.c).
// Its option bytes are decoded by package obytes (families_u5h7.go).
func STM32U5() Family {
	f := rdpFamily("STM32U5", "Cortex-M33", DPIDRCortexM33, DBGMCUU5, u5RDP(), []Line{
		line(DevIDU57x, "STM32U575/U585", "RM0456", 2048, 768, "STM32U575", "STM32U585"),
		line(DevIDU59x, "STM32U59x/U5Ax", "RM0456", 4096, 2514, "STM32U595", "STM32U599", "STM32U5A5", "STM32U5A9"),
		line(DevIDU53x, "STM32U535/U545", "RM0456", 512, 274, "STM32U535", "STM32U545"),
		line(DevIDU5Fx, "STM32U5Fx/U5Gx", "RM0456", 4096, 3026, "STM32U5F7", "STM32U5F9", "STM32U5G7", "STM32U5G9"),
	})
	for i := range f.Lines {
		f.Lines[i].TrustZone = true
	}
	f.UIDAddr, f.FlashSizeAddr, f.PackageAddr = U5UID, U5FlashSize, U5Package
	f.FlashRegsSecure = U5FlashRegsSec
	// OpenOCD 0.12 stm32l4x.c names REV_ID 0x2000 of the U575/U585 "B".
	f.Lines[0].Revisions = []Revision{{0x2000, "B", true}}
	return f
}

// STM32H7 returns the STM32H7 family table (RM0433, RM0455, RM0468;
// OpenOCD stm32h7x.c). Its option bytes are decoded by package obytes
// (families_u5h7.go).
func STM32H7() Family {
	f := rdpFamily("STM32H7", "Cortex-M7", DPIDRCortexM7, DBGMCUH7, h7RDP(), []Line{
		line(DevIDH74x, "STM32H74x/H75x", "RM0433", 2048, 128, "STM32H742", "STM32H743", "STM32H753", "STM32H750"),
		line(DevIDH7Ax, "STM32H7A3/H7B0/H7B3", "RM0455", 2048, 128, "STM32H7A3", "STM32H7B0", "STM32H7B3"),
		line(DevIDH72x, "STM32H72x/H73x", "RM0468", 1024, 128, "STM32H723", "STM32H725", "STM32H730", "STM32H733", "STM32H735"),
	})
	f.UIDAddr, f.FlashSizeAddr = H7UID, H7FlashSize
	f.APs = h7APs()
	// OpenOCD 0.12 stm32h7x.c names REV_ID 0x2003 of the H74x/75x "V".
	f.Lines[0].Revisions = []Revision{{0x2003, "V", true}}
	return f
}

// FlashSizeAddrOf is where line l keeps its flash size: the family's
// address, except on H7A3/B3 (OpenOCD stm32h7x.c, fsize_addr).
func (f Family) FlashSizeAddrOf(l Line) uint32 {
	if l.DevID == DevIDH7Ax {
		return H7AxFlashSize
	}
	return f.FlashSizeAddr
}
