package statefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/stprobe/stprobe/safefile"
)

// Size limits of the files the package reads. A file larger than its limit
// is refused instead of read whole.
const (
	maxJournalSize   = 1 << 20  // a journal is a few KiB
	maxBackupSize    = 4 << 20  // a backup is a few tens of KiB
	maxAuditLineSize = 1 << 20  // one audit record
	maxAuditSize     = 64 << 20 // the whole audit log, for ReadAudit
)

// ErrStateDir is wrapped when the state directory cannot be used (it is a
// file, or cannot be created).
var ErrStateDir = errors.New("the state directory is unusable")

// CheckDir accepts a missing directory (it is created on the first
// write) or an existing one; anything else is a usage problem, not an
// interrupted write.
func CheckDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("file: %w: %v", ErrStateDir, err)
	case !fi.IsDir():
		return fmt.Errorf("file: %w: %s is a %s, not a directory; remove it or choose another state directory (--state-dir or %s)", ErrStateDir, dir, safefile.Kind(fi.Mode()), StateDirEnv)
	}
	return nil
}

// EnsureDir creates dir (and its parents) and checks that it is a directory.
func EnsureDir(dir string) error {
	if err := CheckDir(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("file: %w: creating %s: %v", ErrStateDir, dir, err)
	}
	return nil
}

// ErrNotRegular is wrapped when a file to read is a FIFO, a device or
// anything else but a regular file.
var ErrNotRegular = safefile.ErrNotRegular

// ErrTooLarge is wrapped when a file to read exceeds its size limit.
var ErrTooLarge = safefile.ErrTooLarge

// WriteAtomic replaces path with data durably: a temporary file in the
// same directory, written and synced, renamed over path, then the directory
// synced. A failure leaves path as it was.
func WriteAtomic(path string, data []byte) error {
	return writeDurably(path, data, func(tmp, path string) error {
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("file: placing %s: %w", path, err)
		}
		return nil
	})
}

// CreateDurable writes data to a new file at path (failing when it
// exists) durably: temporary file, sync, hard link to path, directory sync.
// It never leaves a truncated file at path.
func CreateDurable(path string, data []byte) error {
	// The link's error is returned as it is: callers test fs.ErrExist.
	return writeDurably(path, data, os.Link)
}

// writeDurably writes data to a temporary file beside path, syncs it,
// gives it the name path with place (a rename or a hard link), then syncs
// the directory. The temporary name never stays behind.
func writeDurably(path string, data []byte, place func(tmp, path string) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("file: creating a temporary file in %s: %w", dir, err)
	}
	name := tmp.Name()
	defer os.Remove(name) // after a rename the name is already gone
	if err := writeSyncClose(tmp, data); err != nil {
		return fmt.Errorf("file: writing %s: %w", path, err)
	}
	if err := place(name, path); err != nil {
		return err
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("file: syncing directory %s after writing %s: %w", dir, path, err)
	}
	return nil
}

func writeSyncClose(f *os.File, data []byte) error {
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes a rename or a new link in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil && !errors.Is(err, errSyncUnsupported) {
		d.Close()
		return err
	}
	return d.Close()
}

// AppendLine appends line (which ends in '\n') to path under an exclusive
// lock on the file and syncs it. When the write or the sync fails, the file
// is cut back to its previous length so that no half record stays.
func AppendLine(path string, line []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("file: opening %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("file: %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("file: %s is a %s: %w", path, safefile.Kind(fi.Mode()), ErrNotRegular)
	}
	unlock, err := lockFile(f, 5*time.Second)
	if err != nil {
		return fmt.Errorf("file: locking %s: %w", path, err)
	}
	defer unlock()
	if fi, err = f.Stat(); err != nil {
		return fmt.Errorf("file: %s: %w", path, err)
	}
	size := fi.Size()
	if _, err := f.Write(line); err != nil {
		_ = f.Truncate(size)
		return fmt.Errorf("file: appending to %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Truncate(size)
		return fmt.Errorf("file: syncing %s: %w", path, err)
	}
	return nil
}
