package bench

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/probe/sim/scenario"
)

// Selector names the probe a bench opens. At most one of Server and Sim is
// set; Serial picks one probe among several (on USB or behind the server).
// The zero Selector means: the one ST-LINK on USB, or the simulated seed
// board when there is none.
type Selector struct {
	Serial string // probe serial number
	Server string // stlink-server HOST:PORT
	Sim    string // simulated scenario name
	Twin   string // capture file opened as a simulated board (twin.go)
	// Share opens a probe of the stlink-server that another client is
	// using (their commands interleave); without it such a probe is refused.
	Share bool
}

// Check rejects selectors that contradict each other, a server address
// that is not HOST:PORT, or a name of no simulated board, before anything
// is opened.
func (s Selector) Check() error {
	if s.Server != "" {
		host, port, err := net.SplitHostPort(s.Server)
		if err != nil {
			return fmt.Errorf("--server %q: want HOST:PORT, e.g. localhost:7184 (stlink-server's port is 7184): %v", s.Server, err)
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return fmt.Errorf("--server %q: port %q is not a number from 1 to 65535 (stlink-server's port is 7184)", s.Server, port)
		}
		if strings.ContainsAny(host, " /") {
			return fmt.Errorf("--server %q: host %q is not a host name or an IP address", s.Server, host)
		}
	}
	if s.Twin != "" && (s.Sim != "" || s.Server != "") {
		return fmt.Errorf("--twin %s chooses the probe, as --sim and --server do: give one of them", s.Twin)
	}
	if s.Sim == "" {
		return nil
	}
	if s.Server != "" {
		return fmt.Errorf("--sim %s and --server %s both choose the probe: give one of them", s.Sim, s.Server)
	}
	if _, err := scenario.Lookup(s.Sim); err != nil {
		return fmt.Errorf("--sim: %w", err)
	}
	return nil
}

// Chosen reports whether the user chose a probe (rather than leaving it to
// the fall-back).
func (s Selector) Chosen() bool {
	return s.Twin != "" || s.Sim != "" || s.Server != "" || s.Serial != ""
}

// Open opens the probe sel names and starts its bench: a simulated scenario,
// a probe behind stlink-server, or a USB probe. With no selector and no
// ST-LINK on USB it falls back to the simulated seed board and says so in a
// Notice (the returned notice text; the CLI prints it on stderr).
func Open(ctx context.Context, sel Selector, o Options) (b *Bench, notice string, err error) {
	if err := sel.Check(); err != nil {
		return nil, "", err
	}
	var fwd forwarder
	opts := []probe.Option{probe.WithEvents(fwd.event)}
	if o.Log != nil {
		opts = append(opts, probe.WithLogger(o.Log))
	}
	switch {
	case sel.Twin != "":
		b, notice, err = openTwin(ctx, sel.Twin, o, opts)
	case sel.Sim != "":
		b, err = openSim(ctx, sel.Sim, o, opts)
		if err == nil && sel.Serial != "" && !strings.EqualFold(sel.Serial, b.state.Probe.Serial) {
			serial := b.state.Probe.Serial
			b.Close()
			return nil, "", fmt.Errorf("--probe %s: the simulated bench %q has one probe, serial %s (drop --probe, or drop --sim to use a real probe)", sel.Serial, sel.Sim, serial)
		}
	case sel.Server != "":
		t, info, oerr := probe.OpenServerWith(ctx, sel.Server, sel.Serial, probe.ServerOpenOptions{Share: sel.Share})
		if oerr != nil {
			return nil, "", fmt.Errorf("opening the probe: %w", oerr)
		}
		b, err = start(ctx, t, info, nil, o, opts)
	default:
		if sel.Serial == "" {
			found, lerr := o.listUSB(ctx)
			if len(found) == 0 {
				why := "no ST-LINK found on USB"
				if lerr != nil {
					why = fmt.Sprintf("no ST-LINK usable on USB (%v)", lerr)
				}
				notice = fmt.Sprintf("%s; using the simulated bench %q (choose another with --sim, see: stprobe sim list)", why, scenario.DefaultName)
				b, err = openSim(ctx, scenario.DefaultName, o, opts)
				if err == nil {
					b.state.Fallback = why
				}
				break
			}
		}
		t, info, oerr := probe.OpenUSB(ctx, sel.Serial)
		if oerr != nil {
			if sel.Serial != "" {
				return nil, "", fmt.Errorf("opening the USB probe with serial %s (see: stprobe list): %w", sel.Serial, oerr)
			}
			return nil, "", fmt.Errorf("opening USB probe: %w", oerr)
		}
		b, err = start(ctx, t, info, nil, o, opts)
	}
	if err != nil {
		return nil, "", err
	}
	fwd.set(b)
	b.sel, b.linkOpts = sel, opts
	if notice != "" {
		b.Notify(notice)
		b.log.Info(notice)
	}
	return b, notice, nil
}

// openSim opens a simulated board.
func openSim(ctx context.Context, name string, o Options, opts []probe.Option) (*Bench, error) {
	sc, err := scenario.Lookup(name)
	if err != nil {
		return nil, err
	}
	info, err := SimProbe(name)
	if err != nil {
		return nil, err
	}
	p := sc.NewProbe()
	b, err := start(ctx, p, info, p, o, opts)
	if err == nil {
		b.state.Scenario = sc.Name
	}
	return b, err
}

// start takes over an open transport: reads the probe's version and starts
// the owner goroutine.
func start(ctx context.Context, t probe.Transport, info probe.Info, s *sim.Probe, o Options, opts []probe.Option) (*Bench, error) {
	l, err := probe.NewLink(ctx, t, opts...)
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("talking to probe %s: %w", info.Serial, err)
	}
	info.Firmware = l.Version().String()
	if m, ok := proto.ModelByPID(info.PID); ok && info.Model == "" {
		info.Model = m.Name
	}
	return newBench(l, s, info, o), nil
}

// forwarder hands the driver's progress events to the bench once it exists.
type forwarder struct{ b *Bench }

func (f *forwarder) set(b *Bench) { f.b = b }

func (f *forwarder) event(e probe.Event) {
	if f.b == nil {
		return
	}
	kind := ""
	f.b.mu.Lock()
	if f.b.job != nil {
		kind = f.b.job.info.Kind
	}
	f.b.mu.Unlock()
	f.b.publish(func(m EventMeta) Event { return ProbeProgress{EventMeta: m, Job: kind, Progress: e} })
}

// reopen replaces a link whose transport died (a server restarted, a
// stalled round trip) by a new one to the same probe, and returns it. It
// runs on the owner goroutine, inside a job.
func (b *Bench) reopen(ctx context.Context) (*probe.Link, error) {
	var t probe.Transport
	var err error
	switch {
	case b.sim != nil:
		t = b.sim // in-process: the same simulated probe, a new link
	case b.sel.Server != "":
		// the server may not have seen our dead connection go yet, so it
		// may still count this probe as used — by us: share it
		_ = b.link.Close()
		t, _, err = probe.OpenServerWith(ctx, b.sel.Server, b.state.Probe.Serial, probe.ServerOpenOptions{Share: true})
	default:
		_ = b.link.Close()
		t, _, err = probe.OpenUSB(ctx, b.state.Probe.Serial)
	}
	if err != nil {
		return nil, fmt.Errorf("reopening the probe: %w", err)
	}
	l, err := probe.NewLink(ctx, t, b.linkOpts...)
	if err != nil {
		if b.sim == nil {
			t.Close()
		}
		return nil, fmt.Errorf("reopening the probe: %w", err)
	}
	b.link = l
	b.log.Info("probe reopened")
	return l, nil
}
