package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/obytes"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets"
)

// OptionBytes is a connected chip with its option bytes read (Hot Plug on
// AP1 on the STM32H5, on the core port, AP0, on the families protected by
// RDP levels), or, when the STM32H5's AP1 is closed, what AP0 could tell
// (Closed is then set).
type OptionBytes struct {
	Chip    *targets.Chip
	Connect *probe.ConnectReport
	Layout  *obytes.Layout
	Snap    *obytes.Snapshot
	DA      targets.DAStatus
	// Closed is set when AP1 does not answer.
	Closed *ClosedAP
	// Pending is the interrupted or failed write recorded for this chip
	// (by its UID) in the state directory the read was given; PendingErr
	// says why that record could not be read (damaged: treat it as pending).
	Pending    *statefile.Journal
	PendingErr error
}

// ClosedAP is why AP1 does not answer, with DBGMCU_SR as read through AP0.
type ClosedAP struct {
	Err              error
	Present, Enabled uint16
	StatusErr        error // why DBGMCU_SR could not be read
}

// Why explains why the option bytes cannot be read, and what to do.
func (c *ClosedAP) Why() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v", c.Err)
	switch {
	case c.StatusErr != nil:
		fmt.Fprintf(&b, "; DBGMCU_SR unreadable through AP0: %v", c.StatusErr)
	case c.Enabled&2 == 0:
		b.WriteString("; DBGMCU_SR says AP1 is not enabled: the product state closes debug (TZ_CLOSED without an application that opens it, CLOSED or LOCKED); debug authentication can reopen it if DA data was provisioned, never in LOCKED (stprobe da discover tells the product state and whether DA is provisioned)")
	default:
		b.WriteString("; DBGMCU_SR says AP1 is enabled, so check the wiring, the SWD clock and the connect mode")
	}
	return b.String()
}

// ErrOptionBytesUnreadable is returned when AP1 is closed.
var ErrOptionBytesUnreadable = errors.New("option bytes unreadable")

// Field is the decoded field name of the _CUR values, or nil when the chip
// has no such field.
func (o *OptionBytes) Field(name string) *obytes.FieldValue {
	if o.Layout == nil || o.Snap == nil {
		return nil
	}
	fd, ok := o.Layout.Field(name)
	if !ok {
		return nil
	}
	v := o.Layout.DecodeField(fd, o.Snap.Cur[fd.Register])
	return &v
}

// RDPFamily reports whether the chip is of a family protected by read-out
// protection levels (F1, F4, G0, G4, L4, U5, H7): its layout reads the
// option bytes in force, and obytes programs them with the family's own
// sequence.
func (o *OptionBytes) RDPFamily() bool { return o.Layout != nil && o.Layout.RDP != nil }

// unreadable is the error of a plan or apply on a closed AP1.
func (o *OptionBytes) unreadable() error {
	if o.Closed == nil {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrOptionBytesUnreadable, o.Closed.Why())
}

// HotPlugAP1 are the connect options of every option-byte job.
var HotPlugAP1 = probe.ConnectOptions{Mode: probe.ModeHotPlug, AP: 1, FrequencyKHz: 4000}

// OBRequest is what an option-byte job needs besides the chip: the method
// of debug authentication when the chip cannot tell (empty: unknown).
type OBRequest struct {
	DAMethod string
	// StateDir, when set, is where the interrupted writes are recorded:
	// the read reports the pending write of the chip it identified.
	StateDir string
}

// ReadOptionBytes connects Hot Plug on AP1 and reads the chip's option
// bytes. With AP1 closed it returns what AP0 told (Closed set) and no error.
func (b *Bench) ReadOptionBytes(ctx context.Context, t Token, r OBRequest) (*OptionBytes, error) {
	return do(b, ctx, t, "ob read", limitShort, func(ctx context.Context) (*OptionBytes, error) {
		return b.readOB(ctx, r)
	})
}

