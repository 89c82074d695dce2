package stm32rdp

import (
	"encoding/binary"
	"fmt"
	"maps"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
	"github.com/stprobe/stprobe/targets/flashreg"
)

// The flash interface of the RDP families, shared by the three controllers
// (flashctl_f1.go: the F1's FPEC; flashctl_f4.go: the F4's; flashctl_l4.go:
// G0, G4 and L4). Each fact is cited where it is used and in
// docs/families.md. What the model chooses where the manuals are silent is
// said so ("chosen").
//
// Timing is not modelled: an erase or a program completes within the write
// that starts it, so FLASH_SR.BSY never reads 1. A host that polls BSY (as
// OpenOCD and stprobe do) reads it clear at once.

// flashCtl is the state of a flash interface. It is guarded by the
// model's mutex.
type flashCtl struct {
	mem []byte // main flash, erased = 0xFF

	// ifc is the family's register shape (flashreg.F1Interface …);
	// optLock the option lock bit FLASH_CR holds (G0/G4/L4 OPTLOCK, 0
	// elsewhere); strictKeys is set where a key written while unlocked is
	// a wrong sequence (F4, G0, G4, L4). optKEYR is FLASH_OPTKEYR, optKeys
	// the keys it takes; optAfterKey is set where it takes them only once
	// FLASH_CR is unlocked (F1, G0, G4, L4).
	ifc         flashreg.Interface
	optLock     uint32
	strictKeys  bool
	optKEYR     uint32
	optKeys     [2]uint32
	optAfterKey bool

	key keyLock // FLASH_CR.LOCK
	opt keyLock // F4/L4 OPTLOCK; F1: OPTWRE clear

	cr, sr, ar uint32

	// regs are the option registers as read, by offset from the flash
	// register block; stored the option bytes in their non-volatile area
	// (by the same offsets; unused on the F1, which keeps f1ob).
	regs, stored map[uint32]uint32
	f1ob         [16]byte

	// level is the read-out protection level in force: loaded from the
	// option bytes at reset (F1, F4) or at option-byte loading (G0, G4,
	// L4).
	level targets.RDPLevel

	// latch holds the first word of an L4-style double word.
	latchAddr  uint32
	latchWord  uint32
	latchValid bool

	massErases int
}

// load is the option-byte loading of the F4, G0, G4 and L4: the option
// registers take the stored values and the RDP byte at bit shift of
// register rdp brings its level into force.
func (c *flashCtl) load(rdp uint32, shift uint) {
	c.regs = maps.Clone(c.stored)
	c.level = targets.LevelOfByte(uint8(c.stored[rdp]>>shift), false, true)
}

// readReg reads the register at off as every family's interface answers
// it: FLASH_SR, FLASH_CR with its lock bits as the keys left them, the
// option registers as loaded, 0 elsewhere.
func (c *flashCtl) readReg(off uint32) uint32 {
	switch off {
	case c.ifc.SR:
		return c.sr
	case c.ifc.CR:
		return c.cr&^(c.ifc.Lock|c.optLock) | c.key.bit(c.ifc.Lock) | c.opt.bit(c.optLock)
	}
	return c.regs[off]
}

// writeKeyOrStatus takes the writes every family's interface answers
// alike: KEY1 and KEY2 into FLASH_KEYR, the option keys into
// FLASH_OPTKEYR, and FLASH_SR's flags written 1 to clear (EOP and the error
// flags). It reports whether off was one of the three.
func (c *flashCtl) writeKeyOrStatus(off, v uint32) (handled bool, err error) {
	switch off {
	case c.ifc.KEYR:
		if c.key.write(v, targets.FlashKey1, targets.FlashKey2, c.strictKeys) {
			return true, errKeySequence("FLASH_KEYR")
		}
	case c.optKEYR:
		if c.optAfterKey && c.key.locked {
			return true, nil
		}
		if c.opt.write(v, c.optKeys[0], c.optKeys[1], c.strictKeys) {
			return true, errKeySequence("FLASH_OPTKEYR")
		}
	case c.ifc.SR:
		c.sr &^= v & (c.ifc.Errors.Mask() | c.ifc.EOP)
	default:
		return false, nil
	}
	return true, nil
}

// erased reports whether n bytes at off are all 0xFF.
func (c *flashCtl) erased(off, n uint32) bool {
	for _, b := range c.mem[off : off+n] {
		if b != 0xFF {
			return false
		}
	}
	return true
}

// eraseRange erases n bytes at off.
func (c *flashCtl) eraseRange(off, n uint32) {
	end := off + n
	if end > uint32(len(c.mem)) {
		end = uint32(len(c.mem))
	}
	for i := off; i < end; i++ {
		c.mem[i] = 0xFF
	}
}

