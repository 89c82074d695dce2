package sweep

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stprobe/stprobe/adi"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/targets"
)

// DefaultCellTimeout bounds one connect attempt when Options.CellTimeout is 0.
const DefaultCellTimeout = 5 * time.Second

// teardownTimeout bounds the clean-up after each cell. It runs even when the
// sweep's context is cancelled, so that a ctrl-c leaves the probe clean.
const teardownTimeout = 2 * time.Second

// Options tune a sweep. The zero value is usable.
type Options struct {
	// CellTimeout bounds each connect attempt (DefaultCellTimeout when 0).
	CellTimeout time.Duration
	// WireClock returns the modelled wire time spent so far; the simulator
	// provides one (sim.Probe.Stats().Wire). Nil on real hardware: cells
	// then have no modelled time.
	WireClock func() time.Duration
	// Progress, when set, is called before and after each cell.
	Progress func(Progress)
	// Full tries every cell. Without it a cell is not tried when a faster
	// clock on the same mode and access port already gave an outcome a
	// slower clock cannot change (ok, mode-failed, ap-closed): the cell
	// then carries that outcome with ImpliedBy naming the cell tried. The
	// slower clocks run only where a faster one failed in a way a slower
	// clock can fix (no-ack, wait-timeout, fault, dp-only).
	Full bool
}

// Progress reports one step of a sweep, for a progress line or a UI.
type Progress struct {
	// Index is the cell's position in plan order, Total the plan's size.
	Index, Total int
	// Done is false when the cell is about to be tried, true when it has
	// its outcome.
	Done bool
	// Cell is the cell: its key before the attempt, everything after.
	Cell Cell
}

// session is what a sweep needs from a probe connection. *probe.Link is
// adapted to it by linkSession; tests use a scripted one.
type session interface {
	Version() proto.Version
	SWDFrequencies() []int
	Connect(ctx context.Context, o probe.ConnectOptions) (*probe.ConnectReport, error)
	Disconnect(ctx context.Context) error
	// Resume lets a core the attempt halted (or asked to halt) run again
	// with halting debug off, as it was before the cell.
	Resume(ctx context.Context, ap uint8) error
	// Inspect reads what the target says about itself through the cell's
	// access port and fills the cell's identification fields, taking what
	// known holds instead of reading it; it returns the chip identified.
	Inspect(ctx context.Context, c *Cell, known earlier) (*targets.Chip, error)
	// CheckDA reads whether debug authentication is provisioned through
	// the cell's (open, core) access port and fills c.DA.
	CheckDA(ctx context.Context, c *Cell) error
}

// linkSession runs a sweep over a real (or simulated) probe link.
type linkSession struct{ l *probe.Link }

func (s linkSession) Version() proto.Version { return s.l.Version() }
func (s linkSession) SWDFrequencies() []int  { return s.l.SWDFrequencies() }
func (s linkSession) Connect(ctx context.Context, o probe.ConnectOptions) (*probe.ConnectReport, error) {
	return probe.Connect(ctx, s.l, o)
}
func (s linkSession) Disconnect(ctx context.Context) error { return probe.Disconnect(ctx, s.l) }
func (s linkSession) Resume(ctx context.Context, ap uint8) error {
	// DHCSR with only the key: C_HALT and C_DEBUGEN clear, the core runs.
	if err := s.l.Write32(ctx, ap, adi.RegDHCSR, adi.DHCSRDebugKey); err != nil {
		return fmt.Errorf("resuming the core on AP%d: %w", ap, err)
	}
	return nil
}
func (s linkSession) Inspect(ctx context.Context, c *Cell, known earlier) (*targets.Chip, error) {
	return inspect(ctx, s.l, c, known)
}
func (s linkSession) CheckDA(ctx context.Context, c *Cell) error {
	return checkDA(ctx, s.l, c)
}

// Run sweeps the plan over the probe link l: one connect attempt per cell,
// each bounded by Options.CellTimeout and followed by a clean teardown
// (resume a core the mode halted, release NRST, close the access ports,
// leave debug mode), so cells do not disturb each other. Empty lists in p
// are filled from DefaultPlan with the probe's own frequency ladder. A
// cell does not read again what an earlier cell read and no cell changes
// (probe.Known, and the identification through the same port): each cell
// says what it would say tried alone. Run never waits on the wall clock:
// every wait is the protocol's own.
//
// Run always returns a matrix with one cell per planned key. When ctx is
// cancelled it tears down the current cell, marks the remaining cells
// skipped and returns the partial matrix with ctx's error; when the probe
// goes away it does the same with the transport error.
//
// When the cells show the core AP closed in every mode while the debug AP
// answers, the caller should then ask the chip's ROM for a
// debug-authentication discovery through the debug AP and attach it with
// Matrix.Discover (see NeedsDiscovery).
func Run(ctx context.Context, l *probe.Link, p Plan, o Options) (*Matrix, error) {
	if l == nil {
		return nil, errors.New("sweep: no probe link")
	}
	return run(ctx, linkSession{l}, p, o)
}

