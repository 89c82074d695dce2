package bench

import (
	"context"
	"testing"

	"github.com/stprobe/stprobe/targets"
)

// An RDP level 1 → 0 regression on an L4 through the bench: OBL_LAUNCH
// resets the chip and drops the link, the bench reconnects on AP0, and the
// snapshot then shows level 0.
func TestApplyFamilyRegression(t *testing.T) {
	b, tok := openSimBench(t, "l476-rdp1", Options{})
	ctx := context.Background()
	ch := Change{Assignments: []string{"RDP=0xAA"}}
	pr, err := b.PlanOptionBytes(ctx, tok, ch)
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.ApplyOptionBytes(ctx, tok, ApplyRequest{Change: ch, Confirm: pr.Plan.Phrase, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Result.Verified {
		t.Errorf("not verified: %+v", res.Result)
	}
	s := b.Snapshot()
	if s.Chip == nil || s.Chip.Protection.Level != targets.RDPLevel0 {
		t.Errorf("snapshot chip %v after the regression, want RDP level 0", s.Chip)
	}
	if s.OptionBytes == nil || s.OptionBytes.Chip.Protection.Level != targets.RDPLevel0 {
		t.Error("option bytes in the snapshot still name the old level")
	}
}
