package obytes

import (
	"fmt"
	"math/bits"
	"strings"

	"github.com/stprobe/stprobe/targets"
)

// The option-byte tables of the families protected by read-out protection
// levels. Register offsets and bit positions are those of ST's CMSIS device
// headers (stm32f103xb.h FLASH_OBR/FLASH_WRPR, stm32f4xx FLASH_OPTCR and
// FLASH_OPTCR1, stm32g0xx/stm32g4xx/stm32l4xx FLASH_OPTR and FLASH_WRPxxR)
// and of OpenOCD's src/flash/nor/stm32f1x.c, stm32f2x.c and stm32l4x.c;
// docs/families.md lists them with their sources. On these families the
// option registers are read-only images of the option bytes loaded at reset.

// Line sets of the RDP families.
var (
	f1Lines = Lines{targets.DevIDF1LD, targets.DevIDF1MD, targets.DevIDF1HD, targets.DevIDF1XL, targets.DevIDF1CL, targets.DevIDF1VL, targets.DevIDF1VLHD}
	f4Lines = Lines{targets.DevIDF40x, targets.DevIDF42x, targets.DevIDF446, targets.DevIDF401BC, targets.DevIDF411, targets.DevIDF401DE,
		targets.DevIDF469, targets.DevIDF412, targets.DevIDF410, targets.DevIDF413}
	// f4DualBank are the F4 lines with a second bank (FLASH_OPTCR1; BFB2
	// and DB1M in FLASH_OPTCR): OpenOCD stm32f2x.c has_large_mem.
	f4DualBank = Lines{targets.DevIDF42x, targets.DevIDF469}
	// f4PCROP are the F4 lines with SPRMOD (FLASH_OPTCR bit 31): every F4
	// line but the F405/F407/F415/F417 (RM0090 §3.9.10 lists it for the
	// F42x/F43x only).
	f4PCROP  = Lines{targets.DevIDF42x, targets.DevIDF446, targets.DevIDF401BC, targets.DevIDF411, targets.DevIDF401DE, targets.DevIDF469, targets.DevIDF412, targets.DevIDF410, targets.DevIDF413}
	g0Lines  = Lines{targets.DevIDG03x, targets.DevIDG05x, targets.DevIDG07x, targets.DevIDG0Bx}
	g0Small  = Lines{targets.DevIDG03x, targets.DevIDG05x, targets.DevIDG07x}
	g0Bx     = Lines{targets.DevIDG0Bx}
	g4Lines  = Lines{targets.DevIDG43x, targets.DevIDG47x, targets.DevIDG49x}
	g4Dual   = Lines{targets.DevIDG47x}
	l4Lines  = Lines{targets.DevIDL47x, targets.DevIDL43x, targets.DevIDL45x, targets.DevIDL41x, targets.DevIDL49x, targets.DevIDL4Rx, targets.DevIDL4Px}
	l4Dual   = Lines{targets.DevIDL47x, targets.DevIDL49x, targets.DevIDL4Rx, targets.DevIDL4Px}
	l4DualBk = Lines{targets.DevIDL47x, targets.DevIDL49x}
	l4Plus   = Lines{targets.DevIDL4Rx, targets.DevIDL4Px}
	// l4Boot0 are the L4 lines with nSWBOOT0/nBOOT0 (FLASH_OPTR bits 26,
	// 27): not the L47x/L48x, whose CMSIS header (stm32l476xx.h) has no
	// such bits.
	l4Boot0 = Lines{targets.DevIDL43x, targets.DevIDL45x, targets.DevIDL41x, targets.DevIDL49x, targets.DevIDL4Rx, targets.DevIDL4Px}
)

