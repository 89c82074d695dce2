package stm32rdp

import (
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// The STM32H74x/75x embedded flash interface, driven by the host: two
// banks, each with its own key, control, status and clear registers
// (bank 2 at +0x100), 128 KiB sectors and a 256-bit flash word that the
// write buffer programs once all of it has been written. Sources: ST's
// CMSIS stm32h743xx.h (FLASH_CR_*, FLASH_SR_*, FLASH_SECTOR_SIZE,
// FLASH_NB_32BITWORD_IN_FLASHWORD, FLASH_BANK2_BASE); RM0433 §4 (embedded
// flash memory); OpenOCD 0.12 src/flash/nor/stm32h7x.c (FLASH_REG_BASE_B0
// and _B1, the register offsets and bits, stm32x_erase and the
// work-area-free path of stm32x_write: PG, one flash word, wait for QW);
// stlink 1.7.0 src/common.c (the same sequence with 64-byte writes).
//
// As on the other families timing is not modelled: a sector erase or a
// flash-word program completes within the write that starts it, so BSY and
// QW never read 1. Programming a flash word that is not erased stores the
// AND of old and new bits; the ECC consequences of that are not modelled.
const (
	h7KEYR = 0x04
	h7CR   = 0x0C
	h7SR   = 0x10
	h7CCR  = 0x14
	// h7BankRegs is the offset of bank 2's registers (OpenOCD stm32h7x.c
	// FLASH_REG_BASE_B1 - FLASH_REG_BASE_B0).
	h7BankRegs = 0x100

	h7CRLock  = 1 << 0
	h7CRPG    = 1 << 1
	h7CRSER   = 1 << 2
	h7CRBER   = 1 << 3
	h7CRFW    = 1 << 6
	h7CRStart = 1 << 7
	h7CRSNB   = 0x7 << 8
	// h7CRReset is FLASH_CR1/CR2 after reset: LOCK, PSIZE 0b11 (RM0433 §4.9,
	// FLASH_CR1 reset value 0x0000_0031).
	h7CRReset = 0x31

	h7SRWBNE   = 1 << 1
	h7SREOP    = 1 << 16
	h7SRPGSERR = 1 << 18
	h7SRINCERR = 1 << 21
	h7SRRDPERR = 1 << 23
	// h7SRClear are the flags FLASH_CCR clears by writing 1 at their
	// positions (stm32h743xx.h FLASH_CCR_CLR_EOP … CLR_CRCEND).
	h7SRClear = 0x0FEF0000

	// h7BankSize is one bank: bank 2 starts at 0x08100000
	// (stm32h743xx.h FLASH_BANK2_BASE).
	h7BankSize   = 1 << 20
	h7SectorSize = 128 << 10 // FLASH_SECTOR_SIZE
	h7FlashWord  = 32        // FLASH_NB_32BITWORD_IN_FLASHWORD × 4 bytes
)

// h7Bank is the state of one bank's flash interface.
type h7Bank struct {
	locked   bool
	keyStage int
	keyBad   bool
	cr, sr   uint32

	// The write buffer: the flash word being filled, the bytes written so
	// far (one bit each) and their values.
	bufAddr uint32
	bufMask uint32
	buf     [h7FlashWord]byte
}

// h7Flash is the H7's two banks.
type h7Flash struct{ bank [2]h7Bank }

// h7Reset is what a reset does to the H7's interface: both banks locked,
// CR at its reset value, flags and write buffer cleared.
func (m *Model) h7Reset() {
	for i := range m.h7.bank {
		m.h7.bank[i] = h7Bank{locked: true, cr: h7CRReset}
	}
}

// h7BankReg splits an offset of the register block into a bank and the
// bank register's offset; ok is false for the other registers.
func h7BankReg(off uint32) (bank int, reg uint32, ok bool) {
	if off >= h7BankRegs {
		bank, off = 1, off-h7BankRegs
	}
	switch off {
	case h7KEYR, h7CR, h7SR, h7CCR:
		return bank, off, true
	}
	return 0, 0, false
}

// h7ReadReg reads a bank register. The caller holds m.mu.
func (m *Model) h7ReadReg(bank int, reg uint32) uint32 {
	b := &m.h7.bank[bank]
	switch reg {
	case h7CR:
		v := b.cr &^ h7CRLock
		if b.locked {
			v |= h7CRLock
		}
		return v
	case h7SR:
		v := b.sr
		if b.bufMask != 0 {
			v |= h7SRWBNE
		}
		return v
	}
	return 0 // KEYR and CCR are write-only
}

// h7WriteReg writes a bank register. The caller holds m.mu.
func (m *Model) h7WriteReg(bank int, reg, v uint32) error {
	b := &m.h7.bank[bank]
	switch reg {
	case h7KEYR:
		// KEY1 then KEY2 clears LOCK; a wrong sequence, or one while
		// unlocked, keeps the bank locked until the next reset (RM0433 §4.9,
		// FLASH_CR1 LOCK1; stm32h7x.c stm32x_unlock_reg).
		if unlocked, fault := key(&b.keyStage, &b.keyBad, b.locked, true, v, Key1, Key2); fault {
			return errKeySequence("FLASH_KEYR")
		} else if unlocked {
			b.locked = false
		}
	case h7CR:
		if b.locked {
			return nil // CR is write-protected while LOCK is set
		}
		if v&h7CRLock != 0 {
			b.locked = true
		}
		b.cr = v &^ (h7CRStart | h7CRFW)
		if v&h7CRFW != 0 && b.bufMask != 0 {
			m.h7Commit(bank) // FW: program a partly written flash word
		}
		if v&h7CRStart != 0 {
			m.h7Erase(bank, v)
		}
	case h7CCR:
		b.sr &^= v & h7SRClear
	}
	return nil // SR is read-only
}

// h7Erase runs the erase START asked for: a sector (SER, SNB) or the bank
// (BER). Nothing is erased at RDP level 1 (chosen, as the other families'
// controllers: a debugger attached at level 1 does not erase).
func (m *Model) h7Erase(bank int, cr uint32) {
	b := &m.h7.bank[bank]
	if m.protection() >= targets.RDPLevel1 {
		b.sr |= h7SRRDPERR
		return
	}
	base := uint32(bank) * h7BankSize
	switch {
	case cr&h7CRBER != 0:
		m.fc.eraseRange(base, h7BankSize)
	case cr&h7CRSER != 0:
		sector := (cr & h7CRSNB) >> 8
		m.fc.eraseRange(base+sector*h7SectorSize, h7SectorSize)
	default:
		b.sr |= h7SRPGSERR // START with neither SER nor BER
		return
	}
	b.sr |= h7SREOP
}

// h7Program takes a write to main flash into the bank's write buffer. A
// write with PG clear or a locked bank is a sequence error; a write to
// another flash word before the buffer is full an inconsistency error
// (RM0433 §4.9, FLASH_SR1 PGSERR1, INCERR1). The caller holds m.mu.
func (m *Model) h7Program(off uint32, size chipsim.Size, v uint32) error {
	bank := 0
	if off >= h7BankSize {
		bank = 1
	}
	b := &m.h7.bank[bank]
	if b.locked || b.cr&h7CRPG == 0 {
		b.sr |= h7SRPGSERR
		return nil
	}
	word := off &^ (h7FlashWord - 1)
	if b.bufMask != 0 && word != b.bufAddr {
		b.sr |= h7SRINCERR
		b.bufMask = 0
		return nil
	}
	b.bufAddr = word
	for i := uint32(0); i < uint32(size); i++ {
		at := off - word + i
		b.buf[at] = byte(v >> (8 * i))
		b.bufMask |= 1 << at
	}
	if b.bufMask == 1<<h7FlashWord-1 {
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
		b.sr |= h7SRRDPERR
		return
	}
	if b.bufAddr+h7FlashWord > uint32(len(m.fc.mem)) {
		b.sr |= h7SRPGSERR
		return
	}
	for i := uint32(0); i < h7FlashWord; i++ {
		if mask&(1<<i) != 0 {
			m.fc.mem[b.bufAddr+i] &= b.buf[i]
		}
	}
	b.sr |= h7SREOP
}
