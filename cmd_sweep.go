package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/probe/sweep"
	"github.com/stprobe/stprobe/targets"
)

// sweepFormat is how `stprobe sweep` prints the matrix.
type sweepFormat int

const (
	sweepText sweepFormat = iota
	sweepJSON
	sweepCSV
	sweepMarkdown
)

// cmdSweep tries every connect mode × access port × SWD frequency, prints
// the connection matrix and what its pattern means.
func cmdSweep(ctx context.Context, g *globalFlags, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sweep", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modesFlag := fs.String("modes", "normal,hotplug,under-reset", "connect `MODES` to try, comma-separated")
	apsFlag := fs.String("aps", "0,1", "access `PORTS` to try, comma-separated")
	freqsFlag := fs.String("freqs", "", "SWD clocks in `KHZ`, comma-separated (default: about five rungs of the probe's own ladder)")
	asJSON := fs.Bool("json", false, "print the matrix and the diagnosis as JSON")
	asCSV := fs.Bool("csv", false, "print one CSV row per cell")
	asMD := fs.Bool("md", false, "print a Markdown table ready to paste into a forum post")
	cellTimeout := fs.Duration("cell-timeout", sweep.DefaultCellTimeout, "give up on one connect attempt after `DURATION`")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: stprobe sweep [--modes normal,hotplug,under-reset] [--aps 0,1] [--freqs 4000,100] [--json | --csv | --md]")
		fmt.Fprintln(stderr, "\nTries every connect mode x access port x SWD frequency, each a real connect attempt torn down")
		fmt.Fprintln(stderr, "cleanly, then says what the pattern means and what to try next. Ctrl-C stops after the current")
		fmt.Fprintln(stderr, "attempt and prints the partial matrix.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var plan sweep.Plan
	var err error
	format := sweepText
	nFormats := 0
	for _, f := range []struct {
		set bool
		fmt sweepFormat
	}{{*asJSON, sweepJSON}, {*asCSV, sweepCSV}, {*asMD, sweepMarkdown}} {
		if f.set {
			format = f.fmt
			nFormats++
		}
	}
	switch {
	case fs.NArg() > 0:
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case nFormats > 1:
		err = errors.New("choose one of --json, --csv and --md")
	case *cellTimeout <= 0:
		err = fmt.Errorf("cell timeout %v: want a positive duration", *cellTimeout)
	}
	if err == nil {
		plan.Modes, err = sweep.ParseModes(*modesFlag)
	}
	if err == nil {
		plan.APs, err = sweep.ParseAPs(*apsFlag)
	}
	if err == nil && *freqsFlag != "" {
		plan.FrequenciesKHz, err = sweep.ParseFrequencies(*freqsFlag)
	}
	if err == nil {
		// The default clocks come from the probe, once it is open: check
		// the rest of the plan now, so that a mistake is a usage error.
		check := plan
		if len(check.FrequenciesKHz) == 0 {
			check.FrequenciesKHz = []int{100}
		}
		err = check.Validate()
	}
	if err != nil {
		return usageError(fs, stderr, err)
	}

	b, err := openBench(ctx, g)
	if err != nil {
		return err
	}
	defer b.Close()
	cfg := sweepConfig{plan: plan, format: format, cellTimeout: *cellTimeout}
	if isTerminal(stderr) {
		line := &progressLine{w: stderr}
		cfg.progress, cfg.done = line.show, line.clear
	}
	return sweepBench(ctx, b, cfg, stdout)
}

// sweepConfig is what the command line asked for.
type sweepConfig struct {
	plan        sweep.Plan
	format      sweepFormat
	cellTimeout time.Duration
	progress    func(sweep.Progress) // nil: no progress shown
	done        func()               // called when the sweep ends, before printing
}

// sweepBench runs the sweep on an open bench and prints the matrix and its
// diagnosis. A cancelled sweep still prints the partial matrix, then
// returns the cancellation.
func sweepBench(ctx context.Context, b *bench, cfg sweepConfig, stdout io.Writer) error {
	h := sweep.Header{Probe: b.Info.Model, Serial: b.Info.Serial, Backend: b.Info.Backend,
		Firmware: b.Info.Firmware, Time: time.Now().UTC()}
	if h.Probe == "" {
		h.Probe = "ST-LINK"
	}
	if v, err := b.Link.TargetVoltage(ctx); err == nil {
		h.Voltage, h.HasVoltage = v, true
	} else if errors.Is(err, probe.ErrDisconnected) || ctx.Err() != nil {
		return fmt.Errorf("reading the target voltage: %w", err)
	}

	opts := sweep.Options{CellTimeout: cfg.cellTimeout, Progress: cfg.progress}
	if b.Sim != nil {
		opts.WireClock = func() time.Duration { return b.Sim.Stats().Wire }
	}
	m, runErr := sweep.Run(ctx, b.Link, cfg.plan, opts)
	if m != nil {
		m.Discover(ctx, opts.WireClock, func(ctx context.Context, req sweep.DiscoveryRequest) (*sweep.DAReport, error) {
			return discoverDA(ctx, b.Link, req)
		})
	}
	if cfg.done != nil {
		cfg.done()
	}
	if m == nil {
		return runErr
	}
	m.Header = h
	m.Header.Target = sweepTarget(b, m.Chip())
	findings := sweep.Diagnose(m)

	var err error
	switch cfg.format {
	case sweepJSON:
		err = sweep.WriteJSON(stdout, m, findings)
	case sweepCSV:
		err = sweep.WriteCSV(stdout, m)
	case sweepMarkdown:
		err = sweep.WriteMarkdown(stdout, m, findings)
	default:
		err = sweep.WriteText(stdout, m, findings)
	}
	if err != nil {
		return err
	}
	if runErr != nil {
		tried := len(m.Cells) - m.Count(sweep.OutcomeSkipped)
		why := "sweep stopped"
		if errors.Is(runErr, context.Canceled) {
			why = "sweep interrupted"
		}
		return fmt.Errorf("%s after %d of %d cells (the matrix above is partial): %w", why, tried, len(m.Cells), runErr)
	}
	return nil
}

// sweepTarget names what the sweep ran against: the simulated scenario
// and the chip the sweep identified, either when known.
func sweepTarget(b *bench, chip string) string {
	var parts []string
	if b.Sim != nil {
		parts = append(parts, "simulated "+strings.TrimPrefix(b.Info.Address, "sim:"))
	}
	if chip != "" {
		parts = append(parts, chip)
	}
	if len(parts) == 0 {
		return "not identified"
	}
	return strings.Join(parts, ": ")
}

// progressLine redraws one status line on a terminal as cells go.
type progressLine struct {
	w     io.Writer
	width int
}

func (p *progressLine) show(ev sweep.Progress) {
	state := "..."
	if ev.Done {
		state = string(ev.Cell.Outcome)
	}
	s := fmt.Sprintf("sweep %d/%d  %-11s AP%d %5d kHz  %s", ev.Index+1, ev.Total, ev.Cell.Mode, ev.Cell.AP, ev.Cell.KHz, state)
	pad := max(p.width-len(s), 0)
	fmt.Fprintf(p.w, "\r%s%s", s, strings.Repeat(" ", pad))
	p.width = len(s)
}

func (p *progressLine) clear() {
	if p.width == 0 {
		return
	}
	fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
	p.width = 0
}

// isTerminal reports whether w is a character device (a terminal), so that
// progress lines are not written into files or pipes.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// discoverDA runs the DA discovery a sweep matrix asks for and turns it
// into what the sweep's diagnosis reads.
func discoverDA(ctx context.Context, l *probe.Link, req sweep.DiscoveryRequest) (*sweep.DAReport, error) {
	d, err := da.Discover(ctx, l, da.Options{AP: req.AP, FrequencyKHz: req.FrequencyKHz})
	if err != nil {
		return nil, err
	}
	method, _ := targets.ParseDAMethod(d.Method())
	return &sweep.DAReport{Summary: d.String(), Lifecycle: d.Lifecycle, State: d.State,
		Integrity: d.Integrity, HasIntegrity: d.HasIntegrity, Provisioned: d.Provisioned(),
		Method: method, Record: d}, nil
}
