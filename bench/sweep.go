package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stprobe/stprobe/boot"
	bootjob "github.com/stprobe/stprobe/boot/job"
	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/probe/sweep"
	"github.com/stprobe/stprobe/targets"
)

// SweepRequest is a sweep's plan (empty fields: the defaults) and the time
// each connect attempt may take.
type SweepRequest struct {
	Plan        sweep.Plan
	CellTimeout time.Duration
	// Full tries every cell (sweep.Options.Full); without it a cell an
	// earlier, faster cell implies is not tried.
	Full bool
	// DA tunes the discovery the sweep runs through AP0 when the core AP
	// is closed everywhere.
	DA da.Options
	// Boot, when set, also probes the ROM bootloader paths it names, after
	// the cells and before any DA discovery (read-only), and shows them
	// beside the cells (Matrix.OtherPaths), their findings merged into the
	// diagnosis with what SWD found. On real hardware a Boot naming neither
	// USB nor a UART probes USB DFU; on the simulated bench any Boot probes
	// both simulated paths (see BootRequest). Nil: SWD only, as the
	// simulated bench's sweeps stay by default (a silent UART costs a
	// second). The report is also kept in Snapshot.Boot.
	Boot *BootRequest
}

// SweepResult is the matrix and its diagnosis.
type SweepResult struct {
	Matrix   *sweep.Matrix
	Findings []sweep.Finding
}

// Sweep tries every connect mode × access port × SWD frequency of r's plan,
// reporting each cell as a SweepCell event, then diagnoses the matrix. A
// cancelled or interrupted sweep still returns the partial matrix, with the
// error that stopped it.
func (b *Bench) Sweep(ctx context.Context, t Token, r SweepRequest) (*SweepResult, error) {
	cell := r.CellTimeout
	if cell <= 0 {
		cell = sweep.DefaultCellTimeout
	}
	plan := r.Plan
	if len(plan.FrequenciesKHz) == 0 {
		plan.FrequenciesKHz = sweep.DefaultPlan(b.link.SWDFrequencies()).FrequenciesKHz
	}
	if len(plan.Modes) == 0 {
		plan.Modes = sweep.DefaultModes()
	}
	if len(plan.APs) == 0 {
		plan.APs = sweep.DefaultAPs()
	}
	// every cell may take its timeout and its teardown; the discovery after
	// them gets a minute.
	limit := time.Duration(len(plan.Keys()))*(cell+3*time.Second) + time.Minute
	if r.Boot != nil {
		limit += limitShort
	}
	return do(b, ctx, t, "sweep", limit, func(ctx context.Context) (*SweepResult, error) {
		return b.sweep(ctx, plan, cell, r)
	})
}

