package bench

import (
	"context"
	"errors"
	"strings"

	"github.com/stprobe/stprobe/obytes"
	"github.com/stprobe/stprobe/statefile"
)

// IsWriteJob reports whether a job of kind writes to the chip: an
// option-byte write or lock, a DA provisioning, regression or debug
// opening, a memory write. A session that quits while its own write runs
// is asked first, and its exit says how the write ended.
func IsWriteJob(kind string) bool {
	switch kind {
	case "ob apply", "ob lock", "mem write",
		"da " + string(DAProvision), "da " + string(DARegress), "da " + string(DAOpenDebug):
		return true
	}
	return false
}

// WriteOutcome says in a few words how a write job that returned err
// ended: "done", "cancelled: staged and undone (nothing was applied)",
// "failed: the change is APPLIED", "cancelled before anything was
// written". It reads the write's own report (the option-byte executor's
// WriteError) and never guesses beyond it: a write whose result is not
// known says so.
func WriteOutcome(err error) string {
	if err == nil {
		return "done"
	}
	verb := "failed"
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		verb = "cancelled"
	}
	var we *obytes.WriteError
	if !errors.As(err, &we) {
		var le *LeaseError
		if errors.As(err, &le) || errors.Is(err, ErrNotConfirmed) || errors.Is(err, ErrNeedsOverride) {
			return "refused: nothing was written"
		}
		if verb == "cancelled" {
			return "cancelled before any option byte was staged: nothing was written"
		}
		return verb + ": " + err.Error()
	}
	unchanged := we.Outcome == "" || we.Outcome == statefile.OutcomeNotApplied || we.Outcome == statefile.OutcomeUndone
	switch {
	case we.Started && we.Outcome != "" && we.Outcome != statefile.OutcomeUnknown:
		return verb + " after the programming had started: read back, the change is " + strings.ToUpper(we.Outcome)
	case we.Started:
		return verb + " after the programming had started: the result is NOT KNOWN; reconnect (Hot Plug, AP1) and read the option bytes"
	case we.Staged && we.Undone && unchanged:
		return verb + ": staged and undone (nothing was applied)"
	case we.Staged && we.Undone:
		return verb + ": this step staged and undone; earlier steps changed the chip: it is " + strings.ToUpper(we.Outcome)
	case we.Staged:
		return verb + ": THE CHANGE MAY STILL BE STAGED and could not be undone; reset the chip (NRST or power cycle)"
	case !unchanged:
		return verb + ": earlier steps changed the chip: it is " + strings.ToUpper(we.Outcome)
	}
	return verb + ": nothing was written"
}
