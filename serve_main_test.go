package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serveProc is `stprobe serve` run as a process on the simulated bench,
// its stderr (the announcement and the server log) collected.
type serveProc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	err  strings.Builder
	done chan struct{}
}

func (p *serveProc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err.String()
}

// startServe runs serve with the given host key path, the authorized keys
// of one fresh key.
func startServe(t *testing.T, hostKey string) *serveProc {
	t.Helper()
	dir := t.TempDir()
	ak := filepath.Join(dir, "authorized_keys")
	key := filepath.Join(dir, "id")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Skipf("ssh-keygen: %v %s", err, out)
	}
	pubKey, _ := os.ReadFile(key + ".pub")
	if err := os.WriteFile(ak, pubKey, 0o600); err != nil {
		t.Fatal(err)
	}
	p := &serveProc{cmd: exec.Command(os.Args[0]), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), mainArgsEnv+"=--sim h533-open --log-level info serve --listen 127.0.0.1:0 --authorized-keys "+ak+" --host-key "+hostKey,
		"STPROBE_STATE_DIR="+dir)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.err.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// waitFor waits (a generous minute at most) until stderr holds want.
func (p *serveProc) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(p.stderr(), want) {
		select {
		case <-p.done:
			if strings.Contains(p.stderr(), want) {
				return
			}
			t.Fatalf("serve ended (%v) before saying %q:\n%s", p.cmd.ProcessState, want, p.stderr())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not say %q:\n%s", want, p.stderr())
		}
	}
}

// running reports whether the process is still running after a moment.
func (p *serveProc) running() bool {
	select {
	case <-p.done:
		return false
	case <-time.After(500 * time.Millisecond):
		return true
	}
}

// While serving, SIGPIPE is ignored and SIGHUP reads the keys again; the
// server stops only on SIGINT or SIGTERM, and says so in its log.
func TestServeSignals(t *testing.T) {
	p := startServe(t, filepath.Join(t.TempDir(), "host_ed25519"))
	p.waitFor(t, "stprobe: serving the bench over SSH on 127.0.0.1:")
	if err := p.cmd.Process.Signal(syscall.SIGPIPE); err != nil {
		t.Fatal(err)
	}
	if !p.running() {
		t.Fatalf("serve ended on SIGPIPE (%v):\n%s", p.cmd.ProcessState, p.stderr())
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, "reading the authorized keys again")
	if !p.running() {
		t.Fatalf("serve ended on SIGHUP (%v):\n%s", p.cmd.ProcessState, p.stderr())
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		t.Fatalf("serve still running a minute after SIGTERM")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(p.stderr(), "signal SIGTERM") || !strings.Contains(p.stderr(), "server stopped") {
		t.Errorf("after SIGTERM: exit %d, log:\n%s", code, p.stderr())
	}
}

// A host key that others may read is refused, and nothing says the bench
// is served.
func TestServeRefusesExposedHostKey(t *testing.T) {
	dir := t.TempDir()
	hk := filepath.Join(dir, "host_key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hk).CombinedOutput(); err != nil {
		t.Skipf("ssh-keygen: %v %s", err, out)
	}
	if err := os.Chmod(hk, 0o644); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, hk)
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		t.Fatalf("serve still running with a world-readable host key:\n%s", p.stderr())
	}
	out := p.stderr()
	if code := p.cmd.ProcessState.ExitCode(); code == 0 || !strings.Contains(out, "readable or writable by others (mode 0644)") || strings.Contains(out, "serving the bench") {
		t.Errorf("exit %d, stderr:\n%s", code, out)
	}
}
