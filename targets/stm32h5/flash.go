package stm32h5

import (
	"fmt"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// region is a block of the AP1 address space served by the model under its
// lock. secure regions are secure aliases: they fault for non-secure
// transfers (CSW bit 30) and while secure debug is closed.
type region struct {
	m          *Model
	base, size uint32
	secure     bool
	read       func(off uint32, size chipsim.Size) (uint32, error)
	write      func(off uint32, size chipsim.Size, v uint32) error
}

// cswNonSecure is the AHB5-AP CSW bit that makes a transfer non-secure.
const cswNonSecure = 1 << 30

// Contains reports whether addr is in the region.
func (r *region) Contains(addr uint32) bool { return addr >= r.base && addr-r.base < r.size }

// check refuses secure-alias accesses that are non-secure or happen while
// secure debug is closed.
func (r *region) check(addr uint32, csw uint32) error {
	if r.secure && (csw&cswNonSecure != 0 || !r.m.secureOpenLocked()) {
		return fmt.Errorf("access to secure address 0x%08X refused: secure debug is closed or the transfer is non-secure: %w", addr, chipsim.ErrBusFault)
	}
	return nil
}

// Read serves a read under the model's lock.
func (r *region) Read(addr uint32, size chipsim.Size, csw uint32) (uint32, error) {
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	if err := r.check(addr, csw); err != nil {
		return 0, err
	}
	return r.read(addr-r.base, size)
}

// Write serves a write under the model's lock; regions without a write
// handler are read-only and fault.
func (r *region) Write(addr uint32, size chipsim.Size, v, csw uint32) error {
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	if err := r.check(addr, csw); err != nil {
		return err
	}
	if r.write == nil {
		return fmt.Errorf("write to read-only 0x%08X: %w", addr, chipsim.ErrBusFault)
	}
	return r.write(addr-r.base, size, v)
}

// lanes picks the bytes of word w an access of size at off addresses.
func lanes(w, off uint32, size chipsim.Size) uint32 {
	w >>= 8 * (off & 3)
	if size == chipsim.Word {
		return w
	}
	return w & (1<<(8*uint(size)) - 1)
}

// merge returns word old with the bytes of a narrow write of v at off.
func merge(old, off uint32, size chipsim.Size, v uint32) uint32 {
	if size == chipsim.Word {
		return v
	}
	shift := 8 * (off & 3)
	mask := uint32(1<<(8*uint(size))-1) << shift
	return old&^mask | (v<<shift)&mask
}

func erasedFlash(off uint32, size chipsim.Size) (uint32, error) {
	return lanes(0xFFFFFFFF, off, size), nil
}

// optionPairs maps each _CUR offset to its register name; _PRG is at
// +targets.FlashPrgOffset.
var optionPairs = map[uint32]string{
	targets.FlashOPTSRCur: "OPTSR", targets.FlashNSEPOCHRCur: "NSEPOCHR", targets.FlashSECEPOCHRCur: "SECEPOCHR", targets.FlashOPTSR2Cur: "OPTSR2",
	targets.FlashNSBOOTRCur: "NSBOOTR", targets.FlashSECBOOTRCur: "SECBOOTR", targets.FlashOTPBLRCur: "OTPBLR",
	targets.FlashSECWM1RCur: "SECWM1R", targets.FlashWRP1RCur: "WRP1R", targets.FlashEDATA1RCur: "EDATA1R", targets.FlashHDP1RCur: "HDP1R",
	targets.FlashSECWM2RCur: "SECWM2R", targets.FlashWRP2RCur: "WRP2R", targets.FlashEDATA2RCur: "EDATA2R", targets.FlashHDP2RCur: "HDP2R",
}

// optionAt finds the option register at word offset off: its name and
// whether off is the _PRG half. ok is false when off is no option register
// of this line.
func (m *Model) optionAt(off uint32) (name string, prg, ok bool) {
	if n, found := optionPairs[off]; found {
		name = n
	} else if n, found := optionPairs[off-targets.FlashPrgOffset]; found && off >= targets.FlashPrgOffset {
		name, prg = n, true
	} else {
		return "", false, false
	}
	_, ok = m.cur[name]
	return name, prg, ok
}

func (m *Model) nssrLocked() uint32 {
	v := m.nssr
	if m.busy || m.op != nil {
		v |= targets.NSSRBusy
	}
	if m.buf.active && !m.buf.secure {
		v |= targets.NSSRWriteBuf
	}
	return v
}

// readFlash serves the FLASH register block (non-secure and secure alias).
func (m *Model) readFlash(off uint32, size chipsim.Size) (uint32, error) {
	return lanes(m.readFlashWord(off&^3), off, size), nil
}

func (m *Model) readFlashWord(off uint32) uint32 {
	switch off {
	case targets.FlashNSKEYR, 0x008, targets.FlashOPTKEYR, 0x010, 0x014, targets.FlashNSCCR, 0x034:
		return 0 // key and clear registers read as zero
	case targets.FlashOPTCR:
		v := m.cur["OPTSR"] & (1 << 31) // SWAP_BANK in force
		if m.optKey.locked {
			v |= targets.OPTCROptLock
		}
		if m.busy {
			v |= targets.OPTCROptStart
		}
		return v
	case targets.FlashNSSR:
		return m.nssrLocked()
	case targets.FlashNSCR:
		return m.nscr
	}
	if name, prg, ok := m.optionAt(off); ok {
		if prg {
			return m.prg[name]
		}
		return m.cur[name]
	}
	return m.plain[off]
}

// writeFlash serves writes to the FLASH register block.
func (m *Model) writeFlash(off uint32, size chipsim.Size, v uint32) error {
	w := off &^ 3
	v = merge(m.readFlashWord(w), off, size, v)
	switch w {
	case targets.FlashOPTKEYR:
		return m.optKeyLocked(v)
	case targets.FlashNSKEYR:
		return m.nsKeyLocked(v)
	case targets.FlashOPTCR:
		m.writeOPTCRLocked(v)
		return nil
	case targets.FlashNSSR, 0x018:
		return nil // read-only
	case targets.FlashNSCCR:
		m.nssr &^= v & 0x00FF0000
		return nil
	case targets.FlashNSCR:
		if m.nsKey.locked {
			return nil
		}
		m.writeCRLocked(false, v)
		return nil
	}
	if name, prg, ok := m.optionAt(w); ok {
		if prg && !m.optKey.locked {
			if name == "OPTSR2" && !m.line.TrustZone {
				v &= 0x00FFFFFF
			}
			m.prg[name] = v
		}
		return nil // _CUR is read-only; a locked _PRG ignores writes
	}
	m.plain[w] = v
	return nil
}

// keyLock is the unlock sequence of one FLASH key register (OPTKEYR,
// NSKEYR, SECKEYR; their keys in targets): while locked, key1 then key2
// unlock; any other write locks the register until reset, and later writes
// then fault.
type keyLock struct {
	register   string // e.g. "FLASH_NSKEYR", for the fault
	key1, key2 uint32
	locked     bool
	stage      int // key1 seen
	bad        bool
}

// newKeyLock is a locked key register with its two keys.
func newKeyLock(register string, key1, key2 uint32) keyLock {
	return keyLock{register: register, key1: key1, key2: key2, locked: true}
}

// reset locks the register again and forgets a wrong key.
func (k *keyLock) reset() { k.locked, k.stage, k.bad = true, 0, false }

// write takes one write to the key register; unlocked is true when it
// completes the sequence.
func (k *keyLock) write(v uint32) (unlocked bool, err error) {
	switch {
	case k.bad:
		return false, fmt.Errorf("%s locked by a wrong key until reset: %w", k.register, chipsim.ErrBusFault)
	case !k.locked:
		return false, nil
	case k.stage == 0 && v == k.key1:
		k.stage = 1
	case k.stage == 1 && v == k.key2:
		k.stage, k.locked = 0, false
		return true, nil
	default:
		k.stage, k.bad = 0, true
	}
	return false, nil
}

// optKeyLocked runs the OPTKEYR unlock sequence.
func (m *Model) optKeyLocked(v uint32) error {
	_, err := m.optKey.write(v)
	return err
}

// nsKeyLocked runs the NSKEYR unlock sequence (flash and OTP programming),
// which also clears NSCR.LOCK.
func (m *Model) nsKeyLocked(v uint32) error {
	unlocked, err := m.nsKey.write(v)
	if unlocked {
		m.nscr &^= targets.NSCRLock
	}
	return err
}

// writeOPTCRLocked handles OPTSTRT and OPTLOCK. While OPTLOCK is set the
// register ignores writes; OPTSTRT is refused while OPTCHANGEERR is set or
// an operation is running.
func (m *Model) writeOPTCRLocked(v uint32) {
	if m.optKey.locked {
		return
	}
	if v&targets.OPTCROptStart != 0 && !m.busy && m.nssr&targets.NSSROptChangeErr == 0 {
		m.busy = true
		m.busyUntil = m.now + m.cfg.OptionDelay
	}
	if v&targets.OPTCROptLock != 0 {
		m.optKey.locked = true
	}
}

// completeOptionChangeLocked ends an option change: validated, it copies
// every _PRG to _CUR; refused, it raises OPTCHANGEERR and keeps _CUR. It
// reports whether the change needs a reset that drops the debug link
// (PRODUCT_STATE or TZEN changed).
func (m *Model) completeOptionChangeLocked() bool {
	m.busy = false
	if err := m.validateOptionChangeLocked(); err != nil {
		m.nssr |= targets.NSSROptChangeErr
		m.lastRefusal = err
		return false
	}
	m.lastRefusal = nil
	m.prg["OTPBLR"] |= m.cur["OTPBLR"]
	stateChanged := targets.ProductStateOf(m.prg["OPTSR"]) != m.stateLocked()
	tzChanged := m.line.TrustZone && targets.TZENOf(m.prg["OPTSR2"]) != targets.TZENOf(m.cur["OPTSR2"])
	for k, v := range m.prg {
		m.cur[k] = v
	}
	return stateChanged || tzChanged
}

// validateOptionChangeLocked applies the rules of chosen.go.
func (m *Model) validateOptionChangeLocked() error {
	from, to := m.stateLocked(), targets.ProductStateOf(m.prg["OPTSR"])
	tzFrom, tzTo := targets.TZENAbsent, targets.TZENAbsent
	if m.line.TrustZone {
		tzFrom, tzTo = targets.TZENOf(m.cur["OPTSR2"]), targets.TZENOf(m.prg["OPTSR2"])
	}
	early := from == targets.StateOpen || from == targets.StateProvisioning
	if tzTo != tzFrom {
		if tzTo != targets.TZENEnabled && tzTo != targets.TZENDisabled {
			return fmt.Errorf("TZEN 0x%02X is not a valid encoding", uint8(tzTo))
		}
		if !early {
			return fmt.Errorf("TZEN cannot change in %v", from)
		}
	}
	if m.cfg.OpenOnlyToProvisioning && from == targets.StateOpen && to.Valid() && to.Rank() > targets.StateProvisioning.Rank() {
		return fmt.Errorf("OPEN may only move to PROVISIONING")
	}
	if err := m.line.Transition(from, to); err != nil {
		return err
	}
	if !early {
		for _, name := range protectedBeyondProvisioning {
			if cur, ok := m.cur[name]; ok && m.prg[name] != cur {
				return fmt.Errorf("%s cannot change in %v", name, from)
			}
		}
	}
	return nil
}

// ---- OTP and engineering area (0x08FFF000) ----

// readOTPArea serves OTP (first 2 KiB) and the engineering area after it.
func (m *Model) readOTPArea(off uint32, size chipsim.Size) (uint32, error) {
	if off < targets.H5OTPSize {
		var v uint32
		for i := uint32(0); i < uint32(size); i += 2 {
			idx := (off + i) / 2
			hw := uint32(otpErased)
			if m.otpWritten[idx] {
				hw = uint32(m.otp[idx])
			}
			v |= hw << (8 * i)
		}
		if size == chipsim.Byte {
			v = lanes(v, off&1, chipsim.Byte)
		}
		return v, nil
	}
	word := uint32(0xFFFFFFFF)
	switch off &^ 3 {
	case 0x800, 0x804, 0x808:
		word = m.cfg.UID[(off&^3-0x800)/4]
	case 0x80C:
		word = uint32(m.flashKB) | uint32(m.pkg)<<16
	}
	return lanes(word, off, size), nil
}

// writeOTPArea programs OTP 16-bit words once (rules in chosen.go); the
// engineering area is read-only.
func (m *Model) writeOTPArea(off uint32, size chipsim.Size, v uint32) error {
	if off >= targets.H5OTPSize {
		return fmt.Errorf("write to read-only engineering area 0x%08X: %w", targets.H5OTP+off, chipsim.ErrBusFault)
	}
	if m.nsKey.locked || m.nscr&targets.NSCRPG == 0 || size != chipsim.Halfword {
		m.nssr |= targets.NSSRPGSErr
		return nil
	}
	idx := off / 2
	if m.cur["OTPBLR"]&(1<<(idx/32)) != 0 || m.otpWritten[idx] {
		m.nssr |= targets.NSSRWRPErr
		return nil
	}
	m.otp[idx] = uint16(v)
	m.otpWritten[idx] = true
	m.nssr |= targets.NSSREndOfOp
	return nil
}

// readOBK serves the OBK area: the DA record at 0x100, what else
// RSSLIB_DataProvisioning stored, erased elsewhere.
func (m *Model) readOBK(off uint32, size chipsim.Size) (uint32, error) {
	var v uint32
	for i := uint32(0); i < uint32(size); i++ {
		b := byte(0xFF)
		o := off + i
		if o >= 0x100 && o < 0x100+uint32(len(m.obkDA)) {
			b = m.obkDA[o-0x100]
		}
		for dest, data := range m.obkOther {
			if d := dest - 0x0FFD0000; o >= d && o < d+uint32(len(data)) {
				b = data[o-d]
			}
		}
		v |= uint32(b) << (8 * i)
	}
	return v, nil
}

// ---- DBGMCU (0xE0044000 on AP0, 0x44024000 on AP1) ----

func (m *Model) readDBGMCU(off uint32) (uint32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch off {
	case targets.DBGMCUIDCode:
		return targets.EncodeIDCode(m.line.DevID, m.cfg.RevID), nil
	case targets.DBGMCUCR:
		return m.dbgCR, nil
	case targets.DBGMCUSR:
		enabled := uint32(1)
		if m.ap1EnabledLocked() {
			enabled |= 2
		}
		return enabled<<16 | dbgmcuAPPresent, nil
	case targets.DBGMCUAuthHost:
		return m.dbgAuthHost, nil
	case targets.DBGMCUAuthDev:
		return m.daDevReadLocked(), nil
	case targets.DBGMCUAuthAck:
		m.daStepLocked()
		return m.dbgAuthAck, nil
	}
	if off >= 0x008 && off < 0x028 {
		return m.dbgFreeze[(off-0x008)/4], nil
	}
	return 0, nil
}

// writeDBGMCU stores CR, the freeze registers and the DA mailbox (see
// chosen.go for the mailbox).
func (m *Model) writeDBGMCU(off, v uint32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch off {
	case targets.DBGMCUCR:
		m.dbgCR = v
	case targets.DBGMCUAuthHost:
		m.daHostWriteLocked(v)
	case targets.DBGMCUAuthAck:
		m.dbgAuthAck = v & 3
	default:
		if off >= 0x008 && off < 0x028 {
			m.dbgFreeze[(off-0x008)/4] = v
		}
	}
	return nil
}

// romTable is a minimal CoreSight class-1 ROM table with one entry, whose
// peripheral ID carries ST's JEP106 code and the DEV_ID as part number.
func romTable(base, entry uint32, devID uint16) *chipsim.Registers {
	return &chipsim.Registers{Base: base, Size: 0x1000, ReadFn: func(off uint32) (uint32, error) {
		switch off {
		case 0x000:
			return (entry-base)&^0xFFF | 3, nil
		case 0xFD0: // PIDR4: JEP106 continuation 0, one 4 KiB block
			return 0x00, nil
		case 0xFE0:
			return uint32(devID & 0xFF), nil
		case 0xFE4: // part[11:8], JEP106 id[3:0] (0x20 → 0)
			return uint32(devID>>8) & 0xF, nil
		case 0xFE8: // JEP106 id[6:4] = 2, JEDEC used
			return 0x0A, nil
		case 0xFF0:
			return 0x0D, nil
		case 0xFF4:
			return 0x10, nil
		case 0xFF8:
			return 0x05, nil
		case 0xFFC:
			return 0xB1, nil
		}
		return 0, nil
	}}
}
