package guarded

import (
	"fmt"
	"time"

	"github.com/stprobe/stprobe/statefile"
)

// Entry is what a guarded write leaves in the audit log: the plan, who
// wrote, how it ended and what was read before and after.
type Entry struct {
	Plan *Plan
	// User is the lease holder who wrote; ProbeSerial the probe.
	User, ProbeSerial string
	// Confirmed is true when the guard accepted the user's confirmation
	// (false for a write refused before it).
	Confirmed bool
	// Result is one of the Result… constants.
	Result string
	// Changes, when set, replace the plan's change lines (a write that
	// learned more while it ran: what the chip came back as).
	Changes []string
	// Backup is the backup written before the write ("" when none).
	Backup string
	// Before and After are the registers read before the write and back
	// after it (After nil when it could not be read).
	Before, After map[string]uint32
	// Holds is what the chip holds (statefile's Outcome… constants), Registers
	// the registers read last after a failure, Journal the pending-write
	// journal that stays.
	Holds     string
	Registers map[string]uint32
	Journal   string
	// Err is why the write failed.
	Err error
	// Time is when the write ended.
	Time time.Time
}

// Record appends e to the audit log in the state directory dir and
// returns the line written. A line that could not be written is an error:
// a write is never left unrecorded in silence.
func Record(dir string, e Entry) (*statefile.AuditRecord, error) {
	if e.Plan == nil {
		return nil, fmt.Errorf("guarded: recording a write without its plan")
	}
	changes := e.Changes
	if changes == nil {
		changes = e.Plan.Changes
	}
	rec := statefile.AuditRecord{
		Time: e.Time.UTC(), User: e.User, ProbeSerial: e.ProbeSerial, ChipUID: e.Plan.UID, Line: e.Plan.Line,
		Kind: string(e.Plan.Kind), Changes: changes, Risk: e.Plan.Risk.String(), Confirmed: e.Confirmed,
		Before: e.Before, After: e.After, Result: e.Result, Backup: e.Backup,
		Outcome: e.Holds, Registers: e.Registers, Journal: e.Journal,
	}
	if e.Err != nil {
		rec.Error = e.Err.Error()
	}
	if err := statefile.AppendAudit(dir, rec); err != nil {
		return nil, err
	}
	return &rec, nil
}
