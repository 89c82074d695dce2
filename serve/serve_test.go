package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/creack/pty"
	"github.com/sirupsen/logrus"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/internal/peertest"
)

// testKey makes an ed25519 key pair in dir and returns the private key path.
func testKey(t *testing.T, dir, name string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	return path
}

func pub(t *testing.T, key string) string {
	t.Helper()
	b, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// stubConsole shows who the session is and quits on q.
type stubConsole struct {
	who      bench.Holder
	observer bool
}

func (m stubConsole) Init() tea.Cmd { return nil }
func (m stubConsole) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok && k.String() == "q" {
		return m, tea.Quit
	}
	return m, nil
}
func (m stubConsole) View() tea.View {
	return tea.NewView(fmt.Sprintf("CONSOLE user=%s observer=%v fp=%s", m.who.Name, m.observer, m.who.Fingerprint))
}

// testServer serves a simulated bench on loopback.
type testServer struct {
	dir, port string
	srv       *Server
	log       *bytes.Buffer
	logMu     *sync.Mutex
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (ts *testServer) logText() string {
	ts.logMu.Lock()
	defer ts.logMu.Unlock()
	return ts.log.String()
}

func startServer(t testing.TB, authorized []string, cfg Config, console Console) *testServer {
	t.Helper()
	return startServerOn(t, "h533-provisioning", authorized, cfg, console)
}

// startServerOn is startServer on the simulated board of scenario.
func startServerOn(t testing.TB, scenario string, authorized []string, cfg Config, console Console) *testServer {
	t.Helper()
	peertest.Need(t, "ssh", "openssh-client")
	dir := t.TempDir()
	ts := &testServer{dir: dir, log: &bytes.Buffer{}, logMu: &sync.Mutex{}}
	lg := logrus.New()
	lg.SetOutput(lockedWriter{ts.logMu, ts.log})
	lg.SetLevel(logrus.InfoLevel)
	lg.SetFormatter(&logrus.JSONFormatter{})
	b, _, err := bench.Open(context.Background(), bench.Selector{Sim: scenario}, bench.Options{Log: lg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ak := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(ak, []byte(strings.Join(authorized, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.AuthorizedKeys, cfg.HostKey, cfg.Bench, cfg.Log = ak, filepath.Join(dir, "host", "ed25519"), b, lg
	if console == nil {
		console = func(_ context.Context, _ *bench.Bench, who bench.Holder, observer bool, _ []string) tea.Model {
			return stubConsole{who, observer}
		}
	}
	cfg.Console = console
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = ln.Addr().String()
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.srv = srv
	ts.port = fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeListener(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return ts
}

// sshArgs are the client options of every test: no config, no known hosts,
// only the given key.
func (ts *testServer) sshArgs(key string, extra ...string) []string {
	args := []string{"-F", "/dev/null", "-p", ts.port,
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
		"-o", "ConnectTimeout=10"}
	if key != "" {
		args = append(args, "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-i", key)
	}
	return append(args, extra...)
}

// runSSH runs ssh to completion with a deadline.
func runSSH(t *testing.T, args []string, stdin string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// interactive is an ssh session on a terminal (a pty of 100×30) whose
// output is watched.
type interactive struct {
	cmd   *exec.Cmd
	stdin io.Writer
	mu    sync.Mutex
	out   bytes.Buffer
	done  chan error
}

func (ts *testServer) open(t *testing.T, key, user string) *interactive {
	t.Helper()
	args := ts.sshArgs(key, "-tt", user+"@127.0.0.1")
	s := &interactive{cmd: exec.Command("ssh", args...), done: make(chan error, 1)}
	s.cmd.Env = append(os.Environ(), "TERM=xterm-256color")
	tty, err := pty.StartWithSize(s.cmd, &pty.Winsize{Rows: 30, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	s.stdin = tty
	copied := make(chan struct{})
	go func() { defer close(copied); io.Copy(lockedWriter{&s.mu, &s.out}, tty) }()
	go func() { err := s.cmd.Wait(); tty.Close(); <-copied; s.done <- err }()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
		}
	})
	return s
}

func (s *interactive) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// waitFor waits until the output holds want (bounded: the test fails after
// a generous deadline, it never measures speed).
func (s *interactive) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(s.output(), want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("waited for %q; output:\n%s", want, s.output())
}

func TestListedKeyGetsTheConsole(t *testing.T) {
	dir := t.TempDir()
	alice := testKey(t, dir, "alice")
	ts := startServer(t, []string{pub(t, alice)}, Config{}, nil)
	s := ts.open(t, alice, "alice")
	s.waitFor(t, "CONSOLE user=alice observer=false fp=SHA256:")
	io.WriteString(s.stdin, "q")
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("the session did not end after q")
	}
	if !strings.Contains(ts.logText(), `"msg":"authenticated"`) || !strings.Contains(ts.logText(), `"msg":"session started"`) {
		t.Errorf("server log lacks authentication and session lines:\n%s", ts.logText())
	}
}

func TestUnlistedKeyAndPasswordAreRefused(t *testing.T) {
	dir := t.TempDir()
	alice, mallory := testKey(t, dir, "alice"), testKey(t, dir, "mallory")
	ts := startServer(t, []string{pub(t, alice)}, Config{}, nil)
	out, err := runSSH(t, ts.sshArgs(mallory, "-o", "BatchMode=yes", "-tt", "mallory@127.0.0.1"), "")
	if err == nil || !strings.Contains(out, "Permission denied") {
		t.Errorf("unlisted key: err %v, output %q", err, out)
	}
	out, err = runSSH(t, ts.sshArgs("", "-o", "BatchMode=yes", "-o", "PubkeyAuthentication=no",
		"-o", "PreferredAuthentications=password,keyboard-interactive", "-tt", "alice@127.0.0.1"), "")
	if err == nil || !strings.Contains(out, "Permission denied (publickey)") {
		t.Errorf("password attempt: err %v, output %q", err, out)
	}
	if !strings.Contains(ts.logText(), "authentication refused: key not authorized") {
		t.Errorf("server log lacks the refusal:\n%s", ts.logText())
	}
}

// TestSessionWithoutPTYGetsTheMessage: a session without a terminal, with
// or without a command, is told in one line that the console needs one
// (ssh -t) and ends with a non-zero status; a command is named as not run.
func TestSessionWithoutPTYGetsTheMessage(t *testing.T) {
	dir := t.TempDir()
	alice := testKey(t, dir, "alice")
	ts := startServer(t, []string{pub(t, alice)}, Config{}, nil)
	tests := []struct {
		name    string
		command []string
		want    string
	}{
		{"no command", nil, "stprobe: the console needs a terminal: connect with ssh -t (this session has none)\n"},
		{"a command", []string{"sweep"}, "stprobe: the console needs a terminal: connect with ssh -t and no command: \"sweep\" is not run over SSH\n"},
	}
	for _, tt := range tests {
		out, err := runSSH(t, ts.sshArgs(alice, append([]string{"-T", "alice@127.0.0.1"}, tt.command...)...), "")
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != ExitNoPTY {
			t.Errorf("%s: err %v, want exit status %d", tt.name, err, ExitNoPTY)
		}
		if out != tt.want {
			t.Errorf("%s: output %q, want %q", tt.name, out, tt.want)
		}
	}
}

func TestAuthorizedKeysAreReadAgainWhenChanged(t *testing.T) {
	dir := t.TempDir()
	alice, bob := testKey(t, dir, "alice"), testKey(t, dir, "bob")
	ts := startServer(t, []string{pub(t, alice)}, Config{}, nil)
	if out, err := runSSH(t, ts.sshArgs(bob, "-o", "BatchMode=yes", "-tt", "bob@127.0.0.1"), ""); err == nil {
		t.Fatalf("bob got in before his key was added: %s", out)
	}
	lines := pub(t, alice) + "\n" + RoleOption + " " + pub(t, bob) + "\n"
	// a different size makes the change visible whatever the clock's grain
	if err := os.WriteFile(filepath.Join(ts.dir, "authorized_keys"), []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	s := ts.open(t, bob, "bob")
	s.waitFor(t, "CONSOLE user=bob observer=true")
}

func TestReadOnlyServerMakesEveryoneAnObserver(t *testing.T) {
	dir := t.TempDir()
	alice := testKey(t, dir, "alice")
	ts := startServer(t, []string{pub(t, alice)}, Config{ReadOnly: true}, nil)
	ts.open(t, alice, "alice").waitFor(t, "CONSOLE user=alice observer=true")
}

func TestRolesFileLimitsAKey(t *testing.T) {
	dir := t.TempDir()
	alice := testKey(t, dir, "alice")
	roles := filepath.Join(dir, "roles")
	os.WriteFile(roles, []byte("# who role\nalice observer\n"), 0o600)
	ts := startServer(t, []string{pub(t, alice)}, Config{Roles: roles}, nil)
	ts.open(t, alice, "alice").waitFor(t, "CONSOLE user=alice observer=true")
}

func TestAPanickingSessionDoesNotStopTheServer(t *testing.T) {
	dir := t.TempDir()
	alice := testKey(t, dir, "alice")
	calls := 0
	var mu sync.Mutex
	console := func(_ context.Context, _ *bench.Bench, who bench.Holder, observer bool, _ []string) tea.Model {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			panic("console exploded")
		}
		return stubConsole{who, observer}
	}
	ts := startServer(t, []string{pub(t, alice)}, Config{}, console)
	runSSH(t, ts.sshArgs(alice, "-tt", "alice@127.0.0.1"), "")
	ts.open(t, alice, "alice").waitFor(t, "CONSOLE user=alice")
	if !strings.Contains(ts.logText(), "session panicked") {
		t.Errorf("the panic was not logged:\n%s", ts.logText())
	}
}

func TestSessionCap(t *testing.T) {
	dir := t.TempDir()
	alice := testKey(t, dir, "alice")
	ts := startServer(t, []string{pub(t, alice)}, Config{MaxSessions: 1}, nil)
	ts.open(t, alice, "alice").waitFor(t, "CONSOLE")
	out, _ := runSSH(t, ts.sshArgs(alice, "-tt", "alice@127.0.0.1"), "")
	if !strings.Contains(out, "already serves 1 sessions") {
		t.Errorf("second session past the cap: %q", out)
	}
}

func TestParseRoles(t *testing.T) {
	for _, c := range []struct {
		in   string
		bad  bool
		want map[string]Role
	}{
		{in: "alice observer\nSHA256:abc operator # the lead\n", want: map[string]Role{"alice": RoleObserver, "SHA256:abc": RoleOperator}},
		{in: "", want: map[string]Role{}},
		{in: "alice admin\n", bad: true},
		{in: "alice\n", bad: true},
	} {
		got, err := ParseRoles([]byte(c.in))
		if (err != nil) != c.bad {
			t.Errorf("%q: err %v", c.in, err)
			continue
		}
		if !c.bad && fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%q: %v, want %v", c.in, got, c.want)
		}
	}
	if _, err := ParseAuthorizedKeys([]byte("ssh-ed25519 notbase64!! x\n")); err == nil {
		t.Errorf("a broken key line was accepted")
	}
	if _, err := New(Config{}); err == nil {
		t.Errorf("New without a bench was accepted")
	}
}

// quitDuringWrite is a console that ends at once the way the real one does
// when its user insists on quitting during a write.
type quitDuringWrite struct{ err error }

func (q *quitDuringWrite) Init() tea.Cmd                       { return tea.Quit }
func (q *quitDuringWrite) Update(tea.Msg) (tea.Model, tea.Cmd) { return q, nil }
func (q *quitDuringWrite) View() tea.View                      { return tea.NewView("") }
func (q *quitDuringWrite) ExitErr() error                      { return q.err }

// A console that quit during its write: the client is told the write's
// outcome and the session exits 1, as the command line does.
func TestSessionEndedDuringWriteExitsNonZero(t *testing.T) {
	dir := t.TempDir()
	alice := testKey(t, dir, "alice")
	ts := startServer(t, []string{pub(t, alice)}, Config{}, func(context.Context, *bench.Bench, bench.Holder, bool, []string) tea.Model {
		return &quitDuringWrite{err: errors.New("console: quit during the ob apply: cancelled: staged and undone (nothing was applied)")}
	})
	out, err := runSSH(t, ts.sshArgs(alice, "-tt", "alice@127.0.0.1"), "")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("exit: %v, want status 1", err)
	}
	if !strings.Contains(out, "stprobe: console: quit during the ob apply: cancelled: staged and undone") {
		t.Errorf("output %q lacks the write's outcome", out)
	}
}

// A key named op1 logging in as the user op2 is op1 on the bench: the name
// others see and the audit records is the key's own, the login user only
// beside it.
func TestIdentityIsTheKeysOwnName(t *testing.T) {
	dir := t.TempDir()
	op1 := testKey(t, dir, "op1")
	ts := startServer(t, []string{pub(t, op1)}, Config{}, func(_ context.Context, _ *bench.Bench, who bench.Holder, observer bool, _ []string) tea.Model {
		return stubConsole{bench.Holder{Name: who.Name + " session=" + strings.ReplaceAll(who.Session, " ", "_")}, observer}
	})
	s := ts.open(t, op1, "op2")
	s.waitFor(t, "CONSOLE user=op1 session=ssh_")
	s.waitFor(t, ",_login_as_op2")
}
