package statefile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/stprobe/stprobe/safefile"
)

// Directories inside the state directory: one journal and one lock file
// per chip, named by the chip's UID.
const (
	journalDir = "journal"
	locksDir   = "locks"
)

// What a journal or an audit record says the chip holds.
const (
	// OutcomeStaging: the executor was writing _PRG values (OPTLOCK may be
	// clear). A journal left in this state means the process stopped
	// mid-step: the change may be staged, and any later OPTSTRT applies it.
	OutcomeStaging = "staging"
	// OutcomeStarted: OPTSTRT was set and the result is not known yet.
	OutcomeStarted = "started"
	// OutcomeUndone: values were staged, then restored from _CUR and
	// OPTLOCK set again, both read back: the chip holds what it held.
	OutcomeUndone = "staged and undone"
	// OutcomeNotUndone: values were staged and could not be restored; the
	// registers recorded say what was seen last.
	OutcomeNotUndone = "staged and NOT undone"
	// OutcomeApplied: every wanted value is in _CUR.
	OutcomeApplied = "applied"
	// OutcomeNotApplied: every register still holds its value from before.
	OutcomeNotApplied = "not applied"
	// OutcomePartly: some wanted values are in _CUR, others not.
	OutcomePartly = "partly applied"
	// OutcomeUnknown: the chip could not be read.
	OutcomeUnknown = "unknown"
)

// Journal is the pending-write record of one chip: written before the first
// write to the FLASH registers, updated at OPTSTRT and when something
// fails, removed only after an audit line records how the write ended.
// Finding one means a write was interrupted or failed, and the chip may
// hold neither the old nor the new values.
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
	// State is what the chip holds as far as the executor knew when it
	// wrote the journal last: one of the Outcome… constants.
	State string `json:"state,omitempty"`
	// Applied lists the phases of the plan completed before Phase.
	Applied []string `json:"applied_phases,omitempty"`
	// PID is the process that wrote the journal.
	PID int `json:"pid,omitempty"`
	// Updated is when the journal was written last.
	Updated time.Time `json:"updated,omitempty"`
}

// String tells the user what the journal means.
func (j *Journal) String() string {
	what := "was interrupted"
	if j.Failure != "" {
		what = "failed (" + j.Failure + ")"
	}
	s := fmt.Sprintf("an option-byte write to chip %s (%s) at %s %s during phase %q (%s); the backup taken before it is %s.",
		j.ChipUID, j.Line, j.Time.Format(time.RFC3339), what, j.Phase, strings.Join(j.Changes, " "), j.Backup)
	if len(j.Applied) > 0 {
		s += fmt.Sprintf(" Phases applied before it: %s.", strings.Join(j.Applied, ", "))
	}
	switch j.State {
	case "":
	case OutcomeStaging:
		s += " State: staging — the process stopped while _PRG values were written; the change may be STAGED with OPTLOCK clear, and any later OPTSTRT (another tool, firmware) would apply it."
	case OutcomeStarted:
		s += " State: started — OPTSTRT was set and the result was never read."
	default:
		s += " State: " + j.State + "."
	}
	if len(j.Seen) > 0 {
		s += " Registers seen: " + RegText(j.Seen) + "."
	}
	return s + " Read the option bytes to see what the chip holds now."
}

// Outcome compares the journal with the chip's current _CUR values and
// says whether the recorded write took effect: OutcomeApplied,
// OutcomeNotApplied (every register still holds its value from before) or
// OutcomePartly. It returns OutcomeUnknown when the journal records no
// wanted values or the chip's registers are missing. It says nothing of
// _PRG: a staged change shows in the journal's State and Seen.
func (j *Journal) Outcome(cur map[string]uint32) string {
	if len(j.Want) == 0 || cur == nil {
		return OutcomeUnknown
	}
	applied, kept := 0, 0
	for name, want := range j.Want {
		got, ok := cur[name]
		switch {
		case !ok:
			return OutcomeUnknown
		case got == want:
			applied++
		case got == j.Before[name]:
			kept++
		}
	}
	switch {
	case applied == len(j.Want):
		return OutcomeApplied
	case kept == len(j.Want):
		return OutcomeNotApplied
	}
	return OutcomePartly
}

// OutcomeArmed: a wanted value sits in _PRG but not in _CUR, with the
// write's journal still there: the change is staged and any later OPTSTRT
// (another tool, firmware) applies it. Not "not applied".
const OutcomeArmed = "STAGED in _PRG, not in _CUR: any OPTSTRT would apply it (reset the chip to drop it)"

