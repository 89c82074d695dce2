package bench

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/stprobe/stprobe/boot"
	"github.com/stprobe/stprobe/boot/dfu"
	bootjob "github.com/stprobe/stprobe/boot/job"
	"github.com/stprobe/stprobe/boot/uart"
	"github.com/stprobe/stprobe/probe/sim/bootsim"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/probe/sweep"
	"github.com/stprobe/stprobe/targets"
)

// BootRequest says which ROM-bootloader paths to probe, read-only: USB DFU
// on the bus, the UART on a serial port.
//
// On the simulated bench both paths of the simulated board are probed
// whatever the request names (its UART is a pty, its DFU function
// in-process), and the request's BOOT0 level is the simulated board's pin:
// Options.BOOT0 high or low sets it, and a UART wiring that drives BOOT0
// (Options.UARTOptions.Wiring.BOOT0) sets it high; unknown keeps the
// scenario's own level. The pty has no modem lines, so the wiring is not
// driven there.
type BootRequest struct {
	USB  bool
	UART string
	// Options tune each path (baud rate, parity, DTR/RTS wiring, timeouts)
	// and say what BOOT0 is set to (for the diagnosis).
	Options bootjob.Options
}

// BootProbe probes the ROM bootloader paths r names and diagnoses them with
// what the last sweep (or option-byte read) found over SWD. Nothing is
// ever written through either path. The report is kept in Snapshot.Boot;
// when the snapshot holds a matrix, the paths are added to it (beside the
// SWD cells, their findings in Snapshot.Findings) as a sweep with Boot set
// would show them.
func (b *Bench) BootProbe(ctx context.Context, t Token, r BootRequest) (*bootjob.Report, error) {
	return do(b, ctx, t, "boot probe", limitShort, func(ctx context.Context) (*bootjob.Report, error) {
		return b.bootProbe(ctx, r)
	})
}

func (b *Bench) bootProbe(ctx context.Context, r BootRequest) (*bootjob.Report, error) {
	snap := b.Snapshot()
	o, stop, err := b.bootOptions(r, snap.Scenario, false)
	if err != nil {
		return nil, err
	}
	defer stop()
	rep := bootjob.Run(ctx, o, swdFacts(snap))
	b.update(func(s *Snapshot) {
		s.Boot = &rep
		if s.Matrix != nil {
			m := *s.Matrix // the cells are shared, read-only; only the paths change
			rows, fs := BootPaths(rep)
			m.AddPaths(rows, fs)
			s.Matrix, s.Findings = &m, sweep.Diagnose(&m)
		}
	})
	return &rep, nil
}

// bootOptions turns r into the job's options. On the simulated bench it
// serves the simulated board's paths until stop is called; elsewhere stop
// does nothing. With neither USB nor a UART asked for, orUSB picks USB DFU
// (the sweep's default); without it that is an error.
func (b *Bench) bootOptions(r BootRequest, scenarioName string, orUSB bool) (o bootjob.Options, stop func(), err error) {
	o = r.Options
	o.USB = o.USB || r.USB
	if r.UART != "" {
		o.UART = r.UART
	}
	stop = func() {}
	if b.sim == nil {
		if !o.USB && o.UART == "" {
			if !orUSB {
				return o, stop, fmt.Errorf("boot probe: nothing to probe: ask for USB DFU, a UART port, or both")
			}
			o.USB = true
		}
		return o, stop, nil
	}
	sc, err := scenario.Lookup(scenarioName)
	if err != nil {
		return o, stop, err
	}
	wired := o.UARTOptions.Wiring.BOOT0 != uart.SignalNone
	switch {
	case o.BOOT0 == boot.LevelUnknown && wired:
		o.BOOT0 = boot.LevelHigh
	case o.BOOT0 == boot.LevelUnknown:
		o.BOOT0 = boot0Of(sc.Boot0)
	}
	sc = sc.WithBoot0(o.BOOT0 == boot.LevelHigh)
	o.UARTOptions.Wiring = uart.Wiring{}
	bs, err := bootsim.Start(sc, b.sim)
	if err != nil {
		return o, stop, fmt.Errorf("boot probe: the simulated board has no ROM bootloader to probe: %w", err)
	}
	o.USB, o.UART = true, bs.UARTPath()
	o.ProbeDFU = func(ctx context.Context, opts dfu.Options) boot.Result {
		if !bs.Present() {
			return boot.Result{Path: boot.PathDFU, Outcome: boot.Silent, Detail: "no 0483:DF11 (STM32 ROM DFU) on the simulated bus"}
		}
		return dfu.Probe(ctx, bootsim.Device{Fn: bs.DFU()}, opts)
	}
	return o, func() { bs.Close() }, nil
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
	if s.Matrix != nil {
		f = matrixFacts(s.Matrix)
	}
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
	}
	return f
}

