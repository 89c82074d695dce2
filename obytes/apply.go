package obytes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets"
)

// DBGMCU_SR through AP0: bit 17 says AP1 is enabled (security reference §3.1).
const (
	dbgmcuSRAP0   = targets.H5DBGMCUAP0 + targets.DBGMCUSR
	srAP1Enabled  = 1 << (16 + targets.H5CoreAP)
	defaultPolls  = 10000
	applyStepsFor = 4 // check, backup, verify, audit (besides the phases)
)

// Errors of Apply that come before any write.
var (
	// ErrNotConfirmed: the confirmation phrase does not match the plan's
	// (the guard's error, guarded.ErrNotConfirmed).
	ErrNotConfirmed = guarded.ErrNotConfirmed
	// ErrNeedsOverride: a brick plan without the explicit override
	// (guarded.ErrNeedsOverride).
	ErrNeedsOverride = guarded.ErrNeedsOverride
	// ErrStalePlan: the chip's option bytes changed since the plan was made.
	ErrStalePlan = errors.New("the option bytes changed since the plan was made; plan again")
	// ErrPendingWrite: an earlier write was interrupted; look at the chip first.
	ErrPendingWrite = errors.New("an earlier option-byte write was interrupted or failed")
	// ErrOptionChangeRefused: the chip raised OPTCHANGEERR or PGSERR.
	ErrOptionChangeRefused = errors.New("the chip refused the option-byte change")
	// ErrVerify: after the write, _CUR does not hold what was asked.
	ErrVerify = errors.New("option bytes read back differ from what was written")
)

// ErrCoreAPClosed is wrapped by a Reconnect hook whose link came back but
// whose AP1 did not (the new product state closed debug).
var ErrCoreAPClosed = errors.New("AP1 (core access port) is closed")

// UIDAddr is the 96-bit unique ID in the engineering area (three words).
const UIDAddr = targets.H5UID

// ReadUID reads the unique ID through AP1 and renders it as ST tools do
// (word 2, word 1, word 0 in hex), like targets.Chip.UIDString.
func ReadUID(ctx context.Context, t Target) (string, error) {
	var w [3]uint32
	for i := range w {
		v, err := t.Read32(ctx, CoreAP, UIDAddr+uint32(4*i))
		if err != nil {
			return "", fmt.Errorf("target: reading UID at 0x%08X through AP%d: %w", UIDAddr+uint32(4*i), CoreAP, err)
		}
		w[i] = v
	}
	return fmt.Sprintf("%08X%08X%08X", w[2], w[1], w[0]), nil
}

// Event is one progress step of Apply, for a UI to render: the one event
// type of every guarded write.
type Event = guarded.Event

// ApplyOptions are the confirmations, hooks and places Apply uses.
type ApplyOptions struct {
	// Confirm must equal Plan.Phrase.
	Confirm string
	// OverrideBrick must be set for a brick plan.
	OverrideBrick bool
	// Seen confirms a safe or caution plan the user accepted on screen
	// without typing its phrase (guarded.Confirmation).
	Seen bool
	// StateDir holds backups, the audit log, the journals and the locks
	// (see DefaultStateDir).
	StateDir string
	// User and ProbeSerial go into the audit log and the journal.
	User, ProbeSerial string
	// Reconnect brings the link back after a reset (Hot Plug on AP1). It
	// wraps ErrCoreAPClosed when the link came back but AP1 stays closed.
	// Plans with a resetting phase need it or Reopen.
	Reconnect func(ctx context.Context) error
	// Reopen returns a fresh register-access handle (a new connection to
	// the probe, Hot Plug on AP1) when the one Apply works with failed: a
	// stlink-server connection dropped after a stall, a USB error. Apply
	// uses it to finish or undo the step it was in (restore staged _PRG
	// values and set OPTLOCK again, wait for a started change, read the
	// chip back for the records), and after a reset when the handle it
	// has did not come back. When AP1 stays closed it returns a handle that
	// reaches AP0 and an error wrapping ErrCoreAPClosed. Without Reopen a
	// dead handle means the undo cannot run; the journal and the error
	// then say the change is staged and NOT undone.
	Reopen func(ctx context.Context) (Target, error)
	// RecoverTimeout bounds what Apply does after a failure or a
	// cancellation to finish or undo the current step (default 30 s).
	RecoverTimeout time.Duration
	// Events receives progress; nil discards it.
	Events func(Event)
	// MaxPolls bounds every busy-wait (default 10000 reads).
	MaxPolls int
	// Now stamps files and records (default time.Now).
	Now func() time.Time
}

// defaultRecoverTimeout bounds the finish-or-undo work after a failure.
const defaultRecoverTimeout = 30 * time.Second

// Result is what Apply did.
type Result struct {
	Plan   *Plan     `json:"plan"`
	Backup string    `json:"backup"`
	After  *Snapshot `json:"after,omitempty"`
	// Verified is true when _CUR was read back and matches the plan.
	Verified bool `json:"verified"`
	// DebugClosed is true when the new product state closed AP1 as expected
	// and the result was checked through AP0 (DBGMCU_SR) instead.
	DebugClosed bool     `json:"debug_closed"`
	Notes       []string `json:"notes,omitempty"`
	// Outcome is what the chip holds at the end: one of the Outcome…
	// constants ("" when nothing was attempted).
	Outcome string `json:"outcome,omitempty"`
	// Registers are the register values read last after a failure.
	Registers map[string]uint32 `json:"registers,omitempty"`
	// Journal is the pending-write journal left for this chip ("" when the
	// write ended cleanly and none remains).
	Journal string `json:"journal,omitempty"`
	// Audited is true once the audit line of this run was written; Audit
	// is that line.
	Audited bool                   `json:"audited"`
	Audit   *statefile.AuditRecord `json:"-"`
}

// WriteError is a write that failed or was interrupted, with the register
// values seen at that moment and what was done about it.
type WriteError struct {
	Phase string
	Step  string
	// Started is true when OPTSTRT was set (or a direct register written):
	// the chip may hold new values.
	Started bool
	// Staged is true when the FLASH registers were unlocked or _PRG values
	// written before it failed (always with Started false).
	Staged bool
	// Undone is true when the staged values were restored from _CUR and
	// OPTLOCK set again, both read back.
	Undone bool
	// UndoErr says why the undo failed (Staged and not Undone).
	UndoErr error
	// Outcome is what the chip was found to hold after a started write
	// (one of the Outcome… constants; "" when not read).
	Outcome string
	// Layer is where it failed: "target" (the default) or "file" (the
	// journal could not be written).
	Layer string
	// Seen holds the register values read when it failed (NSSR, OPTCR,
	// <REG>_CUR, <REG>_PRG).
	Seen map[string]uint32
	Err  error
}

