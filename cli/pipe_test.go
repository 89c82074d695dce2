package cli

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/statefile"
)

// `stprobe ob apply … | head -c1`: the reader of stdout goes away while
// the progress lines go on on stderr, so no write to stdout raises
// SIGPIPE before the write is done. The closed pipe must stop the write
// all the same, as SIGPIPE does: exit status 1, the chip unchanged and
// locked or the change recorded.
func TestClosedStdoutStopsApply(t *testing.T) {
	bin := buildStprobe(t)
	for _, step := range []string{"backup: saved", "unlock:"} {
		t.Run(step, func(t *testing.T) {
			b := newSimBoard(t, "h533-open")
			dir := t.TempDir()
			change := []string{"PRODUCT_STATE=0x17", "IWDG_SW=0"}
			p := planOver(t, b, dir, change)
			args := append(append([]string{"--server", b.addr, "--probe", b.serial, "ob", "apply"}, change...), "--confirm", p.Phrase, "--state-dir", dir)
			if p.NeedsOverride {
				args = append(args, "--override-brick")
			}
			cmd := exec.Command(bin, args...)
			cmd.Env = append(os.Environ(), statefile.StateDirEnv+"="+t.TempDir())
			outR, outW, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			errR, errW, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stdout, cmd.Stderr = outW, errW
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			outW.Close()
			errW.Close()
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			t.Cleanup(func() { cmd.Process.Kill(); outR.Close(); errR.Close() })
			// head -c1: one byte, then the reader is gone
			if _, err := outR.Read(make([]byte, 1)); err != nil {
				t.Fatalf("reading stdout: %v", err)
			}
			var stderr strings.Builder
			sc := bufio.NewScanner(errR)
			seen := false
			for sc.Scan() {
				stderr.WriteString(sc.Text() + "\n")
				if m := progressRE.FindStringSubmatch(sc.Text()); m != nil && strings.HasPrefix(m[1], step) {
					seen = true
					break
				}
			}
			if !seen {
				t.Fatalf("no progress line %q:\n%s", step, stderr.String())
			}
			outR.Close()
			go func() {
				for sc.Scan() {
					stderr.WriteString(sc.Text() + "\n")
				}
			}()
			select {
			case err = <-done:
			case <-time.After(time.Minute):
				t.Fatalf("still running a minute after stdout closed")
			}
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				t.Fatal(err)
			}
			code := cmd.ProcessState.ExitCode()
			if code != 1 {
				t.Fatalf("exit %d after stdout closed at %q, want 1 (stopped)", code, step)
			}
			t.Logf("stdout closed after %q: %s", step, checkAfterChild(t, "closed stdout", b, p, dir, code, ""))
		})
	}
}
