package sim

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/stprobe/stprobe/adi"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// newTestProbe returns a probe with firmware fw (PID picked from it) on chip.
func newTestProbe(t testing.TB, fw string, chip chipsim.Chip) *Probe {
	t.Helper()
	v, err := proto.ParseVersion(fw)
	if err != nil {
		t.Fatal(err)
	}
	v.VID = proto.VendorST
	switch {
	case v.Hardware >= 3:
		v.PID = 0x374E
	case v.MSD != 0:
		v.PID = 0x374B
	default:
		v.PID = 0x3748
	}
	return New(Config{Firmware: v, Serial: "0123456789ABCDEF01234567", TargetMillivolts: 3290, Chip: chip})
}

// c builds a command block from its leading bytes.
func c(b ...byte) [16]byte {
	var cmd [16]byte
	copy(cmd[:], b)
	return cmd
}

func u32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func u16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }

// cat joins byte slices.
func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// dbg builds an F2 command: sub-command then the rest.
func dbg(sub byte, rest ...[]byte) [16]byte {
	return c(cat(append([][]byte{{proto.CmdDebug, sub}}, rest...)...)...)
}

// memCmdBlock builds a memory command block.
func memCmdBlock(sub byte, addr uint32, n uint16, ap uint8, csw uint32) [16]byte {
	return dbg(sub, u32(addr), u16(n), []byte{ap, byte(csw >> 8), byte(csw >> 16), byte(csw >> 24)})
}

// do runs cmd and returns the reply, failing on a missing IN phase.
func do(t testing.TB, p *Probe, cmd [16]byte, out []byte) []byte {
	t.Helper()
	r, ok := p.Handle(cmd, out)
	if !ok {
		t.Fatalf("command % X: no reply", cmd[:4])
	}
	return r
}

// enterSWD leaves mass mode and enters SWD, checking the status.
func enterSWD(t testing.TB, p *Probe) {
	t.Helper()
	if r := do(t, p, dbg(proto.DebugEnter, []byte{proto.EnterSWD}), nil); r[0] != byte(proto.StatusOK) {
		t.Fatalf("ENTER: status 0x%02X", r[0])
	}
}

func dapRead(t testing.TB, p *Probe, port, addr uint16) (uint32, proto.Status) {
	t.Helper()
	r := do(t, p, dbg(proto.DebugReadDAPReg, u16(port), u16(addr)), nil)
	if len(r) != 8 {
		t.Fatalf("READ_DAP_REG reply is %d bytes", len(r))
	}
	return binary.LittleEndian.Uint32(r[4:]), proto.Status(r[0])
}

func dapWrite(t testing.TB, p *Probe, port, addr uint16, v uint32) proto.Status {
	t.Helper()
	r := do(t, p, dbg(proto.DebugWriteDAPReg, u16(port), u16(addr), u32(v)), nil)
	if len(r) != 2 {
		t.Fatalf("WRITE_DAP_REG reply is %d bytes", len(r))
	}
	return proto.Status(r[0])
}

func lastStatus(t testing.TB, p *Probe) (proto.Status, uint32) {
	t.Helper()
	r := do(t, p, dbg(proto.DebugGetLastRWStatus2), nil)
	if len(r) != 12 {
		t.Fatalf("GETLASTRWSTATUS2 reply is %d bytes", len(r))
	}
	return proto.Status(r[0]), binary.LittleEndian.Uint32(r[4:])
}

// TestReplyLengths checks every command's reply length and status on a
// V2-1 J40 (all V2 features) in debug mode.
func TestReplyLengths(t *testing.T) {
	tests := []struct {
		name   string
		cmd    [16]byte
		out    []byte
		noIn   bool
		length int
		status proto.Status // checked when length > 0 and status != 0
	}{
		{"GET_VERSION", c(proto.CmdGetVersion, 0x80), nil, false, 6, 0},
		{"GET_CURRENT_MODE", c(proto.CmdGetCurrentMode), nil, false, 2, 0},
		{"GET_TARGET_VOLTAGE", c(proto.CmdGetTargetVoltage), nil, false, 8, 0},
		{"GET_VERSION_EXT on V2", c(proto.CmdGetVersionExt, 0x80), nil, true, 0, 0},
		{"unknown top-level", c(0xEE), nil, true, 0, 0},
		{"READ_IDCODES", dbg(proto.DebugReadIDCodes), nil, false, 12, proto.StatusOK},
		{"READ_DAP_REG DPIDR", dbg(proto.DebugReadDAPReg, u16(0xFFFF), u16(0)), nil, false, 8, proto.StatusOK},
		{"WRITE_DAP_REG ABORT", dbg(proto.DebugWriteDAPReg, u16(0xFFFF), u16(0), u32(0x1E)), nil, false, 2, proto.StatusOK},
		{"INIT_AP 1", dbg(proto.DebugInitAP, []byte{1, 0}), nil, false, 2, proto.StatusOK},
		{"INIT_AP 9 above max", dbg(proto.DebugInitAP, []byte{9}), nil, false, 2, proto.StatusBadAP},
		{"CLOSE_AP 0 not opened", dbg(proto.DebugCloseAP, []byte{0}), nil, false, 2, proto.StatusBadAP},
		{"READMEM_32", memCmdBlock(proto.DebugReadMem32, 0x20000000, 16, 1, 0), nil, false, 16, 0},
		{"READMEM_8 one byte", memCmdBlock(proto.DebugReadMem8, 0x20000000, 1, 1, 0), nil, false, 2, 0},
		{"READMEM_8", memCmdBlock(proto.DebugReadMem8, 0x20000001, 3, 1, 0), nil, false, 3, 0},
		{"READMEM_16", memCmdBlock(proto.DebugReadMem16, 0x20000002, 6, 1, 0), nil, false, 6, 0},
		{"READMEM_32_NOINC", memCmdBlock(proto.DebugReadMem32NoInc, 0x20000000, 8, 1, 0), nil, false, 8, 0},
		{"WRITEMEM_32", memCmdBlock(proto.DebugWriteMem32, 0x20000000, 4, 1, 0), []byte{1, 2, 3, 4}, true, 0, 0},
		{"WRITEMEM_8", memCmdBlock(proto.DebugWriteMem8, 0x20000003, 1, 1, 0), []byte{9}, true, 0, 0},
		{"WRITEMEM_16", memCmdBlock(proto.DebugWriteMem16, 0x20000002, 2, 1, 0), []byte{9, 8}, true, 0, 0},
		{"WRITEMEM_32_NOINC", memCmdBlock(proto.DebugWriteMem32NoInc, 0x20000000, 8, 1, 0), make([]byte, 8), true, 0, 0},
		{"GETLASTRWSTATUS", dbg(proto.DebugGetLastRWStatus), nil, false, 2, proto.StatusOK},
		{"GETLASTRWSTATUS2", dbg(proto.DebugGetLastRWStatus2), nil, false, 12, proto.StatusOK},
		{"DRIVE_NRST high", dbg(proto.DebugDriveNRST, []byte{proto.NRSTHigh}), nil, false, 2, proto.StatusOK},
		{"DRIVE_NRST bad", dbg(proto.DebugDriveNRST, []byte{7}), nil, false, 2, proto.StatusCmdError},
		{"SWD_SET_FREQ", dbg(proto.DebugSWDSetFreq, u16(7)), nil, false, 2, proto.StatusOK},
		{"JTAG_SET_FREQ", dbg(debugJTAGSetFreq, u16(32)), nil, false, 2, proto.StatusOK},
		{"GET_COM_FREQ on V2", dbg(proto.DebugGetComFreq), nil, false, 2, proto.StatusUnknownCmd},
		{"SET_COM_FREQ on V2", dbg(proto.DebugSetComFreq), nil, false, 2, proto.StatusUnknownCmd},
		{"START_TRACE_RX", dbg(debugStartTrace, u16(4096), u32(2000000)), nil, false, 2, proto.StatusOK},
		{"GET_TRACE_NB", dbg(debugGetTraceNB), nil, false, 2, 0},
		{"STOP_TRACE_RX", dbg(debugStopTrace), nil, false, 2, proto.StatusOK},
		{"GET_BOARD_IDENTIFIERS", dbg(debugGetBoardIDs), nil, false, 128, proto.StatusOK},
		{"RW_MISC_OUT", dbg(proto.DebugRWMiscOut, u32(2)), cat([]byte{5, 3, 0, 0}, u32(1), u32(0x20000000)), true, 0, 0},
		{"RW_MISC_IN", dbg(proto.DebugRWMiscIn), nil, false, 16, 0},
		{"READDEBUGREG", dbg(proto.DebugReadDebugReg, u32(0xE000EDF0)), nil, false, 8, 0},
		{"WRITEDEBUGREG", dbg(proto.DebugWriteDebugReg, u32(0xE000EDF0), u32(0xA05F0001)), nil, false, 2, 0},
		{"READREG", dbg(proto.DebugReadReg, []byte{15}), nil, false, 8, 0},
		{"WRITEREG", dbg(proto.DebugWriteReg, []byte{0}, u32(5)), nil, false, 2, 0},
		{"READALLREGS", dbg(debugReadAllRegs), nil, false, 88, 0},
		{"RESETSYS", dbg(proto.DebugResetSys), nil, false, 2, 0},
		{"unknown debug sub-command", dbg(0x7F), nil, false, 2, proto.StatusUnknownCmd},
		{"EXIT", dbg(proto.DebugExit), nil, true, 0, 0},
	}
	p := newTestProbe(t, "V2J40M27", chipsim.NewGenericM33(1))
	enterSWD(t, p)
	for _, tc := range tests {
		r, ok := p.Handle(tc.cmd, tc.out)
		if ok == tc.noIn {
			t.Errorf("%s: IN phase %v, want %v", tc.name, ok, !tc.noIn)
			continue
		}
		if len(r) != tc.length {
			t.Errorf("%s: reply %d bytes, want %d", tc.name, len(r), tc.length)
			continue
		}
		if tc.status != 0 && proto.Status(r[0]) != tc.status {
			t.Errorf("%s: status 0x%02X, want 0x%02X", tc.name, r[0], tc.status)
		}
	}
}

