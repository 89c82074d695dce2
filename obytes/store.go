package obytes

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// StateDirEnv overrides the default state directory (backups, audit log,
// pending-write journal).
const StateDirEnv = "STPROBE_STATE_DIR"

// File names inside the state directory.
const (
	AuditFile   = "audit.jsonl"
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

// Backup is the content of one backup file: every option-byte register of
// one chip before a write, with the decoded fields for a human reader.
type Backup struct {
	Time     time.Time    `json:"time"`
	DevID    uint16       `json:"dev_id"`
	LineName string       `json:"line"`
	UID      string       `json:"uid"`
	Snapshot *Snapshot    `json:"snapshot"`
	Fields   []FieldValue `json:"fields"`
}

// WriteBackup saves every option byte of the snapshot to a new timestamped
// JSON file under dir/backups and returns its path. The file is synced
// before WriteBackup returns.
func WriteBackup(dir string, l *Layout, uid string, s *Snapshot, now time.Time) (string, error) {
	bdir := filepath.Join(dir, backupsDir)
	if err := os.MkdirAll(bdir, 0o700); err != nil {
		return "", fmt.Errorf("creating backup directory: %w", err)
	}
	b := Backup{Time: now.UTC(), DevID: l.DevID, LineName: l.LineName, UID: uid, Snapshot: s, Fields: l.DecodeAll(s.Cur)}
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encoding backup: %w", err)
	}
	id := uid
	if id == "" {
		id = "no-uid"
	}
	base := fmt.Sprintf("ob-%s-%s", id, now.UTC().Format("20060102T150405.000000000Z"))
	for i := 0; ; i++ {
		name := base + ".json"
		if i > 0 {
			name = fmt.Sprintf("%s-%d.json", base, i)
		}
		path := filepath.Join(bdir, name)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("creating backup file: %w", err)
		}
		if _, err := f.Write(append(data, '\n')); err != nil {
			f.Close()
			return "", fmt.Errorf("writing backup %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return "", fmt.Errorf("syncing backup %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return "", fmt.Errorf("closing backup %s: %w", path, err)
		}
		return path, nil
	}
}

// ReadBackup loads a backup file.
func ReadBackup(path string) (*Backup, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading backup: %w", err)
	}
	b, err := DecodeBackup(data)
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", path, err)
	}
	return b, nil
}

// DecodeBackup decodes the content of a backup file.
func DecodeBackup(data []byte) (*Backup, error) {
	var b Backup
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("decoding backup: %w", err)
	}
	return &b, nil
}

// AuditRecord is one line of the append-only audit log.
type AuditRecord struct {
	Time        time.Time         `json:"time"`
	User        string            `json:"user"`
	ProbeSerial string            `json:"probe_serial"`
	ChipUID     string            `json:"chip_uid"`
	Line        string            `json:"line"`
	Changes     []string          `json:"changes"`
	Risk        Risk              `json:"risk"`
	Before      map[string]uint32 `json:"before"`
	After       map[string]uint32 `json:"after,omitempty"`
	Result      string            `json:"result"`
	Error       string            `json:"error,omitempty"`
	Backup      string            `json:"backup,omitempty"`
}

// AppendAudit appends one JSON line to dir/audit.jsonl.
func AppendAudit(dir string, r AuditRecord) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating state directory: %w", err)
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding audit record: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, AuditFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("opening audit log: %w", err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("writing audit log: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("syncing audit log: %w", err)
	}
	return f.Close()
}

// ReadAudit loads every record of dir/audit.jsonl (none when it does not
// exist).
func ReadAudit(dir string) ([]AuditRecord, error) {
	data, err := os.ReadFile(filepath.Join(dir, AuditFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading audit log: %w", err)
	}
	var out []AuditRecord
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var r AuditRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return out, fmt.Errorf("audit log line %d: %w", i+1, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Journal is the pending-write record: written before OPTSTRT, removed once
// the result is verified. Finding one means a write was interrupted or
// failed, and the chip may hold neither the old nor the new values.
type Journal struct {
	Time        time.Time         `json:"time"`
	ChipUID     string            `json:"chip_uid"`
	Line        string            `json:"line"`
	ProbeSerial string            `json:"probe_serial"`
	Phase       string            `json:"phase"`
	Changes     []string          `json:"changes"`
	Before      map[string]uint32 `json:"before"`
	Want        map[string]uint32 `json:"want"`
	Backup      string            `json:"backup"`
	// Failure is filled in when the executor saw the write fail.
	Failure string `json:"failure,omitempty"`
	// Seen are the register values read when it failed.
	Seen map[string]uint32 `json:"seen,omitempty"`
}

// String tells the user what the journal means.
func (j *Journal) String() string {
	what := "was interrupted"
	if j.Failure != "" {
		what = "failed (" + j.Failure + ")"
	}
	return fmt.Sprintf("an option-byte write to chip %s (%s) at %s %s during phase %q (%s); the backup taken before it is %s. Read the option bytes to see what the chip holds now.",
		j.ChipUID, j.Line, j.Time.Format(time.RFC3339), what, j.Phase, strings.Join(j.Changes, " "), j.Backup)
}

// Outcome compares the journal with the chip's current _CUR values and
// says whether the recorded write took effect: "applied", "not applied"
// (every register still holds its value from before) or "partly applied".
// It returns "unknown" when the journal records no wanted values or the
// chip's registers are missing.
func (j *Journal) Outcome(cur map[string]uint32) string {
	if len(j.Want) == 0 || cur == nil {
		return "unknown"
	}
	applied, kept := 0, 0
	for name, want := range j.Want {
		got, ok := cur[name]
		switch {
		case !ok:
			return "unknown"
		case got == want:
			applied++
		case got == j.Before[name]:
			kept++
		}
	}
	switch {
	case applied == len(j.Want):
		return "applied"
	case kept == len(j.Want):
		return "not applied"
	}
	return "partly applied"
}

// writeJournal stores j atomically (temp file, sync, rename).
func writeJournal(dir string, j *Journal) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating state directory: %w", err)
	}
	data, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding journal: %w", err)
	}
	tmp, err := os.CreateTemp(dir, JournalFile+".*")
	if err != nil {
		return fmt.Errorf("creating journal: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("writing journal: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("syncing journal: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("closing journal: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, JournalFile)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("placing journal: %w", err)
	}
	return nil
}

// CheckJournal reports an interrupted or failed write recorded in dir: nil,
// nil when there is none.
func CheckJournal(dir string) (*Journal, error) {
	data, err := os.ReadFile(filepath.Join(dir, JournalFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading pending-write journal: %w", err)
	}
	j, err := DecodeJournal(data)
	if err != nil {
		return nil, fmt.Errorf("pending-write journal %s is damaged (a write was interrupted): %w", filepath.Join(dir, JournalFile), err)
	}
	return j, nil
}

// DecodeJournal decodes the content of a pending-write journal file.
func DecodeJournal(data []byte) (*Journal, error) {
	var j Journal
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// ClearJournal removes the pending-write journal once the user has looked
// at the chip.
func ClearJournal(dir string) error {
	err := os.Remove(filepath.Join(dir, JournalFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing pending-write journal: %w", err)
	}
	return nil
}
