package probe_test

import (
	"context"
	"encoding/binary"
	"sync"

	"github.com/stprobe/stprobe/probe/proto"
)

// fakeProbe is a small scripted ST-LINK for unit tests of the command layer:
// it records every command, keeps a flat memory, and answers with the
// statuses a test arranges. The simulator (package sim) is the full model;
// this fake exists to pin down exact byte sequences and odd firmware levels.
type fakeProbe struct {
	mu       sync.Mutex
	v        proto.Version
	mode     proto.Mode
	mem      map[uint32]byte
	faultLo  uint32 // memory in [faultLo, faultHi) faults with 0x11
	faultHi  uint32
	waits    int                   // the next waits status-bearing commands answer WAIT
	rwStatus byte                  // status of the last memory command
	rwAddr   uint32                // its fault address
	dp       [16]uint32            // DP registers by address/4 (bank 0 only)
	cmds     [][16]byte            // every command, in order
	outs     [][]byte              // OUT data of each command
	inLens   []int                 // IN length asked for each command
	override func([16]byte) []byte // when non-nil and it returns non-nil, that is the reply
	unplug   bool
	errNext  error // returned by the next Xfer
	closed   bool
}

func newFake(fw string) *fakeProbe {
	v, err := proto.ParseVersion(fw)
	if err != nil {
		panic(err)
	}
	v.VID = proto.VendorST
	v.PID = 0x3748
	if v.Hardware >= 3 {
		v.PID = 0x374E
	}
	return &fakeProbe{v: v, mode: proto.ModeMass, mem: map[uint32]byte{}, rwStatus: 0x80}
}

type unpluggedErr struct{}

func (unpluggedErr) Error() string      { return "fake: gone" }
func (unpluggedErr) Disconnected() bool { return true }

func (f *fakeProbe) Close() error { f.closed = true; return nil }

// count returns how many commands matched sub-command sub of 0xF2.
func (f *fakeProbe) count(sub byte) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.cmds {
		if c[0] == proto.CmdDebug && c[1] == sub {
			n++
		}
	}
	return n
}

// memCmds returns (address, length, IN length) of every memory read or write command.
func (f *fakeProbe) memCmds() (addrs []uint32, lens []int, inLens []int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, c := range f.cmds {
		if c[0] != proto.CmdDebug {
			continue
		}
		switch c[1] {
		case proto.DebugReadMem8, proto.DebugReadMem16, proto.DebugReadMem32,
			proto.DebugWriteMem8, proto.DebugWriteMem16, proto.DebugWriteMem32:
			addrs = append(addrs, binary.LittleEndian.Uint32(c[2:6]))
			lens = append(lens, int(binary.LittleEndian.Uint16(c[6:8])))
			inLens = append(inLens, f.inLens[i])
		}
	}
	return
}

func (f *fakeProbe) status(in []byte, s byte) {
	if f.waits > 0 {
		f.waits--
		s = byte(proto.StatusSWDDPWait)
	}
	in[0] = s
}

func (f *fakeProbe) Xfer(ctx context.Context, c [16]byte, out, in []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if f.unplug {
		return unpluggedErr{}
	}
	if err := f.errNext; err != nil {
		f.errNext = nil
		return err
	}
	f.cmds = append(f.cmds, c)
	f.outs = append(f.outs, append([]byte(nil), out...))
	f.inLens = append(f.inLens, len(in))
	if f.override != nil {
		if r := f.override(c); r != nil {
			copy(in, r)
			return nil
		}
	}
	clear(in)
	switch c[0] {
	case proto.CmdGetVersion:
		copy(in, proto.EncodeVersion(f.v))
	case proto.CmdGetVersionExt:
		copy(in, proto.EncodeVersionExt(f.v))
	case proto.CmdGetCurrentMode:
		in[0] = byte(f.mode)
	case proto.CmdDFU, proto.CmdSWIM:
		f.mode = proto.ModeMass
	case proto.CmdGetTargetVoltage:
		binary.LittleEndian.PutUint32(in[0:], 1521)
		binary.LittleEndian.PutUint32(in[4:], 2059)
	case proto.CmdDebug:
		f.debug(c, out, in)
	}
	return nil
}

func (f *fakeProbe) debug(c [16]byte, out, in []byte) {
	addr := binary.LittleEndian.Uint32(c[2:6])
	n := int(binary.LittleEndian.Uint16(c[6:8]))
	memOK := func(a uint32, n int) bool {
		for i := range n {
			if x := a + uint32(i); x >= f.faultLo && x < f.faultHi {
				f.rwStatus, f.rwAddr = byte(proto.StatusSWDAPFault), x
				return false
			}
		}
		f.rwStatus = 0x80
		return true
	}
	switch c[1] {
	case proto.DebugExit:
		f.mode = proto.ModeMass
	case proto.DebugEnter:
		f.mode = proto.ModeDebug
		f.status(in, 0x80)
	case proto.DebugReadIDCodes:
		f.status(in, 0x80)
		binary.LittleEndian.PutUint32(in[4:], 0x6BA02477)
	case proto.DebugDriveNRST, proto.DebugSWDSetFreq, proto.DebugInitAP, proto.DebugCloseAP:
		f.status(in, 0x80)
	case proto.DebugGetComFreq:
		in[0] = 0x80
		binary.LittleEndian.PutUint32(in[4:], 1000)
		binary.LittleEndian.PutUint32(in[8:], uint32(len(proto.V3SWDTable)))
		for i, k := range proto.V3SWDTable {
			binary.LittleEndian.PutUint32(in[12+4*i:], uint32(k))
		}
	case proto.DebugSetComFreq:
		f.status(in, 0x80)
		binary.LittleEndian.PutUint32(in[4:], binary.LittleEndian.Uint32(c[4:8]))
	case proto.DebugReadDAPReg:
		f.status(in, 0x80)
		port, reg := binary.LittleEndian.Uint16(c[2:4]), binary.LittleEndian.Uint16(c[4:6])
		if port == proto.DAPPortDP {
			v := f.dp[reg/4&0xF]
			if reg == 0x4 {
				v |= (v & 0x50000000) << 1 // ACKs follow requests
			}
			binary.LittleEndian.PutUint32(in[4:], v)
		}
	case proto.DebugWriteDAPReg:
		f.status(in, 0x80)
		port, reg := binary.LittleEndian.Uint16(c[2:4]), binary.LittleEndian.Uint16(c[4:6])
		if port == proto.DAPPortDP && reg != 0 {
			f.dp[reg/4&0xF] = binary.LittleEndian.Uint32(c[6:10])
		}
	case proto.DebugReadMem8, proto.DebugReadMem16, proto.DebugReadMem32:
		if memOK(addr, n) {
			for i := range n {
				in[i] = f.mem[addr+uint32(i)]
			}
		}
	case proto.DebugWriteMem8, proto.DebugWriteMem16, proto.DebugWriteMem32:
		if memOK(addr, len(out)) {
			for i, b := range out {
				f.mem[addr+uint32(i)] = b
			}
		}
	case proto.DebugGetLastRWStatus2:
		f.status(in, f.rwStatus)
		binary.LittleEndian.PutUint32(in[4:], f.rwAddr)
	case proto.DebugGetLastRWStatus:
		f.status(in, f.rwStatus)
	}
}