// readOB connects Hot Plug on AP1 and reads the chip and its option bytes.
// When AP1 is closed it falls back to AP0 and fills Closed.
func (b *Bench) readOB(ctx context.Context, r OBRequest) (*OptionBytes, error) {
	l := b.link
	o := &OptionBytes{}
	rep, err := probe.Connect(ctx, l, HotPlugAP1)
	if err != nil {
		return nil, fmt.Errorf("connecting Hot Plug on AP1: %w", err)
	}
	o.Connect = rep
	if !rep.OK() {
		if !rep.DPOK {
			return nil, fmt.Errorf("connecting Hot Plug on AP1: the debug port does not answer (step %q): %w", rep.FailedStep, rep.Err)
		}
		o.Closed = &ClosedAP{Err: fmt.Errorf("AP1 does not answer Hot Plug (step %q): %w", rep.FailedStep, rep.Err)}
		_ = l.OpenAP(ctx, 0)
	}
	chip, err := targets.Identify(ctx, l, rep.DPIDR)
	if err != nil {
		err = fmt.Errorf("identifying the chip (the ob commands know the STM32H5 only): %w", err)
		if o.Closed != nil {
			return nil, fmt.Errorf("%v; and through AP0: %w", o.Closed.Err, err)
		}
		return nil, err
	}
	o.Chip = chip
	if r.StateDir != "" {
		o.Pending, o.PendingErr = statefile.CheckChipJournal(r.StateDir, chip.UIDString())
	}
	if chip.Family.RDP != nil {
		return b.readFamilyOB(ctx, o, rep)
	}
	if o.Closed != nil {
		o.Closed.Present, o.Closed.Enabled, o.Closed.StatusErr = targets.ReadAPStatus(ctx, l)
		b.update(func(s *Snapshot) {
			s.Chip, s.OptionBytes, s.Connection = chip, o, connectionText(rep)+"; identified through AP0"
			s.markStale(o.Closed.staleText())
		})
		return o, nil
	}
	if o.Layout, err = obytes.ForLine(chip.Line); err != nil {
		return nil, err
	}
	if o.Snap, err = obytes.ReadSnapshot(ctx, l, o.Layout); err != nil {
		return nil, err
	}
	o.DA = targets.ReadDAStatus(ctx, l, chip, targets.TZENOf(o.Snap.Cur["OPTSR2"]))
	if m, _ := targets.ParseDAMethod(r.DAMethod); m != targets.DAMethodUnknown && o.DA.Provisioned && o.DA.Method != m {
		if o.DA.Method != targets.DAMethodUnknown || o.Layout.DevID == targets.DevIDH503 && m != targets.DAPassword {
			return nil, fmt.Errorf("--da-method %s contradicts what the chip shows (%v)", m, o.DA)
		}
		o.DA.Method = m
		o.DA.Source += "; method " + m.String() + " stated with --da-method"
	}
	b.update(func(s *Snapshot) {
		s.Chip, s.OptionBytes, s.Connection = chip, o, connectionText(rep)
		da := s.withProvisionedMethod(o.DA, chip.UIDString())
		s.DA = &da
		s.setOptionBytesState(o, "option bytes read through AP1", b.now())
		s.OptionsUnlocked = o.Snap.Unlocked
	})
	return o, nil
}

// setOptionBytesState records the product state and TZEN that option
// bytes o hold, learned now by way of from.
func (s *Snapshot) setOptionBytesState(o *OptionBytes, from string, at time.Time) {
	if o.Chip != nil && o.Chip.Family.RDP != nil {
		s.setFamilyProtection(o) // optionbytes_families.go
		return
	}
	ps := o.Field("PRODUCT_STATE")
	if ps == nil {
		return
	}
	tz := targets.TZENAbsent
	if f := o.Field("TZEN"); f != nil {
		tz = targets.TZEN(f.Raw)
	}
	s.setState(targets.ProductState(ps.Raw), tz, true, from, at)
}

// staleText says why a closed AP1 leaves the state unread.
func (c *ClosedAP) staleText() string {
	if c.StatusErr == nil && c.Present&2 != 0 && c.Enabled&2 == 0 {
		return "AP1 is closed (DBGMCU_SR through AP0): the option bytes cannot be read"
	}
	return "AP1 does not answer: the option bytes were not read"
}

