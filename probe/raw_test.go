package probe

import (
	"encoding/binary"
	"testing"

	"github.com/stprobe/stprobe/probe/proto"
)

// cmdOf builds a debug command block: sub-command, then the bytes from 2.
func cmdOf(sub byte, rest ...byte) [16]byte {
	var c [16]byte
	c[0], c[1] = proto.CmdDebug, sub
	copy(c[2:], rest)
	return c
}

func TestWriteTracker(t *testing.T) {
	le := binary.LittleEndian
	var w WriteTracker
	mem := cmdOf(proto.DebugWriteMem32)
	le.PutUint32(mem[2:], 0x4002200C)
	le.PutUint16(mem[6:], 8)
	mem[8] = 1
	got := w.Writes(mem, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	if len(got) != 1 || got[0].Addr != 0x4002200C || got[0].Len != 8 || got[0].AP != 1 || len(got[0].Data) != 8 {
		t.Errorf("WRITEMEM_32BIT: %+v", got)
	}
	// TAR then DRW through WRITE_DAP_REG
	tar := cmdOf(proto.DebugWriteDAPReg, 1, 0, 0x04, 0)
	le.PutUint32(tar[6:], 0x40022054)
	if got := w.Writes(tar, nil); got != nil {
		t.Errorf("a TAR write is not a memory write: %+v", got)
	}
	drw := cmdOf(proto.DebugWriteDAPReg, 1, 0, 0x0C, 0)
	if got := w.Writes(drw, nil); len(got) != 1 || got[0].Addr != 0x40022054 || got[0].AP != 1 {
		t.Errorf("DRW after TAR: %+v", got)
	}
	bd2 := cmdOf(proto.DebugWriteDAPReg, 1, 0, 0x18, 0)
	if got := w.Writes(bd2, nil); len(got) != 1 || got[0].Addr != 0x40022058 {
		t.Errorf("BD2 after TAR: %+v", got)
	}
	// RW_MISC: AP 1, address, write
	misc := cmdOf(proto.DebugRWMiscOut, 3)
	data := []byte{miscItemAPNum, miscItemAddress, miscItemWrite, 0}
	data = le.AppendUint32(data, 1)
	data = le.AppendUint32(data, 0x4002201C)
	data = le.AppendUint32(data, 2)
	if got := w.Writes(misc, data); len(got) != 1 || got[0].Addr != 0x4002201C || got[0].AP != 1 {
		t.Errorf("RW_MISC write: %+v", got)
	}
	// reads and other commands write nothing
	for _, c := range [][16]byte{cmdOf(proto.DebugReadMem32), cmdOf(proto.DebugEnter), {proto.CmdGetVersion}} {
		if got := w.Writes(c, nil); got != nil {
			t.Errorf("command % X: %+v", c[:2], got)
		}
	}
}

// FuzzWriteTracker: whatever a client sends, the tracker never panics and
// never reports more data than it was given.
func FuzzWriteTracker(f *testing.F) {
	f.Add([]byte{proto.CmdDebug, proto.DebugWriteMem32, 0, 0, 0, 0x20, 4, 0, 1, 0, 0, 0, 0, 0, 0, 0}, []byte{1, 2, 3, 4})
	f.Add([]byte{proto.CmdDebug, proto.DebugRWMiscOut, 0xFF, 0xFF, 0xFF, 0x7F}, []byte{2, 2, 2, 2})
	f.Add([]byte{proto.CmdDebug, proto.DebugWriteDAPReg, 1, 0, 0x0C, 0, 1, 2, 3, 4}, []byte(nil))
	f.Fuzz(func(t *testing.T, cmd, out []byte) {
		var c [16]byte
		copy(c[:], cmd)
		var w WriteTracker
		for _, mw := range w.Writes(c, out) {
			if len(mw.Data) > max(MemWriteDataMax, 4) {
				t.Fatalf("write keeps %d bytes", len(mw.Data))
			}
		}
	})
}
