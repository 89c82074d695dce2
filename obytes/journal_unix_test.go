//go:build unix

package obytes

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stprobe/stprobe/statefile"
)

// Files that are not regular, or too large, are refused at once.
func TestBoundedReads(t *testing.T) {
	dir := t.TempDir()
	fifo := statefile.JournalPath(dir, "ABC")
	if err := os.MkdirAll(filepath.Dir(fifo), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.json")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(300 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := statefile.CheckChipJournal(dir, "ABC"); !errors.Is(err, statefile.ErrNotRegular) || !errors.Is(err, statefile.ErrDamagedJournal) {
			t.Errorf("FIFO journal: %v", err)
		}
		if _, err := ReadBackup(fifo); !errors.Is(err, statefile.ErrNotRegular) {
			t.Errorf("FIFO backup: %v", err)
		}
		if _, err := ReadBackup("/dev/zero"); !errors.Is(err, statefile.ErrNotRegular) || !strings.Contains(err.Error(), "character device") {
			t.Errorf("/dev/zero backup: %v", err)
		}
		if _, err := ReadBackup(big); !errors.Is(err, statefile.ErrTooLarge) {
			t.Errorf("300 MB backup: %v", err)
		}
		if err := os.Rename(big, statefile.JournalPath(dir, "BIG")); err != nil {
			t.Error(err)
		}
		if _, err := statefile.CheckChipJournal(dir, "BIG"); !errors.Is(err, statefile.ErrTooLarge) {
			t.Errorf("300 MB journal: %v", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("a read blocked")
	}
}
