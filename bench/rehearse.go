package bench

import (
	"context"
	"fmt"
	"os"

	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/targets"
)

// Rehearsal is a guarded write run first on the chip's twin, captured on
// the spot: what the twin ended in, or what went wrong there.
type Rehearsal struct {
	// Twin is the simulated board the write ran on.
	Twin *Twin
	// Plan is the plan made on the twin (nil when it could not be made);
	// Err is what refused or failed there (nil: the write went through).
	Plan *PlanResult
	Err  error
	// State and TZEN are what the twin ended in (HasState false when its
	// option bytes could not be read after the write).
	State    targets.ProductState
	TZEN     targets.TZEN
	HasState bool
	// RDP is the read-out protection the twin of an RDP family (F1, F4,
	// G0, G4, L4) ended at (HasRDP false when it could not be read).
	RDP    targets.Protection
	HasRDP bool
}

// Text says the rehearsal in one line, e.g. "rehearsed: the twin ended
// OPEN, TZEN 0xC3".
func (r *Rehearsal) Text() string {
	switch {
	case r.Err != nil:
		return fmt.Sprintf("rehearsed: the write went wrong on the twin, so it would on the chip: %v", r.Err)
	case r.HasRDP:
		return fmt.Sprintf("rehearsed: the twin ended at %v", r.RDP)
	case !r.HasState:
		return "rehearsed: the write went through on the twin, but its option bytes could not be read back"
	case r.TZEN == targets.TZENAbsent:
		return fmt.Sprintf("rehearsed: the twin ended %s", r.State)
	}
	return fmt.Sprintf("rehearsed: the twin ended %s, TZEN 0x%02X", r.State, uint8(r.TZEN))
}

// Rehearse captures the chip (read-only), builds its twin and runs the
// write r on the twin, confirming it there as the plan asks, with its
// journal and audit in a scratch directory: nothing is written to the chip
// or to r.StateDir. The write's outcome on the twin is the rehearsal; an
// error is only a failure to rehearse (the capture failed, no twin).
func (b *Bench) Rehearse(ctx context.Context, t Token, r ApplyRequest) (*Rehearsal, error) {
	f, err := b.Capture(ctx, t, CaptureRequest{})
	if err != nil {
		return nil, fmt.Errorf("rehearsal: capturing the chip: %w", err)
	}
	tw, err := NewTwin(ctx, f, "the chip captured now")
	if err != nil {
		return nil, fmt.Errorf("rehearsal: %w", err)
	}
	scratch, err := os.MkdirTemp("", "stprobe-rehearsal-")
	if err != nil {
		return nil, fmt.Errorf("rehearsal: a scratch state directory: %w", err)
	}
	defer os.RemoveAll(scratch)
	tb, err := openScenario(ctx, tw.Scenario, Options{}, nil)
	if err != nil {
		return nil, fmt.Errorf("rehearsal: opening the twin: %w", err)
	}
	defer tb.Close()
	tt, err := tb.Acquire(Holder{Name: "rehearsal", Session: "twin"})
	if err != nil {
		return nil, fmt.Errorf("rehearsal: %w", err)
	}
	defer tb.Release(tt)
	out := &Rehearsal{Twin: tw}
	pr, err := tb.PlanOptionBytes(ctx, tt, r.Change)
	out.Plan = pr
	if err != nil {
		out.Err = err
		return out, nil
	}
	req := r
	req.Confirm, req.StateDir = pr.Plan.Phrase, scratch
	if _, err := tb.ApplyOptionBytes(ctx, tt, req); err != nil {
		out.Err = err
	}
	if o, err := tb.ReadOptionBytes(ctx, tt, OBRequest{}); err == nil && o.Closed == nil {
		if o.Chip != nil && o.Chip.Family.RDP != nil && o.Chip.HasProtection {
			out.RDP, out.HasRDP = o.Chip.Protection, true
		}
		if ps := o.Field("PRODUCT_STATE"); ps != nil {
			out.State, out.HasState = targets.ProductState(ps.Raw), true
		}
		if tz := o.Field("TZEN"); tz != nil {
			out.TZEN = targets.TZEN(tz.Raw)
		}
	} else if err == nil && o.Closed != nil && out.Err == nil {
		// AP1 closed after the write: the discovery says the state
		if d, derr := tb.Discover(ctx, tt, daOptions()); derr == nil && d.State.Valid() {
			out.State, out.HasState = d.State, true
			out.TZEN = targets.TZENAbsent
		}
	}
	return out, nil
}

// daOptions are the defaults of a discovery.
func daOptions() da.Options { return da.Options{} }
