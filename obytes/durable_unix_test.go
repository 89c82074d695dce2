//go:build linux

package obytes

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stprobe/stprobe/statefile"
)

// withFileSizeLimit runs fn with writes to regular files limited to limit
// bytes per file (RLIMIT_FSIZE), as on a disk that fills up.
func withFileSizeLimit(t *testing.T, limit uint64, fn func()) {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	lim := old
	lim.Cur = limit
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatalf("setting RLIMIT_FSIZE: %v", err)
	}
	defer func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
			t.Fatalf("restoring RLIMIT_FSIZE: %v", err)
		}
	}()
	fn()
}

// A full disk: the audit append fails with an error and leaves no half
// line; a backup that cannot be written whole does not appear at all.
func TestFullDiskRecords(t *testing.T) {
	dir := t.TempDir()
	if err := statefile.AppendAudit(dir, statefile.AuditRecord{Result: "ok", ChipUID: "A"}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, statefile.AuditFile)
	before, _ := os.ReadFile(path)
	in := snapshotOf(t, DevH56x, 0xED, 0xC3)
	var aerr, berr error
	withFileSizeLimit(t, uint64(len(before))+40, func() {
		aerr = statefile.AppendAudit(dir, statefile.AuditRecord{Result: "ok", ChipUID: "B", Changes: []string{strings.Repeat("X", 200)}})
		_, berr = WriteBackup(dir, in.Layout, "UID", in.Before, fixedNow())
	})
	if aerr == nil || !strings.HasPrefix(aerr.Error(), "file:") {
		t.Errorf("audit append on a full disk: %v", aerr)
	}
	after, _ := os.ReadFile(path)
	if string(after) != string(before) {
		t.Errorf("audit log changed by a failed append: %d bytes → %d", len(before), len(after))
	}
	if recs, err := statefile.ReadAudit(dir); err != nil || len(recs) != 1 {
		t.Errorf("audit after the failure: %v %v", recs, err)
	}
	if berr == nil || !strings.HasPrefix(berr.Error(), "file:") {
		t.Errorf("backup on a full disk: %v", berr)
	}
	ents, _ := os.ReadDir(statefile.BackupsDir(dir))
	if len(ents) != 0 {
		t.Errorf("backup directory after a failed backup: %v", ents)
	}
}
