// Package serve serves the console over SSH: every session is a view of the
// one bench of this machine; one session at a time holds the operator lease
// and may run jobs, the others watch.
package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"charm.land/wish/v2"
	bm "charm.land/wish/v2/bubbletea"
	"charm.land/wish/v2/ratelimiter"
	"charm.land/wish/v2/recover"
	"github.com/sirupsen/logrus"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/time/rate"

	"github.com/stprobe/stprobe/bench"
)

// Console makes the console model of one session: ctx ends with the
// session, b is the shared bench, who the session's user, observer true when
// the session may only watch, env the client's environment (TERM, NO_COLOR).
// A model with an ExitErr() error method says how it ended: an error (a
// write it quit during) is printed to the client, and the session exits 1.
type Console func(ctx context.Context, b *bench.Bench, who bench.Holder, observer bool, env []string) tea.Model

// Config is how the server runs.
type Config struct {
	// Listen is the TCP address (e.g. "0.0.0.0:2222").
	Listen string
	// AuthorizedKeys is the file of the public keys let in (OpenSSH
	// format); it is read again whenever it changes.
	AuthorizedKeys string
	// Roles is an optional file limiting keys to observing.
	Roles string
	// HostKey is the server's private key file, made on first start.
	HostKey string
	// ReadOnly makes every session an observer.
	ReadOnly bool
	// IdleTimeout closes a connection with no traffic for this long.
	IdleTimeout time.Duration
	// MaxSessions caps the sessions open at once.
	MaxSessions int
	// Rate and Burst limit new sessions per client address (per second).
	Rate  float64
	Burst int
	// HandshakeTimeout closes a connection that has not logged in this
	// long after it opened.
	HandshakeTimeout time.Duration
	// MaxConnections caps the TCP connections held at once; zero derives
	// it from the process's limit on open files (MaxConnectionsFor).
	MaxConnections int
	// MaxPerAddress caps the connections of one client address that are
	// still awaiting login.
	MaxPerAddress int
	// KeysPoll is how often the keys files are checked for changes; a
	// session whose key was removed ends within about this time.
	KeysPoll time.Duration
	// Listening, when set, is called once the server listens (before
	// then nothing should say it serves).
	Listening func(addr net.Addr)
	// Bench is the bench every session shares; Console makes their views.
	Bench   *bench.Bench
	Console Console
	// Log is the server log (connections, authentication, lease changes).
	Log *logrus.Logger
	// StlinkServer, when set, is the address the bench's probe is shared
	// on as an stlink-server: tools of this machine connect to it as
	// LocalHolder, and an operator's SSH forwarding (ssh -L) to it
	// reaches it as that operator. StateDir holds the audit log of the
	// tools' writes.
	StlinkServer string
	LocalHolder  bench.Holder
	StateDir     string
}

// Defaults for the limits left zero.
const (
	DefaultIdleTimeout = 30 * time.Minute
	DefaultMaxSessions = 32
	DefaultRate        = 2.0
	DefaultBurst       = 10
	// DefaultHandshakeTimeout bounds the time from connecting to logging
	// in (sshd's LoginGraceTime is 120 s for people typing passwords; keys
	// need seconds).
	DefaultHandshakeTimeout = 10 * time.Second
	// DefaultMaxPerAddress is how many connections of one address may
	// await login at once (sshd starts refusing at 10: MaxStartups
	// 10:30:100 in sshd_config(5)).
	DefaultMaxPerAddress = 10
	// DefaultKeysPoll is how often the keys files are checked.
	DefaultKeysPoll = time.Second
)

// MaxConnectionsFor is the cap on connections for a process allowed
// fdLimit open files: three quarters of it, less a reserve for the
// listener, the probe, the logs and the files jobs write (at least 8).
func MaxConnectionsFor(fdLimit uint64) int {
	if fdLimit == 0 || fdLimit > 1<<20 {
		fdLimit = 1 << 20
	}
	return max(8, int(fdLimit)*3/4-32)
}

// NoPTYMessage is what a session without a terminal is told; one that
// also gave a command is told that the command is not run.
const NoPTYMessage = "stprobe: the console needs a terminal: connect with ssh -t"

// ExitNoPTY is the exit status of a session refused for having no
// terminal: like the command line's usage mistakes, 2.
const ExitNoPTY = 2

