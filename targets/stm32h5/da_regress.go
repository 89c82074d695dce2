package stm32h5

import (
	"time"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
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

// daTickLocked lets the ROM work as modelled time passes: the DA agent,
// the OBK provisioning service and a regression in progress. It reports
// whether the chip must now reset (a regression is over).
func (m *Model) daTickLocked() bool {
	m.daStepLocked()
	m.obkServiceLocked()
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
		m.da.keep.flash.erase(m.flashBytes()/2, m.flashBytes())
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
		m.obkDA = nil
		m.cfg.DA = DANone
	}
	m.da.keep.flash.erase(0, m.flashBytes())
	m.daOpened = false
	_ = m.sram.Load(0x20000000, make([]byte, sramSize(m.line.DevID)))
}

// Regressing reports whether a regression is in progress.
func (m *Model) Regressing() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.da.keep.pending != nil
}

// ---- user flash ----

// userFlash is the user flash content as sparse programmed words; the rest
// reads erased (0xFF).
type userFlash struct {
	init  bool
	words map[uint32]uint32
}

// erase erases [from, to).
func (f *userFlash) erase(from, to uint32) {
	f.init = true
	for off := range f.words {
		if off >= from && off < to {
			delete(f.words, off)
		}
	}
}

// flashBytes is the user flash size.
func (m *Model) flashBytes() uint32 { return uint32(m.flashKB) * 1024 }

// readUserFlash serves user flash (non-secure 0x08000000 and secure alias
// 0x0C000000). A board built beyond OPEN carries a user program (chosen.go);
// a fresh OPEN board is erased.
func (m *Model) readUserFlash(off uint32, size chipsim.Size) (uint32, error) {
	f := &m.da.keep.flash
	if !f.init {
		f.init = true
		if m.cfg.ProductState != targets.StateOpen {
			f.words = userProgram(m.cfg.UID, m.flashBytes())
		}
	}
	w, ok := f.words[off&^3]
	if !ok {
		return erasedFlash(off, size)
	}
	return lanes(w, off, size), nil
}

// FlashErased reports whether the whole user flash reads erased.
func (m *Model) FlashErased() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.da.keep.flash.init {
		return m.cfg.ProductState == targets.StateOpen
	}
	return len(m.da.keep.flash.words) == 0
}

// userProgram is the modelled user program: a secure boot image at the
// start of flash and a non-secure application at its middle, each a vector
// table and a deterministic body of userProgramWords words.
func userProgram(uid [3]uint32, flashBytes uint32) map[uint32]uint32 {
	w := map[uint32]uint32{}
	for _, base := range []uint32{0, flashBytes / 2} {
		w[base] = 0x20008000                      // initial stack pointer
		w[base+4] = 0x08000000 + base + 0x200 | 1 // reset handler (Thumb)
		for i := uint32(2); i < userProgramWords; i++ {
			w[base+4*i] = uid[i%3] ^ (0x9E3779B9 * i) ^ base
		}
	}
	return w
}