// familyLayout builds the option-byte table of one line of an RDP family.
func familyLayout(fam targets.Family, line targets.Line) (*Layout, error) {
	var regs []Register
	var fields []Field
	switch fam.Name {
	case "STM32F1":
		regs, fields = f1Registers(), f1Fields()
	case "STM32F4":
		regs, fields = f4Registers(), f4Fields()
	case "STM32G0":
		regs, fields = g0Registers(), g0Fields()
	case "STM32G4":
		regs, fields = l4Registers(g4Lines, g4Dual), g4Fields()
	case "STM32L4":
		regs, fields = l4Registers(l4Lines, l4Dual), l4Fields()
	default:
		var ok bool
		if regs, fields, ok = u5h7Tables(fam.Name); !ok { // families_u5h7.go
			return nil, fmt.Errorf("target: no option-byte table for %s (DEV_ID 0x%03X) yet: identification and RDP level only", fam.Name, line.DevID)
		}
	}
	l := &Layout{DevID: line.DevID, LineName: line.Name, Line: line, Family: fam.Name, AP: fam.CoreAP, RDP: fam.RDP}
	for _, r := range regs {
		if r.Lines.Has(line.DevID) {
			r.Base, r.Prg = fam.RDP.FlashRegs, r.Cur
			l.Registers = append(l.Registers, r)
		}
	}
	for _, f := range fields {
		if f.Lines.Has(line.DevID) {
			l.Fields = append(l.Fields, f)
		}
	}
	return l, nil
}

// ApplyRefusal says why stprobe does not program the option bytes of this
// layout's family and what to use instead; "" when it does (the STM32H5,
// and the F1, F4, G0, G4, L4, U5 and H7 through their own sequences,
// apply_families.go, apply_u5h7.go).
func (l *Layout) ApplyRefusal() string {
	if l.RDP == nil {
		return ""
	}
	switch l.Family {
	case "STM32F1", "STM32F4", "STM32G0", "STM32G4", "STM32L4", "STM32U5", "STM32H7":
		return ""
	}
	return fmt.Sprintf("stprobe cannot program the option bytes of the %s yet: its programming sequence is not implemented; use STM32CubeProgrammer (-ob) after checking the plan stprobe printed", l.Family)
}

// rdpLevelOf is the protection level an RDP field value selects on this
// layout's family (the F1's field is its FLASH_OBR RDPRT bit).
func (l *Layout) rdpLevelOf(v uint32) targets.RDPLevel {
	if l.RDP.Bit {
		if v&1 == 1 {
			return targets.RDPLevel1
		}
		return targets.RDPLevel0
	}
	return targets.LevelOfByte(uint8(v), l.RDP.Level05, l.RDP.Level2)
}

// rdpByte is the byte-wide RDP field of F4, G0, G4 and L4.
func rdpByte(reg string, shift uint, lines Lines) Field {
	return Field{
		Name: "RDP", Register: reg, Shift: shift, Width: 8, Kind: KindNumber, Lines: lines,
		Meaning: "read-out protection: 0xAA level 0, 0xCC level 2 (permanent), any other value level 1",
		Describe: func(v, _ uint32) string {
			switch targets.LevelOfByte(uint8(v), false, true) {
			case targets.RDPLevel0:
				return "level 0: no protection, flash open to the debugger"
			case targets.RDPLevel2:
				return "level 2: debug disabled for ever, option bytes frozen"
			}
			return "level 1: flash closed to the debugger; going back to level 0 mass-erases it"
		},
	}
}

// enumField builds an enum field from value, name, meaning triples.
func enumField(name, reg string, shift, width uint, lines Lines, meaning string, vals ...Value) Field {
	return Field{Name: name, Register: reg, Shift: shift, Width: width, Kind: KindEnum, Lines: lines, Meaning: meaning, Values: vals}
}

// watchdog is a watchdog-start bit (0: hardware, 1: software).
func watchdog(name, reg string, shift uint, lines Lines, which string) Field {
	return bit(name, reg, shift, lines, which+" start",
		"HARDWARE", which+" starts by itself at every reset; firmware must refresh it (a halted core is reset unless DBGMCU freezes it)",
		"SOFTWARE", which+" starts only when firmware enables it")
}

// resetOn is a "reset on low-power mode entry" bit (0: reset, 1: no reset).
func resetOn(name, reg string, shift uint, lines Lines, mode string) Field {
	return bit(name, reg, shift, lines, "reset on "+mode+" entry",
		"RESET", "entering "+mode+" mode resets the chip", "NO_RESET", mode+" mode entered without reset")
}

// sramReset is a "RAM erased on system reset" bit (0: erased, 1: kept).
func sramReset(name, reg string, shift uint, lines Lines, ram string) Field {
	return bit(name, reg, shift, lines, ram+" erase on system reset",
		"ERASED", ram+" erased on every system reset", "KEPT", ram+" kept across system reset")
}