// Error says what failed, what the chip showed and what to do.
func (e *WriteError) Error() string {
	var b strings.Builder
	layer := e.Layer
	if layer == "" {
		layer = "target"
	}
	fmt.Fprintf(&b, "%s: option-byte write, phase %q, step %s: %v", layer, e.Phase, e.Step, e.Err)
	if len(e.Seen) > 0 {
		b.WriteString("; registers seen: " + statefile.RegText(e.Seen))
	}
	unchanged := e.Outcome == "" || e.Outcome == statefile.OutcomeNotApplied || e.Outcome == statefile.OutcomeUndone
	switch {
	case e.Started && e.Outcome != "" && e.Outcome != statefile.OutcomeUnknown:
		fmt.Fprintf(&b, "; the programming had started: read back, the change is %s and OPTLOCK is set again; the journal records it", strings.ToUpper(e.Outcome))
	case e.Started:
		b.WriteString("; the programming had started: reconnect (Hot Plug, AP1) and read the option bytes; the journal records it")
	case e.Staged && e.Undone && unchanged:
		b.WriteString("; the staged _PRG values were restored from _CUR and OPTLOCK set again (read back): nothing was applied")
	case e.Staged && e.Undone:
		fmt.Fprintf(&b, "; the staged _PRG values of this phase were restored from _CUR and OPTLOCK set again (read back); earlier phases changed the chip: it is %s; the journal records it", strings.ToUpper(e.Outcome))
	case e.Staged:
		fmt.Fprintf(&b, "; THE CHANGE MAY STILL BE STAGED (FLASH_OPTCR unlocked, _PRG values written) and could not be undone (%v): any later OPTSTRT, by another tool or by firmware, would apply it. Reset the chip (NRST or power cycle): a reset reloads _PRG from the option bytes and sets OPTLOCK; the journal records the registers", e.UndoErr)
	case !unchanged:
		fmt.Fprintf(&b, "; earlier phases changed the chip: it is %s; the journal records it", strings.ToUpper(e.Outcome))
	default:
		b.WriteString("; nothing was written")
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *WriteError) Unwrap() error { return e.Err }

// RecordError is a failure to record a write: the journal or the audit log
// could not be written. The chip may have been changed all the same
// (Applied). It is the guarded write's own (guarded.RecordError).
type RecordError = guarded.RecordError

// executor carries one Apply run.
type executor struct {
	t      Target
	l      *Layout
	p      *Plan
	o      ApplyOptions
	done   int
	total  int
	res    *Result
	backup string

	// jr is the journal being kept for this run (nil until the first
	// phase), jpath where it is.
	jr    *statefile.Journal
	jpath string
	// started is set once any OPTSTRT (or direct write) was issued.
	started bool
	// applied lists the phases completed.
	applied []string
	// outcome and regs are what the chip holds as far as known.
	outcome string
	regs    map[string]uint32
	// reopened is set once Reopen replaced t.
	reopened bool
	// confirmed is set once the guard accepted the confirmation.
	confirmed bool
}

func (x *executor) event(step, format string, args ...any) {
	if x.o.Events == nil {
		return
	}
	x.o.Events(Event{Step: step, Message: fmt.Sprintf(format, args...), Done: x.done, Total: x.total})
}

func (x *executor) step() { x.done++ }

func (x *executor) read(ctx context.Context, off uint32) (uint32, error) {
	return x.t.Read32(ctx, CoreAP, FlashBase+off)
}

func (x *executor) write(ctx context.Context, off, v uint32) error {
	return x.t.Write32(ctx, CoreAP, FlashBase+off, v)
}

// Apply carries out a confirmed plan: it takes the chip's lock in the state
// directory (a second write to the same chip at once is refused with
// ErrChipBusy), checks the confirmation, re-reads the option bytes
// (refusing a stale plan), saves a backup, runs each phase with the chip's
// programming sequence, reconnects after a reset, verifies, and appends to
// the audit log.
//
// The chip's journal is written before the first FLASH write and updated
// before OPTSTRT. A failure or a cancellation of ctx before OPTSTRT undoes
// the step (staged _PRG values restored, OPTLOCK set, read back, over a
// handle from Reopen when the first one died); one after OPTSTRT finishes
// the step (waits for the change, sets OPTLOCK, reads back). Either way the
// outcome goes to the audit log and, unless the chip is known to hold
// exactly what it held before, stays in the journal. A failure of the chip
// is a *WriteError; a failure to write a record is a *RecordError (never
// a silent note).
func Apply(ctx context.Context, t Target, p *Plan, o ApplyOptions) (*Result, error) {
	if p == nil || p.Before == nil {
		return nil, errors.New("obytes: Apply needs a plan")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxPolls <= 0 {
		o.MaxPolls = defaultPolls
	}
	if o.RecoverTimeout <= 0 {
		o.RecoverTimeout = defaultRecoverTimeout
	}
	if o.StateDir == "" {
		d, err := statefile.DefaultStateDir()
		if err != nil {
			return nil, err
		}
		o.StateDir = d
	}
	if err := statefile.CheckDir(o.StateDir); err != nil {
		return nil, err
	}
	l, err := ForDevID(p.DevID)
	if err != nil {
		return nil, err
	}
	if why := l.ApplyRefusal(); why != "" {
		return nil, fmt.Errorf("obytes: %s; nothing was written", why)
	}
	x := &executor{t: t, l: l, p: p, o: o, total: len(p.Phases) + applyStepsFor, res: &Result{Plan: p}}
	lk, err := statefile.LockChip(o.StateDir, p.UID)
	if err != nil {
		return nil, err
	}
	defer lk.Release()
	if err := x.preflight(); err != nil {
		if aerr := x.audit("refused", err); aerr != nil {
			return nil, errors.Join(err, &RecordError{Kind: guarded.OptionBytes, What: "audit log", Err: aerr})
		}
		return nil, err
	}
	err = x.run(ctx)
	return x.res, x.finish(err)
}

// preflight checks what needs no chip access.
func (x *executor) preflight() error {
	if err := x.recheck(); err != nil {
		return err
	}
	if err := guarded.Check(x.p.Header(), guarded.Confirmation{Phrase: x.o.Confirm, Override: x.o.OverrideBrick, Seen: x.o.Seen}); err != nil {
		return err
	}
	x.confirmed = true
	for _, ph := range x.p.Phases {
		if ph.Resets && x.o.Reconnect == nil && x.o.Reopen == nil {
			return fmt.Errorf("obytes: phase %q resets the chip and no Reconnect or Reopen hook was given", ph.Name)
		}
	}
	j, err := statefile.CheckChipJournal(x.o.StateDir, x.p.UID)
	var dj *statefile.DamagedJournalError
	switch {
	case errors.As(err, &dj):
		return fmt.Errorf("%w: %v", ErrPendingWrite, err)
	case err != nil:
		return err
	case j != nil:
		return fmt.Errorf("%w: %s Clear the journal once you have checked the chip", ErrPendingWrite, j)
	}
	return nil
}

// ErrPlanMismatch: the plan given to Apply is not what the rules make of
// its changes (edited by hand, or made by another version of the rules).
var ErrPlanMismatch = errors.New("the plan does not match what the rules make of its changes; plan again")

// recheck runs the rules again on the plan's own changes and snapshot, so
// that a plan edited after MakePlan (risk lowered, phases added) is refused.
func (x *executor) recheck() error {
	if x.p.fromRules() {
		return nil // straight from MakePlan: the rules ran once already
	}
	as := make([]Assignment, 0, len(x.p.Changes))
	for _, c := range x.p.Changes {
		f, ok := x.l.Field(c.Field)
		if !ok {
			return fmt.Errorf("%w: unknown field %s", ErrPlanMismatch, c.Field)
		}
		as = append(as, Assignment{Field: f, Value: c.To.Raw})
	}
	again, err := MakePlan(PlanInput{Layout: x.l, UID: x.p.UID, Before: x.p.Before, DA: x.p.DA, WayBack: x.p.WayBack}, as)
	if err != nil {
		return err
	}
	if again.Risk != x.p.Risk || again.Phrase != x.p.Phrase || again.NeedsOverride != x.p.NeedsOverride ||
		!reflect.DeepEqual(again.Phases, x.p.Phases) || !reflect.DeepEqual(again.After, x.p.After) {
		return ErrPlanMismatch
	}
	return nil
}

// checkAndBackup re-reads the option bytes and the chip's UID (with uid)
// and refuses a plan the chip no longer matches, then saves the backup.
// suffix is what the plan's register names carry in errors.
func (x *executor) checkAndBackup(ctx context.Context, uid func(context.Context) (string, error), suffix string) error {
	x.event("check", "re-reading the option bytes")
	now, err := ReadSnapshot(ctx, x.t, x.l)
	if err != nil {
		return fmt.Errorf("re-reading before the write (nothing written): %w", err)
	}
	if x.p.UID != "" {
		got, err := uid(ctx)
		if err != nil {
			return fmt.Errorf("re-reading the chip's UID before the write (nothing written): %w", err)
		}
		if got != x.p.UID {
			return fmt.Errorf("%w: it was made for chip %s, this is chip %s", ErrStalePlan, x.p.UID, got)
		}
	}
	for name, v := range x.p.Before.Cur {
		if now.Cur[name] != v {
			return fmt.Errorf("%w: %s%s was 0x%08X, now 0x%08X", ErrStalePlan, name, suffix, v, now.Cur[name])
		}
	}
	x.step()
	x.event("backup", "saving every option byte")
	path, err := WriteBackup(x.o.StateDir, x.l, x.p.UID, now, x.o.Now())
	if err != nil {
		return fmt.Errorf("backup before the write (nothing written): %w", err)
	}
	x.backup, x.res.Backup = path, path
	x.step()
	x.event("backup", "saved %s", path)
	return nil
}

// run does the chip work.
func (x *executor) run(ctx context.Context) error {
	if x.l.RDP != nil {
		return x.runFamily(ctx) // apply_families.go
	}
	err := x.checkAndBackup(ctx, func(ctx context.Context) (string, error) { return ReadUID(ctx, x.t) }, "_CUR")
	if err != nil {
		return err
	}

	for _, ph := range x.p.Phases {
		if err := ctx.Err(); err != nil {
			if len(x.applied) == 0 {
				return fmt.Errorf("cancelled before phase %q (nothing written): %w", ph.Name, err)
			}
			cerr := fmt.Errorf("cancelled before phase %q (phases %s are applied): %w", ph.Name, strings.Join(x.applied, ", "), err)
			return x.note(&WriteError{Phase: ph.Name, Step: "start", Outcome: x.readBack(ctx), Seen: x.regs, Err: cerr})
		}
		if ph.Direct {
			err = x.direct(ctx, ph)
		} else {
			err = x.program(ctx, ph)
		}
		if err != nil {
			return err
		}
		x.applied = append(x.applied, ph.Name)
		x.step()
	}

	// The last phase is done: what follows only reads, and is finished
	// whatever ctx says.
	fctx, cancel := x.finishCtx(ctx)
	defer cancel()
	x.event("verify", "reading the option bytes back")
	if !x.res.DebugClosed {
		var after *Snapshot
		_, err := x.recovering(fctx, func(t Target) (map[string]uint32, error) {
			s, err := ReadSnapshot(fctx, t, x.l)
			after = s
			return nil, err
		})
		if err != nil {
			return x.startedError(x.p.Phases[len(x.p.Phases)-1], "read back", err)
		}
		x.res.After = after
		if err := x.verifyAll(after); err != nil {
			return err
		}
		x.res.Verified = true
	}
	x.step()
	return nil
}

// finishCtx is the context of the work that must end whatever the
// caller's ctx says (finishing a started change, undoing a staged one),
// bounded by RecoverTimeout.
func (x *executor) finishCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), x.o.RecoverTimeout)
}