func (b *Bench) sweep(ctx context.Context, plan sweep.Plan, cell time.Duration, r SweepRequest) (*SweepResult, error) {
	snap := b.Snapshot()
	info := snap.Probe
	h := sweep.Header{Probe: info.Model, Serial: info.Serial, Backend: info.Backend, Firmware: info.Firmware, Time: b.now().UTC()}
	if h.Probe == "" {
		h.Probe = "ST-LINK"
	}
	var verr error
	if err := b.readVoltage(ctx, &h.Voltage, &h.HasVoltage, &verr); err != nil {
		return nil, err
	}
	b.update(func(s *Snapshot) { s.Voltage, s.HasVoltage = h.Voltage, h.HasVoltage })

	opts := sweep.Options{CellTimeout: cell, Full: r.Full, Progress: func(p sweep.Progress) {
		b.publish(func(m EventMeta) Event { return SweepCell{EventMeta: m, Progress: p} })
	}}
	if b.sim != nil {
		opts.WireClock = func() time.Duration { return b.sim.Stats().Wire }
	}
	m, runErr := sweep.Run(ctx, b.link, plan, opts)
	if m == nil {
		return nil, runErr
	}
	// the bootloader paths go before the DA discovery, which leaves the
	// chip in its ROM's DA loop until the next reset
	var bootRep *bootjob.Report
	var bootOpts bootjob.Options
	var bootRow []sweep.PathRow
	if r.Boot != nil && runErr == nil {
		o, stop, err := b.bootOptions(*r.Boot, snap.Scenario, true)
		if err != nil {
			bootRow = []sweep.PathRow{bootNotProbed(err)}
		} else {
			rep := bootjob.Run(ctx, o, matrixFacts(m))
			stop()
			bootRep, bootOpts = &rep, o
			if err := ctx.Err(); err != nil {
				runErr = fmt.Errorf("during the bootloader probe: %w", err)
			}
		}
	}
	// when the core port is closed everywhere while the debug port answers,
	// ask the chip's ROM through the debug port what state it is in
	do := r.DA
	var found *da.Discovery
	m.Discover(ctx, opts.WireClock, func(ctx context.Context, req sweep.DiscoveryRequest) (*sweep.DAReport, error) {
		o := do
		o.AP = req.AP
		if o.FrequencyKHz == 0 {
			o.FrequencyKHz = req.FrequencyKHz
		}
		d, err := da.Discover(ctx, b.link, o)
		if err != nil {
			return nil, err
		}
		found = d
		return DAReport(d), nil
	})
	m.Header = h
	m.Header.Target = b.sweepTarget(m.Chip())
	if bootRep != nil {
		// diagnosed again, now with what the DA discovery found
		bootRep.Findings = boot.Diagnose(matrixFacts(m), bootOpts.BOOT0, bootRep.Results)
		m.AddPaths(BootPaths(*bootRep))
	} else if bootRow != nil {
		m.AddPaths(bootRow, nil)
	}
	res := &SweepResult{Matrix: m, Findings: sweep.Diagnose(m)}
	b.update(func(s *Snapshot) {
		s.Matrix, s.Findings = res.Matrix, res.Findings
		if found != nil {
			s.Discovery = found
		}
		s.setSweepState(m, found, b.now())
		if bootRep != nil {
			s.Boot = bootRep
		}
	})
	if runErr != nil {
		tried := len(m.Cells) - m.Count(sweep.OutcomeSkipped)
		why := "sweep stopped"
		if errors.Is(runErr, context.Canceled) || errors.Is(runErr, context.DeadlineExceeded) {
			why = "sweep interrupted"
		}
		return res, fmt.Errorf("%s after %d of %d cells (the matrix is partial): %w", why, tried, len(m.Cells), runErr)
	}
	return res, nil
}

// setDiscovery keeps discovery d and the product state it tells.
func (s *Snapshot) setDiscovery(d *da.Discovery, at time.Time) {
	s.Discovery = d
	if d != nil && d.State.Valid() {
		s.setState(d.State, 0, false, "DA discovery through AP0", at)
	}
}

// setSweepState records the product state the sweep read (a cell that
// reached the core port) or, when the core port is closed everywhere, what
// its DA discovery says; with neither, the state kept may be stale.
func (s *Snapshot) setSweepState(m *sweep.Matrix, d *da.Discovery, at time.Time) {
	for _, c := range m.Cells {
		if c.State.Valid() {
			s.setState(c.State, c.TZEN, true, fmt.Sprintf("sweep: %s on AP%d", c.Mode.Title(), c.AP), at)
			return
		}
	}
	if d != nil && d.State.Valid() {
		s.setState(d.State, 0, false, "sweep: DA discovery through AP0", at)
		return
	}
	s.markStale("the last sweep could not read it")
}

// sweepTarget names what the sweep ran against: the simulated scenario and
// the chip the sweep identified, either when known.
func (b *Bench) sweepTarget(chip string) string {
	var parts []string
	if sc := b.Snapshot().Scenario; sc != "" {
		parts = append(parts, "simulated "+sc)
	}
	if chip != "" {
		parts = append(parts, chip)
	}
	if len(parts) == 0 {
		return "not identified"
	}
	return strings.Join(parts, ": ")
}

// Discover asks the chip's ROM for a debug-authentication discovery through
// the debug access port (it resets the chip through NRST).
func (b *Bench) Discover(ctx context.Context, t Token, o da.Options) (*da.Discovery, error) {
	var d *da.Discovery
	err := b.run(ctx, t, "da discover", time.Minute, func(ctx context.Context) error {
		var err error
		if d, err = da.Discover(ctx, b.link, o); err != nil {
			return err
		}
		b.update(func(s *Snapshot) { s.setDiscovery(d, b.now()) })
		return nil
	})
	return d, err
}

// SWDFrequencies is the probe's SWD clock ladder, fastest first.
func (b *Bench) SWDFrequencies() []int { return b.link.SWDFrequencies() }

// DAReport is what the sweep's diagnosis needs of a discovery.
func DAReport(d *da.Discovery) *sweep.DAReport {
	method, _ := targets.ParseDAMethod(d.Method())
	return &sweep.DAReport{Summary: d.String(), Lifecycle: d.Lifecycle, State: d.State,
		Integrity: d.Integrity, HasIntegrity: d.HasIntegrity, Provisioned: d.Provisioned(),
		Method: method, Record: d}
}
