package statefile_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stprobe/stprobe/statefile"
)

// names lists dir's entries.
func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// wantFile fails unless path holds want and is dir's only entry.
func wantFile(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Fatalf("%s = %q, %v; want %q", path, got, err, want)
	}
	if n := names(t, filepath.Dir(path)); len(n) != 1 {
		t.Fatalf("directory holds %q, want only %s (no temporary file left)", n, filepath.Base(path))
	}
}

func TestWriteAtomic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	for _, data := range []string{"first", "second, longer", ""} {
		if err := statefile.WriteAtomic(path, []byte(data)); err != nil {
			t.Fatalf("WriteAtomic(%q): %v", data, err)
		}
		wantFile(t, path, data)
	}
	err := statefile.WriteAtomic(filepath.Join(t.TempDir(), "missing", "f"), []byte("x"))
	if err == nil {
		t.Fatal("WriteAtomic into a missing directory: no error")
	}
}

func TestCreateDurable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "backup.json")
	if err := statefile.CreateDurable(path, []byte("kept")); err != nil {
		t.Fatalf("CreateDurable: %v", err)
	}
	wantFile(t, path, "kept")
	err := statefile.CreateDurable(path, []byte("overwritten"))
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("CreateDurable over an existing file: %v, want fs.ErrExist", err)
	}
	wantFile(t, path, "kept")
}
