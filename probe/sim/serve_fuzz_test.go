package sim

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/probe/stlinkserver"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// streamConn is a net.Conn whose peer sent in and then closed its side:
// reads drain in, writes collect in out.
type streamConn struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (c *streamConn) Read(b []byte) (int, error)       { return c.in.Read(b) }
func (c *streamConn) Write(b []byte) (int, error)      { return c.out.Write(b) }
func (c *streamConn) Close() error                     { return nil }
func (c *streamConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *streamConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *streamConn) SetDeadline(time.Time) error      { return nil }
func (c *streamConn) SetReadDeadline(time.Time) error  { return nil }
func (c *streamConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzServeStream feeds an arbitrary byte stream to one stlink-server
// client session: the server never panics, answers every request it can
// frame with exactly the bytes a client reads for it, and stops at the first
// request it cannot frame.
func FuzzServeStream(f *testing.F) {
	open := stlinkserver.Request{Op: stlinkserver.OpOpenDev, DeviceID: deviceIDBase}
	usb := func(typ uint8, n int, cmd ...byte) []byte {
		r := stlinkserver.Request{Op: stlinkserver.OpSendUSBCmd, ConnectID: 0xC0DE0001,
			USB: stlinkserver.USBCommand{Type: typ, Length: uint32(n)}}
		copy(r.USB.Cmd[:], cmd)
		if typ == stlinkserver.USBWrite {
			r.USB.Data = make([]byte, n)
		}
		return r.Encode()
	}
	var session []byte
	for _, r := range []stlinkserver.Request{
		{Op: stlinkserver.OpGetServerVersion, ClientAPI: 1},
		{Op: stlinkserver.OpRefreshDeviceList},
		{Op: stlinkserver.OpGetNbDev},
		{Op: stlinkserver.OpGetDevInfo, InfoSize: stlinkserver.DevInfoSize},
		open,
	} {
		session = append(session, r.Encode()...)
	}
	session = append(session, usb(stlinkserver.USBRead, 6, proto.CmdGetVersion)...)
	session = append(session, usb(stlinkserver.USBRead, 2, proto.CmdDebug, proto.DebugEnter, proto.EnterSWD)...)
	session = append(session, usb(stlinkserver.USBWrite, 4, proto.CmdDebug, proto.DebugWriteMem32, 0, 0, 0, 0x20, 4, 0)...)
	session = append(session, usb(stlinkserver.USBRead, 12, proto.CmdDebug, proto.DebugReadMem32, 0, 0, 0, 0x20, 12, 0)...)
	session = append(session, stlinkserver.Request{Op: stlinkserver.OpCloseDev, ConnectID: 0xC0DE0001}.Encode()...)
	f.Add(session)
	f.Add(stlinkserver.Request{Op: stlinkserver.OpGetDevInfo, InfoSize: 0xFFFFFFFF}.Encode())
	f.Add(append(open.Encode(), usb(stlinkserver.USBReadSWO, stlinkserver.MaxUSBRead)...))
	f.Add(append(usb(stlinkserver.USBRead, 2, proto.CmdGetCurrentMode), 0x09, 0, 0, 0))
	f.Add([]byte{0x05, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		p := newTestProbe(t, "V2J46S7", chipsim.NewGenericM33(1))
		defer p.Close()
		c := &streamConn{in: bytes.NewReader(b)}
		newServer([]*Probe{p}).client(c)

		// Frame the same stream as a client would have sent it.
		in := bytes.NewReader(b)
		out := c.out.Bytes()
		for i := 0; ; i++ {
			req, err := stlinkserver.ReadRequest(in)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, stlinkserver.ErrMalformed) {
					t.Fatalf("request %d: %v", i, err)
				}
				break
			}
			n := stlinkserver.ResponseSize(req)
			if req.Op == stlinkserver.OpGetDevInfo && req.InfoSize > 1024 {
				n = 4 + stlinkserver.DevInfoSize // the server does not pad past 1 KiB
			}
			if len(out) < n {
				t.Fatalf("request %d (%+v): %d reply bytes left, want %d", i, req, len(out), n)
			}
			if req.Op != stlinkserver.OpGetNbDev && req.Op != stlinkserver.OpGetServerVersion {
				if _, err := stlinkserver.DecodeStatus(out); err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
			}
			out = out[n:]
		}
		if len(out) != 0 {
			t.Fatalf("%d reply bytes no request asked for: % x", len(out), out[:min(len(out), 32)])
		}
	})
}