// massErase erases the whole main flash.
func (c *flashCtl) massErase() {
	c.eraseRange(0, uint32(len(c.mem)))
	c.massErases++
}

// resetKeys puts the lock state back as a reset leaves it.
func (c *flashCtl) resetKeys() {
	c.key.reset()
	c.opt.reset()
	c.latchValid = false
}

// keyLock is a register that a key sequence opens: FLASH_CR.LOCK,
// OPTLOCK, the F1's OPTWRE.
type keyLock struct {
	locked bool
	stage  int  // KEY1 seen
	bad    bool // a wrong key sequence: locked until the next reset
}

// reset locks the register and forgets the keys, as a reset does.
func (l *keyLock) reset() { *l = keyLock{locked: true} }

// write handles a write of v to the key register: k1 then k2 unlock;
// anything else, or a key while already unlocked when strict, locks the
// register until the next reset (RM0090 §3.5.1, RM0351 §3.3.5, RM0433
// §4.9: "a wrong sequence ... generates a bus error and locks ... until
// the next reset"). It reports whether the write was such a wrong
// sequence, which the caller answers with a bus error.
func (l *keyLock) write(v, k1, k2 uint32, strict bool) (wrong bool) {
	switch {
	case l.bad:
	case !l.locked && !strict:
		return false
	case !l.locked:
		l.bad = true
	case l.stage == 0 && v == k1:
		l.stage = 1
		return false
	case l.stage == 1 && v == k2:
		l.stage, l.locked = 0, false
		return false
	default:
		l.stage, l.bad = 0, true
	}
	l.locked = true
	return true
}

// bit is b while the register is locked, 0 once it is open: a lock bit as
// the control register reads it.
func (l *keyLock) bit(b uint32) uint32 {
	if l.locked {
		return b
	}
	return 0
}

// flashRegion is main flash on the bus: reads return its content unless
// read-out protection closes it; writes go to the family's controller.
type flashRegion struct{ m *Model }

func (r flashRegion) Contains(addr uint32) bool {
	return addr >= targets.FlashMemBase && addr-targets.FlashMemBase < uint32(len(r.m.fc.mem))
}

// Read reads main flash: a bus error under RDP level 1 while the debugger
// is attached (RM0008 §2.5, RM0090 §3.7.3, RM0351 §3.5.1).
func (r flashRegion) Read(addr uint32, size chipsim.Size, _ uint32) (uint32, error) {
	m := r.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if lvl := m.protection(); lvl >= targets.RDPLevel1 {
		m.flashRead++
		return 0, fmt.Errorf("flash read at 0x%08X refused: read-out protection %v with a debugger attached: %w", addr, lvl, chipsim.ErrBusFault)
	}
	off := addr - targets.FlashMemBase
	var v uint32
	for i := uint32(0); i < uint32(size) && off+i < uint32(len(m.fc.mem)); i++ {
		v |= uint32(m.fc.mem[off+i]) << (8 * i)
	}
	return v, nil
}

// readFlash reads the word of main flash at offset off as the bus does
// (refused at RDP level 1). The caller does not hold m.mu.
func (m *Model) readFlash(off uint32) (uint32, error) {
	return flashRegion{m}.Read(targets.FlashMemBase+off&^3, chipsim.Word, 0)
}

// Write hands a write to main flash to the family's controller.
func (r flashRegion) Write(addr uint32, size chipsim.Size, v, _ uint32) error {
	m := r.m
	m.mu.Lock()
	defer m.mu.Unlock()
	off := addr - targets.FlashMemBase
	switch m.cfg.Family.Name {
	case "STM32F1":
		return m.f1Program(off, size, v)
	case "STM32F4":
		return m.f4Program(off, size, v)
	case "STM32H7":
		return m.h7Program(off, size, v)
	}
	return m.l4Program(off, size, v)
}

// store writes size bytes of v at off (the controller checked the rules;
// flash cells only go from 1 to 0).
func (c *flashCtl) store(off uint32, size chipsim.Size, v uint32) {
	for i := uint32(0); i < uint32(size); i++ {
		c.mem[off+i] &= byte(v >> (8 * i))
	}
}

