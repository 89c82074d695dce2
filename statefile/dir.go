// Package statefile keeps stprobe's state directory: option-byte backups,
// the per-chip pending-write journals and their locks, and the
// append-only audit log. Every file is written whole (temporary file,
// sync, rename or link) or appended and synced, and every file read is a
// regular file of bounded size. The guarded writes record through it;
// it knows files, not chips.
package statefile

import (
	"fmt"
	"os"
	"path/filepath"
)

// StateDirEnv overrides the default state directory (backups, audit log,
// pending-write journal).
const StateDirEnv = "STPROBE_STATE_DIR"

// File names inside the state directory:
//
//	audit.jsonl          append-only audit log, one JSON record a line
//	backups/ob-UID-TIME.json
//	                     every option byte before a write
//	journal/UID.json     the pending-write journal of one chip
//	locks/UID.lock       held (flock) while a write to that chip runs
//	pending-write.json   the single journal of earlier versions, still read
//
// Every file is written whole (temporary file, sync, rename) or appended
// and synced; every file read must be a regular file of bounded size.
const (
	AuditFile = "audit.jsonl"
	// JournalFile is the single journal of earlier versions; journals are
	// now per chip (see JournalPath).
	JournalFile = "pending-write.json"
	backupsDir  = "backups"
)

// DefaultStateDir is where backups, the audit log and the journal live:
// $STPROBE_STATE_DIR, else $XDG_STATE_HOME/stprobe, else
// ~/.local/state/stprobe.
func DefaultStateDir() (string, error) {
	if d := os.Getenv(StateDirEnv); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "stprobe"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the state directory (set %s): %w", StateDirEnv, err)
	}
	return filepath.Join(home, ".local", "state", "stprobe"), nil
}

// BackupsDir is where the backups of the state directory dir are kept.
func BackupsDir(dir string) string { return filepath.Join(dir, backupsDir) }