// OutcomeOn is Outcome on the chip's _CUR and _PRG values: a wanted value
// found in _PRG while _CUR differs gives OutcomeArmed, never
// OutcomeNotApplied.
func (j *Journal) OutcomeOn(cur, prg map[string]uint32) string {
	if cur == nil {
		return OutcomeUnknown
	}
	for name, want := range j.Want {
		if cur, ok := cur[name]; ok && cur != want && prg[name] == want {
			return OutcomeArmed
		}
	}
	for name, prg := range prg {
		if cur, ok := cur[name]; ok && prg != cur {
			if _, wanted := j.Want[name]; wanted || len(j.Want) == 0 {
				return OutcomeArmed
			}
		}
	}
	return j.Outcome(cur)
}

// ErrDamagedJournal is wrapped by *DamagedJournalError.
var ErrDamagedJournal = errors.New("the pending-write journal is damaged")

// DamagedJournalError is a journal file that cannot be read as a journal
// (empty, truncated, "null", "{}", not a regular file, too large).
type DamagedJournalError struct {
	Path string
	// UID is the chip the file is named after ("" for the old single
	// journal file).
	UID string
	Err error
}

// Error names the file and the command that sets it aside.
func (e *DamagedJournalError) Error() string {
	return fmt.Sprintf("file: pending-write journal %s is damaged (%v): it records an earlier write that was interrupted or failed, but cannot tell what that write did; read the option bytes to see what the chip holds, then set the journal aside with `stprobe ob journal --discard` (a copy is kept next to it)", e.Path, e.Err)
}

// Unwrap returns ErrDamagedJournal and the cause.
func (e *DamagedJournalError) Unwrap() []error { return []error{ErrDamagedJournal, e.Err} }

// DecodeJournal decodes the content of a pending-write journal file; a
// record without its time, phase or register values is refused.
func DecodeJournal(data []byte) (*Journal, error) {
	var j Journal
	if err := json.Unmarshal(data, &j); err != nil {
		if len(strings.TrimSpace(string(data))) == 0 {
			return nil, errors.New("the file is empty")
		}
		return nil, err
	}
	var missing []string
	if j.Time.IsZero() {
		missing = append(missing, "time")
	}
	if j.Phase == "" {
		missing = append(missing, "phase")
	}
	if len(j.Before) == 0 {
		missing = append(missing, "register values from before")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the record lacks its %s", strings.Join(missing, ", "))
	}
	return &j, nil
}

// JournalEntry is one journal file of the state directory.
type JournalEntry struct {
	Path string
	// UID is the chip's UID (from the record, else from the file name).
	UID string
	// Journal is nil when the file is damaged; Err then says why.
	Journal *Journal
	Err     error
}

