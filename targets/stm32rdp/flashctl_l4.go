package stm32rdp

import (
	"fmt"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
	"github.com/stprobe/stprobe/targets/flashreg"
)

// The flash interface of the G0, G4 and L4 (one design): RM0444 §3.3-§3.7
// (G0), RM0440 §5.3-§5.7 (G4), RM0351 §3.3-§3.7 (L4); ST's CMSIS
// stm32g0xx/g4xx/l4xx headers FLASH_CR_*, FLASH_SR_*, FLASH_OPTR_*;
// OpenOCD 0.12 src/flash/nor/stm32l4x.c and stm32l4x.h for the sequences a
// debugger uses (stm32l4_unlock_reg, stm32l4_unlock_option_reg,
// stm32l4_erase, stm32l4_write_block_without_loader, stm32l4_write_option,
// stm32l4_perform_obl_launch, stm32l4_mass_erase).
// The registers and bits are in targets/flashreg with their sources.

// l4OptionRegs are the option registers of the line with their factory
// values (RM0351 §3.7.8-3.7.15, RM0440 §5.7.8-5.7.15, RM0444 §3.7.8-3.7.15):
// FLASH_OPTR; the PCROP start/end registers (chosen: start above end, no
// area); the WRP area registers (start above end, no area).
func (m *Model) l4OptionRegs() map[uint32]uint32 {
	const pcropStart, pcropEnd = 0x0000FFFF, 0x00000000
	optr := uint32(l4OPTRRest)
	if m.cfg.Family.Name == "STM32G0" {
		optr = g0OPTRRest
	}
	regs := map[uint32]uint32{flashreg.L4OPTR: optr | uint32(m.cfg.RDP), flashreg.L4PCROP1SR: pcropStart, flashreg.L4PCROP1ER: pcropEnd, flashreg.L4WRP1AR: wrpNone, flashreg.L4WRP1BR: wrpNone}
	switch {
	case m.cfg.Family.Name == "STM32G0":
		regs[flashreg.G0PCROP1BSR], regs[flashreg.G0PCROP1BER] = pcropStart, pcropEnd
	case flashreg.L4HasBank2Regs(m.cfg.DevID):
		regs[flashreg.L4PCROP2SR], regs[flashreg.L4PCROP2ER], regs[flashreg.L4WRP2AR], regs[flashreg.L4WRP2BR] = pcropStart, pcropEnd, wrpNone, wrpNone
	}
	return regs
}

func (m *Model) l4Init() {
	c := &m.fc
	c.stored = m.l4OptionRegs()
	c.cr = flashreg.L4CRLock | flashreg.L4CROptLock
	m.l4Load()
}

// l4Load is the option-byte loading: the option registers take the
// programmed values and the RDP level comes into force. It happens at
// power-on and when OBL_LAUNCH is set, not at a system reset (RM0351
// §3.4.2 "Option bytes loading"; RM0432 §3.5.1: "To validate the
// protection level change, the option bytes must be reloaded through the
// OBL_LAUNCH bit").
func (m *Model) l4Load() { m.fc.load(flashreg.L4OPTR, 0) }

// l4WriteReg takes a write to FLASH_CR or the option registers
// (flashCtl.writeKeyOrStatus took the keys and FLASH_SR); obl is true when OBL_LAUNCH was set
// (the caller then loads the option bytes and resets the chip, outside the
// lock).
func (m *Model) l4WriteReg(off, v uint32) (obl bool, err error) {
	c := &m.fc
	switch off {
	case flashreg.L4CR:
		return m.l4WriteCR(v), nil
	default:
		if _, ok := c.regs[off]; ok && !c.opt.locked {
			c.regs[off] = v
		}
	}
	return false, nil
}