// finish records how the run ended: the audit line first, then the journal
// is removed when the chip is known to hold the plan's values or exactly
// what it held before; otherwise it stays. A failure to record is returned.
func (x *executor) finish(runErr error) error {
	var after map[string]uint32
	if x.res.After != nil {
		after = x.res.After.Cur
	} else if x.started || len(x.applied) > 0 {
		after = curOf(x.regs)
	}
	result := "ok"
	switch {
	case runErr == nil:
		x.outcome = statefile.OutcomeApplied
	case errors.Is(runErr, context.Canceled) || errors.Is(runErr, context.DeadlineExceeded):
		result = "cancelled"
	default:
		result = "failed"
	}
	if runErr != nil && x.outcome == "" {
		if x.started || len(x.applied) > 0 {
			x.outcome = statefile.OutcomeUnknown
		} else {
			x.outcome = statefile.OutcomeNotApplied // nothing was written
		}
	}
	clean := runErr == nil || (!x.started && len(x.applied) == 0 && (x.outcome == statefile.OutcomeUndone || x.outcome == statefile.OutcomeNotApplied))
	x.res.Outcome, x.res.Registers = x.outcome, x.regs
	if !clean {
		x.res.Journal = x.jpath
	}
	if aerr := x.auditWith(result, runErr, after); aerr != nil {
		rec := &RecordError{Kind: guarded.OptionBytes, What: "audit log", Applied: runErr == nil, Err: aerr}
		if x.jr != nil {
			// Keep the journal, saying how the write ended.
			x.jr.State = x.outcome
			x.jr.Failure = strings.TrimPrefix(x.jr.Failure+"; ", "; ") + "the audit line could not be written: " + aerr.Error()
			if _, jerr := x.saveJournal(); jerr != nil {
				rec.Err = errors.Join(aerr, jerr)
			} else {
				rec.Journal, x.res.Journal = x.jpath, x.jpath
			}
		}
		return errors.Join(runErr, rec)
	}
	x.res.Audited = true
	if clean && x.jpath != "" {
		if err := statefile.RemoveDurable(x.jpath); err != nil {
			x.res.Journal = x.jpath
			return errors.Join(runErr, &RecordError{Kind: guarded.OptionBytes, What: "pending-write journal (removal)", Applied: runErr == nil, Journal: x.jpath, Err: err})
		}
	}
	if runErr == nil {
		x.event("done", "option bytes applied")
	}
	return runErr
}