// DiscoveryRequest is the debug-authentication discovery a matrix calls
// for: through the debug access port AP, at the fastest SWD clock that port
// answered at in the sweep.
type DiscoveryRequest struct {
	AP           uint8
	FrequencyKHz int
	// Skip, when set, says why the discovery should not run although the
	// pattern calls for it (the sweep was cancelled, NRST is known not to
	// be wired).
	Skip string
}

// NeedsDiscovery reports whether the matrix shows the core AP closed in
// every mode while the debug AP answers (the debug-closed pattern), where
// only a debug-authentication discovery through the debug AP tells the
// product state and whether DA is provisioned; and which discovery to run.
func (m *Matrix) NeedsDiscovery() (DiscoveryRequest, bool) {
	f := newFacts(m)
	a, ok := f.debugClosedAP()
	if !ok || int(a) != f.coreAP || f.debugAP < 0 {
		return DiscoveryRequest{}, false
	}
	req := DiscoveryRequest{AP: uint8(f.debugAP)}
	for _, c := range f.where(func(c Cell) bool { return int(c.AP) == f.debugAP && isOK(c) }) {
		req.FrequencyKHz = max(req.FrequencyKHz, c.KHz)
	}
	switch {
	case m.Cancelled:
		req.Skip = "sweep cancelled"
	case f.nrstNotWired():
		req.Skip = "NRST is not wired (Under Reset never reset the chip); DA needs it"
	}
	return req, true
}

// Discover runs the discovery the matrix calls for (NeedsDiscovery) with
// run, and attaches its outcome, or why it was skipped, as m.Discovery,
// for Diagnose and the exports. It does nothing when the pattern is
// absent. run gets the request (debug AP and SWD clock) and returns what
// the chip's ROM reported; the caller builds it from probe/da's discovery
// (see DAReport). wire, when not nil, is the modelled wire clock
// (Options.WireClock) used to time it.
func (m *Matrix) Discover(ctx context.Context, wire func() time.Duration, run func(context.Context, DiscoveryRequest) (*DAReport, error)) {
	req, ok := m.NeedsDiscovery()
	if !ok {
		return
	}
	if req.Skip == "" && ctx.Err() != nil {
		req.Skip = "sweep cancelled"
	}
	if req.Skip != "" {
		m.SetDiscovery(&Discovery{Skipped: req.Skip})
		return
	}
	out := &Discovery{FrequencyKHz: req.FrequencyKHz}
	start := time.Now()
	var wire0 time.Duration
	if wire != nil {
		wire0 = wire()
	}
	d, err := run(ctx, req)
	out.Wall = time.Since(start)
	if wire != nil {
		out.Wire = wire() - wire0
	}
	switch {
	case err != nil:
		out.Err = err.Error()
	case d == nil:
		out.Err = "the discovery returned no report"
	default:
		out.Result = d
	}
	m.SetDiscovery(out)
}

// SetDiscovery attaches a discovery the caller ran (or skipped) itself;
// nil removes it.
func (m *Matrix) SetDiscovery(d *Discovery) { m.Discovery = d }

