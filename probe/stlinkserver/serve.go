package stlinkserver

import (
	"context"
	"net"
	"sync"
)

// Serve is the accept loop of a server of this protocol (the simulator's,
// the bench's shared probe): it accepts connections on l and hands each to
// conn on its own goroutine, under a context that ends when Serve returns.
// A connection is closed once conn returns.
//
// When ctx ends, Serve closes l and every connection still open (one
// accepted after that is closed at once, and still handed to conn), waits
// for every conn to return and returns nil. When accepting fails while ctx
// lasts, Serve accepts no more, waits for the open connections to end by
// themselves and returns the listener's error.
func Serve(ctx context.Context, l net.Listener, conn func(context.Context, net.Conn)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var open sync.Map // net.Conn → struct{}
	go func() {
		<-ctx.Done()
		l.Close()
		open.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
	}()
	defer wg.Wait()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		open.Store(c, struct{}{})
		if ctx.Err() != nil {
			c.Close()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer open.Delete(c)
			defer c.Close()
			conn(ctx, c)
		}()
	}
}
