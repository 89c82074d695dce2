// Package bench is the one owner of a probe. A Bench opens the probe a
// Selector names, runs every job that talks to it (connect, sweep, option
// bytes, debug authentication) one at a time on its own goroutine, fans the
// jobs' progress out to any number of subscribers as typed events, keeps a
// snapshot of the whole state for subscribers that join late, and hands the
// right to run jobs to one operator at a time through a lease. The CLI, the
// console and the SSH server are all clients of a Bench; nothing else talks
// to the probe.
package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/sim"
)

// Errors of the bench itself.
var (
	// ErrClosed is returned by jobs submitted after Close.
	ErrClosed = errors.New("bench: closed")
	// ErrUnsubscribed is returned by Next once the subscription is closed.
	ErrUnsubscribed = errors.New("bench: subscription closed")
	// ErrFallbackBoard refuses a write to the simulated board the bench fell
	// back to when no probe was chosen and none was on USB.
	ErrFallbackBoard = errors.New("the simulated board the bench fell back to is for looking, not for writes")
)

// checkWritable refuses a write to the fall-back board: a write goes only to
// a probe the user chose, or to a simulated board named with --sim. It is
// the one rule for the CLI, the console and the SSH bench.
func (b *Bench) checkWritable(kind string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state.Fallback == "" {
		return nil
	}
	return fmt.Errorf("bench: %s: %s: %w; plug the probe in, or rehearse the change on a board named with --sim SCENARIO (see: stprobe sim list)", kind, b.state.Fallback, ErrFallbackBoard)
}

// Options tune a Bench. The zero value is usable.
type Options struct {
	// Log receives what the bench does (info), and with trace level every
	// probe transfer. Nil: a logger that discards everything.
	Log *logrus.Logger
	// LeaseIdle is how long an idle operator lease lasts (DefaultLeaseIdle
	// when 0; negative: for ever).
	LeaseIdle time.Duration
	// Now is the clock (time.Now when nil); tests give a fake one.
	Now func() time.Time
	// ListUSB lists the ST-LINKs on USB (probe.ListUSB when nil); tests
	// give a fake bus.
	ListUSB func(context.Context) ([]probe.Info, error)
}

// Bench owns one probe. Its methods are safe for concurrent use by any
// number of clients; jobs run one at a time, in the order they arrive.
type Bench struct {
	log  *logrus.Logger
	hook *logHook
	now  func() time.Time
	idle time.Duration

	// owned by the loop goroutine once Open returns
	link     *probe.Link
	sim      *sim.Probe
	sel      Selector
	linkOpts []probe.Option

	jobs    chan *job
	quit    chan struct{}
	stopped chan struct{}
	jobSeq  uint64

	mu    sync.Mutex // guards everything below
	hub   *hub
	state Snapshot
	lease *lease
	job   *job // running now
	done  bool

	tools   map[uint64]*toolConn // the tools using the shared probe, by ID
	toolSeq uint64
	connSeq uint32
}

// job is one unit of work on the probe.
type job struct {
	info   JobInfo
	ctx    context.Context
	cancel context.CancelFunc
	token  Token
	fn     func(ctx context.Context) error
	result chan error
	// quiet marks a tool's command (runTool): no job events, no clean-up.
	quiet bool
}

// newBench starts the owner goroutine for an open link.
func newBench(l *probe.Link, s *sim.Probe, info probe.Info, o Options) *Bench {
	b := &Bench{
		log: o.Log, now: o.Now, idle: o.LeaseIdle, link: l, sim: s,
		jobs: make(chan *job), quit: make(chan struct{}), stopped: make(chan struct{}),
	}
	if b.now == nil {
		b.now = time.Now
	}
	if b.idle == 0 {
		b.idle = DefaultLeaseIdle
	}
	b.hub = newHub(b.now)
	b.state.Probe = info
	b.state.Simulated = s != nil
	if b.log == nil {
		b.log = discardLogger()
	}
	b.hook = &logHook{b: b}
	b.log.AddHook(b.hook)
	go b.loop()
	return b
}

