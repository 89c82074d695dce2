package bench

import (
	"errors"
	"testing"
	"time"

	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/targets"
)

// What the bench answers a face that asks whether a DA write may run,
// from the snapshot alone: the fall-back board, the state, the
// discovery's word before the option bytes', the method of the data or
// the one TZEN admits.
func TestSnapshotMayDA(t *testing.T) {
	fam, line, ok := targets.LookupDevID(0x478)
	if !ok {
		t.Fatal("no line for DEV_ID 0x478")
	}
	h533 := &targets.Chip{Family: fam, Line: line, DevID: 0x478}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	prov := Snapshot{HasState: true, State: targets.StateProvisioning, StateAt: at}
	provDA := prov
	provDA.DA = &targets.DAStatus{Checked: true, Provisioned: true}
	noDA := prov
	noDA.DA = &targets.DAStatus{Checked: true}
	tzOff := provDA
	tzOff.Chip, tzOff.TZEN, tzOff.TZENAt = h533, targets.TZENDisabled, at
	tzOn := tzOff
	tzOn.TZEN = targets.TZENEnabled
	staleDisc := provDA
	staleDisc.Discovery = &da.Discovery{State: targets.StateProvisioning, HasIntegrity: true, Integrity: da.IntegrityNotProvisioned}
	for _, tc := range []struct {
		name   string
		s      Snapshot
		action DAAction
		ok     bool
		cause  error
		step   da.NextStep
	}{
		{"nothing known", Snapshot{}, DARegress, false, nil, da.StepDiscover},
		{"fall-back board", Snapshot{Fallback: "no ST-LINK found on USB", HasState: true, State: targets.StateProvisioning}, DAProvision, false, ErrFallbackBoard, da.NoStep},
		{"provision in PROVISIONING", prov, DAProvision, true, nil, da.NoStep},
		{"regress, the option bytes say no DA", noDA, DARegress, false, da.ErrNotProvisioned, da.StepProvision},
		{"regress, DA provisioned", provDA, DARegress, true, nil, da.NoStep},
		{"the discovery's word first", staleDisc, DARegress, false, da.ErrNotProvisioned, da.StepProvision},
		{"open debug, TZEN off: password", tzOff, DAOpenDebug, false, da.ErrNotPermitted, da.NoStep},
		{"open debug, TZEN on: certificate", tzOn, DAOpenDebug, true, nil, da.NoStep},
		{"no such write", prov, DAAction("erase"), false, nil, da.NoStep},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.s.MayDA(tc.action)
			if a.OK != tc.ok || a.Step != tc.step || (tc.cause == nil) != (a.Cause == nil) || tc.cause != nil && !errors.Is(a.Cause, tc.cause) {
				t.Errorf("%+v; want ok %v, cause %v, step %v", a, tc.ok, tc.cause, tc.step)
			}
			if !a.OK && a.Problem == "" {
				t.Error("a refusal without its problem")
			}
		})
	}
}
