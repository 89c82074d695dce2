package bench

import (
	"context"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32h5/dacred"
)

// Closing a chip named as an H523 stays brick with every file given, and
// the plan says why: whether the H523 encrypts OBK data is not settled.
func TestPlanCloseH523StaysBrick(t *testing.T) {
	ctx := context.Background()
	const name = "h533-provisioning-da"
	files, err := scenario.CredentialFiles(name)
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := dacred.DecodePasswordFile(files.Get(dacred.PasswordFile))
	h523, _ := stm32h5.LookupPart("H523")
	fs, err := dacred.MakePassword(h523, dacred.MakeOptions{Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	b, tok := openSimBench(t, name, Options{})
	pr, err := b.PlanOptionBytes(ctx, tok, Change{Assignments: []string{"PRODUCT_STATE=0x72"},
		WayBack: &WayBackFiles{Credentials: da.Credentials{Password: pw}, OBK: fs.Get(dacred.PasswordOBKFile), Part: "H523"}})
	if err != nil {
		t.Fatal(err)
	}
	p := pr.Plan
	if p.Risk != guarded.Brick || !p.NeedsOverride {
		t.Fatalf("closing an H523: %v (override %v), want brick", p.Risk, p.NeedsOverride)
	}
	found := false
	for _, m := range p.WayBack.Mismatches {
		found = found || m.Check == da.CheckPartUnsettled
	}
	var why string
	for _, c := range p.Changes {
		why += c.Why
	}
	if !found || !strings.Contains(why, "not settled by any public source") {
		t.Errorf("the plan does not give the reason: %+v\n%s", p.WayBack.Mismatches, why)
	}
}
