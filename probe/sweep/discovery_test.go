package sweep

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/targets"
)

// closedMatrix sweeps the seed board's final state without the discovery.
func closedMatrix(t *testing.T) *Matrix {
	t.Helper()
	sc, err := scenario.Lookup("h533-tz-closed-no-da")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := sweepScenarioOpts(t, sc, Options{NoDiscovery: true})
	if m.Discovery != nil {
		t.Fatal("NoDiscovery ran a discovery")
	}
	return m
}

// The discovery runs only on the debug-closed pattern, and is skipped with
// a reason when the sweep was cancelled or NRST is known not to be wired;
// a failure is recorded and the diagnosis says so.
func TestSweepDiscoveryGate(t *testing.T) {
	found := &da.Discovery{Lifecycle: 0x20C6, State: targets.StateTZClosed, Integrity: da.IntegrityNotProvisioned, HasIntegrity: true}
	ran := 0
	ok := func(context.Context, da.Options) (*da.Discovery, error) { ran++; return found, nil }
	bg := context.Background()

	m := closedMatrix(t)
	if d := discover(bg, m, Options{}, ok); d == nil || d.Result != found || ran != 1 {
		t.Fatalf("closed board: %+v, ran %d", d, ran)
	}
	if d := discover(bg, seedMatrix(), Options{}, ok); d != nil || ran != 1 {
		t.Errorf("PROVISIONING board ran a discovery: %+v", d)
	}
	cancelled, cancel := context.WithCancel(bg)
	cancel()
	if d := discover(cancelled, m, Options{}, ok); d == nil || d.Skipped != "sweep cancelled" || ran != 1 {
		t.Errorf("cancelled: %+v", d)
	}
	noNRST := closedMatrix(t)
	noNRST.Cells[4].Err = "core halted but never went through reset (DHCSR S_RESET_ST not seen): NRST does not reach the chip: check that the probe's NRST pin is wired"
	if d := discover(bg, noNRST, Options{}, ok); d == nil || !strings.Contains(d.Skipped, "NRST is not wired") || ran != 1 {
		t.Errorf("NRST not wired: %+v", d)
	}

	failed := discover(bg, m, Options{}, func(context.Context, da.Options) (*da.Discovery, error) {
		return nil, errors.New("DA discovery: no DA reply: NRST must be wired to the probe")
	})
	m.Discovery = failed
	f := mustFind(t, Diagnose(m), "debug-closed", SeverityCritical, "DA discovery through AP0 failed: DA discovery: no DA reply", "0xF5F5F5F5")
	if strings.Contains(f.Title, "no way back") {
		t.Errorf("title claims a verdict without a discovery: %q", f.Title)
	}
}

// The discovery travels through JSON and shows in the Markdown export.
func TestSweepDiscoveryExport(t *testing.T) {
	sc, err := scenario.Lookup("h533-tz-closed-no-da")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := sweepScenario(t, sc, Plan{})
	var j bytes.Buffer
	if err := WriteJSON(&j, m, Diagnose(m)); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON(&j)
	if err != nil {
		t.Fatal(err)
	}
	if back.Discovery == nil || back.Discovery.Result == nil || back.Discovery.Result.State != targets.StateTZClosed ||
		back.Discovery.Result.Provisioned() || back.Discovery.Summary() != m.Discovery.Summary() {
		t.Fatalf("discovery after JSON: %+v", back.Discovery)
	}
	if a, b := Diagnose(back)[0].Title, Diagnose(m)[0].Title; a != b {
		t.Errorf("diagnosis after JSON %q, before %q", a, b)
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, m, Diagnose(m)); err != nil {
		t.Fatal(err)
	}
	golden(t, "tz-closed-no-da.md", md.Bytes())
	for _, want := range []string{"DA discovery: TZ_CLOSED (lifecycle 0x20C6), DA not provisioned (integrity 0xF5F5F5F5)",
		"AP0 reports TZ_CLOSED: debug closed by product state; no DA provisioned: no way back"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
}