// record writes the journal of the current phase with the given state.
func (x *executor) record(ph Phase, state string, want map[string]uint32) error {
	if x.jr == nil {
		x.jr = &statefile.Journal{
			Time: x.o.Now().UTC(), ChipUID: x.p.UID, Line: x.l.LineName, ProbeSerial: x.o.ProbeSerial,
			Changes: changeList(x.p), Before: x.p.Before.Cur, Backup: x.backup, PID: os.Getpid(),
		}
	}
	x.jr.Phase, x.jr.State, x.jr.Applied = ph.Name, state, append([]string(nil), x.applied...)
	if want != nil {
		x.jr.Want = want
	}
	_, err := x.saveJournal()
	return err
}

// saveJournal writes x.jr.
func (x *executor) saveJournal() (string, error) {
	x.jr.Updated = x.o.Now().UTC()
	path, err := statefile.WriteChipJournal(x.o.StateDir, x.jr)
	if err == nil {
		x.jpath = path
	}
	return path, err
}

// note records a failure in the journal. A journal that cannot be written
// is joined to the error the caller returns.
func (x *executor) note(we *WriteError) error {
	changed := x.started || len(x.applied) > 0
	switch {
	case we.Staged && !we.Undone:
		x.outcome = statefile.OutcomeNotUndone
	case we.Outcome != "":
		x.outcome = we.Outcome
	case changed && curOf(we.Seen) != nil:
		x.outcome = outcomeOf(x.planWant(), x.p.Before.Cur, we.Seen)
	case changed:
		x.outcome = statefile.OutcomeUnknown
	case we.Staged:
		x.outcome = statefile.OutcomeUndone
	default:
		x.outcome = statefile.OutcomeNotApplied
	}
	we.Outcome = x.outcome
	if len(we.Seen) > 0 {
		x.regs = we.Seen
	}
	if x.jr == nil {
		return we
	}
	x.jr.State = x.outcome
	x.jr.Failure = fmt.Sprintf("step %s: %v", we.Step, we.Err)
	if we.UndoErr != nil {
		x.jr.Failure += fmt.Sprintf("; undo failed: %v", we.UndoErr)
	}
	x.jr.Seen = we.Seen
	if _, err := x.saveJournal(); err != nil {
		return errors.Join(we, &RecordError{Kind: guarded.OptionBytes, What: "pending-write journal", Err: err})
	}
	return we
}

// verifyAll compares every register with the plan's expected values.
func (x *executor) verifyAll(after *Snapshot) error {
	seen := map[string]uint32{}
	bad := false
	for _, r := range x.l.Registers {
		want := x.p.After[r.Name]
		if r.Direct {
			// Plain registers are lost at reset; only check them when no
			// phase reset the chip.
			if x.resets() {
				continue
			}
		}
		if got := after.Cur[r.Name]; got != want {
			seen[r.Name+"_CUR"] = got
			seen[r.Name+"_WANT"] = want
			bad = true
		}
	}
	if bad {
		ph := x.p.Phases[len(x.p.Phases)-1]
		return x.note(&WriteError{Phase: ph.Name, Step: "compare", Started: true, Outcome: (&statefile.Journal{Want: x.planWant(), Before: x.p.Before.Cur}).Outcome(after.Cur), Seen: seen, Err: ErrVerify})
	}
	return nil
}

func (x *executor) resets() bool {
	for _, ph := range x.p.Phases {
		if ph.Resets {
			return true
		}
	}
	return false
}

// direct writes plain registers (PRIVCFGR) at once.
func (x *executor) direct(ctx context.Context, ph Phase) error {
	want := map[string]uint32{}
	for _, w := range ph.Writes {
		want[w.Register] = x.p.After[w.Register]
	}
	if err := x.record(ph, statefile.OutcomeStarted, want); err != nil {
		return &WriteError{Phase: ph.Name, Step: "journal", Layer: "file", Err: err}
	}
	for _, w := range ph.Writes {
		r, _ := x.l.Register(w.Register)
		if err := ctx.Err(); err != nil {
			return x.note(&WriteError{Phase: ph.Name, Step: "write " + r.Name, Started: x.started, Err: fmt.Errorf("cancelled: %w", err)})
		}
		cur, err := x.read(ctx, r.Cur)
		if err != nil {
			if !x.started {
				return x.note(&WriteError{Phase: ph.Name, Step: "read " + r.Name, Err: err})
			}
			return x.startedError(ph, "read "+r.Name, err)
		}
		v := cur&^w.Mask | w.Value
		x.event("program", "%s ← 0x%08X", r.Name, v)
		x.started = true
		// One write is finished whatever ctx says.
		fctx, cancel := x.finishCtx(ctx)
		err = x.write(fctx, r.Cur, v)
		if err == nil {
			var got uint32
			got, err = x.read(fctx, r.Cur)
			if err == nil && got&w.Mask != w.Value {
				err = fmt.Errorf("%w: %s reads 0x%08X after writing 0x%08X", ErrVerify, r.Name, got, v)
			}
		}
		cancel()
		if err != nil {
			return x.startedError(ph, "write "+r.Name, err)
		}
	}
	return nil
}

