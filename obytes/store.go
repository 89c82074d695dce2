package obytes

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/stprobe/stprobe/safefile"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
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
// JSON file under dir/backups and returns its path. The file appears whole
// or not at all: it is written to a temporary file, synced, then linked
// into place and the directory synced.
func WriteBackup(dir string, l *Layout, uid string, s *Snapshot, now time.Time) (string, error) {
	if err := ensureDir(dir); err != nil {
		return "", err
	}
	bdir := filepath.Join(dir, backupsDir)
	if err := os.MkdirAll(bdir, 0o700); err != nil {
		return "", fmt.Errorf("file: creating backup directory: %w", err)
	}
	b := Backup{Time: now.UTC(), DevID: l.DevID, LineName: l.LineName, UID: uid, Snapshot: s, Fields: l.DecodeAll(s.Cur)}
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encoding backup: %w", err)
	}
	data = append(data, '\n')
	base := fmt.Sprintf("ob-%s-%s", fileKey(uid), now.UTC().Format("20060102T150405.000000000Z"))
	for i := 0; i < 1000; i++ {
		name := base + ".json"
		if i > 0 {
			name = fmt.Sprintf("%s-%d.json", base, i)
		}
		path := filepath.Join(bdir, name)
		err := createFileDurable(path, data)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("file: backup %s: %w", path, err)
		}
		return path, nil
	}
	return "", fmt.Errorf("file: no free backup name for %s in %s", base, bdir)
}

// ReadBackup loads a backup file (a regular file of bounded size) and
// checks it (see DecodeBackup).
func ReadBackup(path string) (*Backup, error) {
	data, err := safefile.Read(path, "backup", maxBackupSize)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("file: reading backup: %w", err)
		}
		return nil, err
	}
	b, err := DecodeBackup(data)
	if err != nil {
		return nil, fmt.Errorf("file: backup %s: %w", path, err)
	}
	return b, nil
}

// ErrIncompleteBackup is wrapped when a backup lacks registers of its
// chip's layout: restoring from it would silently leave those unrestored.
var ErrIncompleteBackup = errors.New("the backup does not hold every option-byte register")

// ErrUnknownRegister is wrapped when a backup names a register its chip's
// layout does not have: the file was edited, damaged or written for another
// line, and restoring from it would silently drop that value.
var ErrUnknownRegister = errors.New("the backup names a register its chip does not have")

// DecodeBackup decodes the content of a backup file and checks that it
// names a known chip line, holds every register of that line's layout and
// no register outside it.
func DecodeBackup(data []byte) (*Backup, error) {
	var b Backup
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("decoding backup: %w", err)
	}
	if err := b.Check(); err != nil {
		return nil, err
	}
	return &b, nil
}

