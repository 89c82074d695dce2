package serve

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	gossh "golang.org/x/crypto/ssh"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/internal/peertest"
	"github.com/stprobe/stprobe/tui"
)

// startSharing serves a simulated bench over SSH and shares its probe as
// an stlink-server on a free loopback port.
func startSharing(t *testing.T, authorized []string, console Console) (*testServer, string) {
	t.Helper()
	cfg := Config{StlinkServer: "127.0.0.1:0", StateDir: t.TempDir(), LocalHolder: bench.Holder{Name: "local"}}
	ts := startServerOn(t, "h533-open", authorized, cfg, console)
	deadline := time.Now().Add(30 * time.Second)
	for ts.srv.SharedAddr() == "" {
		if time.Now().After(deadline) {
			t.Fatal("the server never shared the probe")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return ts, ts.srv.SharedAddr()
}

// goClient logs in with key as user through the SSH library's client.
func goClient(t *testing.T, ts *testServer, key, user string) *gossh.Client {
	t.Helper()
	pem, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	c, err := gossh.Dial("tcp", "127.0.0.1:"+ts.port, &gossh.ClientConfig{
		User: user, Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatalf("ssh login as %s: %v", user, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestForwardOnlyOperatorsToTheSharedServer(t *testing.T) {
	dir := t.TempDir()
	alice, olga, nora := testKey(t, dir, "alice"), testKey(t, dir, "olga"), testKey(t, dir, "nora")
	ts, shared := startSharing(t, []string{
		pub(t, alice),
		RoleOption + " " + pub(t, olga),
		"no-port-forwarding " + pub(t, nora),
	}, nil)
	_, port, _ := net.SplitHostPort(shared)
	cases := []struct {
		name, key, user, dest string
		ok                    bool
	}{
		{"operator to the shared server", alice, "alice", shared, true},
		{"operator by localhost", alice, "alice", "localhost:" + port, true},
		{"operator elsewhere", alice, "alice", "127.0.0.1:" + ts.port, false},
		{"operator to another port", alice, "alice", "127.0.0.1:1", false},
		{"observer", olga, "olga", shared, false},
		{"no-port-forwarding", nora, "nora", shared, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := goClient(t, ts, c.key, c.user)
			conn, err := cl.Dial("tcp", c.dest)
			if c.ok != (err == nil) {
				t.Fatalf("forwarding to %s: err %v, want ok=%v", c.dest, err, c.ok)
			}
			if err != nil {
				if !strings.Contains(err.Error(), "administratively prohibited") {
					t.Errorf("refusal %q is not 'prohibited'", err)
				}
				return
			}
			conn.Close()
		})
	}
	log := ts.logText()
	for _, want := range []string{"observers may not use the probe", "no-port-forwarding", "is not the shared stlink-server"} {
		if !strings.Contains(log, want) {
			t.Errorf("server log lacks %q", want)
		}
	}
}

// freePort is a loopback port nothing listens on (for ssh -L).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestOpenOCDThroughSSHForward is the recipe: serve with the probe
// shared, the operator's real `ssh -L`, stock OpenOCD through it reading
// and writing RAM, halting and resuming, while an observer's console shows
// who uses the probe through which tool.
func TestOpenOCDThroughSSHForward(t *testing.T) {
	openocd := peertest.Need(t, "openocd", "openocd")
	dir := t.TempDir()
	alice, olga := testKey(t, dir, "alice"), testKey(t, dir, "olga")
	console := func(ctx context.Context, b *bench.Bench, who bench.Holder, observer bool, env []string) tea.Model {
		return tui.New(ctx, b, who, tui.Options{Env: env, ReadOnly: observer})
	}
	ts, shared := startSharing(t, []string{pub(t, alice), RoleOption + " " + pub(t, olga)}, console)
	watcher := ts.open(t, olga, "olga")
	watcher.waitFor(t, "observer")

	local := freePort(t)
	fwd := exec.Command("ssh", ts.sshArgs(alice, "-N", "-o", "ExitOnForwardFailure=yes",
		"-L", fmt.Sprintf("127.0.0.1:%d:%s", local, shared), "alice@127.0.0.1")...)
	if err := fwd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fwd.Process.Kill(); fwd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", local))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ssh -L never listened on %d", local)
		}
		time.Sleep(20 * time.Millisecond)
	}

	cfg, _ := filepath.Abs("../testdata/stm32h5-openocd.cfg")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, openocd,
		"-f", "interface/stlink-dap.cfg", "-c", fmt.Sprintf("st-link backend tcp %d", local), "-c", "transport select dapdirect_swd",
		"-f", cfg,
		"-c", "init", "-c", "halt", "-c", "mww 0x20000000 0xCAFEF00D", "-c", "mdw 0x20000000",
		"-c", "sleep 1500", "-c", "resume", "-c", "stm32h5.cpu curstate", "-c", "shutdown").CombinedOutput()
	if err != nil {
		t.Fatalf("openocd through ssh -L: %v\n%s", err, out)
	}
	for _, want := range []string{"halted due to debug-request", "0x20000000: cafef00d", "\nrunning\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("OpenOCD output lacks %q:\n%s", want, out)
		}
	}
	// the observer saw alice's OpenOCD in the console's footer
	deadline = time.Now().Add(30 * time.Second)
	for !strings.Contains(ansi.Strip(watcher.output()), "OpenOCD via alice's SSH session") {
		if time.Now().After(deadline) {
			t.Fatalf("the observer's console never showed alice's OpenOCD:\n%s", ansi.Strip(watcher.output()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	b := ts.srv.cfg.Bench
	deadline = time.Now().Add(30 * time.Second)
	for len(b.Tools()) != 0 || b.Snapshot().Lease != nil {
		if time.Now().After(deadline) {
			t.Fatalf("after OpenOCD left: tools %+v, lease %+v", b.Tools(), b.Snapshot().Lease)
		}
		time.Sleep(20 * time.Millisecond)
	}
	log := ts.logText()
	if !strings.Contains(log, "tool opened the shared probe") || !strings.Contains(log, `"holder":"alice (ssh 127.0.0.1:`) {
		t.Errorf("server log lacks alice's tool:\n%s", log)
	}
}
