package stm32rdp

import (
	"github.com/stprobe/stprobe/targets"
)

// The STM32H7's option-byte programming, driven by the host: RM0433 §4.4
// (option bytes: modification sequence, read-out protection and its
// regression) and §4.9 (FLASH_OPTKEYR, FLASH_OPTCR, FLASH_OPTSR_CUR and
// _PRG, FLASH_OPTCCR, the PRAR/SCAR/WPSN/BOOT _CUR and _PRG pairs); ST's
// CMSIS stm32h743xx.h (FLASH_OPTCR_OPTLOCK, FLASH_OPTCR_OPTSTART,
// FLASH_OPTSR_OPT_BUSY, FLASH_OPTSR_OPTCHANGEERR,
// FLASH_OPTCCR_CLR_OPTCHANGEERR); OpenOCD 0.12 src/flash/nor/stm32h7x.c
// (stm32x_unlock_option_reg, stm32x_write_option, stm32x_set_rdp: the
// sequence below, with OPT_BUSY polled in OPTSR_CUR and OPTCHANGEERR
// checked after it).
//
// The sequence: OPTKEYR ← OPTKEY1, OPTKEY2 clears OPTCR.OPTLOCK (no flash
// key is needed for it); the _PRG registers take new values; OPTCR.OPTSTART
// programs them and the _CUR registers take them when OPT_BUSY clears
// (never seen set here: timing is not modelled); OPTCR.OPTLOCK locks again.
// The read-out protection level changes with _CUR: a regression from
// level 1 to 0 first mass-erases both banks (the PCROP and secure areas a
// DMEP/DMES bit keeps are not modelled: the model has none). A change at
// level 2 is refused with OPTCHANGEERR (RM0433 §4.5.3: level 2 freezes the
// option bytes).
const (
	h7OPTKEYR = targets.H7FlashOPTKEYR
	h7OPTCR   = targets.H7FlashOPTCR
	h7OPTSR   = targets.H7FlashOPTSRCur
	h7OPTCCR  = 0x24
	// h7PrgOffset is the distance from a _CUR register to its _PRG twin
	// (stm32h743xx.h: OPTSR_CUR 0x1C, OPTSR_PRG 0x20; PRAR_CUR1 0x28,
	// PRAR_PRG1 0x2C; …).
	h7PrgOffset = 4

	h7OPTLock  = 1 << 0
	h7OPTStart = 1 << 1
	// h7OPTChangeErr is OPTSR_CUR.OPTCHANGEERR and OPTCCR.CLR_OPTCHANGEERR.
	h7OPTChangeErr = 1 << 30
)

// h7OptionPairs are the _CUR registers that have a _PRG twin.
var h7OptionPairs = []uint32{
	targets.H7FlashOPTSRCur, targets.H7FlashPRAR1, targets.H7FlashSCAR1, targets.H7FlashWPSN1, targets.H7FlashBOOTCur,
	targets.H7FlashPRAR2, targets.H7FlashSCAR2, targets.H7FlashWPSN2,
}

// h7IsPrg reports whether off is a _PRG register.
func h7IsPrg(off uint32) bool {
	for _, c := range h7OptionPairs {
		if off == c+h7PrgOffset {
			return true
		}
	}
	return false
}

// h7OptRead reads an option register of the H7. The caller holds m.mu.
func (m *Model) h7OptRead(off uint32) uint32 {
	o := &m.ob
	switch off {
	case h7OPTCR:
		return o.cr | o.opt.bit(h7OPTLock)
	case h7OPTSR:
		return o.regs[off]&^h7OPTChangeErr | o.sr&h7OPTChangeErr
	case h7OPTKEYR, h7OPTCCR:
		return 0 // write-only
	}
	return o.regs[off]
}

// h7OptWrite writes an option register of the H7. The caller holds m.mu.
func (m *Model) h7OptWrite(off, v uint32) error {
	o := &m.ob
	switch off {
	case h7OPTKEYR:
		if o.opt.write(v, targets.OptKey1, targets.OptKey2, true) {
			return errKeySequence("FLASH_OPTKEYR")
		}
	case h7OPTCCR:
		o.sr &^= v & h7OPTChangeErr
	case h7OPTCR:
		if o.opt.locked {
			return nil // OPTCR is write-protected while OPTLOCK is set
		}
		if v&h7OPTLock != 0 {
			o.opt.locked = true
		}
		o.cr = v &^ (h7OPTLock | h7OPTStart)
		if v&h7OPTStart != 0 && !o.opt.locked {
			m.h7OptionStart()
		}
	default:
		if h7IsPrg(off) && !o.opt.locked {
			if off == h7OPTSR+h7PrgOffset {
				v &^= 1 | h7OPTChangeErr // OPT_BUSY and OPTCHANGEERR exist in _CUR only
			}
			o.regs[off] = v
		}
	}
	return nil
}

// h7OptionStart programs the _PRG values (OPTSTART), or refuses them with
// OPTCHANGEERR.
func (m *Model) h7OptionStart() {
	o := &m.ob
	from := m.u5h7Level()
	to := targets.LevelOfByte(uint8(o.regs[h7OPTSR+h7PrgOffset]>>8), false, true)
	if from == targets.RDPLevel2 {
		o.sr |= h7OPTChangeErr
		o.refused++
		return
	}
	if from == targets.RDPLevel1 && to == targets.RDPLevel0 {
		m.fc.massErase() // both banks (RM0433 §4.5.3, level 1 to level 0)
	}
	for _, c := range h7OptionPairs {
		o.regs[c] = o.regs[c+h7PrgOffset]
	}
	m.in.rdp.Store(o.regs[h7OPTSR] >> 8 & 0xFF)
	o.changes++
}
