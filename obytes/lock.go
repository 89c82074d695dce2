package obytes

import (
	"context"
	"fmt"
	"time"

	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/statefile"
)

// ResultLocked is the audit result of a Lock that wrote to the chip.
const ResultLocked = "option registers locked"

// LockOptions are what Lock needs besides the chip: where the audit log
// goes and who asked.
type LockOptions struct {
	StateDir    string
	User        string
	ProbeSerial string
	// Now is the clock of the audit record (nil: time.Now).
	Now func() time.Time
}

// LockResult is what Lock found and did.
type LockResult struct {
	// WasUnlocked is true when OPTCR.OPTLOCK read 0 before the lock.
	WasUnlocked bool `json:"was_unlocked"`
	// Restored names the registers whose staged _PRG was set back to _CUR.
	Restored []string `json:"restored,omitempty"`
	// Wrote is true when anything was written (and audited).
	Wrote bool `json:"wrote"`
	// Registers are the FLASH registers read last (see Disarm).
	Registers map[string]uint32 `json:"registers,omitempty"`
	// After is the option bytes read back afterwards.
	After *Snapshot `json:"after,omitempty"`
	// Audit is the line the lock added to the audit log (nil when it
	// wrote nothing, or the line could not be written).
	Audit *statefile.AuditRecord `json:"-"`
}

// Lock leaves the option registers locked: a _PRG value staged by an
// interrupted write is set back to its _CUR (so that no later OPTSTRT
// applies it) and FLASH_OPTCR.OPTLOCK is set, all read back (Disarm). A
// chip already locked with nothing staged is left alone. A Lock that wrote
// appends one record to the audit log in o.StateDir, also when it failed.
func Lock(ctx context.Context, t Target, l *Layout, uid string, o LockOptions) (*LockResult, error) {
	if why := l.ApplyRefusal(); why != "" {
		return nil, fmt.Errorf("obytes: %s; nothing was locked", why)
	}
	if l.RDP != nil {
		return nil, fmt.Errorf("obytes: the %s keeps no staged option values to take back: its flash interface locks again at every reset, and stprobe ob apply locks it after each write; nothing was locked", l.Family)
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	before, err := ReadSnapshot(ctx, t, l)
	if err != nil {
		return nil, fmt.Errorf("reading the option bytes before locking: %w", err)
	}
	res := &LockResult{WasUnlocked: before.Unlocked, Restored: before.Staged(l)}
	if !res.WasUnlocked && len(res.Restored) == 0 {
		res.After = before
		return res, nil
	}
	res.Wrote = true
	regs, derr := Disarm(ctx, t, l)
	res.Registers = regs
	if derr == nil {
		if res.After, err = ReadSnapshot(ctx, t, l); err != nil {
			derr = fmt.Errorf("reading the option bytes back: %w", err)
		}
	}
	var after map[string]uint32
	if res.After != nil {
		after = res.After.Cur
	}
	result := ResultLocked
	if derr != nil {
		result = guarded.ResultFailed
	}
	var aerr error
	res.Audit, aerr = guarded.Record(o.StateDir, guarded.Entry{
		Plan: LockPlan(l, uid, res.Restored), User: o.User, ProbeSerial: o.ProbeSerial, Result: result,
		Before: before.Cur, After: after, Registers: regs, Err: derr, Time: now(),
	})
	if err := aerr; err != nil {
		if derr != nil {
			return res, fmt.Errorf("target: locking the option registers: %w; and the audit log: %v", derr, err)
		}
		return res, fmt.Errorf("the option registers are locked, but the audit log could not be written: %w", err)
	}
	if derr != nil {
		return res, fmt.Errorf("target: locking the option registers: %w (a reset, NRST or power cycle, also locks them and reloads _PRG from the option bytes)", derr)
	}
	return res, nil
}

// LockPlan is the plan of a lock of the chip uid whose registers restored
// hold a staged _PRG value: a safe write (it takes nothing the chip holds
// in _CUR away), confirmed by asking for it.
func LockPlan(l *Layout, uid string, restored []string) *guarded.Plan {
	changes := []string{"OPTCR.OPTLOCK=1"}
	for _, r := range restored {
		changes = append(changes, r+"_PRG=_CUR")
	}
	return &guarded.Plan{
		Kind: guarded.OptionBytes, Line: l.LineName, UID: uid, Changes: changes, Risk: guarded.Safe, Phrase: "lock",
		Reasons: []string{"sets the option registers' lock and takes back any staged value: what the chip holds in _CUR stays"},
		Steps:   []string{"read the option registers", "set staged _PRG values back to _CUR", "set OPTCR.OPTLOCK", "read back", "append to the audit log"},
	}
}