// ramECC is a RAM's ECC bit (0: on, 1: off).
func ramECC(name, reg string, shift uint, lines Lines, ram string) Field {
	return bit(name, reg, shift, lines, ram+" ECC", "ENABLED", ram+" ECC on", "DISABLED", ram+" ECC off")
}

// iwdgIn is an IWDG low-power behaviour bit (0: frozen, 1: running).
func iwdgIn(name, reg string, shift uint, lines Lines, mode string) Field {
	return bit(name, reg, shift, lines, "independent watchdog in "+mode+" mode",
		"FROZEN", "IWDG counter frozen in "+mode+" mode", "RUNNING", "IWDG keeps running in "+mode+" mode")
}

// data is a free user-data byte.
func data(name, reg string, shift uint, lines Lines) Field {
	return Field{Name: name, Register: reg, Shift: shift, Width: 8, Kind: KindNumber, Lines: lines,
		Meaning: "user data byte, free for firmware (no effect on the chip)"}
}

// protMask is a write-protection mask, one bit per unit, 0 = protected.
func protMask(name, reg string, shift, width uint, lines Lines, unit string) Field {
	return Field{
		Name: name, Register: reg, Shift: shift, Width: width, Kind: KindMask, Lines: lines,
		Meaning: "write protection, one bit per " + unit + "; 0 = protected",
		Describe: func(v, _ uint32) string {
			return describeProtected(v, width, "nothing write-protected", unit+" bit(s)")
		},
	}
}

// describeProtected describes a write-protection mask of width bits, one
// bit per unit and 0 = protected: none when no bit is protected, else how
// many units are and which bits.
func describeProtected(v uint32, width uint, none, units string) string {
	prot := ^v
	if width < 32 {
		prot &= 1<<width - 1
	}
	if prot == 0 {
		return none
	}
	return fmt.Sprintf("%d %s write-protected: %s", bits.OnesCount32(prot), units, setBits(prot))
}

// setBits lists the set bits of v, lowest first: "0,3,7".
func setBits(v uint32) string {
	var on []string
	for i := 0; i < 32; i++ {
		if v&(1<<i) != 0 {
			on = append(on, fmt.Sprint(i))
		}
	}
	return strings.Join(on, ",")
}

// pageArea is a start/end pair of page offsets (WRPxy_STRT/WRPxy_END): the
// area is the pages STRT…END of the bank, none when STRT > END.
func pageArea(prefix, reg string, width uint, lines Lines, what string) []Field {
	mask := uint32(1)<<width - 1
	start := Field{Name: prefix + "_STRT", Register: reg, Shift: 0, Width: width, Kind: KindNumber, Lines: lines,
		Meaning: "first page of the " + what + " area (STRT > END: no area)",
		Describe: func(v, reg uint32) string {
			if end := reg >> 16 & mask; v > end {
				return fmt.Sprintf("page %d; after END (%d): no %s area", v, end, what)
			}
			return fmt.Sprintf("%s area starts at page %d", what, v)
		}}
	end := Field{Name: prefix + "_END", Register: reg, Shift: 16, Width: width, Kind: KindNumber, Lines: lines,
		Meaning: "last page of the " + what + " area",
		Describe: func(v, reg uint32) string {
			if s := reg & mask; s > v {
				return fmt.Sprintf("page %d; STRT (%d) is after it: no %s area", v, s, what)
			}
			return fmt.Sprintf("%s area is pages %d…%d", what, reg&mask, v)
		}}
	return []Field{start, end}
}

// wrpAreas are the write-protected areas A and B of bank 1 (FLASH_WRP1AR,
// WRP1BR) on lines and of bank 2 (WRP2AR, WRP2BR) on dual, their page
// offsets width bits wide (the G4, L4 and U5); suffix ends the areas'
// names ("_P" on the U5, as STM32CubeProgrammer spells them).
func wrpAreas(suffix string, width uint, lines, dual Lines) []Field {
	var f []Field
	for _, a := range []struct {
		name  string
		lines Lines
	}{{"WRP1A", lines}, {"WRP1B", lines}, {"WRP2A", dual}, {"WRP2B", dual}} {
		f = append(f, pageArea(a.name+suffix, a.name+"R", width, a.lines, "write-protected")...)
	}
	return f
}

