// Package serve serves the console over SSH: every session is a view of the
// one bench of this machine; one session at a time holds the operator lease
// and may run jobs, the others watch.
package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
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
	"golang.org/x/time/rate"

	"github.com/stprobe/stprobe/bench"
)

// Console makes the console model of one session: ctx ends with the
// session, b is the shared bench, who the session's user, observer true when
// the session may only watch, env the client's environment (TERM, NO_COLOR).
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
	// Bench is the bench every session shares; Console makes their views.
	Bench   *bench.Bench
	Console Console
	// Log is the server log (connections, authentication, lease changes).
	Log *logrus.Logger
}

// Defaults for the limits left zero.
const (
	DefaultIdleTimeout = 30 * time.Minute
	DefaultMaxSessions = 32
	DefaultRate        = 2.0
	DefaultBurst       = 10
)

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

	sessions atomic.Int64
	mu       sync.Mutex
	ln       net.Listener
}

// New checks cfg, loads the keys and makes (or reads) the host key.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Bench == nil || cfg.Console == nil:
		return nil, errors.New("serve: no bench or console")
	case cfg.AuthorizedKeys == "":
		return nil, errors.New("serve: --authorized-keys FILE is required (the public keys allowed in, OpenSSH format)")
	case cfg.HostKey == "":
		return nil, errors.New("serve: --host-key FILE is required (made on first start)")
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.Rate <= 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.Log == nil {
		cfg.Log = cfg.Bench.Log()
	}
	s := &Server{cfg: cfg, log: cfg.Log, keys: &keyring{path: cfg.AuthorizedKeys, rolesPath: cfg.Roles}}
	if _, err := s.keys.refresh(); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.HostKey), 0o700); err != nil {
		return nil, fmt.Errorf("serve: host key directory: %w", err)
	}
	srv, err := wish.NewServer(
		wish.WithAddress(cfg.Listen),
		wish.WithHostKeyPath(cfg.HostKey),
		wish.WithIdleTimeout(cfg.IdleTimeout),
		wish.WithPublicKeyAuth(s.authorize),
		wish.WithMiddleware(
			recover.MiddlewareWithLogger(logPrinter{s.log},
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
	srv.ConnectionFailedCallback = func(c net.Conn, err error) {
		s.log.WithFields(logrus.Fields{"remote": c.RemoteAddr().String()}).WithError(err).Info("connection failed")
	}
	srv.ConnCallback = func(ctx ssh.Context, c net.Conn) net.Conn {
		s.log.WithField("remote", c.RemoteAddr().String()).Info("connection")
		return c
	}
	s.ssh = srv
	return s, nil
}

// authorize is the public-key check: the key must be in the authorized
// keys (read again when the file changed). Passwords and keyboard-interactive
// are never offered.
func (s *Server) authorize(ctx ssh.Context, key ssh.PublicKey) bool {
	if reread, err := s.keys.refresh(); reread && err != nil {
		s.log.WithError(err).Error("authorized keys unreadable; keeping the keys read before")
	} else if reread {
		s.log.WithField("file", s.cfg.AuthorizedKeys).Info("authorized keys read")
	}
	fp, role, ok := s.keys.lookup(key)
	entry := s.log.WithFields(logrus.Fields{"user": ctx.User(), "remote": ctx.RemoteAddr().String(), "key": fingerprintOf(key)})
	if !ok {
		entry.Warn("authentication refused: key not authorized")
		return false
	}
	entry.WithFields(logrus.Fields{"role": role.String(), "fingerprint": fp}).Info("authenticated")
	return true
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

// console makes the session's console.
func (s *Server) console(sess ssh.Session) (tea.Model, []tea.ProgramOption) {
	key := sess.PublicKey()
	if key == nil {
		return nil, nil
	}
	fp, role, ok := s.keys.lookup(key)
	if !ok { // the key was removed since authentication
		wish.Fatalln(sess, "stprobe: your key is no longer authorized on this bench")
		return nil, nil
	}
	if s.cfg.ReadOnly {
		role = RoleObserver
	}
	who := bench.Holder{Name: sess.User(), Session: "ssh " + sess.RemoteAddr().String(), Fingerprint: fp}
	s.log.WithFields(logrus.Fields{"user": who.Name, "remote": sess.RemoteAddr().String(), "role": role.String(), "fingerprint": fp}).Info("session started")
	go func() {
		<-sess.Context().Done()
		s.log.WithFields(logrus.Fields{"user": who.Name, "remote": sess.RemoteAddr().String()}).Info("session ended")
	}()
	return s.cfg.Console(sess.Context(), s.cfg.Bench, who, role == RoleObserver, sess.Environ()), []tea.ProgramOption{tea.WithoutSignalHandler()}
}

// Serve listens and serves until ctx is done, then shuts down: it closes
// the listener and waits (a few seconds at most) for sessions to end.
func (s *Server) Serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("serve: listening on %s: %w", s.cfg.Listen, err)
	}
	return s.ServeListener(ctx, ln)
}

// ServeListener serves on ln until ctx is done.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	s.log.WithFields(logrus.Fields{"listen": ln.Addr().String(), "read_only": s.cfg.ReadOnly}).Info("serving the bench over SSH")
	stop := s.logLease(ctx)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- s.ssh.Serve(ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, ssh.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.ssh.Shutdown(sctx); err != nil {
		s.ssh.Close()
	}
	return nil
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
