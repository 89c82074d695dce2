package tui

import (
	"context"
	"fmt"
	"os"

	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/tui/chooser"
	"github.com/stprobe/stprobe/tui/common"
)

// ErrNotChosen is returned by Choose when the user left without choosing.
var ErrNotChosen = chooser.ErrCancelled

// ChooseOptions tune Choose.
type ChooseOptions struct {
	// Always shows the chooser even when exactly one ST-LINK is on USB
	// (otherwise that one is chosen without asking).
	Always bool
	// Env and Light as in Options.
	Env   []string
	Light bool
	// ListUSB lists the ST-LINKs on USB (the bus itself when nil).
	ListUSB func(context.Context) ([]bench.ProbeInfo, error)
	// ProgramOptions are added to the chooser's program.
	ProgramOptions []tea.ProgramOption
}

// Choose asks which probe to open when that is not obvious: with exactly
// one ST-LINK on USB it returns that one's selector at once; with none or
// several it shows the USB probes, a stlink-server address to type and the
// simulated boards. The caller opens the bench with the selector (the
// CLI's --sim, --server and --probe skip Choose). ErrNotChosen: the user
// left.
func Choose(ctx context.Context, o ChooseOptions) (bench.Selector, error) {
	src := bench.List(ctx, bench.Selector{}, bench.Options{ListUSB: o.ListUSB})[0]
	usb, err := src.Probes, src.Err
	if len(usb) == 1 && !o.Always {
		return bench.Selector{Serial: usb[0].Serial}, nil
	}
	if o.Env == nil {
		o.Env = os.Environ()
	}
	st := common.NewStyles(common.Theme{Dark: !o.Light, NoColor: noColor(o.Env)})
	m := chooser.New(st, usb, err, bench.Scenarios())
	po := append([]tea.ProgramOption{tea.WithContext(ctx), tea.WithEnvironment(o.Env)}, o.ProgramOptions...)
	if _, err := tea.NewProgram(m, po...).Run(); err != nil {
		return bench.Selector{}, fmt.Errorf("probe chooser: %w", err)
	}
	sel, ok := m.Chosen()
	if !ok {
		return bench.Selector{}, ErrNotChosen
	}
	return sel, nil
}