func TestVersionAndVoltage(t *testing.T) {
	p := newTestProbe(t, "V2J46S7", nil)
	v, err := proto.DecodeVersion(do(t, p, c(proto.CmdGetVersion), nil))
	if err != nil || v.String() != "V2J46S7" || v.PID != 0x3748 {
		t.Errorf("GET_VERSION decodes to %v (%v), PID %04X", v, err, v.PID)
	}
	r := do(t, p, c(proto.CmdGetTargetVoltage), nil)
	ref, vt := binary.LittleEndian.Uint32(r), binary.LittleEndian.Uint32(r[4:])
	if volts := 2 * float64(vt) * 1.2 / float64(ref); volts < 3.289 || volts > 3.291 {
		t.Errorf("voltage %.4f V, want 3.29", volts)
	}

	p3 := newTestProbe(t, "V3J7M3B5S1", nil)
	if r := do(t, p3, c(proto.CmdGetVersion), nil); r[0]>>4 != 3 || r[0]&0xF != 0 || r[1] != 0 {
		t.Errorf("V3 GET_VERSION % X: want hardware 3 and J/M zero", r)
	}
	v3, err := proto.DecodeVersionExt(do(t, p3, c(proto.CmdGetVersionExt, 0x80), nil))
	if err != nil || v3.String() != "V3J7M3B5S1" || v3.PID != 0x374E {
		t.Errorf("GET_VERSION_EXT decodes to %v (%v)", v3, err)
	}

	old := newTestProbe(t, "V2J12S4", nil)
	if _, ok := old.Handle(c(proto.CmdGetTargetVoltage), nil); ok {
		t.Error("V2J12 answered GET_TARGET_VOLTAGE (needs J13)")
	}
}

func TestModes(t *testing.T) {
	p := newTestProbe(t, "V2J40M27", chipsim.NewGenericM33(1))
	mode := func() proto.Mode { return proto.Mode(do(t, p, c(proto.CmdGetCurrentMode), nil)[0]) }
	if m := mode(); m != proto.ModeMass {
		t.Errorf("start mode %v, want mass", m)
	}
	// debug commands are refused before ENTER
	if _, st := dapRead(t, p, proto.DAPPortDP, 0); st != proto.StatusCmdError {
		t.Errorf("DAP read before ENTER: 0x%02X, want CMD_ERROR", st)
	}
	enterSWD(t, p)
	if m := mode(); m != proto.ModeDebug {
		t.Errorf("after ENTER mode %v", m)
	}
	if _, ok := p.Handle(dbg(proto.DebugExit), nil); ok {
		t.Error("EXIT has a reply")
	}
	if m := mode(); m != proto.ModeMass {
		t.Errorf("after EXIT mode %v", m)
	}
	// JTAG is not modelled
	if r := do(t, p, dbg(proto.DebugEnter, []byte{0xA4}), nil); proto.Status(r[0]) != proto.StatusUnknownJTAGChain {
		t.Errorf("ENTER JTAG: 0x%02X", r[0])
	}

	d := New(Config{Firmware: p.Config().Firmware, StartInDFU: true})
	if m := proto.Mode(do(t, d, c(proto.CmdGetCurrentMode), nil)[0]); m != proto.ModeDFU {
		t.Errorf("DFU probe starts in %v", m)
	}
	if _, ok := d.Handle(c(proto.CmdDFU, proto.DFUExit), nil); ok {
		t.Error("DFU_EXIT has a reply")
	}
	if m := proto.Mode(do(t, d, c(proto.CmdGetCurrentMode), nil)[0]); m != proto.ModeMass {
		t.Errorf("after DFU_EXIT mode %v", m)
	}
}

