package stm32rdp

import (
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
	"github.com/stprobe/stprobe/targets/flashreg"
)

// The STM32H74x/75x embedded flash interface, driven by the host: two
// banks, each with its own key, control, status and clear registers
// (bank 2 at +0x100), 128 KiB sectors and a 256-bit flash word that the
// write buffer programs once all of it has been written. The registers,
// bits and geometry are in targets/flashreg with their sources; the
// sequences a debugger drives: RM0433 §4 (embedded flash memory); OpenOCD
// 0.12 src/flash/nor/stm32h7x.c (stm32x_erase and the work-area-free path
// of stm32x_write: PG, one flash word, wait for QW); stlink 1.7.0
// src/common.c (the same sequence with 64-byte writes).
//
// As on the other families timing is not modelled: a sector erase or a
// flash-word program completes within the write that starts it, so BSY and
// QW never read 1. Programming a flash word that is not erased stores the
// AND of old and new bits; the ECC consequences of that are not modelled.

// h7Bank is the state of one bank's flash interface.
type h7Bank struct {
	key    keyLock // FLASH_CR.LOCK
	cr, sr uint32

	// The write buffer: the flash word being filled, the bytes written so
	// far (one bit each) and their values.
	bufAddr uint32
	bufMask uint32
	buf     [flashreg.H7FlashWord]byte
}

// h7Flash is the H7's two banks.
type h7Flash struct{ bank [2]h7Bank }

// h7Reset is what a reset does to the H7's interface: both banks locked,
// CR at its reset value, flags and write buffer cleared.
func (m *Model) h7Reset() {
	for i := range m.h7.bank {
		m.h7.bank[i] = h7Bank{key: keyLock{locked: true}, cr: flashreg.H7CRReset}
	}
}

// h7BankReg splits an offset of the register block into a bank and the
// bank register's offset; ok is false for the other registers.
func h7BankReg(off uint32) (bank int, reg uint32, ok bool) {
	if off >= flashreg.H7Bank2Regs {
		bank, off = 1, off-flashreg.H7Bank2Regs
	}
	switch off {
	case flashreg.H7KEYR, flashreg.H7CR, flashreg.H7SR, flashreg.H7CCR:
		return bank, off, true
	}
	return 0, 0, false
}

// h7ReadReg reads a bank register. The caller holds m.mu.
func (m *Model) h7ReadReg(bank int, reg uint32) uint32 {
	b := &m.h7.bank[bank]
	switch reg {
	case flashreg.H7CR:
		return b.cr&^flashreg.H7CRLock | b.key.bit(flashreg.H7CRLock)
	case flashreg.H7SR:
		v := b.sr
		if b.bufMask != 0 {
			v |= flashreg.H7SRWBNE
		}
		return v
	}
	return 0 // KEYR and CCR are write-only
}

// h7WriteReg writes a bank register. The caller holds m.mu.
func (m *Model) h7WriteReg(bank int, reg, v uint32) error {
	b := &m.h7.bank[bank]
	switch reg {
	case flashreg.H7KEYR:
		// KEY1 then KEY2 clears LOCK; a wrong sequence, or one while
		// unlocked, keeps the bank locked until the next reset (RM0433 §4.9,
		// FLASH_CR1 LOCK1; stm32h7x.c stm32x_unlock_reg).
		if b.key.write(v, targets.FlashKey1, targets.FlashKey2, true) {
			return errKeySequence("FLASH_KEYR")
		}
	case flashreg.H7CR:
		if b.key.locked {
			return nil // CR is write-protected while LOCK is set
		}
		if v&flashreg.H7CRLock != 0 {
			b.key.locked = true
		}
		b.cr = v &^ (flashreg.H7CRStart | flashreg.H7CRFW)
		if v&flashreg.H7CRFW != 0 && b.bufMask != 0 {
			m.h7Commit(bank) // FW: program a partly written flash word
		}
		if v&flashreg.H7CRStart != 0 {
			m.h7Erase(bank, v)
		}
	case flashreg.H7CCR:
		b.sr &^= v & flashreg.H7SRClearable
	}
	return nil // SR is read-only
}

// h7Erase runs the erase START asked for: a sector (SER, SNB) or the bank
// (BER). Nothing is erased at RDP level 1 (chosen, as the other families'
// controllers: a debugger attached at level 1 does not erase).
func (m *Model) h7Erase(bank int, cr uint32) {
	b := &m.h7.bank[bank]
	if m.protection() >= targets.RDPLevel1 {
		b.sr |= flashreg.H7SRRDPErr
		return
	}
	base := uint32(bank) * flashreg.H7BankSize
	switch {
	case cr&flashreg.H7CRBER != 0:
		m.fc.eraseRange(base, flashreg.H7BankSize)
	case cr&flashreg.H7CRSER != 0:
		sector := (cr & flashreg.H7CRSNB) >> 8
		m.fc.eraseRange(base+sector*flashreg.H7SectorSize, flashreg.H7SectorSize)
	default:
		b.sr |= flashreg.H7SRPGSErr // START with neither SER nor BER
		return
	}
	b.sr |= flashreg.H7SREOP
}

// h7Program takes a write to main flash into the bank's write buffer. A
// write with PG clear or a locked bank is a sequence error; a write to
// another flash word before the buffer is full an inconsistency error
// (RM0433 §4.9, FLASH_SR1 PGSERR1, INCERR1). The caller holds m.mu.
func (m *Model) h7Program(off uint32, size chipsim.Size, v uint32) error {
	bank := 0
	if off >= flashreg.H7BankSize {
		bank = 1
	}
	b := &m.h7.bank[bank]
	if b.key.locked || b.cr&flashreg.H7CRPG == 0 {
		b.sr |= flashreg.H7SRPGSErr
		return nil
	}
	word := off &^ (flashreg.H7FlashWord - 1)
	if b.bufMask != 0 && word != b.bufAddr {
		b.sr |= flashreg.H7SRIncErr
		b.bufMask = 0
		return nil
	}
	b.bufAddr = word
	for i := uint32(0); i < uint32(size); i++ {
		at := off - word + i
		b.buf[at] = byte(v >> (8 * i))
		b.bufMask |= 1 << at
	}
	if b.bufMask == 1<<flashreg.H7FlashWord-1 {
		m.h7Commit(bank)
	}
	return nil
}

// h7Commit programs the buffered flash word; bytes not written (FW) stay
// as they are. Refused at RDP level 1 (chosen, see h7Erase).
func (m *Model) h7Commit(bank int) {
	b := &m.h7.bank[bank]
	mask := b.bufMask
	b.bufMask = 0
	if m.protection() >= targets.RDPLevel1 {
		b.sr |= flashreg.H7SRRDPErr
		return
	}
	if b.bufAddr+flashreg.H7FlashWord > uint32(len(m.fc.mem)) {
		b.sr |= flashreg.H7SRPGSErr
		return
	}
	for i := uint32(0); i < flashreg.H7FlashWord; i++ {
		if mask&(1<<i) != 0 {
			m.fc.mem[b.bufAddr+i] &= b.buf[i]
		}
	}
	b.sr |= flashreg.H7SREOP
}
