package stm32rdp

import (
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// The STM32F4 flash interface: RM0090 §3.5-§3.7 and §3.9 (RM0383 §3 for
// the F411, the same interface); ST's CMSIS stm32f4xx headers FLASH_CR_*,
// FLASH_SR_*, FLASH_OPTCR_*; OpenOCD 0.12 src/flash/nor/stm32f2x.c for the
// sequences a debugger uses (stm32x_unlock_reg, stm32x_unlock_option_reg,
// stm32x_erase, stm32x_write, stm32x_write_options, stm32x_mass_erase).
const (
	f4KEYR    = 0x04
	f4OPTKEYR = 0x08
	f4SR      = 0x0C
	f4CR      = 0x10
	f4OPTCR   = 0x14
	f4OPTCR1  = 0x18

	f4CRPG    = 1 << 0
	f4CRSER   = 1 << 1
	f4CRMER   = 1 << 2
	f4CRMER1  = 1 << 15
	f4CRSTRT  = 1 << 16
	f4CRLock  = 1 << 31
	f4CRWrite = 0x0300_83FF | 3<<24 // PG…SNB, PSIZE, MER1, EOPIE, ERRIE

	f4SREOP    = 1 << 0
	f4SROPERR  = 1 << 1
	f4SRWRPERR = 1 << 4
	f4SRPGAERR = 1 << 5
	f4SRPGPERR = 1 << 6
	f4SRPGSERR = 1 << 7
	f4SRClear  = f4SREOP | f4SROPERR | f4SRWRPERR | f4SRPGAERR | f4SRPGPERR | f4SRPGSERR

	f4OPTLock  = 1 << 0
	f4OPTStart = 1 << 1
	f4SPRMOD   = 1 << 31
)

// f4Init programs the factory option bytes with the configured RDP and
// loads them.
func (m *Model) f4Init() {
	c := &m.fc
	c.stored = map[uint32]uint32{f4OPTCR: (f4OPTCRRest | uint32(m.cfg.RDP)<<8) &^ (f4OPTLock | f4OPTStart)}
	if m.f4DualBank() {
		c.stored[f4OPTCR1] = 0x0FFF0000 // nWRP of bank 2 all set
	}
	c.cr = f4CRLock
	m.f4Load()
}

// f4DualBank reports whether the line has a second bank (FLASH_OPTCR1;
// OpenOCD stm32f2x.c has_large_mem).
func (m *Model) f4DualBank() bool {
	return m.cfg.DevID == targets.DevIDF42x || m.cfg.DevID == targets.DevIDF469
}

// f4Load loads the option bytes into FLASH_OPTCR/OPTCR1 (with OPTLOCK
// set) and the RDP level into force, as a reset does (RM0090 §3.6.1).
func (m *Model) f4Load() {
	c := &m.fc
	c.regs = map[uint32]uint32{}
	for k, v := range c.stored {
		c.regs[k] = v
	}
	c.level = targets.LevelOfByte(uint8(c.stored[f4OPTCR]>>8), false, true)
}

func (m *Model) f4ReadReg(off uint32) uint32 {
	c := &m.fc
	switch off {
	case f4SR:
		return c.sr
	case f4CR:
		v := c.cr &^ f4CRLock
		if c.locked {
			v |= f4CRLock
		}
		return v
	case f4OPTCR:
		v := c.regs[f4OPTCR]
		if c.optLocked {
			v |= f4OPTLock
		}
		return v
	case f4OPTCR1:
		return c.regs[f4OPTCR1]
	}
	return 0
}

func (m *Model) f4WriteReg(off, v uint32) error {
	c := &m.fc
	switch off {
	case f4KEYR:
		// A key written while unlocked is a wrong sequence: the register
		// locks until the next reset (RM0090 §3.5.1; OpenOCD's
		// stm32x_unlock_reg checks LOCK first "otherwise writing on
		// STM32_FLASH_KEYR will fail").
		ok, fault := key(&c.keyStage, &c.keyBad, c.locked, true, v, Key1, Key2)
		if ok {
			c.locked = false
		}
		if fault {
			c.locked = true
			return errKeySequence("FLASH_KEYR")
		}
	case f4OPTKEYR:
		ok, fault := key(&c.optKeyStage, &c.optKeyBad, c.optLocked, true, v, OptKey1, OptKey2)
		if ok {
			c.optLocked = false
		}
		if fault {
			c.optLocked = true
			return errKeySequence("FLASH_OPTKEYR")
		}
	case f4SR:
		c.sr &^= v & f4SRClear
	case f4CR:
		m.f4WriteCR(v)
	case f4OPTCR:
		m.f4WriteOPTCR(v)
	case f4OPTCR1:
		if !c.optLocked && m.f4DualBank() {
			c.regs[f4OPTCR1] = v & 0x0FFF0000
		}
	}
	return nil
}

// f4WriteCR handles FLASH_CR: ignored while locked; STRT with SER erases
// sector SNB, with MER (MER1) the bank(s) (RM0090 §3.6.3-3.6.4).
func (m *Model) f4WriteCR(v uint32) {
	c := &m.fc
	if c.locked {
		return
	}
	if v&f4CRLock != 0 {
		c.locked, c.cr = true, 0
		return
	}
	c.cr = v & f4CRWrite
	if v&f4CRSTRT == 0 {
		return
	}
	// At RDP level 1 the debugger may not erase main flash (RM0090
	// §3.7.3, Table 12 "Access versus read protection level"); the way
	// out is the RDP regression. Chosen: the refusal raises WRPERR.
	switch {
	case v&f4CRSER != 0:
		snb := v >> 3 & 0x1F
		off, size, ok := m.f4Sector(snb)
		if !ok {
			c.sr |= f4SRPGSERR // chosen: a sector that does not exist
			return
		}
		if c.level >= targets.RDPLevel1 || m.f4SectorProtected(snb) {
			c.sr |= f4SRWRPERR
			return
		}
		c.eraseRange(off, size)
	case v&(f4CRMER|f4CRMER1) != 0:
		if c.level >= targets.RDPLevel1 {
			c.sr |= f4SRWRPERR
			return
		}
		c.massErase()
	default:
		c.sr |= f4SRPGSERR
		return
	}
	c.sr |= f4SREOP
}

// f4Sector is sector snb of the flash: 4 × 16 KiB, 64 KiB, then 128 KiB
// sectors (RM0090 §3.3 Table 5, RM0383 §3.3 Table 4; OpenOCD stm32f2x.c
// sector_size_in_kb); on dual-bank lines SNB bit 4 selects bank 2, laid
// out the same from half the flash (RM0090 Table 6; OpenOCD: snb | 0x10).
func (m *Model) f4Sector(snb uint32) (off, size uint32, ok bool) {
	total := uint32(len(m.fc.mem))
	bank := total
	if m.f4DualBank() && total >= 2<<20 {
		bank = total / 2
	}
	base := uint32(0)
	if snb&0x10 != 0 {
		if bank == total {
			return 0, 0, false
		}
		base, snb = bank, snb&0xF
	}
	for i := uint32(0); i <= snb; i++ {
		size = 128 << 10
		switch {
		case i < 4:
			size = 16 << 10
		case i == 4:
			size = 64 << 10
		}
		if i == snb {
			break
		}
		off += size
	}
	if off >= bank {
		return 0, 0, false
	}
	if off+size > bank {
		size = bank - off
	}
	return base + off, size, true
}

// f4SectorProtected reports whether nWRP protects sector snb (bit 0 =
// protected, unless SPRMOD selects PCROP; RM0090 §3.7.4).
func (m *Model) f4SectorProtected(snb uint32) bool {
	c := &m.fc
	optcr := c.regs[f4OPTCR]
	if optcr&f4SPRMOD != 0 {
		return false
	}
	if snb&0x10 != 0 {
		return c.regs[f4OPTCR1]>>(16+snb&0xF)&1 == 0
	}
	return optcr>>(16+snb)&1 == 0
}

// f4SectorOf is the sector number holding off.
func (m *Model) f4SectorOf(off uint32) uint32 {
	for snb := uint32(0); snb < 0x20; snb++ {
		o, s, ok := m.f4Sector(snb)
		if ok && off >= o && off < o+s {
			return snb
		}
	}
	return 0
}

// f4Program is a write to main flash: with PG set on an unlocked
// interface, an access of the width PSIZE selects (RM0090 §3.6.2 and
// FLASH_CR PSIZE: x8, x16, x32; PGPERR when they differ); PGSERR without
// PG (RM0090 §3.9.4 FLASH_SR PGSERR); WRPERR on a protected sector or at
// RDP level 1. Flash cells only go from 1 to 0: programming a location not
// erased ANDs the value in (RM0090 names no flag for it).
func (m *Model) f4Program(off uint32, size chipsim.Size, v uint32) error {
	c := &m.fc
	if c.locked || c.cr&f4CRPG == 0 {
		c.sr |= f4SRPGSERR
		return nil
	}
	psize := chipsim.Size(1 << (c.cr >> 8 & 3))
	if psize == 8 {
		psize = chipsim.Word // x64 needs VPP: a word access is what arrives
	}
	if size != psize {
		c.sr |= f4SRPGPERR
		return nil
	}
	if c.level >= targets.RDPLevel1 || m.f4SectorProtected(m.f4SectorOf(off)) {
		c.sr |= f4SRWRPERR
		return nil
	}
	c.store(off, size, v)
	c.sr |= f4SREOP
	return nil
}

// f4WriteOPTCR handles FLASH_OPTCR: ignored while OPTLOCK is set; OPTLOCK
// written 1 locks it again; OPTSTRT programs the option bytes with the
// register's values. Going from RDP level 1 to level 0 mass-erases the
// flash first (RM0090 §3.6.1, §3.7.3). The new values come into force at
// the next reset (OpenOCD stm32f2x.c unlock: "a reset or power cycle is
// required for the new settings to take effect").
func (m *Model) f4WriteOPTCR(v uint32) {
	c := &m.fc
	if c.optLocked {
		return
	}
	c.regs[f4OPTCR] = v &^ (f4OPTLock | f4OPTStart)
	if v&f4OPTStart != 0 {
		newRDP := targets.LevelOfByte(uint8(v>>8), false, true)
		if c.level == targets.RDPLevel1 && newRDP == targets.RDPLevel0 {
			c.massErase()
		}
		c.stored[f4OPTCR] = c.regs[f4OPTCR]
		if m.f4DualBank() {
			c.stored[f4OPTCR1] = c.regs[f4OPTCR1]
		}
		c.sr |= f4SREOP
	}
	if v&f4OPTLock != 0 {
		c.optLocked = true
	}
}