func run(ctx context.Context, s session, p Plan, o Options) (*Matrix, error) {
	def := DefaultPlan(s.SWDFrequencies())
	if len(p.Modes) == 0 {
		p.Modes = def.Modes
	}
	if len(p.APs) == 0 {
		p.APs = def.APs
	}
	if len(p.FrequenciesKHz) == 0 {
		p.FrequenciesKHz = def.FrequenciesKHz
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if o.CellTimeout <= 0 {
		o.CellTimeout = DefaultCellTimeout
	}
	keys := p.Keys()
	m := &Matrix{Plan: p, Cells: make([]Cell, len(keys))}
	for i, k := range keys {
		m.Cells[i] = Cell{Key: k, Outcome: OutcomeSkipped, Reason: "not tried"}
	}
	fw := s.Version()
	st := &runState{}
	var stopErr error
	for i, k := range keys {
		if stopErr == nil && ctx.Err() != nil {
			stopErr = ctx.Err()
		}
		if stopErr != nil {
			m.Cancelled = true
			m.Cells[i].Reason = skipReason(stopErr)
			continue
		}
		if !o.Full {
			if by, ok := impliedBy(m.Cells[:i], k); ok {
				m.Cells[i] = implied(by, k)
				if o.Progress != nil {
					o.Progress(Progress{Index: i, Total: len(keys), Done: true, Cell: m.Cells[i]})
				}
				continue
			}
		}
		if o.Progress != nil {
			o.Progress(Progress{Index: i, Total: len(keys), Cell: m.Cells[i]})
		}
		c, err := runCell(ctx, s, fw, k, o, st)
		m.Cells[i] = c
		m.Wall += c.Wall
		m.Wire += c.Wire
		if o.Progress != nil {
			o.Progress(Progress{Index: i, Total: len(keys), Done: true, Cell: c})
		}
		if err != nil {
			stopErr, m.Cancelled = err, true
		}
	}
	if m.Cancelled {
		return m, stopErr
	}
	return m, nil
}

// clockProof reports whether outcome o, reached at some clock, holds at
// every slower clock too: the debug and access ports answered, so a slower
// clock only drives the same transactions more slowly. What stopped them
// (the mode's promise, the AP's permission) does not depend on the clock.
func clockProof(o Outcome) bool {
	switch o {
	case OutcomeOK, OutcomeModeFailed, OutcomeAPClosed:
		return true
	}
	return false
}

// impliedBy finds, among the cells done so far, the tried cell that implies
// the outcome of k: same mode and access port, a faster clock, and an
// outcome a slower clock cannot change.
func impliedBy(done []Cell, k Key) (Cell, bool) {
	for _, c := range done {
		if c.ImpliedBy == nil && c.Mode == k.Mode && c.AP == k.AP && c.KHz > k.KHz && clockProof(c.Outcome) {
			return c, true
		}
	}
	return Cell{}, false
}

// implied is the cell for k that by implies: its outcome and what the ports
// said, no time spent, and ImpliedBy naming it. The DA provisioning, read
// once per sweep, stays with the cell that read it.
func implied(by Cell, k Key) Cell {
	c := by
	c.Key = k
	c.SetKHz = 0
	c.DA = nil
	c.TeardownErr = ""
	c.Wall, c.Wire = 0, 0
	from := by.Key
	c.ImpliedBy = &from
	c.Reason = fmt.Sprintf("implied by %s: %s at %d kHz, which a slower clock does not change", from, by.Outcome, by.KHz)
	return c
}

// skipReason says why the cells after a stop were not tried.
func skipReason(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "sweep cancelled"
	case errors.Is(err, context.DeadlineExceeded):
		return "sweep deadline reached"
	case errors.Is(err, probe.ErrDisconnected):
		return "probe disconnected"
	}
	return "sweep stopped: " + err.Error()
}

// firmwareGate returns why the probe's firmware cannot try k, or nil.
func firmwareGate(fw proto.Version, k Key) error {
	if need, ok := fw.APNeed(k.AP); !ok {
		return &probe.FirmwareError{Op: "connect", Feature: fmt.Sprintf("AP%d", k.AP), Need: need, Have: fw}
	}
	return nil
}

// runState is what a sweep remembers from cell to cell.
type runState struct {
	// daChecked is set once the DA provisioning has been read: it is read
	// once per sweep, in the first cell that finds the chip in
	// PROVISIONING, where it decides the advice.
	daChecked bool
	// known is what the connects learned about the debug port and the
	// access ports (probe.Known): later cells do not read it again.
	known probe.Known
	// What ok cells identified without error, for later ok cells to take
	// (see earlier): the chip, the product state per core port, DBGMCU_SR
	// per debug port and reset condition.
	chip     *targets.Chip
	state    map[uint8]Cell
	apStatus map[apStatusKey]Cell
}

// apStatusKey is what a DBGMCU_SR read can be shared across: the port, and
// whether the chip was held in reset (before its firmware ran).
type apStatusKey struct {
	ap         uint8
	underReset bool
}

func apStatusKeyOf(c *Cell) apStatusKey {
	return apStatusKey{ap: c.AP, underReset: c.Mode == probe.ModeUnderReset}
}

// knownFor is what c may take from earlier cells: nothing unless c reached
// its port.
func (st *runState) knownFor(c *Cell) earlier {
	var k earlier
	if c.Outcome != OutcomeOK {
		return k
	}
	if st.chip != nil && st.chip.Family.IdentifiesThrough(c.AP) {
		k.Chip = st.chip
	}
	if from, ok := st.state[c.AP]; ok {
		k.State = &from
	}
	if from, ok := st.apStatus[apStatusKeyOf(c)]; ok {
		k.APStatus = &from
	}
	return k
}

