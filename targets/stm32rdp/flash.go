package stm32rdp

import (
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// Option-register values after reset of a chip whose option bytes hold the
// factory defaults except RDP (RM0008 §2.5 and §3.3.3 FLASH_OBR; RM0090
// §3.9.10 FLASH_OPTCR = 0x0FFFAAED; RM0444 §3.7.8 FLASH_OPTR = 0xFFFFFEAA;
// RM0351 §3.7.8 FLASH_OPTR = 0xFFEFF8AA; WRPxxR read start > end, no area
// protected).
const (
	f1OBRUserData = 0x03FFFFFC // USER 0xFF at bits 2..9, Data0/Data1 0xFF at bits 10..25
	f4OPTCRRest   = 0x0FFF00ED // nWRP all set, user bits, OPTLOCK
	g0OPTRRest    = 0xFFFFFE00
	l4OPTRRest    = 0xFFEFF800
	wrpNone       = 0xFF00FFFF
	crLocked      = 0xC0000000 // FLASH_CR LOCK | OPTLOCK (G0, G4, L4)
)

// optionRegs is what the flash interface's registers read: offset → value.
func (m *Model) optionRegs() map[uint32]uint32 {
	rdp := uint32(m.cfg.RDP)
	switch m.cfg.Family.Name {
	case "STM32F1":
		obr := uint32(f1OBRUserData)
		if m.protection() == targets.RDPLevel1 {
			obr |= 1 << 1 // RDPRT
		}
		return map[uint32]uint32{0x10: 0x80, 0x1C: obr, 0x20: 0xFFFFFFFF}
	case "STM32F4":
		regs := map[uint32]uint32{0x10: 0x80000000, 0x14: f4OPTCRRest | rdp<<8}
		if m.cfg.DevID == targets.DevIDF42x || m.cfg.DevID == targets.DevIDF469 {
			regs[0x18] = 0x0FFF0000 // OPTCR1: nWRP of bank 2
		}
		return regs
	case "STM32G0":
		return map[uint32]uint32{0x14: crLocked, 0x20: g0OPTRRest | rdp, 0x2C: wrpNone, 0x30: wrpNone}
	}
	return map[uint32]uint32{0x14: crLocked, 0x20: l4OPTRRest | rdp, 0x2C: wrpNone, 0x30: wrpNone, 0x4C: wrpNone, 0x50: wrpNone}
}

// flashRegs is the flash interface's register block, read-only: the model
// has no programming sequence, writes are ignored.
func (m *Model) flashRegs() *chipsim.Registers {
	regs := m.optionRegs()
	return &chipsim.Registers{Base: m.cfg.Family.RDP.FlashRegs, Size: 0x400,
		ReadFn: func(off uint32) (uint32, error) { return regs[off], nil },
	}
}

// readF1OptionBytes reads the F1's option-byte block: each byte followed
// by its complement (RM0008 §2.5).
func (m *Model) readF1OptionBytes(off uint32) (uint32, error) {
	pair := func(b uint8) uint32 { return uint32(b) | uint32(^b)<<8 }
	switch off {
	case 0x0:
		return pair(m.cfg.RDP) | pair(0xFF)<<16, nil // RDP, USER
	case 0x4:
		return pair(0xFF) | pair(0xFF)<<16, nil // Data0, Data1
	}
	return pair(0xFF) | pair(0xFF)<<16, nil // WRP0..3
}
