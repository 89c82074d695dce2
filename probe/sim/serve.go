package sim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/probe/stlinkserver"
)

// ServerAPIVersion is the stlink-server API version Serve reports. API 3
// tells hosts (OpenOCD) that RW_MISC batches may be used over TCP; the
// simulated firmware implements them from V2J32/V3J2.
const ServerAPIVersion = 3

// serverVersion is the stlink-server release Serve claims to be.
var serverVersion = stlinkserver.ServerVersion{API: ServerAPIVersion, Major: 2, Minor: 1, Build: 0}

// deviceIDBase numbers the probes in GET_DEV_INFO (StLinkUsbId).
const deviceIDBase = 0x1234

// Serve answers the stlink-server TCP protocol on l for probes, as ST's
// stlink-server does for USB probes: several clients at once, each opening
// a probe by its id and getting a connect id; a probe opened by one client
// shows as used to the others but may still be opened (commands are then
// interleaved, one at a time). An unplugged probe disappears from the list.
// Serve returns nil once ctx is cancelled (it closes l and every
// connection), or the listener's error.
func Serve(ctx context.Context, l net.Listener, probes ...*Probe) error {
	return ServeWith(ctx, l, CostOptions{}, probes...)
}

// ServeWith is Serve that accounts for each client (one TCP connection is
// one session) as opts asks: a summary when the client leaves, a JSON line
// in the cost log, replies paced to their modelled time.
func ServeWith(ctx context.Context, l net.Listener, opts CostOptions, probes ...*Probe) error {
	return serve(ctx, l, NewAccountant("stlink-server", opts), probes)
}

// serve is ServeWith with its accountant.
func serve(ctx context.Context, l net.Listener, acct *Accountant, probes []*Probe) error {
	s := newServer(probes)
	s.acct = acct
	return stlinkserver.Serve(ctx, l, func(_ context.Context, c net.Conn) { s.client(c) })
}

// server is the state shared by Serve's clients.
type server struct {
	probes []*Probe
	acct   *Accountant

	mu       sync.Mutex
	conns    map[uint32]*Probe // connect id → probe
	users    map[*Probe]int    // open connect ids per probe
	nextConn uint32
}

// newServer returns the shared state of a server for probes.
func newServer(probes []*Probe) *server {
	return &server{probes: probes, acct: NewAccountant("stlink-server", CostOptions{}),
		conns: map[uint32]*Probe{}, users: map[*Probe]int{}, nextConn: 0xC0DE0001}
}

// visible returns the probes still plugged in, in list order.
func (s *server) visible() []*Probe {
	var out []*Probe
	for _, p := range s.probes {
		if !p.Unplugged() {
			out = append(out, p)
		}
	}
	return out
}

func (s *server) deviceID(p *Probe) uint32 {
	for i, q := range s.probes {
		if q == p {
			return deviceIDBase + uint32(i)
		}
	}
	return 0
}

// client serves one TCP connection until it closes or breaks the protocol.
func (s *server) client(c net.Conn) {
	sess := s.acct.Begin(c.RemoteAddr().String())
	defer sess.End()
	mine := map[uint32]bool{}
	defer func() {
		s.mu.Lock()
		for id := range mine {
			if p := s.conns[id]; p != nil {
				s.users[p]--
			}
			delete(s.conns, id)
		}
		s.mu.Unlock()
	}()
	r := bufio.NewReaderSize(c, 16<<10)
	for {
		req, err := stlinkserver.ReadRequest(r)
		if err != nil {
			return // EOF, or a request we cannot frame: drop the client
		}
		sess.Request()
		if _, err := c.Write(s.reply(req, mine, sess)); err != nil {
			return
		}
	}
}