// ---- STM32F1 (RM0008 §3.3.3, §4.3; stm32f103xb.h; OpenOCD stm32f1x.c) ----

func f1Registers() []Register {
	return []Register{
		{Name: "OBR", Cur: 0x1C, Lines: f1Lines, Meaning: "read protection status, user options and the two data bytes, as loaded at reset"},
		{Name: "WRPR", Cur: 0x20, Lines: f1Lines, Meaning: "write protection of flash pages, as loaded at reset"},
	}
}

func f1Fields() []Field {
	f := append([]Field{f1RDP()}, userOptions("OBR", 2, f1Lines)...)
	return append(f,
		bit("BFB2", "OBR", 5, Lines{targets.DevIDF1XL}, "boot bank of the XL-density dual-bank parts (OpenOCD stm32f1x.c OPT_BFB2)",
			"BANK2", "boot from bank 2 when it holds a valid image", "BANK1", "boot from bank 1 (factory default)"),
		data("Data0", "OBR", 10, f1Lines),
		data("Data1", "OBR", 18, f1Lines),
		protMask("WRP", "WRPR", 0, 32, f1Lines, "group of pages (4 KiB on low/medium density, 4 KiB = 2 pages on high density, XL and connectivity lines; bit 31 covers the rest of flash)"),
	)
}

// userOptions are the user option bits the F1 (FLASH_OBR bits 2 to 4) and
// the F4 (FLASH_OPTCR bits 5 to 7) lay out alike, from bit shift up:
// WDG_SW, nRST_STOP, nRST_STDBY.
func userOptions(reg string, shift uint, lines Lines) []Field {
	return []Field{
		watchdog("WDG_SW", reg, shift, lines, "IWDG"),
		resetOn("nRST_STOP", reg, shift+1, lines, "Stop"),
		resetOn("nRST_STDBY", reg, shift+2, lines, "Standby"),
	}
}

// f1RDP is the F1's read-out protection: FLASH_OBR.RDPRT, one bit. It
// takes the RDP bytes as aliases: 0xA5 (the F1's level-0 key) and 0xAA
// (level 0 on every other family) select LEVEL0, 0xBB LEVEL1.
func f1RDP() Field {
	f := bit("RDP", "OBR", 1, f1Lines, "read-out protection (RDPRT; the RDP option byte is 0xA5 for level 0, anything else level 1; the F1 has no level 2)",
		"LEVEL0", "no protection (RDP byte 0xA5): flash open to the debugger",
		"LEVEL1", "flash closed to the debugger; going back to level 0 mass-erases it")
	f.Aliases = map[string]uint32{"0xA5": 0, "0xAA": 0, "0xBB": 1}
	return f
}

// ---- STM32F4 (RM0090 §3.9.10, §3.9.11; stm32f4xx FLASH_OPTCR; OpenOCD stm32f2x.c) ----

func f4Registers() []Register {
	return []Register{
		{Name: "OPTCR", Cur: 0x14, Lines: f4Lines, Meaning: "read protection, user options and bank-1 sector write protection"},
		{Name: "OPTCR1", Cur: 0x18, Lines: f4DualBank, Meaning: "bank-2 sector write protection"},
	}
}

func f4Fields() []Field {
	f := []Field{
		rdpByte("OPTCR", 8, f4Lines),
		enumField("BOR_LEV", "OPTCR", 2, 2, f4Lines, "brown-out reset threshold",
			borLevel(0, 3, "2.7"),
			borLevel(1, 2, "2.4"),
			borLevel(2, 1, "2.1"),
			Value{Raw: 3, Name: "OFF", Meaning: "BOR off: reset at the POR/PDR threshold only (factory default)"}),
		bit("BFB2", "OPTCR", 4, f4DualBank, "dual-bank boot", "BANK1", "boot from bank 1 (or system memory)", "BANK2_IF_VALID", "the bootloader jumps to bank 2 when it holds a valid image"),
	}
	f = append(f, userOptions("OPTCR", 5, f4Lines)...)
	return append(f,
		protMask("nWRP", "OPTCR", 16, 12, f4Lines, "sector (sectors 0-11 of bank 1)"),
		bit("DB1M", "OPTCR", 30, f4DualBank, "dual bank on 1 MiB parts", "SINGLE", "1 MiB parts use a single bank", "DUAL", "1 MiB parts use two banks of 512 KiB"),
		bit("SPRMOD", "OPTCR", 31, f4PCROP, "what the nWRP bits select", "WRITE_PROTECT", "nWRP bits are write protection (0 = protected)", "PCROP", "nWRP bits are read protection of code (PCROP, 1 = protected)"),
		protMask("nWRP2", "OPTCR1", 16, 12, f4DualBank, "sector (sectors 12-23, bank 2)"),
	)
}

