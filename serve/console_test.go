package serve

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/internal/peertest"
	"github.com/stprobe/stprobe/tui"
)

// realConsole is the console stprobe serves.
func realConsole(ctx context.Context, b *bench.Bench, who bench.Holder, observer bool, env []string) tea.Model {
	return tui.New(ctx, b, who, tui.Options{Env: env, ReadOnly: observer, NoIdentify: true})
}

// tmuxTerm is one ssh client running in its own tmux window (a real
// terminal, 100×30), read with capture-pane.
type tmuxTerm struct {
	t      *testing.T
	socket string
	name   string
}

func (ts *testServer) tmux(t *testing.T, key, user string) *tmuxTerm {
	t.Helper()
	peertest.Need(t, "tmux", "tmux")
	tt := &tmuxTerm{t: t, socket: "stprobe-serve-test-" + fmt.Sprint(os.Getpid()), name: user}
	args := append([]string{"-L", tt.socket, "new-session", "-d", "-s", user, "-x", "100", "-y", "30",
		"env", "TERM=xterm-256color", "ssh"}, ts.sshArgs(key, "-tt", user+"@127.0.0.1")...)
	if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("tmux", "-L", tt.socket, "kill-session", "-t", user).Run() })
	return tt
}

func (tt *tmuxTerm) screen() string {
	out, _ := exec.Command("tmux", "-L", tt.socket, "capture-pane", "-p", "-t", tt.name).Output()
	return string(out)
}

func (tt *tmuxTerm) keys(keys ...string) {
	args := append([]string{"-L", tt.socket, "send-keys", "-t", tt.name}, keys...)
	if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
		tt.t.Fatalf("send-keys: %v: %s", err, out)
	}
}

// waitFor waits (bounded, never timed) until the screen holds want.
func (tt *tmuxTerm) waitFor(want string) string {
	tt.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := tt.screen()
		if strings.Contains(s, want) {
			return s
		}
		if time.Now().After(deadline) {
			tt.t.Fatalf("%s's screen never showed %q:\n%s", tt.name, want, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill drops the session's connection as a network failure would.
func (tt *tmuxTerm) kill() {
	exec.Command("tmux", "-L", tt.socket, "kill-session", "-t", tt.name).Run()
}

func TestTwoSessionsShareOneBench(t *testing.T) {
	dir := t.TempDir()
	alice, bob := testKey(t, dir, "alice"), testKey(t, dir, "bob")
	ts := startServer(t, []string{pub(t, alice), pub(t, bob)}, Config{}, realConsole)
	a := ts.tmux(t, alice, "alice")
	a.waitFor("you hold the probe")
	b := ts.tmux(t, bob, "bob")
	b.waitFor("alice holds the probe")

	// the observer's job is refused with the reason
	b.keys("s")
	b.waitFor("another session holds the probe: alice")

	// the operator's sweep fills the observer's grid live
	a.keys("s")
	b.waitFor("Under Reset AP1")
	b.waitFor("PROVISIONING, no DA provisioned")

	// hand-over: bob asks, alice hands it over
	b.keys("L")
	a.waitFor("bob asks for the probe")
	a.keys("H")
	b.waitFor("the probe was handed to you")
	if l := ts.srv.cfg.Bench.Snapshot().Lease; l == nil || l.Holder.Name != "bob" || !strings.HasPrefix(l.Holder.Fingerprint, "SHA256:") {
		t.Errorf("lease after the hand-over: %+v", l)
	}

	// dropping the operator's connection frees the lease
	b.kill()
	deadline := time.Now().Add(30 * time.Second)
	for ts.srv.cfg.Bench.Snapshot().Lease != nil {
		if time.Now().After(deadline) {
			t.Fatalf("the dropped operator still holds the lease: %+v", ts.srv.cfg.Bench.Snapshot().Lease)
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.keys("L")
	a.waitFor("you hold the probe")
	for _, want := range []string{`"msg":"lease changed"`, `"reason":"handed over by alice`} {
		if !strings.Contains(ts.logText(), want) {
			t.Errorf("server log lacks %s", want)
		}
	}
}

func TestObserverKeyCannotTakeTheProbe(t *testing.T) {
	dir := t.TempDir()
	eve := testKey(t, dir, "eve")
	ts := startServer(t, []string{RoleOption + " " + pub(t, eve)}, Config{}, realConsole)
	e := ts.tmux(t, eve, "eve")
	e.waitFor("Matrix")
	e.keys("L")
	e.waitFor("this session may only observe")
	e.keys("s")
	if l := ts.srv.cfg.Bench.Snapshot().Lease; l != nil {
		t.Errorf("an observer key took the lease: %+v", l)
	}
}
