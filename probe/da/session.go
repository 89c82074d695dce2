package da

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/targets"
)

// Host runs debug authentication through a Port.
type Host struct {
	p Port
	o Options
}

// NewHost returns a Host on p; o's zero fields take their defaults.
func NewHost(p Port, o Options) *Host { return &Host{p: p, o: o.withDefaults()} }

// Discover runs a read-only discovery through l (NewHost(LinkPort(l),
// o).Discover).
func Discover(ctx context.Context, l *probe.Link, o Options) (*Discovery, error) {
	if l == nil {
		return nil, errors.New("DA discovery: no probe link")
	}
	return NewHost(LinkPort(l), o).Discover(ctx)
}

// Step names and hints used in errors.
const (
	opDiscovery = "DA discovery"
	// HintNRST is the advice when the ROM does not answer the session
	// request.
	HintNRST   = "NRST must be wired to the probe for Debug Authentication; power-cycle the board if a previous DA attempt left it waiting"
	hintWiring = "check SWDIO, SWCLK, GND and target power, then sweep the connection"
)

// session is one DA session: the ROM's agent answering on the mailbox.
type session struct {
	h     *Host
	op    string
	mb    *Mailbox
	disc  *Discovery
	reply uint32
	id    uint32
}

// fail builds the error of step op.
func fail(op string, where probe.Layer, what, next string, err error) error {
	return &probe.OpError{Op: op, Where: where, What: what, Next: next, Err: err}
}

// probeFail wraps a driver error, keeping its layer.
func probeFail(op, what string, err error) error {
	if lay := probe.LayerOf(err); lay != "" {
		return fail(op, lay, what, "", err)
	}
	return fail(op, probe.LayerProbe, what, "", err)
}

// Discover runs a read-only DA discovery (DA session notes §8.1): attach
// Under Reset through the mailbox AP with NRST held, write the request
// word to DBG_AUTH_HOST, release NRST, wait for the ROM's reply word, send
// DISCOVERY and decode the answer. The probe is left clean even when ctx
// ends; the chip stays in the ROM's DA loop until its next reset, as real
// STM32H5 parts do.
//
// Errors are *probe.OpError values naming the layer: DP when nothing
// answers SWD, target when the ROM does not reply (NRST not wired) or
// answers something unexpected.
func (h *Host) Discover(ctx context.Context) (d *Discovery, err error) {
	err = h.withSession(ctx, opDiscovery, func(ctx context.Context, s *session) error {
		d = s.disc
		return nil
	})
	return d, err
}

// leaveClean disconnects (out of debug, NRST released) within the
// teardown time even when ctx is done, and reports a failure to do so in
// *err unless the operation op already failed.
func (h *Host) leaveClean(ctx context.Context, op string, err *error) {
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
	defer cancel()
	if derr := h.p.Disconnect(tctx); derr != nil && *err == nil {
		*err = fmt.Errorf("%s: leaving the probe clean: %w", op, derr)
	}
}

// withSession starts a session, runs fn, and leaves the probe clean.
func (h *Host) withSession(ctx context.Context, op string, fn func(context.Context, *session) error) (err error) {
	defer h.leaveClean(ctx, op, &err)
	ctx, cancel := context.WithTimeout(ctx, h.o.Timeout)
	defer cancel()
	s, err := h.start(ctx, op)
	if err != nil {
		return err
	}
	return fn(ctx, s)
}

