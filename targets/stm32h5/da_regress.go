package stm32h5

import (
	"time"

	"github.com/stprobe/stprobe/targets"
)

// Regression (security reference §1.3, §7): the ROM erases what the
// permission says, rewrites the option bytes and resets the chip, which
// drops the debug link. A full regression erases all user flash, SRAM and
// the OBK DA record and comes back OPEN with TZEN 0xC3; a regression to
// TZ_CLOSED erases the non-secure side only and keeps the DA record.

// daPending is a regression in progress.
type daPending struct {
	perm uint32
	at   time.Duration // when the erase is over and the chip resets
}

// daTickLocked lets the ROM work as modelled time passes: the DA agent
// and a regression in progress. It reports whether the chip must now reset
// (a regression is over).
func (m *Model) daTickLocked() bool {
	m.daStepLocked()
	p := m.da.keep.pending
	if p == nil || m.now < p.at {
		return false
	}
	m.da.keep.pending = nil
	m.regressLocked(p.perm)
	return true
}

// regressLocked applies a regression's erase and option bytes.
func (m *Model) regressLocked(perm uint32) {
	if perm == PermTZRegression {
		m.cur["OPTSR"] = m.cur["OPTSR"]&^0xFF00 | uint32(targets.StateTZClosed)<<8
		m.eraseFlashLocked(m.flashBytes()/2, m.flashBytes())
		return
	}
	tz := targets.TZENAbsent
	if m.line.TrustZone {
		tz = targets.TZENDisabled
	}
	otpLocks := m.cur["OTPBLR"] // OTP locks are for ever
	m.cur = factoryOptions(m.line, targets.StateOpen, tz)
	m.cur["OTPBLR"] = otpLocks
	if m.line.OBK {
		m.obkDA, m.obkOther = nil, nil
		m.cfg.DA = DANone
	}
	m.eraseFlashLocked(0, m.flashBytes())
	m.daOpened = false
	zero := make([]byte, 4096)
	for a := uint32(0x20000000); ; a += uint32(len(zero)) {
		if m.sram.Load(a, zero) != nil {
			break // past the end of SRAM
		}
	}
}

// Regressing reports whether a regression is in progress.
func (m *Model) Regressing() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.da.keep.pending != nil
}
