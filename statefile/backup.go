package statefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/stprobe/stprobe/safefile"
)

// CreateBackup places a new backup of the chip uid, taken at now, in the
// backups directory of dir and returns its path. The file appears whole
// or not at all, and never replaces another: a name already taken gets a
// counter.
func CreateBackup(dir, uid string, now time.Time, data []byte) (string, error) {
	if err := EnsureDir(dir); err != nil {
		return "", err
	}
	bdir := BackupsDir(dir)
	if err := os.MkdirAll(bdir, 0o700); err != nil {
		return "", fmt.Errorf("file: creating backup directory: %w", err)
	}
	base := fmt.Sprintf("ob-%s-%s", FileKey(uid), now.UTC().Format("20060102T150405.000000000Z"))
	for i := 0; i < 1000; i++ {
		name := base + ".json"
		if i > 0 {
			name = fmt.Sprintf("%s-%d.json", base, i)
		}
		path := filepath.Join(bdir, name)
		err := CreateDurable(path, data)
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

// ReadBackup reads a backup file: a regular file of bounded size.
func ReadBackup(path string) ([]byte, error) {
	data, err := safefile.Read(path, "backup", maxBackupSize)
	if err != nil && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission)) {
		return nil, fmt.Errorf("file: reading backup: %w", err)
	}
	return data, err
}

// BackupPaths lists the backup files of dir (none when there is no backup
// directory yet).
func BackupPaths(dir string) ([]string, error) {
	bdir := BackupsDir(dir)
	ents, err := os.ReadDir(bdir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("file: listing backups: %w", err)
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".json") {
			out = append(out, filepath.Join(bdir, e.Name()))
		}
	}
	return out, nil
}
