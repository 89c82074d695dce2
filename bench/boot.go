package bench

import (
	"context"
	"fmt"

	"github.com/stprobe/stprobe/probe/boot"
	"github.com/stprobe/stprobe/probe/boot/dfu"
	bootjob "github.com/stprobe/stprobe/probe/boot/job"
	"github.com/stprobe/stprobe/probe/sim/bootsim"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/probe/sweep"
)

// BootRequest says which ROM-bootloader paths to probe, read-only: USB DFU
// on the bus, the UART on a serial port. On the simulated bench both paths
// of the simulated board are probed whatever the request says (its UART is
// a pty, its DFU function in-process).
type BootRequest struct {
	USB  bool
	UART string
	// Options tune each path (baud rate, parity, DTR/RTS wiring, timeouts)
	// and say what BOOT0 is set to (for the diagnosis).
	Options bootjob.Options
}

// BootProbe probes the ROM bootloader paths r names and diagnoses them with
// what the last sweep (or option-byte read) found over SWD. Nothing is
// ever written through either path.
func (b *Bench) BootProbe(ctx context.Context, t Token, r BootRequest) (*bootjob.Report, error) {
	var rep *bootjob.Report
	err := b.run(ctx, t, "boot probe", limitShort, func(ctx context.Context) error {
		var err error
		rep, err = b.bootProbe(ctx, r)
		return err
	})
	return rep, err
}

func (b *Bench) bootProbe(ctx context.Context, r BootRequest) (*bootjob.Report, error) {
	o := r.Options
	o.USB = o.USB || r.USB
	if r.UART != "" {
		o.UART = r.UART
	}
	snap := b.Snapshot()
	if b.sim != nil {
		sc, err := scenario.Lookup(snap.Scenario)
		if err != nil {
			return nil, err
		}
		bs, err := bootsim.Start(sc, b.sim)
		if err != nil {
			return nil, fmt.Errorf("the simulated board has no ROM bootloader to probe: %w", err)
		}
		defer bs.Close()
		o.USB, o.UART = true, bs.UARTPath()
		o.ProbeDFU = func(ctx context.Context, opts dfu.Options) boot.Result {
			if !bs.Present() {
				return boot.Result{Path: boot.PathDFU, Outcome: boot.Silent, Detail: "no 0483:DF11 (STM32 ROM DFU) on the simulated bus"}
			}
			return dfu.Probe(ctx, bootsim.Device{Fn: bs.DFU()}, opts)
		}
		if o.BOOT0 == boot.LevelUnknown {
			o.BOOT0 = boot0Of(sc.Boot0)
		}
	}
	if !o.USB && o.UART == "" {
		return nil, fmt.Errorf("boot probe: nothing to probe: ask for USB DFU, a UART port, or both")
	}
	rep := bootjob.Run(ctx, o, swdFacts(snap))
	b.update(func(s *Snapshot) { s.Boot = &rep })
	return &rep, nil
}

// boot0Of is the simulated board's BOOT0 level.
func boot0Of(high bool) boot.Level {
	if high {
		return boot.LevelHigh
	}
	return boot.LevelLow
}

// swdFacts is what the bench knows over SWD, for the bootloader diagnosis.
func swdFacts(s Snapshot) boot.SWD {
	var f boot.SWD
	if s.Chip != nil {
		f.DevID = s.Chip.DevID
	}
	if s.HasState {
		f.ProductState, f.HasProductState = s.State, true
	}
	switch {
	case s.OptionBytes != nil && s.OptionBytes.Closed == nil:
		f.AP1 = boot.AP1Open
	case s.OptionBytes != nil:
		f.AP1 = boot.AP1Closed
	case s.Matrix != nil:
		f.AP1 = ap1Of(s.Matrix)
	}
	return f
}

// ap1Of reads the matrix: AP1 open when any AP1 cell reached memory,
// closed when the debug port answered but no AP1 cell did.
func ap1Of(m *sweep.Matrix) boot.AP1 {
	dp := false
	for _, c := range m.Cells {
		if c.AP == 1 && c.Outcome == sweep.OutcomeOK {
			return boot.AP1Open
		}
		dp = dp || c.Outcome.DPAnswered()
	}
	if dp {
		return boot.AP1Closed
	}
	return boot.AP1Unknown
}
