package serve

import (
	"container/list"
	"net"
	"sync"
)

// gate admits TCP connections: at most max at once, at most perAddr of
// one client address still awaiting login. When the server is full, the
// oldest connection still awaiting login gives way to a new one, so that
// silent connections cannot lock a real login out; connections that
// logged in are never pushed out.
type gate struct {
	max, perAddr int

	mu      sync.Mutex
	total   int
	pending *list.List // of *gatedConn awaiting login, oldest first
	byAddr  map[string]int
}

func newGate(max, perAddr int) *gate {
	return &gate{max: max, perAddr: perAddr, pending: list.New(), byAddr: map[string]int{}}
}

// gatedConn is an admitted connection; closing it gives its place back.
type gatedConn struct {
	net.Conn
	g    *gate
	addr string

	// guarded by g.mu
	counted bool          // it holds a place
	elem    *list.Element // in g.pending while awaiting login
	evicted bool
}

// Refusals of admit.
const (
	refusedPerAddr = "too many connections from this address awaiting login"
	refusedFull    = "the server is full"
)

// admit takes c in, or says why not (c is then closed). A connection
// pushed out to make room is closed and returned so the caller can log it.
func (g *gate) admit(c net.Conn) (gc *gatedConn, evicted *gatedConn, refused string) {
	addr := hostOf(c.RemoteAddr())
	g.mu.Lock()
	if g.byAddr[addr] >= g.perAddr {
		g.mu.Unlock()
		c.Close()
		return nil, nil, refusedPerAddr
	}
	if g.total >= g.max {
		front := g.pending.Front()
		if front == nil {
			g.mu.Unlock()
			c.Close()
			return nil, nil, refusedFull
		}
		evicted = front.Value.(*gatedConn)
		g.releaseLocked(evicted)
		evicted.evicted = true
	}
	gc = &gatedConn{Conn: c, g: g, addr: addr, counted: true}
	g.total++
	g.byAddr[addr]++
	gc.elem = g.pending.PushBack(gc)
	g.mu.Unlock()
	if evicted != nil {
		evicted.Conn.Close()
	}
	return gc, evicted, ""
}

// loggedIn marks gc as logged in: it no longer counts against its
// address and is never pushed out.
func (g *gate) loggedIn(gc *gatedConn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if gc.elem != nil {
		g.pending.Remove(gc.elem)
		gc.elem = nil
		g.dropAddrLocked(gc.addr)
	}
}

// releaseLocked gives gc's place back. The caller holds mu.
func (g *gate) releaseLocked(gc *gatedConn) {
	if !gc.counted {
		return
	}
	gc.counted = false
	g.total--
	if gc.elem != nil {
		g.pending.Remove(gc.elem)
		gc.elem = nil
		g.dropAddrLocked(gc.addr)
	}
}

func (g *gate) dropAddrLocked(addr string) {
	if g.byAddr[addr] <= 1 {
		delete(g.byAddr, addr)
	} else {
		g.byAddr[addr]--
	}
}

// counts are the connections held and those awaiting login.
func (g *gate) counts() (total, pending int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.total, g.pending.Len()
}

// Close closes the connection and gives its place back.
func (gc *gatedConn) Close() error {
	gc.g.mu.Lock()
	gc.g.releaseLocked(gc)
	gc.g.mu.Unlock()
	return gc.Conn.Close()
}

// hostOf is the address without its port.
func hostOf(a net.Addr) string {
	if a == nil {
		return ""
	}
	if ip := addrIP(a); ip != nil {
		return ip.String()
	}
	return a.String()
}
