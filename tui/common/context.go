// Package common is what every part of the console shares: the session's
// Context (size, theme, styles, the bench, the lease, the latest snapshot),
// the Pane interface every pane implements, and the messages that travel
// between the root model and the panes.
package common

import (
	"context"
	"errors"
	"sync"

	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/bench"
)

// Context is one console session's shared state. The root model owns it and
// hands the same pointer to every pane; panes read it and never keep copies
// of its fields. Every method is meant to be called from Update or View (the
// program's goroutine), as is Job; the commands Job returns carry what
// they need.
type Context struct {
	// Width and Height are the size of the area a pane may draw in, set by
	// the root model before it calls SetSize on the panes.
	Width, Height int
	// Styles are the session's styles (Styles.Theme says dark/light, colour).
	Styles *Styles
	// Bench is the bench the session works on.
	Bench *bench.Bench
	// Holder is who this session is, for the operator lease.
	Holder bench.Holder
	// ReadOnly sessions observe and never take the lease.
	ReadOnly bool

	ctx   context.Context
	snap  bench.Snapshot
	mu    sync.Mutex // guards token: the session's end may release it from another goroutine
	token bench.Token
}

// NewContext makes a session's context. ctx bounds every job the session
// runs (cancel it when the session ends).
func NewContext(ctx context.Context, b *bench.Bench, who bench.Holder, theme Theme) *Context {
	if ctx == nil {
		ctx = context.Background()
	}
	c := &Context{Styles: NewStyles(theme), Bench: b, Holder: who, ctx: ctx}
	if b != nil {
		c.snap = b.Snapshot()
	}
	return c
}

// SetTheme rebuilds the styles for t (on a background-colour report).
func (c *Context) SetTheme(t Theme) { c.Styles = NewStyles(t) }

// Ctx is the session's context.
func (c *Context) Ctx() context.Context { return c.ctx }

// Snapshot is the latest bench state the root model received.
func (c *Context) Snapshot() bench.Snapshot { return c.snap }

// SetSnapshot records the latest state; only the root model calls it.
func (c *Context) SetSnapshot(s bench.Snapshot) { c.snap = s }

// Token is the session's lease token ("" when it holds no lease).
func (c *Context) Token() bench.Token {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token
}

// SetToken records the session's lease token; only the root model calls it.
func (c *Context) SetToken(t bench.Token) {
	c.mu.Lock()
	c.token = t
	c.mu.Unlock()
}

// HasLease reports whether this session holds the operator lease, as far
// as the latest snapshot says.
func (c *Context) HasLease() bool {
	l := c.snap.Lease
	return c.Token() != "" && l != nil && l.Holder == c.Holder
}

// Busy names the job running on the bench ("" when the probe is idle).
func (c *Context) Busy() string {
	if j := c.snap.Job; j != nil {
		return j.Kind
	}
	return ""
}

// Unavailable says why this session cannot run a job now, or "" when it
// can: the probe went away, the session only observes, another session
// holds the probe (naming it), or nobody does.
func (c *Context) Unavailable() string {
	switch {
	case c.Bench == nil:
		return "no probe is open"
	case c.snap.Gone != "":
		return "the probe went away: check the cable or the server, then start again"
	case c.HasLease():
		return ""
	case c.ReadOnly:
		return "this session may only observe"
	case c.snap.Lease != nil && c.snap.Lease.Holder != c.Holder:
		return "another session holds the probe: " + c.snap.Lease.Holder.Name
	default:
		return "this session does not hold the probe: press " + TakeKey + " to take it"
	}
}

// UnavailableNow is Unavailable, plus "a sweep is running" while a job
// runs: for actions that should not queue behind another job.
func (c *Context) UnavailableNow() string {
	if why := c.Unavailable(); why != "" {
		return why
	}
	if k := c.Busy(); k != "" {
		return "a " + k + " job is running: wait, or press " + CancelKey + " to stop it"
	}
	return ""
}

// APUnavailable says why access port ap cannot be used with this probe's
// firmware ("AP1 needs ST-LINK firmware V2J28 or later"), or "": the
// bench's answer, from the driver's own gate.
func (c *Context) APUnavailable(ap uint8) string { return c.snap.APUnavailable(ap) }

// UnavailableError is a job refused before it reached the bench.
type UnavailableError struct{ Why string }

func (e *UnavailableError) Error() string { return e.Why }

// IsUnavailable reports whether err is an UnavailableError or the bench's
// lease refusal.
func IsUnavailable(err error) bool {
	var u *UnavailableError
	var l *bench.LeaseError
	return errors.As(err, &u) || errors.As(err, &l)
}

// Result is how a job ended: what its bench call returned. A pane defines
// its own message of each of its jobs' ends on it (type discovered
// common.Result[*da.Discovery]) and handles that with a plain case.
type Result[T any] struct {
	Value T
	Err   error
}

// Ending is the constraint of a pane's message of a job's end: a type
// defined on Result[T].
type Ending[T any] interface {
	~struct {
		Value T
		Err   error
	}
}

// Job runs fn on the bench with the session's lease token, as a command
// of pane from: fn calls one synchronous bench job method
// (c.Bench.Sweep(ctx, t, ...)), and the command returns what it returned
// as the pane's own message M in a JobDoneMsg. When the session cannot run
// jobs, fn is not called: the command returns at once, M holding T's zero
// value and an *UnavailableError saying why. Cancel with CancelJob.
func Job[M Ending[T], T any](c *Context, from PaneID, fn func(ctx context.Context, t bench.Token) (T, error)) tea.Cmd {
	if why := c.Unavailable(); why != "" {
		err := &UnavailableError{Why: why}
		return func() tea.Msg { return JobDoneMsg{From: from, Msg: M(Result[T]{Err: err}), Err: err} }
	}
	ctx, tok := c.ctx, c.Token()
	return func() tea.Msg {
		v, err := fn(ctx, tok)
		return JobDoneMsg{From: from, Msg: M(Result[T]{Value: v, Err: err}), Err: err}
	}
}

// CancelJob stops the job running on the bench (the session must hold the
// lease). It does not block.
func (c *Context) CancelJob() error {
	if c.Bench == nil {
		return errors.New("no probe is open")
	}
	if !c.HasLease() {
		return &UnavailableError{Why: c.Unavailable()}
	}
	return c.Bench.Cancel(c.Token())
}
