package serve

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"charm.land/ssh"
	"github.com/sirupsen/logrus"
	gossh "golang.org/x/crypto/ssh"

	"github.com/stprobe/stprobe/bench"
)

// An operator's own tools reach the bench's probe through SSH: `ssh -L
// 7184:localhost:7184 bench` opens direct-tcpip channels (RFC 4254 §7.2)
// to the address the probe is shared on. The server never dials anything:
// a channel to that address is handed to the bench as a tool of the
// session's user, under their lease; every other destination, and every
// channel of an observer or of a key with no-port-forwarding, is refused.

// directTCPIP is the payload of a direct-tcpip channel request (RFC 4254
// §7.2), decoded with the SSH library's own unmarshaller.
type directTCPIP struct {
	DestAddr   string
	DestPort   uint32
	OriginAddr string
	OriginPort uint32
}

// ForwardRefused is what a refused forwarding is told (the client prints it).
const ForwardRefused = "stprobe forwards only an operator's connections to the bench's stlink-server"

// liveForward is one forwarded tool connection, ended when its key is
// revoked.
type liveForward struct {
	key    gossh.PublicKey
	remote net.Addr
	user   string
	cancel context.CancelFunc
}

// forwards tracks the forwarded tool connections.
type forwards struct {
	mu  sync.Mutex
	all map[*liveForward]struct{}
}

func (f *forwards) add(lf *liveForward) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.all == nil {
		f.all = map[*liveForward]struct{}{}
	}
	f.all[lf] = struct{}{}
}

func (f *forwards) remove(lf *liveForward) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.all, lf)
}

func (f *forwards) list() []*liveForward {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*liveForward, 0, len(f.all))
	for lf := range f.all {
		out = append(out, lf)
	}
	return out
}

// directTCPIPHandler answers direct-tcpip channels: an operator's channel
// to the shared stlink-server becomes a tool of the bench; anything else
// is refused with gossh.Prohibited.
func (s *Server) directTCPIPHandler(_ *ssh.Server, _ *gossh.ServerConn, nc gossh.NewChannel, ctx ssh.Context) {
	var d directTCPIP
	if err := gossh.Unmarshal(nc.ExtraData(), &d); err != nil {
		_ = nc.Reject(gossh.ConnectionFailed, "malformed direct-tcpip request")
		return
	}
	dest := net.JoinHostPort(d.DestAddr, strconv.FormatUint(uint64(d.DestPort), 10))
	entry := s.log.WithFields(logrus.Fields{"user": ctx.User(), "remote": ctx.RemoteAddr().String(), "destination": dest})
	who, key, why := s.mayForward(ctx, d)
	if why != "" {
		entry.Warn("forwarding refused: " + why)
		_ = nc.Reject(gossh.Prohibited, ForwardRefused+": "+why)
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		entry.WithError(err).Info("forwarding: accepting the channel failed")
		return
	}
	go gossh.DiscardRequests(reqs)
	fctx, cancel := context.WithCancel(ctx)
	lf := &liveForward{key: key, remote: ctx.RemoteAddr(), user: ctx.User(), cancel: cancel}
	s.fwd.add(lf)
	entry.Info("forwarding to the shared stlink-server")
	go func() {
		defer s.fwd.remove(lf)
		defer cancel()
		_ = s.cfg.Bench.ServeTool(fctx, ch, bench.ToolClient{Holder: who, Via: who.Name + "'s SSH session"},
			bench.ShareOptions{StateDir: s.cfg.StateDir})
		entry.Info("forwarded tool connection ended")
	}()
}

// mayForward decides a forwarding: the destination must be the shared
// stlink-server, the key still admitted, an operator's, and not limited by
// no-port-forwarding. It returns the session's holder (the same as its
// console's, so a tool shares the console's lease) or why not.
func (s *Server) mayForward(ctx ssh.Context, d directTCPIP) (bench.Holder, gossh.PublicKey, string) {
	served := s.SharedAddr()
	if served == "" {
		return bench.Holder{}, nil, "this bench shares no stlink-server (serve --stlink-server ADDR)"
	}
	if !sameService(served, d.DestAddr, d.DestPort) {
		return bench.Holder{}, nil, fmt.Sprintf("%s is not the shared stlink-server (%s)", net.JoinHostPort(d.DestAddr, strconv.FormatUint(uint64(d.DestPort), 10)), served)
	}
	key, ok := ctx.Value(ssh.ContextKeyPublicKey).(ssh.PublicKey)
	if !ok || key == nil {
		return bench.Holder{}, nil, "no public key"
	}
	g, err := s.keys.lookup(key, ctx.RemoteAddr(), time.Now())
	switch {
	case err != nil:
		return bench.Holder{}, nil, err.Error()
	case s.cfg.ReadOnly || g.role == RoleObserver:
		return bench.Holder{}, nil, "observers may not use the probe"
	case g.noForward:
		return bench.Holder{}, nil, "the key's authorized_keys line says no-port-forwarding"
	}
	return holderOf(g, ctx.User(), ctx.RemoteAddr()), key, ""
}

// sameService reports whether host:port names the served address: the
// same port, and the same host, or a loopback name for a loopback (or
// unspecified) served host.
func sameService(served, host string, port uint32) bool {
	sh, sp, err := net.SplitHostPort(served)
	if err != nil || sp != strconv.FormatUint(uint64(port), 10) {
		return false
	}
	if sh == host {
		return true
	}
	return isLocal(sh, true) && isLocal(host, false)
}

// isLocal reports whether host is this machine's loopback (or, when
// unspecifiedToo, the unspecified address a server listens on).
func isLocal(host string, unspecifiedToo bool) bool {
	if host == "localhost" || (unspecifiedToo && host == "") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || unspecifiedToo && ip.IsUnspecified())
}

// checkForwards ends the forwarded tools whose keys are no longer admitted
// or may now only observe.
func (s *Server) checkForwards(now time.Time) {
	for _, lf := range s.fwd.list() {
		g, err := s.keys.lookup(lf.key, lf.remote, now)
		why := ""
		switch {
		case err != nil:
			why = err.Error()
		case g.role == RoleObserver:
			why = "the key may now only observe"
		case g.noForward:
			why = "the key may no longer forward"
		}
		if why != "" {
			s.log.WithFields(logrus.Fields{"user": lf.user, "remote": lf.remote.String(), "reason": why}).Warn("forwarded tool revoked")
			lf.cancel()
		}
	}
}

// shareLocal serves the shared stlink-server on its own address, for the
// tools of this machine (they act as the local holder), until ctx ends.
func (s *Server) shareLocal(ctx context.Context) (stop func(), err error) {
	if s.cfg.StlinkServer == "" {
		return func() {}, nil
	}
	l, err := net.Listen("tcp", s.cfg.StlinkServer)
	if err != nil {
		return nil, fmt.Errorf("serve: sharing the probe on %s: %w (is another stlink-server running there?)", s.cfg.StlinkServer, err)
	}
	s.mu.Lock()
	s.shared = l.Addr().String()
	s.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.cfg.Bench.ShareListener(ctx, l, s.cfg.LocalHolder, bench.ShareOptions{StateDir: s.cfg.StateDir}); err != nil {
			s.log.WithError(err).Error("the shared stlink-server stopped")
		}
	}()
	s.log.WithField("stlink_server", l.Addr().String()).Info("sharing the probe as an stlink-server (operators reach it with ssh -L)")
	return func() { cancel(); <-done }, nil
}

// SharedAddr is the address the probe is shared on as an stlink-server
// once serving ("" when it is not shared).
func (s *Server) SharedAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shared
}