// program runs the option-byte programming sequence for one phase: the
// FLASH_OPTKEYR keys, OPTCR, the NSSR flags and NSCCR of the security
// reference §2.2, §2.3, §2.6 and §2.8 (their offsets and bits in targets).
func (x *executor) program(ctx context.Context, ph Phase) error {
	if err := x.record(ph, statefile.OutcomeStaging, nil); err != nil {
		return &WriteError{Phase: ph.Name, Step: "journal", Layer: "file", Err: err}
	}
	staged := false
	fail := func(step string, err error) error {
		we := &WriteError{Phase: ph.Name, Step: step, Err: err}
		switch {
		case staged:
			x.undo(ctx, ph, we)
		case len(x.applied) > 0:
			// Nothing staged by this phase, but earlier ones changed the
			// chip: read it back for the records.
			x.undo(ctx, ph, we)
			we.Staged, we.Undone, we.UndoErr = false, false, nil
		default:
			we.Seen = x.seen(ctx, ph)
		}
		return x.note(we)
	}
	// 1. Not busy.
	x.event("wait", "waiting for the flash to be idle")
	sr, err := x.poll(ctx, targets.NSSRBusy|targets.NSSRWriteBuf|targets.NSSRDataBuf)
	if err != nil {
		return fail("wait idle", err)
	}
	if sr&targets.NSSRErrors != 0 {
		x.event("wait", "clearing stale error flags NSSR=0x%08X", sr)
		if err := x.write(ctx, targets.FlashNSCCR, sr&targets.NSSRErrors); err != nil {
			return fail("clear stale flags", err)
		}
	}
	// 2. Unlock.
	optcr, err := x.read(ctx, targets.FlashOPTCR)
	if err != nil {
		return fail("read OPTCR", err)
	}
	if err := ctx.Err(); err != nil {
		return fail("unlock", fmt.Errorf("cancelled: %w", err))
	}
	// From the first key on, OPTCR may be unlocked: any failure undoes.
	staged = true
	if optcr&targets.OPTCROptLock != 0 {
		x.event("unlock", "writing the OPTKEYR keys")
		if err := x.write(ctx, targets.FlashOPTKEYR, targets.OptKey1); err != nil {
			return fail("unlock", err)
		}
		if err := x.write(ctx, targets.FlashOPTKEYR, targets.OptKey2); err != nil {
			return fail("unlock", err)
		}
		if optcr, err = x.read(ctx, targets.FlashOPTCR); err != nil {
			return fail("read OPTCR", err)
		}
		if optcr&targets.OPTCROptLock != 0 {
			return fail("unlock", errors.New("OPTLOCK still reads 1 after the keys; OPTKEYR stays locked until the next reset (a wrong key was written earlier): reset the chip and retry"))
		}
	}
	// 3. Read-modify-write every _PRG (unplanned ones back to _CUR, so that
	// OPTSTRT applies nothing else).
	writes := map[string]RegWrite{}
	for _, w := range ph.Writes {
		writes[w.Register] = w
	}
	want := map[string]uint32{}
	for _, r := range x.l.Registers {
		if r.Direct {
			continue
		}
		if err := ctx.Err(); err != nil {
			return fail("program _PRG", fmt.Errorf("cancelled: %w", err))
		}
		cur, err := x.read(ctx, r.Cur)
		if err != nil {
			return fail("read "+r.Name+"_CUR", err)
		}
		prg, err := x.read(ctx, r.Prg)
		if err != nil {
			return fail("read "+r.Name+"_PRG", err)
		}
		v := cur
		if w, ok := writes[r.Name]; ok {
			v = cur&^w.Mask | w.Value
			want[r.Name] = v
		}
		if prg == v {
			continue
		}
		x.event("program", "%s_PRG ← 0x%08X (CUR 0x%08X)", r.Name, v, cur)
		if err := x.write(ctx, r.Prg, v); err != nil {
			return fail("write "+r.Name+"_PRG", err)
		}
		got, err := x.read(ctx, r.Prg)
		if err != nil {
			return fail("read back "+r.Name+"_PRG", err)
		}
		if got != v {
			return fail("read back "+r.Name+"_PRG", fmt.Errorf("%s_PRG reads 0x%08X after writing 0x%08X", r.Name, got, v))
		}
	}
	if err := ctx.Err(); err != nil {
		return fail("before OPTSTRT", fmt.Errorf("cancelled: %w", err))
	}
	// 4. Journal, then OPTSTRT.
	if err := x.record(ph, statefile.OutcomeStarted, want); err != nil {
		we := &WriteError{Phase: ph.Name, Step: "journal", Layer: "file", Staged: true, Err: err}
		x.undo(ctx, ph, we)
		x.outcome = statefile.OutcomeNotUndone
		if we.Undone {
			x.outcome = statefile.OutcomeUndone
		}
		x.regs = we.Seen
		return we
	}
	// From OPTSTRT on, the step is finished whatever ctx says.
	fctx, cancel := x.finishCtx(ctx)
	defer cancel()
	x.event("start", "setting OPTSTRT")
	x.started = true
	if err := x.write(fctx, targets.FlashOPTCR, optcr|targets.OPTCROptStart); err != nil {
		if ph.Resets {
			x.event("start", "link dropped at OPTSTRT: %v", err)
			return x.afterReset(fctx, ph, want)
		}
		return x.startedError(ph, "OPTSTRT", err)
	}
	// 5. Poll BSY.
	x.event("wait", "waiting for the option change")
	sr, err = x.poll(fctx, targets.NSSRBusy)
	if err != nil {
		if ph.Resets {
			x.event("wait", "link dropped while the chip applies the change: %v", err)
			return x.afterReset(fctx, ph, want)
		}
		return x.startedError(ph, "wait BSY", err)
	}
	// 6. Errors: the chip kept _CUR; take the refused values out of _PRG.
	if sr&(targets.NSSROptChangeErr|targets.NSSRPGSErr|targets.NSSRWRPErr) != 0 {
		we := &WriteError{Phase: ph.Name, Step: "check NSSR", Started: true, Err: fmt.Errorf("%w: NSSR=0x%08X (%s)", ErrOptionChangeRefused, sr, nssrText(sr)), Seen: x.seen(fctx, ph)}
		_ = x.write(fctx, targets.FlashNSCCR, sr&targets.NSSRErrors)
		regs, derr := x.recovering(fctx, func(t Target) (map[string]uint32, error) { return Disarm(fctx, t, x.l, x.planRegs()...) })
		we.Outcome = outcomeOf(x.planWant(), x.p.Before.Cur, regs)
		if derr != nil {
			we.UndoErr, we.Outcome = derr, statefile.OutcomeUnknown
		}
		return x.note(we)
	}
	// 7. Lock.
	if err := x.relock(fctx); err != nil && !ph.Resets {
		return x.startedError(ph, "OPTLOCK", err)
	}
	if ph.Resets {
		return x.afterReset(fctx, ph, want)
	}
	return x.verifyPhase(fctx, ph, want)
}