// flashRegs is the flash interface's register block.
func (m *Model) flashRegs() *chipsim.Registers {
	return &chipsim.Registers{Base: m.cfg.Family.RDP.FlashRegs, Size: 0x400,
		ReadFn: func(off uint32) (uint32, error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			switch m.cfg.Family.Name {
			case "STM32F1":
				return m.f1ReadReg(off), nil
			case "STM32F4":
				return m.f4ReadReg(off), nil
			}
			return m.fc.readReg(off), nil
		},
		WriteFn: func(off, v uint32) error {
			m.mu.Lock()
			handled, err := m.fc.writeKeyOrStatus(off, v)
			var obl bool
			switch {
			case handled:
			case m.cfg.Family.Name == "STM32F1":
				err = m.f1WriteReg(off, v)
			case m.cfg.Family.Name == "STM32F4":
				err = m.f4WriteReg(off, v)
			default:
				obl, err = m.l4WriteReg(off, v)
			}
			m.mu.Unlock()
			if obl {
				m.optionLoad()
			}
			return err
		},
	}
}

// initFlash sets up the controller of a chip just out of the factory
// (option bytes at their defaults but RDP) with cfg.Image in flash.
func (m *Model) initFlash() {
	c := &m.fc
	c.mem = make([]byte, uint32(m.cfg.FlashKB)<<10)
	for i := range c.mem {
		c.mem[i] = 0xFF
	}
	copy(c.mem, m.cfg.Image)
	if m.cfg.Image == nil {
		for _, off := range []uint32{0, 4} { // the program's vector table (firmware.go)
			binary.LittleEndian.PutUint32(c.mem[off:], m.flashWord(off))
		}
	}
	c.resetKeys()
	switch m.cfg.Family.Name {
	case "STM32F1":
		// The F1 accepts the keys again while unlocked (OpenOCD's
		// stm32x_write_options writes them right after stm32x_erase_options
		// left the FPEC unlocked); a wrong key locks the FPEC until the
		// next reset and is a bus error (PM0075 §2.3.1).
		// KEY1, KEY2 in FLASH_OPTKEYR set OPTWRE, once the FPEC is
		// unlocked (PM0075 §2.4, §3.3 FLASH_OPTKEYR).
		c.ifc = flashreg.F1Interface()
		c.optKEYR, c.optKeys, c.optAfterKey = flashreg.F1OPTKEYR, [2]uint32{targets.FlashKey1, targets.FlashKey2}, true
		m.f1Init()
	case "STM32F4":
		// A key written while unlocked is a wrong sequence: the register
		// locks until the next reset (RM0090 §3.5.1; OpenOCD's
		// stm32x_unlock_reg checks LOCK first "otherwise writing on
		// STM32_FLASH_KEYR will fail").
		c.ifc, c.strictKeys = flashreg.F4Interface(), true
		c.optKEYR, c.optKeys = flashreg.F4OPTKEYR, [2]uint32{targets.OptKey1, targets.OptKey2}
		m.f4Init()
	default:
		// The same on the G0, G4 and L4 (RM0351 §3.3.5; OpenOCD's
		// stm32l4_unlock_reg); OPTLOCK clears with OPTKEY1, OPTKEY2 once
		// LOCK is clear (RM0351 §3.4.2 "Unlocking the Flash memory option
		// registers").
		c.ifc, c.optLock, c.strictKeys = flashreg.L4Interface(), flashreg.L4CROptLock, true
		c.optKEYR, c.optKeys, c.optAfterKey = flashreg.L4OPTKEYR, [2]uint32{targets.OptKey1, targets.OptKey2}, true
		m.l4Init()
	}
	if m.cfg.Family.Name == "STM32H7" {
		m.h7Reset()
	}
}

// resetFlash is what a system reset (NRST, AIRCR.SYSRESETREQ) does to the
// flash interface: locks it, clears CR and SR, and on the F1 and F4 loads
// the option bytes again.
func (m *Model) resetFlash() {
	c := &m.fc
	c.resetKeys()
	c.sr, c.ar = 0, 0
	switch m.cfg.Family.Name {
	case "STM32F1":
		c.cr = flashreg.F1CRLock
		m.f1Load()
	case "STM32F4":
		c.cr = flashreg.F4CRLock
		m.f4Load()
	default:
		c.cr = flashreg.L4CRLock | flashreg.L4CROptLock
	}
	if m.cfg.Family.Name == "STM32H7" {
		m.h7Reset()
	}
	if m.cfg.Family.Name == "STM32U5" || m.cfg.Family.Name == "STM32H7" {
		m.resetOptions()
	}
}

// MassErases counts the mass erases the controller ran (by MER or by an
// RDP level 1 to 0 regression).
func (m *Model) MassErases() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fc.massErases
}

// Flash returns a copy of n bytes of main flash at offset off, whatever
// the protection (a test's view of the cells); nil out of range.
func (m *Model) Flash(off, n uint32) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	if off > uint32(len(m.fc.mem)) || n > uint32(len(m.fc.mem))-off {
		return nil
	}
	return append([]byte(nil), m.fc.mem[off:off+n]...)
}
