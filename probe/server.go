package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/probe/stlinkserver"
)

// DefaultServerAddr is where ST's stlink-server listens by default.
const DefaultServerAddr = "127.0.0.1:7184"

// stlink-server client settings.
const (
	srvClientAPI   = 1  // API version this client speaks (as OpenOCD)
	srvMaxDevices  = 64 // a larger device count is taken as a broken reply
	srvBusyRetries = 8
	srvDefaultWait = 3 * time.Second        // per request at most, and when ctx has no deadline
	srvDialTimeout = 3 * time.Second        // per dial, whatever ctx allows
	srvCancelGrace = 500 * time.Millisecond // for the reply of a request cancelled while out
)

// ServerStatusError is a non-OK status word from stlink-server.
type ServerStatusError struct {
	Op     string
	Status stlinkserver.Status
}

// Layer is LayerUSB: the server stands between the host and the probe.
func (e *ServerStatusError) Layer() Layer { return LayerUSB }

// Error names the status and what to try.
func (e *ServerStatusError) Error() string {
	return fmt.Sprintf("%s: stlink-server says %s (0x%X): the probe may be in use by another tool; close it, replug the probe or restart stlink-server",
		e.Op, e.Status, uint32(e.Status))
}

// serverConn is one TCP connection to stlink-server.
type serverConn struct {
	c    net.Conn
	addr string
}

// ServerError is a failure to reach or hear from stlink-server, worded for
// the server rather than for a USB cable. It still matches ErrDisconnected
// or ErrTimeout with errors.Is.
type ServerError struct {
	Addr     string
	What     string // what went wrong, e.g. "connection refused"
	Next     string // what to try
	sentinel error
	cause    error
}

// Error says what failed at which address and what to try next.
func (e *ServerError) Error() string {
	return fmt.Sprintf("stlink-server at %s: %s (%v): %s", e.Addr, e.What, e.cause, e.Next)
}

// Layer is LayerUSB: the probe is out of reach.
func (e *ServerError) Layer() Layer { return LayerUSB }

// Unwrap returns the sentinel (ErrDisconnected or ErrTimeout) and the cause.
func (e *ServerError) Unwrap() []error { return []error{e.sentinel, e.cause} }

// serverFailure rewords a transport failure of the connection to addr; other
// errors (a cancelled context) are returned mapped but unchanged.
func serverFailure(ctx context.Context, addr string, err error) error {
	mapped := mapTransportError(ctx, err)
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return mapped
	case errors.Is(mapped, ErrTimeout):
		return &ServerError{Addr: addr, What: "no answer in time", Next: "check that stlink-server is running and not stuck, then retry", sentinel: ErrTimeout, cause: err}
	case errors.Is(mapped, ErrDisconnected):
		return &ServerError{Addr: addr, What: "connection lost or refused", Next: "check that stlink-server is running there (is the address right?), then retry", sentinel: ErrDisconnected, cause: err}
	}
	return mapped
}