func TestFrequencies(t *testing.T) {
	p2 := newTestProbe(t, "V2J40M27", nil)
	do(t, p2, dbg(proto.DebugSWDSetFreq, u16(798)), nil)
	if p2.fw.khz != 5 {
		t.Errorf("divisor 798 → %d kHz, want 5", p2.fw.khz)
	}
	do(t, p2, dbg(proto.DebugSWDSetFreq, u16(0)), nil)
	if p2.fw.khz != 4000 {
		t.Errorf("divisor 0 → %d kHz", p2.fw.khz)
	}
	if r := do(t, newTestProbe(t, "V2J21S4", nil), dbg(proto.DebugSWDSetFreq, u16(0)), nil); proto.Status(r[0]) != proto.StatusUnknownCmd {
		t.Errorf("V2J21 SWD_SET_FREQ: 0x%02X", r[0])
	}

	p3 := newTestProbe(t, "V3J7M3", nil)
	if r := do(t, p3, dbg(proto.DebugSWDSetFreq, u16(1)), nil); len(r) != 2 || proto.Status(r[0]) != proto.StatusCmdError {
		t.Errorf("V3 answers SWD_SET_FREQ with % X, want 08 00", r)
	}
	r := do(t, p3, dbg(proto.DebugGetComFreq, []byte{0}), nil)
	if len(r) != 52 || r[0] != byte(proto.StatusOK) {
		t.Fatalf("GET_COM_FREQ % X", r)
	}
	n := binary.LittleEndian.Uint32(r[8:])
	if int(n) != len(proto.V3SWDTable) || binary.LittleEndian.Uint32(r[12:]) != 24000 {
		t.Errorf("GET_COM_FREQ lists %d entries, first %d", n, binary.LittleEndian.Uint32(r[12:]))
	}
	r = do(t, p3, dbg(proto.DebugSetComFreq, []byte{0, 0}, u32(4000)), nil)
	if len(r) != 8 || binary.LittleEndian.Uint32(r[4:]) != 3300 {
		t.Errorf("SET_COM_FREQ 4000 → % X, want 3300 kHz", r)
	}
	if r := do(t, p3, dbg(0x63, []byte{1}), nil); len(r) != 8 || proto.Status(r[0]) != proto.StatusConfChanged {
		t.Errorf("SWITCH_STLINK_FREQ % X", r)
	}
}

func TestFirmwareGates(t *testing.T) {
	chip := chipsim.NewGenericM33(1)
	tests := []struct {
		fw   string
		cmd  [16]byte
		want proto.Status
	}{
		{"V2J23S4", dbg(proto.DebugReadDAPReg, u16(0xFFFF), u16(0)), proto.StatusUnknownCmd},
		{"V2J24S4", dbg(proto.DebugReadDAPReg, u16(0xFFFF), u16(0)), proto.StatusOK},
		{"V2J27S4", dbg(proto.DebugInitAP, []byte{1}), proto.StatusUnknownCmd},
		{"V2J28S4", dbg(proto.DebugInitAP, []byte{3}), proto.StatusOK},
		{"V2J29S4", dbg(proto.DebugInitAP, []byte{4}), proto.StatusBadAP},
		{"V2J32S4", dbg(proto.DebugInitAP, []byte{8}), proto.StatusOK},
		{"V2J32S4", dbg(proto.DebugInitAP, []byte{9}), proto.StatusBadAP},
		{"V3J2M1", dbg(proto.DebugInitAP, []byte{200}), proto.StatusOK},
		{"V2J31S4", dbg(proto.DebugReadDAPReg, u16(0xFFFF), u16(0x24)), proto.StatusCmdError},
		{"V2J32S4", dbg(proto.DebugReadDAPReg, u16(0xFFFF), u16(0x24)), proto.StatusOK},
		{"V3J2M1", dbg(proto.DebugReadDAPReg, u16(0xFFFF), u16(0x34)), proto.StatusOK},
		{"V2J25S4", memCmdBlock(proto.DebugReadMem16, 0x20000000, 2, 0, 0), proto.StatusUnknownCmd},
		{"V2J31S4", dbg(proto.DebugRWMiscIn), proto.StatusUnknownCmd},
		{"V2J31S4", memCmdBlock(proto.DebugReadMem32NoInc, 0x20000000, 4, 0, 0), proto.StatusUnknownCmd},
		{"V2J14S4", dbg(proto.DebugGetLastRWStatus2), proto.StatusUnknownCmd},
	}
	for _, tc := range tests {
		p := newTestProbe(t, tc.fw, chip)
		enterSWD(t, p)
		r := do(t, p, tc.cmd, nil)
		if proto.Status(r[0]) != tc.want {
			t.Errorf("%s % X: status 0x%02X, want 0x%02X", tc.fw, tc.cmd[:4], r[0], tc.want)
		}
	}
}

func TestMultiAPNeedsInitAP(t *testing.T) {
	g := chipsim.NewGeneric(1)
	p := newTestProbe(t, "V2J46S7", g)
	enterSWD(t, p)
	// IDR is readable without INIT_AP, other registers are not
	if v, st := dapRead(t, p, 1, 0xFC); st != proto.StatusOK || v != chipsim.IDRAHB5AP {
		t.Errorf("AP1 IDR 0x%08X status 0x%02X", v, st)
	}
	if _, st := dapRead(t, p, 1, 0xF8); st != proto.StatusBadAP {
		t.Errorf("AP1 BASE before INIT_AP: 0x%02X, want BAD_AP", st)
	}
	do(t, p, memCmdBlock(proto.DebugReadMem32, 0x20000000, 4, 1, 0), nil)
	if st, _ := lastStatus(t, p); st != proto.StatusBadAP {
		t.Errorf("memory on AP1 before INIT_AP: 0x%02X", st)
	}
	do(t, p, dbg(proto.DebugInitAP, []byte{1}), nil)
	if v, st := dapRead(t, p, 1, 0xF8); st != proto.StatusOK || v != chipsim.BASEM33ROM {
		t.Errorf("AP1 BASE 0x%08X status 0x%02X", v, st)
	}
	// AP0 needs no INIT_AP (legacy hosts never send it)
	if _, st := dapRead(t, p, 0, 0xF8); st != proto.StatusOK {
		t.Errorf("AP0 BASE: 0x%02X", st)
	}
	// a missing AP reads as zero
	do(t, p, dbg(proto.DebugInitAP, []byte{5}), nil)
	if v, st := dapRead(t, p, 5, 0xFC); st != proto.StatusOK || v != 0 {
		t.Errorf("AP5 IDR 0x%08X 0x%02X", v, st)
	}
	if r := do(t, p, dbg(proto.DebugCloseAP, []byte{1}), nil); r[0] != byte(proto.StatusOK) {
		t.Errorf("CLOSE_AP 1: 0x%02X", r[0])
	}
	if _, st := dapRead(t, p, 1, 0xF8); st != proto.StatusBadAP {
		t.Errorf("AP1 after CLOSE_AP: 0x%02X", st)
	}
	// J28 answers garbage to CLOSE_AP
	p28 := newTestProbe(t, "V2J28S4", g)
	enterSWD(t, p28)
	if r := do(t, p28, dbg(proto.DebugCloseAP, []byte{1}), nil); r[0] == byte(proto.StatusOK) {
		t.Error("V2J28 CLOSE_AP returned a valid status")
	}
}