// readFamilyOB reads the option registers of a family protected by RDP
// levels (F1, F4, G0, G4, L4): they sit behind the core port, AP0, which
// answers at RDP level 1 too, so the Hot Plug connect on AP1 the STM32H5
// needs is replaced by one on the family's core port.
func (b *Bench) readFamilyOB(ctx context.Context, o *OptionBytes, rep *probe.ConnectReport) (*OptionBytes, error) {
	l, chip := b.link, o.Chip
	o.Closed = nil
	ap := chip.Family.CoreAP
	if !rep.OK() || rep.AP != ap {
		opts := probe.ConnectOptions{Mode: probe.ModeHotPlug, AP: ap, FrequencyKHz: HotPlugAP1.FrequencyKHz}
		r, err := probe.Connect(ctx, l, opts)
		if err != nil {
			return nil, fmt.Errorf("connecting Hot Plug on AP%d, the %s core port: %w", ap, chip.Family.Name, err)
		}
		if !r.OK() {
			return nil, fmt.Errorf("connecting Hot Plug on AP%d, the %s core port (step %q; identification answered, so check the connect mode and the SWD clock): %w", ap, chip.Family.Name, r.FailedStep, r.Err)
		}
		rep = r
	}
	o.Connect = rep
	var err error
	if o.Layout, err = obytes.ForLine(chip.Line); err != nil {
		return nil, err
	}
	if o.Snap, err = obytes.ReadSnapshot(ctx, l, o.Layout); err != nil {
		return nil, err
	}
	b.update(func(s *Snapshot) {
		s.Chip, s.OptionBytes, s.Connection = chip, o, connectionText(rep)
		s.TZEN = targets.TZENAbsent
	})
	return o, nil
}

// ErrApplyNotImplemented is returned by ob apply and ob lock on a family
// whose option-byte programming sequence stprobe does not implement.
var ErrApplyNotImplemented = errors.New("option-byte programming not implemented for this family")

// refuseFamilyWrite is the error of a write on a family stprobe cannot
// program yet (nil on the STM32H5).
func refuseFamilyWrite(o *OptionBytes) error {
	if o == nil || o.Layout == nil {
		return nil
	}
	if why := o.Layout.ApplyRefusal(); why != "" {
		return fmt.Errorf("%w: %s; nothing was written", ErrApplyNotImplemented, why)
	}
	return nil
}

// Change is a requested option-byte change: FIELD=VALUE assignments, or the
// return to the option bytes saved in a backup of this chip.
type Change struct {
	Assignments []string
	FromBackup  string
	DAMethod    string
	// WayBack, when set, proves the way back of a plan that closes the
	// chip (see WayBackFiles); without it such a plan is brick.
	WayBack *WayBackFiles
}

// PlanResult is a plan with the chip it was made for.
type PlanResult struct {
	OptionBytes *OptionBytes
	Plan        *obytes.Plan
}

// PlanOptionBytes reads the option bytes and plans c: the diff, the risk
// class, the phrase that confirms it. A change the rules refuse returns an
// *obytes.RefusedError; nothing is written.
func (b *Bench) PlanOptionBytes(ctx context.Context, t Token, c Change) (*PlanResult, error) {
	return do(b, ctx, t, "ob plan", limitShort, func(ctx context.Context) (*PlanResult, error) {
		return b.plan(ctx, c)
	})
}

func (b *Bench) plan(ctx context.Context, c Change) (*PlanResult, error) {
	o, err := b.readOB(ctx, OBRequest{DAMethod: c.DAMethod})
	if err != nil {
		return nil, err
	}
	res := &PlanResult{OptionBytes: o}
	if err := o.unreadable(); err != nil {
		return res, err
	}
	as, err := o.assignments(c)
	if err != nil {
		return res, err
	}
	in := obytes.PlanInput{Layout: o.Layout, UID: o.Chip.UIDString(), Before: o.Snap, DA: o.DA}
	if c.WayBack != nil { // the proof of the way back (da.go)
		if in.WayBack, err = b.wayBackFor(ctx, o, as, c.WayBack); err != nil {
			return res, err
		}
	}
	p, err := obytes.MakePlan(in, as)
	res.Plan = p
	if p != nil {
		b.update(func(s *Snapshot) { s.Plan = p })
	}
	return res, err
}

