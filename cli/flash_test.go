package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFlashUsage: mistakes on the command line are refused before the
// probe is opened (exit status 2), malformed files with their line.
func TestFlashUsage(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "app.bin")
	hex := filepath.Join(dir, "bad.hex")
	if err := os.WriteFile(bin, []byte{1, 2, 3, 4}, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hex, []byte(":0100000011EE\n:0100010022CC\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"flash"}, "give a sub-command"},
		{[]string{"flash", "write", bin}, "give the address it goes to (--addr"},
		{[]string{"flash", "write", hex}, "Intel HEX line 2: checksum 0xCC is wrong"},
		{[]string{"flash", "write", hex, "--addr", "0x08000000"}, "--addr is only for raw binaries"},
		{[]string{"flash", "write", filepath.Join(dir, "missing.hex")}, "no such file"},
		{[]string{"flash", "write", bin, "--addr", "nowhere"}, "--addr"},
		{[]string{"flash", "erase"}, "give one of --all, --sectors A-B or --range ADDR,LEN"},
		{[]string{"flash", "erase", "--all", "--sectors", "1-2"}, "give one of"},
		{[]string{"flash", "erase", "--sectors", "3-1"}, "want A-B with A <= B"},
		{[]string{"flash", "erase", "--range", "0x08000000"}, "--range wants ADDR and LEN"},
		{[]string{"flash", "read", "0x08000000"}, "want 2 arguments"},
		{[]string{"flash", "verify"}, "want 1 arguments"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := runCLI(t, append([]string{"--sim", "h503-open"}, tc.args...)...)
			if code != ExitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, ExitUsage, tc.want)
			}
		})
	}
}

// TestFlashWriteEraseCLI writes a binary on a simulated board in one run:
// without --confirm nothing is written and the phrase is printed; with it
// the write verifies; an erase of a range takes the sectors under it; a
// read gives Intel HEX when asked.
func TestFlashWriteEraseCLI(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "app.bin")
	data := make([]byte, 9000)
	for i := range data {
		data[i] = byte(i)
	}
	if err := os.WriteFile(bin, data, 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	code, _, stderr := runCLI(t, "--sim", "h503-open", "flash", "write", bin, "--addr", "0x08000000", "--state-dir", state)
	if code != ExitFailure || !strings.Contains(stderr, "confirmation phrase: erase 2 sectors") || !strings.Contains(stderr, "nothing was written") {
		t.Fatalf("without --confirm: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr := runCLI(t, "--sim", "h503-open", "flash", "write", bin, "--addr", "0x08000000", "--state-dir", state,
		"--verify", "--reset-run", "--confirm", "erase 2 sectors")
	if code != 0 || !strings.Contains(stdout, "erased 2 sectors, programmed 9000 bytes, verified") || !strings.Contains(stdout, "runs the new program") {
		t.Fatalf("write: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "programmed by the flash loader on the target (2 of the sectors)") {
		t.Errorf("the write on a halted H503 did not say the loader programmed it:\n%s", stdout)
	}
	code, stdout, stderr = runCLI(t, "--sim", "h503-open", "flash", "erase", "--range", "0x08010000,1", "--state-dir", state, "--confirm", "erase 1 sector")
	if code != 0 || !strings.Contains(stdout, "erased 1 sector") {
		t.Fatalf("erase: exit %d\n%s%s", code, stdout, stderr)
	}
	out := filepath.Join(dir, "dump.hex")
	code, _, stderr = runCLI(t, "--sim", "h503-open", "flash", "read", "0x08000000", "32", "-o", out)
	if code != 0 {
		t.Fatalf("read: exit %d\n%s", code, stderr)
	}
	if b, _ := os.ReadFile(out); !strings.HasPrefix(string(b), ":020000040800F2\n") {
		t.Errorf("read -o .hex: %q", b)
	}
}
