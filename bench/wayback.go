package bench

import (
	"context"
	"errors"

	"github.com/stprobe/stprobe/obytes"
	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// WayBackFiles are what proves the way back of an option-byte plan that
// closes the chip: the credentials the user will regress with and the
// file that was provisioned.
type WayBackFiles struct {
	Credentials da.Credentials
	// OBK is the .obk file provisioned (the H503: the OTP image).
	OBK []byte
	// Part names the part where the chip's line has several.
	Part string
	// Permission is the regression the user will need (zero: full).
	Permission da.Permission
	DA         da.Options
}

// proveWayBack runs da.ProveWayBack for a plan of assignments as on the
// chip o: the files, the TrustZone and product state the plan leaves, the
// chip's discovery and its DA record. It leaves AP1 connected again.
func (b *Bench) proveWayBack(ctx context.Context, o *OptionBytes, as []obytes.Assignment, w *WayBackFiles) (*obytes.WayBackProof, error) {
	after := o.Layout.Encode(o.Snap.Cur, as)
	field := func(name string) (uint32, bool) {
		f, ok := o.Layout.Field(name)
		if !ok {
			return 0, false
		}
		return f.Get(after[f.Register]), true
	}
	wb := da.WayBack{OBK: w.OBK, Credentials: w.Credentials, Permission: w.Permission, TZEN: targets.TZENAbsent}
	if v, ok := field("TZEN"); ok {
		wb.TZEN = targets.TZEN(v)
	}
	if v, ok := field("PRODUCT_STATE"); ok {
		wb.Target = targets.ProductState(v)
	}
	parts := stm32h5.PartsOf(o.Chip.DevID)
	part, err := da.ChoosePart(parts, w.Part, true)
	unproven := func(problem, fix string) *obytes.WayBackProof {
		return &obytes.WayBackProof{Method: w.Credentials.Method(), Mismatches: []da.Mismatch{{Check: da.CheckPart, Problem: problem, Fix: fix}}}
	}
	switch {
	case len(parts) == 0:
		return unproven(o.Chip.Line.Name+" has no debug authentication stprobe knows", "none known"), nil
	case errors.Is(err, ErrPartAmbiguous):
		return unproven(err.Error(), "give --part with the chip's part (H523 or H533; H562, H563 or H573)"), b.reconnectAP1(ctx)
	case err != nil:
		return nil, err
	}
	wb.Part = part
	var derr error
	wb.Discovery, wb.Record, derr = b.readDA(ctx, part, true, w.DA)
	proof := da.Prove(wb, derr)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return proof, b.reconnectAP1(ctx)
}

// wayBackFor proves the way back when the plan moves the product state
// beyond PROVISIONING; nil (no proof needed) otherwise.
func (b *Bench) wayBackFor(ctx context.Context, o *OptionBytes, as []obytes.Assignment, w *WayBackFiles) (*obytes.WayBackProof, error) {
	f, ok := o.Layout.Field("PRODUCT_STATE")
	if !ok {
		return nil, nil
	}
	from := targets.ProductState(f.Get(o.Snap.Cur[f.Register]))
	to := targets.ProductState(f.Get(o.Layout.Encode(o.Snap.Cur, as)[f.Register]))
	if to == from || to.Rank() <= targets.StateProvisioning.Rank() {
		return nil, nil
	}
	return b.proveWayBack(ctx, o, as, w)
}
