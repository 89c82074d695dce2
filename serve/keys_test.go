package serve

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/bench"
)

const edKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"

func TestParseAuthorizedKeyOptions(t *testing.T) {
	future, past := time.Now().Add(24*time.Hour).UTC().Format("20060102")+"Z", "20000101"
	for _, c := range []struct {
		options string
		refused string // part of the reason; empty: admitted
		role    Role
		from    string // an address the line must admit; "!" prefix: refuse
	}{
		{options: "", role: RoleOperator},
		{options: RoleOption, role: RoleObserver},
		{options: `environment="STPROBE_ROLE=operator"`, role: RoleOperator},
		{options: `environment="LANG=C"`, refused: "STPROBE_ROLE"},
		{options: "restrict", role: RoleObserver},
		{options: "restrict,pty", role: RoleObserver},
		{options: "no-pty", refused: "needs a terminal"},
		{options: "no-pty,pty", role: RoleOperator},
		{options: `restrict,no-pty,command="/bin/true"`, refused: "command"},
		{options: `command="sweep"`, refused: "runs no command"},
		{options: "no-agent-forwarding,no-port-forwarding,no-X11-forwarding,no-user-rc", role: RoleOperator},
		{options: "agent-forwarding", refused: `"agent-forwarding" is not understood`},
		{options: `permitopen="host:22"`, refused: "not understood"},
		{options: "cert-authority", refused: "not understood"},
		{options: `from="10.9.9.9"`, role: RoleOperator, from: "!127.0.0.1"},
		{options: `from="10.9.9.9"`, role: RoleOperator, from: "10.9.9.9"},
		{options: `from="10.0.0.0/8,!10.9.9.9"`, role: RoleOperator, from: "!10.9.9.9"},
		{options: `from="10.0.0.0/8,!10.9.9.9"`, role: RoleOperator, from: "10.1.2.3"},
		{options: `from="127.0.0.?"`, role: RoleOperator, from: "127.0.0.1"},
		{options: `from="::1"`, role: RoleOperator, from: "::1"},
		{options: `from="*.example.com"`, refused: "host name"},
		{options: `from="10.0.0.0/33"`, refused: "CIDR"},
		{options: `expiry-time="` + future + `"`, role: RoleOperator},
		{options: `expiry-time="2024"`, refused: "YYYYMMDD"},
		{options: `expiry-time="` + past + `"`, role: RoleOperator, from: "!127.0.0.1"},
	} {
		line := edKey + " someone"
		if c.options != "" {
			line = c.options + " " + line
		}
		keys, err := ParseAuthorizedKeys([]byte(line + "\n"))
		if err != nil || len(keys) != 1 {
			t.Errorf("%s: %d keys, %v", c.options, len(keys), err)
			continue
		}
		ak := keys[0]
		if c.refused != "" {
			if !strings.Contains(ak.refused, c.refused) {
				t.Errorf("%s: refused %q, want it refused for %q", c.options, ak.refused, c.refused)
			}
			continue
		}
		if ak.refused != "" || ak.role != c.role {
			t.Errorf("%s: refused %q role %v, want admitted as %v", c.options, ak.refused, ak.role, c.role)
			continue
		}
		kr := &keyring{keys: keys}
		addr := strings.TrimPrefix(c.from, "!")
		if addr == "" {
			addr = "192.0.2.7"
		}
		_, err = kr.lookup(ak.key, &net.TCPAddr{IP: net.ParseIP(addr), Port: 5000}, time.Now())
		if wantRefused := strings.HasPrefix(c.from, "!"); (err != nil) != wantRefused {
			t.Errorf("%s from %s: lookup %v", c.options, addr, err)
		}
	}
	if _, err := ParseAuthorizedKeys([]byte(edKey + " a\nssh-ed25519 AAAA!! b\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("a file with a broken line: %v", err)
	}
}

func FuzzParseAuthorizedKeys(f *testing.F) {
	for _, seed := range []string{
		edKey + " a\n",
		`from="10.0.0.0/8,!10.9.9.9",expiry-time="20300101Z" ` + edKey + " a\n",
		`restrict,no-pty,command="x \"y\"" ` + edKey + "\n",
		"# comment\n\n" + RoleOption + " " + edKey + "\n",
		`environment="STPROBE_ROLE=observer ` + edKey + "\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := ParseAuthorizedKeys(data)
		if err != nil {
			return
		}
		kr := &keyring{keys: keys}
		for _, ak := range keys {
			_, _ = kr.lookup(ak.key, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, time.Now())
		}
	})
}

// The options seen by the real ssh client: from= that does not match,
// and restrict,no-pty,command= are refused (and logged with the reason);
// restrict gives an observer.
func TestAuthorizedKeysOptionsOverSSH(t *testing.T) {
	dir := t.TempDir()
	far, cmd, watcher, odd := testKey(t, dir, "far"), testKey(t, dir, "cmd"), testKey(t, dir, "watcher"), testKey(t, dir, "odd")
	ts := startServer(t, []string{
		`from="10.9.9.9" ` + pub(t, far),
		`restrict,no-pty,command="/usr/bin/true" ` + pub(t, cmd),
		"restrict " + pub(t, watcher),
		"agent-forwarding " + pub(t, odd),
	}, Config{}, nil)
	for _, c := range []struct{ key, why string }{
		{far, `from=\"10.9.9.9\" does not match 127.0.0.1`},
		{cmd, "runs no command"},
		{odd, `line 4 (odd) is refused: option \"agent-forwarding\" is not understood`},
	} {
		out, err := runSSH(t, ts.sshArgs(c.key, "-o", "BatchMode=yes", "-tt", "x@127.0.0.1"), "")
		if err == nil || !strings.Contains(out, "Permission denied") {
			t.Errorf("%s: err %v, output %q", filepath.Base(c.key), err, out)
		}
		if !strings.Contains(ts.logText(), c.why) {
			t.Errorf("%s: the log does not say %q:\n%s", filepath.Base(c.key), c.why, ts.logText())
		}
	}
	if !strings.Contains(ts.logText(), "authorized keys line refused") {
		t.Errorf("the refused lines were not logged on reading:\n%s", ts.logText())
	}
	ts.open(t, watcher, "watcher").waitFor(t, "CONSOLE user=watcher observer=true")
}

