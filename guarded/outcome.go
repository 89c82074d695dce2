package guarded

import (
	"context"
	"errors"
	"strings"

	"github.com/stprobe/stprobe/statefile"
)

// The results an audit line records for a write.
const (
	// ResultOK: the write was done and verified.
	ResultOK = "ok"
	// ResultRefused: the plan, the guard or the chip refused the write
	// before it changed anything.
	ResultRefused = "refused"
	// ResultFailed: the write failed; End says what the chip holds.
	ResultFailed = "failed"
	// ResultCancelled: the user cancelled the write.
	ResultCancelled = "cancelled"
)

// End is how far a write got on the chip when it ended, as its executor
// knows it.
type End struct {
	// Started is true once the chip was told to apply the change (an
	// option-byte OPTSTRT, a DA request sent): it may hold new values.
	Started bool
	// Staged is true when the change was staged on the chip (registers
	// unlocked, values written but not applied) before it failed; Undone
	// when the staging was taken back and read back.
	Staged, Undone bool
	// Holds is what the chip was found to hold: one of statefile's
	// Outcome… constants ("" when it was not read).
	Holds string
}

// unchanged reports whether the chip is known to hold what it held before.
func (e End) unchanged() bool {
	return e.Holds == "" || e.Holds == statefile.OutcomeNotApplied || e.Holds == statefile.OutcomeUndone
}

// Result is the audit result of a write that returned err: ok, cancelled
// or failed (a refusal before any write is the caller's to say).
func Result(err error) string {
	switch {
	case err == nil:
		return ResultOK
	case Cancelled(err):
		return ResultCancelled
	}
	return ResultFailed
}

// Cancelled reports whether err is a cancellation or a deadline.
func Cancelled(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// Refused reports whether err is the guard's refusal: nothing was written.
func Refused(err error) bool {
	return errors.Is(err, ErrNotConfirmed) || errors.Is(err, ErrNeedsOverride)
}

// Summary says in a few words how a write that returned err ended, from
// what its executor knows (e): "done", "cancelled: staged and undone
// (nothing was applied)", "failed after the programming had started: read
// back, the change is PARTLY APPLIED". It never guesses beyond e: a write
// whose result is not known says so.
func Summary(err error, e End) string {
	if err == nil {
		return "done"
	}
	verb := "failed"
	if Cancelled(err) {
		verb = "cancelled"
	}
	switch {
	case e.Started && e.Holds != "" && e.Holds != statefile.OutcomeUnknown:
		return verb + " after the programming had started: read back, the change is " + strings.ToUpper(e.Holds)
	case e.Started:
		return verb + " after the programming had started: the result is NOT KNOWN; reconnect (Hot Plug, AP1) and read the option bytes"
	case e.Staged && e.Undone && e.unchanged():
		return verb + ": staged and undone (nothing was applied)"
	case e.Staged && e.Undone:
		return verb + ": this step staged and undone; earlier steps changed the chip: it is " + strings.ToUpper(e.Holds)
	case e.Staged:
		return verb + ": THE CHANGE MAY STILL BE STAGED and could not be undone; reset the chip (NRST or power cycle)"
	case !e.unchanged():
		return verb + ": earlier steps changed the chip: it is " + strings.ToUpper(e.Holds)
	}
	return verb + ": nothing was written"
}