func TestNoTarget(t *testing.T) {
	for _, chip := range []chipsim.Chip{nil, silentChip{chipsim.NewGenericM33(0)}} {
		p := newTestProbe(t, "V2J46S7", chip)
		r := do(t, p, dbg(proto.DebugEnter, []byte{proto.EnterSWD}), nil)
		if proto.Status(r[0]) != proto.StatusGetIDCodeError {
			t.Errorf("ENTER without target: 0x%02X, want GET_IDCODE_ERROR", r[0])
		}
		if m := proto.Mode(do(t, p, c(proto.CmdGetCurrentMode), nil)[0]); m != proto.ModeDebug {
			t.Errorf("mode after failed ENTER %v, want debug", m)
		}
		if r := do(t, p, dbg(proto.DebugReadIDCodes), nil); proto.Status(r[0]) != proto.StatusGetIDCodeError {
			t.Errorf("READ_IDCODES: 0x%02X", r[0])
		}
		if _, st := dapRead(t, p, proto.DAPPortDP, 4); st != proto.StatusSWDDPError {
			t.Errorf("CTRL/STAT: 0x%02X, want SWD_DP_ERROR", st)
		}
		if _, st := dapRead(t, p, 0, 0xFC); st != proto.StatusSWDAPError {
			t.Errorf("AP0 IDR: 0x%02X, want SWD_AP_ERROR", st)
		}
		do(t, p, memCmdBlock(proto.DebugReadMem32, 0x20000000, 4, 0, 0), nil)
		if st, _ := lastStatus(t, p); st != proto.StatusSWDAPError {
			t.Errorf("memory: 0x%02X, want SWD_AP_ERROR", st)
		}
		if r := do(t, p, dbg(proto.DebugReadDebugReg, u32(0xE000EDF0)), nil); proto.Status(r[0]) != proto.StatusSWDAPError {
			t.Errorf("READDEBUGREG: 0x%02X", r[0])
		}
	}
}

// silentChip is a chip whose SWD pins do not answer.
type silentChip struct{ chipsim.Chip }

func (silentChip) SWDResponds() bool { return false }

func TestPowerUpHandshake(t *testing.T) {
	p := newTestProbe(t, "V2J46S7", chipsim.NewGenericM33(1))
	enterSWD(t, p)
	const req = adi.CtrlCDbgPwrUpReq | adi.CtrlCSysPwrUpReq
	const acks = adi.CtrlCDbgPwrUpAck | adi.CtrlCSysPwrUpAck
	// ENTER powered the debug domain up
	if v, _ := dapRead(t, p, proto.DAPPortDP, 4); v&acks != acks {
		t.Fatalf("CTRL/STAT after ENTER 0x%08X", v)
	}
	dapWrite(t, p, proto.DAPPortDP, 4, 0)
	if v, _ := dapRead(t, p, proto.DAPPortDP, 4); v&acks != 0 {
		t.Errorf("CTRL/STAT after power-down 0x%08X", v)
	}
	// while powered down, AP accesses fault
	if _, st := dapRead(t, p, 0, 0xFC); st != proto.StatusSWDAPFault {
		t.Errorf("AP read powered down: 0x%02X, want SWD_AP_FAULT", st)
	}
	dapWrite(t, p, proto.DAPPortDP, 0, adi.AbortStkErrClr)
	dapWrite(t, p, proto.DAPPortDP, 4, req)
	polls := 0
	for {
		v, st := dapRead(t, p, proto.DAPPortDP, 4)
		if st != proto.StatusOK {
			t.Fatal(st)
		}
		if v&acks == acks {
			break
		}
		polls++
		if polls > 10 {
			t.Fatal("no power-up ACK after 10 polls")
		}
	}
	if polls == 0 {
		t.Error("power-up ACK was immediate; a host must have to poll")
	}
}

func TestStickyErrorAndAbort(t *testing.T) {
	p := newTestProbe(t, "V2J46S7", chipsim.NewGenericM33(1))
	enterSWD(t, p)
	do(t, p, dbg(proto.DebugInitAP, []byte{1}), nil)
	// DRW read of an unmapped address through the AP registers
	if st := dapWrite(t, p, 1, adi.APCSW, 0xA2000012); st != proto.StatusOK {
		t.Fatal(st)
	}
	dapWrite(t, p, 1, adi.APTAR, 0x60000000)
	if _, st := dapRead(t, p, 1, adi.APDRW); st != proto.StatusSWDAPFault {
		t.Errorf("faulting DRW: 0x%02X", st)
	}
	v, _ := dapRead(t, p, proto.DAPPortDP, 4)
	if v&adi.CtrlStickyErr == 0 {
		t.Errorf("CTRL/STAT 0x%08X lacks STICKYERR", v)
	}
	// every AP access faults until ABORT clears it
	dapWrite(t, p, 1, adi.APTAR, 0x20000000)
	if _, st := dapRead(t, p, 1, adi.APDRW); st != proto.StatusSWDAPFault {
		t.Errorf("DRW with sticky error: 0x%02X", st)
	}
	dapWrite(t, p, proto.DAPPortDP, 0, adi.AbortStkErrClr)
	if v, _ := dapRead(t, p, proto.DAPPortDP, 4); v&adi.CtrlStickyErr != 0 {
		t.Errorf("STICKYERR survives ABORT: 0x%08X", v)
	}
	dapWrite(t, p, 1, adi.APTAR, 0x20000000)
	if _, st := dapRead(t, p, 1, adi.APDRW); st != proto.StatusOK {
		t.Errorf("DRW after ABORT: 0x%02X", st)
	}
}

