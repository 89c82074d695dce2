package guarded

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stprobe/stprobe/statefile"
)

// Write is one guarded write as its kind builds it. Run calls its parts
// in order: Plan, the guard (Check), Backup, Execute, then Record.
type Write struct {
	// Plan plans the write on the chip as it is now. It returns the
	// common header; the kind keeps its own details. A plan the rules
	// refuse returns an error (and may return the plan with it).
	Plan func(ctx context.Context) (*Plan, error)
	// Before, when set, is what the chip held when the plan was made (its
	// registers), for the audit line of a write the guard refuses.
	Before func() map[string]uint32
	// Ready, when set, checks what the confirmed write needs besides the
	// confirmation (a state directory, a file to save to); an error
	// refuses the write before anything is written.
	Ready func(p *Plan) error
	// Backup saves what the write may lose, before it, and returns where
	// ("" when there was nothing to save); its error says what could not
	// be saved and that nothing was written. Nil when Execute backs up
	// itself (the option-byte executor does, under the chip's lock, after
	// it has read the chip again).
	Backup func(ctx context.Context, emit Emit) (string, error)
	// Execute does the write and reports what it did, also when it fails.
	// A nil Done with an error says the executor refused before it
	// touched the chip and recorded the refusal itself, if at all (the
	// option-byte executor, when another write holds the chip): Run then
	// records nothing.
	Execute func(ctx context.Context, emit Emit) (*Done, error)
}

// Done is what an executor did.
type Done struct {
	// End is how far the write got on the chip.
	End End
	// Result, when set, is the audit result the executor chose ("refused"
	// when the chip refused and is unchanged); otherwise Result(err).
	Result string
	// Changes, when set, replace the plan's change lines in the audit
	// line (what the chip came back as, the file the flash was saved to).
	Changes []string
	// Before and After are the registers read before and back after.
	Before, After map[string]uint32
	// Backup is the backup the executor wrote itself ("" when Run's
	// Backup step did, or none was written).
	Backup string
	// Registers are the registers read last after a failure; Journal the
	// pending-write journal that stays.
	Registers map[string]uint32
	Journal   string
	// Recorded is set by an executor that writes its own audit line (the
	// option-byte executor records before it removes its journal, and
	// keeps the journal when the line cannot be written); Run then writes
	// none. Audit is that line (nil when it could not be written: the
	// executor's error says so).
	Recorded bool
	Audit    *statefile.AuditRecord
}

// Recorder says where and for whom a write is recorded.
type Recorder struct {
	// Dir is the state directory (backups, journals, the audit log).
	Dir string
	// User is the lease holder; ProbeSerial the probe.
	User, ProbeSerial string
	// Now stamps the audit line (default time.Now).
	Now func() time.Time
}

// Outcome is a guarded write carried out (or refused): its plan, what the
// executor did, the backup and the audit line.
type Outcome struct {
	Plan   *Plan
	Done   *Done
	Backup string
	// Audit is the line the write added to the audit log (nil when none
	// could be written: the error says why).
	Audit *statefile.AuditRecord
}

// Run carries out w: it plans, checks the confirmation c against the plan
// (a refusal is recorded and nothing is written), backs up, executes and
// records the outcome in the audit log. Every step is sent to emit. The
// error is the plan's, the guard's, the backup's or the execution's,
// joined with a failure to record.
func Run(ctx context.Context, w Write, c Confirmation, r Recorder, emit Emit) (*Outcome, error) {
	if r.Now == nil {
		r.Now = time.Now
	}
	out := &Outcome{}
	p, err := w.Plan(ctx)
	out.Plan = p
	if err != nil {
		return out, err
	}
	if p == nil {
		return out, errors.New("guarded: the write's planner returned no plan")
	}
	if err := Check(p, c); err != nil {
		var before map[string]uint32
		if w.Before != nil {
			before = w.Before()
		}
		return out, r.refused(out, before, err)
	}
	if w.Ready != nil {
		if err := w.Ready(p); err != nil {
			return out, err
		}
	}
	if w.Backup != nil {
		if out.Backup, err = w.Backup(ctx, emit); err != nil {
			return out, err // the backup's error says what was not saved; nothing was written
		}
	}
	d, err := w.Execute(ctx, emit)
	if d == nil {
		if err == nil {
			err = errors.New("guarded: the executor reported nothing")
		}
		return out, err
	}
	out.Done = d
	if d.Backup != "" {
		out.Backup = d.Backup
	}
	if d.Recorded || d.Audit != nil {
		out.Audit = d.Audit
		return out, err
	}
	result := d.Result
	if result == "" {
		result = Result(err)
	}
	rec, aerr := Record(r.Dir, Entry{
		Plan: p, User: r.User, ProbeSerial: r.ProbeSerial, Confirmed: true, Result: result,
		Changes: d.Changes, Backup: out.Backup, Before: d.Before, After: d.After,
		Holds: d.End.Holds, Registers: d.Registers, Journal: d.Journal, Err: err, Time: r.Now(),
	})
	if aerr != nil {
		return out, errors.Join(err, &RecordError{What: "audit log", Kind: p.Kind, Applied: err == nil, Err: aerr})
	}
	out.Audit = rec
	emit.Send(Event{Step: "audit", Message: fmt.Sprintf("recorded in the audit log: %s, %s", auditWhat(p, d), result)})
	return out, err
}

// refused records a write the guard refused, and returns why.
func (r Recorder) refused(out *Outcome, before map[string]uint32, why error) error {
	if r.Dir == "" {
		return why
	}
	rec, err := Record(r.Dir, Entry{Plan: out.Plan, User: r.User, ProbeSerial: r.ProbeSerial, Result: ResultRefused, Before: before, Err: why, Time: r.Now()})
	if err != nil {
		return errors.Join(why, &RecordError{What: "audit log", Kind: out.Plan.Kind, Err: err})
	}
	out.Audit = rec
	return why
}

// auditWhat is the first line of what was written, for the audit event.
func auditWhat(p *Plan, d *Done) string {
	switch {
	case len(d.Changes) > 0:
		return d.Changes[0]
	case len(p.Changes) > 0:
		return p.Changes[0]
	}
	return string(p.Kind)
}

// RecordError is a failure to record a write: the journal or the audit log
// could not be written. The chip may have been changed all the same
// (Applied).
type RecordError struct {
	// What names the record ("audit log", "pending-write journal").
	What string
	// Kind is the write's kind ("" when unknown).
	Kind Kind
	// Applied is true when the write was done and verified.
	Applied bool
	// Journal is the journal that stays and records the write ("" if none).
	Journal string
	Err     error
}

// Error says what could not be recorded and what the chip holds.
func (e *RecordError) Error() string {
	s := fmt.Sprintf("file: the %s could not be written: %v", e.What, e.Err)
	switch {
	case e.Applied && e.Kind == OptionBytes:
		s += "; the option bytes WERE applied and verified"
	case e.Applied && e.Kind != "":
		s += "; the " + string(e.Kind) + " write WAS applied and verified"
	case e.Applied:
		s += "; the write WAS applied and verified"
	}
	if e.Journal != "" {
		s += fmt.Sprintf("; the journal %s records the write: fix the disk, then clear it with `stprobe ob journal --clear` (that writes its audit line)", e.Journal)
	}
	return s
}

// Unwrap returns the cause.
func (e *RecordError) Unwrap() error { return e.Err }