// start opens a session and runs DISCOVERY.
func (h *Host) start(ctx context.Context, op string) (*session, error) {
	o := h.o
	h.event("session", "attaching under reset through AP%d", o.AP)
	rep, err := h.p.Connect(ctx, probe.ConnectOptions{Mode: probe.ModeUnderReset, AP: o.AP, FrequencyKHz: o.FrequencyKHz})
	if err != nil {
		return nil, probeFail(op, "attaching under reset", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !rep.DPOK {
		if rep.Err != nil && probe.LayerOf(rep.Err) == probe.LayerProbe {
			return nil, probeFail(op, "attaching under reset: "+rep.FailedStep, rep.Err)
		}
		return nil, fail(op, probe.LayerDP, "no debug port answers", hintWiring, rep.Err)
	}
	if rep.APIDR == 0 {
		return nil, fail(op, probe.LayerAP, fmt.Sprintf("no access port %d", o.AP), "the DA mailbox is on AP0 on STM32H5", rep.Err)
	}
	// Under Reset leaves NRST low when the port reaches no core (AP0 on
	// STM32H5); hold it low in any case for the request word.
	if err := h.p.SetNRST(ctx, true); err != nil {
		return nil, probeFail(op, "asserting NRST", err)
	}
	s := &session{h: h, op: op, mb: NewMailbox(h.p, o)}
	// Identification under reset is a sanity check only (UNCONFIRMED that
	// it reads while NRST is low on every part).
	if v, err := h.p.Read32(ctx, o.AP, o.Base+targets.DBGMCUIDCode); err == nil {
		s.id = v
		if devID, _ := targets.DecodeIDCode(v); !knownDevID(devID) {
			return nil, fail(op, probe.LayerTarget, fmt.Sprintf("no STM32H5 DBGMCU on AP%d (IDCODE at 0x%08X reads 0x%08X)", o.AP, o.Base+targets.DBGMCUIDCode, v),
				"debug authentication through the DBGMCU mailbox is for STM32H5 parts; check which chip is on the board (stprobe info)", nil)
		}
	} else if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	mb := s.mb
	// A word left in DBG_AUTH_DEV by an earlier session would be taken for
	// the reply: drain it (bounded) and say so.
	var drained []uint32
	for range maxStaleWords {
		ack, err := mb.Ack(ctx)
		if err != nil {
			return nil, fail(op, probe.LayerAP, "reading the DA mailbox", "", err)
		}
		if ack&mb.devBit == 0 {
			break
		}
		w, err := mb.take(ctx)
		if err != nil {
			return nil, fail(op, probe.LayerAP, "emptying the DA mailbox", "", err)
		}
		drained = append(drained, w)
		h.event("drain", "drained a stale word 0x%08X left in DBG_AUTH_DEV before the request", w)
	}
	if err := mb.put(ctx, o.RequestWord); err != nil {
		return nil, fail(op, probe.LayerAP, "writing the DA request word", "", err)
	}
	if _, err := mb.Ack(ctx); err != nil { // logged: which bit the write set
		return nil, fail(op, probe.LayerAP, "reading the DA mailbox", "", err)
	}
	if err := h.p.SetNRST(ctx, false); err != nil {
		return nil, probeFail(op, "releasing NRST", err)
	}
	// The reply, past the stale words a device may post first (ST's ports
	// write 0xBADF00D0 into DBG_AUTH_DEV when their mailbox starts).
	var reply uint32
	for {
		w, err := mb.Read(ctx)
		if err != nil {
			var nw *errNoWord
			if errors.As(err, &nw) {
				return nil, tag(fail(op, probe.LayerTarget, "no DA reply", fmt.Sprintf("%s (DBG_AUTH_ACK 0x%08X after %d polls)", HintNRST, nw.ack, nw.polls), nil), ErrNoReply)
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fail(op, probe.LayerAP, "waiting for the DA reply", HintNRST, err)
		}
		if slices.Contains(o.ReplyWords, w) {
			reply = w
			break
		}
		if !slices.Contains(o.StaleWords, w) || len(drained) >= maxStaleWords {
			return nil, fail(op, probe.LayerTarget, fmt.Sprintf("unexpected DA reply word 0x%08X", w),
				"the chip's request/reply words differ from the configured ones (they are not public for STM32H5); power-cycle the board and retry with other words", nil)
		}
		drained = append(drained, w)
		h.event("drain", "drained the stale device word 0x%08X (a mailbox's start-up value), waiting for the reply", w)
	}
	s.reply = reply
	h.event("discovery", "the ROM answered 0x%08X; asking what it is", reply)
	payload, err := s.transact(ctx, CmdDiscovery, nil, "DISCOVERY")
	if err != nil {
		return nil, err
	}
	d, err := DecodeDiscovery(payload)
	if err != nil {
		return nil, fail(op, probe.LayerTarget, "decoding the DISCOVERY answer", "", err)
	}
	d.RequestWord, d.ReplyWord, d.IDCode, d.Drained = o.RequestWord, reply, s.id, drained
	s.disc = d
	return s, nil
}

// transact sends one command and returns the payload of a SUCCESS answer;
// any other status is a *StatusError.
func (s *session) transact(ctx context.Context, cmd Command, payload []byte, what string) ([]byte, error) {
	st, out, err := s.exchange(ctx, cmd, payload, what)
	if err != nil {
		return nil, err
	}
	if st != StatusSuccess {
		return nil, s.statusFail(what, st)
	}
	return out, nil
}

// exchange sends one command and returns the status and payload.
func (s *session) exchange(ctx context.Context, cmd Command, payload []byte, what string) (Status, []byte, error) {
	st, out, err := s.mb.Transact(ctx, cmd, payload)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		return 0, nil, fail(s.op, probe.LayerTarget, what+" exchange failed", "power-cycle the board and retry", err)
	}
	return st, out, nil
}

// statusFail is the error of a refused command.
func (s *session) statusFail(what string, st Status) error {
	se := &StatusError{Command: what, Status: st}
	return tag(fail(s.op, probe.LayerTarget, se.Error(), se.Next(), nil), se)
}

// knownDevID reports whether devID is a chip family stprobe knows.
func knownDevID(devID uint16) bool {
	f, _, ok := targets.LookupDevID(devID)
	// The RDP families have no DA mailbox, even the U5 whose DBGMCU sits
	// at the STM32H5's address.
	return ok && f.RDP == nil
}

// event reports a step to Options.Events.
func (h *Host) event(step, format string, args ...any) {
	if h.o.Events != nil {
		h.o.Events(Event{Step: step, Message: fmt.Sprintf(format, args...)})
	}
}

// pause sleeps d or until ctx ends.
func pause(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
