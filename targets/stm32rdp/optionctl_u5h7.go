package stm32rdp

import (
	"sync/atomic"

	"github.com/stprobe/stprobe/targets"
)

// The option-byte programming of the STM32U5 (optionctl_u5.go) and the
// STM32H7 (optionctl_h7.go): what both share. The option bytes in force
// (the RDP byte and, on the U5, TZEN) are kept in atomics so that the
// secure-alias checks, the core's authentication callbacks and the flash
// region read them without the model's mutex.

// u5h7Options is the option-byte interface of a U5 or an H7. It is guarded
// by the model's mutex.
type u5h7Options struct {
	// regs are the option registers as read, by offset from the flash
	// register block (the U5's FLASH_OPTR … WRP2BR; the H7's _CUR and
	// _PRG words); stored is the U5's non-volatile copy, loaded into regs
	// at OBL_LAUNCH and power-on (the H7 copies _PRG into _CUR at OPTSTART).
	regs, stored map[uint32]uint32

	key keyLock // U5 NSCR.LOCK (the H7's option interface needs no flash key)
	opt keyLock // U5 NSCR.OPTLOCK, H7 OPTCR.OPTLOCK

	cr, sr uint32 // U5 NSCR (less the lock bits), NSSR flags; H7 OPTCR bits and OPTCHANGEERR

	// changes counts the option programmings that completed (OPTSTRT,
	// OPTSTART), refused the ones the chip refused.
	changes, refused int
}

// loaded are the option bytes in force on a U5 or an H7.
type loaded struct {
	rdp  atomic.Uint32 // the RDP byte
	tzen atomic.Bool   // the U5's TZEN
}

// initOptions sets up the U5's or H7's option interface from the
// configuration (u5OptionRegs, h7OptionRegs in u5h7.go).
func (m *Model) initOptions() {
	m.in.rdp.Store(uint32(m.cfg.RDP))
	m.in.tzen.Store(m.cfg.TZEN)
	switch m.cfg.Family.Name {
	case "STM32U5":
		m.ob.stored = m.u5OptionRegs()
		delete(m.ob.stored, targets.U5FlashNSCR)
		m.ob.regs = map[uint32]uint32{}
		for k, v := range m.ob.stored {
			m.ob.regs[k] = v
		}
	case "STM32H7":
		m.ob.regs = m.h7OptionRegs()
		delete(m.ob.regs, targets.H7FlashOPTCR)
		for _, cur := range h7OptionPairs {
			m.ob.regs[cur+h7PrgOffset] = m.ob.regs[cur]
		}
	}
	m.resetOptions()
}

// resetOptions is what a system reset does to the option interface: both
// locks set, key sequences forgotten, control bits cleared. It does not
// load the option bytes (U5: only OBL_LAUNCH and power-on do, RM0456
// §7.4.2 "Option bytes loading"; H7: _CUR already holds them); on the H7
// the _PRG registers read the option bytes again, values written there
// without OPTSTART are lost (RM0433 §4.9: the _PRG registers' reset
// values are the option bytes).
func (m *Model) resetOptions() {
	o := &m.ob
	o.key.reset()
	o.opt.reset()
	o.cr, o.sr = 0, 0
	if m.cfg.Family.Name == "STM32H7" && o.regs != nil {
		for _, c := range h7OptionPairs {
			o.regs[c+h7PrgOffset] = o.regs[c]
		}
		o.regs[h7OPTSR+h7PrgOffset] &^= 1 | h7OPTChangeErr // status bits of OPTSR_CUR only
	}
}

// u5h7Level is the RDP level the option bytes in force select.
func (m *Model) u5h7Level() targets.RDPLevel {
	s := m.cfg.Family.RDP
	rdp := uint8(m.in.rdp.Load())
	if s.Level05 && rdp == targets.RDPByteLevel05 && !m.in.tzen.Load() {
		return targets.RDPLevel1 // 0x55 is level 0.5 only with TrustZone on (RM0456 §7.6.2)
	}
	return targets.LevelOfByte(rdp, s.Level05, s.Level2)
}

// OptionChanges counts the option-byte programmings the U5's or H7's
// interface completed and the ones it refused (OPTWERR, OPTCHANGEERR).
func (m *Model) OptionChanges() (done, refused int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ob.changes, m.ob.refused
}
