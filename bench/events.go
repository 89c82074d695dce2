package bench

import (
	"context"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/sweep"
)

// Event is one thing that happened on the bench. Every subscriber gets every
// event, in order, each carrying its sequence number and time.
type Event interface {
	// Meta is the event's sequence number and time.
	Meta() EventMeta
}

// EventMeta is what every event carries.
type EventMeta struct {
	// Seq numbers the bench's events from 1, without gaps.
	Seq  uint64
	Time time.Time
}

// Meta returns m; it makes every type that embeds EventMeta an Event.
func (m EventMeta) Meta() EventMeta { return m }

// Notice is something the user should read: the bench fell back to the
// simulated board, the probe went away, a pending write was found.
type Notice struct {
	EventMeta
	Text string
}

// JobStarted says a job began running on the probe.
type JobStarted struct {
	EventMeta
	Job JobInfo
}

// JobFinished says a job ended; Err is nil when it did its work.
type JobFinished struct {
	EventMeta
	Job JobInfo
	Err error
}

// ProbeProgress is the driver's progress report (connect steps, long memory
// transfers) during a job.
type ProbeProgress struct {
	EventMeta
	Job      string
	Progress probe.Event
}

// SweepCell reports a sweep cell about to be tried (Progress.Done false) or
// finished with its outcome.
type SweepCell struct {
	EventMeta
	Progress sweep.Progress
}

// ApplyStep is one step of a guarded option-byte write.
type ApplyStep struct {
	EventMeta
	Step WriteEvent
}

// DAStep is one step of a debug-authentication job: the library's steps
// (session, discovery, authenticate, granted, reset, reconnect, flash,
// verified, provision) and the bench's own (backup, save-flash, audit).
// Step.Done and Step.Total count bytes for save-flash; zero otherwise.
type DAStep struct {
	EventMeta
	Step WriteEvent
}

// StateChanged carries the bench's new state snapshot.
type StateChanged struct {
	EventMeta
	State Snapshot
}

// LeaseChanged says who holds the operator lease now (nil: nobody) and why.
type LeaseChanged struct {
	EventMeta
	Holder *Holder
	Reason string
}

// LeaseAsked says a session asks the holder to hand the lease over.
type LeaseAsked struct {
	EventMeta
	Asker  Holder
	Holder Holder // who holds it now
}

// LogEntry is one entry of the bench's log.
type LogEntry struct {
	EventMeta
	Level   logrus.Level
	Message string
	Fields  map[string]any
}

// Dropped tells a subscriber that it fell behind and lost its Count oldest
// events; its next StateChanged (or Snapshot) gives the whole picture again.
type Dropped struct {
	EventMeta
	Count int
}

// DefaultBuffer is a subscription's buffer when Subscribe is given 0.
const DefaultBuffer = 1024

// Subscription is one subscriber's stream of events. Publishing never waits
// for it: when its buffer is full it loses its oldest event and is told how
// many it lost, by a Dropped event ahead of the rest.
type Subscription struct {
	hub    *hub
	mu     sync.Mutex
	buf    []Event // ring of at most size events
	head   int     // index of the oldest event in buf
	n      int     // events held
	lost   int     // events dropped since the last Dropped was delivered
	notify chan struct{}
	closed bool
}

// Next returns the next event, waiting for one until ctx is done or the
// subscription is closed (then it returns ErrUnsubscribed).
func (s *Subscription) Next(ctx context.Context) (Event, error) {
	for {
		s.mu.Lock()
		if s.lost > 0 {
			ev := Dropped{EventMeta: EventMeta{Time: time.Now()}, Count: s.lost}
			s.lost = 0
			s.mu.Unlock()
			return ev, nil
		}
		if s.n > 0 {
			ev := s.buf[s.head]
			s.buf[s.head] = nil
			s.head = (s.head + 1) % len(s.buf)
			s.n--
			s.mu.Unlock()
			return ev, nil
		}
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return nil, ErrUnsubscribed
		}
		select {
		case <-s.notify:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Close ends the subscription; Next then returns ErrUnsubscribed.
func (s *Subscription) Close() {
	s.hub.remove(s)
	s.end()
}

// end marks the stream ended and wakes a waiting Next.
func (s *Subscription) end() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// push adds ev, dropping the oldest event when the buffer is full.
func (s *Subscription) push(ev Event) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if s.n == len(s.buf) {
		s.buf[s.head] = nil
		s.head = (s.head + 1) % len(s.buf)
		s.n--
		s.lost++
	}
	s.buf[(s.head+s.n)%len(s.buf)] = ev
	s.n++
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// hub fans events out to the subscriptions. Lock order: Bench.mu, then
// hub.mu; the log hook takes hub.mu alone, so logging under Bench.mu is safe.
type hub struct {
	mu   sync.Mutex
	seq  uint64
	subs map[*Subscription]struct{}
	now  func() time.Time
}

func newHub(now func() time.Time) *hub {
	return &hub{subs: map[*Subscription]struct{}{}, now: now}
}

// publish stamps the event build makes with the next sequence number and
// delivers it to every subscription.
func (h *hub) publish(build func(EventMeta) Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	ev := build(EventMeta{Seq: h.seq, Time: h.now()})
	for s := range h.subs {
		s.push(ev)
	}
}

func (h *hub) subscribe(size int) *Subscription {
	if size <= 0 {
		size = DefaultBuffer
	}
	s := &Subscription{hub: h, buf: make([]Event, size), notify: make(chan struct{}, 1)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// closeAll ends every subscription's stream.
func (h *hub) closeAll() {
	h.mu.Lock()
	subs := h.subs
	h.subs = map[*Subscription]struct{}{}
	h.mu.Unlock()
	for s := range subs {
		s.end()
	}
}

func (h *hub) remove(s *Subscription) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}
