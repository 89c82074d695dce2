package flashimage

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"fmt"
	"io"
)

// ParseELF loads the PT_LOAD program headers of an ELF file: each one's
// file bytes (p_filesz) go to its physical address (p_paddr, the load
// address — for initialised data that is its copy in flash, not its place
// in RAM). The part of a segment beyond p_filesz (.bss) is zeroed at run
// time by the program and never programmed. Segments that overlap are
// refused.
//
// debug/elf says it is not hardened against adversarial input; a panic in
// it is turned into an error here, and the fuzz seeds run it.
func ParseELF(data []byte) (im *Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			im, err = nil, fmt.Errorf("ELF: malformed file (the decoder failed: %v)", r)
		}
	}()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("ELF: %w", err)
	}
	im = &Image{Format: FormatELF, SHA256: sha256.Sum256(data)}
	if f.Entry <= 0xFFFFFFFF {
		im.Entry, im.HasEntry = uint32(f.Entry), true
	}
	var (
		segs  []Segment
		which []int
		total uint64
	)
	for i, p := range f.Progs {
		if p.Type != elf.PT_LOAD || p.Filesz == 0 {
			continue
		}
		if p.Paddr+p.Filesz > 1<<32 {
			return nil, fmt.Errorf("ELF: program header %d: %d bytes at physical address 0x%X do not fit a 32-bit address space", i, p.Filesz, p.Paddr)
		}
		if p.Off+p.Filesz > uint64(len(data)) || p.Off+p.Filesz < p.Off {
			return nil, fmt.Errorf("ELF: program header %d: its %d bytes at file offset 0x%X run past the end of the file (%d bytes): the file is cut short", i, p.Filesz, p.Off, len(data))
		}
		total += p.Filesz
		if total > MaxImage {
			return nil, fmt.Errorf("ELF: the loadable segments hold more than the %d MiB an image may hold", MaxImage>>20)
		}
		b := make([]byte, p.Filesz)
		if _, err := io.ReadFull(p.Open(), b); err != nil {
			return nil, fmt.Errorf("ELF: program header %d: reading its %d bytes: %w", i, p.Filesz, err)
		}
		segs = append(segs, Segment{Addr: uint32(p.Paddr), Data: b})
		which = append(which, i)
	}
	out, err := normalize(segs, func(k int) string {
		return fmt.Sprintf("program header %d (0x%08X, %d bytes)", which[k], segs[k].Addr, len(segs[k].Data))
	})
	if err != nil {
		return nil, fmt.Errorf("ELF: %w", err)
	}
	im.Segments = out
	return im, nil
}