// Server is the console over SSH.
type Server struct {
	cfg  Config
	ssh  *ssh.Server
	keys *keyring
	log  *logrus.Logger
	gate *gate

	sessions atomic.Int64
	mu       sync.Mutex
	ln       net.Listener
	live     map[ssh.Session]*liveSession
	shared   string // the address the probe is shared on, once listening
	fwd      forwards
	reloadMu sync.Mutex

	refusals *logLimiter // refused connections, logged at a bounded rate
}

// positiveOr is v, or def when v is zero or negative (a setting left
// out, or one that makes no sense).
func positiveOr[T int | float64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// New checks cfg, loads the keys and reads (or makes) the host key.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Bench == nil || cfg.Console == nil:
		return nil, errors.New("serve: no bench or console")
	case cfg.AuthorizedKeys == "":
		return nil, errors.New("serve: --authorized-keys FILE is required (the public keys allowed in, OpenSSH format)")
	case cfg.HostKey == "":
		return nil, errors.New("serve: --host-key FILE is required (made on first start)")
	}
	cfg.IdleTimeout = positiveOr(cfg.IdleTimeout, DefaultIdleTimeout)
	cfg.MaxSessions = positiveOr(cfg.MaxSessions, DefaultMaxSessions)
	cfg.Rate = positiveOr(cfg.Rate, DefaultRate)
	cfg.Burst = positiveOr(cfg.Burst, DefaultBurst)
	cfg.HandshakeTimeout = positiveOr(cfg.HandshakeTimeout, DefaultHandshakeTimeout)
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = MaxConnectionsFor(fdLimit()) // asks the OS only when needed
	}
	cfg.MaxPerAddress = positiveOr(cfg.MaxPerAddress, DefaultMaxPerAddress)
	cfg.KeysPoll = positiveOr(cfg.KeysPoll, DefaultKeysPoll)
	if cfg.Log == nil {
		cfg.Log = cfg.Bench.Log()
	}
	s := &Server{cfg: cfg, log: cfg.Log, keys: &keyring{path: cfg.AuthorizedKeys, rolesPath: cfg.Roles},
		gate: newGate(cfg.MaxConnections, cfg.MaxPerAddress), live: map[ssh.Session]*liveSession{},
		refusals: newLogLimiter()}
	if _, err := s.keys.refresh(true); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	s.logRefusedLines()
	signer, err := loadHostKey(cfg.HostKey)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	srv, err := wish.NewServer(
		wish.WithAddress(cfg.Listen),
		func(srv *ssh.Server) error { srv.AddHostKey(signer); return nil },
		func(srv *ssh.Server) error {
			// the library's handlers (sessions), and direct-tcpip to the
			// shared stlink-server only: the server dials nothing
			srv.ChannelHandlers = map[string]ssh.ChannelHandler{}
			for k, v := range ssh.DefaultChannelHandlers {
				srv.ChannelHandlers[k] = v
			}
			srv.ChannelHandlers["direct-tcpip"] = s.directTCPIPHandler
			return nil
		},
		wish.WithIdleTimeout(cfg.IdleTimeout),
		wish.WithPublicKeyAuth(s.authorize),
		wish.WithMiddleware(
			recover.MiddlewareWithLogger(logPrinter{s.log},
				s.farewell,
				bm.Middleware(s.console),
				s.noPTY,
				s.limit,
				ratelimiter.Middleware(ratelimiter.NewRateLimiter(rate.Limit(cfg.Rate), cfg.Burst, 1024)),
			),
		),
	)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	srv.HandshakeTimeout = cfg.HandshakeTimeout
	srv.ServerConfigCallback = func(ctx ssh.Context) *gossh.ServerConfig {
		return &gossh.ServerConfig{VerifiedPublicKeyCallback: func(c gossh.ConnMetadata, key gossh.PublicKey, p *gossh.Permissions, _ string) (*gossh.Permissions, error) {
			return p, s.verified(ctx, c, key)
		}}
	}
	srv.ConnectionFailedCallback = func(c net.Conn, err error) {
		s.log.WithFields(logrus.Fields{"remote": c.RemoteAddr().String()}).WithError(err).Info("connection failed")
	}
	srv.ConnCallback = func(ctx ssh.Context, c net.Conn) net.Conn {
		gc, evicted, refused := s.gate.admit(c)
		if evicted != nil {
			s.refusals.log(s.log.WithField("remote", evicted.RemoteAddr().String()), "connection closed to make room: the server is full and it had not logged in")
		}
		if gc == nil {
			total, pending := s.gate.counts()
			s.refusals.log(s.log.WithFields(logrus.Fields{"remote": c.RemoteAddr().String(), "open": total, "awaiting_login": pending}), "connection refused: "+refused)
			return nil
		}
		ctx.SetValue(gateKey, gc)
		s.log.WithField("remote", c.RemoteAddr().String()).Info("connection")
		return gc
	}
	s.ssh = srv
	return s, nil
}