// l4WriteCR handles FLASH_CR: ignored while LOCK is set; LOCK and OPTLOCK
// written 1 lock; STRT starts a page erase (PER, PNB, BKER) or a bank
// erase (MER1, MER2); OPTSTRT programs the option registers' values;
// OBL_LAUNCH loads them and resets the chip (RM0351 §3.3.6-3.3.7, §3.4.2,
// §3.7.5 FLASH_CR).
func (m *Model) l4WriteCR(v uint32) (obl bool) {
	c := &m.fc
	if c.key.locked {
		return false
	}
	if v&flashreg.L4CROptLock != 0 {
		c.opt.locked = true
	}
	if v&flashreg.L4CRLock != 0 {
		c.key.locked, c.cr = true, 0
		c.latchValid = false
		return false
	}
	c.cr = v &^ (flashreg.L4CRSTRT | flashreg.L4CROptStart | flashreg.L4CROBLLaunch | flashreg.L4CRLock | flashreg.L4CROptLock)
	if v&flashreg.L4CRPG == 0 {
		c.latchValid = false
	}
	switch {
	case v&flashreg.L4CROBLLaunch != 0:
		return !c.opt.locked // OBL_LAUNCH cannot be set while OPTLOCK is
	case v&flashreg.L4CROptStart != 0:
		if c.opt.locked {
			return false
		}
		m.l4OptionStart()
	case v&flashreg.L4CRSTRT != 0:
		m.l4Erase(v)
	}
	return false
}

// l4OptionStart programs the option bytes with the registers' values.
// From RDP level 1 to level 0 the main flash is mass-erased first (RM0351
// §3.5.1; RM0432 §3.5.1: "Full Mass Erase ... is performed only when Level
// 1 is active and Level 0 requested").
func (m *Model) l4OptionStart() {
	c := &m.fc
	newLevel := targets.LevelOfByte(uint8(c.regs[flashreg.L4OPTR]), false, true)
	if c.level == targets.RDPLevel1 && newLevel == targets.RDPLevel0 {
		c.massErase()
	}
	for k, v := range c.regs {
		c.stored[k] = v
	}
	c.sr |= flashreg.L4SREOP
}

// l4Geometry is the page size and the number of pages in bank 1, as the
// option bytes organise the flash (flashreg.L4Geometry).
func (m *Model) l4Geometry() (pageSize, bank1Pages uint32) {
	size := uint32(len(m.fc.mem))
	pageSize, dual := flashreg.L4Geometry(m.cfg.DevID, int(size>>10), m.line.MaxFlashKB, m.fc.regs[flashreg.L4OPTR])
	bank1Pages = size / pageSize
	if dual {
		bank1Pages /= 2
	}
	return pageSize, bank1Pages
}

// l4Erase runs the erase STRT started.
func (m *Model) l4Erase(v uint32) {
	c := &m.fc
	ps, bank1 := m.l4Geometry()
	pages := uint32(len(c.mem)) / ps
	// At RDP level 1 a debugger may not erase main flash (RM0351 §3.5.1
	// Table 13; RM0432 Table 16); the way out is the RDP regression.
	// Chosen: the refusal raises WRPERR.
	if c.level >= targets.RDPLevel1 {
		c.sr |= flashreg.L4SRWRPErr
		return
	}
	switch {
	case v&flashreg.L4CRPER != 0 && v&(flashreg.L4CRMER1|flashreg.L4CRMER2) == 0:
		pnb := v >> 3 & 0x3FF
		if m.cfg.Family.Name != "STM32G0" {
			pnb &= 0xFF
		}
		if v&flashreg.L4BKER(m.cfg.Family.Name) != 0 {
			pnb += bank1
		}
		if pnb >= pages {
			c.sr |= flashreg.L4SRPGSErr // chosen: a page that does not exist
			return
		}
		if m.l4PageProtected(pnb * ps) {
			c.sr |= flashreg.L4SRWRPErr
			return
		}
		c.eraseRange(pnb*ps, ps)
	case v&(flashreg.L4CRMER1|flashreg.L4CRMER2) != 0 && v&flashreg.L4CRPER == 0:
		if v&flashreg.L4CRMER1 != 0 {
			c.eraseRange(0, bank1*ps)
		}
		if v&flashreg.L4CRMER2 != 0 && bank1 < pages {
			c.eraseRange(bank1*ps, (pages-bank1)*ps)
		}
		if v&flashreg.L4CRMER1 != 0 && (v&flashreg.L4CRMER2 != 0 || bank1 == pages) {
			c.massErases++
		}
	default:
		c.sr |= flashreg.L4SRPGSErr
		return
	}
	c.sr |= flashreg.L4SREOP
}

