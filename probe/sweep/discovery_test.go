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
	m, _ := sweepScenarioDA(t, sc, Plan{}, Options{}, false)
	if m.Discovery != nil {
		t.Fatal("Run ran a discovery")
	}
	return m
}

// The discovery runs only on the debug-closed pattern, and is skipped with
// a reason when the sweep was cancelled or NRST is known not to be wired;
// a failure is recorded and the diagnosis says so.
func TestSweepDiscoveryGate(t *testing.T) {
	found := daReport(&da.Discovery{Lifecycle: 0x20C6, State: targets.StateTZClosed, Integrity: da.IntegrityNotProvisioned, HasIntegrity: true})
	ran := 0
	var asked DiscoveryRequest
	ok := func(_ context.Context, req DiscoveryRequest) (*DAReport, error) {
		ran, asked = ran+1, req
		return found, nil
	}
	bg := context.Background()

	m := closedMatrix(t)
	if req, need := m.NeedsDiscovery(); !need || req.AP != 0 || req.FrequencyKHz != 4000 || req.Skip != "" {
		t.Fatalf("closed board: NeedsDiscovery %+v, %v", req, need)
	}
	if m.Discover(bg, nil, ok); m.Discovery == nil || m.Discovery.Result != found || ran != 1 || asked.AP != 0 {
		t.Fatalf("closed board: %+v, ran %d, asked %+v", m.Discovery, ran, asked)
	}
	seed := seedMatrix()
	if _, need := seed.NeedsDiscovery(); need {
		t.Error("PROVISIONING board needs a discovery")
	}
	if seed.Discover(bg, nil, ok); seed.Discovery != nil || ran != 1 {
		t.Errorf("PROVISIONING board ran a discovery: %+v", seed.Discovery)
	}
	cancelled, cancel := context.WithCancel(bg)
	cancel()
	m = closedMatrix(t)
	if m.Discover(cancelled, nil, ok); m.Discovery == nil || m.Discovery.Skipped != "sweep cancelled" || ran != 1 {
		t.Errorf("cancelled: %+v", m.Discovery)
	}
	noNRST := closedMatrix(t)
	noNRST.Cells[4].Err = "core halted but never went through reset (DHCSR S_RESET_ST not seen): NRST does not reach the chip: check that the probe's NRST pin is wired"
	if noNRST.Discover(bg, nil, ok); noNRST.Discovery == nil || !strings.Contains(noNRST.Discovery.Skipped, "NRST is not wired") || ran != 1 {
		t.Errorf("NRST not wired: %+v", noNRST.Discovery)
	}

	m = closedMatrix(t)
	m.Discover(bg, nil, func(context.Context, DiscoveryRequest) (*DAReport, error) {
		return nil, errors.New("DA discovery: no DA reply: NRST must be wired to the probe")
	})
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
		back.Discovery.Result.Provisioned || back.Discovery.Summary() != m.Discovery.Summary() {
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
