package bench

import (
	"testing"

	"github.com/stprobe/stprobe/obytes"
	"github.com/stprobe/stprobe/targets"
)

// A plan closes the chip when PRODUCT_STATE goes beyond PROVISIONING; the
// guard asks a typed phrase from irreversible on.
func TestPlanAnswers(t *testing.T) {
	plan := func(field string, from, to uint32) *OBPlan {
		return &OBPlan{Changes: []obytes.Change{{Field: field, From: FieldValue{Raw: from}, To: FieldValue{Raw: to}}}}
	}
	for _, tc := range []struct {
		name string
		p    *OBPlan
		to   targets.ProductState
		ok   bool
	}{
		{"no plan", nil, 0, false},
		{"TZEN only", plan("TZEN", 0xB4, 0xC3), 0, false},
		{"OPEN to PROVISIONING", plan("PRODUCT_STATE", 0xED, 0x17), targets.StateProvisioning, false},
		{"PROVISIONING to CLOSED", plan("PRODUCT_STATE", 0x17, 0x72), targets.StateClosed, true},
		{"PROVISIONING to LOCKED", plan("PRODUCT_STATE", 0x17, 0x5C), targets.StateLocked, true},
	} {
		if to, ok := ClosesChip(tc.p); to != tc.to || ok != tc.ok {
			t.Errorf("%s: closes %v %v, want %v %v", tc.name, to, ok, tc.to, tc.ok)
		}
	}
	for r, want := range map[Risk]bool{RiskSafe: false, RiskCaution: false, RiskIrreversible: true, RiskBrick: true} {
		if PhraseNeeded(r) != want {
			t.Errorf("PhraseNeeded(%v) = %v", r, !want)
		}
	}
}
