package tui

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/internal/peertest"
)

// The end-to-end test runs this test binary as the console on a real
// terminal (tmux): with childEnv set, TestMain runs the console on that
// simulated board instead of the tests.
const (
	childEnv = "STPROBE_TUI_CHILD"
	stateEnv = "STPROBE_TUI_STATE"
)

func TestMain(m *testing.M) {
	if sc := os.Getenv(childEnv); sc != "" {
		os.Exit(runChild(sc))
	}
	os.Exit(m.Run())
}

// runChild runs the console on scenario until the user quits.
func runChild(scenario string) int {
	log := logrus.New()
	log.SetOutput(io.Discard)
	ctx := context.Background()
	b, _, err := bench.Open(ctx, bench.Selector{Sim: scenario}, bench.Options{Log: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer b.Close()
	if err := Run(ctx, b, bench.Holder{Name: "e2e"}, Options{StateDir: os.Getenv(stateEnv)}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// terminal is a tmux server of the test's own, running the console.
type terminal struct {
	t    *testing.T
	tmux string
	sock string
}

func (tm *terminal) run(args ...string) (string, error) {
	out, err := exec.Command(tm.tmux, append([]string{"-L", tm.sock}, args...)...).CombinedOutput()
	return string(out), err
}

// screen is the visible screen.
func (tm *terminal) screen() string {
	out, _ := tm.run("capture-pane", "-p", "-t", "console")
	return out
}

// keys types keys (tmux key names).
func (tm *terminal) keys(keys ...string) {
	tm.t.Helper()
	if out, err := tm.run(append([]string{"send-keys", "-t", "console"}, keys...)...); err != nil {
		tm.t.Fatalf("send-keys %v: %v: %s", keys, err, out)
	}
}

// waitFor waits until the screen shows every text (the bound is generous:
// the console is fast, the machine may be busy).
func (tm *terminal) waitFor(texts ...string) string {
	tm.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := tm.screen()
		missing := ""
		for _, x := range texts {
			if !strings.Contains(s, x) {
				missing = x
				break
			}
		}
		if missing == "" {
			return s
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("the screen never showed %q:\n%s", missing, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestOnTerminal drives the console in tmux on the seed board at 80×24
// and 160×48: identify, sweep, the rescue finding, its first step opening
// the option-byte pane with TZEN=0xC3 planned, and quitting.
func TestOnTerminal(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		peertest.Missing(t, "tmux not installed")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, sz := range []struct{ w, h int }{{80, 24}, {160, 48}} {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			tm := &terminal{t: t, tmux: tmux, sock: fmt.Sprintf("stprobe-tui-test-%d-%d", os.Getpid(), sz.w)}
			t.Cleanup(func() { tm.run("kill-server") })
			out, err := tm.run("new-session", "-d", "-s", "console", "-x", fmt.Sprint(sz.w), "-y", fmt.Sprint(sz.h),
				"-e", childEnv+"=h533-provisioning", "-e", stateEnv+"="+t.TempDir(), "-e", "TERM=xterm-256color", exe)
			if err != nil {
				t.Fatalf("starting tmux: %v: %s", err, out)
			}
			tm.waitFor("SIMULATED h533-provisioning", "PROVISIONING", "you hold the probe", "No sweep yet")
			tm.keys("s")
			tm.waitFor("Hot Plug AP1", "✔ ok", "‼ PROVISIONING", "sweep done")
			tm.keys("f")
			tm.waitFor("Next: Do this before anything else", "Plan TZEN=0xC3")
			tm.keys("Enter")
			s := tm.waitFor("▸2 Option bytes", "TZEN")
			if !strings.Contains(s, "0xC3") {
				t.Errorf("the option-byte pane does not show the planned TZEN=0xC3:\n%s", s)
			}
			tm.keys("1")
			tm.waitFor("▸1 Matrix")
			tm.keys("q")
			deadline := time.Now().Add(30 * time.Second)
			for {
				if _, err := tm.run("has-session", "-t", "console"); err != nil {
					break // the console quit and the session closed
				}
				if time.Now().After(deadline) {
					t.Fatalf("q did not quit:\n%s", tm.screen())
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}