// matrixFacts is what a sweep found over SWD: whether AP1 answered, the
// chip's DEV_ID, and the product state read through AP1 or reported by the
// DA discovery.
func matrixFacts(m *sweep.Matrix) boot.SWD {
	f := boot.SWD{AP1: ap1Of(m)}
	for _, c := range m.Cells {
		if f.DevID == 0 && c.IDCode != 0 {
			f.DevID, _ = targets.DecodeIDCode(c.IDCode)
		}
		if !f.HasProductState && c.State.Valid() {
			f.ProductState, f.HasProductState = c.State, true
		}
	}
	if d := m.Discovery; !f.HasProductState && d != nil && d.Result != nil && d.Result.State.Valid() {
		f.ProductState, f.HasProductState = d.Result.State, true
	}
	return f
}

// ap1Of reads the matrix: AP1 open when any AP1 cell reached memory,
// closed when AP1 was tried and the debug port answered but no AP1 cell
// did, unknown otherwise (AP1 not tried, or no debug port).
func ap1Of(m *sweep.Matrix) boot.AP1 {
	dp, tried := false, false
	for _, c := range m.Cells {
		if c.AP == 1 && c.Outcome == sweep.OutcomeOK {
			return boot.AP1Open
		}
		tried = tried || c.AP == 1 && c.Outcome.Attempted()
		dp = dp || c.Outcome.DPAnswered()
	}
	if dp && tried {
		return boot.AP1Closed
	}
	return boot.AP1Unknown
}

// Rules of the findings BootPaths makes, for the sweep's diagnosis.
const (
	// RuleBootAnswers: the ROM bootloader answered on some path (OPEN with
	// BOOT0 high, or PROVISIONING; the state when it let us read it).
	RuleBootAnswers = "boot-answers"
	// RuleBootSilent: every path tried was silent, and what that means
	// with what SWD found.
	RuleBootSilent = "boot-silent"
	// RuleBootPathSilent: one path was silent while another answered.
	RuleBootPathSilent = "boot-path-silent"
	// RuleBootError: something answered on a path, but not the ROM
	// bootloader (or the host side failed).
	RuleBootError = "boot-error"
)

// BootPaths turns a bootloader report into rows beside the SWD cells and
// findings for the sweep's diagnosis (sweep.Matrix.AddPaths). Each finding
// keeps the report's hand-checks; its title says which product states the
// evidence allows.
func BootPaths(rep bootjob.Report) ([]sweep.PathRow, []sweep.Finding) {
	var rows []sweep.PathRow
	answered, silent := 0, 0
	for _, r := range rep.Results {
		row := sweep.PathRow{Path: string(r.Path), Outcome: r.Outcome.String(),
			State: r.StateName(), Summary: r.Summary(), Implies: r.Implies()}
		if r.HasProductState {
			row.ProductState = r.ProductState
		}
		rows = append(rows, row)
		switch r.Outcome {
		case boot.Answered:
			answered++
		case boot.Silent:
			silent++
		}
	}
	var fs []sweep.Finding
	for i, f := range rep.Findings {
		// boot.Diagnose's order: the answer (or the silence) first, then
		// each silent path beside an answer, then each path in error.
		rule, sev := RuleBootError, sweep.SeverityWarning
		switch {
		case answered > 0 && i == 0:
			rule, sev = RuleBootAnswers, sweep.SeverityInfo
		case answered > 0 && i <= silent:
			rule, sev = RuleBootPathSilent, sweep.SeverityInfo
		case answered == 0 && silent > 0 && i == 0:
			rule = RuleBootSilent
		}
		title := upperFirst(f.Title)
		if s := f.StateNames(); s != "" {
			title += ": consistent with " + s
		}
		fs = append(fs, sweep.Finding{Rule: rule, Severity: sev, Title: title, Detail: f.Text, Checks: f.Checks})
	}
	return rows, fs
}

// upperFirst capitalises s's first letter.
func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// bootNotProbed is the row a sweep shows when it was asked for the
// bootloader paths and could not probe them.
func bootNotProbed(err error) sweep.PathRow {
	return sweep.PathRow{Path: "rom-bootloader", Outcome: "not-probed",
		Summary: "rom-bootloader: not probed - " + strings.TrimPrefix(err.Error(), "boot probe: ")}
}
