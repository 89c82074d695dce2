package stm32h5

import (
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// The user flash content a regression erases. This file is the one place
// that knows how the model stores user flash: readUserFlash serves the
// flash regions (model.go build), userProgramLocked loads the modelled
// program of a board built beyond OPEN (chosen.go), eraseFlashLocked erases
// a range, FlashErased tells a test whether anything is left.

// userFlash is the user flash content as sparse programmed words; the rest
// reads erased (0xFF).
type userFlash struct {
	init  bool
	words map[uint32]uint32
}

// userProgramLocked loads the modelled user program once, on a board built
// beyond OPEN.
func (m *Model) userProgramLocked() {
	f := &m.da.keep.flash
	if f.init {
		return
	}
	f.init = true
	if m.cfg.ProductState != targets.StateOpen {
		f.words = userProgram(m.cfg.UID, m.flashBytes())
	}
}

// eraseFlashLocked erases the user flash in [from, to) (offsets).
func (m *Model) eraseFlashLocked(from, to uint32) {
	m.userProgramLocked()
	for off := range m.da.keep.flash.words {
		if off >= from && off < to {
			delete(m.da.keep.flash.words, off)
		}
	}
}

// flashBytes is the user flash size.
func (m *Model) flashBytes() uint32 { return uint32(m.flashKB) * 1024 }

// readUserFlash serves user flash (non-secure 0x08000000 and secure alias
// 0x0C000000).
func (m *Model) readUserFlash(off uint32, size chipsim.Size) (uint32, error) {
	m.userProgramLocked()
	w, ok := m.da.keep.flash.words[off&^3]
	if !ok {
		return erasedFlash(off, size)
	}
	return lanes(w, off, size), nil
}

// FlashErased reports whether the whole user flash reads erased.
func (m *Model) FlashErased() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.userProgramLocked()
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
