// Package flashimagetest builds firmware files for tests: small 32-bit ARM
// ELF executables with the program headers a linker writes.
package flashimagetest

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
)

// Prog is one program header of the ELF BuildELF writes.
type Prog struct {
	Type         elf.ProgType // 0 means PT_LOAD
	VAddr, PAddr uint32
	Data         []byte // the file bytes (p_filesz)
	MemSize      uint32 // p_memsz; 0 means len(Data)
}

// BuildELF writes a little-endian 32-bit ARM executable with entry point
// entry and the program headers progs, their data after the headers.
func BuildELF(entry uint32, progs ...Prog) []byte {
	const ehSize, phSize = 52, 32
	var b bytes.Buffer
	le := binary.LittleEndian
	h := elf.Header32{
		Type: uint16(elf.ET_EXEC), Machine: uint16(elf.EM_ARM), Version: uint32(elf.EV_CURRENT),
		Entry: entry, Phoff: ehSize, Ehsize: ehSize, Phentsize: phSize, Phnum: uint16(len(progs)),
		Shentsize: 40,
	}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS32)
	h.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	_ = binary.Write(&b, le, h)
	off := uint32(ehSize + phSize*len(progs))
	for _, p := range progs {
		typ := p.Type
		if typ == 0 {
			typ = elf.PT_LOAD
		}
		mem := p.MemSize
		if mem == 0 {
			mem = uint32(len(p.Data))
		}
		_ = binary.Write(&b, le, elf.Prog32{
			Type: uint32(typ), Off: off, Vaddr: p.VAddr, Paddr: p.PAddr,
			Filesz: uint32(len(p.Data)), Memsz: mem, Flags: uint32(elf.PF_R | elf.PF_X), Align: 4,
		})
		off += uint32(len(p.Data))
	}
	for _, p := range progs {
		b.Write(p.Data)
	}
	return b.Bytes()
}