// undo restores the staged _PRG values and sets OPTLOCK again after a
// failure before OPTSTRT, over a fresh handle when the first one died, and
// fills we with what it found.
func (x *executor) undo(ctx context.Context, ph Phase, we *WriteError) {
	uctx, cancel := x.finishCtx(ctx)
	defer cancel()
	x.event("undo", "restoring _PRG from _CUR and setting OPTLOCK")
	we.Staged = true
	regs, err := x.recovering(uctx, func(t Target) (map[string]uint32, error) {
		return Disarm(uctx, t, x.l, x.planRegs()...)
	})
	we.Seen = regs
	if err != nil {
		we.UndoErr = err
		if len(regs) == 0 {
			we.Seen = x.seen(uctx, ph)
		}
		x.event("undo", "FAILED: %v", err)
		return
	}
	we.Undone = true
	x.event("undo", "done: nothing staged, OPTLOCK set")
}

// startedError handles a failure after OPTSTRT: it waits for a running
// change, takes any value left in _PRG out and sets OPTLOCK, over a fresh
// handle when needed, reads the chip back and records what it holds.
func (x *executor) startedError(ph Phase, step string, cause error) error {
	fctx, cancel := x.finishCtx(context.Background())
	defer cancel()
	we := &WriteError{Phase: ph.Name, Step: step, Started: true, Err: cause}
	regs, err := x.recovering(fctx, func(t Target) (map[string]uint32, error) {
		if _, err := pollIdle(fctx, t, x.o.MaxPolls); err != nil {
			return nil, err
		}
		return Disarm(fctx, t, x.l, x.planRegs()...)
	})
	we.Seen = regs
	if err != nil {
		we.UndoErr = err
		we.Outcome = statefile.OutcomeUnknown
		if len(regs) == 0 {
			we.Seen = x.seen(fctx, ph)
		}
	} else {
		if phaseDone(x.l, ph, regs) && !errors.Is(cause, ErrVerify) {
			// The step finished after all: the change is in _CUR, nothing
			// is staged and OPTLOCK is set.
			x.res.Notes = append(x.res.Notes, fmt.Sprintf("phase %q: step %s failed (%v); the chip was read back over a working link: the change is applied and OPTLOCK set", ph.Name, step, cause))
			x.event("verify", "step %s failed, but the change reads back applied", step)
			x.regs = regs
			return nil
		}
		we.Outcome = outcomeOf(x.planWant(), x.p.Before.Cur, regs)
	}
	return x.note(we)
}

// readBack reads what the plan's registers hold (making sure nothing is
// staged), over a fresh handle when needed, and returns the outcome.
func (x *executor) readBack(ctx context.Context) string {
	fctx, cancel := x.finishCtx(ctx)
	defer cancel()
	regs, err := x.recovering(fctx, func(t Target) (map[string]uint32, error) {
		return Disarm(fctx, t, x.l, x.planRegs()...)
	})
	x.regs = regs
	if err != nil {
		return statefile.OutcomeUnknown
	}
	return outcomeOf(x.planWant(), x.p.Before.Cur, regs)
}

// phaseDone reports whether every value the phase writes is in the _CUR
// values of regs.
func phaseDone(l *Layout, ph Phase, regs map[string]uint32) bool {
	for _, w := range ph.Writes {
		r, _ := l.Register(w.Register)
		cur, ok := regs[r.Name+"_CUR"]
		if !ok || cur&w.Mask != w.Value {
			return false
		}
	}
	return len(ph.Writes) > 0
}

// outcomeOf compares the _CUR values in regs with want.
func outcomeOf(want, before, regs map[string]uint32) string {
	j := &statefile.Journal{Want: want, Before: before}
	return j.Outcome(curOf(regs))
}

// recovering runs fn on the current handle, and when it fails on fresh
// ones from Reopen (twice at most).
func (x *executor) recovering(ctx context.Context, fn func(Target) (map[string]uint32, error)) (map[string]uint32, error) {
	regs, err := fn(x.t)
	for i := 0; err != nil && x.o.Reopen != nil && i < 2 && ctx.Err() == nil; i++ {
		x.event("reopen", "opening the probe again: %v", err)
		t, rerr := x.o.Reopen(ctx)
		if t == nil || (rerr != nil && !errors.Is(rerr, ErrCoreAPClosed)) {
			err = fmt.Errorf("%w; opening the probe again: %v", err, rerr)
			continue
		}
		x.t, x.reopened = t, true
		regs, err = fn(t)
		if rerr != nil && err != nil {
			err = fmt.Errorf("%w (%v)", err, rerr)
		}
	}
	return regs, err
}