// assignments are the requested changes: the FIELD=VALUE arguments, or
// every field that differs from a backup of this chip.
func (o *OptionBytes) assignments(c Change) ([]obytes.Assignment, error) {
	if c.FromBackup == "" {
		return o.Layout.ParseAssignments(c.Assignments)
	}
	bk, err := obytes.ReadBackup(c.FromBackup)
	if err != nil {
		return nil, err
	}
	switch {
	case bk.Snapshot == nil:
		return nil, fmt.Errorf("backup %s holds no option bytes", c.FromBackup)
	case bk.DevID != o.Layout.DevID:
		return nil, fmt.Errorf("backup %s holds the option bytes of an %s; this chip is an %s", c.FromBackup, bk.LineName, o.Layout.LineName)
	case bk.UID != o.Chip.UIDString():
		return nil, fmt.Errorf("backup %s holds the option bytes of the chip with UID %s; this chip's UID is %s (backups are restored only to the chip they came from)", c.FromBackup, bk.UID, o.Chip.UIDString())
	}
	as := o.Layout.AssignmentsTo(o.Snap.Cur, bk.Snapshot.Cur)
	if len(as) == 0 {
		return nil, obytes.ErrNoChange
	}
	return as, nil
}

// ApplyRequest is a confirmed change: the phrase the plan printed, the
// override a brick change needs, and where backups, the audit log and the
// journal go.
type ApplyRequest struct {
	Change
	// Confirm is the phrase exactly as the user typed it.
	Confirm       string
	OverrideBrick bool
	// Seen says the user confirmed the plan shown on screen without
	// typing: the guard takes it for a safe or caution plan only.
	Seen     bool
	StateDir string
}

// ApplyResult is a plan and the outcome of its guarded write.
type ApplyResult struct {
	PlanResult
	Result *obytes.Result
}

// ApplyOptionBytes plans c once, checks the confirmation and runs the
// guarded write: backup, the chip's programming sequence, the reconnect
// after the chip resets, verification, the audit line (which names the
// lease holder). Each step is an ApplyStep event.
func (b *Bench) ApplyOptionBytes(ctx context.Context, t Token, r ApplyRequest) (*ApplyResult, error) {
	if r.StateDir == "" {
		// The executor's default, resolved here so that a refusal by the
		// guard is recorded where the write would have been.
		r.StateDir, _ = statefile.DefaultStateDir()
	}
	res := &ApplyResult{}
	out, err := b.guardedWrite(ctx, t, write{
		job: "ob apply", limit: limitWrite, step: applyStep,
		confirm:  guarded.Confirmation{Phrase: r.Confirm, Override: r.OverrideBrick, Seen: r.Seen},
		stateDir: r.StateDir,
		build:    func(rec guarded.Recorder) guarded.Write { return b.obWrite(r, rec, res) },
		done:     func(context.Context, *guarded.Outcome, error) { b.afterApply(res) },
	})
	if out == nil {
		return nil, err
	}
	if errors.Is(err, obytes.ErrNeedsOverride) {
		err = fmt.Errorf("%w; nothing was written. Add --override-brick only if you accept that this chip may never be debugged again", err)
	}
	return res, err
}

