package sim

import (
	"time"

	"github.com/stprobe/stprobe/adi"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// Target voltage encoding: GET_TARGET_VOLTAGE answers adc_ref and adc_vt
// with V = 2 × adc_vt × 1.2 / adc_ref; with adc_ref = 2400 the target
// voltage in millivolts is adc_vt.
const adcRef = 2400

// V3 clock lists (kHz, fastest first) reported by GET_COM_FREQ.
var v3JTAGKHz = []int{21333, 16000, 12000, 8000, 1000, 500, 100}

// firmware is the probe's firmware state. Every method runs under the
// Probe's lock.
type firmware struct {
	p    *Probe
	v    proto.Version
	chip chipsim.Chip

	mode    proto.Mode
	khz     int // SWD clock
	jtagKHz int
	entered bool // SWD line reset done since the chip's last link reset
	epoch   uint64
	dp      dpState
	aps     [256]apState
	opened  [256]bool
	trace   bool

	lastStatus proto.Status
	lastFault  uint32
	misc       []miscResult

	waitLeft int // injected WAIT answers still to give

	// noTARRewrite makes memory commands rely on the AP's TAR
	// auto-increment across 1 KiB boundaries, as the firmware is said to
	// do in JTAG mode (tests use it to show that the wrap is modelled).
	noTARRewrite bool

	debugCount [256]int // DEBUG sub-commands handled, for tests

	bits  int64         // SWD bits of the current exchange
	extra time.Duration // other modelled time of the current exchange
}

type miscResult struct {
	value  uint32
	status proto.Status
}

func (f *firmware) init(p *Probe) {
	f.p = p
	f.v = p.cfg.Firmware
	f.chip = p.cfg.Chip
	f.mode = proto.ModeMass
	if p.cfg.StartInDFU {
		f.mode = proto.ModeDFU
	}
	if f.v3() {
		f.khz = 1000
	} else {
		f.khz = proto.V2DefaultKHz
	}
	f.jtagKHz = 1125
	f.lastStatus = proto.StatusOK
	if f.chip != nil {
		f.epoch = f.chip.LinkEpoch()
	}
}

func (f *firmware) v3() bool { return f.v.Hardware >= 3 }

func status2(s proto.Status) []byte { return []byte{byte(s), 0} }

func status8(s proto.Status, v uint32) []byte {
	b := make([]byte, 8)
	b[0] = byte(s)
	put32(b[4:], v)
	return b
}

// handle runs one command; the reply is nil with false for commands
// without an IN phase.
func (f *firmware) handle(cmd [16]byte, out []byte) ([]byte, bool) {
	f.checkEpoch()
	switch cmd[0] {
	case proto.CmdGetVersion:
		return proto.EncodeVersion(f.v), true
	case proto.CmdGetVersionExt:
		if !f.v3() {
			return nil, false
		}
		return proto.EncodeVersionExt(f.v), true
	case proto.CmdGetCurrentMode:
		return []byte{byte(f.mode), 0}, true
	case proto.CmdGetTargetVoltage:
		if !f.v.HasTargetVoltage() {
			return nil, false
		}
		b := make([]byte, 8)
		put32(b[0:], adcRef)
		mv := f.p.cfg.TargetMillivolts
		if mv < 0 {
			mv = 0
		}
		put32(b[4:], uint32(mv))
		return b, true
	case proto.CmdDFU:
		if cmd[1] == proto.DFUExit {
			f.mode = proto.ModeMass
		}
		return nil, false
	case proto.CmdSWIM:
		if cmd[1] == proto.SWIMExit && f.mode == proto.ModeSWIM {
			f.mode = proto.ModeMass
		}
		return nil, false
	case proto.CmdDebug:
		return f.debug(cmd, out)
	}
	return nil, false // unknown top-level command: the probe stays silent
}

// unknownCmd is the reply to a DEBUG sub-command the firmware does not have.
func unknownCmd() ([]byte, bool) { return status2(proto.StatusUnknownCmd), true }

// needsDebugMode lists the sub-commands that only work after ENTER.
func needsDebugMode(sub byte) bool {
	switch sub {
	case proto.DebugExit, proto.DebugEnter, proto.DebugDriveNRST, proto.DebugGetLastRWStatus,
		proto.DebugGetLastRWStatus2, proto.DebugSWDSetFreq, debugJTAGSetFreq,
		proto.DebugSetComFreq, proto.DebugGetComFreq, debugSwitchStlinkFreq, debugGetBoardIDs:
		return false
	}
	return true
}

// Sub-commands not named in package proto.
const (
	debugStartTrace       = 0x40
	debugStopTrace        = 0x41
	debugGetTraceNB       = 0x42
	debugJTAGSetFreq      = 0x44
	debugReadAllRegs      = 0x3A
	debugGetBoardIDs      = 0x56
	debugSwitchStlinkFreq = 0x63
)

func (f *firmware) debug(cmd [16]byte, out []byte) ([]byte, bool) {
	sub := cmd[1]
	f.debugCount[sub]++
	if f.mode != proto.ModeDebug && needsDebugMode(sub) {
		return f.notInDebug(cmd)
	}
	v := f.v
	switch sub {
	case proto.DebugExit:
		f.mode = proto.ModeMass
		f.entered = false
		f.opened = [256]bool{}
		f.trace = false
		return nil, false
	case proto.DebugEnter:
		return status2(f.enter(cmd[2])), true
	case proto.DebugReadIDCodes:
		b := make([]byte, 12)
		id, a := f.dpRead(0)
		if a != ackOK {
			b[0] = byte(proto.StatusGetIDCodeError)
			return b, true
		}
		b[0] = byte(proto.StatusOK)
		put32(b[4:], id)
		return b, true
	case proto.DebugDriveNRST:
		switch cmd[2] {
		case proto.NRSTLow:
			f.setNRST(true)
		case proto.NRSTHigh:
			f.setNRST(false)
		case proto.NRSTPulse:
			f.setNRST(true)
			f.extra += 100 * time.Microsecond
			f.setNRST(false)
		default:
			return status2(proto.StatusCmdError), true
		}
		return status2(proto.StatusOK), true
	case proto.DebugGetLastRWStatus:
		return status2(f.lastStatus), true
	case proto.DebugGetLastRWStatus2:
		if !v.HasLastRWStatus2() {
			return unknownCmd()
		}
		b := make([]byte, 12)
		b[0] = byte(f.lastStatus)
		put32(b[4:], f.lastFault)
		return b, true
	case proto.DebugSWDSetFreq:
		if f.v3() {
			return status2(proto.StatusCmdError), true
		}
		if !v.HasSWDSetFreq() {
			return unknownCmd()
		}
		f.khz = proto.V2DivisorKHz(le16(cmd[2:]))
		return status2(proto.StatusOK), true
	case debugJTAGSetFreq:
		if f.v3() {
			return status2(proto.StatusCmdError), true
		}
		if !v.HasJTAGSetFreq() {
			return unknownCmd()
		}
		return status2(proto.StatusOK), true
	case proto.DebugGetComFreq:
		if !f.v3() {
			return unknownCmd()
		}
		return f.getComFreq(cmd[2]), true
	case proto.DebugSetComFreq:
		if !f.v3() {
			return unknownCmd()
		}
		return f.setComFreq(cmd[2], le32(cmd[4:])), true
	case debugSwitchStlinkFreq:
		if !f.v3() {
			return unknownCmd()
		}
		return status8(proto.StatusConfChanged, 0), true
	case debugGetBoardIDs:
		if !(v.Hardware >= 3 && v.JTAG >= 6 || v.Hardware == 2 && v.JTAG >= 36) {
			return unknownCmd()
		}
		b := make([]byte, 128)
		b[0] = byte(proto.StatusOK)
		return b, true
	case debugStartTrace:
		if !v.HasTargetVoltage() {
			return unknownCmd()
		}
		f.trace = true
		return status2(proto.StatusOK), true
	case debugStopTrace:
		if !v.HasTargetVoltage() {
			return unknownCmd()
		}
		f.trace = false
		return status2(proto.StatusOK), true
	case debugGetTraceNB:
		if !v.HasTargetVoltage() {
			return unknownCmd()
		}
		return []byte{0, 0}, true // no SWO data is ever produced
	case proto.DebugReadDAPReg:
		if !v.HasDAPRegister() {
			return unknownCmd()
		}
		val, st := f.readDAPReg(le16(cmd[2:]), le16(cmd[4:]))
		return status8(st, val), true
	case proto.DebugWriteDAPReg:
		if !v.HasDAPRegister() {
			return unknownCmd()
		}
		return status2(f.writeDAPReg(le16(cmd[2:]), le16(cmd[4:]), le32(cmd[6:]))), true
	case proto.DebugInitAP:
		if !v.HasMultiAP() {
			return unknownCmd()
		}
		return status2(f.initAP(cmd[2])), true
	case proto.DebugCloseAP:
		if !v.HasMultiAP() {
			return unknownCmd()
		}
		st := f.closeAP(cmd[2])
		if !v.HasCloseAPStatus() {
			st = 0 // J28 answers garbage here
		}
		return status2(st), true
	case proto.DebugReadMem32, proto.DebugReadMem8, proto.DebugReadMem16, proto.DebugReadMem32NoInc:
		return f.readMemCmd(cmd)
	case proto.DebugWriteMem32, proto.DebugWriteMem8, proto.DebugWriteMem16, proto.DebugWriteMem32NoInc:
		return f.writeMemCmd(cmd, out)
	case proto.DebugRWMiscOut:
		if !v.HasBankedDP() {
			return unknownCmd()
		}
		f.rwMiscOut(le32(cmd[2:]), out)
		return nil, false
	case proto.DebugRWMiscIn:
		if !v.HasBankedDP() {
			return unknownCmd()
		}
		return f.rwMiscIn(), true
	case proto.DebugResetSys:
		return status2(f.hlaWrite32(adi.RegAIRCR, adi.AIRCRVectKey|adi.AIRCRSysResetReq)), true
	case proto.DebugReadReg:
		val, st := f.hlaReadReg(uint32(cmd[2]))
		return status8(st, val), true
	case proto.DebugWriteReg:
		return status2(f.hlaWriteReg(uint32(cmd[2]), le32(cmd[3:]))), true
	case proto.DebugWriteDebugReg:
		return status2(f.hlaWrite32(le32(cmd[2:]), le32(cmd[6:]))), true
	case proto.DebugReadDebugReg:
		val, st := f.hlaRead32(le32(cmd[2:]))
		return status8(st, val), true
	case debugReadAllRegs:
		b := make([]byte, 88)
		st := proto.StatusOK
		for i := 0; i < 21 && st == proto.StatusOK; i++ {
			var val uint32
			val, st = f.hlaReadReg(uint32(i))
			put32(b[4+4*i:], val)
		}
		b[0] = byte(st)
		return b, true
	}
	return unknownCmd()
}

// notInDebug answers a debug command sent outside debug mode: the usual
// reply length, status CMD_ERROR; memory commands record it as their
// transfer status.
func (f *firmware) notInDebug(cmd [16]byte) ([]byte, bool) {
	switch cmd[1] {
	case proto.DebugReadMem32, proto.DebugReadMem8, proto.DebugReadMem16, proto.DebugReadMem32NoInc:
		f.lastStatus, f.lastFault = proto.StatusCmdError, 0
		return make([]byte, readReplyLen(cmd)), true
	case proto.DebugWriteMem32, proto.DebugWriteMem8, proto.DebugWriteMem16, proto.DebugWriteMem32NoInc, proto.DebugRWMiscOut:
		f.lastStatus, f.lastFault = proto.StatusCmdError, 0
		return nil, false
	case proto.DebugReadIDCodes:
		b := make([]byte, 12)
		b[0] = byte(proto.StatusCmdError)
		return b, true
	case proto.DebugReadDAPReg, proto.DebugReadReg, proto.DebugReadDebugReg:
		return status8(proto.StatusCmdError, 0), true
	case debugReadAllRegs:
		b := make([]byte, 88)
		b[0] = byte(proto.StatusCmdError)
		return b, true
	case proto.DebugRWMiscIn:
		return make([]byte, 8*len(f.misc)), true
	}
	return status2(proto.StatusCmdError), true
}

// enter is DEBUG ENTER: switch to debug mode and, for SWD, do a line reset,
// read DPIDR, clear sticky errors and power the debug domain up, waiting
// for the acknowledgement.
func (f *firmware) enter(param byte) proto.Status {
	f.mode = proto.ModeDebug
	f.opened = [256]bool{}
	f.entered = false
	if param != proto.EnterSWD {
		return proto.StatusUnknownJTAGChain // JTAG is not modelled
	}
	f.bits += lineResetBits
	if f.chip == nil || !f.chip.SWDResponds() {
		f.txn(1)
		return proto.StatusGetIDCodeError
	}
	f.entered = true
	f.dp.sel = 0
	f.txn(1) // DPIDR
	f.writeAbort(adi.AbortStkCmpClr | adi.AbortStkErrClr | adi.AbortWDErrClr | adi.AbortOrunErrClr)
	f.txn(1)
	if f.dp.ctrl&(adi.CtrlCDbgPwrUpReq|adi.CtrlCSysPwrUpReq) != adi.CtrlCDbgPwrUpReq|adi.CtrlCSysPwrUpReq {
		f.writeCtrlStat(f.dp.ctrl | adi.CtrlCDbgPwrUpReq | adi.CtrlCSysPwrUpReq)
		f.txn(2) // write, first poll
		f.extra += PowerUpDelay
		f.dp.dbgAckAt, f.dp.sysAckAt = f.now(), f.now()
		f.txn(1) // poll that sees the ACKs
	}
	return proto.StatusOK
}

func (f *firmware) setNRST(low bool) {
	if f.chip != nil {
		f.chip.SetNRST(low)
	}
}

func (f *firmware) getComFreq(mode byte) []byte {
	list, cur := proto.V3SWDTable, f.khz
	if mode != 0 {
		list, cur = v3JTAGKHz, f.jtagKHz
	}
	b := make([]byte, 52)
	b[0] = byte(proto.StatusOK)
	put32(b[4:], uint32(cur))
	n := len(list)
	if n > 10 {
		n = 10
	}
	put32(b[8:], uint32(n))
	for i := 0; i < n; i++ {
		put32(b[12+4*i:], uint32(list[i]))
	}
	return b
}

func (f *firmware) setComFreq(mode byte, khz uint32) []byte {
	if mode != 0 {
		f.jtagKHz = proto.NearestKHz(v3JTAGKHz, int(khz))
		return status8(proto.StatusOK, uint32(f.jtagKHz))
	}
	f.khz = proto.NearestKHz(proto.V3SWDTable, int(khz))
	return status8(proto.StatusOK, uint32(f.khz))
}

// waitInjected consumes one injected WAIT.
func (f *firmware) waitInjected() bool {
	if f.waitLeft == 0 {
		return false
	}
	f.waitLeft--
	f.txn(1)
	if f.dp.ctrl&adi.CtrlOrunDetect != 0 {
		f.dp.ctrl |= adi.CtrlStickyOrun
	}
	return true
}

// ackStatus is what the firmware answers for an access that got ACK a:
// the DP's WAIT, FAULT and error statuses for a DP access (ap false), the
// AP's for an AP or memory access.
func ackStatus(a ack, ap bool) proto.Status {
	wait, fault, none := proto.StatusSWDDPWait, proto.StatusSWDDPFault, proto.StatusSWDDPError
	if ap {
		wait, fault, none = proto.StatusSWDAPWait, proto.StatusSWDAPFault, proto.StatusSWDAPError
	}
	switch a {
	case ackWait:
		return wait
	case ackFault:
		return fault
	case ackNone:
		return none
	}
	return proto.StatusOK
}

// checkAP applies the firmware's access-port gates: the AP number limit
// and, from V2J28, INIT_AP before use of any AP but 0.
func (f *firmware) checkAP(ap uint8, needOpen bool) proto.Status {
	if !f.v.HasMultiAP() {
		if ap != 0 {
			return proto.StatusBadAP
		}
		return proto.StatusOK
	}
	if int(ap) > f.v.MaxAP() {
		return proto.StatusBadAP
	}
	if needOpen && ap != 0 && !f.opened[ap] {
		return proto.StatusBadAP
	}
	return proto.StatusOK
}

func (f *firmware) readDAPReg(port, addr uint16) (uint32, proto.Status) {
	if port == proto.DAPPortDP {
		if addr&0xF0 != 0 && !f.v.HasBankedDP() {
			return 0, proto.StatusCmdError
		}
		if f.waitInjected() {
			return 0, proto.StatusSWDDPWait
		}
		v, a := f.dpRead(addr)
		return v, ackStatus(a, false)
	}
	if port > 0xFF {
		return 0, proto.StatusBadAP
	}
	reg := addr & 0xFF
	if st := f.checkAP(uint8(port), reg != adi.APIDR); st != proto.StatusOK {
		return 0, st
	}
	if f.waitInjected() {
		return 0, proto.StatusSWDAPWait
	}
	v, a := f.apRead(uint8(port), reg)
	return v, ackStatus(a, true)
}

func (f *firmware) writeDAPReg(port, addr uint16, v uint32) proto.Status {
	if port == proto.DAPPortDP {
		if addr&0xF0 != 0 && !f.v.HasBankedDP() {
			return proto.StatusCmdError
		}
		if f.waitInjected() {
			return proto.StatusSWDDPWait
		}
		return ackStatus(f.dpWrite(addr, v), false)
	}
	if port > 0xFF {
		return proto.StatusBadAP
	}
	if st := f.checkAP(uint8(port), true); st != proto.StatusOK {
		return st
	}
	if f.waitInjected() {
		return proto.StatusSWDAPWait
	}
	return ackStatus(f.apWrite(uint8(port), addr&0xFF, v), true)
}

// initAP is INIT_AP: the firmware checks the port number and reads the
// AP's IDR and CSW.
func (f *firmware) initAP(ap uint8) proto.Status {
	if int(ap) > f.v.MaxAP() {
		return proto.StatusBadAP
	}
	if f.waitInjected() {
		return proto.StatusSWDAPWait
	}
	if _, a := f.apRead(ap, adi.APIDR); a != ackOK {
		return ackStatus(a, true)
	}
	f.opened[ap] = true
	return proto.StatusOK
}

func (f *firmware) closeAP(ap uint8) proto.Status {
	if int(ap) > f.v.MaxAP() || !f.opened[ap] {
		return proto.StatusBadAP
	}
	f.opened[ap] = false
	return proto.StatusOK
}