// afterReset reconnects after a resetting phase and verifies it.
func (x *executor) afterReset(ctx context.Context, ph Phase, want map[string]uint32) error {
	x.event("reconnect", "the chip resets; reconnecting (Hot Plug, AP1)")
	var err error
	if x.o.Reconnect != nil && !x.reopened {
		err = x.o.Reconnect(ctx)
	} else {
		err = errors.New("no Reconnect hook for the handle in use")
	}
	if err != nil && !errors.Is(err, ErrCoreAPClosed) && x.o.Reopen != nil {
		t, rerr := x.o.Reopen(ctx)
		if t != nil {
			x.t, x.reopened, err = t, true, rerr
		} else {
			err = fmt.Errorf("%w; opening the probe again: %v", err, rerr)
		}
	}
	switch {
	case err == nil:
	case errors.Is(err, ErrCoreAPClosed) && ph.MayCloseDebug:
		sr, rerr := x.t.Read32(ctx, 0, dbgmcuSRAP0)
		if rerr != nil {
			return x.note(&WriteError{Phase: ph.Name, Step: "reconnect", Started: true, Outcome: statefile.OutcomeUnknown, Err: fmt.Errorf("AP1 closed and DBGMCU_SR unreadable through AP0: %w", errors.Join(err, rerr))})
		}
		if sr&srAP1Enabled != 0 {
			return x.note(&WriteError{Phase: ph.Name, Step: "reconnect", Started: true, Outcome: statefile.OutcomeUnknown, Err: fmt.Errorf("AP1 does not answer although DBGMCU_SR=0x%08X says it is enabled: %w", sr, err)})
		}
		x.res.DebugClosed = true
		x.res.Notes = append(x.res.Notes, fmt.Sprintf("AP1 is closed after the change, as the new product state intends; DBGMCU_SR=0x%08X through AP0 confirms it. _CUR cannot be read back any more.", sr))
		x.event("verify", "AP1 closed as expected (DBGMCU_SR=0x%08X)", sr)
		return nil
	default:
		return x.startedError(ph, "reconnect", err)
	}
	// The link may have dropped for another reason than the reset: let a
	// change still running end before reading _CUR.
	if _, err := pollIdle(ctx, x.t, x.o.MaxPolls); err != nil {
		return x.startedError(ph, "wait BSY after reconnect", err)
	}
	return x.verifyPhase(ctx, ph, want)
}

// verifyPhase checks that each written register's _CUR holds what was asked.
func (x *executor) verifyPhase(ctx context.Context, ph Phase, want map[string]uint32) error {
	x.event("verify", "checking _CUR")
	for _, w := range ph.Writes {
		r, _ := x.l.Register(w.Register)
		got, err := x.read(ctx, r.Cur)
		if err != nil {
			return x.startedError(ph, "verify "+r.Name, err)
		}
		if got&w.Mask != w.Value {
			return x.startedError(ph, "verify "+r.Name, fmt.Errorf("%w: %s_CUR=0x%08X, wanted 0x%08X under mask 0x%08X", ErrVerify, r.Name, got, want[r.Name], w.Mask))
		}
	}
	return nil
}

// poll reads NSSR until none of bits is set, within MaxPolls and the ctx.
func (x *executor) poll(ctx context.Context, bits uint32) (uint32, error) {
	return pollNSSR(ctx, x.t, bits, x.o.MaxPolls)
}

// pollIdle waits until no flash operation runs.
func pollIdle(ctx context.Context, t Target, maxPolls int) (uint32, error) {
	return pollNSSR(ctx, t, targets.NSSRBusy|targets.NSSRWriteBuf|targets.NSSRDataBuf, maxPolls)
}

func pollNSSR(ctx context.Context, t Target, bits uint32, maxPolls int) (uint32, error) {
	for i := 0; i < maxPolls; i++ {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("cancelled while polling NSSR: %w", err)
		}
		sr, err := t.Read32(ctx, CoreAP, FlashBase+targets.FlashNSSR)
		if err != nil {
			return 0, fmt.Errorf("reading NSSR: %w", err)
		}
		if sr&bits == 0 {
			return sr, nil
		}
	}
	return 0, fmt.Errorf("NSSR still busy after %d reads", maxPolls)
}

// relock sets OPTCR.OPTLOCK.
func (x *executor) relock(ctx context.Context) error {
	optcr, err := x.read(ctx, targets.FlashOPTCR)
	if err != nil {
		return fmt.Errorf("reading OPTCR to relock: %w", err)
	}
	if err := x.write(ctx, targets.FlashOPTCR, optcr&^targets.OPTCROptStart|targets.OPTCROptLock); err != nil {
		return fmt.Errorf("setting OPTLOCK: %w", err)
	}
	return nil
}

