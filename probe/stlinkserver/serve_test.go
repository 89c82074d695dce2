package stlinkserver

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// chanListener hands out the connections sent on conns; Close ends Accept
// with net.ErrClosed, fail ends it with that error.
type chanListener struct {
	conns     chan net.Conn
	fail      chan error
	closed    chan struct{}
	closeOnce sync.Once
}

func newChanListener() *chanListener {
	return &chanListener{conns: make(chan net.Conn), fail: make(chan error), closed: make(chan struct{})}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.fail:
		return nil, err
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{} }

// dial hands the listener one end of a pipe and returns the other.
func (l *chanListener) dial() net.Conn {
	server, client := net.Pipe()
	l.conns <- server
	return client
}

// When ctx ends, Serve closes the listener and the open connections, waits
// for every handler and returns nil.
func TestServeStopsWithContext(t *testing.T) {
	l := newChanListener()
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	var handled atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, l, func(hctx context.Context, c net.Conn) {
			defer handled.Add(1)
			started <- struct{}{}
			// The connection is closed under the handler: its read ends.
			if _, err := c.Read(make([]byte, 1)); err == nil {
				t.Error("read on a connection Serve closed succeeded")
			}
			if hctx.Err() == nil {
				t.Error("handler's context still live once ctx ended")
			}
		})
	}()
	a, b := l.dial(), l.dial()
	<-started
	<-started
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after cancel: %v, want nil", err)
	}
	if n := handled.Load(); n != 2 {
		t.Errorf("Serve returned before its handlers: %d of 2 done", n)
	}
	select {
	case <-l.closed:
	default:
		t.Error("listener left open")
	}
	for _, c := range []net.Conn{a, b} {
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("client read after Serve: %v, want EOF", err)
		}
	}
}

// A failing listener ends Serve with its error once the open connections
// ended by themselves, their context live until then; each connection is
// closed when its handler returns.
func TestServeListenerError(t *testing.T) {
	l := newChanListener()
	boom := errors.New("accept failed")
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Serve(context.Background(), l, func(hctx context.Context, c net.Conn) {
			<-release
			if hctx.Err() != nil {
				t.Error("handler's context ended before Serve returned")
			}
		})
	}()
	client := l.dial()
	l.fail <- boom
	select {
	case err := <-done:
		t.Fatalf("Serve returned (%v) while a connection was open", err)
	default:
	}
	close(release)
	if err := <-done; !errors.Is(err, boom) {
		t.Fatalf("Serve: %v, want the listener's error", err)
	}
	if _, err := client.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("client read after its handler returned: %v, want EOF", err)
	}
}
