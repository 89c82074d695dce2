package probe_test

import (
	"context"
	"testing"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/sim/scenario"
)

// TestConnectScenarios runs every connect mode on every simulated bench and
// checks the outcome the scenario table promises.
func TestConnectScenarios(t *testing.T) {
	ctx := context.Background()
	attempt := func(t *testing.T, sc scenario.Scenario, mode probe.ConnectMode, ap uint8) *probe.ConnectReport {
		t.Helper()
		p, err := sc.Build()
		if err != nil {
			t.Fatal(err)
		}
		l, err := probe.NewLink(ctx, p, fastRetry)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := probe.Connect(ctx, l, probe.ConnectOptions{Mode: mode, AP: ap, FrequencyKHz: 4000})
		if err != nil {
			t.Fatalf("%s AP%d: transport error %v", mode, ap, err)
		}
		t.Logf("%s AP%d: failed %q: %v", mode, ap, rep.FailedStep, rep.Err)
		if err := probe.Disconnect(ctx, l); err != nil {
			t.Errorf("Disconnect: %v", err)
		}
		return rep
	}
	for _, sc := range scenario.List() {
		t.Run(sc.Name, func(t *testing.T) {
			const cpuAP = 1 // the expectations are for the STM32H5 core's port
			for mode, want := range map[probe.ConnectMode]scenario.Outcome{
				probe.ModeNormal: sc.Expect.NormalAP1, probe.ModeHotPlug: sc.Expect.HotPlugAP1, probe.ModeUnderReset: sc.Expect.UnderResetAP1,
			} {
				rep := attempt(t, sc, mode, cpuAP)
				var got scenario.Outcome
				switch {
				case !rep.DPOK:
					got = scenario.NoACK
				case !rep.OK():
					got = scenario.Fails
				}
				if got != want {
					t.Errorf("%s on AP%d: %s (failed %q: %v), want %s", mode, cpuAP, got, rep.FailedStep, rep.Err, want)
				}
				if got == scenario.OK && !rep.CoreFound && !memoryPort(sc, cpuAP) {
					t.Errorf("%s on AP%d: ok without a core", mode, cpuAP)
				}
			}
			if sc.Generic {
				return // "AP0 ok" means DBGMCU readable: STM32H5 knowledge, not checked here
			}
			mode := probe.ModeHotPlug
			if sc.Expect.AP0UnderResetOnly {
				mode = probe.ModeUnderReset
			}
			rep := attempt(t, sc, mode, 0)
			if sc.RDPChip != nil {
				// F1, F4, G0, G4, L4: the core and DBGMCU share AP0.
				if ok := rep.OK() && rep.CoreFound; ok != (sc.Expect.AP0 == scenario.OK) {
					t.Errorf("%s on AP0: ok %v, core %v (failed %q: %v), want %s", mode, rep.OK(), rep.CoreFound, rep.FailedStep, rep.Err, sc.Expect.AP0)
				}
				return
			}
			if gotOK := rep.APOK; gotOK != (sc.Expect.AP0 == scenario.OK) {
				t.Errorf("%s on AP0: APOK %v (failed %q: %v), want %s", mode, rep.APOK, rep.FailedStep, rep.Err, sc.Expect.AP0)
			}
			if rep.CoreFound {
				t.Errorf("a core on AP0")
			}
		})
	}
}

// memoryPort reports whether ap is, on the scenario's family, a memory port
// without a core (the H7's D3 AHB-AP): Hot Plug attaches there without one.
func memoryPort(sc scenario.Scenario, ap uint8) bool {
	if sc.RDPChip == nil {
		return false
	}
	for _, r := range sc.RDPChip.Family.APs {
		if r.AP == ap {
			return !r.ReachesCore
		}
	}
	return false
}
