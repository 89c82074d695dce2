package targets

import (
	"context"
	"errors"
	"fmt"

	"github.com/stprobe/stprobe/enum"
)

// RDPLevel is a read-out protection level as the flash interface applies
// it: what a debugger may still do follows from it.
type RDPLevel int

// Read-out protection levels (RM0008 §2.5, RM0090 §3.7.3, RM0444 §3.5.1,
// RM0351 §3.5.1, RM0456 §7.6.2, RM0433 §4.5.3).
const (
	RDPLevel0  RDPLevel = iota // no protection
	RDPLevel05                 // U5/L5 with TrustZone: secure area closed to debug
	RDPLevel1                  // flash closed to the debugger; regression to 0 mass-erases
	RDPLevel2                  // debug disabled for ever
)

// rdpLevelNames names each level as ST's manuals do.
var rdpLevelNames = [...]string{RDPLevel0: "level 0", RDPLevel05: "level 0.5", RDPLevel1: "level 1", RDPLevel2: "level 2"}

// String names the level as ST's manuals do.
func (l RDPLevel) String() string {
	return enum.Name(rdpLevelNames[:], l, "RDPLevel")
}

// RDP byte values shared by every family with a byte-wide RDP field; any
// other value is level 1 (OpenOCD stm32l4x.c enum stm32l4_rdp, stm32f2x.c,
// stm32h7x.c).
const (
	RDPByteLevel0  = 0xAA
	RDPByteLevel05 = 0x55 // U5/L5 with TZEN=1
	RDPByteLevel2  = 0xCC
	RDPByteLevel1  = 0xBB // the value ST's tools write for level 1
	// F1RDPKey is the F1's level-0 RDP option byte (RM0008 §2.5: any other
	// value is level 1; the F1 has no level 2).
	F1RDPKey = 0xA5
)

// RDPScheme says where a family keeps its read-out protection level and
// which levels it has.
type RDPScheme struct {
	// FlashRegs is the flash interface's register block.
	FlashRegs uint32
	// Reg is the offset of the register that holds RDP; Shift its bit
	// position. With Bit set the register holds one bit (F1 FLASH_OBR
	// RDPRT: 1 = protected) rather than the RDP byte.
	Reg   uint32
	Shift uint
	Bit   bool
	// Level05 is true on TrustZone families that have level 0.5; Level2
	// false on the F1, whose protection is on or off.
	Level05, Level2 bool
	// RegName names the register, e.g. "FLASH_OPTR".
	RegName string
}

// Addr is the absolute address of the register holding RDP.
func (s RDPScheme) Addr() uint32 { return s.FlashRegs + s.Reg }

// Level decodes the RDP level from the register's value reg. raw is the
// RDP byte (for the F1: 0xA5 when off, 0x00 standing for "any other value"
// when on).
func (s RDPScheme) Level(reg uint32) (level RDPLevel, raw uint8) {
	if s.Bit {
		if reg>>s.Shift&1 == 1 {
			return RDPLevel1, 0x00
		}
		return RDPLevel0, F1RDPKey
	}
	raw = uint8(reg >> s.Shift)
	if s.Level05 && raw == RDPByteLevel05 && reg&U5TZEN == 0 {
		// 0x55 is level 0.5 only with TrustZone on; with TZEN clear it is
		// one more "any other value": level 1 (RM0456 §7.6.2).
		return RDPLevel1, raw
	}
	return LevelOfByte(raw, s.Level05, s.Level2), raw
}

// LevelOfByte is the level an RDP byte selects: 0xAA level 0, 0xCC level 2
// (where it exists), 0x55 level 0.5 (where it exists), anything else level 1.
func LevelOfByte(b uint8, level05, level2 bool) RDPLevel {
	switch {
	case b == RDPByteLevel0:
		return RDPLevel0
	case b == RDPByteLevel2 && level2:
		return RDPLevel2
	case b == RDPByteLevel05 && level05:
		return RDPLevel05
	}
	return RDPLevel1
}

func f1RDP() RDPScheme {
	return RDPScheme{FlashRegs: F1FlashRegs, Reg: 0x1C, Shift: 1, Bit: true, RegName: "FLASH_OBR"}
}

func f4RDP() RDPScheme {
	return RDPScheme{FlashRegs: F4FlashRegs, Reg: 0x14, Shift: 8, Level2: true, RegName: "FLASH_OPTCR"}
}

func l4RDP() RDPScheme {
	return RDPScheme{FlashRegs: L4FlashRegs, Reg: 0x20, Shift: 0, Level2: true, RegName: "FLASH_OPTR"}
}

func u5RDP() RDPScheme {
	return RDPScheme{FlashRegs: U5FlashRegs, Reg: 0x40, Shift: 0, Level05: true, Level2: true, RegName: "FLASH_OPTR"}
}

func h7RDP() RDPScheme {
	return RDPScheme{FlashRegs: H7FlashRegs, Reg: 0x1C, Shift: 8, Level2: true, RegName: "FLASH_OPTSR_CUR"}
}

// Protection is the read-out protection a chip reported.
type Protection struct {
	Level RDPLevel
	// Raw is the RDP byte (see RDPScheme.Level); Reg the whole register.
	Raw uint8
	Reg uint32
}

// String is e.g. "RDP level 1 (0xBB)".
func (p Protection) String() string {
	return fmt.Sprintf("RDP %v (0x%02X)", p.Level, p.Raw)
}

// Debug says in one sentence what the level means for a debugger on
// family f.
func (p Protection) Debug(f Family) string {
	switch p.Level {
	case RDPLevel0:
		return "open: flash, SRAM and option bytes readable and writable by the debugger"
	case RDPLevel05:
		return "non-secure debug open, secure side closed to the debugger (TrustZone)"
	case RDPLevel1:
		return "the core and SRAM answer, flash reads fail while a debugger is attached; going back to level 0 mass-erases the flash"
	case RDPLevel2:
		return "debug disabled for ever: the SW-DP no longer answers and option bytes are frozen"
	}
	return "unknown"
}

// ErrNoProductState is wrapped by ReadProductState on families that have
// read-out protection levels rather than STM32H5 product states.
var ErrNoProductState = errors.New("no product state on this family")

// ReadRDP reads the read-out protection level of chip through its core AP.
func ReadRDP(ctx context.Context, r MemReader, chip *Chip) (Protection, error) {
	s := chip.Family.RDP
	if s == nil {
		return Protection{}, fmt.Errorf("target: %s has product states, not RDP levels", chip.Family.Name)
	}
	v, err := r.Read32(ctx, chip.Family.CoreAP, s.Addr())
	if err != nil {
		return Protection{}, fmt.Errorf("target: reading %s at 0x%08X through AP%d (is the core port open?): %w", s.RegName, s.Addr(), chip.Family.CoreAP, err)
	}
	lvl, raw := s.Level(v)
	return Protection{Level: lvl, Raw: raw, Reg: v}, nil
}
