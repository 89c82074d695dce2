package sim

import (
	"time"

	"github.com/stprobe/stprobe/targets/chipsim"
)

// DP CTRL/STAT bits.
const (
	CtrlCSYSPWRUPACK = 1 << 31
	CtrlCSYSPWRUPREQ = 1 << 30
	CtrlCDBGPWRUPACK = 1 << 29
	CtrlCDBGPWRUPREQ = 1 << 28
	CtrlCDBGRSTACK   = 1 << 27
	CtrlCDBGRSTREQ   = 1 << 26
	CtrlWDATAERR     = 1 << 7
	CtrlREADOK       = 1 << 6
	CtrlSTICKYERR    = 1 << 5
	CtrlSTICKYCMP    = 1 << 4
	CtrlSTICKYORUN   = 1 << 1
	CtrlORUNDETECT   = 1 << 0

	ctrlWritable = CtrlCSYSPWRUPREQ | CtrlCDBGPWRUPREQ | CtrlCDBGRSTREQ | 0x00FFFF00 | 0xC | CtrlORUNDETECT
)

// DP ABORT bits.
const (
	AbortDAPABORT   = 1 << 0
	AbortSTKCMPCLR  = 1 << 1
	AbortSTKERRCLR  = 1 << 2
	AbortWDERRCLR   = 1 << 3
	AbortORUNERRCLR = 1 << 4
)

// MEM-AP register addresses and CSW fields.
const (
	APRegCSW   = 0x00
	APRegTAR   = 0x04
	APRegTAR2  = 0x08
	APRegDRW   = 0x0C
	APRegBD0   = 0x10
	APRegBD3   = 0x1C
	APRegBASE2 = 0xF0
	APRegCFG   = 0xF4
	APRegBASE  = 0xF8
	APRegIDR   = 0xFC

	CSWSizeMask      = 0x7
	CSWAddrIncMask   = 0x30
	CSWAddrIncSingle = 0x10
	CSWDeviceEn      = 1 << 6
	CSWTrInProg      = 1 << 7
	cswWritable      = 0xFF800F37

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
	if v&CtrlCDBGPWRUPREQ != 0 && f.now() >= f.dp.dbgAckAt {
		v |= CtrlCDBGPWRUPACK
	}
	if v&CtrlCSYSPWRUPREQ != 0 && f.now() >= f.dp.sysAckAt {
		v |= CtrlCSYSPWRUPACK
	}
	if v&CtrlCDBGRSTREQ != 0 {
		v |= CtrlCDBGRSTACK
	}
	return v
}

func (f *firmware) poweredUp() bool {
	return f.ctrlStat()&CtrlCDBGPWRUPACK != 0
}

// writeCtrlStat applies a CTRL/STAT write; a rising request bit starts the
// power-up delay.
func (f *firmware) writeCtrlStat(v uint32) {
	old := f.dp.ctrl
	f.dp.ctrl = old&^ctrlWritable | v&ctrlWritable
	if v&CtrlCDBGPWRUPREQ != 0 && old&CtrlCDBGPWRUPREQ == 0 {
		f.dp.dbgAckAt = f.now() + PowerUpDelay
	}
	if v&CtrlCSYSPWRUPREQ != 0 && old&CtrlCSYSPWRUPREQ == 0 {
		f.dp.sysAckAt = f.now() + PowerUpDelay
	}
}

func (f *firmware) writeAbort(v uint32) {
	if v&AbortSTKCMPCLR != 0 {
		f.dp.ctrl &^= CtrlSTICKYCMP
	}
	if v&AbortSTKERRCLR != 0 {
		f.dp.ctrl &^= CtrlSTICKYERR
	}
	if v&AbortWDERRCLR != 0 {
		f.dp.ctrl &^= CtrlWDATAERR
	}
	if v&AbortORUNERRCLR != 0 {
		f.dp.ctrl &^= CtrlSTICKYORUN
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

// dpRead reads DP register addr (bank in bits [7:4]).
func (f *firmware) dpRead(addr uint16) (uint32, ack) {
	if !f.linkUp() {
		f.txn(1)
		return 0, ackNone
	}
	reg, bank := addr&0xC, uint32(addr>>4)&0xF
	if reg == 0x4 {
		f.selectDPBank(bank)
	}
	f.txn(1)
	switch reg {
	case 0x0:
		return f.chip.DPIDR(), ackOK
	case 0x4:
		switch bank {
		case 0:
			return f.ctrlStat(), ackOK
		case 3:
			return 0x00000001, ackOK // DLPIDR: protocol version 1
		}
		return 0, ackOK
	case 0x8, 0xC:
		return f.dp.rdbuff, ackOK
	}
	return 0, ackOK
}

// dpWrite writes DP register addr (bank in bits [7:4]).
func (f *firmware) dpWrite(addr uint16, v uint32) ack {
	if !f.linkUp() {
		f.txn(1)
		return ackNone
	}
	reg, bank := addr&0xC, uint32(addr>>4)&0xF
	if reg == 0x4 {
		f.selectDPBank(bank)
	}
	f.txn(1)
	switch reg {
	case 0x0:
		f.writeAbort(v)
	case 0x4:
		if bank == 0 {
			f.writeCtrlStat(v)
		}
	case 0x8:
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
	if f.dp.ctrl&CtrlSTICKYERR != 0 {
		f.txn(1)
		return ackFault
	}
	if !f.poweredUp() {
		f.txn(1)
		f.dp.ctrl |= CtrlSTICKYERR
		return ackFault
	}
	return ackOK
}

// fault records a bus fault on the DP.
func (f *firmware) fault() ack {
	f.dp.ctrl |= CtrlSTICKYERR
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
	case APRegCSW:
		v = st.csw
		if ap.Enabled() {
			v |= CSWDeviceEn
		}
	case APRegTAR:
		v = st.tar
	case APRegDRW:
		var a ack
		v, a = f.drw(ap, st, st.tar, false, 0)
		if a != ackOK {
			return 0, a
		}
		st.tar = incTAR(st.tar, st.csw)
	case APRegBD0, APRegBD0 + 4, APRegBD0 + 8, APRegBD3:
		var a ack
		v, a = f.drw(ap, st, st.tar&^0xF|uint32(reg&0xC), false, 0)
		if a != ackOK {
			return 0, a
		}
	case APRegCFG:
		v = ap.CFG()
	case APRegBASE:
		v = ap.BASE()
	case APRegIDR:
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
	case APRegCSW:
		st.csw = v & cswWritable
	case APRegTAR:
		st.tar = v
	case APRegDRW:
		if _, a := f.drw(ap, st, st.tar, true, v); a != ackOK {
			return a
		}
		st.tar = incTAR(st.tar, st.csw)
	case APRegBD0, APRegBD0 + 4, APRegBD0 + 8, APRegBD3:
		if _, a := f.drw(ap, st, st.tar&^0xF|uint32(reg&0xC), true, v); a != ackOK {
			return a
		}
	}
	return ackOK
}

// cswSize returns the access size CSW selects (word for reserved values).
func cswSize(csw uint32) chipsim.Size {
	switch csw & CSWSizeMask {
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
	if csw&CSWAddrIncMask == 0 {
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
