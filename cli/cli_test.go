package cli

import (
	"strings"
	"testing"
)

func TestGlobalSelectorMistakes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"unknown scenario", []string{"--sim", "nosuch", "info"}, 2, `no simulated scenario "nosuch"`},
		{"unknown scenario before ob", []string{"--sim", "nosuch", "ob", "read"}, 2, "valid names"},
		{"sim and server", []string{"--sim", "h533-open", "--server", "127.0.0.1:1", "info"}, 2, "give one of them"},
		{"probe serial not the simulated one", []string{"--sim", "h533-open", "--probe", "NOSUCH", "info"}, 1, "has one probe, serial"},
		{"unknown command", []string{"--sim", "h533-open", "frob"}, 2, `unknown command "frob"`},
		{"bad global flag", []string{"--simm", "h533-open", "info"}, 2, "unknown flag: --simm"},
		{"unreachable server", []string{"--server", "127.0.0.1:1", "info"}, 1, "check that stlink-server is running there"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errOut, tt.code, tt.want)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
	// The simulated probe's own serial, in any case, is accepted.
	if code, _, errOut := runCmd(t, "--sim", "h533-open", "--probe", "55ff6b065177495619420887", "info"); code != 0 {
		t.Errorf("matching --probe: exit %d: %s", code, errOut)
	}
}

func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"info", "-h"}, {"ob", "-h"}, {"ob", "plan", "-h"}, {"da", "-h"}, {"sweep", "-h"}, {"sim", "-h"}} {
		code, out, errOut := runCmd(t, args...)
		if code != 0 || errOut != "" || !strings.Contains(strings.ToLower(out), "usage") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 0 and the help on stdout", args, code, out, errOut)
		}
	}
}

func TestErrorsOnOneLine(t *testing.T) {
	// A generic Cortex-M33 has no DBGMCU: identification fails on every AP
	// and the joined error must still be one stderr line naming the command.
	code, _, errOut := runCmd(t, "--sim", "generic-m33", "ob", "read", "--state-dir", t.TempDir())
	if code != 1 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.HasPrefix(errOut, "stprobe ob: ") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "STM32H5 only") {
		t.Errorf("stderr does not say the ob commands need an STM32H5:\n%s", errOut)
	}
}

func TestUnexpectedArgumentIsNamed(t *testing.T) {
	for _, args := range [][]string{{"list", "foo"}, {"sim", "list", "foo"}, {"info", "foo"}, {"sweep", "foo"}, {"da", "discover", "foo"}, {"da", "foo"}} {
		code, out, errOut := runCmd(t, append([]string{"--sim", "h533-open"}, args...)...)
		if code != 2 || out != "" || !strings.Contains(errOut, `"foo"`) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 naming \"foo\"", args, code, out, errOut)
		}
	}
}

func TestListFiltersBySerial(t *testing.T) {
	code, out, errOut := runCmd(t, "--sim", "h533-open", "--probe", "NOSUCH", "list")
	if code != 1 || out != "" || !strings.Contains(errOut, "no probe with serial NOSUCH") || !strings.Contains(errOut, "55FF6B065177495619420887") {
		t.Errorf("unknown serial: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runCmd(t, "--sim", "h533-open", "--probe", "55ff6b065177495619420887", "list")
	if code != 0 || !strings.Contains(out, "sim:h533-open") {
		t.Errorf("matching serial: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
