package bench

import (
	"errors"
	"fmt"

	"github.com/stprobe/stprobe/flashprog"
	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/obytes"
)

// IsWriteJob reports whether a job of kind writes to the chip: an
// option-byte write or lock, a DA provisioning, regression or debug
// opening, a memory write. A session that quits while its own write runs
// is asked first, and its exit says how the write ended.
func IsWriteJob(kind string) bool {
	switch kind {
	case "ob apply", "ob lock", "mem write", "flash write", "flash erase",
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
	var fe *flashprog.WriteError
	if errors.As(err, &fe) {
		return fmt.Sprintf("failed in the %s phase: %s (journal %s)", fe.Phase, fe.Holds.Summary(), fe.Journal)
	}
	var we *obytes.WriteError
	if !errors.As(err, &we) {
		var le *LeaseError
		if errors.As(err, &le) || guarded.Refused(err) {
			return "refused: nothing was written"
		}
		if guarded.Cancelled(err) {
			return "cancelled before any option byte was staged: nothing was written"
		}
		return "failed: " + err.Error()
	}
	return guarded.Summary(err, obytes.EndOf(err))
}
