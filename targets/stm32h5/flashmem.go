package stm32h5

import "github.com/stprobe/stprobe/targets/chipsim"

// User flash bases: non-secure and (TrustZone lines) secure alias.
const (
	flashBase    = 0x08000000
	flashBaseSec = 0x0C000000
)

// readFlashMemory reads the user flash at offset off from either alias,
// SWAP_BANK applied: programmed words, or erased ones. The caller holds
// m.mu.
func (m *Model) readFlashMemory(off uint32, size chipsim.Size) (uint32, error) {
	w, ok := m.flash[m.physLocked(off)&^3]
	if !ok {
		return erasedFlash(off, size)
	}
	return lanes(w, off, size), nil
}