// ---- STM32G0 (RM0444 §3.7.8; stm32g0xx FLASH_OPTR; OpenOCD stm32l4x.c) ----

func g0Registers() []Register {
	return []Register{
		{Name: "OPTR", Cur: 0x20, Lines: g0Lines, Meaning: "read protection, reset, watchdog, boot and NRST options"},
		{Name: "WRP1AR", Cur: 0x2C, Lines: g0Lines, Meaning: "write-protected area A"},
		{Name: "WRP1BR", Cur: 0x30, Lines: g0Lines, Meaning: "write-protected area B"},
	}
}

func g0Fields() []Field {
	borf := []Value{{Raw: 0, Name: "LEVEL0", Meaning: "rising threshold about 2.1 V"}, {Raw: 1, Name: "LEVEL1", Meaning: "rising threshold about 2.3 V"},
		{Raw: 2, Name: "LEVEL2", Meaning: "rising threshold about 2.6 V"}, {Raw: 3, Name: "LEVEL3", Meaning: "rising threshold about 2.9 V"}}
	borr := []Value{{Raw: 0, Name: "LEVEL0", Meaning: "falling threshold about 2.0 V"}, {Raw: 1, Name: "LEVEL1", Meaning: "falling threshold about 2.2 V"},
		{Raw: 2, Name: "LEVEL2", Meaning: "falling threshold about 2.5 V"}, {Raw: 3, Name: "LEVEL3", Meaning: "falling threshold about 2.8 V"}}
	f := []Field{
		rdpByte("OPTR", 0, g0Lines),
		bit("BOREN", "OPTR", 8, g0Lines, "brown-out reset", "DISABLED", "BOR off (factory default): reset at the POR threshold only", "ENABLED", "BOR on, thresholds BORF_LEV/BORR_LEV"),
		enumField("BORF_LEV", "OPTR", 9, 2, g0Lines, "BOR rising threshold", borf...),
		enumField("BORR_LEV", "OPTR", 11, 2, g0Lines, "BOR falling threshold", borr...),
	}
	f = append(f, lowPowerResets(13, g0Lines)...)
	f = append(f, watchdogOptions(g0Lines)...)
	f = append(f,
		bit("nSWAP_BANK", "OPTR", 20, g0Bx, "bank swap", "SWAPPED", "bank 2 mapped at 0x08000000", "NOT_SWAPPED", "bank 1 at 0x08000000"),
		bit("DUAL_BANK", "OPTR", 21, g0Bx, "flash organisation (256 KiB parts)", "SINGLE", "one bank", "DUAL", "two banks"),
		bit("RAM_PARITY_CHECK", "OPTR", 22, g0Lines, "SRAM parity check", "ENABLED", "SRAM parity check on", "DISABLED", "SRAM parity check off"),
		bit("nBOOT_SEL", "OPTR", 24, g0Lines, "what selects the boot source", "BOOT0_PIN", "the BOOT0 pin (PA14, shared with SWCLK) selects", "nBOOT0_BIT", "the nBOOT0 option bit selects (factory default)"),
		bit("nBOOT1", "OPTR", 25, g0Lines, "boot source when booting from system memory or SRAM", "SRAM", "embedded SRAM", "SYSTEM", "system memory (bootloader)"),
		bit("nBOOT0", "OPTR", 26, g0Lines, "boot source when nBOOT_SEL=1", "SYSTEM_OR_SRAM", "system memory or SRAM (per nBOOT1): user flash does not run", "FLASH", "main flash"),
		nrstMode(27, g0Lines, "RM0444 §3.7.8", "PF2"),
		bit("IRHEN", "OPTR", 29, g0Lines, "internal reset drives NRST", "NO_PULSE", "internal resets do not drive NRST low", "PULSE", "internal resets drive NRST low"),
	)
	f = append(f, pageArea("WRP1A", "WRP1AR", 6, g0Small, "write-protected")...)
	f = append(f, pageArea("WRP1A", "WRP1AR", 7, g0Bx, "write-protected")...)
	f = append(f, pageArea("WRP1B", "WRP1BR", 6, g0Small, "write-protected")...)
	f = append(f, pageArea("WRP1B", "WRP1BR", 7, g0Bx, "write-protected")...)
	return f
}