// uidKey is what a UID may look like to be used as a file name as is.
var uidKey = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z-]{0,63}$`)

// FileKey turns a chip UID into a file-name part: the UID itself when it
// is plain letters and digits (ReadUID renders hex), else a digest.
func FileKey(uid string) string {
	switch {
	case uid == "":
		return "no-uid"
	case uidKey.MatchString(uid):
		return uid
	}
	sum := sha256.Sum256([]byte(uid))
	return "uid-" + hex.EncodeToString(sum[:8])
}

// JournalPath is where the journal of the chip with this UID lives.
func JournalPath(dir, uid string) string {
	return ChipFilePath(dir, journalDir, uid)
}

// loadJournal reads one journal file: nil, nil when it does not exist.
func loadJournal(path, uid string) (*Journal, error) {
	data, err := safefile.Read(path, "journal", maxJournalSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		if errors.Is(err, ErrNotRegular) || errors.Is(err, ErrTooLarge) {
			return nil, &DamagedJournalError{Path: path, UID: uid, Err: err}
		}
		return nil, fmt.Errorf("file: reading pending-write journal %s: %w", path, err)
	}
	j, err := DecodeJournal(data)
	if err != nil {
		return nil, &DamagedJournalError{Path: path, UID: uid, Err: err}
	}
	return j, nil
}

// ListJournals returns every journal of the state directory: the old
// single file first (written by earlier versions), then one per chip in
// name order. Damaged files are listed with their error.
func ListJournals(dir string) ([]JournalEntry, error) {
	if err := CheckDir(dir); err != nil {
		return nil, err
	}
	var out []JournalEntry
	legacy := filepath.Join(dir, JournalFile)
	if _, err := os.Lstat(legacy); err == nil {
		j, err := loadJournal(legacy, "")
		e := JournalEntry{Path: legacy, Journal: j, Err: err}
		if j != nil {
			e.UID = j.ChipUID
		}
		if j != nil || err != nil {
			out = append(out, e)
		}
	}
	ents, err := os.ReadDir(filepath.Join(dir, journalDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return out, fmt.Errorf("file: listing journals in %s: %w", dir, err)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".json") && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		path := filepath.Join(dir, journalDir, n)
		key := strings.TrimSuffix(n, ".json")
		j, err := loadJournal(path, key)
		e := JournalEntry{Path: path, UID: key, Journal: j, Err: err}
		if j != nil && j.ChipUID != "" {
			e.UID = j.ChipUID
		}
		if j != nil || err != nil {
			out = append(out, e)
		}
	}
	return out, nil
}

// CheckJournal reports the first interrupted or failed write recorded in
// dir (see ListJournals for all of them): nil, nil when there is none. A
// damaged journal is a *DamagedJournalError; a state directory that is not
// a directory wraps ErrStateDir.
func CheckJournal(dir string) (*Journal, error) {
	es, err := ListJournals(dir)
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		return nil, nil
	}
	return es[0].Journal, es[0].Err
}

// CheckChipJournal reports the interrupted or failed write recorded for the
// chip with this UID (nil, nil when there is none). The old single journal
// file counts when it names this chip or cannot be read.
func CheckChipJournal(dir, uid string) (*Journal, error) {
	e, err := chipEntry(dir, uid)
	if err != nil || e == nil {
		return nil, err
	}
	return e.Journal, e.Err
}

// chipEntry finds the journal file of a chip: its own, else the old single
// file when it names the chip or is damaged.
func chipEntry(dir, uid string) (*JournalEntry, error) {
	if err := CheckDir(dir); err != nil {
		return nil, err
	}
	path := JournalPath(dir, uid)
	j, err := loadJournal(path, FileKey(uid))
	if j != nil || err != nil {
		return &JournalEntry{Path: path, UID: uid, Journal: j, Err: err}, nil
	}
	legacy := filepath.Join(dir, JournalFile)
	j, err = loadJournal(legacy, "")
	switch {
	case err != nil:
		return &JournalEntry{Path: legacy, Journal: j, Err: err}, nil
	case j != nil && (j.ChipUID == uid || j.ChipUID == ""):
		return &JournalEntry{Path: legacy, UID: j.ChipUID, Journal: j}, nil
	}
	return nil, nil
}

// WriteChipJournal stores j as its chip's journal, durably.
func WriteChipJournal(dir string, j *Journal) (string, error) {
	return WriteChipFile(dir, journalDir, j.ChipUID, "pending-write journal", j)
}

// RemoveDurable removes path and syncs its directory; a missing file
// is no error.
func RemoveDurable(path string) error {
	if err := os.Remove(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("file: removing %s: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("file: syncing %s: %w", filepath.Dir(path), err)
	}
	return nil
}

// JournalAction says who clears or sets aside a journal, for its audit line.
type JournalAction struct {
	User string
	// Reason is free text for the audit line ("checked with ob read").
	Reason string
	// Cur, when the caller read the chip, is what its _CUR registers hold
	// now; it goes into the audit line with the journal's outcome on it.
	Cur map[string]uint32
	// Now stamps the audit line (default time.Now).
	Now func() time.Time
}

func (a JournalAction) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}

// ClearJournal removes the journal CheckJournal reports, once the user has
// looked at the chip: an audit line recording what the journal said is
// appended first, and the journal stays when that fails. A damaged journal
// is not cleared (see DiscardJournal).
func ClearJournal(dir string) error {
	es, err := ListJournals(dir)
	if err != nil || len(es) == 0 {
		return err
	}
	if es[0].Err != nil {
		return es[0].Err
	}
	return clearEntry(dir, es[0], JournalAction{})
}

// ClearChipJournal removes the journal of the chip with this UID after an
// audit line records what it said (and, with a.Cur, what the chip holds).
// It waits for no running write: one that holds the chip's lock makes it
// fail with ErrChipBusy.
func ClearChipJournal(dir, uid string, a JournalAction) error {
	e, err := chipEntry(dir, uid)
	if err != nil || e == nil {
		return err
	}
	if e.Err != nil {
		return e.Err
	}
	return clearEntry(dir, *e, a)
}

func clearEntry(dir string, e JournalEntry, a JournalAction) error {
	lk, err := LockChip(dir, e.UID)
	if err != nil {
		return err
	}
	defer lk.Release()
	j := e.Journal
	rec := AuditRecord{
		Time: a.now().UTC(), User: a.User, ProbeSerial: j.ProbeSerial, ChipUID: j.ChipUID, Line: j.Line,
		Changes: j.Changes, Before: j.Before, After: a.Cur, Result: ResultJournalCleared, Error: j.Failure,
		Backup: j.Backup, Outcome: j.State, Registers: j.Seen, Journal: e.Path, Note: a.Reason,
	}
	if a.Cur != nil {
		rec.Outcome = j.Outcome(a.Cur)
	}
	if err := AppendAudit(dir, rec); err != nil {
		return fmt.Errorf("the journal %s stays: its audit line could not be written: %w", e.Path, err)
	}
	return RemoveDurable(e.Path)
}

// DiscardJournal sets the journal of the chip with this UID aside, damaged
// or not: it is renamed to <name>.discarded-<time> next to where it was
// (kept, not deleted) and an audit line records it. uid "" picks the old
// single journal file. It returns the path of the copy.
func DiscardJournal(dir, uid string, a JournalAction) (string, error) {
	if err := CheckDir(dir); err != nil {
		return "", err
	}
	path := JournalPath(dir, uid)
	if uid == "" {
		path = filepath.Join(dir, JournalFile)
	} else if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		if j, _ := loadJournal(filepath.Join(dir, JournalFile), ""); j == nil || j.ChipUID == uid {
			path = filepath.Join(dir, JournalFile)
		}
	}
	if _, err := os.Lstat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("file: no pending-write journal for chip %s in %s", uid, dir)
		}
		return "", fmt.Errorf("file: %w", err)
	}
	lk, err := LockChip(dir, uid)
	if err != nil {
		return "", err
	}
	defer lk.Release()
	now := a.now().UTC()
	kept := path + ".discarded-" + now.Format("20060102T150405.000000000Z")
	if err := os.Rename(path, kept); err != nil {
		return "", fmt.Errorf("file: setting %s aside: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return "", fmt.Errorf("file: syncing %s: %w", filepath.Dir(path), err)
	}
	rec := AuditRecord{Time: now, User: a.User, ChipUID: uid, Result: ResultJournalDiscarded, After: a.Cur, Journal: path,
		Note: "kept as " + kept}
	if a.Reason != "" {
		rec.Note += "; " + a.Reason
	}
	if j, _ := loadJournal(kept, uid); j != nil {
		rec.ProbeSerial, rec.Line, rec.Changes, rec.Before, rec.Error, rec.Backup, rec.Outcome, rec.Registers =
			j.ProbeSerial, j.Line, j.Changes, j.Before, j.Failure, j.Backup, j.State, j.Seen
	}
	if err := AppendAudit(dir, rec); err != nil {
		if rerr := os.Rename(kept, path); rerr != nil {
			return kept, fmt.Errorf("the journal was moved to %s but its audit line could not be written (%w), and moving it back failed: %v", kept, err, rerr)
		}
		return "", fmt.Errorf("the journal %s stays: its audit line could not be written: %w", path, err)
	}
	return kept, nil
}

// ErrChipBusy is wrapped when another write to the same chip holds its
// lock (another process, or another goroutine of this one).
var ErrChipBusy = errors.New("another option-byte write to this chip is running")

// ChipLock is the exclusive lock of one chip's records.
type ChipLock struct {
	f *os.File
}

// LockChip takes the lock of the chip with this UID without waiting.
func LockChip(dir, uid string) (*ChipLock, error) {
	if err := EnsureDir(dir); err != nil {
		return nil, err
	}
	ldir := filepath.Join(dir, locksDir)
	if err := os.MkdirAll(ldir, 0o700); err != nil {
		return nil, fmt.Errorf("file: creating the lock directory: %w", err)
	}
	path := filepath.Join(ldir, FileKey(uid)+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("file: opening lock %s: %w", path, err)
	}
	if err := tryLock(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			holder := "holder unknown"
			if data, rerr := safefile.Read(path, "lock", 4096); rerr == nil && len(strings.TrimSpace(string(data))) > 0 {
				holder = strings.TrimSpace(string(data))
			}
			return nil, fmt.Errorf("%w: chip %s is being written by another run (%s; lock %s); wait for it to end, then read the option bytes and plan again", ErrChipBusy, uid, holder, path)
		}
		return nil, fmt.Errorf("file: locking %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(fmt.Sprintf("pid %d since %s\n", os.Getpid(), time.Now().UTC().Format(time.RFC3339))), 0)
	}
	return &ChipLock{f: f}, nil
}

// Release drops the lock.
func (l *ChipLock) Release() {
	unlock(l.f)
	l.f.Close()
}

// RegText renders register values sorted by name.
func RegText(m map[string]uint32) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=0x%08X", k, m[k]))
	}
	return strings.Join(parts, " ")
}
