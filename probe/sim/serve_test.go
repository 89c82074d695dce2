package sim

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/probe/stlinkserver"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// startServer serves probes on a free port; the server stops with the test.
func startServer(t *testing.T, probes ...*Probe) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, probes...) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return l.Addr().String()
}

type client struct {
	t *testing.T
	c net.Conn
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t, c}
}

// call sends req and reads its whole reply.
func (cl *client) call(req stlinkserver.Request) []byte {
	cl.t.Helper()
	b, err := cl.tryCall(req)
	if err != nil {
		cl.t.Fatalf("op %d: %v", req.Op, err)
	}
	return b
}

// tryCall is call returning the error (for goroutines other than the test's).
func (cl *client) tryCall(req stlinkserver.Request) ([]byte, error) {
	cl.c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := cl.c.Write(req.Encode()); err != nil {
		return nil, err
	}
	b := make([]byte, stlinkserver.ResponseSize(req))
	if _, err := io.ReadFull(cl.c, b); err != nil {
		return nil, err
	}
	return b, nil
}

func (cl *client) info(i uint8) (stlinkserver.Status, stlinkserver.DeviceInfo) {
	cl.t.Helper()
	st, d, err := stlinkserver.DecodeDeviceInfo(cl.call(stlinkserver.Request{Op: stlinkserver.OpGetDevInfo, Index: i, InfoSize: stlinkserver.DevInfoSize}))
	if err != nil {
		cl.t.Fatal(err)
	}
	return st, d
}

func (cl *client) open(id uint32) (stlinkserver.Status, uint32) {
	cl.t.Helper()
	st, conn, err := stlinkserver.DecodeOpen(cl.call(stlinkserver.Request{Op: stlinkserver.OpOpenDev, DeviceID: id}))
	if err != nil {
		cl.t.Fatal(err)
	}
	return st, conn
}

func (cl *client) usbRead(conn uint32, cmd [16]byte, n int) (stlinkserver.Status, []byte) {
	cl.t.Helper()
	st, data, err := stlinkserver.DecodeUSBReply(cl.call(stlinkserver.Request{Op: stlinkserver.OpSendUSBCmd, ConnectID: conn,
		USB: stlinkserver.USBCommand{Cmd: cmd, Type: stlinkserver.USBRead, Length: uint32(n)}}), n)
	if err != nil {
		cl.t.Fatal(err)
	}
	return st, data
}

