package stm32rdp

import (
	"fmt"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
	"github.com/stprobe/stprobe/targets/flashreg"
)

// The STM32F1 flash program/erase controller (FPEC): PM0075 (STM32F10xxx
// Flash memory microcontrollers programming manual) §2.3-§2.5 and §3;
// RM0008 §3.3.3; ST's CMSIS stm32f103xb.h FLASH_CR_*, FLASH_SR_*,
// FLASH_OBR_*; OpenOCD 0.12 src/flash/nor/stm32f1x.c for the sequences a
// debugger uses (stm32x_erase, stm32x_write, stm32x_erase_options,
// stm32x_write_options, stm32x_mass_erase).
//
// The registers and bits are in targets/flashreg with their sources.

// f1CRWrite are the FLASH_CR bits a write keeps: PG, PER, MER, OPTPG,
// OPTER, ERRIE (b10) and EOPIE (b12) (PM0075 §3.3 FLASH_CR).
const f1CRWrite = flashreg.F1CRPG | flashreg.F1CRPER | flashreg.F1CRMER | flashreg.F1CROPTPG | flashreg.F1CROPTER | 1<<10 | 1<<12

// f1Init programs the factory option bytes (RDP from the configuration,
// everything else erased: USER 0xFF, Data 0xFF, no write protection) and
// loads them.
func (m *Model) f1Init() {
	for i := 0; i < 8; i++ {
		b := byte(0xFF)
		if i == 0 {
			b = m.cfg.RDP
		}
		m.fc.f1ob[2*i], m.fc.f1ob[2*i+1] = b, ^b
	}
	m.fc.cr = flashreg.F1CRLock
	m.f1Load()
}

// f1Load loads the option bytes into FLASH_OBR and FLASH_WRPR, as every
// reset does (PM0075 §2.5: "the option bytes are loaded ... after a
// reset"). A byte whose complement does not match sets OPTERR and loads as
// 0xFF (PM0075 §2.5, FLASH_OBR OPTERR). The RDP byte 0xA5 is level 0,
// anything else level 1 (RM0008 §2.5).
func (m *Model) f1Load() {
	c := &m.fc
	var b [8]byte
	var obr uint32
	for i := range b {
		v, comp := c.f1ob[2*i], c.f1ob[2*i+1]
		if v^comp != 0xFF {
			obr |= flashreg.F1OBROptErr
			v = 0xFF
		}
		b[i] = v
	}
	c.level = targets.RDPLevel0
	if b[0] != targets.F1RDPKey {
		c.level = targets.RDPLevel1
		obr |= flashreg.F1OBRRDPRT
	}
	obr |= uint32(b[1])<<2 | uint32(b[2])<<10 | uint32(b[3])<<18
	c.regs = map[uint32]uint32{flashreg.F1OBR: obr, flashreg.F1WRPR: uint32(b[4]) | uint32(b[5])<<8 | uint32(b[6])<<16 | uint32(b[7])<<24}
}

// f1ReadReg reads the FPEC's register at off: FLASH_CR also shows OPTWRE,
// FLASH_AR the last page address written.
func (m *Model) f1ReadReg(off uint32) uint32 {
	c := &m.fc
	switch {
	case off == flashreg.F1CR && !c.opt.locked:
		return c.readReg(off) | flashreg.F1CROPTWRE
	case off == flashreg.F1AR:
		return c.ar
	}
	return c.readReg(off)
}

// f1WriteReg takes a write to FLASH_AR or FLASH_CR (flashCtl.writeKeyOrStatus
// took the keys and FLASH_SR).
func (m *Model) f1WriteReg(off, v uint32) error {
	c := &m.fc
	switch off {
	case flashreg.F1AR:
		if !c.key.locked {
			c.ar = v
		}
	case flashreg.F1CR:
		m.f1WriteCR(v)
	}
	return nil
}