// gateKey holds a connection's *gatedConn in its context.
var gateKey = &struct{ name string }{"stprobe-gate"}

// authorize is the public-key check: the key must be in the authorized
// keys, on a line whose options admit it (read again when the file
// changed). It runs for keys the client only offers, too; a login counts
// once the client proves it holds the key (verified). Passwords and
// keyboard-interactive are never offered.
func (s *Server) authorize(ctx ssh.Context, key ssh.PublicKey) bool {
	s.refreshKeys(false)
	_, err := s.keys.lookup(key, ctx.RemoteAddr(), time.Now())
	if err != nil {
		s.log.WithFields(logrus.Fields{"user": ctx.User(), "remote": ctx.RemoteAddr().String(), "key": fingerprintOf(key)}).
			Warn("authentication refused: " + err.Error())
		return false
	}
	return true
}

// verified runs once the client proved it holds an admitted key: the
// login counts, and the connection no longer awaits login.
func (s *Server) verified(ctx ssh.Context, c gossh.ConnMetadata, key gossh.PublicKey) error {
	g, err := s.keys.lookup(key, c.RemoteAddr(), time.Now())
	entry := s.log.WithFields(logrus.Fields{"user": c.User(), "remote": c.RemoteAddr().String(), "key": fingerprintOf(key)})
	if err != nil { // the file changed since the key was offered
		entry.Warn("authentication refused: " + err.Error())
		return err
	}
	if gc, ok := ctx.Value(gateKey).(*gatedConn); ok {
		s.gate.loggedIn(gc)
	}
	entry.WithFields(logrus.Fields{"role": g.role.String(), "fingerprint": g.fingerprint, "line": g.line}).Info("authenticated")
	return nil
}

// noPTY refuses sessions without a terminal, with a message.
func (s *Server) noPTY(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		if _, _, ok := sess.Pty(); !ok {
			s.log.WithFields(logrus.Fields{"user": sess.User(), "remote": sess.RemoteAddr().String(), "command": sess.RawCommand()}).Info("session refused: no PTY")
			msg := NoPTYMessage + " (this session has none)"
			if cmd := sess.RawCommand(); cmd != "" {
				msg = fmt.Sprintf("%s and no command: %q is not run over SSH", NoPTYMessage, cmd)
			}
			// no terminal: a bare newline, not wish's "\r\n"
			fmt.Fprintln(sess.Stderr(), msg)
			_ = sess.Exit(ExitNoPTY)
			_ = sess.Close()
			return
		}
		next(sess)
	}
}

// limit caps the sessions open at once.
func (s *Server) limit(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		n := s.sessions.Add(1)
		defer s.sessions.Add(-1)
		if n > int64(s.cfg.MaxSessions) {
			s.log.WithFields(logrus.Fields{"user": sess.User(), "open": n - 1}).Warn("session refused: too many sessions")
			wish.Fatalf(sess, "stprobe: this bench already serves %d sessions; try again later\n", s.cfg.MaxSessions)
			return
		}
		next(sess)
	}
}

// holderOf is who a session is on the bench: the key's own name (its
// authorized_keys comment), with the user name the client logged in as
// beside it only when it differs.
func holderOf(g grant, loginUser string, remote net.Addr) bench.Holder {
	session := "ssh " + remote.String()
	if loginUser != g.name {
		session += ", login as " + loginUser
	}
	return bench.Holder{Name: g.name, Session: session, Fingerprint: g.fingerprint}
}