// Subscribe returns the state now and the stream of every event after it:
// nothing happens between the two. size bounds the events held for a slow
// subscriber (DefaultBuffer when 0).
func (b *Bench) Subscribe(size int) (Snapshot, *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expireLocked()
	return b.state, b.hub.subscribe(size)
}

// Snapshot is the state of the bench now.
func (b *Bench) Snapshot() Snapshot {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expireLocked()
	return b.state
}

// Log is the bench's logger, for clients that log what they do beside it.
func (b *Bench) Log() *logrus.Logger { return b.log }

// Simulated is the simulated probe behind the bench, nil on real hardware.
func (b *Bench) Simulated() *sim.Probe { return b.sim }

// Close waits for the running job, leaves the probe's debug mode, releases
// it and ends every subscription's stream of new events.
func (b *Bench) Close() error {
	b.mu.Lock()
	if b.done {
		b.mu.Unlock()
		return nil
	}
	b.done = true
	b.mu.Unlock()
	close(b.quit)
	<-b.stopped
	b.log.ReplaceHooks(withoutHook(b.log.Hooks, b.hook))
	err := b.link.Close()
	b.hub.closeAll()
	return err
}

// Notify publishes a notice to every subscriber and keeps it in the state.
func (b *Bench) Notify(text string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.state.Notice = text
	b.publishLocked(func(m EventMeta) Event { return Notice{EventMeta: m, Text: text} })
	b.stateChangedLocked()
}

// Cancel stops the running job when t holds the lease (the operator's
// "stop"); the job leaves the probe clean and reports its cancellation.
func (b *Bench) Cancel(t Token) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.checkLocked(t); err != nil {
		return err
	}
	if b.job != nil {
		b.job.cancel()
	}
	return nil
}

// publishLocked publishes one event that goes with a change of the state.
// The caller holds mu, so that no subscriber joins between the change and
// its event.
func (b *Bench) publishLocked(build func(EventMeta) Event) { b.hub.publish(build) }

// publish publishes an event that changes nothing in the state (progress,
// log entries).
func (b *Bench) publish(build func(EventMeta) Event) { b.hub.publish(build) }

// stateChangedLocked publishes the state. The caller holds mu.
func (b *Bench) stateChangedLocked() {
	b.state.Lease = b.leaseInfoLocked()
	b.state.Tools = b.toolsLocked()
	st := b.state
	b.publishLocked(func(m EventMeta) Event { return StateChanged{EventMeta: m, State: st} })
}

// update changes the state and publishes it.
func (b *Bench) update(fn func(s *Snapshot)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fn(&b.state)
	b.stateChangedLocked()
}

// Limits bound each kind of job in time.
const (
	limitShort      = 30 * time.Second
	limitWrite      = 2 * time.Minute
	cleanupTimeout  = 2 * time.Second
	probeGoneNotice = "the probe went away (unplugged, or the server closed): check the cable or the server, then start again"
)

// run submits fn as a job of kind on behalf of the bearer of t and waits for
// its result. The job is refused unless t holds the lease; it is bounded by
// limit and by ctx; when it fails or is cancelled the probe is left clean
// (out of debug, NRST released) before the next job runs.
func (b *Bench) run(ctx context.Context, t Token, kind string, limit time.Duration, fn func(ctx context.Context) error) error {
	holder, id, err := b.admit(t, true)
	if err != nil {
		if !errors.Is(err, ErrClosed) {
			b.log.WithField("job", kind).WithError(err).Info("job refused")
		}
		return err
	}
	jctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	return b.submit(&job{
		info: JobInfo{ID: id, Kind: kind, Holder: holder},
		ctx:  jctx, cancel: cancel, token: t, fn: fn, result: make(chan error, 1),
	}, kind)
}

