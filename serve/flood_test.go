package serve

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// raiseFileLimit raises the soft limit on open files to want (at most the
// hard limit) for the rest of the test, and returns the limit in force.
func raiseFileLimit(t *testing.T, want uint64) uint64 {
	t.Helper()
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		t.Skipf("no file limit to raise: %v", err)
	}
	old := r
	if r.Cur < want {
		r.Cur = min(want, r.Max)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
			t.Skipf("raising the file limit: %v", err)
		}
		t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
	}
	return r.Cur
}

// TestLoginUnderFlood: 1 000 silent connections (100 client addresses,
// 10 each: as many as one address may hold) and 200 SSH handshakes at
// once with keys not listed, while a listed key logs in with the real ssh
// client: it gets the console within 5 s, and the server keeps running.
// The test process holds both ends of every connection, so it raises its
// own limit on open files; the server's cap derives from that limit.
func TestLoginUnderFlood(t *testing.T) {
	const silent, handshakes = 1000, 200
	if limit := raiseFileLimit(t, 8192); limit < uint64(2*(silent+handshakes)+512) {
		t.Skipf("the limit on open files (%d) is too low for both ends of %d connections", limit, silent+handshakes)
	}
	dir := t.TempDir()
	alice := testKey(t, dir, "alice")
	ts := startServer(t, []string{pub(t, alice)}, Config{Rate: 1000, Burst: 1000, HandshakeTimeout: 2 * time.Minute}, nil)
	if max := ts.srv.cfg.MaxConnections; max != MaxConnectionsFor(fdLimit()) {
		t.Errorf("the cap %d is not derived from the file limit %d", max, fdLimit())
	}
	// the silent ones: TCP open, nothing sent (the handshake timeout is
	// longer than the test, so they are all held)
	for i := range silent {
		ts.dialFrom(t, fmt.Sprintf("127.0.1.%d", i/10+1))
	}
	// the handshakes, all at once, with a key that is not listed
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := gossh.NewSignerFromKey(priv)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range handshakes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 2, byte(i+1))}, Timeout: 30 * time.Second}
			c, err := d.Dial("tcp", net.JoinHostPort("127.0.0.1", ts.port))
			if err != nil {
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			cfg := &gossh.ClientConfig{User: "mallory", Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)}, HostKeyCallback: gossh.InsecureIgnoreHostKey(),
				Config: gossh.Config{KeyExchanges: []string{"curve25519-sha256"}}}
			if sc, _, _, err := gossh.NewClientConn(c, c.RemoteAddr().String(), cfg); err == nil {
				sc.Close()
				t.Errorf("an unlisted key logged in")
			}
		}()
	}
	close(start)
	began, cpu0 := time.Now(), cpuTime()
	s := ts.open(t, alice, "alice")
	for !strings.Contains(s.output(), "CONSOLE user=alice") {
		// 5 s, counted while this process can run: on a machine shared with
		// other work the wall clock alone would measure the others (a hard
		// minute bounds a hang).
		wall, cpu := time.Since(began), cpuTime()-cpu0
		if wall > 5*time.Second && (cpu > 5*time.Second || wall > time.Minute) {
			total, pending := ts.srv.gate.counts()
			t.Fatalf("no console within 5 s under the flood (%v, %v of CPU; %d connections, %d awaiting login); output:\n%s", wall, cpu, total, pending, s.output())
		}
		time.Sleep(10 * time.Millisecond)
	}
	took, cpu := time.Since(began), cpuTime()-cpu0
	if total, _ := ts.srv.gate.counts(); total < silent {
		t.Errorf("the server held %d connections when the key logged in, fewer than the %d silent ones", total, silent)
	}
	wg.Wait()
	total, pending := ts.srv.gate.counts()
	t.Logf("the listed key got the console in %v (%v of CPU) with %d silent connections and %d handshakes; the server holds %d connections, %d awaiting login (cap %d)",
		took.Round(time.Millisecond), cpu.Round(time.Millisecond), silent, handshakes, total, pending, ts.srv.cfg.MaxConnections)
	// still serving: a second login works
	ts.open(t, alice, "alice").waitFor(t, "CONSOLE user=alice")
}

// cpuTime is the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
