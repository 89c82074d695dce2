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
)

// Files that are not regular, or too large, are refused at once.
func TestBoundedReads(t *testing.T) {
	dir := t.TempDir()
	fifo := JournalPath(dir, "ABC")
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
		if _, err := CheckChipJournal(dir, "ABC"); !errors.Is(err, ErrNotRegular) || !errors.Is(err, ErrDamagedJournal) {
			t.Errorf("FIFO journal: %v", err)
		}
		if _, err := ReadBackup(fifo); !errors.Is(err, ErrNotRegular) {
			t.Errorf("FIFO backup: %v", err)
		}
		if _, err := ReadBackup("/dev/zero"); !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "character device") {
			t.Errorf("/dev/zero backup: %v", err)
		}
		if _, err := ReadBackup(big); !errors.Is(err, ErrTooLarge) {
			t.Errorf("300 MB backup: %v", err)
		}
		if err := os.Rename(big, JournalPath(dir, "BIG")); err != nil {
			t.Error(err)
		}
		if _, err := CheckChipJournal(dir, "BIG"); !errors.Is(err, ErrTooLarge) {
			t.Errorf("300 MB journal: %v", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("a read blocked")
	}
}
