package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets"
)

// shareBench opens a simulated board and shares it on a loopback port for
// holder h; it returns the bench and the address.
func shareBench(t *testing.T, scenario string, h Holder, o Options, so ShareOptions) (*Bench, string) {
	t.Helper()
	b, _, err := Open(context.Background(), Selector{Sim: scenario}, o)
	if err != nil {
		t.Fatalf("Open(%s): %v", scenario, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.ShareListener(ctx, l, h, so) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ShareListener: %v", err)
		}
		b.Close()
	})
	return b, l.Addr().String()
}

// dialTool opens the shared probe as a tool does, with the project's own
// stlink-server client.
func dialTool(t *testing.T, addr string) (*probe.Link, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tr, _, err := probe.OpenServer(ctx, addr, "")
	if err != nil {
		return nil, err
	}
	l, err := probe.NewLink(ctx, tr)
	if err != nil {
		tr.Close()
		return nil, err
	}
	return l, nil
}

// inDebug asks the simulated probe whether it is in debug mode.
func inDebug(b *Bench) bool {
	reply, _ := b.Simulated().Handle([16]byte{proto.CmdGetCurrentMode}, nil)
	return len(reply) > 0 && proto.Mode(reply[0]) == proto.ModeDebug
}

// waitFor polls cond (the tool's hand-back runs on the server's goroutine).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestShareRunsToolUnderTheLease(t *testing.T) {
	alice := Holder{Name: "alice", Session: "ssh 127.0.0.1:5000"}
	b, addr := shareBench(t, "h533-open", alice, Options{}, ShareOptions{StateDir: t.TempDir()})
	_, sub := b.Subscribe(4096)
	defer sub.Close()

	l, err := dialTool(t, addr)
	if err != nil {
		t.Fatalf("opening the shared probe: %v", err)
	}
	if got := b.Snapshot().Lease; got == nil || got.Holder != alice {
		t.Fatalf("lease while the tool has the probe: %+v, want alice", got)
	}
	ctx := context.Background()
	if rep, err := probe.Connect(ctx, l, probe.ConnectOptions{Mode: probe.ModeHotPlug, AP: 1}); err != nil || !rep.OK() {
		t.Fatalf("connect through the shared probe: %v %+v", err, rep)
	}
	if err := l.Write32(ctx, 1, targets.SRAMBase, 0xC0FFEE11); err != nil {
		t.Fatalf("RAM write: %v", err)
	}
	if v, err := l.Read32(ctx, 1, targets.SRAMBase); err != nil || v != 0xC0FFEE11 {
		t.Fatalf("RAM read: %08X %v", v, err)
	}
	if got := b.Tools(); len(got) != 1 || !got[0].Open || got[0].Commands == 0 || got[0].Holder != alice {
		t.Fatalf("tools while connected: %+v", got)
	}
	// the debug mode the tool entered stays between its commands
	if !inDebug(b) {
		t.Fatal("the simulated probe left debug mode between the tool's commands")
	}
	l.Close()
	waitFor(t, "the tool to leave", func() bool { return len(b.Tools()) == 0 && b.Snapshot().Lease == nil })
	if inDebug(b) {
		t.Error("the probe is still in debug mode after the tool left")
	}
	var connected, left bool
	for _, ev := range drain(done(), sub) {
		if tc, ok := ev.(ToolChanged); ok {
			connected = connected || tc.Reason == "opened the probe"
			left = left || tc.Gone
		}
	}
	if !connected || !left {
		t.Errorf("ToolChanged events: opened %v, gone %v", connected, left)
	}
}

func TestShareRefusesWhileAnotherHoldsTheProbe(t *testing.T) {
	alice := Holder{Name: "alice", Session: "tcp"}
	b, addr := shareBench(t, "h533-open", alice, Options{}, ShareOptions{StateDir: t.TempDir()})
	if _, err := b.Acquire(Holder{Name: "bob"}); err != nil {
		t.Fatal(err)
	}
	_, err := dialTool(t, addr)
	if err == nil {
		t.Fatal("a tool of alice opened the probe bob holds")
	}
	if !strings.Contains(b.Snapshot().Notice, "bob holds the probe") {
		t.Errorf("notice %q does not say bob holds the probe", b.Snapshot().Notice)
	}
}

func TestShareSharesTheConsolesLeaseAndKeepsIt(t *testing.T) {
	alice := Holder{Name: "alice", Session: "ssh 127.0.0.1:5000"}
	b, addr := shareBench(t, "h533-open", alice, Options{}, ShareOptions{StateDir: t.TempDir()})
	tok, err := b.Acquire(alice) // alice's console holds the probe
	if err != nil {
		t.Fatal(err)
	}
	l, err := dialTool(t, addr)
	if err != nil {
		t.Fatalf("alice's tool beside alice's console: %v", err)
	}
	l.Close()
	waitFor(t, "the tool to leave", func() bool { return len(b.Tools()) == 0 })
	if !b.Holds(tok) {
		t.Error("the tool gave back the lease alice's console holds")
	}
}

