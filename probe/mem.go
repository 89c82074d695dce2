package probe

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/stprobe/stprobe/probe/proto"
)

// memOp holds what one ReadMem or WriteMem call needs per chunk.
type memOp struct {
	name  string // "read memory" or "write memory"
	sub   byte   // memory sub-command
	limit int    // largest chunk in bytes
}

// planMem checks a memory transfer and returns its command and chunk limit.
func (l *Link) planMem(write bool, ap uint8, addr uint32, width, n int) (memOp, error) {
	op := memOp{name: "read memory"}
	if write {
		op.name = "write memory"
	}
	switch width {
	case 1:
		op.sub, op.limit = proto.DebugReadMem8, l.v.MaxMem8()
		if write {
			op.sub = proto.DebugWriteMem8
		}
	case 2:
		if !l.v.HasMem16() {
			return op, l.needV2(op.name, "16-bit memory access", proto.MinV2JMem16)
		}
		op.sub, op.limit = proto.DebugReadMem16, proto.MaxMem16Or32Transfer
		if write {
			op.sub = proto.DebugWriteMem16
		}
	case 4:
		op.sub, op.limit = proto.DebugReadMem32, proto.MaxMem16Or32Transfer
		if write {
			op.sub = proto.DebugWriteMem32
		}
	default:
		return op, fmt.Errorf("%s: access width %d bytes, want 1, 2 or 4", op.name, width)
	}
	if addr%uint32(width) != 0 || n%width != 0 {
		return op, fmt.Errorf("%s: address 0x%08X and length %d must be multiples of %d for %d-bit access", op.name, addr, n, width, 8*width)
	}
	if uint64(addr)+uint64(n) > 1<<32 {
		return op, fmt.Errorf("%s: 0x%08X + %d bytes runs past the end of the address space", op.name, addr, n)
	}
	return op, nil
}

// chunkLen is the size of the next chunk: as much as the firmware takes in
// one command. A chunk may cross the MEM-AP's TAR auto-increment boundary:
// in SWD mode the firmware rewrites TAR itself (see
// proto.MaxTARAutoIncrement), so the largest block is the firmware's
// buffer, never the AP's increment range.
func chunkLen(left, limit int) int { return min(left, limit) }

// memCmd builds a memory command block (firmware-default CSW).
func memCmd(sub byte, addr uint32, n int, ap uint8) [16]byte {
	c := cmd(proto.CmdDebug, sub)
	binary.LittleEndian.PutUint32(c[2:6], addr)
	binary.LittleEndian.PutUint16(c[6:8], uint16(n))
	c[8] = ap
	return c
}

// ReadMem reads len(buf) bytes at addr through access port ap with width-byte
// accesses (1, 2 or 4; addr and length aligned to it). The transfer is cut
// into the largest chunks the firmware takes (6144 bytes for 16- and 32-bit
// accesses, 64 or 512 for 8-bit ones); the status of each chunk is fetched
// (GETLASTRWSTATUS2, with the fault address) and WAIT is retried. The
// status is asked after every chunk because the firmware keeps only the
// last command's: no public source says a fault survives the next memory
// command. After a fault the DP sticky errors are cleared and a
// *StatusError is returned.
func (l *Link) ReadMem(ctx context.Context, ap uint8, addr uint32, width int, buf []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.transferMem(ctx, false, ap, addr, width, buf)
}

// WriteMem writes data at addr through access port ap; see ReadMem.
func (l *Link) WriteMem(ctx context.Context, ap uint8, addr uint32, width int, data []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.transferMem(ctx, true, ap, addr, width, data)
}

func (l *Link) transferMem(ctx context.Context, write bool, ap uint8, addr uint32, width int, buf []byte) error {
	op, err := l.planMem(write, ap, addr, width, len(buf))
	if err != nil || len(buf) == 0 {
		return err
	}
	if err := l.ensureAP(ctx, op.name, ap); err != nil {
		return err
	}
	total := len(buf)
	for done := 0; done < total; {
		a := addr + uint32(done)
		n := chunkLen(total-done, op.limit)
		name := fmt.Sprintf("%s: %d bytes at 0x%08X on AP%d", op.name, n, a, ap)
		c := memCmd(op.sub, a, n, ap)
		chunk := buf[done : done+n]
		err := l.retryWait(ctx, name, func() error {
			var err error
			switch {
			case write:
				err = l.xfer(ctx, name, c, chunk, nil)
			case n == 1: // the firmware sends two bytes for a one-byte read
				two := make([]byte, 2)
				err = l.xfer(ctx, name, c, nil, two)
				chunk[0] = two[0]
			default:
				err = l.xfer(ctx, name, c, nil, chunk)
			}
			if err != nil {
				return err
			}
			return l.lastRWStatus(ctx, name)
		})
		if err != nil {
			l.afterFault(ctx, err)
			return err
		}
		done += n
		if total > op.limit {
			l.emit(op.name, fmt.Sprintf("%s at 0x%08X: %d of %d bytes", op.name, addr, done, total), done, total)
		}
	}
	return nil
}

// lastRWStatus fetches the status of the previous memory command.
func (l *Link) lastRWStatus(ctx context.Context, op string) error {
	v2 := l.v.HasLastRWStatus2()
	sub, n := byte(proto.DebugGetLastRWStatus), replyLastRW
	if v2 {
		sub, n = proto.DebugGetLastRWStatus2, replyLastRW2
	}
	b := make([]byte, n)
	if err := l.xfer(ctx, op, cmd(proto.CmdDebug, sub), nil, b); err != nil {
		return err
	}
	return decodeLastRW(op, b, v2)
}

// Read32 reads one 32-bit word.
func (l *Link) Read32(ctx context.Context, ap uint8, addr uint32) (uint32, error) {
	var b [4]byte
	if err := l.ReadMem(ctx, ap, addr, 4, b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

// Write32 writes one 32-bit word.
func (l *Link) Write32(ctx context.Context, ap uint8, addr uint32, v uint32) error {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	return l.WriteMem(ctx, ap, addr, 4, b[:])
}
