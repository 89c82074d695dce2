package stm32rdp

import (
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
	"github.com/stprobe/stprobe/targets/flashreg"
)

// The STM32F4 flash interface: RM0090 §3.5-§3.7 and §3.9 (RM0383 §3 for
// the F411, the same interface); ST's CMSIS stm32f4xx headers FLASH_CR_*,
// FLASH_SR_*, FLASH_OPTCR_*; OpenOCD 0.12 src/flash/nor/stm32f2x.c for the
// sequences a debugger uses (stm32x_unlock_reg, stm32x_unlock_option_reg,
// stm32x_erase, stm32x_write, stm32x_write_options, stm32x_mass_erase).
// The registers and bits are in targets/flashreg with their sources.

// f4CRWrite are the FLASH_CR bits a write keeps: PG, SER, MER, SNB, PSIZE,
// MER1, EOPIE, ERRIE (RM0090 §3.9.5 FLASH_CR).
const f4CRWrite = 0x0300_83FF | 3<<24

// f4Init programs the factory option bytes with the configured RDP and
// loads them.
func (m *Model) f4Init() {
	c := &m.fc
	c.stored = map[uint32]uint32{flashreg.F4OPTCR: (f4OPTCRRest | uint32(m.cfg.RDP)<<8) &^ (flashreg.F4OPTCRLock | flashreg.F4OPTCRStart)}
	if flashreg.F4DualBankLine(m.cfg.DevID) {
		c.stored[flashreg.F4OPTCR1] = 0x0FFF0000 // nWRP of bank 2 all set
	}
	c.cr = flashreg.F4CRLock
	m.f4Load()
}

// f4Load loads the option bytes into FLASH_OPTCR/OPTCR1 (with OPTLOCK
// set) and the RDP level into force, as a reset does (RM0090 §3.6.1).
func (m *Model) f4Load() { m.fc.load(flashreg.F4OPTCR, 8) }

// f4ReadReg reads the F4 interface's register at off: FLASH_OPTCR also
// shows OPTLOCK.
func (m *Model) f4ReadReg(off uint32) uint32 {
	c := &m.fc
	if off == flashreg.F4OPTCR {
		return c.regs[off] | c.opt.bit(flashreg.F4OPTCRLock)
	}
	return c.readReg(off)
}

// f4WriteReg takes a write to FLASH_CR or the option registers
// (flashCtl.writeKeyOrStatus took the keys and FLASH_SR).
func (m *Model) f4WriteReg(off, v uint32) error {
	c := &m.fc
	switch off {
	case flashreg.F4CR:
		m.f4WriteCR(v)
	case flashreg.F4OPTCR:
		m.f4WriteOPTCR(v)
	case flashreg.F4OPTCR1:
		if !c.opt.locked && flashreg.F4DualBankLine(m.cfg.DevID) {
			c.regs[flashreg.F4OPTCR1] = v & 0x0FFF0000
		}
	}
	return nil
}

// f4WriteCR handles FLASH_CR: ignored while locked; STRT with SER erases
// sector SNB, with MER (MER1) the bank(s) (RM0090 §3.6.3-3.6.4).
func (m *Model) f4WriteCR(v uint32) {
	c := &m.fc
	if c.key.locked {
		return
	}
	if v&flashreg.F4CRLock != 0 {
		c.key.locked, c.cr = true, 0
		return
	}
	c.cr = v & f4CRWrite
	if v&flashreg.F4CRSTRT == 0 {
		return
	}
	// At RDP level 1 the debugger may not erase main flash (RM0090
	// §3.7.3, Table 12 "Access versus read protection level"); the way
	// out is the RDP regression. Chosen: the refusal raises WRPERR.
	switch {
	case v&flashreg.F4CRSER != 0:
		snb := v >> 3 & 0x1F
		off, size, ok := m.f4Sector(snb)
		if !ok {
			c.sr |= flashreg.F4SRPGSErr // chosen: a sector that does not exist
			return
		}
		if c.level >= targets.RDPLevel1 || m.f4SectorProtected(snb) {
			c.sr |= flashreg.F4SRWRPErr
			return
		}
		c.eraseRange(off, size)
	case v&(flashreg.F4CRMER|flashreg.F4CRMER1) != 0:
		if c.level >= targets.RDPLevel1 {
			c.sr |= flashreg.F4SRWRPErr
			return
		}
		c.massErase()
	default:
		c.sr |= flashreg.F4SRPGSErr
		return
	}
	c.sr |= flashreg.F4SREOP
}

// f4Sector is sector snb of the flash: 4 × 16 KiB, 64 KiB, then 128 KiB
// sectors (RM0090 §3.3 Table 5, RM0383 §3.3 Table 4; OpenOCD stm32f2x.c
// sector_size_in_kb); on dual-bank lines SNB bit 4 selects bank 2, laid
// out the same from half the flash (RM0090 Table 6; OpenOCD: snb | 0x10).
func (m *Model) f4Sector(snb uint32) (off, size uint32, ok bool) {
	total := uint32(len(m.fc.mem))
	bank := total
	if flashreg.F4DualBankLine(m.cfg.DevID) && total >= 2<<20 {
		bank = total / 2
	}
	base := uint32(0)
	if snb&0x10 != 0 {
		if bank == total {
			return 0, 0, false
		}
		base, snb = bank, snb&0xF
	}
	for i := uint32(0); i < snb; i++ {
		off += flashreg.F4SectorSize(int(i))
	}
	size = flashreg.F4SectorSize(int(snb))
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
	optcr := c.regs[flashreg.F4OPTCR]
	if optcr&flashreg.F4OPTCRSPRMOD != 0 {
		return false
	}
	if snb&0x10 != 0 {
		return c.regs[flashreg.F4OPTCR1]>>(16+snb&0xF)&1 == 0
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
	if c.key.locked || c.cr&flashreg.F4CRPG == 0 {
		c.sr |= flashreg.F4SRPGSErr
		return nil
	}
	psize := chipsim.Size(1 << (c.cr >> 8 & 3))
	if psize == 8 {
		psize = chipsim.Word // x64 needs VPP: a word access is what arrives
	}
	if size != psize {
		c.sr |= flashreg.F4SRPGPErr
		return nil
	}
	if c.level >= targets.RDPLevel1 || m.f4SectorProtected(m.f4SectorOf(off)) {
		c.sr |= flashreg.F4SRWRPErr
		return nil
	}
	c.store(off, size, v)
	c.sr |= flashreg.F4SREOP
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
	if c.opt.locked {
		return
	}
	c.regs[flashreg.F4OPTCR] = v &^ (flashreg.F4OPTCRLock | flashreg.F4OPTCRStart)
	if v&flashreg.F4OPTCRStart != 0 {
		newRDP := targets.LevelOfByte(uint8(v>>8), false, true)
		if c.level == targets.RDPLevel1 && newRDP == targets.RDPLevel0 {
			c.massErase()
		}
		c.stored[flashreg.F4OPTCR] = c.regs[flashreg.F4OPTCR]
		if flashreg.F4DualBankLine(m.cfg.DevID) {
			c.stored[flashreg.F4OPTCR1] = c.regs[flashreg.F4OPTCR1]
		}
		c.sr |= flashreg.F4SREOP
	}
	if v&flashreg.F4OPTCRLock != 0 {
		c.opt.locked = true
	}
}