func TestServeSession(t *testing.T) {
	g := chipsim.NewGeneric(1)
	p1 := newTestProbe(t, "V2J40M27", g)
	p2 := newTestProbe(t, "V3J7M3", nil)
	addr := startServer(t, p1, p2)
	a := dial(t, addr)

	v, err := stlinkserver.DecodeServerVersion(a.call(stlinkserver.Request{Op: stlinkserver.OpGetServerVersion, ClientAPI: 1}))
	if err != nil || v.API != ServerAPIVersion {
		t.Errorf("server version %+v %v", v, err)
	}
	if st, _ := stlinkserver.DecodeStatus(a.call(stlinkserver.Request{Op: stlinkserver.OpRefreshDeviceList})); st != stlinkserver.StatusOK {
		t.Errorf("refresh: %v", st)
	}
	if n, _ := stlinkserver.DecodeCount(a.call(stlinkserver.Request{Op: stlinkserver.OpGetNbDev})); n != 2 {
		t.Fatalf("%d devices", n)
	}
	st, d := a.info(0)
	if st != stlinkserver.StatusOK || d.PID != 0x374B || d.Serial != p1.Config().Serial || d.Used {
		t.Errorf("device 0: %v %+v", st, d)
	}
	if st, d2 := a.info(1); st != stlinkserver.StatusOK || d2.PID != 0x374E || d2.ID == d.ID {
		t.Errorf("device 1: %v %+v", st, d2)
	}
	if st, _ := a.info(2); st == stlinkserver.StatusOK {
		t.Error("device 2 exists")
	}
	if st, conn := a.open(0xDEAD); st == stlinkserver.StatusOK || conn != 0 {
		t.Errorf("open of an unknown id: %v %X", st, conn)
	}
	st, conn := a.open(d.ID)
	if st != stlinkserver.StatusOK || conn == 0 {
		t.Fatalf("open: %v %X", st, conn)
	}
	// the GET_VERSION of the golden transcript
	st, data := a.usbRead(conn, c(proto.CmdGetVersion), 6)
	if st != stlinkserver.StatusOK || string(data) != "\x2a\x1b\x83\x04\x4b\x37" {
		t.Errorf("GET_VERSION over TCP: %v % X", st, data)
	}
	// a second client sees the probe as used, may still open it, gets another id
	b := dial(t, addr)
	if _, d := b.info(0); !d.Used {
		t.Error("device 0 not shown as used")
	}
	st, conn2 := b.open(d.ID)
	if st != stlinkserver.StatusOK || conn2 == conn {
		t.Errorf("second open: %v %X", st, conn2)
	}
	// one client cannot use the other's connect id
	if st, _ := b.usbRead(conn, c(proto.CmdGetCurrentMode), 2); st != stlinkserver.StatusBadParameter {
		t.Errorf("foreign connect id: %v", st)
	}
	// a memory write then its status, as OpenOCD sends them
	a.usbRead(conn, dbg(proto.DebugEnter, []byte{proto.EnterSWD}), 2)
	a.usbRead(conn, dbg(proto.DebugInitAP, []byte{1}), 2)
	w := stlinkserver.Request{Op: stlinkserver.OpSendUSBCmd, ConnectID: conn, USB: stlinkserver.USBCommand{
		Cmd: memCmdBlock(proto.DebugWriteMem32, 0x20000000, 4, 1, 0xA2000000), Type: stlinkserver.USBWrite, Length: 4, Data: []byte{0x78, 0x56, 0x34, 0x12}}}
	if st, _ := stlinkserver.DecodeStatus(a.call(w)); st != stlinkserver.StatusOK {
		t.Errorf("memory write: %v", st)
	}
	if st, data := a.usbRead(conn, dbg(proto.DebugGetLastRWStatus2), 12); st != stlinkserver.StatusOK || data[0] != byte(proto.StatusOK) {
		t.Errorf("GETLASTRWSTATUS2: %v % X", st, data)
	}
	if got := binary.LittleEndian.Uint32(g.RAM().Bytes(0x20000000, 4)); got != 0x12345678 {
		t.Errorf("RAM 0x%08X", got)
	}
	// no-reply command as a read of length 0
	if st, _ := a.usbRead(conn, dbg(proto.DebugExit), 0); st != stlinkserver.StatusOK {
		t.Errorf("EXIT: %v", st)
	}
	// a read of a no-reply command times out
	if st, data := a.usbRead(conn, c(proto.CmdDFU, proto.DFUExit), 2); st != stlinkserver.StatusTimeout || len(data) != 2 {
		t.Errorf("read of DFU_EXIT: %v % X", st, data)
	}
	// SWO reads return the bytes asked for
	if st, data := a.usbRead(conn, [16]byte{}, 0); st != stlinkserver.StatusOK || len(data) != 0 {
		t.Errorf("empty read: %v", st)
	}
	if n := binary.LittleEndian.Uint32(a.call(stlinkserver.Request{Op: stlinkserver.OpGetNbOfDevClients, DeviceID: d.ID})[4:]); n != 2 {
		t.Errorf("%d clients, want 2", n)
	}
	// close
	if st, _ := stlinkserver.DecodeStatus(a.call(stlinkserver.Request{Op: stlinkserver.OpCloseDev, ConnectID: conn})); st != stlinkserver.StatusOK {
		t.Errorf("close: %v", st)
	}
	if st, _ := stlinkserver.DecodeStatus(a.call(stlinkserver.Request{Op: stlinkserver.OpCloseDev, ConnectID: conn})); st == stlinkserver.StatusOK {
		t.Error("second close succeeded")
	}
	// when the second client goes away, the device is free again
	b.c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, d := a.info(0); !d.Used {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("device still used after its client left")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestServeFaults(t *testing.T) {
	p := newTestProbe(t, "V2J46S7", chipsim.NewGenericM33(1))
	addr := startServer(t, p)
	a := dial(t, addr)
	_, d := a.info(0)
	_, conn := a.open(d.ID)
	p.Inject(Fault{Kind: FaultTimeout})
	if st, data := a.usbRead(conn, c(proto.CmdGetCurrentMode), 2); st != stlinkserver.StatusTimeout || len(data) != 2 {
		t.Errorf("timeout: %v", st)
	}
	p.Inject(Fault{Kind: FaultShortReply})
	if st, _ := a.usbRead(conn, c(proto.CmdGetVersion), 6); st != stlinkserver.StatusTruncatedData {
		t.Errorf("short reply: %v", st)
	}
	p.Inject(Fault{Kind: FaultUnplug})
	if st, _ := a.usbRead(conn, c(proto.CmdGetCurrentMode), 2); st != stlinkserver.StatusTransferError {
		t.Errorf("unplugged: %v", st)
	}
	if n, _ := stlinkserver.DecodeCount(a.call(stlinkserver.Request{Op: stlinkserver.OpGetNbDev})); n != 0 {
		t.Errorf("unplugged probe still listed (%d)", n)
	}
	// a request the server cannot frame drops the client
	if _, err := a.c.Write([]byte{0x09, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	a.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := a.c.Read(make([]byte, 1)); err == nil {
		t.Error("connection still open after a bad opcode")
	}
}

// FuzzHandle: any command block and OUT data give a reply without
// panicking, and reads give exactly the length asked for.
func FuzzHandle(f *testing.F) {
	f.Add([]byte{proto.CmdDebug, proto.DebugReadMem32, 0, 0, 0, 0x20, 0x10, 0, 1, 0, 0, 0xA2}, []byte{})
	f.Add([]byte{proto.CmdDebug, proto.DebugWriteMem8, 1, 0, 0, 0x20, 3, 0, 1}, []byte{1, 2, 3})
	f.Add([]byte{proto.CmdDebug, proto.DebugRWMiscOut, 2, 0, 0, 0}, []byte{5, 3, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x20})
	f.Add([]byte{proto.CmdDebug, proto.DebugReadDAPReg, 1, 0, 0xFC, 0}, []byte{})
	f.Add([]byte{proto.CmdDebug, proto.DebugWriteDAPReg, 0xFF, 0xFF, 4, 0, 0, 0, 0, 0x50}, []byte{})
	f.Add([]byte{proto.CmdGetVersion}, []byte{})
	p := newTestProbe(f, "V2J46S7", chipsim.NewGenericM33(1))
	enterSWD(f, p)
	f.Fuzz(func(t *testing.T, cmdBytes, out []byte) {
		var cmd [16]byte
		copy(cmd[:], cmdBytes)
		if cmd[0] == proto.CmdDebug && (cmd[1] == proto.DebugExit || cmd[1] == proto.DebugEnter) {
			return // keep the probe in debug mode
		}
		r, ok := p.Handle(cmd, out)
		if ok && cmd[0] == proto.CmdDebug {
			switch cmd[1] {
			case proto.DebugReadMem32, proto.DebugReadMem16, proto.DebugReadMem8:
				unknown := len(r) == 2 && proto.Status(r[0]) == proto.StatusUnknownCmd
				if !unknown && len(r) != readReplyLen(cmd) {
					t.Fatalf("read reply %d bytes for % X", len(r), cmd)
				}
			}
		}
	})
}

// TestServeConcurrentClients: two clients share one probe, each writing and
// reading back its own RAM words; every command is answered correctly.
func TestServeConcurrentClients(t *testing.T) {
	g := chipsim.NewGeneric(1)
	p := newTestProbe(t, "V2J46S7", g)
	addr := startServer(t, p)
	setup := dial(t, addr)
	_, d := setup.info(0)
	_, conn := setup.open(d.ID)
	setup.usbRead(conn, dbg(proto.DebugEnter, []byte{proto.EnterSWD}), 2)
	setup.usbRead(conn, dbg(proto.DebugInitAP, []byte{1}), 2)

	errs := make(chan string, 2)
	for k := 0; k < 2; k++ {
		cl := dial(t, addr)
		_, conn := cl.open(d.ID)
		go func(k int) {
			base := 0x20000000 + uint32(k)*0x1000
			for i := uint32(0); i < 100; i++ {
				a := base + 4*i
				w := stlinkserver.Request{Op: stlinkserver.OpSendUSBCmd, ConnectID: conn, USB: stlinkserver.USBCommand{
					Cmd: memCmdBlock(proto.DebugWriteMem32, a, 4, 1, 0), Type: stlinkserver.USBWrite, Length: 4, Data: u32(a ^ 0x5A5A5A5A)}}
				b, err := cl.tryCall(w)
				if err != nil {
					errs <- err.Error()
					return
				}
				if st, _ := stlinkserver.DecodeStatus(b); st != stlinkserver.StatusOK {
					errs <- "write status " + st.String()
					return
				}
				r := stlinkserver.Request{Op: stlinkserver.OpSendUSBCmd, ConnectID: conn, USB: stlinkserver.USBCommand{
					Cmd: memCmdBlock(proto.DebugReadMem32, a, 4, 1, 0), Type: stlinkserver.USBRead, Length: 4}}
				if b, err = cl.tryCall(r); err != nil {
					errs <- err.Error()
					return
				}
				st, data, _ := stlinkserver.DecodeUSBReply(b, 4)
				if st != stlinkserver.StatusOK || binary.LittleEndian.Uint32(data) != a^0x5A5A5A5A {
					errs <- "read back wrong"
					return
				}
			}
			errs <- ""
		}(k)
	}
	for k := 0; k < 2; k++ {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}
