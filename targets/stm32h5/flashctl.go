package stm32h5

import (
	"fmt"
	"time"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// The main-flash controller: the NSKEYR-unlocked FLASH_NSCR with its
// program (PG, write buffer, FW) and erase (SER/BER/MER, SNB, BKSEL, STRT)
// requests, the NSSR flags they raise, and the 8 KiB sectors of the two
// banks with SWAP_BANK. Facts are in targets/h5flash.go with their
// sources; what the sources leave open is chosen in chosen_flash.go.
//
// m.flash is keyed by PHYSICAL offset: bank 1 from 0, bank 2 from the bank
// size. A quad-word is programmed once any of its words is in m.flash.

// wbuf is the 128-bit write buffer (NSSR.WBNE while it holds bytes).
type wbuf struct {
	active bool
	secure bool   // filled through the secure alias (SECCR.PG)
	quad   uint32 // physical offset of the quad-word it fills
	data   [targets.H5QuadWord]byte
	filled uint16 // one bit per byte written
}

// flashOp is the program or erase the controller is busy with.
type flashOp struct {
	secure  bool // started through SECCR (its EOP goes to SECSR)
	until   time.Duration
	erase   []targets.Sector // sectors an erase clears when it ends
	program bool
}

// geometry is the flash of this board.
func (m *Model) geometry() targets.H5Flash { return targets.H5FlashOf(m.line, int(m.flashKB)) }

// swappedLocked reports whether SWAP_BANK is in force.
func (m *Model) swappedLocked() bool { return m.cur["OPTSR"]&targets.OPTSRSwapBank != 0 }

// physLocked maps an offset from the flash base to its physical offset.
func (m *Model) physLocked(off uint32) uint32 {
	g := m.geometry()
	s, in := g.SectorAt(off, m.swappedLocked())
	return uint32(s.Bank-1)*g.BankSize() + in
}

// sectorOfPhys is the sector holding physical offset p.
func (m *Model) sectorOfPhys(p uint32) targets.Sector {
	s, _ := m.geometry().SectorAt(p, false)
	return s
}

// The two register sets: FLASH_NSKEYR/NSCR/NSSR/NSCCR drive non-secure
// operations, FLASH_SECKEYR/SECCR/SECSR/SECCCR (secure register alias,
// TrustZone lines) secure ones; their bits are the same (SVD).

// lockedAs reports whether the control register of one side is locked.
func (m *Model) lockedAs(secure bool) bool {
	if secure {
		return m.secKey.locked
	}
	return m.nsKey.locked
}

// crAs and srAs are the control and status registers of one side.
func (m *Model) crAs(secure bool) *uint32 {
	if secure {
		return &m.seccr
	}
	return &m.nscr
}

func (m *Model) srAs(secure bool) *uint32 {
	if secure {
		return &m.secsr
	}
	return &m.nssr
}

// secsrLocked is FLASH_SECSR: BSY is the flash's, WBNE the secure buffer's.
func (m *Model) secsrLocked() uint32 {
	v := m.secsr
	if m.busy || m.op != nil {
		v |= targets.NSSRBusy
	}
	if m.buf.active && m.buf.secure {
		v |= targets.NSSRWriteBuf
	}
	return v
}

// readFlashSec serves the secure register alias: SECSR and SECCR there,
// the rest as the non-secure block.
func (m *Model) readFlashSec(off uint32, size chipsim.Size) (uint32, error) {
	switch off &^ 3 {
	case targets.FlashSECSR:
		return lanes(m.secsrLocked(), off, size), nil
	case targets.FlashSECCR:
		return lanes(m.seccr, off, size), nil
	}
	return m.readFlash(off, size)
}

// writeFlashSec serves writes to the secure register alias.
func (m *Model) writeFlashSec(off uint32, size chipsim.Size, v uint32) error {
	switch w := off &^ 3; w {
	case targets.FlashSECKEYR:
		return m.secKeyLocked(merge(0, off, size, v))
	case targets.FlashSECCR:
		if !m.secKey.locked {
			m.writeCRLocked(true, merge(m.seccr, off, size, v))
		}
		return nil
	case targets.FlashSECCCR:
		m.secsr &^= merge(0, off, size, v) & 0x00FF0000
		return nil
	case targets.FlashSECSR:
		return nil // read-only
	}
	return m.writeFlash(off, size, v)
}

// secKeyLocked runs the SECKEYR unlock sequence (the same keys as NSKEYR,
// HAL HAL_FLASH_Unlock on a secure build), which also clears SECCR.LOCK.
func (m *Model) secKeyLocked(v uint32) error {
	unlocked, err := m.secKey.write(v)
	if unlocked {
		m.seccr &^= targets.NSCRLock
	}
	return err
}

// writeFlashMemory serves a write to the user flash through the
// non-secure alias, writeFlashMemorySec through the secure one.
func (m *Model) writeFlashMemory(off uint32, size chipsim.Size, v uint32) error {
	return m.writeFlashMemoryAs(false, off, size, v)
}

func (m *Model) writeFlashMemorySec(off uint32, size chipsim.Size, v uint32) error {
	return m.writeFlashMemoryAs(true, off, size, v)
}

// writeFlashMemoryAs: with PG set (in the CR of the alias's side) a write
// fills the write buffer; a full buffer programs its quad-word.
func (m *Model) writeFlashMemoryAs(secure bool, off uint32, size chipsim.Size, v uint32) error {
	sr := m.srAs(secure)
	if m.op != nil && !m.op.program {
		*sr |= targets.NSSRPGSErr // chosen: a write during an erase
		return nil
	}
	m.stallForProgramLocked()
	cr := *m.crAs(secure)
	if m.lockedAs(secure) || cr&targets.NSCRPG == 0 || cr&(targets.NSCRSER|targets.NSCRBER|targets.NSCRMER) != 0 {
		*sr |= targets.NSSRPGSErr // chosen: a write without PG, or with an erase request
		m.buf = wbuf{}
		return nil
	}
	p := m.physLocked(off)
	quad := p &^ (targets.H5QuadWord - 1)
	if m.buf.active && (m.buf.quad != quad || m.buf.secure != secure) {
		*sr |= targets.NSSRIncErr // chosen: a write outside the buffer's quad-word (or side)
		m.buf = wbuf{}
		return nil
	}
	if !m.buf.active {
		m.buf = wbuf{active: true, secure: secure, quad: quad}
	}
	for i := uint32(0); i < uint32(size); i++ {
		b := (p & (targets.H5QuadWord - 1)) + i
		if m.buf.filled&(1<<b) != 0 {
			*sr |= targets.NSSRStrobeErr // the same byte twice (SVD: NSSR.STRBERR)
			m.buf = wbuf{}
			return nil
		}
		m.buf.filled |= 1 << b
		m.buf.data[b] = byte(v >> (8 * i))
	}
	if m.buf.filled == 0xFFFF {
		m.commitBufferLocked()
	}
	return nil
}

// commitBufferLocked programs the buffer's quad-word (bytes not written
// are 1s, as after FW) unless the sector is protected or the quad-word was
// programmed since its erase.
func (m *Model) commitBufferLocked() {
	b := m.buf
	m.buf = wbuf{}
	sr := m.srAs(b.secure)
	if why := m.protectedLocked(m.sectorOfPhys(b.quad), b.secure); why != "" {
		*sr |= targets.NSSRWRPErr
		m.lastFlashRefusal = fmt.Errorf("program at physical offset 0x%X: %s", b.quad, why)
		return
	}
	if m.quadProgrammedLocked(b.quad) {
		*sr |= targets.NSSRPGSErr // chosen: a quad-word programmed twice (its ECC is written once)
		m.lastFlashRefusal = fmt.Errorf("program at physical offset 0x%X: the quad-word is not erased", b.quad)
		return
	}
	for i := uint32(0); i < targets.H5QuadWord; i += 4 {
		w := uint32(0)
		for j := uint32(0); j < 4; j++ {
			c := byte(0xFF)
			if b.filled&(1<<(i+j)) != 0 {
				c = b.data[i+j]
			}
			w |= uint32(c) << (8 * j)
		}
		m.flash[b.quad+i] = w
	}
	m.op = &flashOp{secure: b.secure, until: m.now + quadWordProgramTime, program: true}
}

// quadProgrammedLocked reports whether the quad-word at physical offset q
// was programmed since its sector was erased.
func (m *Model) quadProgrammedLocked(q uint32) bool {
	for i := uint32(0); i < targets.H5QuadWord; i += 4 {
		if _, ok := m.flash[q+i]; ok {
			return true
		}
	}
	return false
}

// protectedLocked says why sector s may not be programmed or erased
// through one side's registers ("" when it may): WRP (WRPxR_CUR bit
// clear); with TrustZone enabled, a secure sector (SECWMxR_CUR) through
// the non-secure registers, or a non-secure one through the secure
// registers (chosen).
func (m *Model) protectedLocked(s targets.Sector, secure bool) string {
	g := m.geometry()
	bank := fmt.Sprint(s.Bank)
	if g.WRPProtected(m.cur["WRP"+bank+"R"], s.Index) {
		return fmt.Sprintf("%v is write-protected (WRP%sR)", s, bank)
	}
	tz := m.line.TrustZone && targets.TZENOf(m.cur["OPTSR2"]).Enabled()
	inSec := tz && g.InArea(m.cur["SECWM"+bank+"R"], s.Index)
	switch {
	case inSec && !secure:
		return fmt.Sprintf("%v is secure (SECWM%sR) and the request came through the non-secure registers", s, bank)
	case !inSec && secure:
		return fmt.Sprintf("%v is non-secure and the request came through the secure registers", s)
	}
	return ""
}

// stallForProgramLocked ends a quad-word program still running: the bus
// holds the access until then (chosen), and the time goes to the stall
// the simulated probe adds to the exchange.
func (m *Model) stallForProgramLocked() {
	if m.op == nil || !m.op.program {
		return
	}
	if d := m.op.until - m.now; d > 0 {
		m.stall += d
	}
	m.finishOpLocked()
}

// writeCRLocked handles a write to an unlocked NSCR (or SECCR): FW
// flushes the side's write buffer, STRT starts an erase.
func (m *Model) writeCRLocked(secure bool, v uint32) {
	const keep = targets.NSCRPG | targets.NSCRSER | targets.NSCRBER | targets.NSCRMER | targets.NSCRBKSEL |
		targets.NSCRSNBMask<<targets.NSCRSNBShift | 0x00FF0000 // the interrupt enables
	cr := m.crAs(secure)
	*cr = v&keep | *cr&targets.NSCRStart
	if v&targets.NSCRLock != 0 {
		if secure {
			m.secKey.locked = true
		} else {
			m.nsKey.locked = true
		}
		*cr |= targets.NSCRLock
	}
	if v&targets.NSCRFW != 0 && m.buf.active && m.buf.secure == secure {
		m.stallForProgramLocked()
		m.commitBufferLocked()
	}
	if v&targets.NSCRStart != 0 && !m.lockedAs(secure) {
		m.startEraseLocked(secure, v)
	}
}

// startEraseLocked checks and starts the erase v requests.
func (m *Model) startEraseLocked(secure bool, v uint32) {
	sr := m.srAs(secure)
	m.stallForProgramLocked()
	n := 0
	for _, b := range []uint32{targets.NSCRSER, targets.NSCRBER, targets.NSCRMER} {
		if v&b != 0 {
			n++
		}
	}
	if n != 1 || v&targets.NSCRPG != 0 || m.op != nil || m.busy || m.buf.active {
		// SVD NSCR.SER/BER/MER: two requests at once raise PGSERR; chosen:
		// PG with an erase, STRT while busy, or bytes in the write buffer too.
		*sr |= targets.NSSRPGSErr
		return
	}
	g := m.geometry()
	bank := 1
	if v&targets.NSCRBKSEL != 0 {
		bank = 2
	}
	var sectors []targets.Sector
	switch {
	case v&targets.NSCRSER != 0:
		snb := int(v >> targets.NSCRSNBShift & targets.NSCRSNBMask)
		if snb >= g.SectorsPerBank() {
			*sr |= targets.NSSRPGSErr // chosen: a sector number past the bank
			return
		}
		sectors = []targets.Sector{{Bank: bank, Index: snb}}
	case v&targets.NSCRBER != 0:
		sectors = bankSectors(bank, g.SectorsPerBank())
	default:
		sectors = append(bankSectors(1, g.SectorsPerBank()), bankSectors(2, g.SectorsPerBank())...)
	}
	for _, s := range sectors {
		// SVD NSCR.BER/MER: a bank or mass erase with a protected sector
		// raises WRPERR; the sector erase likewise.
		if why := m.protectedLocked(s, secure); why != "" {
			*sr |= targets.NSSRWRPErr
			m.lastFlashRefusal = fmt.Errorf("erase: %s", why)
			return
		}
	}
	*m.crAs(secure) |= targets.NSCRStart
	m.op = &flashOp{secure: secure, until: m.now + time.Duration(len(sectors))*sectorEraseTime, erase: sectors}
}

func bankSectors(bank, n int) []targets.Sector {
	s := make([]targets.Sector, n)
	for i := range s {
		s[i] = targets.Sector{Bank: bank, Index: i}
	}
	return s
}

// finishOpLocked ends the running program or erase: the erase clears its
// sectors, STRT drops, EOP is set.
func (m *Model) finishOpLocked() {
	op := m.op
	if op == nil {
		return
	}
	m.op = nil
	g := m.geometry()
	for _, s := range op.erase {
		from := uint32(s.Bank-1)*g.BankSize() + uint32(s.Index)*targets.H5SectorSize
		m.eraseFlashLocked(from, from+targets.H5SectorSize)
	}
	*m.crAs(op.secure) &^= targets.NSCRStart
	*m.srAs(op.secure) |= targets.NSSREndOfOp
}

// tickFlashLocked ends a program or erase whose time is over.
func (m *Model) tickFlashLocked() {
	if m.op != nil && m.now >= m.op.until {
		m.finishOpLocked()
	}
}

// abortFlashLocked is a reset during a program or erase: chosen, the
// operation is lost (its sectors keep what they held) and the buffer
// emptied.
func (m *Model) abortFlashLocked() {
	m.op = nil
	m.buf = wbuf{}
}

// TakeStall returns the time the bus held accesses since the last call
// (a write waiting for the quad-word program before it) and forgets it;
// the simulated probe adds it to the exchange's modelled time.
func (m *Model) TakeStall() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.stall
	m.stall = 0
	return d
}

// FlashBytes returns n bytes of the user flash at addr (either alias) as
// the core reads them, with SWAP_BANK applied.
func (m *Model) FlashBytes(addr uint32, n int) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]byte, n)
	base := uint32(flashBase)
	if addr >= flashBaseSec {
		base = flashBaseSec
	}
	for i := range out {
		v, _ := m.readFlashMemory(addr-base+uint32(i), chipsim.Byte)
		out[i] = byte(v)
	}
	return out
}