func TestDRWLanesAndAutoIncrement(t *testing.T) {
	g := chipsim.NewGeneric(1)
	_ = g.RAM().Load(0x200003FC, []byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88})
	_ = g.RAM().Load(0x20000000, []byte{0xA0, 0xA1, 0xA2, 0xA3})
	p := newTestProbe(t, "V2J46S7", g)
	enterSWD(t, p)
	do(t, p, dbg(proto.DebugInitAP, []byte{1}), nil)
	// byte access at offset 2: data on lane 2
	dapWrite(t, p, 1, adi.APCSW, 0xA2000010) // byte, increment
	dapWrite(t, p, 1, adi.APTAR, 0x200003FE)
	if v, _ := dapRead(t, p, 1, adi.APDRW); v != 0x00330000 {
		t.Errorf("byte DRW at 0x3FE = 0x%08X, want 0x00330000", v)
	}
	if tar, _ := dapRead(t, p, 1, adi.APTAR); tar != 0x200003FF {
		t.Errorf("TAR after byte read 0x%08X", tar)
	}
	// word access wraps inside the 1 KiB block
	dapWrite(t, p, 1, adi.APCSW, 0xA2000012)
	dapWrite(t, p, 1, adi.APTAR, 0x200003FC)
	if v, _ := dapRead(t, p, 1, adi.APDRW); v != 0x44332211 {
		t.Errorf("word DRW 0x%08X", v)
	}
	if tar, _ := dapRead(t, p, 1, adi.APTAR); tar != 0x20000000 {
		t.Errorf("TAR wrapped to 0x%08X, want 0x20000000", tar)
	}
	if v, _ := dapRead(t, p, 1, adi.APDRW); v != 0xA3A2A1A0 {
		t.Errorf("second DRW 0x%08X", v)
	}
	// halfword write at offset 2 takes lanes 2-3
	dapWrite(t, p, 1, adi.APCSW, 0xA2000001)
	dapWrite(t, p, 1, adi.APTAR, 0x20000002)
	dapWrite(t, p, 1, adi.APDRW, 0xBEEF0000)
	if b := g.RAM().Bytes(0x20000000, 4); !bytes.Equal(b, []byte{0xA0, 0xA1, 0xEF, 0xBE}) {
		t.Errorf("RAM after halfword write % X", b)
	}
	// banked data registers
	dapWrite(t, p, 1, adi.APCSW, 0xA2000002)
	dapWrite(t, p, 1, adi.APTAR, 0x200003F0)
	if v, _ := dapRead(t, p, 1, adi.APBD3); v != 0x44332211 {
		t.Errorf("BD3 0x%08X", v)
	}
	// CSW shows DeviceEn
	if v, _ := dapRead(t, p, 1, adi.APCSW); v&adi.CSWDeviceEn == 0 {
		t.Errorf("CSW 0x%08X lacks DeviceEn", v)
	}
}

func TestMemoryCommands(t *testing.T) {
	g := chipsim.NewGeneric(1)
	p := newTestProbe(t, "V2J46S7", g)
	enterSWD(t, p)
	do(t, p, dbg(proto.DebugInitAP, []byte{1}), nil)
	// a 6 KiB write crossing 1 KiB boundaries lands where it should
	data := make([]byte, 6144)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if _, ok := p.Handle(memCmdBlock(proto.DebugWriteMem32, 0x20000200, 6144, 1, 0), data); ok {
		t.Fatal("WRITEMEM_32 has a reply")
	}
	if st, _ := lastStatus(t, p); st != proto.StatusOK {
		t.Fatalf("write status 0x%02X", st)
	}
	if !bytes.Equal(g.RAM().Bytes(0x20000200, 6144), data) {
		t.Error("RAM differs from the 6 KiB written")
	}
	got := do(t, p, memCmdBlock(proto.DebugReadMem32, 0x20000200, 6144, 1, 0), nil)
	if !bytes.Equal(got, data) {
		t.Error("6 KiB read differs")
	}
	if got := do(t, p, memCmdBlock(proto.DebugReadMem16, 0x20000202, 4, 1, 0), nil); !bytes.Equal(got, data[2:6]) {
		t.Errorf("16-bit read % X", got)
	}
	if got := do(t, p, memCmdBlock(proto.DebugReadMem8, 0x20000203, 1, 1, 0), nil); got[0] != data[3] {
		t.Errorf("8-bit read % X", got)
	}
	// no-increment: every word goes to the same address
	p.Handle(memCmdBlock(proto.DebugWriteMem32NoInc, 0x20000000, 8, 1, 0), []byte{1, 0, 0, 0, 2, 0, 0, 0})
	if b := g.RAM().Bytes(0x20000000, 8); !bytes.Equal(b, []byte{2, 0, 0, 0, 0, 0, 0, 0}) {
		t.Errorf("no-inc write left % X", b)
	}
	// gates and faults
	tests := []struct {
		name  string
		cmd   [16]byte
		st    proto.Status
		fault uint32
	}{
		{"unaligned 32", memCmdBlock(proto.DebugReadMem32, 0x20000002, 4, 1, 0), proto.StatusAlignmentError, 0},
		{"odd length 32", memCmdBlock(proto.DebugReadMem32, 0x20000000, 6, 1, 0), proto.StatusAlignmentError, 0},
		{"too long 8", memCmdBlock(proto.DebugReadMem8, 0x20000000, 65, 1, 0), proto.StatusCmdError, 0},
		{"too long 32", memCmdBlock(proto.DebugReadMem32, 0x20000000, 6148, 1, 0), proto.StatusCmdError, 0},
		{"too long 16", memCmdBlock(proto.DebugWriteMem16, 0x20000000, 6146, 1, 0), proto.StatusCmdError, 0},
		{"AP above max", memCmdBlock(proto.DebugReadMem32, 0x20000000, 4, 9, 0), proto.StatusBadAP, 0},
		{"fault past RAM", memCmdBlock(proto.DebugReadMem32, 0x2000FFF8, 16, 1, 0), proto.StatusSWDAPFault, 0x20010000},
		{"AP0 has no RAM", memCmdBlock(proto.DebugReadMem32, 0x20000000, 4, 0, 0), proto.StatusSWDAPFault, 0x20000000},
		{"recovers after fault", memCmdBlock(proto.DebugReadMem32, 0x20000000, 4, 1, 0), proto.StatusOK, 0},
	}
	for _, tc := range tests {
		p.Handle(tc.cmd, nil)
		st, addr := lastStatus(t, p)
		if st != tc.st || addr != tc.fault {
			t.Errorf("%s: status 0x%02X at 0x%08X, want 0x%02X at 0x%08X", tc.name, st, addr, tc.st, tc.fault)
		}
	}
	// GETLASTRWSTATUS (old form) reports the same status
	p.Handle(memCmdBlock(proto.DebugReadMem32, 0x60000000, 4, 1, 0), nil)
	if r := do(t, p, dbg(proto.DebugGetLastRWStatus), nil); proto.Status(r[0]) != proto.StatusSWDAPFault {
		t.Errorf("GETLASTRWSTATUS 0x%02X", r[0])
	}
}

