package probe

import (
	"context"
	"encoding/binary"

	"github.com/stprobe/stprobe/probe/proto"
)

// Raw sends one command block exactly as a client of the shared probe gave
// it (an stlink-server client such as OpenOCD): c, then out as the OUT data
// phase, then len(in) bytes of reply into in. The reply's own status bytes
// are the client's business; Raw returns only the transport's errors.
//
// The Link follows what the command does to the probe so that Close and
// Disconnect can still leave it clean: debug mode entered or left, NRST
// driven, access ports opened or closed, the SWD clock changed. op names the
// command in the trace log ("OpenOCD command").
func (l *Link) Raw(ctx context.Context, op string, c [16]byte, out, in []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	debug := c[0] == proto.CmdDebug
	if debug && c[1] == proto.DebugDriveNRST && c[2] == proto.NRSTLow {
		l.nrstLow = true // pessimistic, as driveNRST: a lost reply may still have driven it
	}
	if err := l.xfer(ctx, op, c, out, in); err != nil {
		return err
	}
	if !debug {
		return nil
	}
	switch c[1] {
	case proto.DebugEnter:
		l.inDebug = true
		l.opened = [256]bool{}
	case proto.DebugExit:
		l.inDebug = false
		l.opened = [256]bool{}
	case proto.DebugDriveNRST:
		l.nrstLow = c[2] == proto.NRSTLow
	case proto.DebugInitAP:
		l.opened[c[2]] = true
	case proto.DebugCloseAP:
		l.opened[c[2]] = false
	case proto.DebugSetComFreq, proto.DebugSWDSetFreq:
		l.khz = 0 // the client chose its own clock: unknown to the Link
	}
	return nil
}

// MemWrite is a write to target memory that a command block carries.
type MemWrite struct {
	AP   uint8
	Addr uint32
	// Len is the number of bytes written.
	Len int
	// Data holds the first bytes written (at most MemWriteDataMax).
	Data []byte
}

// MemWriteDataMax bounds the bytes of a write a MemWrite keeps.
const MemWriteDataMax = 16

// Command block layouts and RW_MISC item codes, as OpenOCD sends them
// (openocd-org/openocd, src/jtag/drivers/stlink_usb.c: the WRITEMEM_*
// commands carry the address in bytes 2..5, the length in 6..7 and the AP
// in 8; WRITE_DAP_REG the port in 2..3, the register in 4..5 and the
// value in 6..9; RW_MISC_OUT the item count in 2..5, then one opcode byte
// per item padded to 4, then one u32 per item). The item codes are the ones
// the simulated firmware answers (probe/sim/memory.go).
const (
	miscItemAddress = 1
	miscItemWrite   = 2
	miscItemAPNum   = 5

	dpPort      = 0xFFFF // WRITE_DAP_REG port of the DP itself
	apRegTAR    = 0x04
	apRegDRW    = 0x0C
	apRegBD0    = 0x10
	apRegBD3    = 0x1C
	apRegBDMask = 0xFFFFFFF0
)

// WriteTracker follows one client's command stream and names the target
// memory writes in it: the memory commands, RW_MISC batches, and writes
// through the AP registers (TAR, then DRW or a banked data register). It
// keeps the TAR and RW_MISC state the stream set. The zero value is ready.
type WriteTracker struct {
	tar    map[uint8]uint32
	miscAP uint8
}

// Writes reports the memory writes that command block c, with OUT data
// out, makes. It reads only the command and the data: it never fails,
// whatever a client sends.
func (w *WriteTracker) Writes(c [16]byte, out []byte) []MemWrite {
	if c[0] != proto.CmdDebug {
		return nil
	}
	le := binary.LittleEndian
	switch c[1] {
	case proto.DebugWriteMem32, proto.DebugWriteMem16, proto.DebugWriteMem8, proto.DebugWriteMem32NoInc:
		n := int(le.Uint16(c[6:]))
		if n == 0 {
			return nil
		}
		return []MemWrite{{AP: c[8], Addr: le.Uint32(c[2:]), Len: n, Data: head(out, n)}}
	case proto.DebugWriteDebugReg:
		// HLA: one word through the core's AP (AP0 as HLA sees it)
		return []MemWrite{{Addr: le.Uint32(c[2:]), Len: 4, Data: append([]byte(nil), c[6:10]...)}}
	case proto.DebugWriteDAPReg:
		port, reg, v := le.Uint16(c[2:]), uint32(le.Uint16(c[4:])), le.Uint32(c[6:])
		if port == dpPort || port > 0xFF {
			return nil
		}
		ap := uint8(port)
		if w.tar == nil {
			w.tar = map[uint8]uint32{}
		}
		switch {
		case reg == apRegTAR:
			w.tar[ap] = v
		case reg == apRegDRW:
			return []MemWrite{{AP: ap, Addr: w.tar[ap], Len: 4, Data: le.AppendUint32(nil, v)}}
		case reg >= apRegBD0 && reg <= apRegBD3:
			return []MemWrite{{AP: ap, Addr: w.tar[ap]&apRegBDMask + (reg - apRegBD0), Len: 4, Data: le.AppendUint32(nil, v)}}
		}
	case proto.DebugRWMiscOut:
		return w.misc(int(le.Uint32(c[2:])), out)
	}
	return nil
}

// misc walks a RW_MISC_OUT batch of n items.
func (w *WriteTracker) misc(n int, data []byte) []MemWrite {
	params := (n + 3) &^ 3
	if n <= 0 || n > len(data) || params+4*n > len(data) {
		return nil
	}
	var out []MemWrite
	var addr uint32
	for i := 0; i < n; i++ {
		arg := binary.LittleEndian.Uint32(data[params+4*i:])
		switch data[i] {
		case miscItemAPNum:
			w.miscAP = uint8(arg)
		case miscItemAddress:
			addr = arg
		case miscItemWrite:
			out = append(out, MemWrite{AP: w.miscAP, Addr: addr, Len: 4, Data: binary.LittleEndian.AppendUint32(nil, arg)})
		}
	}
	return out
}

// head copies the first bytes of a write's data.
func head(out []byte, n int) []byte {
	n = min(n, len(out), MemWriteDataMax)
	return append([]byte(nil), out[:n]...)
}
