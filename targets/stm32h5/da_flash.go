package stm32h5

import (
	"github.com/stprobe/stprobe/targets"
)

// The user flash content a regression erases: a board built beyond OPEN
// carries a user program (m.flash, served by readFlashMemory), which
// eraseFlashLocked removes and FlashErased looks for.

// loadUserProgram puts the modelled user program into the flash of a board
// built beyond OPEN.
func (m *Model) loadUserProgram() {
	if m.cfg.ProductState == targets.StateOpen {
		return
	}
	for off, w := range userProgram(m.cfg.UID, m.flashBytes()) {
		m.flash[off] = w
	}
}

// eraseFlashLocked erases the user flash in [from, to) (offsets).
func (m *Model) eraseFlashLocked(from, to uint32) {
	for off := range m.flash {
		if off >= from && off < to {
			delete(m.flash, off)
		}
	}
}

// flashBytes is the user flash size.
func (m *Model) flashBytes() uint32 { return uint32(m.flashKB) * 1024 }

// FlashErased reports whether the whole user flash reads erased.
func (m *Model) FlashErased() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.flash) == 0
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