// TestTARWrap checks the model of the MEM-AP's 1 KiB auto-increment: a
// command crossing a 1 KiB boundary lands right because the firmware writes
// TAR again there (one SWD transaction per boundary); without that rewrite
// the access wraps to the start of the block, as a bare AP's does.
func TestTARWrap(t *testing.T) {
	for _, rewrite := range []bool{true, false} {
		g := chipsim.NewGeneric(1)
		p := newTestProbe(t, "V2J46S7", g)
		p.fw.noTARRewrite = !rewrite
		enterSWD(t, p)
		do(t, p, dbg(proto.DebugInitAP, []byte{1}), nil)
		data := make([]byte, 2048)
		for i := range data {
			data[i] = byte(i*7 + i>>8)
		}
		p.ResetStats()
		p.Handle(memCmdBlock(proto.DebugWriteMem32, 0x20000200, 2048, 1, 0), data)
		bits := p.Stats().SWDBits
		if st, _ := lastStatus(t, p); st != proto.StatusOK {
			t.Fatalf("write status 0x%02X", st)
		}
		ram := g.RAM().Bytes(0x20000000, 0xC00)
		if rewrite {
			if !bytes.Equal(ram[0x200:0xA00], data) {
				t.Error("with the firmware's TAR rewrite, the 2 KiB across two boundaries did not land in place")
			}
			// CSW, TAR, 512 DRW, two TAR rewrites
			if want := int64(515+2) * (bitsPerTransaction + idleBits); bits != want {
				t.Errorf("%d SWD bits, want %d", bits, want)
			}
			continue
		}
		// without it: 0x200..0x3FF, then wrapped to 0x000..0x3FF, then 0x000..0x1FF again
		if !bytes.Equal(ram[0x000:0x200], data[0x600:0x800]) || !bytes.Equal(ram[0x200:0x400], data[0x400:0x600]) {
			t.Error("without the TAR rewrite, the write did not wrap within the first 1 KiB block")
		}
		if !bytes.Equal(ram[0x400:0x800], make([]byte, 0x400)) {
			t.Error("without the TAR rewrite, the write went past the 1 KiB block")
		}
	}
}

// cswRecorder is an AP that records the CSW of each access.
type cswRecorder struct {
	chipsim.AP
	csw []uint32
}

func (r *cswRecorder) Read(addr uint32, size chipsim.Size, csw uint32) (uint32, error) {
	r.csw = append(r.csw, csw)
	return r.AP.Read(addr, size, csw)
}

type recChip struct {
	chipsim.Chip
	ap *cswRecorder
}

func (c recChip) AP(n uint8) chipsim.AP {
	if n == 1 {
		return c.ap
	}
	return c.Chip.AP(n)
}

func TestMemoryCSW(t *testing.T) {
	g := chipsim.NewGenericM33(1)
	rec := &cswRecorder{AP: g.AP(1)}
	tests := []struct {
		fw   string
		csw  uint32
		want uint32
	}{
		{"V2J46S7", 0x4B000000, 0x4B000012},        // honoured from J32
		{"V2J46S7", 0, DefaultCSW | 0x12},          // 0 = firmware default
		{"V2J31S4", 0x4B000000, DefaultCSW | 0x12}, // ignored before J32
	}
	for _, tc := range tests {
		rec.csw = nil
		p := newTestProbe(t, tc.fw, recChip{g, rec})
		enterSWD(t, p)
		do(t, p, dbg(proto.DebugInitAP, []byte{1}), nil)
		do(t, p, memCmdBlock(proto.DebugReadMem32, 0x20000000, 4, 1, tc.csw), nil)
		if len(rec.csw) != 1 || rec.csw[0] != tc.want {
			t.Errorf("%s CSW 0x%08X: access with %08X, want 0x%08X", tc.fw, tc.csw, rec.csw, tc.want)
		}
	}
}

func TestHLACommands(t *testing.T) {
	g := chipsim.NewGeneric(0) // CPU on AP0, as HLA needs
	p := newTestProbe(t, "V2J46S7", g)
	enterSWD(t, p)
	if r := do(t, p, dbg(proto.DebugWriteDebugReg, u32(adi.RegDHCSR), u32(0xA05F0003)), nil); r[0] != byte(proto.StatusOK) {
		t.Fatalf("WRITEDEBUGREG 0x%02X", r[0])
	}
	r := do(t, p, dbg(proto.DebugReadDebugReg, u32(adi.RegDHCSR)), nil)
	if binary.LittleEndian.Uint32(r[4:])&adi.DHCSRSHalt == 0 {
		t.Errorf("DHCSR 0x%08X not halted", binary.LittleEndian.Uint32(r[4:]))
	}
	do(t, p, dbg(proto.DebugWriteReg, []byte{2}, u32(0xCAFE)), nil)
	if g.Core().Reg(2) != 0xCAFE {
		t.Errorf("R2 = 0x%X", g.Core().Reg(2))
	}
	r = do(t, p, dbg(proto.DebugReadReg, []byte{adi.RegSelPC}), nil)
	if r[0] != byte(proto.StatusOK) || binary.LittleEndian.Uint32(r[4:]) != 0x08000000 {
		t.Errorf("READREG PC % X", r)
	}
	r = do(t, p, dbg(debugReadAllRegs), nil)
	if binary.LittleEndian.Uint32(r[4+4*2:]) != 0xCAFE || binary.LittleEndian.Uint32(r[4+4*16:]) != 1<<24 {
		t.Errorf("READALLREGS % X", r)
	}
	// RESETSYS with vector catch halts at the reset vector
	do(t, p, dbg(proto.DebugWriteDebugReg, u32(adi.RegDEMCR), u32(adi.DEMCRVCCoreReset)), nil)
	do(t, p, dbg(proto.DebugResetSys), nil)
	if g.Core().Reg(2) != 0 || !g.Core().Halted() {
		t.Error("RESETSYS did not reset the core into the vector catch")
	}
}

func TestRWMisc(t *testing.T) {
	g := chipsim.NewGeneric(1)
	_ = g.RAM().Load(0x20000010, []byte{0x78, 0x56, 0x34, 0x12})
	p := newTestProbe(t, "V2J46S7", g)
	enterSWD(t, p)
	do(t, p, dbg(proto.DebugInitAP, []byte{1}), nil)
	ops := []byte{5, 3, 1, 2, 3, 3, 0, 0}
	params := cat(u32(1), u32(0x20000010), u32(0x20000020), u32(0xAABBCCDD), u32(0x20000020), u32(0x60000000))
	if OutDataLen(dbg(proto.DebugRWMiscOut, u32(6))) != len(ops)+len(params) {
		t.Fatalf("OutDataLen %d", OutDataLen(dbg(proto.DebugRWMiscOut, u32(6))))
	}
	p.Handle(dbg(proto.DebugRWMiscOut, u32(6)), cat(ops, params))
	r := do(t, p, dbg(proto.DebugRWMiscIn), nil)
	if len(r) != 48 {
		t.Fatalf("RW_MISC_IN %d bytes", len(r))
	}
	val := func(i int) uint32 { return binary.LittleEndian.Uint32(r[4*i:]) }
	st := func(i int) uint32 { return binary.LittleEndian.Uint32(r[24+4*i:]) }
	if val(1) != 0x12345678 || val(4) != 0xAABBCCDD {
		t.Errorf("values % X", r[:24])
	}
	for i := 0; i < 5; i++ {
		if st(i) != uint32(proto.StatusOK) {
			t.Errorf("item %d status 0x%X", i, st(i))
		}
	}
	if st(5) != uint32(proto.StatusSWDAPFault) {
		t.Errorf("faulting read status 0x%X", st(5))
	}
}