// keep remembers what c identified, when it reached its port and read
// everything it tried.
func (st *runState) keep(c Cell, chip *targets.Chip, err error) {
	if err != nil || c.Outcome != OutcomeOK || chip == nil {
		return
	}
	if st.chip == nil {
		st.chip = chip
	}
	if st.state == nil {
		st.state, st.apStatus = map[uint8]Cell{}, map[apStatusKey]Cell{}
	}
	if _, ok := st.state[c.AP]; !ok && c.AP == chip.Family.CoreAP {
		st.state[c.AP] = c
	}
	if _, ok := st.apStatus[apStatusKeyOf(&c)]; !ok && c.HasAPStatus {
		st.apStatus[apStatusKeyOf(&c)] = c
	}
}

// runCell makes one attempt. Its error is non-nil only when the sweep must
// stop: the parent context ended or the probe went away.
func runCell(ctx context.Context, s session, fw proto.Version, k Key, o Options, st *runState) (Cell, error) {
	c := Cell{Key: k}
	if err := firmwareGate(fw, k); err != nil {
		c.Outcome, c.Reason = OutcomeUnsupported, err.Error()
		c.Err, c.Layer = err.Error(), probe.LayerOf(err)
		return c, nil
	}
	start := time.Now()
	var wire0 time.Duration
	if o.WireClock != nil {
		wire0 = o.WireClock()
	}

	cctx, cancel := context.WithTimeout(ctx, o.CellTimeout)
	rep, err := s.Connect(cctx, probe.ConnectOptions{Mode: k.Mode, AP: k.AP, FrequencyKHz: k.KHz, Known: &st.known})
	c.Outcome, c.Reason = Classify(rep, err)
	fill(&c, rep, err)
	if err == nil && rep != nil && rep.DPOK && rep.APIDR != 0 {
		// Identification is best effort: a closed AP simply reads less.
		chip, ierr := s.Inspect(cctx, &c, st.knownFor(&c))
		if ierr != nil && c.Err == "" && c.Outcome != OutcomeOK {
			c.Err = ierr.Error()
		}
		st.keep(c, chip, ierr)
		if c.State == targets.StateProvisioning && !st.daChecked && ctx.Err() == nil {
			st.daChecked = true
			if derr := s.CheckDA(cctx, &c); derr != nil && c.DA == nil {
				c.DA = &targets.DAStatus{Source: derr.Error()}
			}
		}
	}
	cancel()

	// Tear down even when the sweep is being cancelled: resume a core the
	// mode halted, so that the firmware runs again as before the cell, then
	// release NRST, close the APs and leave debug mode.
	tctx, tcancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
	var terrs []error
	if rep != nil && rep.CoreFound && k.Mode != probe.ModeHotPlug {
		if rerr := s.Resume(tctx, k.AP); rerr != nil {
			terrs = append(terrs, rerr)
		}
	}
	if derr := s.Disconnect(tctx); derr != nil {
		terrs = append(terrs, derr)
	}
	if terr := errors.Join(terrs...); terr != nil {
		c.TeardownErr = terr.Error()
		if errors.Is(terr, probe.ErrDisconnected) {
			err = terr
		}
	}
	tcancel()

	c.Wall = time.Since(start)
	if o.WireClock != nil {
		c.Wire = o.WireClock() - wire0
	}
	switch {
	case ctx.Err() != nil:
		// The sweep was cancelled during this cell: its outcome says
		// nothing about the target.
		c.Outcome, c.Reason = OutcomeSkipped, "sweep cancelled during this cell"
		return c, ctx.Err()
	case err != nil && errors.Is(err, probe.ErrDisconnected):
		return c, err
	}
	return c, nil
}

// fill copies what the connect report says into the cell.
func fill(c *Cell, rep *probe.ConnectReport, err error) {
	if rep != nil {
		c.SetKHz = rep.FrequencyKHz
		if rep.DPIDR != 0 && rep.DPIDR != 0xFFFFFFFF {
			c.DPIDR, c.CtrlStat = rep.DPIDR, rep.CtrlStat
		}
		c.APIDR = rep.APIDR
		if rep.CoreFound {
			c.CPUID = rep.CPUID
		}
		c.Core = rep.Core
		c.FailedStep = rep.FailedStep
		if err == nil {
			err = rep.Err
		}
	}
	if err != nil {
		c.Err = err.Error()
		c.Status = statusOf(err)
		c.Layer = probe.LayerOf(err)
	}
}
