package sim

import (
	"time"

	"github.com/stprobe/stprobe/adi"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// Layer-specific CTRL/STAT and CSW values of the simulated DP and MEM-APs.
const (
	// ctrlWritable are the CTRL/STAT bits a host can write.
	ctrlWritable = adi.CtrlCSysPwrUpReq | adi.CtrlCDbgPwrUpReq | adi.CtrlCDbgRstReq | 0x00FFFF00 | 0xC | adi.CtrlOrunDetect
	// cswWritable are the CSW bits a host can write.
	cswWritable = 0xFF800F37

	// DefaultCSW is the CSW[31:8] the firmware uses when a memory command
	// carries none (CSW bytes 0, or firmware before V2J32/V3J2): debug
	// master, privileged, secure (HNONSEC 0).
	DefaultCSW = 0xA2000000
)

// PowerUpDelay is how long (modelled) the target takes to raise
// CDBGPWRUPACK/CSYSPWRUPACK after the request bits are set; a host reading
// CTRL/STAT right after requesting power-up has to poll.
const PowerUpDelay = 1500 * time.Microsecond

// Wire cost of SWD transactions: 8 request bits, turnaround, 3 ACK bits,
// turnaround, 32 data bits and parity, plus idle cycles after each.
const (
	bitsPerTransaction = 46
	idleBits           = 2
	lineResetBits      = 50 + 2 + 16 + 50 + 2 // line reset, JTAG-to-SWD, line reset, idle
)

// ack is the outcome of one SWD transaction.
type ack int

const (
	ackOK    ack = iota
	ackWait      // the target answered WAIT
	ackFault     // FAULT (sticky error set)
	ackNone      // nothing drives the line
)

// dpState is the SW-DP of the target as the probe drives it.
type dpState struct {
	ctrl               uint32 // writable bits and sticky flags, without the ACK bits
	dbgAckAt, sysAckAt time.Duration
	sel                uint32
	rdbuff             uint32
}

// apState holds the MEM-AP registers the probe writes.
type apState struct {
	csw uint32
	tar uint32
}

func (f *firmware) now() time.Duration { return f.p.now }

// txn counts n SWD transactions.
func (f *firmware) txn(n int) { f.bits += int64(n) * (bitsPerTransaction + idleBits) }

// linkUp reports whether the target's DP answers: a chip is wired, it
// drives SWDIO, and a line reset has been done since its last link reset.
func (f *firmware) linkUp() bool {
	return f.chip != nil && f.entered && f.chip.SWDResponds()
}

// checkEpoch drops the DP state when the chip went through a reset that
// dropped the debug link: the host has to ENTER again.
func (f *firmware) checkEpoch() {
	if f.chip == nil {
		return
	}
	if e := f.chip.LinkEpoch(); e != f.epoch {
		f.epoch = e
		f.entered = false
		f.dp = dpState{}
		for i := range f.aps {
			f.aps[i] = apState{}
		}
	}
}

// ctrlStat returns CTRL/STAT as read now.
func (f *firmware) ctrlStat() uint32 {
	v := f.dp.ctrl
	if v&adi.CtrlCDbgPwrUpReq != 0 && f.now() >= f.dp.dbgAckAt {
		v |= adi.CtrlCDbgPwrUpAck
	}
	if v&adi.CtrlCSysPwrUpReq != 0 && f.now() >= f.dp.sysAckAt {
		v |= adi.CtrlCSysPwrUpAck
	}
	if v&adi.CtrlCDbgRstReq != 0 {
		v |= adi.CtrlCDbgRstAck
	}
	return v
}

func (f *firmware) poweredUp() bool {
	return f.ctrlStat()&adi.CtrlCDbgPwrUpAck != 0
}

// writeCtrlStat applies a CTRL/STAT write; a rising request bit starts the
// power-up delay.
func (f *firmware) writeCtrlStat(v uint32) {
	old := f.dp.ctrl
	f.dp.ctrl = old&^ctrlWritable | v&ctrlWritable
	if v&adi.CtrlCDbgPwrUpReq != 0 && old&adi.CtrlCDbgPwrUpReq == 0 {
		f.dp.dbgAckAt = f.now() + PowerUpDelay
	}
	if v&adi.CtrlCSysPwrUpReq != 0 && old&adi.CtrlCSysPwrUpReq == 0 {
		f.dp.sysAckAt = f.now() + PowerUpDelay
	}
}

func (f *firmware) writeAbort(v uint32) {
	if v&adi.AbortStkCmpClr != 0 {
		f.dp.ctrl &^= adi.CtrlStickyCmp
	}
	if v&adi.AbortStkErrClr != 0 {
		f.dp.ctrl &^= adi.CtrlStickyErr
	}
	if v&adi.AbortWDErrClr != 0 {
		f.dp.ctrl &^= adi.CtrlWDataErr
	}
	if v&adi.AbortOrunErrClr != 0 {
		f.dp.ctrl &^= adi.CtrlStickyOrun
	}
}

// selectDPBank makes sure SELECT.DPBANKSEL is bank (one SELECT write if not).
func (f *firmware) selectDPBank(bank uint32) {
	if f.dp.sel&0xF != bank {
		f.txn(1)
		f.dp.sel = f.dp.sel&^0xF | bank
	}
}

// selectAP makes sure SELECT addresses AP n, register bank of reg.
func (f *firmware) selectAP(n uint8, reg uint16) {
	want := uint32(n)<<24 | uint32(reg)&0xF0 | f.dp.sel&0xF
	if f.dp.sel != want {
		f.txn(1)
		f.dp.sel = want
	}
}

// dpAccess starts an access to DP register addr (bank in bits [7:4]):
// one transaction on the wire, after selecting the bank for CTRL/STAT. up
// is false when the link is down (the transaction gets no answer).
func (f *firmware) dpAccess(addr uint16) (reg uint16, bank uint32, up bool) {
	if !f.linkUp() {
		f.txn(1)
		return 0, 0, false
	}
	reg, bank = addr&0xC, uint32(addr>>4)&0xF
	if reg == adi.DPCtrlStat {
		f.selectDPBank(bank)
	}
	f.txn(1)
	return reg, bank, true
}

// dpRead reads DP register addr (bank in bits [7:4]).
func (f *firmware) dpRead(addr uint16) (uint32, ack) {
	reg, bank, up := f.dpAccess(addr)
	if !up {
		return 0, ackNone
	}
	switch reg {
	case adi.DPIDR:
		return f.chip.DPIDR(), ackOK
	case adi.DPCtrlStat:
		switch bank {
		case 0:
			return f.ctrlStat(), ackOK
		case 3:
			return 0x00000001, ackOK // DLPIDR: protocol version 1
		}
		return 0, ackOK
	case adi.DPResend, adi.DPRdBuff:
		return f.dp.rdbuff, ackOK
	}
	return 0, ackOK
}

// dpWrite writes DP register addr (bank in bits [7:4]).
func (f *firmware) dpWrite(addr uint16, v uint32) ack {
	reg, bank, up := f.dpAccess(addr)
	if !up {
		return ackNone
	}
	switch reg {
	case adi.DPAbort:
		f.writeAbort(v)
	case adi.DPCtrlStat:
		if bank == 0 {
			f.writeCtrlStat(v)
		}
	case adi.DPSelect:
		f.dp.sel = v
	}
	return ackOK
}

// apAccessible reports whether an AP transaction gets past the DP.
func (f *firmware) apAccessible() ack {
	if !f.linkUp() {
		f.txn(1)
		return ackNone
	}
	if f.dp.ctrl&adi.CtrlStickyErr != 0 {
		f.txn(1)
		return ackFault
	}
	if !f.poweredUp() {
		f.txn(1)
		f.dp.ctrl |= adi.CtrlStickyErr
		return ackFault
	}
	return ackOK
}

// fault records a bus fault on the DP.
func (f *firmware) fault() ack {
	f.dp.ctrl |= adi.CtrlStickyErr
	return ackFault
}

// apRead reads MEM-AP register reg of AP n (a posted read plus RDBUFF).
func (f *firmware) apRead(n uint8, reg uint16) (uint32, ack) {
	if a := f.apAccessible(); a != ackOK {
		return 0, a
	}
	f.selectAP(n, reg)
	f.txn(2)
	ap := f.chip.AP(n)
	if ap == nil {
		f.dp.rdbuff = 0
		return 0, ackOK // no AP there: reads as zero
	}
	st := &f.aps[n]
	var v uint32
	switch reg & 0xFC {
	case adi.APCSW:
		v = st.csw
		if ap.Enabled() {
			v |= adi.CSWDeviceEn
		}
	case adi.APTAR:
		v = st.tar
	case adi.APDRW:
		var a ack
		v, a = f.drw(ap, st, st.tar, false, 0)
		if a != ackOK {
			return 0, a
		}
		st.tar = incTAR(st.tar, st.csw)
	case adi.APBD0, adi.APBD0 + 4, adi.APBD0 + 8, adi.APBD3:
		var a ack
		v, a = f.drw(ap, st, st.tar&^0xF|uint32(reg&0xC), false, 0)
		if a != ackOK {
			return 0, a
		}
	case adi.APCFG:
		v = ap.CFG()
	case adi.APBASE:
		v = ap.BASE()
	case adi.APIDR:
		v = ap.IDR()
	}
	f.dp.rdbuff = v
	return v, ackOK
}

// apWrite writes MEM-AP register reg of AP n.
func (f *firmware) apWrite(n uint8, reg uint16, v uint32) ack {
	if a := f.apAccessible(); a != ackOK {
		return a
	}
	f.selectAP(n, reg)
	f.txn(1)
	ap := f.chip.AP(n)
	if ap == nil {
		return ackOK // writes to nothing are ignored
	}
	st := &f.aps[n]
	switch reg & 0xFC {
	case adi.APCSW:
		st.csw = v & cswWritable
	case adi.APTAR:
		st.tar = v
	case adi.APDRW:
		if _, a := f.drw(ap, st, st.tar, true, v); a != ackOK {
			return a
		}
		st.tar = incTAR(st.tar, st.csw)
	case adi.APBD0, adi.APBD0 + 4, adi.APBD0 + 8, adi.APBD3:
		if _, a := f.drw(ap, st, st.tar&^0xF|uint32(reg&0xC), true, v); a != ackOK {
			return a
		}
	}
	return ackOK
}

// cswSize returns the access size CSW selects (word for reserved values).
func cswSize(csw uint32) chipsim.Size {
	switch csw & adi.CSWSizeMask {
	case 0:
		return chipsim.Byte
	case 1:
		return chipsim.Halfword
	}
	return chipsim.Word
}

// incTAR advances TAR after a DRW access when CSW asks for it; the
// increment wraps inside the 1 KiB block, as MEM-APs are allowed to.
func incTAR(tar, csw uint32) uint32 {
	if csw&adi.CSWAddrIncMask == 0 {
		return tar
	}
	next := tar + uint32(cswSize(csw))
	return tar&^0x3FF | next&0x3FF
}

// drw performs one data access at addr with the AP's CSW; data travels on
// the byte lanes of addr (ADI: lane = addr & 3).
func (f *firmware) drw(ap chipsim.AP, st *apState, addr uint32, write bool, v uint32) (uint32, ack) {
	size := cswSize(st.csw)
	aligned := addr &^ (uint32(size) - 1)
	shift := 8 * (aligned & 3)
	mask := uint32(0xFFFFFFFF)
	if size != chipsim.Word {
		mask = 1<<(8*uint(size)) - 1
	}
	if !ap.Enabled() {
		return 0, f.fault()
	}
	if write {
		if err := ap.Write(aligned, size, (v>>shift)&mask, st.csw); err != nil {
			return 0, f.fault()
		}
		return 0, ackOK
	}
	r, err := ap.Read(aligned, size, st.csw)
	if err != nil {
		return 0, f.fault()
	}
	return (r & mask) << shift, ackOK
}