// reply computes the answer to one request.
func (s *server) reply(req stlinkserver.Request, mine map[uint32]bool, sess *Session) []byte {
	switch req.Op {
	case stlinkserver.OpRefreshDeviceList:
		return stlinkserver.EncodeStatus(stlinkserver.StatusOK)
	case stlinkserver.OpGetNbDev:
		return stlinkserver.EncodeCount(uint32(len(s.visible())))
	case stlinkserver.OpGetDevInfo:
		size := int(req.InfoSize)
		if size > 1024 {
			size = stlinkserver.DevInfoSize
		}
		list := s.visible()
		if int(req.Index) >= len(list) {
			return stlinkserver.EncodeDeviceInfo(stlinkserver.StatusNoDevice, stlinkserver.DeviceInfo{}, size)
		}
		p := list[req.Index]
		s.mu.Lock()
		used := s.users[p] > 0
		s.mu.Unlock()
		cfg := p.Config()
		return stlinkserver.EncodeDeviceInfo(stlinkserver.StatusOK, stlinkserver.DeviceInfo{
			ID: s.deviceID(p), Serial: cfg.Serial, VID: cfg.Firmware.VID, PID: cfg.Firmware.PID, Used: used,
		}, size)
	case stlinkserver.OpOpenDev:
		for _, p := range s.visible() {
			if s.deviceID(p) != req.DeviceID {
				continue
			}
			s.mu.Lock()
			id := s.nextConn
			s.nextConn++
			s.conns[id] = p
			s.users[p]++
			s.mu.Unlock()
			mine[id] = true
			return stlinkserver.EncodeOpen(stlinkserver.StatusOK, id)
		}
		return stlinkserver.EncodeOpen(stlinkserver.StatusOpenError, 0)
	case stlinkserver.OpCloseDev:
		if !mine[req.ConnectID] {
			return stlinkserver.EncodeStatus(stlinkserver.StatusBadParameter)
		}
		s.mu.Lock()
		if p := s.conns[req.ConnectID]; p != nil {
			s.users[p]--
		}
		delete(s.conns, req.ConnectID)
		s.mu.Unlock()
		delete(mine, req.ConnectID)
		return stlinkserver.EncodeStatus(stlinkserver.StatusOK)
	case stlinkserver.OpGetServerVersion:
		return stlinkserver.EncodeServerVersion(serverVersion)
	case stlinkserver.OpGetNbOfDevClients:
		n := 0
		s.mu.Lock()
		for p, u := range s.users {
			if s.deviceID(p) == req.DeviceID {
				n = u
			}
		}
		s.mu.Unlock()
		return stlinkserver.EncodeClients(stlinkserver.StatusOK, uint32(n))
	case stlinkserver.OpSendUSBCmd:
		return s.usb(req, mine, sess)
	}
	return stlinkserver.EncodeStatus(stlinkserver.StatusCmdNotAvailable)
}

// usb passes one SEND_USB_CMD to the probe, accounting for it in sess.
func (s *server) usb(req stlinkserver.Request, mine map[uint32]bool, sess *Session) []byte {
	u := req.USB
	want := 0
	if u.Type != stlinkserver.USBWrite {
		want = int(u.Length)
	}
	s.mu.Lock()
	p := s.conns[req.ConnectID]
	s.mu.Unlock()
	if p == nil || !mine[req.ConnectID] {
		return stlinkserver.EncodeUSBReply(stlinkserver.StatusBadParameter, nil, want)
	}
	if u.Type == stlinkserver.USBReadSWO {
		if p.Unplugged() {
			return stlinkserver.EncodeUSBReply(stlinkserver.StatusTransferError, nil, want)
		}
		return stlinkserver.EncodeUSBReply(stlinkserver.StatusOK, nil, want) // no trace data
	}
	reply, hasIn, cost, err := p.exchange(u.Cmd, u.Data)
	if err == nil {
		sess.Add(p.Config().Serial, u.Cmd, cost)
		sess.Pace(cost.Wire)
	}
	switch {
	case errors.Is(err, ErrUnplugged):
		return stlinkserver.EncodeUSBReply(stlinkserver.StatusTransferError, nil, want)
	case err != nil:
		return stlinkserver.EncodeUSBReply(stlinkserver.StatusTimeout, nil, want)
	case u.Type == stlinkserver.USBWrite:
		return stlinkserver.EncodeStatus(stlinkserver.StatusOK)
	case !hasIn && want > 0:
		return stlinkserver.EncodeUSBReply(stlinkserver.StatusTimeout, nil, want)
	case len(reply) < want:
		return stlinkserver.EncodeUSBReply(stlinkserver.StatusTruncatedData, reply, want)
	}
	return stlinkserver.EncodeUSBReply(stlinkserver.StatusOK, reply, want)
}

// FirmwareForServe parses a firmware version and gives it the USB identity
// of the matching probe: V3 → STLINK-V3E (0x374E), V2 with an MSD number →
// V2-1 (0x374B), other V2 → ST-LINK/V2 (0x3748).
func FirmwareForServe(s string) (proto.Version, error) {
	v, err := proto.ParseVersion(s)
	if err != nil {
		return v, err
	}
	v.VID = proto.VendorST
	switch {
	case v.Hardware == 4:
		return v, fmt.Errorf("firmware %s: STLINK-V3PWR is unknown to OpenOCD 0.12; use a V2 or V3 version", strings.ToUpper(s))
	case v.Hardware == 3:
		v.PID = 0x374E
	case v.MSD != 0:
		v.PID = 0x374B
	default:
		v.PID = 0x3748
	}
	if !v.HasDAPRegister() {
		return v, fmt.Errorf("firmware %s lacks the DAP register commands (V2J24+): OpenOCD's st-link driver refuses it", v)
	}
	return v, nil
}
