package statefile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/stprobe/stprobe/safefile"
)

// AuditRecord is one line of the append-only audit log.
type AuditRecord struct {
	Time        time.Time `json:"time"`
	User        string    `json:"user"`
	ProbeSerial string    `json:"probe_serial"`
	ChipUID     string    `json:"chip_uid"`
	Line        string    `json:"line"`
	// Kind names what was written ("option bytes", "DA regression"; ""
	// in lines of older versions and for the journal's own lines).
	Kind    string   `json:"kind,omitempty"`
	Changes []string `json:"changes"`
	Risk    string   `json:"risk"`
	// Confirmed is true when the guard accepted the user's confirmation
	// (the phrase, and the override of a brick plan) before the write.
	Confirmed bool              `json:"phrase_confirmed,omitempty"`
	Before    map[string]uint32 `json:"before"`
	After     map[string]uint32 `json:"after,omitempty"`
	Result    string            `json:"result"`
	Error     string            `json:"error,omitempty"`
	Backup    string            `json:"backup,omitempty"`
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
	if err := EnsureDir(dir); err != nil {
		return err
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding audit record: %w", err)
	}
	return AppendLine(filepath.Join(dir, AuditFile), append(data, '\n'))
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