// Disarm makes sure no option-byte change is staged on the chip: every
// _PRG that differs from its _CUR is set back to _CUR (unlocking OPTCR with
// the keys when needed), OPTLOCK is set, and all of it is read back. It
// returns the registers it read last: NSSR, OPTCR, and <REG>_CUR and
// <REG>_PRG of the registers that were staged or are named in also. It
// refuses while an option change runs (NSSR.BSY). Run it on a chip whose
// write was interrupted before OPTSTRT (the journal says "staging" or
// "staged and NOT undone").
func Disarm(ctx context.Context, t Target, l *Layout, also ...string) (map[string]uint32, error) {
	regs := map[string]uint32{}
	rd := func(off uint32) (uint32, error) { return t.Read32(ctx, CoreAP, FlashBase+off) }
	wr := func(off, v uint32) error { return t.Write32(ctx, CoreAP, FlashBase+off, v) }
	sr, err := rd(targets.FlashNSSR)
	if err != nil {
		return regs, fmt.Errorf("reading NSSR: %w", err)
	}
	regs["NSSR"] = sr
	if sr&targets.NSSRBusy != 0 {
		return regs, fmt.Errorf("an option change is running (NSSR=0x%08X); wait for it and try again", sr)
	}
	named := map[string]bool{}
	for _, n := range also {
		named[n] = true
	}
	type pair struct {
		r        Register
		cur, prg uint32
	}
	var staged []pair
	readAll := func() ([]pair, error) {
		var out []pair
		for _, r := range l.Registers {
			if r.Direct {
				if named[r.Name] {
					cur, err := rd(r.Cur)
					if err != nil {
						return out, fmt.Errorf("reading %s: %w", r.Name, err)
					}
					regs[r.Name+"_CUR"] = cur
				}
				continue
			}
			cur, err := rd(r.Cur)
			if err != nil {
				return out, fmt.Errorf("reading %s_CUR: %w", r.Name, err)
			}
			prg, err := rd(r.Prg)
			if err != nil {
				return out, fmt.Errorf("reading %s_PRG: %w", r.Name, err)
			}
			if prg != cur {
				out = append(out, pair{r, cur, prg})
			}
			if prg != cur || named[r.Name] {
				regs[r.Name+"_CUR"], regs[r.Name+"_PRG"] = cur, prg
			}
		}
		return out, nil
	}
	if staged, err = readAll(); err != nil {
		return regs, err
	}
	optcr, err := rd(targets.FlashOPTCR)
	if err != nil {
		return regs, fmt.Errorf("reading OPTCR: %w", err)
	}
	regs["OPTCR"] = optcr
	if len(staged) > 0 {
		if optcr&targets.OPTCROptLock != 0 {
			if err := wr(targets.FlashOPTKEYR, targets.OptKey1); err != nil {
				return regs, fmt.Errorf("unlocking OPTCR: %w", err)
			}
			if err := wr(targets.FlashOPTKEYR, targets.OptKey2); err != nil {
				return regs, fmt.Errorf("unlocking OPTCR: %w", err)
			}
			if optcr, err = rd(targets.FlashOPTCR); err != nil {
				return regs, fmt.Errorf("reading OPTCR: %w", err)
			}
			regs["OPTCR"] = optcr
			if optcr&targets.OPTCROptLock != 0 {
				return regs, errors.New("OPTLOCK stays set after the keys (a wrong key locked OPTKEYR until the next reset), so the staged _PRG values cannot be written back; a reset reloads them")
			}
		}
		for _, s := range staged {
			if err := wr(s.r.Prg, s.cur); err != nil {
				return regs, fmt.Errorf("restoring %s_PRG: %w", s.r.Name, err)
			}
		}
	}
	if optcr&targets.OPTCROptLock == 0 {
		if err := wr(targets.FlashOPTCR, optcr&^targets.OPTCROptStart|targets.OPTCROptLock); err != nil {
			return regs, fmt.Errorf("setting OPTLOCK: %w", err)
		}
	}
	// Read everything back, recording the registers that were staged.
	for _, s := range staged {
		named[s.r.Name] = true
	}
	left, err := readAll()
	if err != nil {
		return regs, err
	}
	if optcr, err = rd(targets.FlashOPTCR); err != nil {
		return regs, fmt.Errorf("reading OPTCR back: %w", err)
	}
	regs["OPTCR"] = optcr
	switch {
	case len(left) > 0:
		names := make([]string, 0, len(left))
		for _, s := range left {
			names = append(names, s.r.Name)
		}
		return regs, fmt.Errorf("_PRG still differs from _CUR after the restore: %s", strings.Join(names, ", "))
	case optcr&targets.OPTCROptLock == 0:
		return regs, fmt.Errorf("OPTLOCK reads 0 after setting it (OPTCR=0x%08X)", optcr)
	}
	return regs, nil
}

// planWant is the _CUR value the plan gives every register it changes
// (plain registers only when no phase resets the chip: a reset loses them).
func (x *executor) planWant() map[string]uint32 {
	out := map[string]uint32{}
	for _, r := range x.l.Registers {
		if r.Direct && x.resets() {
			continue
		}
		if a, ok := x.p.After[r.Name]; ok && a != x.p.Before.Cur[r.Name] {
			out[r.Name] = a
		}
	}
	return out
}

// planRegs names the registers the plan changes.
func (x *executor) planRegs() []string {
	var out []string
	for name := range x.planWant() {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// seen reads the registers worth reporting after a failure, best effort,
// within a short bound.
func (x *executor) seen(ctx context.Context, ph Phase) map[string]uint32 {
	ctx, cancel := x.finishCtx(ctx)
	defer cancel()
	out := map[string]uint32{}
	if v, err := x.read(ctx, targets.FlashNSSR); err == nil {
		out["NSSR"] = v
	} else {
		return out // the handle does not answer: do not insist
	}
	if v, err := x.read(ctx, targets.FlashOPTCR); err == nil {
		out["OPTCR"] = v
	}
	for _, w := range ph.Writes {
		r, _ := x.l.Register(w.Register)
		if v, err := x.read(ctx, r.Cur); err == nil {
			out[r.Name+"_CUR"] = v
		}
		if !r.Direct {
			if v, err := x.read(ctx, r.Prg); err == nil {
				out[r.Name+"_PRG"] = v
			}
		}
	}
	return out
}

// audit appends this run's outcome to the audit log.
func (x *executor) audit(result string, err error) error {
	return x.auditWith(result, err, nil)
}

func (x *executor) auditWith(result string, err error, after map[string]uint32) error {
	rec, aerr := guarded.Record(x.o.StateDir, guarded.Entry{
		Plan: x.p.Header(), User: x.o.User, ProbeSerial: x.o.ProbeSerial, Confirmed: x.confirmed,
		Result: result, Backup: x.backup, Before: x.p.Before.Cur, After: after,
		Holds: x.outcome, Registers: x.regs, Journal: x.res.Journal, Err: err, Time: x.o.Now(),
	})
	if aerr != nil {
		return aerr
	}
	x.res.Audit = rec
	return nil
}

// changeList renders a plan's changes as FIELD=0xVALUE.
func changeList(p *Plan) []string {
	var out []string
	for _, c := range p.Changes {
		out = append(out, fmt.Sprintf("%s=0x%X", c.Field, c.To.Raw))
	}
	return out
}

// curOf keeps the <REG>_CUR entries of a seen map, by register name.
func curOf(seen map[string]uint32) map[string]uint32 {
	out := map[string]uint32{}
	for k, v := range seen {
		if name, ok := strings.CutSuffix(k, "_CUR"); ok {
			out[name] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// nssrText names the error flags set in an NSSR value.
func nssrText(sr uint32) string {
	var out []string
	for _, f := range []struct {
		bit  uint32
		name string
	}{
		{targets.NSSRWRPErr, "WRPERR"}, {targets.NSSRPGSErr, "PGSERR"}, {1 << 19, "STRBERR"}, {1 << 20, "INCERR"},
		{1 << 21, "OBKERR"}, {1 << 22, "OBKWERR"}, {targets.NSSROptChangeErr, "OPTCHANGEERR"},
	} {
		if sr&f.bit != 0 {
			out = append(out, f.name)
		}
	}
	if len(out) == 0 {
		return "no error flag"
	}
	return strings.Join(out, ", ")
}
