package bench

import (
	"context"
	"fmt"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/probe/sim/scenario"
)

// Source is one place probes are found (USB, an stlink-server, the
// simulator), what was found there and why it failed, if it did.
type Source struct {
	Name   string // "USB", "stlink-server HOST:PORT", "simulated bench"
	Probes []probe.Info
	Err    error
}

// List finds the probes a bench could open: the ST-LINKs on USB, the
// probes behind sel.Server when it is set, and the simulated board sel.Sim
// names when it is set. It is the one lister behind `list`, the console's
// chooser and Open's fall-back.
func List(ctx context.Context, sel Selector, o Options) []Source {
	usb, err := o.listUSB(ctx)
	out := []Source{{Name: "USB", Probes: usb, Err: err}}
	if sel.Server != "" {
		srv, err := probe.ListServer(ctx, sel.Server)
		out = append(out, Source{Name: "stlink-server " + sel.Server, Probes: srv, Err: err})
	}
	if sel.Sim != "" {
		s := Source{Name: "simulated bench"}
		if info, err := SimProbe(sel.Sim); err != nil {
			s.Err = err
		} else {
			s.Probes = []probe.Info{info}
		}
		out = append(out, s)
	}
	return out
}

// listUSB lists the ST-LINKs on USB with the lister the options give.
func (o Options) listUSB(ctx context.Context) ([]probe.Info, error) {
	if o.ListUSB != nil {
		return o.ListUSB(ctx)
	}
	return probe.ListUSB(ctx)
}

// SimProbe is the probe of the simulated board name, as a bench opened on
// it reports it.
func SimProbe(name string) (probe.Info, error) {
	sc, err := scenario.Lookup(name)
	if err != nil {
		return probe.Info{}, fmt.Errorf("simulated bench: %w", err)
	}
	cfg := sc.NewProbe().Config()
	info := probe.Info{
		Backend: probe.BackendSim, Serial: cfg.Serial, VID: cfg.Firmware.VID, PID: cfg.Firmware.PID,
		Firmware: cfg.Firmware.String(), Address: "sim:" + sc.Name,
	}
	if m, ok := proto.ModelByPID(info.PID); ok {
		info.Model = m.Name
	}
	return info, nil
}
