package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"charm.land/wish/v2"
	"github.com/sirupsen/logrus"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/time/rate"
)

// RevokedMessage is what a session whose key was removed (or narrowed to
// observing) is told as it ends.
const RevokedMessage = "your key is no longer authorized on this bench for this session: the session ended and the probe was released"

// revokeGrace is how long a revoked session's console has to quit
// (restoring the client's terminal) before its connection is cut.
const revokeGrace = 5 * time.Second

// liveSession is one console being served.
type liveSession struct {
	key    gossh.PublicKey
	remote net.Addr
	user   string
	role   Role
	cancel context.CancelFunc // ends the console's context: its jobs stop, its lease is released
	quit   chan struct{}      // closed when the console must quit
	conn   interface{ Close() error }
	// exitErr is how the console ended (a write it left unfinished), nil
	// when it ended cleanly or cannot say.
	exitErr func() error

	once   sync.Once
	mu     sync.Mutex
	reason string      // why it was revoked; empty while it stands
	cut    *time.Timer // cuts the connection of a revoked console that does not quit
}

// track registers sess's console; the returned context ends when the
// session ends or is revoked.
func (s *Server) track(sess ssh.Session, key gossh.PublicKey, role Role) (context.Context, *liveSession) {
	ctx, cancel := context.WithCancel(sess.Context())
	ls := &liveSession{key: key, remote: sess.RemoteAddr(), user: sess.User(), role: role, cancel: cancel, quit: make(chan struct{})}
	if c, ok := sess.Context().Value(ssh.ContextKeyConn).(gossh.Conn); ok {
		ls.conn = c
	}
	s.mu.Lock()
	s.live[sess] = ls
	s.mu.Unlock()
	return ctx, ls
}

// untrack forgets sess once it ended.
func (s *Server) untrack(sess ssh.Session) {
	s.mu.Lock()
	ls := s.live[sess]
	delete(s.live, sess)
	s.mu.Unlock()
	if ls != nil {
		ls.cancel()
		ls.once.Do(func() { close(ls.quit) })
	}
}

// revoke ends ls: its console's context ends (the bench cancels its jobs
// and releases its lease), the console quits and the client is told why;
// a console that does not quit in time has its connection cut.
func (s *Server) revoke(ls *liveSession, why string) {
	ls.mu.Lock()
	if ls.reason != "" {
		ls.mu.Unlock()
		return
	}
	ls.reason = why
	ls.mu.Unlock()
	s.log.WithFields(logrus.Fields{"user": ls.user, "remote": ls.remote.String(), "key": fingerprintOf(ls.key), "reason": why}).
		Warn("session revoked: ending it and releasing its lease")
	ls.cancel()
	ls.once.Do(func() { close(ls.quit) })
	if ls.conn != nil {
		t := time.AfterFunc(revokeGrace, func() { ls.conn.Close() })
		ls.mu.Lock()
		ls.cut = t
		ls.mu.Unlock()
	}
}

// quitRevoked is why sess was revoked ("" when it was not), asked once its
// console has quit: the connection need no longer be cut.
func (s *Server) quitRevoked(sess ssh.Session) string {
	s.mu.Lock()
	ls := s.live[sess]
	s.mu.Unlock()
	if ls == nil {
		return ""
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.reason != "" && ls.cut != nil {
		// the console quit in time: the client is told why, then the
		// session ends by itself
		ls.cut.Stop()
	}
	return ls.reason
}

// farewell runs after the console quit: a revoked session is told why,
// and a console that quit during its write prints the write's outcome;
// both exit with status 1.
func (s *Server) farewell(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		if why := s.quitRevoked(sess); why != "" {
			wish.Fatalln(sess, "stprobe: "+RevokedMessage)
			return
		}
		if err := s.consoleExitErr(sess); err != nil {
			s.log.WithFields(logrus.Fields{"user": sess.User(), "remote": sess.RemoteAddr().String()}).WithError(err).Warn("console quit during a write")
			wish.Fatalln(sess, "stprobe: "+err.Error())
			return
		}
		next(sess)
	}
}

// consoleExitErr is how sess's console ended: nil when it ended cleanly.
func (s *Server) consoleExitErr(sess ssh.Session) error {
	s.mu.Lock()
	ls := s.live[sess]
	s.mu.Unlock()
	if ls == nil || ls.exitErr == nil {
		return nil
	}
	return ls.exitErr()
}

// revocable is a console that quits when its session is revoked.
type revocable struct {
	tea.Model
	quit <-chan struct{}
}

// revokedMsg tells the console its session was revoked.
type revokedMsg struct{}