// ---- STM32L4 and STM32G4 (RM0351 §3.7.8, RM0394, RM0432, RM0440 §5.7.8;
// stm32l4xx and stm32g4xx FLASH_OPTR; OpenOCD stm32l4x.c) ----

// l4Registers are FLASH_OPTR and the write-protected areas; the second
// bank's areas (WRP2AR/WRP2BR) exist on the dual-bank lines.
func l4Registers(all, dual Lines) []Register {
	return []Register{
		{Name: "OPTR", Cur: 0x20, Lines: all, Meaning: "read protection, BOR, reset, watchdog, bank, SRAM and boot options"},
		{Name: "WRP1AR", Cur: 0x2C, Lines: all, Meaning: "bank 1 write-protected area A"},
		{Name: "WRP1BR", Cur: 0x30, Lines: all, Meaning: "bank 1 write-protected area B"},
		{Name: "WRP2AR", Cur: 0x4C, Lines: dual, Meaning: "bank 2 write-protected area A"},
		{Name: "WRP2BR", Cur: 0x50, Lines: dual, Meaning: "bank 2 write-protected area B"},
	}
}

// l4Common are the OPTR fields L4 and G4 share.
func l4Common(lines Lines) []Field {
	f := []Field{rdpByte("OPTR", 0, lines), borLevels(lines)}
	f = append(f, lowPowerResets(12, lines)...)
	return append(f, watchdogOptions(lines)...)
}

// borLevels is FLASH_OPTR.BOR_LEV, bits 10:8, of the G4, L4 and U5: five
// thresholds.
func borLevels(lines Lines) Field {
	return enumField("BOR_LEV", "OPTR", 8, 3, lines, "brown-out reset threshold",
		Value{Raw: 0, Name: "LEVEL0", Meaning: "BOR level 0 (about 1.7 V; factory default)"},
		borLevel(1, 1, "2.0"),
		borLevel(2, 2, "2.2"),
		borLevel(3, 3, "2.5"),
		borLevel(4, 4, "2.8"))
}

// borLevel is the BOR_LEV value raw: brown-out threshold level, about
// volts V.
func borLevel(raw uint32, level int, volts string) Value {
	return Value{Raw: raw, Name: fmt.Sprintf("LEVEL%d", level), Meaning: fmt.Sprintf("BOR level %d (about %s V)", level, volts)}
}

// lowPowerResets are FLASH_OPTR's nRST_STOP, nRST_STDBY and nRST_SHDW,
// three bits up from shift (13 on the G0; 12 on the G4, L4 and U5).
func lowPowerResets(shift uint, lines Lines) []Field {
	return []Field{
		resetOn("nRST_STOP", "OPTR", shift, lines, "Stop"),
		resetOn("nRST_STDBY", "OPTR", shift+1, lines, "Standby"),
		resetOn("nRST_SHDW", "OPTR", shift+2, lines, "Shutdown"),
	}
}

// watchdogOptions are FLASH_OPTR bits 16 to 19 of the G0, G4, L4 and U5:
// IWDG_SW, IWDG_STOP, IWDG_STDBY and WWDG_SW.
func watchdogOptions(lines Lines) []Field {
	return []Field{
		watchdog("IWDG_SW", "OPTR", 16, lines, "IWDG"),
		iwdgIn("IWDG_STOP", "OPTR", 17, lines, "Stop"),
		iwdgIn("IWDG_STDBY", "OPTR", 18, lines, "Standby"),
		watchdog("WWDG_SW", "OPTR", 19, lines, "WWDG"),
	}
}