// console makes the session's console.
func (s *Server) console(sess ssh.Session) (tea.Model, []tea.ProgramOption) {
	key := sess.PublicKey()
	if key == nil {
		return nil, nil
	}
	g, err := s.keys.lookup(key, sess.RemoteAddr(), time.Now())
	if err != nil { // the key was removed since authentication
		s.log.WithFields(logrus.Fields{"user": sess.User(), "remote": sess.RemoteAddr().String()}).Warn("session refused: " + err.Error())
		wish.Fatalln(sess, "stprobe: your key is no longer authorized on this bench")
		return nil, nil
	}
	role := g.role
	if s.cfg.ReadOnly {
		role = RoleObserver
	}
	who := holderOf(g, sess.User(), sess.RemoteAddr())
	s.log.WithFields(logrus.Fields{"user": who.Name, "remote": sess.RemoteAddr().String(), "role": role.String(), "fingerprint": g.fingerprint}).Info("session started")
	ctx, ls := s.track(sess, key, role)
	go func() {
		<-sess.Context().Done()
		s.untrack(sess)
		s.log.WithFields(logrus.Fields{"user": who.Name, "remote": sess.RemoteAddr().String()}).Info("session ended")
	}()
	m := s.cfg.Console(ctx, s.cfg.Bench, who, role == RoleObserver, sess.Environ())
	if er, ok := m.(interface{ ExitErr() error }); ok {
		ls.exitErr = er.ExitErr
	}
	return revocable{Model: m, quit: ls.quit}, []tea.ProgramOption{tea.WithoutSignalHandler(), tea.WithFPS(rendererFPS)}
}

// rendererFPS is how often a session's renderer looks for a new frame to
// send. The console draws at most 30 frames a second itself; looking more
// often sends each frame sooner after it was drawn (a look that finds no
// new frame costs next to nothing).
const rendererFPS = 120

// Serve listens and serves until ctx is done, then shuts down: it closes
// the listener and waits (a few seconds at most) for sessions to end.
func (s *Server) Serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("serve: listening on %s: %w", s.cfg.Listen, err)
	}
	return s.ServeListener(ctx, ln)
}

// ServeListener serves on ln until ctx is done. It never returns before
// then without an error, and it logs why it stops either way.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	ln = &loggingListener{Listener: ln, log: s.log, limit: newLogLimiter()}
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	s.log.WithFields(logrus.Fields{"listen": ln.Addr().String(), "read_only": s.cfg.ReadOnly,
		"max_connections": s.cfg.MaxConnections, "max_per_address": s.cfg.MaxPerAddress,
		"handshake_timeout": s.cfg.HandshakeTimeout.String()}).Info("serving the bench over SSH")
	stop := s.logLease(ctx)
	defer stop()
	stopShare, err := s.shareLocal(ctx)
	if err != nil {
		ln.Close()
		s.log.WithError(err).Error("server not started")
		return err
	}
	defer stopShare()
	wctx, cancelWatch := context.WithCancel(ctx)
	defer cancelWatch()
	go s.watchKeys(wctx)
	errc := make(chan error, 1)
	go func() { errc <- s.ssh.Serve(ln) }()
	if s.cfg.Listening != nil {
		s.cfg.Listening(ln.Addr())
	}
	select {
	case err := <-errc:
		if err == nil || errors.Is(err, ssh.ErrServerClosed) {
			err = errors.New("the listener closed")
		}
		s.log.WithError(err).Error("server stopped: it can no longer accept connections")
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.WithField("reason", reason(ctx)).Info("server stopping")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.ssh.Shutdown(sctx); err != nil {
		s.ssh.Close()
	}
	s.log.Info("server stopped")
	return nil
}

// reason is why ctx ended, for the log.
func reason(ctx context.Context) string {
	if c := context.Cause(ctx); c != nil {
		return c.Error()
	}
	return "stopped"
}

// Addr is the address the server listens on, once serving.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// logLease writes every lease change of the bench to the server log.
func (s *Server) logLease(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	_, sub := s.cfg.Bench.Subscribe(256)
	go func() {
		defer sub.Close()
		for {
			ev, err := sub.Next(ctx)
			if err != nil {
				return
			}
			if lc, ok := ev.(bench.LeaseChanged); ok {
				e := s.log.WithField("reason", lc.Reason)
				if lc.Holder != nil {
					e = e.WithField("holder", lc.Holder.String())
				}
				e.Info("lease changed")
			}
		}
	}()
	return cancel
}

// logPrinter adapts logrus to the recover middleware's logger.
type logPrinter struct{ l *logrus.Logger }

func (p logPrinter) Printf(format string, v ...any) {
	p.l.Errorf("session panicked (the server goes on): "+format, v...)
}