// l4PageProtected reports whether a WRP area covers the page at off
// (FLASH_WRPxyR: start and end page offsets in the bank, protected when
// start <= end; RM0351 §3.5.2).
func (m *Model) l4PageProtected(off uint32) bool {
	c := &m.fc
	ps, bank1 := m.l4Geometry()
	page := off / ps
	mask := uint32(0xFF)
	switch m.cfg.Family.Name {
	case "STM32G0", "STM32G4":
		mask = 0x7F
	}
	regs := []uint32{flashreg.L4WRP1AR, flashreg.L4WRP1BR}
	if page >= bank1 {
		page -= bank1
		regs = []uint32{flashreg.L4WRP2AR, flashreg.L4WRP2BR}
	}
	for _, r := range regs {
		v, ok := c.regs[r]
		if !ok {
			continue
		}
		start, end := v&mask, v>>16&mask
		if start <= end && page >= start && page <= end {
			return true
		}
	}
	return false
}

// l4Program is a write to main flash: with PG set on an unlocked
// interface, two 32-bit words make one 64-bit double word, the first at a
// double-word boundary, the second right after it (RM0351 §3.3.7
// "Programming"). PGSERR without PG; SIZERR for a byte or half-word;
// PGAERR when the second word is not the next one; PROGERR when the double
// word is not erased (unless all zeros are written); WRPERR on a protected
// page or at RDP level 1 (RM0351 §3.7.4 FLASH_SR).
func (m *Model) l4Program(off uint32, size chipsim.Size, v uint32) error {
	c := &m.fc
	if c.key.locked || c.cr&flashreg.L4CRPG == 0 {
		c.sr |= flashreg.L4SRPGSErr
		return nil
	}
	if size != chipsim.Word {
		c.sr |= flashreg.L4SRSizErr
		c.latchValid = false
		return nil
	}
	if !c.latchValid {
		if off%8 != 0 {
			c.sr |= flashreg.L4SRPGAErr
			return nil
		}
		c.latchAddr, c.latchWord, c.latchValid = off, v, true
		return nil
	}
	c.latchValid = false
	first := c.latchAddr
	if off != first+4 {
		c.sr |= flashreg.L4SRPGAErr
		return nil
	}
	if c.level >= targets.RDPLevel1 || m.l4PageProtected(first) {
		c.sr |= flashreg.L4SRWRPErr
		return nil
	}
	if !c.erased(first, 8) && (c.latchWord != 0 || v != 0) {
		c.sr |= flashreg.L4SRProgErr
		return nil
	}
	c.store(first, chipsim.Word, c.latchWord)
	c.store(first+4, chipsim.Word, v)
	c.sr |= flashreg.L4SREOP
	return nil
}

// errKeySequence is the bus error of a wrong key sequence.
func errKeySequence(reg string) error {
	return fmt.Errorf("%s: wrong key sequence, locked until the next reset: %w", reg, chipsim.ErrBusFault)
}

// optionLoad is OBL_LAUNCH: the option bytes load, the chip resets and the
// debug link drops (RM0351 §3.7.5 FLASH_CR OBL_LAUNCH: "Force the option
// byte loading ... generates a system reset"; OpenOCD stm32l4x.c: "Due to
// this reset ST-Link reports an SWD_DP_ERROR").
func (m *Model) optionLoad() {
	m.mu.Lock()
	m.l4Load()
	m.epoch++
	m.mu.Unlock()
	m.sysReset()
}
