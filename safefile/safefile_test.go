package safefile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	if err := os.WriteFile(small, []byte("abc"), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		max        int64
		want       string
		err        error
		text       string
	}{
		{name: "regular", path: small, max: 3, want: "abc"},
		{name: "too large", path: small, max: 2, err: ErrTooLarge, text: "3 bytes"},
		{name: "fifo without writer", path: fifo, max: 10, err: ErrNotRegular, text: "FIFO"},
		{name: "device", path: "/dev/zero", max: 10, err: ErrNotRegular, text: "character device"},
		{name: "directory", path: dir, max: 10, err: ErrNotRegular, text: "directory"},
		{name: "missing", path: filepath.Join(dir, "none"), max: 10, err: fs.ErrNotExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Read(tc.path, "test file", tc.max)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.text) || !strings.Contains(err.Error(), "test file") {
					t.Fatalf("Read = %q, %v; want an error wrapping %v naming %q", got, err, tc.err, tc.text)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("Read = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
