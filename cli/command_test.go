package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestGroupCommands: a command that only groups sub-commands asks for one
// when run alone and refuses one it does not have, both as usage mistakes
// with the group's synopsis.
func TestGroupCommands(t *testing.T) {
	tests := []struct {
		args []string
		want []string // in stderr
	}{
		{[]string{"mem"}, []string{"stprobe mem: give a sub-command: read or write\n", "usage: stprobe mem read ADDR LEN", "(see: stprobe mem --help)"}},
		{[]string{"sim"}, []string{"stprobe sim: give a sub-command: list, serve or usb-relay\n", "usage: stprobe [--sim SCENARIO] sim list|serve"}},
		{[]string{"boot"}, []string{"stprobe boot: give a sub-command: probe\n", "usage: stprobe boot probe [--usb]"}},
		{[]string{"mem", "poke"}, []string{`stprobe mem: unknown sub-command "poke"` + "\n"}},
		{[]string{"boot", "write"}, []string{`stprobe boot: unknown sub-command "write" (only probe is built)` + "\n"}},
		{[]string{"sim", "serv"}, []string{`stprobe sim: unknown sub-command "serv"; did you mean serve?`}},
	}
	for _, tt := range tests {
		code, out, errOut := runCmd(t, tt.args...)
		if code != ExitUsage || out != "" {
			t.Errorf("%v: exit %d, stdout %q; want exit %d and no output", tt.args, code, out, ExitUsage)
		}
		for _, w := range tt.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%v: stderr %q, want %q in it", tt.args, errOut, w)
			}
		}
	}
}

// TestUsageLinesLeaveOutFlags: no command's usage line says "[flags]",
// whether or not the command asked for that itself: each synopsis names
// its flags.
func TestUsageLinesLeaveOutFlags(t *testing.T) {
	root := newApp(Config{}, nil, nil, nil).rootCommand()
	n := 0
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		n++
		if l := c.UseLine(); strings.Contains(l, "[flags]") {
			t.Errorf("%s: usage line %q", c.CommandPath(), l)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if n < 20 {
		t.Errorf("walked %d commands, want the whole tree", n)
	}
	extra := &cobra.Command{Use: "extra ARG", Run: func(*cobra.Command, []string) {}}
	extra.Flags().Bool("x", false, "")
	root.AddCommand(extra)
	hideFlagsInUseLines(root)
	if l := extra.UseLine(); l != "stprobe extra ARG" {
		t.Errorf("a command added later: usage line %q, want %q", l, "stprobe extra ARG")
	}
}

// TestWriteOutput: -o FILE writes the bytes to FILE, -o - to stdout, and a
// file that cannot be written is an error that says what to try next and
// what is lost with it.
func TestWriteOutput(t *testing.T) {
	var stdout strings.Builder
	a := newApp(Config{}, nil, &stdout, nil)
	if err := a.writeOutput("-", []byte("bytes"), ""); err != nil || stdout.String() != "bytes" {
		t.Fatalf(`writeOutput("-") = %v, stdout %q; want nil, "bytes"`, err, stdout.String())
	}
	path := filepath.Join(t.TempDir(), "out.bin")
	if err := a.writeOutput(path, []byte("file"), ""); err != nil {
		t.Fatalf("writeOutput(FILE): %v", err)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != "file" {
		t.Fatalf("FILE holds %q, %v; want \"file\"", got, err)
	}
	missing := filepath.Join(t.TempDir(), "no", "such", "dir")
	for _, tc := range []struct{ lost, want string }{
		{"", "(try another -o FILE)"},
		{"the 4 bytes read", "(the 4 bytes read are lost; try another -o FILE)"},
	} {
		err := a.writeOutput(missing, []byte("lost"), tc.lost)
		if err == nil || !strings.HasPrefix(err.Error(), "file: ") || !strings.HasSuffix(err.Error(), tc.want) {
			t.Errorf("writeOutput into a missing directory, lost %q: %v; want file: ... %s", tc.lost, err, tc.want)
		}
	}
	if stdout.String() != "bytes" {
		t.Errorf("stdout = %q after writes to files, want only \"bytes\"", stdout.String())
	}
}
