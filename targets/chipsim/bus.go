package chipsim

import (
	"fmt"
	"sync"
)

// Region is one block of a simulated address space: memory, a register
// file, a peripheral.
type Region interface {
	// Contains reports whether addr falls inside the region.
	Contains(addr uint32) bool
	// Read returns size bytes at addr (naturally aligned) in the low bits.
	// csw is the MEM-AP CSW of the access (security, privilege).
	Read(addr uint32, size Size, csw uint32) (uint32, error)
	// Write stores the low size bytes of v at addr.
	Write(addr uint32, size Size, v, csw uint32) error
}

// Bus routes accesses to the first mapped region that contains the address;
// map specific regions before the wider ones they lie in. An address no
// region contains faults with ErrBusFault. A Bus is safe for concurrent use.
type Bus struct {
	mu      sync.Mutex
	regions []Region
}

// Map adds r behind the regions already mapped.
func (b *Bus) Map(r Region) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.regions = append(b.regions, r)
}

func (b *Bus) find(addr uint32) Region {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range b.regions {
		if r.Contains(addr) {
			return r
		}
	}
	return nil
}

// Read reads size bytes at addr through the region that holds it.
func (b *Bus) Read(addr uint32, size Size, csw uint32) (uint32, error) {
	if err := checkAccess(addr, size); err != nil {
		return 0, err
	}
	r := b.find(addr)
	if r == nil {
		return 0, fmt.Errorf("read of 0x%08X: nothing mapped there: %w", addr, ErrBusFault)
	}
	return r.Read(addr, size, csw)
}

// Write writes the low size bytes of v at addr through the region that holds it.
func (b *Bus) Write(addr uint32, size Size, v, csw uint32) error {
	if err := checkAccess(addr, size); err != nil {
		return err
	}
	r := b.find(addr)
	if r == nil {
		return fmt.Errorf("write of 0x%08X: nothing mapped there: %w", addr, ErrBusFault)
	}
	return r.Write(addr, size, v, csw)
}

func checkAccess(addr uint32, size Size) error {
	switch size {
	case Byte, Halfword, Word:
	default:
		return fmt.Errorf("access of %d bytes at 0x%08X: size must be 1, 2 or 4: %w", size, addr, ErrBusFault)
	}
	if addr%uint32(size) != 0 {
		return fmt.Errorf("access of %d bytes at 0x%08X is not aligned: %w", size, addr, ErrBusFault)
	}
	return nil
}

// sizeMask is the value mask of an access of size bytes.
func sizeMask(size Size) uint32 {
	if size >= Word {
		return 0xFFFFFFFF
	}
	return 1<<(8*uint(size)) - 1
}

// RAM is plain read/write memory. It is safe for concurrent use.
type RAM struct {
	base uint32
	mu   sync.Mutex
	data []byte
}

// NewRAM returns size bytes of zeroed memory at base.
func NewRAM(base, size uint32) *RAM {
	return &RAM{base: base, data: make([]byte, size)}
}

// Contains reports whether addr is inside the memory.
func (m *RAM) Contains(addr uint32) bool {
	return addr >= m.base && addr-m.base < uint32(len(m.data))
}

// Read returns size bytes at addr, little-endian.
func (m *RAM) Read(addr uint32, size Size, csw uint32) (uint32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	off := addr - m.base
	if int(off)+int(size) > len(m.data) {
		return 0, fmt.Errorf("read of 0x%08X runs past the end of RAM: %w", addr, ErrBusFault)
	}
	var v uint32
	for i := int(size) - 1; i >= 0; i-- {
		v = v<<8 | uint32(m.data[int(off)+i])
	}
	return v, nil
}

// Write stores the low size bytes of v at addr, little-endian.
func (m *RAM) Write(addr uint32, size Size, v, csw uint32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	off := addr - m.base
	if int(off)+int(size) > len(m.data) {
		return fmt.Errorf("write of 0x%08X runs past the end of RAM: %w", addr, ErrBusFault)
	}
	for i := 0; i < int(size); i++ {
		m.data[int(off)+i] = byte(v >> (8 * i))
	}
	return nil
}

// Bytes returns a copy of n bytes at addr (test helper); it returns nil
// when the range is not inside the memory.
func (m *RAM) Bytes(addr uint32, n int) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.Contains(addr) || int(addr-m.base)+n > len(m.data) {
		return nil
	}
	off := int(addr - m.base)
	return append([]byte(nil), m.data[off:off+n]...)
}

// Load copies b into the memory at addr (test and scenario helper).
func (m *RAM) Load(addr uint32, b []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.Contains(addr) || int(addr-m.base)+len(b) > len(m.data) {
		return fmt.Errorf("loading %d bytes at 0x%08X: outside RAM", len(b), addr)
	}
	copy(m.data[addr-m.base:], b)
	return nil
}

// Registers is a block of 32-bit registers at Base, Size bytes long. Byte and
// halfword reads return the addressed lanes of the word; narrow writes
// read-modify-write the word. A nil ReadFn reads as zero, a nil WriteFn
// ignores writes.
type Registers struct {
	Base, Size uint32
	ReadFn     func(off uint32) (uint32, error)
	WriteFn    func(off, v uint32) error
}

// Contains reports whether addr is inside the block.
func (r *Registers) Contains(addr uint32) bool {
	return addr >= r.Base && addr-r.Base < r.Size
}

func (r *Registers) readWord(off uint32) (uint32, error) {
	if r.ReadFn == nil {
		return 0, nil
	}
	return r.ReadFn(off)
}

// Read returns the addressed lanes of the register at addr.
func (r *Registers) Read(addr uint32, size Size, csw uint32) (uint32, error) {
	off := addr - r.Base
	w, err := r.readWord(off &^ 3)
	if err != nil {
		return 0, err
	}
	return (w >> (8 * (off & 3))) & sizeMask(size), nil
}

// Write writes the addressed lanes of the register at addr.
func (r *Registers) Write(addr uint32, size Size, v, csw uint32) error {
	if r.WriteFn == nil {
		return nil
	}
	off := addr - r.Base
	if size != Word {
		old, err := r.readWord(off &^ 3)
		if err != nil {
			return err
		}
		shift := 8 * (off & 3)
		mask := sizeMask(size) << shift
		v = old&^mask | (v<<shift)&mask
	}
	return r.WriteFn(off&^3, v)
}