func bfb2(lines Lines) Field {
	return bit("BFB2", "OPTR", 20, lines, "dual-bank boot", "BANK1", "boot from bank 1", "BANK2", "boot from bank 2 when it holds a valid image (system memory decides)")
}

func nBoot1(lines Lines) Field {
	return bit("nBOOT1", "OPTR", 23, lines, "boot source when BOOT0 selects system memory or SRAM", "SRAM", "embedded SRAM1", "SYSTEM", "system memory (bootloader)")
}

func swBoot0(lines Lines) []Field {
	return []Field{
		bit("nSWBOOT0", "OPTR", 26, lines, "what selects the boot source", "nBOOT0_BIT", "the nBOOT0 option bit selects, the BOOT0 pin is ignored", "BOOT0_PIN", "the BOOT0 pin selects (factory default)"),
		bit("nBOOT0", "OPTR", 27, lines, "boot source when nSWBOOT0=0", "SYSTEM_OR_SRAM", "system memory or SRAM (per nBOOT1): user flash does not run", "FLASH", "main flash"),
	}
}

func l4Fields() []Field {
	f := l4Common(l4Lines)
	f = append(f,
		bfb2(l4Dual),
		bit("DUALBANK", "OPTR", 21, l4DualBk, "flash organisation (512 KiB and 256 KiB parts)", "SINGLE", "single bank", "DUAL", "two banks"),
		bit("DB1M", "OPTR", 21, l4Plus, "flash organisation of 1 MiB parts", "SINGLE", "single bank", "DUAL", "two banks"),
		bit("DBANK", "OPTR", 22, l4Plus, "flash organisation", "SINGLE", "single bank, 128-bit reads", "DUAL", "two banks, 64-bit reads"),
		nBoot1(l4Lines),
		bit("SRAM2_PE", "OPTR", 24, l4Lines, "SRAM2 parity check", "ENABLED", "SRAM2 parity check on", "DISABLED", "SRAM2 parity check off"),
		sramReset("SRAM2_RST", "OPTR", 25, l4Lines, "SRAM2"),
	)
	f = append(f, swBoot0(l4Boot0)...)
	return append(f, wrpAreas("", 8, l4Lines, l4Dual)...)
}

func g4Fields() []Field {
	f := l4Common(g4Lines)
	f = append(f,
		bfb2(g4Dual),
		bit("DBANK", "OPTR", 22, g4Dual, "flash organisation", "SINGLE", "single bank, 128-bit reads", "DUAL", "two banks, 64-bit reads"),
		nBoot1(g4Lines),
		bit("SRAM_PE", "OPTR", 24, g4Lines, "SRAM1 and CCM SRAM parity check", "ENABLED", "parity check on", "DISABLED", "parity check off"),
		sramReset("CCMSRAM_RST", "OPTR", 25, g4Lines, "CCM SRAM"),
	)
	f = append(f, swBoot0(g4Lines)...)
	f = append(f,
		nrstMode(28, g4Lines, "RM0440 §5.7.8", "PG10"),
		bit("IRHEN", "OPTR", 30, g4Lines, "internal reset drives NRST", "NO_PULSE", "internal resets do not drive NRST low", "PULSE", "internal resets drive NRST low"),
	)
	return append(f, wrpAreas("", 7, g4Lines, g4Dual)...)
}

// nrstMode is FLASH_OPTR.NRST_MODE at bit shift on lines, as manual
// (the reference manual's section) defines it; pin is the GPIO NRST
// becomes in mode 2.
func nrstMode(shift uint, lines Lines, manual, pin string) Field {
	return enumField("NRST_MODE", "OPTR", shift, 2, lines, "what the NRST pin is",
		Value{Raw: 0, Name: "RESERVED", Meaning: "reserved encoding", Refused: manual + " marks 0 as reserved"},
		Value{Raw: 1, Name: "RESET_INPUT", Meaning: "NRST is a reset input only"},
		Value{Raw: 2, Name: "GPIO", Meaning: "NRST is a GPIO (" + pin + "): an external reset, and so a connect under reset, no longer reaches the chip"},
		Value{Raw: 3, Name: "BIDIRECTIONAL", Meaning: "NRST is a bidirectional reset pin (factory default)"})
}
