package da

import (
	"context"
	"encoding/binary"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/proto"
)

// Port is what debug authentication needs from a probe: attach and leave
// as the driver does (probe.Connect and probe.Disconnect, whose Under Reset
// steps start a DA session), drive NRST, and move words through an access
// port. LinkPort adapts a *probe.Link; tests may supply their own.
type Port interface {
	// Connect attaches in o.Mode on o.AP (probe.Connect). Protocol failures
	// are in the report; the error is for an unreachable probe.
	Connect(ctx context.Context, o probe.ConnectOptions) (*probe.ConnectReport, error)
	// Disconnect leaves the probe clean: NRST released, APs closed, debug
	// mode left (probe.Disconnect).
	Disconnect(ctx context.Context) error
	// SetNRST drives NRST low (true) or releases it (false).
	SetNRST(ctx context.Context, low bool) error
	// Read32 and Write32 move one word through access port ap.
	Read32(ctx context.Context, ap uint8, addr uint32) (uint32, error)
	Write32(ctx context.Context, ap uint8, addr uint32, v uint32) error
	// Write16 stores one 16-bit half-word through ap (OTP is programmed
	// by half-words).
	Write16(ctx context.Context, ap uint8, addr uint32, v uint16) error
	// ReadMem reads len(buf) bytes at addr through ap in width-byte
	// accesses (4 here).
	ReadMem(ctx context.Context, ap uint8, addr uint32, width int, buf []byte) error
}

// LinkPort returns l as a Port.
func LinkPort(l *probe.Link) Port { return linkPort{l} }

type linkPort struct{ l *probe.Link }

func (p linkPort) Connect(ctx context.Context, o probe.ConnectOptions) (*probe.ConnectReport, error) {
	return probe.Connect(ctx, p.l, o)
}

func (p linkPort) Disconnect(ctx context.Context) error { return probe.Disconnect(ctx, p.l) }

func (p linkPort) SetNRST(ctx context.Context, low bool) error {
	if low {
		return p.l.DriveNRST(ctx, proto.NRSTLow)
	}
	return p.l.DriveNRST(ctx, proto.NRSTHigh)
}

func (p linkPort) Read32(ctx context.Context, ap uint8, addr uint32) (uint32, error) {
	return p.l.Read32(ctx, ap, addr)
}

func (p linkPort) Write32(ctx context.Context, ap uint8, addr uint32, v uint32) error {
	return p.l.Write32(ctx, ap, addr, v)
}

func (p linkPort) Write16(ctx context.Context, ap uint8, addr uint32, v uint16) error {
	return p.l.WriteMem(ctx, ap, addr, 2, binary.LittleEndian.AppendUint16(nil, v))
}

func (p linkPort) ReadMem(ctx context.Context, ap uint8, addr uint32, width int, buf []byte) error {
	return p.l.ReadMem(ctx, ap, addr, width, buf)
}