func TestShareAuditsOptionRegisterWritesAndRereads(t *testing.T) {
	dir := t.TempDir()
	alice := Holder{Name: "alice", Session: "ssh 127.0.0.1:5000", Fingerprint: "SHA256:abc"}
	b, addr := shareBench(t, "h533-open", alice, Options{}, ShareOptions{StateDir: dir})
	tok, err := b.Acquire(alice)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := b.ReadOptionBytes(ctx, tok, OBRequest{}); err != nil {
		t.Fatal(err)
	}
	if b.Snapshot().OptionsUnlocked {
		t.Fatal("the option registers are unlocked before the tool")
	}
	l, err := dialTool(t, addr)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := probe.Connect(ctx, l, probe.ConnectOptions{Mode: probe.ModeHotPlug, AP: 1}); err != nil || !rep.OK() {
		t.Fatalf("connect: %v %+v", err, rep)
	}
	keyr := uint32(targets.H5FlashRegs + targets.FlashOPTKEYR)
	for _, k := range []uint32{targets.OptKey1, targets.OptKey2} {
		if err := l.Write32(ctx, 1, keyr, k); err != nil {
			t.Fatalf("OPTKEYR: %v", err)
		}
	}
	l.Close()
	waitFor(t, "the tool to leave", func() bool { return len(b.Tools()) == 0 })
	if !b.Snapshot().OptionsUnlocked {
		t.Error("the snapshot was not refreshed: the tool left the option registers unlocked")
	}
	recs, err := statefile.ReadAudit(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("audit records: %d, want 1", len(recs))
	}
	r := recs[0]
	if !strings.Contains(r.User, "alice") || !strings.Contains(r.User, "SHA256:abc") {
		t.Errorf("audit user %q does not name alice's key", r.User)
	}
	text := strings.Join(r.Changes, "\n")
	if !strings.Contains(text, "2 writes") || !strings.Contains(text, "0x4002200C") {
		t.Errorf("audit changes do not list the OPTKEYR writes:\n%s", text)
	}
	if r.After == nil {
		t.Error("the audit line lacks the option bytes read after the tool")
	}
}

func TestShareCutsAStalledTool(t *testing.T) {
	clk := &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	alice := Holder{Name: "alice", Session: "tcp"}
	b, addr := shareBench(t, "h533-open", alice, Options{Now: clk.Now, LeaseIdle: time.Minute}, ShareOptions{StateDir: t.TempDir()})
	l, err := dialTool(t, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	b.CutIdleTools()
	if len(b.Tools()) != 1 {
		t.Fatal("a tool that is not idle was cut")
	}
	clk.Advance(2 * time.Minute)
	b.CutIdleTools()
	waitFor(t, "the stalled tool to be cut", func() bool { return len(b.Tools()) == 0 })
	if !strings.Contains(b.Snapshot().Notice, "was cut") {
		t.Errorf("notice %q does not say the tool was cut", b.Snapshot().Notice)
	}
	if _, err := l.Mode(context.Background()); err == nil {
		t.Error("the cut tool's connection still answers")
	}
}

func TestShareRefusesTheFallbackBoard(t *testing.T) {
	// the rule of checkWritable: a tool could write, so the fall-back board is not shared
	b, _, err := Open(context.Background(), Selector{}, Options{ListUSB: func(context.Context) ([]probe.Info, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Snapshot().Fallback == "" {
		t.Skip("the bench did not fall back to the simulated board")
	}
	tc := &toolConn{b: b, client: ToolClient{Holder: Holder{Name: "alice"}}, cutC: make(chan struct{})}
	if err := tc.open(); !errors.Is(err, ErrFallbackBoard) {
		t.Errorf("open on the fall-back board: %v, want ErrFallbackBoard", err)
	}
}

func TestToolLine(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 10, 0, time.UTC)
	s := Snapshot{Tools: []ToolInfo{{Tool: "OpenOCD", Via: "alice's SSH session", Commands: 1200, LastUse: now.Add(-3 * time.Second)}}}
	if got, want := s.ToolLine(now), "OpenOCD via alice's SSH session, 1200 commands, 3s ago"; got != want {
		t.Errorf("ToolLine = %q, want %q", got, want)
	}
	if (Snapshot{}).ToolLine(now) != "" {
		t.Error("ToolLine without tools is not empty")
	}
}

func TestWriteTrackerInAudit(t *testing.T) {
	var c [16]byte
	c[0], c[1] = 0xF2, 0x08
	binary.LittleEndian.PutUint32(c[2:], targets.H5FlashRegs+targets.FlashOPTCR)
	binary.LittleEndian.PutUint16(c[6:], 4)
	c[8] = 1
	var w probe.WriteTracker
	ws := w.Writes(c, []byte{2, 0, 0, 0})
	if len(ws) != 1 || sensitiveWrite(nil, ws[0]) == "" {
		t.Fatalf("a WRITEMEM_32BIT to FLASH_OPTCR is not a sensitive write: %+v", ws)
	}
	binary.LittleEndian.PutUint32(c[2:], targets.SRAMBase)
	if ws := w.Writes(c, []byte{1, 2, 3, 4}); len(ws) != 1 || sensitiveWrite(nil, ws[0]) != "" {
		t.Errorf("a RAM write counts as a flash write: %+v", ws)
	}
}