// f1WriteCR handles FLASH_CR: ignored while the FPEC is locked; LOCK locks
// it; OPTWRE is cleared by writing 0 and set only by the keys; STRT starts
// a page erase (PER, address in AR), a mass erase (MER) or an option-byte
// erase (OPTER, with OPTWRE) (PM0075 §2.3.4-2.3.5, §2.4).
func (m *Model) f1WriteCR(v uint32) {
	c := &m.fc
	if c.key.locked {
		return
	}
	c.cr = v & f1CRWrite
	if v&flashreg.F1CROPTWRE == 0 {
		c.opt.locked = true
	}
	if v&flashreg.F1CRLock != 0 {
		c.key.locked, c.opt.locked = true, true
		c.cr = 0
		return
	}
	if v&flashreg.F1CRSTRT == 0 {
		return
	}
	switch {
	case v&flashreg.F1CRMER != 0:
		// Mass erase is allowed at RDP level 1 too: it is the way out
		// (PM0075 §2.4.1).
		c.massErase()
	case v&flashreg.F1CRPER != 0:
		off := c.ar - targets.FlashMemBase
		if c.ar < targets.FlashMemBase || off >= uint32(len(c.mem)) {
			c.sr |= flashreg.F1SRPGErr // chosen: an address outside flash erases nothing
			return
		}
		if c.level >= targets.RDPLevel1 || m.f1WriteProtected(off) {
			c.sr |= flashreg.F1SRWRPRTErr
			return
		}
		ps := flashreg.F1PageSize(m.cfg.DevID)
		c.eraseRange(off&^(ps-1), ps)
	case v&flashreg.F1CROPTER != 0:
		if c.opt.locked {
			return
		}
		for i := range c.f1ob {
			c.f1ob[i] = 0xFF
		}
	default:
		return
	}
	c.sr |= flashreg.F1SREOP
}

// f1WriteProtected reports whether the page holding off is write
// protected: a WRPR bit at 0 protects 4 KiB (bit 31 the rest of flash)
// (PM0075 §2.4.2; RM0008 §3.3.3 FLASH_WRPR).
func (m *Model) f1WriteProtected(off uint32) bool {
	bit := min(off/flashreg.F1WRPBlock, 31)
	return m.fc.regs[flashreg.F1WRPR]>>bit&1 == 0
}

// f1Program is a write to main flash. Only half-words program, and only
// with PG set on an unlocked FPEC; a location not erased raises PGERR
// unless the value is 0x0000; a protected page raises WRPRTERR (PM0075
// §2.3.3). A write of another width is a bus error (PM0075 §2.3.3: "Any
// attempt to write data that are not half-word long will result in a bus
// error"). Without PG the write is ignored (chosen: PM0075 names no flag
// for it).
func (m *Model) f1Program(off uint32, size chipsim.Size, v uint32) error {
	c := &m.fc
	if c.key.locked || c.cr&flashreg.F1CRPG == 0 {
		return nil
	}
	if size != chipsim.Halfword {
		return fmt.Errorf("F1 flash programs half-words only (a %d-byte write at 0x%08X): %w", size, targets.FlashMemBase+off, chipsim.ErrBusFault)
	}
	if c.level >= targets.RDPLevel1 || m.f1WriteProtected(off) {
		c.sr |= flashreg.F1SRWRPRTErr
		return nil
	}
	if !c.erased(off, 2) && v&0xFFFF != 0 {
		c.sr |= flashreg.F1SRPGErr
		return nil
	}
	c.store(off, size, v)
	c.sr |= flashreg.F1SREOP
	return nil
}

// f1OptionRegion is the F1's option-byte block at 0x1FFFF800: each byte
// followed by its complement (RDP, USER, Data0, Data1, WRP0..3; RM0008
// §2.5, PM0075 §2.5). A half-word written there with OPTPG and OPTWRE set
// programs the byte; the FPEC computes the complement itself (PM0075
// §2.4.3). Programming RDP to 0xA5 while level 1 is in force first
// mass-erases the main flash (PM0075 §2.4.1, "Unprotection").
type f1OptionRegion struct{ m *Model }

func (r f1OptionRegion) Contains(addr uint32) bool {
	return addr >= F1OptionBytes && addr-F1OptionBytes < 16
}

func (r f1OptionRegion) Read(addr uint32, size chipsim.Size, _ uint32) (uint32, error) {
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	off := addr - F1OptionBytes
	var v uint32
	for i := uint32(0); i < uint32(size); i++ {
		v |= uint32(r.m.fc.f1ob[off+i]) << (8 * i)
	}
	return v, nil
}

func (r f1OptionRegion) Write(addr uint32, size chipsim.Size, v, _ uint32) error {
	m := r.m
	m.mu.Lock()
	defer m.mu.Unlock()
	c := &m.fc
	if c.key.locked || c.opt.locked || c.cr&flashreg.F1CROPTPG == 0 {
		return nil
	}
	if size != chipsim.Halfword {
		return fmt.Errorf("F1 option bytes program half-words only: %w", chipsim.ErrBusFault)
	}
	off := addr - F1OptionBytes
	if c.f1ob[off] != 0xFF || c.f1ob[off+1] != 0xFF {
		c.sr |= flashreg.F1SRPGErr
		return nil
	}
	b := byte(v)
	if off == 0 && b == targets.F1RDPKey && c.level >= targets.RDPLevel1 {
		c.massErase()
	}
	c.f1ob[off], c.f1ob[off+1] = b, ^b
	c.sr |= flashreg.F1SREOP
	return nil
}
