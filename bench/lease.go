package bench

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"
)

// Holder is who holds (or asks for) the operator lease: a person's name and,
// over SSH, the session and the fingerprint of the key they logged in with.
type Holder struct {
	Name        string
	Session     string
	Fingerprint string
}

// String is the holder as the audit log and the UI name it.
func (h Holder) String() string {
	s := h.Name
	if s == "" {
		s = "unknown"
	}
	if h.Session != "" {
		s += " (" + h.Session + ")"
	}
	if h.Fingerprint != "" {
		s += " key " + h.Fingerprint
	}
	return s
}

// Token proves that its bearer holds the operator lease. Every job that
// talks to the probe needs the current one.
type Token string

// DefaultLeaseIdle is how long a lease lasts without a job or a Touch.
const DefaultLeaseIdle = 10 * time.Minute

// LeaseError refuses a job or an acquisition: another holder has the lease,
// or the caller's token is not (or no longer) the lease's.
type LeaseError struct {
	Holder *Holder // the current holder; nil when nobody holds the lease
	Reason string
}

func (e *LeaseError) Error() string {
	if e.Holder == nil {
		return "bench: " + e.Reason + "; nobody holds the probe: take it first"
	}
	return fmt.Sprintf("bench: %s; %s holds the probe: ask them to hand it over, or wait until their lease lapses", e.Reason, e.Holder)
}

// ErrReadOnly refuses the lease to a holder that may only observe.
var ErrReadOnly = errors.New("bench: this session may only observe")

// lease is the operator lease. The Bench's mu guards it.
type lease struct {
	token   Token
	holder  Holder
	since   time.Time
	lastUse time.Time
}

func newToken() Token { return Token(rand.Text()) }

// Acquire takes the operator lease for h when nobody holds it (or the
// holder's lease lapsed). It refuses with a *LeaseError naming the holder.
// A holder that already holds it gets its token again.
func (b *Bench) Acquire(h Holder) (Token, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expireLocked()
	if b.lease != nil {
		if b.lease.holder == h {
			b.lease.lastUse = b.now()
			return b.lease.token, nil
		}
		hh := b.lease.holder
		return "", &LeaseError{Holder: &hh, Reason: "the probe is taken"}
	}
	t := b.grantLocked(h, "acquired")
	return t, nil
}

// Release gives the lease up. A token that does not hold it is refused.
func (b *Bench) Release(t Token) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.checkLocked(t); err != nil {
		return err
	}
	b.dropLocked("released by " + b.lease.holder.String())
	return nil
}

// HandOver passes the lease from the bearer of t to h and returns h's token.
func (b *Bench) HandOver(t Token, to Holder) (Token, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.checkLocked(t); err != nil {
		return "", err
	}
	from := b.lease.holder
	return b.grantLocked(to, "handed over by "+from.String()), nil
}

// AskLease asks the holder to hand the lease over to who: a LeaseAsked
// event for the holder's session to show. With nobody holding it, it says
// so (take it with Acquire).
func (b *Bench) AskLease(who Holder) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expireLocked()
	if b.lease == nil {
		return &LeaseError{Reason: "nobody to ask"}
	}
	if b.lease.holder == who {
		return nil
	}
	h := b.lease.holder
	b.publishLocked(func(m EventMeta) Event { return LeaseAsked{EventMeta: m, Asker: who, Holder: h} })
	b.log.WithFields(map[string]any{"asker": who.String(), "holder": h.String()}).Info("lease asked for")
	return nil
}

// Touch keeps the lease of t alive, as a job does.
func (b *Bench) Touch(t Token) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.checkLocked(t)
}

// Holds reports whether t is the current lease's token.
func (b *Bench) Holds(t Token) bool {
	return b.Touch(t) == nil
}

// grantLocked gives the lease to h. The caller holds mu.
func (b *Bench) grantLocked(h Holder, why string) Token {
	now := b.now()
	b.lease = &lease{token: newToken(), holder: h, since: now, lastUse: now}
	hh := h
	b.publishLocked(func(m EventMeta) Event { return LeaseChanged{EventMeta: m, Holder: &hh, Reason: why} })
	b.log.WithField("holder", h.String()).Info("lease " + why)
	b.stateChangedLocked()
	return b.lease.token
}

// dropLocked ends the lease. The caller holds mu.
func (b *Bench) dropLocked(why string) {
	b.lease = nil
	b.publishLocked(func(m EventMeta) Event { return LeaseChanged{EventMeta: m, Reason: why} })
	b.log.Info("lease " + why)
	b.stateChangedLocked()
}

// checkLocked refuses t unless it holds the lease, and marks the lease used.
// The caller holds mu.
func (b *Bench) checkLocked(t Token) error {
	b.expireLocked()
	switch {
	case b.lease == nil:
		return &LeaseError{Reason: "this session does not hold the probe"}
	case b.lease.token != t:
		h := b.lease.holder
		return &LeaseError{Holder: &h, Reason: "this session does not hold the probe"}
	}
	b.lease.lastUse = b.now()
	return nil
}

// expireLocked lets an idle lease lapse; a lease is never idle while its
// job runs. The caller holds mu.
func (b *Bench) expireLocked() {
	if b.lease == nil || b.idle <= 0 || (b.job != nil && b.job.info.Holder == b.lease.holder) {
		return
	}
	if b.now().Sub(b.lease.lastUse) >= b.idle {
		b.dropLocked(fmt.Sprintf("of %s lapsed after %v idle", b.lease.holder, b.idle))
	}
}

// leaseInfoLocked is the lease for a snapshot. The caller holds mu.
func (b *Bench) leaseInfoLocked() *LeaseInfo {
	if b.lease == nil {
		return nil
	}
	return &LeaseInfo{Holder: b.lease.holder, Since: b.lease.since, Expires: b.lease.lastUse.Add(b.idle)}
}

// holderName is the name of the lease holder whose token t is, for the
// audit line of a write ("" when t does not hold the lease).
func (b *Bench) holderName(t Token) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lease != nil && b.lease.token == t {
		return b.lease.holder.String()
	}
	return ""
}
