package serve

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// dialFrom opens a TCP connection to the server from the loopback address
// from (any of 127.0.0.0/8 on Linux).
func (ts *testServer) dialFrom(t testing.TB, from string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", net.JoinHostPort("127.0.0.1", ts.port))
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// greeted reports whether the server sent its SSH version line on c (a
// refused connection is closed without one).
func greeted(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "SSH-2.0-")
}

// closedWithin reports whether the server closes c within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 512)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}
}

// A connection that does not log in is closed after the handshake
// timeout.
func TestHandshakeTimeout(t *testing.T) {
	dir := t.TempDir()
	alice := testKey(t, dir, "alice")
	ts := startServer(t, []string{pub(t, alice)}, Config{HandshakeTimeout: time.Second}, nil)
	c := ts.dialFrom(t, "127.0.0.1")
	if !closedWithin(c, 30*time.Second) {
		t.Fatalf("a silent connection is still open 30 s after a 1 s handshake timeout")
	}
}

// One address may hold only MaxPerAddress connections awaiting login;
// other addresses still get in.
func TestPerAddressCap(t *testing.T) {
	dir := t.TempDir()
	alice := testKey(t, dir, "alice")
	ts := startServer(t, []string{pub(t, alice)}, Config{MaxPerAddress: 3}, nil)
	got := 0
	for range 5 {
		if greeted(ts.dialFrom(t, "127.0.0.9")) {
			got++
		}
	}
	if got != 3 {
		t.Errorf("%d of 5 connections from one address were served, want 3", got)
	}
	// the refusal is logged as the connection is dropped, which the client
	// may see first
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(ts.logText(), refusedPerAddr); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the refusals were not logged:\n%s", ts.logText())
		}
	}
	ts.open(t, alice, "alice").waitFor(t, "CONSOLE user=alice")
}

// When the server is full of connections that have not logged in, the
// oldest gives way to a new one: a real login gets through.
func TestFullServerMakesRoomForALogin(t *testing.T) {
	dir := t.TempDir()
	alice := testKey(t, dir, "alice")
	ts := startServer(t, []string{pub(t, alice)}, Config{MaxConnections: 10}, nil)
	for i := range 10 {
		if !greeted(ts.dialFrom(t, fmt.Sprintf("127.0.3.%d", i+1))) {
			t.Fatalf("connection %d was not served", i)
		}
	}
	ts.open(t, alice, "alice").waitFor(t, "CONSOLE user=alice")
	if !strings.Contains(ts.logText(), "connection closed to make room") {
		t.Errorf("the log does not say a connection gave way:\n%s", ts.logText())
	}
}

func TestMaxConnectionsFor(t *testing.T) {
	for _, c := range []struct {
		limit uint64
		want  int
	}{{1024, 736}, {256, 160}, {16, 8}, {0, 1<<20*3/4 - 32}} {
		if got := MaxConnectionsFor(c.limit); got != c.want || (c.limit > 16 && got >= int(c.limit)) {
			t.Errorf("MaxConnectionsFor(%d) = %d, want %d", c.limit, got, c.want)
		}
	}
}

// A listener that fails makes ServeListener return an error and log it;
// the server never stops quietly.
func TestServerStopsLoudlyWhenTheListenerFails(t *testing.T) {
	dir := t.TempDir()
	alice := testKey(t, dir, "alice")
	ts := startServer(t, []string{pub(t, alice)}, Config{}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- ts.srv.ServeListener(context.Background(), failingListener{ln}) }()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatalf("ServeListener returned nil when its listener failed")
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("ServeListener did not return")
	}
	if !strings.Contains(ts.logText(), "server stopped: it can no longer accept connections") {
		t.Errorf("not logged:\n%s", ts.logText())
	}
}

type failingListener struct{ net.Listener }

func (f failingListener) Accept() (net.Conn, error) {
	f.Listener.Close()
	return nil, errors.New("accept: the network is gone")
}

func TestHostKeyChecks(t *testing.T) {
	dir := t.TempDir()
	made := filepath.Join(dir, "sub", "made")
	if _, err := loadHostKey(made); err != nil {
		t.Fatalf("making a host key: %v", err)
	}
	if fi, err := os.Stat(made); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the made host key: %v %v", fi.Mode(), err)
	}
	if _, err := loadHostKey(made); err != nil {
		t.Errorf("reading the made key back: %v", err)
	}
	os.Chmod(made, 0o644)
	if _, err := loadHostKey(made); err == nil || !strings.Contains(err.Error(), "mode 0644") {
		t.Errorf("a world-readable host key: %v", err)
	}
	os.Chmod(made, 0o640)
	if _, err := loadHostKey(made); err == nil {
		t.Errorf("a group-readable host key was accepted")
	}
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(weak, "")
	if err != nil {
		t.Fatal(err)
	}
	rsaPath := filepath.Join(dir, "rsa1024")
	os.WriteFile(rsaPath, pem.EncodeToMemory(block), 0o600)
	if _, err := loadHostKey(rsaPath); err == nil || !strings.Contains(err.Error(), "1024 bits is too weak") {
		t.Errorf("an RSA-1024 host key: %v", err)
	}
	os.WriteFile(rsaPath, []byte("not a key"), 0o600)
	if _, err := loadHostKey(rsaPath); err == nil {
		t.Errorf("garbage as a host key was accepted")
	}
}