// dialServer connects to addr ("" means DefaultServerAddr).
func dialServer(ctx context.Context, addr string) (*serverConn, error) {
	if addr == "" {
		addr = DefaultServerAddr
	}
	// A server that drops connection attempts would otherwise hold the
	// dial for the system's SYN retries (over two minutes).
	d := net.Dialer{Timeout: srvDialTimeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, serverFailure(ctx, addr, err)
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	return &serverConn{c: c, addr: addr}, nil
}

// do sends req and returns its reply (ResponseSize bytes), under ctx.
func (s *serverConn) do(ctx context.Context, req stlinkserver.Request) ([]byte, error) {
	resp := make([]byte, stlinkserver.ResponseSize(req))
	return resp, s.roundTrip(ctx, req.Encode(), resp)
}

// roundTrip sends req and reads exactly len(resp) bytes, under ctx. A ctx
// already done sends nothing (and leaves the connection in step).
func (s *serverConn) roundTrip(ctx context.Context, req, resp []byte) error {
	if err := ctx.Err(); err != nil {
		return errNotSent{serverFailure(ctx, s.addr, err)}
	}
	// Every request is bounded, even under a generous ctx: the server
	// answers in milliseconds or not at all.
	deadline := time.Now().Add(srvDefaultWait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := s.c.SetDeadline(deadline); err != nil {
		return serverFailure(ctx, s.addr, err)
	}
	// A cancel while the request is out gives the reply a short grace
	// instead of cutting it: the server answers in milliseconds, and a
	// connection cut mid-reply is out of step and lost for the undo that
	// usually follows a cancel. A passed deadline cuts at once.
	stop := context.AfterFunc(ctx, func() {
		if errors.Is(ctx.Err(), context.Canceled) {
			if grace := time.Now().Add(srvCancelGrace); grace.Before(deadline) {
				_ = s.c.SetDeadline(grace)
			}
			return
		}
		_ = s.c.SetDeadline(time.Unix(1, 0))
	})
	defer stop()
	if _, err := s.c.Write(req); err != nil {
		return serverFailure(ctx, s.addr, err)
	}
	if _, err := io.ReadFull(s.c, resp); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return serverFailure(ctx, s.addr, err)
	}
	return nil
}

// srvStatus checks the leading status word of a reply.
func srvStatus(op string, resp []byte) error {
	st, err := stlinkserver.DecodeStatus(resp)
	if err != nil {
		return &ReplyError{Op: op, Reason: err.Error()}
	}
	if st != stlinkserver.StatusOK {
		return &ServerStatusError{Op: op, Status: st}
	}
	return nil
}

// devices refreshes and reads the server's device list.
func (s *serverConn) devices(ctx context.Context) ([]stlinkserver.DeviceInfo, error) {
	if _, err := s.do(ctx, stlinkserver.Request{Op: stlinkserver.OpGetServerVersion, ClientAPI: srvClientAPI}); err != nil {
		return nil, fmt.Errorf("stlink-server version: %w", err)
	}
	resp, err := s.do(ctx, stlinkserver.Request{Op: stlinkserver.OpRefreshDeviceList})
	if err != nil {
		return nil, fmt.Errorf("stlink-server refresh: %w", err)
	}
	if err := srvStatus("stlink-server refresh", resp); err != nil {
		return nil, err
	}
	if resp, err = s.do(ctx, stlinkserver.Request{Op: stlinkserver.OpGetNbDev}); err != nil {
		return nil, fmt.Errorf("stlink-server device count: %w", err)
	}
	n, _ := stlinkserver.DecodeCount(resp)
	if n > srvMaxDevices {
		return nil, &ReplyError{Op: "stlink-server device count", Reason: fmt.Sprintf("%d devices", n)}
	}
	var out []stlinkserver.DeviceInfo
	for i := range n {
		op := fmt.Sprintf("stlink-server device %d", i)
		resp, err := s.do(ctx, stlinkserver.Request{Op: stlinkserver.OpGetDevInfo, Index: uint8(i), InfoSize: stlinkserver.DevInfoSize})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		st, d, err := stlinkserver.DecodeDeviceInfo(resp)
		if err != nil {
			return nil, &ReplyError{Op: op, Reason: err.Error()}
		}
		if st != stlinkserver.StatusOK {
			return nil, &ServerStatusError{Op: op, Status: st}
		}
		d.Serial = strings.TrimSpace(d.Serial)
		out = append(out, d)
	}
	return out, nil
}

// serverInfo describes a server device as an Info.
func serverInfo(d stlinkserver.DeviceInfo, addr string) Info {
	model := fmt.Sprintf("unknown ST-LINK (PID 0x%04X)", d.PID)
	if m, ok := proto.ModelByPID(d.PID); ok {
		model = m.Name
	}
	return Info{Backend: BackendServer, Serial: d.Serial, Model: model, VID: d.VID, PID: d.PID, Address: addrOrDefault(addr)}
}

// ListServer lists the probes stlink-server at addr ("" for the default
// address) offers, including those another client is using.
func ListServer(ctx context.Context, addr string) ([]Info, error) {
	s, err := dialServer(ctx, addr)
	if err != nil {
		return nil, err
	}
	defer s.c.Close()
	devs, err := s.devices(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(devs))
	for _, d := range devs {
		out = append(out, serverInfo(d, addr))
	}
	return out, nil
}

// errNotSent marks a request that was not sent (ctx was already done): the
// connection is still in step.
type errNotSent struct{ error }

func (e errNotSent) Unwrap() error { return e.error }

// ErrProbeInUse is wrapped when a probe is already opened by another client
// of the same stlink-server and the caller did not ask to share it.
var ErrProbeInUse = errors.New("the ST-LINK is already opened by another client of stlink-server")

// ServerOpenOptions are the choices of OpenServerWith.
type ServerOpenOptions struct {
	// Share opens a probe even when another client of the server has it
	// open (their commands are then interleaved, one at a time). Without
	// it such a probe is refused with ErrProbeInUse.
	Share bool
}

// OpenServer opens a probe through stlink-server at addr: the one with the
// given serial, or the first one no other client uses when serial is "".
// A probe another client has open is refused (see OpenServerWith to share
// it). A dropped connection surfaces as ErrDisconnected, a missed deadline
// as ErrTimeout (after which the connection is closed).
func OpenServer(ctx context.Context, addr, serial string) (Transport, Info, error) {
	return OpenServerWith(ctx, addr, serial, ServerOpenOptions{})
}

// OpenServerWith is OpenServer with options. Without Share, a probe the
// server lists as used is refused, as OpenOCD does. (Two clients opening a
// free probe at the same instant are not told apart: the server's client
// count request is not confirmed against ST's server, so it is not used.)
func OpenServerWith(ctx context.Context, addr, serial string, o ServerOpenOptions) (Transport, Info, error) {
	s, err := dialServer(ctx, addr)
	if err != nil {
		return nil, Info{}, err
	}
	devs, err := s.devices(ctx)
	if err != nil {
		s.c.Close()
		return nil, Info{}, err
	}
	var pick *stlinkserver.DeviceInfo
	for i := range devs {
		d := &devs[i]
		if serial == "" && !d.Used || serial != "" && strings.EqualFold(d.Serial, serial) {
			pick = d
			break
		}
	}
	if pick == nil && serial == "" && o.Share && len(devs) > 0 {
		pick = &devs[0] // every probe is in use; sharing takes the first
	}
	if pick == nil {
		s.c.Close()
		if serial == "" && len(devs) > 0 {
			return nil, Info{}, fmt.Errorf("stlink-server at %s: %w: all %d ST-LINKs listed are used by other clients (close the other tool, or share one with --share)", addrOrDefault(addr), ErrProbeInUse, len(devs))
		}
		if serial == "" {
			return nil, Info{}, fmt.Errorf("stlink-server at %s: no ST-LINK listed: plug one in", addrOrDefault(addr))
		}
		return nil, Info{}, fmt.Errorf("stlink-server at %s: no ST-LINK with serial %s", addrOrDefault(addr), serial)
	}
	if pick.Used && !o.Share {
		s.c.Close()
		return nil, Info{}, inUse(addr, pick.Serial)
	}
	resp, err := s.do(ctx, stlinkserver.Request{Op: stlinkserver.OpOpenDev, DeviceID: pick.ID})
	if err != nil {
		s.c.Close()
		return nil, Info{}, fmt.Errorf("stlink-server open %s: %w", pick.Serial, err)
	}
	st, id, err := stlinkserver.DecodeOpen(resp)
	if err == nil && st != stlinkserver.StatusOK {
		err = &ServerStatusError{Op: "stlink-server open " + pick.Serial, Status: st}
	}
	if err != nil {
		s.c.Close()
		return nil, Info{}, err
	}
	t := &serverTransport{s: s, id: id}
	return t, serverInfo(*pick, addr), nil
}

// inUse is the refusal of a probe another client has open.
func inUse(addr, serial string) error {
	return &usbLayerError{fmt.Errorf("stlink-server at %s: %w (serial %s): close the other tool (STM32CubeProgrammer, OpenOCD, another stprobe) or ask to share the probe", addrOrDefault(addr), ErrProbeInUse, serial)}
}

// usbLayerError puts an error in the USB layer (the probe is out of reach).
type usbLayerError struct{ error }

func (e *usbLayerError) Layer() Layer  { return LayerUSB }
func (e *usbLayerError) Unwrap() error { return e.error }

func addrOrDefault(addr string) string {
	if addr == "" {
		return DefaultServerAddr
	}
	return addr
}

// serverTransport carries ST-LINK commands through an opened server device.
type serverTransport struct {
	mu   sync.Mutex
	s    *serverConn
	id   uint32 // connect id from OPEN_DEV
	dead error  // once set, every call returns it
}

// Xfer wraps the command in a SEND_USB_CMD request: type WRITE with out as
// payload, or type READ for len(in) bytes (0 for commands without reply).
func (t *serverTransport) Xfer(ctx context.Context, cmd [16]byte, out, in []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dead != nil {
		return t.dead
	}
	if len(out) > 0 && len(in) > 0 {
		return errors.New("stlink-server: a command cannot both send and receive data")
	}
	req := stlinkserver.Request{Op: stlinkserver.OpSendUSBCmd, ConnectID: t.id,
		USB: stlinkserver.USBCommand{Cmd: cmd, Type: stlinkserver.USBRead, Length: uint32(len(in))}}
	if len(out) > 0 {
		req.USB.Type, req.USB.Length, req.USB.Data = stlinkserver.USBWrite, uint32(len(out)), out
	}
	for try := 0; ; try++ {
		resp, err := t.s.do(ctx, req)
		var notSent errNotSent
		if errors.As(err, &notSent) {
			return notSent.error
		}
		if err != nil {
			// the stream is out of step after a failure: drop it
			t.s.c.Close()
			t.dead = &ServerError{Addr: t.s.addr, What: "connection closed after an earlier error", Next: "open the probe again (run the command again)", sentinel: ErrDisconnected, cause: err}
			return err
		}
		st, data, _ := stlinkserver.DecodeUSBReply(resp, len(in))
		if st == stlinkserver.StatusTCPBusy && try < srvBusyRetries {
			select {
			case <-ctx.Done():
				return fmt.Errorf("stlink-server busy: %w", mapTransportError(ctx, ctx.Err()))
			case <-time.After(time.Millisecond << try):
			}
			continue
		}
		if st != stlinkserver.StatusOK {
			return &ServerStatusError{Op: "stlink-server USB command", Status: st}
		}
		copy(in, data)
		return nil
	}
}

// Close closes the device on the server and the connection.
func (t *serverTransport) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dead != nil {
		return nil
	}
	t.dead = fmt.Errorf("stlink-server transport closed: %w", ErrDisconnected)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	resp, err := t.s.do(ctx, stlinkserver.Request{Op: stlinkserver.OpCloseDev, ConnectID: t.id})
	if err == nil {
		err = srvStatus("stlink-server close", resp)
	}
	if cerr := t.s.c.Close(); err == nil {
		err = cerr
	}
	return err
}