func TestNRSTAndLinkEpoch(t *testing.T) {
	chip := &epochChip{Generic: chipsim.NewGeneric(1)}
	p := newTestProbe(t, "V2J46S7", chip)
	// NRST works in mass mode (OpenOCD asserts it before ENTER)
	do(t, p, dbg(proto.DebugDriveNRST, []byte{proto.NRSTLow}), nil)
	if !chip.NRSTLow() {
		t.Fatal("NRST not low")
	}
	enterSWD(t, p)
	do(t, p, dbg(proto.DebugInitAP, []byte{1}), nil)
	r := do(t, p, memCmdBlock(proto.DebugReadMem32, adi.RegDHCSR, 4, 1, 0), nil)
	if binary.LittleEndian.Uint32(r)&adi.DHCSRSResetSt == 0 {
		t.Errorf("DHCSR under reset 0x%08X lacks S_RESET_ST", binary.LittleEndian.Uint32(r))
	}
	do(t, p, dbg(proto.DebugDriveNRST, []byte{proto.NRSTPulse}), nil)
	if chip.NRSTLow() {
		t.Error("NRST low after pulse")
	}
	// the chip drops the link: the DP answers nothing until ENTER
	chip.epoch++
	if _, st := dapRead(t, p, proto.DAPPortDP, 0); st != proto.StatusSWDDPError {
		t.Errorf("DPIDR after link drop: 0x%02X, want SWD_DP_ERROR", st)
	}
	enterSWD(t, p)
	if id, st := dapRead(t, p, proto.DAPPortDP, 0); st != proto.StatusOK || id != chipsim.DPIDRSTM32H5 {
		t.Errorf("DPIDR after re-ENTER 0x%08X 0x%02X", id, st)
	}
}

type epochChip struct {
	*chipsim.Generic
	epoch uint64
}

func (c *epochChip) LinkEpoch() uint64 { return c.epoch }

func TestWaitInjection(t *testing.T) {
	p := newTestProbe(t, "V2J46S7", chipsim.NewGenericM33(1))
	enterSWD(t, p)
	dapWrite(t, p, proto.DAPPortDP, 4, adi.CtrlCDbgPwrUpReq|adi.CtrlCSysPwrUpReq|adi.CtrlOrunDetect)
	p.Inject(Fault{Kind: FaultWait, Count: 3})
	if _, st := dapRead(t, p, proto.DAPPortDP, 0); st != proto.StatusSWDDPWait {
		t.Errorf("DP read: 0x%02X, want SWD_DP_WAIT", st)
	}
	if _, st := dapRead(t, p, 0, 0xFC); st != proto.StatusSWDAPWait {
		t.Errorf("AP read: 0x%02X, want SWD_AP_WAIT", st)
	}
	do(t, p, memCmdBlock(proto.DebugReadMem32, 0x20000000, 4, 0, 0), nil)
	if st, _ := lastStatus(t, p); st != proto.StatusSWDAPWait {
		t.Errorf("memory: 0x%02X, want SWD_AP_WAIT", st)
	}
	v, st := dapRead(t, p, proto.DAPPortDP, 4)
	if st != proto.StatusOK || v&adi.CtrlStickyOrun == 0 {
		t.Errorf("after the burst: 0x%02X, CTRL/STAT 0x%08X (want STICKYORUN)", st, v)
	}
}