// Check verifies that the backup holds the _CUR value of every register of
// its chip's layout, and names no register (in _CUR or _PRG) outside it.
func (b *Backup) Check() error {
	l, err := ForDevID(b.DevID)
	if err != nil {
		return fmt.Errorf("backup of DEV_ID 0x%03X: %w", b.DevID, err)
	}
	if b.Snapshot == nil || len(b.Snapshot.Cur) == 0 {
		return fmt.Errorf("%w: it holds no register values", ErrIncompleteBackup)
	}
	var unknown []string
	for _, half := range []struct {
		name string
		regs map[string]uint32
	}{{"", b.Snapshot.Cur}, {"_PRG", b.Snapshot.Prg}} {
		for name := range half.regs {
			if _, ok := l.Register(name); !ok {
				unknown = append(unknown, fmt.Sprintf("%q%s", name, half.name))
			}
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		known := make([]string, len(l.Registers))
		for i, r := range l.Registers {
			known[i] = r.Name
		}
		return fmt.Errorf("%w: %s not on the %s (its registers: %s); the file was edited or is not this line's backup: restore from an untouched backup (nothing was planned)",
			ErrUnknownRegister, strings.Join(unknown, ", "), l.LineName, strings.Join(known, ", "))
	}
	var missing []string
	for _, r := range l.Registers {
		if _, ok := b.Snapshot.Cur[r.Name]; !ok {
			missing = append(missing, r.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w of %s: %s missing; restore from a complete backup (nothing was planned)", ErrIncompleteBackup, l.LineName, strings.Join(missing, ", "))
	}
	return nil
}

// RestoreAssignments plans the return of the chip whose layout is l, UID
// uid and current _CUR values cur to the backup's values. It refuses a
// backup of another line or chip, or one that lacks registers.
func (b *Backup) RestoreAssignments(l *Layout, uid string, cur map[string]uint32) ([]Assignment, error) {
	if err := b.Check(); err != nil {
		return nil, err
	}
	switch {
	case b.DevID != l.DevID:
		return nil, fmt.Errorf("the backup holds the option bytes of an %s; this chip is an %s", b.LineName, l.LineName)
	case b.UID != uid:
		return nil, fmt.Errorf("the backup holds the option bytes of the chip with UID %s; this chip's UID is %s (backups are restored only to the chip they came from)", b.UID, uid)
	}
	for _, r := range l.Registers {
		if _, ok := cur[r.Name]; !ok {
			return nil, fmt.Errorf("target: the chip's %s was not read; read the option bytes again", r.Name)
		}
	}
	as := l.AssignmentsTo(cur, b.Snapshot.Cur)
	if len(as) == 0 {
		return nil, ErrNoChange
	}
	return as, nil
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
	// Outcome says what the chip holds: one of the Outcome… constants.
	Outcome string `json:"outcome,omitempty"`
	// Registers are the register values read last (OPTCR, <REG>_CUR,
	// <REG>_PRG) when the write did not end cleanly.
	Registers map[string]uint32 `json:"registers,omitempty"`
	// Journal is the pending-write journal that stays (or was cleared or
	// set aside, for the journal results).
	Journal string `json:"journal,omitempty"`
	// Note is free text (the copy a discarded journal was moved to).
	Note string `json:"note,omitempty"`
}

// Audit results besides "ok", "refused", "failed" and "cancelled".
const (
	ResultJournalCleared   = "journal cleared"
	ResultJournalDiscarded = "journal discarded"
)

// AppendAudit appends one JSON line to dir/audit.jsonl, under a lock on the
// file, and syncs it; on failure nothing of the line stays.
func AppendAudit(dir string, r AuditRecord) error {
	if err := ensureDir(dir); err != nil {
		return err
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding audit record: %w", err)
	}
	return appendLine(filepath.Join(dir, AuditFile), append(data, '\n'))
}

// ReadAudit loads every record of dir/audit.jsonl (none when it does not
// exist). The log must be a regular file of bounded size.
func ReadAudit(dir string) ([]AuditRecord, error) {
	path := filepath.Join(dir, AuditFile)
	data, err := safefile.Read(path, "audit log", maxAuditSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		if errors.Is(err, ErrNotRegular) || errors.Is(err, ErrTooLarge) {
			return nil, err
		}
		return nil, fmt.Errorf("file: reading audit log: %w", err)
	}
	var out []AuditRecord
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		if len(line) > maxAuditLineSize {
			return out, fmt.Errorf("file: audit log %s line %d is longer than %d bytes", path, i+1, maxAuditLineSize)
		}
		var r AuditRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return out, fmt.Errorf("file: audit log %s line %d: %w", path, i+1, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// BackupFile is one backup found in a state directory: read whole, or with
// the error that kept it from being read.
type BackupFile struct {
	Path   string
	Backup *Backup // nil when Err is set
	Err    error
}

// ListBackups lists the backups of the chip with the given UID and DEV_ID in
// the state directory dir, newest first; a damaged backup whose file name
// carries the UID is listed with its error. A directory without backups
// gives an empty list.
func ListBackups(dir, uid string, devID uint16) ([]BackupFile, error) {
	bdir := filepath.Join(dir, backupsDir)
	ents, err := os.ReadDir(bdir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("file: listing backups: %w", err)
	}
	var out []BackupFile
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		p := filepath.Join(bdir, e.Name())
		b, err := ReadBackup(p)
		switch {
		case err != nil:
			if strings.Contains(e.Name(), uid) {
				out = append(out, BackupFile{Path: p, Err: err})
			}
		case b.UID == uid && b.DevID == devID && b.Snapshot != nil:
			out = append(out, BackupFile{Path: p, Backup: b})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		bi, bj := out[i].Backup, out[j].Backup
		if bi == nil || bj == nil {
			return bj == nil && bi != nil
		}
		return bi.Time.After(bj.Time)
	})
	return out, nil
}

// BackupsDir is where the backups of the state directory dir are kept.
func BackupsDir(dir string) string { return filepath.Join(dir, backupsDir) }