func (r revocable) Init() tea.Cmd {
	quit := r.quit
	return tea.Batch(r.Model.Init(), func() tea.Msg { <-quit; return revokedMsg{} })
}

func (r revocable) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if _, ok := msg.(revokedMsg); ok {
		return r, tea.Quit
	}
	m, cmd := r.Model.Update(msg)
	r.Model = m
	return r, cmd
}

// Reload reads the keys and roles files again now (SIGHUP), and ends the
// sessions they no longer admit.
func (s *Server) Reload() {
	s.log.WithField("file", s.cfg.AuthorizedKeys).Info("reading the authorized keys again (asked for)")
	s.refreshKeys(true)
	s.checkLive()
}

// watchKeys checks the keys files every KeysPoll until ctx ends: a
// change is read, and live sessions are checked against the keys (and
// their expiry times) at every tick.
func (s *Server) watchKeys(ctx context.Context) {
	t := time.NewTicker(s.cfg.KeysPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.refreshKeys(false)
			s.checkLive()
		}
	}
}

// refreshKeys reads the keys files when they changed (always when force)
// and says what came of it: a file that cannot be read lets nobody new
// in, loudly — in the server log and in every console's footer.
func (s *Server) refreshKeys(force bool) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock() // one reader at a time, so each change is told once
	wasBroken := s.keys.broken()
	reread, err := s.keys.refresh(force)
	if !reread {
		return
	}
	if err != nil {
		s.log.WithError(err).Error("authorized keys unusable: nobody new can log in until the file is mended")
		what := "cannot be read"
		if missing(err) {
			what = "are gone"
		}
		s.cfg.Bench.Notify(fmt.Sprintf("SSH: the authorized keys %s: nobody new can log in until %s is mended (see the server log)", what, s.cfg.AuthorizedKeys))
		return
	}
	s.log.WithField("file", s.cfg.AuthorizedKeys).Info("authorized keys read")
	s.logRefusedLines()
	if wasBroken {
		s.cfg.Bench.Notify("SSH: the authorized keys can be read again")
	}
}

// logRefusedLines logs every line of the keys file that lets nobody in.
func (s *Server) logRefusedLines() {
	for _, ak := range s.keys.refusedLines() {
		s.log.WithFields(logrus.Fields{"file": s.cfg.AuthorizedKeys, "line": ak.line, "comment": ak.comment, "key": fingerprintOf(ak.key)}).
			Warn("authorized keys line refused: " + ak.refused)
	}
}

// checkLive ends the sessions the keys no longer admit: key removed,
// options that no longer match, expired, or narrowed to observing while
// the session may operate. While the file cannot be parsed the sessions go
// on (told in their footer); when it is gone, none is admitted.
func (s *Server) checkLive() {
	if err := s.keys.err(); err != nil && !missing(err) {
		return
	}
	s.mu.Lock()
	all := make([]*liveSession, 0, len(s.live))
	for _, ls := range s.live {
		all = append(all, ls)
	}
	s.mu.Unlock()
	now := time.Now()
	s.checkForwards(now)
	for _, ls := range all {
		g, err := s.keys.lookup(ls.key, ls.remote, now)
		switch {
		case err != nil:
			s.revoke(ls, err.Error())
		case g.role == RoleObserver && ls.role == RoleOperator:
			s.revoke(ls, "the key may now only observe")
		}
	}
}

// broken reports whether the last read of the files failed.
func (k *keyring) broken() bool { return k.err() != nil }

// err is the error of the last read.
func (k *keyring) err() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.loadError
}

// logLimiter bounds how often a kind of line is logged (a flood of
// refused connections must not flood the log); it counts what it held
// back and says so in the next line.
type logLimiter struct {
	lim        *rate.Limiter
	mu         sync.Mutex
	suppressed int
}

func newLogLimiter() *logLimiter {
	return &logLimiter{lim: rate.NewLimiter(rate.Every(time.Second), 10)}
}

func (l *logLimiter) log(e *logrus.Entry, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.lim.Allow() {
		l.suppressed++
		return
	}
	if l.suppressed > 0 {
		e = e.WithField("suppressed", l.suppressed)
		l.suppressed = 0
	}
	e.Warn(msg)
}

// loggingListener logs the listener's failures to accept (out of file
// descriptors), which the SSH server retries without a word.
type loggingListener struct {
	net.Listener
	log   *logrus.Logger
	limit *logLimiter
}

func (l *loggingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		l.limit.log(l.log.WithError(err), "accepting a connection failed (retried)")
	}
	return c, err
}
