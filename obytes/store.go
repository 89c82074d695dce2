package obytes

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/stprobe/stprobe/statefile"
)

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
	b := Backup{Time: now.UTC(), DevID: l.DevID, LineName: l.LineName, UID: uid, Snapshot: s, Fields: l.DecodeAll(s.Cur)}
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encoding backup: %w", err)
	}
	return statefile.CreateBackup(dir, uid, now, append(data, '\n'))
}

// ReadBackup loads a backup file (a regular file of bounded size) and
// checks it (see DecodeBackup).
func ReadBackup(path string) (*Backup, error) {
	data, err := statefile.ReadBackup(path)
	if err != nil {
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
	paths, err := statefile.BackupPaths(dir)
	if err != nil {
		return nil, err
	}
	var out []BackupFile
	for _, p := range paths {
		b, err := ReadBackup(p)
		switch {
		case err != nil:
			if strings.Contains(filepath.Base(p), uid) {
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
