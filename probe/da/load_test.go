package da

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stprobe/stprobe/safefile"
	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32h5/dacred"
)

// Every credential and OBK file goes through one bounded read: a device,
// a FIFO without a writer, a directory or a file larger than its format
// allows is refused at once, naming the file's kind.
func TestLoadFilesBounded(t *testing.T) {
	dir := t.TempDir()
	fs, err := dacred.MakeCerts(stm32h5.ModelPart(stm32h5.LineH533), dacred.MakeOptions{Seed: []byte("load")})
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := dacred.MakePassword(stm32h5.ModelPart(stm32h5.LineH533), dacred.MakeOptions{Seed: []byte("load")})
	if err := append(fs, pw...).Write(dir); err != nil {
		t.Fatal(err)
	}
	key, chain := filepath.Join(dir, dacred.LeafKeyFile), filepath.Join(dir, dacred.ChainFile)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, 50<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	loads := []struct {
		name string
		load func(path string) error
	}{
		{"password", func(p string) error { _, err := LoadPassword(p); return err }},
		{"key", func(p string) error { _, err := LoadCertificate(p, chain); return err }},
		{"chain", func(p string) error { _, err := LoadCertificate(key, p); return err }},
		{"obk", func(p string) error { _, err := LoadOBK(p); return err }},
	}
	for _, l := range loads {
		for _, tc := range []struct {
			path string
			err  error
			text string
		}{
			{"/dev/zero", safefile.ErrNotRegular, "character device"},
			{fifo, safefile.ErrNotRegular, "FIFO"},
			{dir, safefile.ErrNotRegular, "directory"},
			{big, safefile.ErrTooLarge, "51200 bytes"},
		} {
			start := time.Now()
			err := l.load(tc.path)
			if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("%s %s: %v, want %v naming %q", l.name, tc.path, err, tc.err, tc.text)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("%s %s took %v", l.name, tc.path, d)
			}
		}
	}
	if c, err := LoadCertificate(key, chain); err != nil || c.Method() != "certificate" {
		t.Errorf("the made files: %v", err)
	}
	if c, err := LoadPassword(filepath.Join(dir, dacred.PasswordFile)); err != nil || c.Method() != "password" {
		t.Errorf("the password file: %v", err)
	}
	if b, err := LoadOBK(filepath.Join(dir, dacred.CertOBKFile)); err != nil || len(b) != 108 {
		t.Errorf("the .obk file: %d bytes, %v", len(b), err)
	}
}

// A key that is not the chain's leaf key is refused when the files are
// loaded, offline; the intermediate chain (no leaf) too.
func TestLoadCertificateChecksKey(t *testing.T) {
	dir := t.TempDir()
	part := stm32h5.ModelPart(stm32h5.LineH533)
	mine, _ := dacred.MakeCerts(part, dacred.MakeOptions{Seed: []byte("mine")})
	theirs, _ := dacred.MakeCerts(part, dacred.MakeOptions{Seed: []byte("theirs")})
	if err := mine.Write(dir); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.pem")
	if err := os.WriteFile(other, theirs.Get(dacred.LeafKeyFile), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadCertificate(other, filepath.Join(dir, dacred.ChainFile))
	if !errors.Is(err, dacred.ErrKeyMismatch) || !strings.Contains(err.Error(), "other.pem") {
		t.Errorf("another chain's key: %v", err)
	}
	_, err = LoadCertificate(filepath.Join(dir, dacred.IntermediateKey), filepath.Join(dir, dacred.IntermediateChain))
	if !errors.Is(err, dacred.ErrFormat) || !strings.Contains(err.Error(), dacred.ChainFile) {
		t.Errorf("the intermediate chain: %v", err)
	}
}
