package cli

import (
	"strings"
	"testing"
)

func TestMistypedCommandSuggests(t *testing.T) {
	tests := []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"swep"}, `stprobe: unknown command "swep"; did you mean sweep?`},
		{[]string{"inf", "--json"}, `unknown command "inf"; did you mean info?`},
		{[]string{"--sim", "h533-open", "inf", "--json"}, `unknown command "inf"; did you mean info?`},
		{[]string{"--log-level=debug", "sweeep", "--aps", "1"}, "did you mean sweep?"},
		{[]string{"ob", "raed"}, `stprobe ob: unknown sub-command "raed"; did you mean read?`},
		{[]string{"da", "discovr"}, "did you mean discover?"},
		{[]string{"sim", "lsit"}, "did you mean list?"},
		{[]string{"mem", "reed"}, "did you mean read?"},
		{[]string{"boot", "prob"}, "did you mean probe?"},
	}
	for _, tt := range tests {
		code, out, errOut := runCmd(t, tt.args...)
		if code != ExitUsage || out != "" || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", tt.args, code, out, errOut, tt.want)
		}
	}
	// Nothing close: no suggestion, and a real unknown flag is still one.
	if _, _, errOut := runCmd(t, "frobnicate"); strings.Contains(errOut, "did you mean") {
		t.Errorf("frobnicate: stderr %q suggests a command", errOut)
	}
	if code, _, errOut := runCmd(t, "--sim", "h533-open", "info", "--jsn"); code != ExitUsage || !strings.Contains(errOut, "unknown flag: --jsn") {
		t.Errorf("info --jsn: exit %d, stderr %q", code, errOut)
	}
}
