package cli

import (
	"strings"
	"testing"

	"github.com/stprobe/stprobe/targets"
)

// TestRehearseSeedTZEN: the seed story's TZEN write, rehearsed on the
// twin of the seed board, ends PROVISIONING with TZEN 0xC3 there, and the
// chip itself is unchanged by the rehearsal (plan writes nothing).
func TestRehearseSeedTZEN(t *testing.T) {
	dir := t.TempDir()
	b := simBench(t, "h533-provisioning", nil)
	m := model(b)
	out, err := runOBOn(t, b, dir, "plan", "TZEN=0xC3", "--rehearse")
	if err != nil {
		t.Fatalf("plan --rehearse: %v\n%s", err, out)
	}
	if !strings.Contains(out, "rehearsed: the twin ended PROVISIONING, TZEN 0xC3") {
		t.Fatalf("no rehearsal line:\n%s", out)
	}
	if m.TZEN() != targets.TZENEnabled {
		t.Fatalf("the rehearsal changed the chip: TZEN %v", m.TZEN())
	}
}

// TestRehearseRefusedProductState: a PRODUCT_STATE write back to OPEN is
// refused on the twin, and apply --rehearse stops before the chip.
func TestRehearseRefusedProductState(t *testing.T) {
	dir := t.TempDir()
	b := simBench(t, "h533-provisioning", nil)
	m := model(b)
	out, err := runOBOn(t, b, dir, "apply", "PRODUCT_STATE=0xED", "--confirm", "anything", "--rehearse")
	if err == nil {
		t.Fatalf("apply --rehearse of a refused write succeeded:\n%s", out)
	}
	if !strings.Contains(out, "rehearsed: the write went wrong on the twin") {
		t.Fatalf("no rehearsal line:\n%s\n%v", out, err)
	}
	if m.ProductState() != targets.StateProvisioning {
		t.Fatalf("the chip changed: %v", m.ProductState())
	}
}