// obWrite is the option-byte change r as a guarded write; it fills res as
// it goes. The executor (obytes.Apply) backs up, keeps the journal and
// writes the audit line itself, under the chip's lock.
func (b *Bench) obWrite(r ApplyRequest, rec guarded.Recorder, res *ApplyResult) guarded.Write {
	return guarded.Write{
		Plan: func(ctx context.Context) (*guarded.Plan, error) {
			pr, err := b.plan(ctx, r.Change)
			if pr != nil {
				res.PlanResult = *pr
			}
			if err != nil {
				return nil, err
			}
			if err := refuseFamilyWrite(pr.OptionBytes); err != nil {
				return nil, err
			}
			return pr.Plan.Header(), nil
		},
		Before: func() map[string]uint32 { return res.Plan.Before.Cur },
		Execute: func(ctx context.Context, emit guarded.Emit) (*guarded.Done, error) {
			o := obytes.ApplyOptions{
				Confirm: r.Confirm, OverrideBrick: r.OverrideBrick, Seen: r.Seen, StateDir: r.StateDir,
				User: rec.User, ProbeSerial: rec.ProbeSerial,
				Reconnect: b.reconnectAP1,
				Reopen:    b.reopenAP1,
				Now:       b.now,
				Events:    emit,
			}
			var err error
			res.Result, err = obytes.Apply(ctx, b.link, res.Plan, o)
			if res.Result == nil {
				return nil, err
			}
			d := &guarded.Done{Backup: res.Result.Backup, Recorded: true, Audit: res.Result.Audit, Journal: res.Result.Journal, Registers: res.Result.Registers}
			d.End = obytes.EndOf(err)
			return d, err
		},
	}
}

// afterApply publishes what an option-byte write left on the chip.
func (b *Bench) afterApply(res *ApplyResult) {
	pr := res.PlanResult
	if res.Result != nil && res.Result.After != nil {
		after := &OptionBytes{Chip: pr.OptionBytes.Chip, Layout: pr.OptionBytes.Layout, Snap: res.Result.After, DA: pr.OptionBytes.DA}
		b.update(func(s *Snapshot) {
			s.OptionBytes = after
			s.setOptionBytesState(after, "read back through AP1 after the write", b.now())
			s.OptionsUnlocked = after.Snap.Unlocked
		})
	}
	if res.Result != nil && res.Result.DebugClosed && pr.Plan != nil {
		// AP1 closed as the plan intended and DBGMCU_SR through AP0 says
		// so: the chip holds the planned values, which AP1 no longer reads.
		planned := &OptionBytes{Chip: pr.OptionBytes.Chip, Layout: pr.OptionBytes.Layout,
			Snap: &obytes.Snapshot{Cur: pr.Plan.After}, DA: pr.OptionBytes.DA}
		b.update(func(s *Snapshot) {
			s.setOptionBytesState(planned, "written; AP1 closed as planned (DBGMCU_SR read through AP0)", b.now())
			s.Connection = "AP0 only: AP1 closed by the write"
		})
	}
}

// LockRequest is where a lock's audit record goes.
type LockRequest struct {
	StateDir string
}

// LockResult is the chip and what the lock found and did.
type LockResult struct {
	OptionBytes *OptionBytes
	Lock        *obytes.LockResult
}

// LockOptionBytes connects Hot Plug on AP1 and leaves the option registers
// locked: a _PRG value an interrupted write staged is set back to _CUR and
// FLASH_OPTCR.OPTLOCK is set, read back and audited (obytes.Lock). A chip
// already locked with nothing staged is left alone.
func (b *Bench) LockOptionBytes(ctx context.Context, t Token, r LockRequest) (*LockResult, error) {
	res := &LockResult{}
	out, err := b.guardedWrite(ctx, t, write{
		job: "ob lock", limit: limitWrite, step: applyStep,
		confirm:  guarded.Confirmation{Seen: true}, // asking for the lock confirms it: it is safe
		stateDir: r.StateDir,
		build:    func(rec guarded.Recorder) guarded.Write { return b.lockWrite(r, rec, res) },
		done: func(context.Context, *guarded.Outcome, error) {
			if o := res.OptionBytes; res.Lock != nil && res.Lock.After != nil {
				after := &OptionBytes{Chip: o.Chip, Layout: o.Layout, Snap: res.Lock.After, DA: o.DA}
				b.update(func(s *Snapshot) { s.OptionBytes, s.OptionsUnlocked = after, after.Snap.Unlocked })
			}
		},
	})
	if out == nil {
		return nil, err
	}
	return res, err
}

