package statefile

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// ChipFilePath is where the file of the chip with this UID lives in the
// subdirectory sub of the state directory dir: sub/UID.json (see FileKey).
func ChipFilePath(dir, sub, uid string) string {
	return filepath.Join(dir, sub, FileKey(uid)+".json")
}

// WriteChipFile stores v, as indented JSON, as the file of the chip uid in
// the subdirectory sub of dir: whole or not at all (see WriteAtomic). It
// returns the file's path; what names the file in errors.
func WriteChipFile(dir, sub, uid, what string, v any) (string, error) {
	if err := EnsureDir(dir); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
		return "", fmt.Errorf("file: creating the %s directory: %w", what, err)
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encoding the %s: %w", what, err)
	}
	path := ChipFilePath(dir, sub, uid)
	if err := WriteAtomic(path, append(data, '\n')); err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	return path, nil
}
