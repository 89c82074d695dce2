//go:build linux

package probe_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stprobe/stprobe/probe"
)

// fullBacklog returns the address of a listener that never accepts and
// whose queue is full, so that further connection attempts get no answer
// (as from a server that drops them).
func fullBacklog(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	for i := 0; i < 64; i++ {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return addr // the queue is full: attempts now hang
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatal("could not fill the listen queue")
	return ""
}

// A server that drops connection attempts is given up on after the dial
// timeout (a few seconds), not after the system's SYN retries.
func TestServerDialBounded(t *testing.T) {
	addr := fullBacklog(t)
	done := make(chan error, 1)
	go func() {
		_, err := probe.ListServer(context.Background(), addr)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, probe.ErrTimeout) {
			t.Errorf("dial to a server dropping attempts: %v, want ErrTimeout", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the dial is not bounded")
	}
}