// A deleted or broken keys file lets nobody new in; the log and the
// bench's notice (every console's footer) say so.
func TestKeysFileFailsClosed(t *testing.T) {
	for _, damage := range []string{"delete", "bad line"} {
		t.Run(damage, func(t *testing.T) {
			dir := t.TempDir()
			alice := testKey(t, dir, "alice")
			ts := startServer(t, []string{pub(t, alice)}, Config{}, nil)
			ak := filepath.Join(ts.dir, "authorized_keys")
			if damage == "delete" {
				os.Remove(ak)
			} else {
				os.WriteFile(ak, []byte(pub(t, alice)+"\nssh-ed25519 AAAA-not-base64\n"), 0o600)
			}
			out, err := runSSH(t, ts.sshArgs(alice, "-o", "BatchMode=yes", "-tt", "alice@127.0.0.1"), "")
			if err == nil || !strings.Contains(out, "Permission denied") {
				t.Fatalf("alice got in with the keys file damaged (%s): %v %q", damage, err, out)
			}
			if !strings.Contains(ts.logText(), "authorized keys unusable: nobody new can log in") {
				t.Errorf("the log does not say it:\n%s", ts.logText())
			}
			if n := ts.srv.cfg.Bench.Snapshot().Notice; !strings.Contains(n, "nobody new can log in") {
				t.Errorf("the bench's notice: %q", n)
			}
			// mended: she gets in again
			os.WriteFile(ak, []byte(pub(t, alice)+"\n\n"), 0o600)
			ts.open(t, alice, "alice").waitFor(t, "CONSOLE user=alice")
		})
	}
}

// leaseConsole takes the probe as a real console does and shows whether
// it holds it.
func leaseConsole(ctx context.Context, b *bench.Bench, who bench.Holder, observer bool, _ []string) tea.Model {
	if !observer {
		if tok, err := b.Acquire(who); err == nil {
			context.AfterFunc(ctx, func() { b.Release(tok) })
		}
	}
	return stubConsole{who, observer}
}

// A key removed while its session holds the probe: the session ends
// within seconds, told why, and the lease is released; the log says why.
func TestRemovedKeyEndsItsSession(t *testing.T) {
	for _, how := range []string{"line removed", "narrowed to observer", "file deleted", "expired"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			alice, bob := testKey(t, dir, "alice"), testKey(t, dir, "bob")
			aliceLine := pub(t, alice)
			if how == "expired" { // expires while her session runs
				aliceLine = `expiry-time="` + time.Now().Add(6*time.Second).UTC().Format("20060102150405") + `Z" ` + aliceLine
			}
			ts := startServer(t, []string{aliceLine, pub(t, bob)}, Config{KeysPoll: 100 * time.Millisecond}, leaseConsole)
			s := ts.open(t, alice, "alice")
			s.waitFor(t, "CONSOLE user=alice observer=false")
			b := ts.srv.cfg.Bench
			if l := b.Snapshot().Lease; l == nil || l.Holder.Name != "alice" {
				t.Fatalf("alice does not hold the probe: %+v", l)
			}
			ak := filepath.Join(ts.dir, "authorized_keys")
			switch how {
			case "line removed":
				os.WriteFile(ak, []byte(pub(t, bob)+"\n"), 0o600)
			case "narrowed to observer":
				os.WriteFile(ak, []byte(RoleOption+" "+pub(t, alice)+"\n"+pub(t, bob)+"\n"), 0o600)
			case "file deleted":
				os.Remove(ak)
			}
			t0 := time.Now()
			s.waitFor(t, RevokedMessage)
			t.Logf("revoked after %v", time.Since(t0))
			select {
			case err := <-s.done:
				s.done <- err // for the cleanup
				if err == nil {
					t.Errorf("ssh exited 0 after the revocation")
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("the session did not end")
			}
			t.Logf("ssh ended after %v", time.Since(t0))
			if l := b.Snapshot().Lease; l != nil {
				t.Errorf("the lease is still held: %+v", l)
			}
			if !strings.Contains(ts.logText(), "session revoked") {
				t.Errorf("the log does not say why:\n%s", ts.logText())
			}
		})
	}
}

// A garbled keys file leaves live sessions running (no key was removed),
// told in the footer; nobody new gets in.
func TestGarbledKeysFileKeepsLiveSessions(t *testing.T) {
	dir := t.TempDir()
	alice := testKey(t, dir, "alice")
	ts := startServer(t, []string{pub(t, alice)}, Config{KeysPoll: 50 * time.Millisecond}, leaseConsole)
	s := ts.open(t, alice, "alice")
	s.waitFor(t, "CONSOLE user=alice")
	os.WriteFile(filepath.Join(ts.dir, "authorized_keys"), []byte("garbage\n"), 0o600)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(ts.srv.cfg.Bench.Snapshot().Notice, "nobody new can log in") {
		if time.Now().After(deadline) {
			t.Fatalf("no notice; log:\n%s", ts.logText())
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-s.done:
		t.Fatalf("the live session ended on a garbled file:\n%s", s.output())
	default:
	}
	if l := ts.srv.cfg.Bench.Snapshot().Lease; l == nil {
		t.Errorf("the lease was released")
	}
}