// admit lets the bearer of t submit a job: the bench must be open and t
// must hold the lease. It returns the holder and, when numbered, the
// job's number.
func (b *Bench) admit(t Token, numbered bool) (Holder, uint64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return Holder{}, 0, ErrClosed
	}
	if err := b.checkLocked(t); err != nil {
		return Holder{}, 0, err
	}
	if !numbered {
		return b.lease.holder, 0, nil
	}
	b.jobSeq++
	return b.lease.holder, b.jobSeq, nil
}

// submit hands j to the bench's goroutine and waits for its result; what
// names the work in the error of a job that gave up waiting.
func (b *Bench) submit(j *job, what string) error {
	select {
	case b.jobs <- j:
	case <-j.ctx.Done():
		return fmt.Errorf("bench: %s waited for the probe and gave up: %w", what, j.ctx.Err())
	case <-b.quit:
		return ErrClosed
	}
	return <-j.result
}

// do runs fn as one job (see run) and returns its value.
func do[T any](b *Bench, ctx context.Context, t Token, kind string, limit time.Duration, fn func(ctx context.Context) (T, error)) (T, error) {
	var v T
	err := b.run(ctx, t, kind, limit, func(ctx context.Context) error {
		var err error
		v, err = fn(ctx)
		return err
	})
	return v, err
}

// loop is the owner goroutine: the only one that talks to the probe.
func (b *Bench) loop() {
	defer close(b.stopped)
	for {
		select {
		case j := <-b.jobs:
			if j.quiet {
				j.result <- b.runQuiet(j)
				continue
			}
			j.result <- b.runJob(j)
		case <-b.quit:
			return
		}
	}
}

// runJob runs one job on the owner goroutine.
func (b *Bench) runJob(j *job) error {
	b.mu.Lock()
	if err := b.checkLocked(j.token); err != nil { // the lease may have moved while it waited
		b.mu.Unlock()
		return err
	}
	if b.state.Gone != "" {
		b.mu.Unlock()
		return fmt.Errorf("bench: %s: %w", j.info.Kind, probe.ErrDisconnected)
	}
	j.info.Started = b.now()
	b.job = j
	info := j.info
	b.state.Job = &info
	b.publishLocked(func(m EventMeta) Event { return JobStarted{EventMeta: m, Job: info} })
	b.stateChangedLocked()
	b.mu.Unlock()
	b.log.WithFields(logrus.Fields{"job": info.Kind, "holder": info.Holder.String()}).Info("job started")

	err := j.ctx.Err()
	if err == nil {
		err = j.fn(j.ctx)
	}
	if err != nil || j.ctx.Err() != nil {
		b.cleanup()
	}

	gone := errors.Is(err, probe.ErrDisconnected)
	b.mu.Lock()
	b.job = nil
	b.state.Job = nil
	if b.lease != nil && b.lease.token == j.token {
		b.lease.lastUse = b.now()
	}
	if gone && b.state.Gone == "" {
		b.state.Gone = probeGoneNotice
		b.state.Notice = probeGoneNotice
		b.publishLocked(func(m EventMeta) Event { return Notice{EventMeta: m, Text: probeGoneNotice} })
	}
	b.publishLocked(func(m EventMeta) Event { return JobFinished{EventMeta: m, Job: info, Err: err} })
	b.stateChangedLocked()
	b.mu.Unlock()
	entry := b.log.WithFields(logrus.Fields{"job": info.Kind, "took": b.now().Sub(info.Started).Round(time.Millisecond)})
	switch {
	case err != nil && IsWriteJob(info.Kind):
		// a write cut short (a session gone mid-write, a cancel): the
		// server's log says how it ended, beside the audit line
		entry.WithError(err).WithField("outcome", WriteOutcome(err)).Info("write job did not finish")
	case err != nil:
		entry.WithError(err).Info("job failed")
	default:
		entry.Info("job done")
	}
	return err
}

// cleanup leaves the probe clean after a failed or cancelled job: out of
// debug mode with NRST released, so that the next job starts afresh.
func (b *Bench) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := probe.Disconnect(ctx, b.link); err != nil {
		b.log.WithError(err).Debug("leaving debug mode after the job")
	}
}
