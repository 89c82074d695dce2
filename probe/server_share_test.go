package probe_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/probe/stlinkserver"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// A probe another client of the server has open is refused unless the
// caller asks to share it.
func TestServerProbeInUseRefused(t *testing.T) {
	ctx := context.Background()
	p := sim.New(sim.Config{Firmware: simFirmware(t, "V2J46S7"), Serial: simSerial, TargetMillivolts: 3290, Chip: chipsim.NewGeneric(1)})
	addr := serveSim(t, p)
	first, _, err := probe.OpenServer(ctx, addr, simSerial)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	_, _, err = probe.OpenServer(ctx, addr, simSerial)
	if !errors.Is(err, probe.ErrProbeInUse) || probe.LayerOf(err) != probe.LayerUSB {
		t.Fatalf("second open of a used probe: %v, want ErrProbeInUse", err)
	}
	if _, _, err := probe.OpenServer(ctx, addr, ""); err == nil {
		t.Error("opened a used probe when asked for any free one")
	}
	shared, _, err := probe.OpenServerWith(ctx, addr, simSerial, probe.ServerOpenOptions{Share: true})
	if err != nil {
		t.Fatalf("shared open: %v", err)
	}
	shared.Close()
	first.Close()
	// Once closed, it opens again (the server drops the client on CLOSE_DEV).
	again, _, err := probe.OpenServer(ctx, addr, simSerial)
	if err != nil {
		t.Fatalf("open after the other client closed: %v", err)
	}
	again.Close()
}

// A request whose ctx is already done is not sent, and the connection
// stays usable (a cancelled step can still be undone over it).
func TestServerCancelledRequestKeepsConnection(t *testing.T) {
	p := sim.New(sim.Config{Firmware: simFirmware(t, "V2J46S7"), Serial: simSerial, TargetMillivolts: 3290, Chip: chipsim.NewGeneric(1)})
	addr := serveSim(t, p)
	tr, _, err := probe.OpenServer(context.Background(), addr, simSerial)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tr.Xfer(ctx, [16]byte{0xF1}, nil, make([]byte, 6)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled request: %v", err)
	}
	if err := tr.Xfer(context.Background(), [16]byte{0xF1}, nil, make([]byte, 6)); err != nil {
		t.Fatalf("request after a cancelled one: %v", err)
	}
}

// A stalled server is given up on after the per-request bound even when
// the caller's deadline is far away.
func TestServerRequestBounded(t *testing.T) {
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	addr := scriptedServer(t, func(c net.Conn, _ stlinkserver.Request) bool { <-hold; return false })
	tr, _, err := probe.OpenServer(context.Background(), addr, "")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- tr.Xfer(ctx, [16]byte{0xF1}, nil, make([]byte, 6)) }()
	select {
	case err := <-done:
		if !errors.Is(err, probe.ErrTimeout) {
			t.Errorf("stalled request: %v, want ErrTimeout", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the request is not bounded")
	}
}

// A cancel that arrives while a request is out lets its reply come in: the
// connection stays in step for the undo that follows.
func TestServerCancelMidRequestKeepsConnection(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	addr := scriptedServer(t, func(c net.Conn, req stlinkserver.Request) bool {
		n++
		if n == 1 {
			cancel() // the signal arrives while the server works on it
			time.Sleep(20 * time.Millisecond)
		}
		_, err := c.Write(stlinkserver.EncodeUSBReply(stlinkserver.StatusOK, []byte{1, 2, 3, 4, 5, 6}, int(req.USB.Length)))
		return err == nil
	})
	tr, _, err := probe.OpenServer(context.Background(), addr, "")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := tr.Xfer(ctx, [16]byte{0xF1}, nil, make([]byte, 6)); err != nil {
		t.Fatalf("request cancelled while out: %v, want its reply", err)
	}
	if err := tr.Xfer(context.Background(), [16]byte{0xF1}, nil, make([]byte, 6)); err != nil {
		t.Fatalf("next request: %v", err)
	}
}
