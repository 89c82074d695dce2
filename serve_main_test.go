package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/stprobe/stprobe/internal/peertest"
)

// serveProc is `stprobe serve` run as a process on the simulated bench,
// its stderr (the announcement and the server log) collected.
type serveProc struct {
	key  string // the private key listed in its authorized keys
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
func startServe(t *testing.T, hostKey string) *serveProc { return startServeLimited(t, hostKey, 0, "") }

// startServeLimited runs serve with its limit on open files set to
// fdLimit (0: inherited) and more flags.
func startServeLimited(t *testing.T, hostKey string, fdLimit int, flags string) *serveProc {
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
	p := &serveProc{key: key, cmd: exec.Command(os.Args[0]), done: make(chan struct{})}
	if fdLimit > 0 {
		p.cmd = exec.Command("sh", "-c", fmt.Sprintf(`ulimit -n %d && exec "$0"`, fdLimit), os.Args[0])
	}
	p.cmd.Env = append(os.Environ(), mainArgsEnv+"=--sim h533-open --log-level info serve --listen 127.0.0.1:0 --authorized-keys "+ak+" --host-key "+hostKey+" "+flags,
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

// addr is where serve said it listens.
func (p *serveProc) addr(t *testing.T) string {
	t.Helper()
	const says = "stprobe: serving the bench over SSH on "
	p.waitFor(t, says)
	rest := p.stderr()[strings.Index(p.stderr(), says)+len(says):]
	return strings.Fields(rest)[0]
}

// The flood: 1 100 silent connections to a server whose limit on
// open files is 1 024 (spread over 110 client addresses, 10 each, as many
// as one address may hold). A listed key still logs in and gets the
// console, and the server keeps running.
func TestServeLoginPastTheFileLimit(t *testing.T) {
	const silent = 1100
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		t.Skip(err)
	}
	if r.Cur < silent+256 {
		old := r
		r.Cur = min(r.Max, 4096)
		if r.Cur < silent+256 || syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r) != nil {
			t.Skipf("this test process may not open %d files", silent+256)
		}
		t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
	}
	// the handshake timeout outlasts the test: what makes room is the cap
	p := startServeLimited(t, filepath.Join(t.TempDir(), "host_ed25519"), 1024, "--handshake-timeout 5m")
	addr := p.addr(t)
	for i := range silent {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, byte(1+i/1000), byte(1+(i%1000)/10))}, Timeout: 10 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("silent connection %d: %v", i, err)
		}
		defer c.Close()
	}
	data, err := os.ReadFile(p.key)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.ParsePrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &gossh.ClientConfig{User: "alice", Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 30 * time.Second}
	conn, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute)) // an accept that never comes
	sc, chans, reqs, err := gossh.NewClientConn(conn, addr, cfg)
	if err != nil {
		t.Fatalf("the listed key could not log in past %d silent connections: %v\n%s", silent, err, p.stderr())
	}
	conn.SetDeadline(time.Time{})
	c := gossh.NewClient(sc, chans, reqs)
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var out peertest.Output
	sess.Stdout = &out
	if err := sess.RequestPty("xterm-256color", 30, 100, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for out.Len() < 500 {
		if time.Now().After(deadline) {
			t.Fatalf("no console drawn (%d bytes)", out.Len())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !p.running() {
		t.Fatalf("serve ended:\n%s", p.stderr())
	}
	if !strings.Contains(p.stderr(), "connection closed to make room") {
		t.Errorf("the log does not say connections gave way")
	}
}
