package dapane

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/cli"
	"github.com/stprobe/stprobe/targets/stm32h5/dacred"
)

// The console and the CLI give the same answer for the same chip: the
// bench's (Snapshot.MayDA). The console tells it before any plan, with
// the key of the next step; the CLI's plan is refused with the same
// sentence and the command of the next step.
func TestConsoleAndCLIRefuseAlike(t *testing.T) {
	dir := t.TempDir()
	runCLI := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := cli.Run(context.Background(), cli.Config{}, args, nil, &out, &errOut)
		return code, errOut.String()
	}
	if code, errOut := runCLI("da", "make-password", "--part", "H533", "--out", dir); code != 0 {
		t.Fatalf("make-password: exit %d: %s", code, errOut)
	}
	pw, obk := filepath.Join(dir, dacred.PasswordFile), filepath.Join(dir, dacred.PasswordOBKFile)
	for _, tc := range []struct {
		scenario string
		action   bench.DAAction
		key      string
		args     []string
		// consoleNext and cliNext name the next step in each face's words.
		consoleNext, cliNext string
	}{
		{"h533-locked", bench.DARegress, "R", []string{"da", "regress", "--password", pw}, "", ""},
		{"h533-tz-closed-no-da", bench.DARegress, "R", []string{"da", "regress", "--password", pw}, "(p)", "next: stprobe --sim h533-tz-closed-no-da da provision --obk FILE"},
		{"h533-provisioning-da", bench.DAOpenDebug, "o", []string{"da", "open-debug", "--password", pw}, "", ""},
		{"h533-open", bench.DAProvision, "p", []string{"da", "provision", "--part", "H533", "--obk", obk}, "(in the option-byte pane)", "next: stprobe --sim h533-open ob plan PRODUCT_STATE=0x17"},
	} {
		t.Run(tc.scenario+" "+string(tc.action), func(t *testing.T) {
			e := newEnv(t, tc.scenario, true)
			e.Keys("d")
			ans := e.C.Snapshot().MayDA(tc.action)
			if ans.OK || ans.Problem == "" {
				t.Fatalf("the bench lets %s run on %s: %+v", tc.action, tc.scenario, ans)
			}
			e.Keys(tc.key)
			want := strings.TrimSpace("unavailable: " + ans.Sentence() + " " + tc.consoleNext)
			if st := e.LastStatus(); !strings.HasSuffix(st, want) {
				t.Errorf("console: %q, want the bench's answer %q and %q", st, ans.Sentence(), tc.consoleNext)
			}
			args := append([]string{"--sim", tc.scenario}, tc.args...)
			args = append(args, "--state-dir", t.TempDir())
			code, errOut := runCLI(args...)
			if code == 0 || !strings.Contains(errOut, ans.Sentence()) || !strings.Contains(errOut, tc.cliNext) {
				t.Errorf("CLI: exit %d, stderr %q; want the bench's answer %q and %q", code, errOut, ans.Sentence(), tc.cliNext)
			}
		})
	}
}