func TestXferFaults(t *testing.T) {
	ctx := context.Background()
	p := newTestProbe(t, "V2J46S7", nil)
	mode := c(proto.CmdGetCurrentMode)
	in := make([]byte, 2)
	if err := p.Xfer(ctx, mode, nil, in); err != nil || in[0] != byte(proto.ModeMass) {
		t.Fatalf("GET_CURRENT_MODE: %v % X", err, in)
	}
	// reply length must match the read
	if err := p.Xfer(ctx, mode, nil, make([]byte, 4)); !errors.Is(err, ErrReplyLength) {
		t.Errorf("long read: %v", err)
	}
	if err := p.Xfer(ctx, c(proto.CmdDFU, proto.DFUExit), nil, in); !IsTimeout(err) {
		t.Errorf("read of a no-reply command: %v", err)
	}
	p.Inject(Fault{Kind: FaultTimeout, Count: 2})
	for i := 0; i < 2; i++ {
		err := p.Xfer(ctx, mode, nil, in)
		var to interface{ Timeout() bool }
		if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &to) || !to.Timeout() {
			t.Errorf("timeout %d: %v", i, err)
		}
	}
	if err := p.Xfer(ctx, mode, nil, in); err != nil {
		t.Errorf("after the timeouts: %v", err)
	}
	p.Inject(Fault{Kind: FaultShortReply})
	if err := p.Xfer(ctx, mode, nil, in); !errors.Is(err, ErrReplyLength) {
		t.Errorf("short reply: %v", err)
	}
	p.Inject(Fault{Kind: FaultGarbledReply})
	if err := p.Xfer(ctx, mode, nil, in); err != nil || in[0] != ^byte(proto.ModeMass) {
		t.Errorf("garbled reply: %v % X", err, in)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.Xfer(cctx, mode, nil, in); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	p.Inject(Fault{Kind: FaultUnplug})
	for i := 0; i < 2; i++ {
		err := p.Xfer(ctx, mode, nil, in)
		var d interface{ Disconnected() bool }
		if !errors.Is(err, ErrUnplugged) || !IsUnplugged(err) || !errors.As(err, &d) || !d.Disconnected() {
			t.Errorf("unplugged %d: %v", i, err)
		}
	}
	if _, ok := p.Handle(mode, nil); ok {
		t.Error("an unplugged probe answered Handle")
	}
	q := newTestProbe(t, "V2J46S7", nil)
	q.Close()
	if err := q.Xfer(ctx, mode, nil, in); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func TestStatsAndModelledTime(t *testing.T) {
	g := chipsim.NewGeneric(1)
	p := newTestProbe(t, "V2J46S7", g)
	enterSWD(t, p)
	do(t, p, dbg(proto.DebugSWDSetFreq, u16(0)), nil) // 4 MHz
	do(t, p, dbg(proto.DebugInitAP, []byte{1}), nil)
	p.ResetStats()
	do(t, p, memCmdBlock(proto.DebugReadMem32, 0x20000000, 1024, 1, 0), nil)
	s := p.Stats()
	if s.Commands != 1 || s.USBTransfers != 2 {
		t.Errorf("stats %+v: want 1 command, 2 transfers", s)
	}
	// 256 DRW reads plus CSW, TAR and RDBUFF
	if s.SWDBits < 256*46 || s.SWDBits > 270*48 {
		t.Errorf("SWD bits %d for 256 words", s.SWDBits)
	}
	minWire := time.Millisecond + time.Duration(s.SWDBits)*time.Second/4_000_000
	if s.Wire < minWire {
		t.Errorf("wire %v, want at least %v", s.Wire, minWire)
	}
	if g.Elapsed() < s.Wire {
		t.Errorf("chip advanced %v, less than the wire time %v", g.Elapsed(), s.Wire)
	}
	p.Handle(memCmdBlock(proto.DebugWriteMem32, 0x20000000, 8, 1, 0), make([]byte, 8))
	if s2 := p.Stats(); s2.USBTransfers != 4 {
		t.Errorf("a write is command plus data: %d transfers", s2.USBTransfers-s.USBTransfers)
	}
	// high speed is faster per round trip
	p3 := newTestProbe(t, "V3J7M3", chipsim.NewGenericM33(1))
	p3.Handle(c(proto.CmdGetCurrentMode), nil)
	if w := p3.Stats().Wire; w >= time.Millisecond || w < 125*time.Microsecond {
		t.Errorf("V3 round trip %v", w)
	}
}

func TestOutDataLen(t *testing.T) {
	tests := []struct {
		cmd  [16]byte
		want int
	}{
		{memCmdBlock(proto.DebugWriteMem32, 0, 64, 0, 0), 64},
		{memCmdBlock(proto.DebugWriteMem8, 0, 3, 0, 0), 3},
		{memCmdBlock(proto.DebugWriteMem16, 0, 6, 0, 0), 6},
		{memCmdBlock(proto.DebugWriteMem32NoInc, 0, 8, 0, 0), 8},
		{memCmdBlock(proto.DebugReadMem32, 0, 64, 0, 0), 0},
		{dbg(proto.DebugRWMiscOut, u32(82)), 84 + 328},
		{c(proto.CmdGetVersion), 0},
	}
	for _, tc := range tests {
		if got := OutDataLen(tc.cmd); got != tc.want {
			t.Errorf("OutDataLen(% X) = %d, want %d", tc.cmd[:8], got, tc.want)
		}
	}
}

// BenchmarkRAMRead reads 64 KiB of RAM in 1 KiB commands (each followed by
// GETLASTRWSTATUS2) with the SWD clock at 4 MHz (V3: 3.3 MHz, the nearest
// entry of its list) and reports the modelled throughput against the wire
// limit at that clock: one 32-bit word per 48 SWD clocks, 333 kB/s at 4 MHz.
func BenchmarkRAMRead(b *testing.B) {
	for _, fw := range []string{"V2J46S7", "V3J7M3"} {
		b.Run(fw, func(b *testing.B) {
			p := newTestProbe(b, fw, chipsim.NewGenericM33(1))
			enterSWD(b, p)
			if p.Config().Firmware.Hardware >= 3 {
				do(b, p, dbg(proto.DebugSetComFreq, []byte{0, 0}, u32(4000)), nil)
			} else {
				do(b, p, dbg(proto.DebugSWDSetFreq, u16(0)), nil)
			}
			do(b, p, dbg(proto.DebugInitAP, []byte{1}), nil)
			khz := p.fw.khz
			p.ResetStats()
			const chunk = 1024
			var bytesRead int64
			for i := 0; i < b.N; i++ {
				for addr := uint32(0x20000000); addr < 0x20010000; addr += chunk {
					do(b, p, memCmdBlock(proto.DebugReadMem32, addr, chunk, 1, 0), nil)
					do(b, p, dbg(proto.DebugGetLastRWStatus2), nil)
					bytesRead += chunk
				}
			}
			s := p.Stats()
			wireLimit := float64(khz) * 1000 / (bitsPerTransaction + idleBits) * 4
			rate := float64(bytesRead) / s.Wire.Seconds()
			b.ReportMetric(rate, "modelled-B/s")
			b.ReportMetric(wireLimit, "swd-limit-B/s")
			b.ReportMetric(rate/wireLimit, "of-limit")
		})
	}
}

// TestResetHaltSequence replays OpenOCD's reset-halt: one 8-byte write
// spanning DCRDR and DEMCR, then AIRCR.SYSRESETREQ; the core must be caught
// at the reset vector with S_RESET_ST reported once.
func TestResetHaltSequence(t *testing.T) {
	g := chipsim.NewGeneric(1)
	p := newTestProbe(t, "V2J46S7", g)
	enterSWD(t, p)
	do(t, p, dbg(proto.DebugInitAP, []byte{1}), nil)
	write := func(addr uint32, words ...uint32) {
		t.Helper()
		var b []byte
		for _, w := range words {
			b = append(b, u32(w)...)
		}
		p.Handle(memCmdBlock(proto.DebugWriteMem32, addr, uint16(len(b)), 1, 0xA2000000), b)
		if st, _ := lastStatus(t, p); st != proto.StatusOK {
			t.Fatalf("write at 0x%08X: 0x%02X", addr, st)
		}
	}
	read := func(addr uint32) uint32 {
		t.Helper()
		return binary.LittleEndian.Uint32(do(t, p, memCmdBlock(proto.DebugReadMem32, addr, 4, 1, 0xA2000000), nil))
	}
	write(adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn)
	write(adi.RegDCRDR, 0, adi.DEMCRTrcEna|adi.DEMCRVCCoreReset)
	if d := read(adi.RegDEMCR); d != adi.DEMCRTrcEna|adi.DEMCRVCCoreReset {
		t.Fatalf("DEMCR 0x%08X after the spanning write", d)
	}
	read(adi.RegDHCSR)
	write(adi.RegAIRCR, adi.AIRCRVectKey|adi.AIRCRSysResetReq)
	d := read(adi.RegDHCSR)
	if d&adi.DHCSRSHalt == 0 || d&adi.DHCSRSResetSt == 0 {
		t.Errorf("DHCSR 0x%08X after reset: want S_HALT and S_RESET_ST", d)
	}
	if d := read(adi.RegDHCSR); d&adi.DHCSRSResetSt != 0 {
		t.Errorf("S_RESET_ST not cleared by the read: 0x%08X", d)
	}
	if read(adi.RegDFSR)&adi.DFSRVCatch == 0 {
		t.Error("DFSR.VCATCH not set")
	}
}

func TestFaultKindString(t *testing.T) {
	for _, c := range []struct {
		k    FaultKind
		want string
	}{
		{FaultTimeout, "timeout"},
		{FaultUnplug, "unplug"},
		{FaultShortReply, "short reply"},
		{FaultGarbledReply, "garbled reply"},
		{FaultWait, "WAIT burst"},
		{FaultKind(-1), "fault(-1)"},
		{FaultKind(5), "fault(5)"},
	} {
		if got := c.k.String(); got != c.want {
			t.Errorf("FaultKind(%d).String() = %q, want %q", int(c.k), got, c.want)
		}
	}
}

func TestCSWSizeField(t *testing.T) {
	for _, c := range []struct {
		s    chipsim.Size
		bits uint32
	}{{chipsim.Byte, 0}, {chipsim.Halfword, 1}, {chipsim.Word, 2}} {
		if got := sizeBits(c.s); got != c.bits {
			t.Errorf("sizeBits(%d) = %d, want %d", c.s, got, c.bits)
		}
		if got := cswSize(c.bits); got != c.s {
			t.Errorf("cswSize(%d) = %d, want %d", c.bits, got, c.s)
		}
	}
}
