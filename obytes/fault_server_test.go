package obytes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// simServer is a simulated stlink-server that the test can kill.
type simServer struct {
	addr   string
	cancel context.CancelFunc
	done   chan error
}

func startServer(t *testing.T, p *sim.Probe) *simServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &simServer{addr: ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- sim.Serve(ctx, ln, p) }()
	t.Cleanup(s.kill)
	return s
}

// kill stops the server and drops every connection (idempotent).
func (s *simServer) kill() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.done
	s.cancel = nil
}

// openOverServer opens the probe through the server at addr and connects
// Hot Plug on AP1, as the bench does. A reopen shares the probe: the
// server may not have noticed yet that the old connection is gone.
func openOverServer(ctx context.Context, addr string, reopen bool) (*probe.Link, error) {
	tr, _, err := probe.OpenServerWith(ctx, addr, simSerialOf(addr), probe.ServerOpenOptions{Share: reopen})
	if err != nil {
		return nil, err
	}
	l, err := probe.NewLink(ctx, tr)
	if err != nil {
		tr.Close()
		return nil, err
	}
	rep, err := probe.Connect(ctx, l, probe.ConnectOptions{Mode: probe.ModeHotPlug, AP: CoreAP, FrequencyKHz: 4000})
	if err != nil {
		l.Close()
		return nil, err
	}
	if !rep.OK() {
		if rep.DPOK {
			_ = l.OpenAP(ctx, 0)
			return l, fmt.Errorf("%w: %v", ErrCoreAPClosed, rep.Err)
		}
		l.Close()
		return nil, rep.Err
	}
	return l, nil
}

// serverBench is one simulated board behind a killable stlink-server.
type serverBench struct {
	t     *testing.T
	probe *sim.Probe
	model *stm32h5.Model
	srv   *simServer
	links []*probe.Link
}

func newServerBench(t *testing.T) *serverBench {
	t.Helper()
	sc, err := scenario.Lookup("h533-open")
	if err != nil {
		t.Fatal(err)
	}
	p := sc.NewProbe()
	b := &serverBench{t: t, probe: p, model: scenario.Model(p)}
	b.srv = startServer(t, p)
	t.Cleanup(func() {
		for _, l := range b.links {
			l.Close()
		}
	})
	return b
}

// setup reads what ob plan needs, straight from the board's chip (the
// same values the link reads).
func (b *serverBench) setup(t *testing.T) PlanInput {
	t.Helper()
	return (&chipTarget{chip: b.model, epoch: b.model.LinkEpoch()}).setup(t)
}

func (b *serverBench) open(ctx context.Context) (*probe.Link, error) {
	reopen := len(b.links) > 0
	for _, l := range b.links {
		l.Close() // the old connection is dead or abandoned
	}
	b.links = nil
	l, err := openOverServer(ctx, b.srv.addr, reopen)
	if l != nil {
		b.links = append(b.links, l)
	}
	return l, err
}

// simSerialOf is the serial to open: "" picks the first free probe, and a
// shared reopen needs the serial (any probe of the bench: there is one).
func simSerialOf(string) string { return "55FF6B065177495619420887" }

// serverPlans are the writes broken over stlink-server.
var serverPlans = [][]string{{"PRODUCT_STATE=0x17"}, {"WRPSGn2=0x0F", "IWDG_STOP=0"}}

// runServerFault runs one plan over stlink-server with the server killed
// at access at (at < 0: no fault) and returns the injector and outcome.
func runServerFault(t *testing.T, args []string, class faultClass, at int, label string) (*injector, string) {
	t.Helper()
	b := newServerBench(t)
	ctx := context.Background()
	l, err := b.open(ctx)
	if err != nil {
		t.Fatalf("opening over the server: %v", err)
	}
	in := b.setup(t)
	as, err := in.Layout.ParseAssignments(args)
	if err != nil {
		t.Fatal(err)
	}
	p, err := MakePlan(in, as)
	if err != nil {
		t.Fatal(err)
	}
	inj := &injector{class: class, at: at, ctx: newManualCtx(), kill: b.srv.kill}
	o := ApplyOptions{
		Confirm: p.Phrase, OverrideBrick: p.NeedsOverride, StateDir: t.TempDir(), User: "tester", ProbeSerial: "SIMSERIAL", Now: fixedNow,
		Reopen: func(ctx context.Context) (Target, error) {
			if class == faultServerKill && b.srv.cancel == nil {
				b.srv = startServer(t, b.probe) // the server comes back (restarted by the user or the system)
			}
			nl, err := b.open(ctx)
			if nl == nil {
				return nil, err
			}
			return &handle{in: inj, t: nl}, err
		},
	}
	res, err := Apply(inj.ctx, &handle{in: inj, t: l}, p, o)
	if at < 0 {
		if err != nil {
			t.Fatalf("%s without a fault: %v", label, err)
		}
		return inj, ""
	}
	if !inj.fired {
		t.Fatalf("%s: the fault never fired (%d accesses)", label, inj.n)
	}
	return inj, checkRecords(t, label, b.model, p, o.StateDir, res, err, class == faultServerGone)
}

// TestFaultEveryStepServerKilled kills the stlink-server at every register
// access of a write, once restarted (Reopen reaches the probe again) and
// once for good (Reopen fails), cancels the context there too, and checks
// the chip and the records.
func TestFaultEveryStepServerKilled(t *testing.T) {
	stats := newFaultStats()
	for _, args := range serverPlans {
		inj, _ := runServerFault(t, args, faultServerKill, -1, fmt.Sprint(args))
		steps := inj.n
		stride := 1
		if testing.Short() {
			stride = 9
		}
		for _, class := range []faultClass{faultServerKill, faultServerGone, faultCancel} {
			for at := 0; at < steps; at += stride {
				label := fmt.Sprintf("%v, %s at access %d/%d", args, class, at, steps)
				_, out := runServerFault(t, args, class, at, label)
				stats.add(class, out)
			}
		}
	}
	stats.log(t)
}

// A request on a cancelled context does not kill the stlink-server
// connection, so a cancelled staging step is undone over it.
func TestCancelOverServerUndoes(t *testing.T) {
	b := newServerBench(t)
	l, err := b.open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	in := b.setup(t)
	as, _ := in.Layout.ParseAssignments([]string{"PRODUCT_STATE=0x17"})
	p, err := MakePlan(in, as)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	o := ApplyOptions{Confirm: p.Phrase, StateDir: t.TempDir(), Now: fixedNow, Reconnect: func(context.Context) error { return errors.New("not expected") },
		Events: func(e Event) {
			if e.Step == "program" {
				cancel()
			}
		}}
	res, err := Apply(ctx, l, p, o)
	var we *WriteError
	if !errors.As(err, &we) || !we.Undone || res.Outcome != statefile.OutcomeUndone {
		t.Fatalf("got %v (outcome %q), want the staged change undone over the same connection", err, res.Outcome)
	}
	if v := viewChip(t, b.model, in.Layout); v.armed(in.Layout) {
		t.Errorf("chip armed: %+v", v)
	}
}