// lockWrite is the lock as a guarded write; obytes.Lock reads the chip
// again, writes and records.
func (b *Bench) lockWrite(r LockRequest, rec guarded.Recorder, res *LockResult) guarded.Write {
	return guarded.Write{
		Plan: func(ctx context.Context) (*guarded.Plan, error) {
			o, err := b.readOB(ctx, OBRequest{})
			if err != nil {
				return nil, err
			}
			res.OptionBytes = o
			if err := o.unreadable(); err != nil {
				return nil, err
			}
			if err := refuseFamilyWrite(o); err != nil {
				return nil, err
			}
			return obytes.LockPlan(o.Layout, o.Chip.UIDString(), o.Snap.Staged(o.Layout)), nil
		},
		Execute: func(ctx context.Context, emit guarded.Emit) (*guarded.Done, error) {
			o := res.OptionBytes
			var err error
			res.Lock, err = obytes.Lock(ctx, b.link, o.Layout, o.Chip.UIDString(), obytes.LockOptions{
				StateDir: r.StateDir, User: rec.User, ProbeSerial: rec.ProbeSerial, Now: b.now,
			})
			d := &guarded.Done{Recorded: true}
			if res.Lock != nil {
				d.Audit = res.Lock.Audit
			}
			return d, err
		},
	}
}

// reopenAP1 is the apply's Reopen hook: a new link to the probe when the
// old one died, connected Hot Plug on AP1 (or on AP0, wrapping
// obytes.ErrCoreAPClosed, when AP1 stays closed).
func (b *Bench) reopenAP1(ctx context.Context) (obytes.Target, error) {
	l, err := b.reopen(ctx)
	if err != nil {
		return nil, err
	}
	return l, b.reconnectAP1(ctx)
}

// reconnectAP1 is the apply's Reconnect hook: Hot Plug on AP1 again; when
// the debug port answers but AP1 does not, it opens AP0 and wraps
// obytes.ErrCoreAPClosed. On the RDP families it reconnects on their core
// port (AP0) instead.
func (b *Bench) reconnectAP1(ctx context.Context) error {
	if ap, ok := b.familyCoreAP(); ok {
		return b.reconnectCore(ctx, ap) // optionbytes_families.go
	}
	rep, err := probe.Connect(ctx, b.link, HotPlugAP1)
	if err != nil {
		return fmt.Errorf("reconnecting Hot Plug on AP1: %w", err)
	}
	if rep.OK() {
		return nil
	}
	if rep.DPOK {
		_ = b.link.OpenAP(ctx, 0)
		return fmt.Errorf("%w: step %q: %v", obytes.ErrCoreAPClosed, rep.FailedStep, rep.Err)
	}
	return fmt.Errorf("reconnecting Hot Plug on AP1: step %q: %w", rep.FailedStep, rep.Err)
}

// ClearPending removes the pending-write record of the chip the bench last
// read (by its UID, never another chip's), once the user has checked the
// chip: an audit line records what the record said and what the chip's
// option bytes hold now. A running write of that chip makes it fail.
func (b *Bench) ClearPending(ctx context.Context, t Token, stateDir, reason string) error {
	return b.run(ctx, t, "ob journal clear", limitShort, func(ctx context.Context) error {
		who := b.holderName(t)
		b.mu.Lock()
		o := b.state.OptionBytes
		b.mu.Unlock()
		if o == nil || o.Chip == nil {
			return errors.New("bench: no chip read yet: read the option bytes first, so that the record cleared is this chip's")
		}
		if o.Pending == nil && o.PendingErr == nil {
			return fmt.Errorf("bench: no interrupted write is recorded for chip %s", o.Chip.UIDString())
		}
		act := statefile.JournalAction{User: who, Reason: reason, Now: b.now}
		if o.Snap != nil {
			act.Cur = o.Snap.Cur
		}
		if err := statefile.ClearChipJournal(stateDir, o.Chip.UIDString(), act); err != nil {
			return err
		}
		cleared := *o
		cleared.Pending, cleared.PendingErr = nil, nil
		b.update(func(s *Snapshot) {
			if s.OptionBytes == o {
				s.OptionBytes = &cleared
			}
		})
		return nil
	})
}
