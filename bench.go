package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/probe/sim/scenario"
)

// bench is the probe a command works with: a real ST-LINK (USB or through
// stlink-server) or a simulated one.
type bench struct {
	Link *probe.Link
	Sim  *sim.Probe // nil on real hardware
	Info probe.Info
}

// Close leaves the probe's debug mode and releases it.
func (b *bench) Close() error {
	return b.Link.Close()
}

// openBench opens the probe the global flags select: a simulated scenario
// (--sim), a probe behind stlink-server (--server), or a USB probe. With no
// selector and no ST-LINK on USB it falls back to the simulated bench and says
// so on stderr.
func openBench(ctx context.Context, g *globalFlags) (*bench, error) {
	return openBenchNotify(ctx, g, os.Stderr)
}

func openBenchNotify(ctx context.Context, g *globalFlags, notice io.Writer) (*bench, error) {
	switch {
	case g.sim != "":
		b, err := openSim(ctx, g.sim)
		if err == nil && g.serial != "" && !strings.EqualFold(g.serial, b.Info.Serial) {
			b.Close()
			return nil, fmt.Errorf("--probe %s: the simulated bench %q has one probe, serial %s (drop --probe, or drop --sim to use a real probe)", g.serial, g.sim, b.Info.Serial)
		}
		return b, err
	case g.server != "":
		t, info, err := probe.OpenServer(ctx, g.server, g.serial)
		if err != nil {
			return nil, fmt.Errorf("opening the probe: %w", err)
		}
		return newBench(ctx, t, info, nil)
	}
	if g.serial == "" {
		found, err := probe.ListUSB(ctx)
		if len(found) == 0 {
			why := "no ST-LINK found on USB"
			if err != nil {
				why = fmt.Sprintf("no ST-LINK usable on USB (%v)", err)
			}
			fmt.Fprintf(notice, "stprobe: %s; using the simulated bench %q (choose another with --sim, see: stprobe sim list)\n", why, scenario.DefaultName)
			return openSim(ctx, scenario.DefaultName)
		}
	}
	t, info, err := probe.OpenUSB(ctx, g.serial)
	if err != nil {
		if g.serial != "" {
			return nil, fmt.Errorf("opening the USB probe with serial %s (see: stprobe list): %w", g.serial, err)
		}
		return nil, fmt.Errorf("opening USB probe: %w", err)
	}
	return newBench(ctx, t, info, nil)
}

// selectedScenario is the simulated board --sim names, or the default one.
func selectedScenario(g *globalFlags) (scenario.Scenario, error) {
	if g.sim == "" {
		return scenario.Lookup(scenario.DefaultName)
	}
	return scenario.Lookup(g.sim)
}

func openSim(ctx context.Context, name string) (*bench, error) {
	sc, err := scenario.Lookup(name)
	if err != nil {
		return nil, err
	}
	p := sc.NewProbe()
	cfg := p.Config()
	info := probe.Info{
		Backend:  probe.BackendSim,
		Serial:   cfg.Serial,
		VID:      cfg.Firmware.VID,
		PID:      cfg.Firmware.PID,
		Firmware: cfg.Firmware.String(),
		Address:  "sim:" + sc.Name,
	}
	return newBench(ctx, p, info, p)
}

func newBench(ctx context.Context, t probe.Transport, info probe.Info, s *sim.Probe) (*bench, error) {
	l, err := probe.NewLink(ctx, t)
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("talking to probe %s: %w", info.Serial, err)
	}
	info.Firmware = l.Version().String()
	if m, ok := proto.ModelByPID(info.PID); ok && info.Model == "" {
		info.Model = m.Name
	}
	return &bench{Link: l, Sim: s, Info: info}, nil
}
