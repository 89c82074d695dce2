package obpane

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32h5/dacred"
	"github.com/stprobe/stprobe/tui/credform"
	"github.com/stprobe/stprobe/tui/writeflow"
)

// TestWayBackProof: closing a provisioned chip is brick until the proof
// is attached; the wrong .obk file leaves it brick with the mismatch named
// and its fix; the right files make it irreversible, and the guard then
// asks for the phrase only. Without the override a brick close writes
// nothing.
func TestWayBackProof(t *testing.T) {
	creds, other := t.TempDir(), t.TempDir()
	if err := scenario.Credentials("h533-provisioning-da", creds); err != nil {
		t.Fatal(err)
	}
	h523, _ := stm32h5.LookupPart("H523")
	fs, err := dacred.MakePassword(h523, dacred.MakeOptions{Password: []byte(stm32h5.DefaultPassword)})
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Write(other); err != nil {
		t.Fatal(err)
	}
	e := newEnvDir(t, "h533-provisioning-da", true, t.TempDir(), writeflow.WithSearchDirs(creds))
	e.m.SetSize(120, 80)
	e.Keys("r", "select:PRODUCT_STATE", "enter", "choose:CLOSED", "enter", "p")
	s := e.Screen()
	for _, w := range []string{"✖ BRICK", "Proof of the way back (PRODUCT_STATE → CLOSED)", "✖ not proven", "w attaches the proof"} {
		if !strings.Contains(s, w) {
			t.Errorf("brick plan lacks %q:\n%s", w, s)
		}
	}
	// The brick guard without the override writes nothing.
	e.Keys("a", "type:"+e.m.plan.Phrase, "enter")
	if !strings.Contains(e.LastStatus(), "tick the override") {
		t.Errorf("brick guard: %q", e.LastStatus())
	}
	e.Keys("esc")
	if m := scenario.Model(e.B.Simulated()); m.ProductState() != targets.StateProvisioning {
		t.Fatalf("the chip changed: %v", m.ProductState())
	}

	// The H523's file: the proof fails, named with its fix.
	e.Keys("w")
	if !e.m.Capturing() || e.m.wbForm.Value(credform.Password) != filepath.Join(creds, dacred.PasswordFile) {
		t.Fatalf("the form did not open pre-filled:\n%s", e.Screen())
	}
	e.m.wbForm.Set(credform.OBK, filepath.Join(other, dacred.PasswordOBKFile))
	e.m.wbForm.Set(credform.Part, "H533")
	e.Keys("enter")
	s = e.Screen()
	for _, w := range []string{"✖ BRICK", "✖ obk-", "fix: ", "✖ not proven: the plan stays brick"} {
		if !strings.Contains(s, w) {
			t.Errorf("failed proof lacks %q:\n%s", w, s)
		}
	}
	// The right files: irreversible, the checklist all ✔.
	e.Keys("w")
	e.m.wbForm.Set(credform.OBK, filepath.Join(creds, dacred.PasswordOBKFile))
	e.Keys("enter")
	s = e.Screen()
	for _, w := range []string{"‼ IRREVERSIBLE", "✔ the .obk file against the H533", "✔ the password against the file", "✓ proven"} {
		if !strings.Contains(s, w) {
			t.Errorf("proven plan lacks %q:\n%s", w, s)
		}
	}
	if testing.Verbose() {
		t.Log(s)
	}
	if e.m.plan.Risk.String() != "irreversible" || e.m.plan.NeedsOverride {
		t.Fatalf("plan %v override %v", e.m.plan.Risk, e.m.plan.NeedsOverride)
	}
	e.Keys("a", "type:"+e.m.plan.Phrase, "enter")
	if m := scenario.Model(e.B.Simulated()); m.ProductState() != targets.StateClosed {
		t.Errorf("after the proven close the chip is %v:\n%s", m.ProductState(), e.Screen())
	}
}

// TestGoldenWayBack draws the plan of a proven close.
func TestGoldenWayBack(t *testing.T) {
	creds := t.TempDir()
	if err := scenario.Credentials("h533-provisioning-da", creds); err != nil {
		t.Fatal(err)
	}
	for _, sz := range [][2]int{{80, 24}, {160, 48}} {
		e := newEnvDir(t, "h533-provisioning-da", true, goldenStateDir, writeflow.WithSearchDirs(creds))
		e.m.SetSize(sz[0], sz[1])
		e.Keys("r", "select:PRODUCT_STATE", "enter", "choose:TZ_CLOSED", "enter", "p", "w")
		e.m.wbForm.Set(credform.Part, "H533")
		e.Keys("enter")
		e.golden("plan-proven-"+sizeName(sz), sz[0], sz[1])
	}
}
