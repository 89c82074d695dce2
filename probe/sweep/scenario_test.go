package sweep

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/targets"
)

// sweepScenario runs a full sweep with plan p over a fresh simulated bench
// and fills the header the way the CLI does.
func sweepScenario(t testing.TB, sc scenario.Scenario, p Plan) (*Matrix, *sim.Probe) {
	t.Helper()
	return sweepScenarioPlan(t, sc, p, Options{})
}

func sweepScenarioPlan(t testing.TB, sc scenario.Scenario, p Plan, o Options) (*Matrix, *sim.Probe) {
	t.Helper()
	return sweepScenarioDA(t, sc, p, o, true)
}

// daReport turns a DA discovery into what the sweep's diagnosis reads, as
// the CLI does.
func daReport(d *da.Discovery) *DAReport {
	method, _ := targets.ParseDAMethod(d.Method())
	return &DAReport{Summary: d.String(), Lifecycle: d.Lifecycle, State: d.State,
		Integrity: d.Integrity, HasIntegrity: d.HasIntegrity, Provisioned: d.Provisioned(),
		Method: method, Record: d}
}

// sweepScenarioDA sweeps and, when discover is set, runs the DA discovery
// the matrix calls for, as the CLI does.
func sweepScenarioDA(t testing.TB, sc scenario.Scenario, p Plan, o Options, discover bool) (*Matrix, *sim.Probe) {
	t.Helper()
	ctx := context.Background()
	sp := sc.NewProbe()
	l, err := probe.NewLink(ctx, sp)
	if err != nil {
		t.Fatalf("%s: %v", sc.Name, err)
	}
	t.Cleanup(func() { l.Close() })
	volts, err := l.TargetVoltage(ctx)
	if err != nil {
		t.Fatalf("%s: target voltage: %v", sc.Name, err)
	}
	start := time.Date(2026, 11, 24, 4, 0, 0, 0, time.UTC)
	o.WireClock = func() time.Duration { return sp.Stats().Wire }
	m, err := Run(ctx, l, p, o)
	if err != nil {
		t.Fatalf("%s: sweep: %v", sc.Name, err)
	}
	if discover {
		m.Discover(ctx, o.WireClock, func(ctx context.Context, req DiscoveryRequest) (*DAReport, error) {
			d, err := da.Discover(ctx, l, da.Options{AP: req.AP, FrequencyKHz: req.FrequencyKHz})
			if err != nil {
				return nil, err
			}
			return daReport(d), nil
		})
	}
	m.Header = Header{Probe: sp.Model().Name, Serial: sp.Config().Serial, Backend: "sim",
		Firmware: l.Version().String(), Voltage: volts, HasVoltage: true, Target: sc.Name, Time: start}
	return m, sp
}

// rowWant is the outcome expected on every frequency of one (mode, AP) row.
type rowWant map[string]Outcome

// h5Rows builds the expectation of an STM32H5 board: AP0 in every mode,
// then AP1 per mode.
func h5Rows(ap0, normal1, hot1, ur1 Outcome) rowWant {
	return rowWant{
		"normal/AP0": ap0, "hotplug/AP0": ap0, "under-reset/AP0": ap0,
		"normal/AP1": normal1, "hotplug/AP1": hot1, "under-reset/AP1": ur1,
	}
}

// ap0Rows is the pattern of a board whose core sits behind AP0 and which
// has no AP1 (the RDP families): every mode on AP0, AP1 absent.
func ap0Rows(ap0 Outcome) rowWant {
	return rowWant{
		"normal/AP0": ap0, "hotplug/AP0": ap0, "under-reset/AP0": ap0,
		"normal/AP1": OutcomeDPOnly, "hotplug/AP1": OutcomeDPOnly, "under-reset/AP1": OutcomeDPOnly,
	}
}

// sweepWant is what the default sweep of one scenario must show.
type sweepWant struct {
	rows    rowWant
	state   targets.ProductState // read through AP1 Hot Plug (0: not readable)
	ap1On   bool                 // DBGMCU_SR shows AP1 enabled (through AP0)
	first   string               // the most important finding
	title   string               // a phrase the first finding's title must hold
	disc    targets.ProductState // the state the DA discovery reports (0: no discovery ran)
	finds   map[string][]string  // rule → phrases its text must hold
	noRules []string
}

// Every scenario of the simulated bench, swept with the default plan: the
// pattern of the matrix (scenarios.md) and the findings it must produce.
func TestScenarioSweeps(t *testing.T) {
	closedDebug := []string{"debug closed by product state", "DBGMCU_SR", "not enabled", "through the DA mailbox"}
	tests := map[string]sweepWant{
		"h533-provisioning": {
			rows:  h5Rows(OutcomeOK, OutcomeModeFailed, OutcomeOK, OutcomeModeFailed),
			state: targets.StateProvisioning, ap1On: true, first: "provisioning",
			finds: map[string][]string{"provisioning": {"PROVISIONING, no DA provisioned: still recoverable, do this first",
				"OBK DA record is blank", "TZEN to 0xC3", "password DA", "full regression", "Never write PRODUCT_STATE 0xC6", "0x72"}},
			noRules: []string{"debug-closed", "nrst-not-wired", "debug-opens-late", "all-ok", "no-dp"},
		},
		"h533-provisioning-da": {
			rows:  h5Rows(OutcomeOK, OutcomeModeFailed, OutcomeOK, OutcomeModeFailed),
			state: targets.StateProvisioning, ap1On: true, first: "provisioning",
			finds: map[string][]string{"provisioning": {"PROVISIONING with DA provisioned (password): recoverable",
				"TrustZone is disabled", "sample password", "DA full regression"}},
			noRules: []string{"debug-closed", "nrst-not-wired", "all-ok"},
		},
		"h533-provisioning-no-halt": {
			rows:  h5Rows(OutcomeOK, OutcomeModeFailed, OutcomeOK, OutcomeModeFailed),
			state: targets.StateProvisioning, ap1On: true, first: "provisioning",
			finds:   map[string][]string{"provisioning": {"PROVISIONING, no DA provisioned: still recoverable, do this first", "TZEN"}},
			noRules: []string{"debug-closed", "nrst-not-wired", "all-ok"},
		},
		"h503-provisioning-da": {
			rows:  h5Rows(OutcomeOK, OutcomeModeFailed, OutcomeOK, OutcomeModeFailed),
			state: targets.StateProvisioning, ap1On: true, first: "provisioning",
			finds:   map[string][]string{"provisioning": {"DA provisioned (password)", "OTP hash", "locked", "full regression"}, "identity": {"STM32H503", "0x474"}},
			noRules: []string{"debug-closed", "nrst-not-wired", "all-ok"},
		},
		"h533-open": {
			rows: h5Rows(OutcomeOK, OutcomeOK, OutcomeOK, OutcomeOK), state: targets.StateOpen, ap1On: true, first: "product-state",
			finds:   map[string][]string{"all-ok": {"Every way in works"}, "identity": {"STM32H523/H533", "0x478"}},
			noRules: []string{"provisioning", "debug-closed", "nrst-not-wired"},
		},
		"h503-open": {
			rows: h5Rows(OutcomeOK, OutcomeOK, OutcomeOK, OutcomeOK), state: targets.StateOpen, ap1On: true, first: "product-state",
			finds: map[string][]string{"all-ok": nil, "identity": {"STM32H503"}},
		},
		"h563-open": {
			rows: h5Rows(OutcomeOK, OutcomeOK, OutcomeOK, OutcomeOK), state: targets.StateOpen, ap1On: true, first: "product-state",
			finds: map[string][]string{"all-ok": nil, "identity": {"STM32H562/H563/H573", "0x484"}},
		},
		"h533-tz-closed-no-da": {
			rows: h5Rows(OutcomeOK, OutcomeAPClosed, OutcomeAPClosed, OutcomeAPClosed), first: "debug-closed",
			title: "debug closed by product state", disc: targets.StateTZClosed,
			finds: map[string][]string{"debug-closed": append(closedDebug,
				"AP0 reports TZ_CLOSED", "no DA provisioned: no way back", "0xF5F5F5F5", "replace the chip")},
			noRules: []string{"provisioning", "all-ok", "nrst-not-wired", "debug-opens-late", "no-dp"},
		},
		"h533-closed-da": {
			rows: h5Rows(OutcomeOK, OutcomeAPClosed, OutcomeAPClosed, OutcomeAPClosed), first: "debug-closed",
			title: "debug closed by product state", disc: targets.StateClosed,
			finds: map[string][]string{"debug-closed": append(closedDebug,
				"AP0 reports CLOSED", "DA provisioned (certificate)", "the way back is a DA regression with the certificate", "0xEAEAEAEA")},
			noRules: []string{"provisioning", "all-ok"},
		},
		"h533-locked": {
			rows: h5Rows(OutcomeOK, OutcomeAPClosed, OutcomeAPClosed, OutcomeAPClosed), first: "debug-closed",
			title: "LOCKED: no way back", disc: targets.StateLocked,
			finds:   map[string][]string{"debug-closed": append(closedDebug, "AP0 reports LOCKED", "LOCKED is permanent", "replace the chip")},
			noRules: []string{"provisioning", "all-ok"},
		},
		"h563-tz-closed-app": {
			rows:  h5Rows(OutcomeOK, OutcomeOK, OutcomeOK, OutcomeAPClosed),
			state: targets.StateTZClosed, ap1On: true, first: "debug-opens-late",
			finds: map[string][]string{"debug-opens-late": {"Under Reset", "TZ_CLOSED", "Hot Plug"},
				"product-state": {"TZ_CLOSED", "certificate"}},
			noRules: []string{"nrst-not-wired", "debug-closed", "all-ok"},
		},
		"sleepy": {
			rows: rowWant{
				"normal/AP0": OutcomeNoAck, "hotplug/AP0": OutcomeNoAck, "under-reset/AP0": OutcomeOK,
				"normal/AP1": OutcomeNoAck, "hotplug/AP1": OutcomeNoAck, "under-reset/AP1": OutcomeOK,
			},
			state: targets.StateOpen, ap1On: true, first: "only-under-reset",
			finds:   map[string][]string{"only-under-reset": {"Only Under Reset", "SWD pins"}},
			noRules: []string{"no-dp", "low-frequency-only", "nrst-not-wired", "all-ok"},
		},
		"no-nrst": {
			rows:  h5Rows(OutcomeOK, OutcomeOK, OutcomeOK, OutcomeModeFailed),
			state: targets.StateOpen, ap1On: true, first: "nrst-not-wired",
			finds:   map[string][]string{"nrst-not-wired": {"NRST", "never went through reset"}},
			noRules: []string{"debug-opens-late", "all-ok", "only-under-reset"},
		},
		"no-target": {
			rows: h5Rows(OutcomeNoAck, OutcomeNoAck, OutcomeNoAck, OutcomeNoAck), first: "no-dp",
			finds:   map[string][]string{"no-dp": {"No debug port", "3.29 V", "so the target is powered", "SWDIO", "SWCLK", "GND"}},
			noRules: []string{"identity", "all-ok", "debug-closed", "only-under-reset"},
		},
		"no-power": {
			rows: h5Rows(OutcomeNoAck, OutcomeNoAck, OutcomeNoAck, OutcomeNoAck), first: "no-dp",
			finds:   map[string][]string{"no-dp": {"0.00 V", "unpowered", "Power the target"}},
			noRules: []string{"identity", "all-ok"},
		},
		"generic-m33": {
			rows: rowWant{
				"normal/AP0": OutcomeOK, "hotplug/AP0": OutcomeOK, "under-reset/AP0": OutcomeOK,
				"normal/AP1": OutcomeDPOnly, "hotplug/AP1": OutcomeDPOnly, "under-reset/AP1": OutcomeDPOnly,
			},
			first:   "absent-ap",
			finds:   map[string][]string{"absent-ap": {"AP1", "Use AP0"}, "identity": {"not identified", "Cortex-M33"}},
			noRules: []string{"debug-closed", "product-state", "provisioning"},
		},
		"f103-open": {
			rows: ap0Rows(OutcomeOK), first: "absent-ap",
			finds:   map[string][]string{"identity": {"STM32F10x medium density", "0x410"}},
			noRules: []string{"rdp-level-1", "rdp-level-2", "no-dp", "debug-closed", "product-state"},
		},
		"f103-rdp1": {
			rows: ap0Rows(OutcomeOK), first: "rdp-level-1", title: "RDP level 1",
			finds: map[string][]string{"rdp-level-1": {"STM32F1", "FLASH_OBR", "flash at 0x08000000 failed", "mass-erases",
				"stm32f1x unlock", "RDP=0xA5", "no level 2"}},
			noRules: []string{"rdp-level-2", "no-dp", "product-state"},
		},
		"f411-open": {
			rows: ap0Rows(OutcomeOK), first: "absent-ap",
			finds:   map[string][]string{"identity": {"STM32F411", "0x431"}},
			noRules: []string{"rdp-level-1", "rdp-level-2"},
		},
		"f411-rdp1": {
			rows: ap0Rows(OutcomeOK), first: "rdp-level-1", title: "RDP level 1",
			finds:   map[string][]string{"rdp-level-1": {"STM32F4", "FLASH_OPTCR", "flash at 0x08000000 failed", "mass-erases", "RDP=0xAA"}},
			noRules: []string{"rdp-level-2", "no-dp", "product-state"},
		},
		"g071-rdp1": {
			rows: ap0Rows(OutcomeOK), first: "rdp-level-1", title: "RDP level 1",
			finds:   map[string][]string{"rdp-level-1": {"STM32G0", "FLASH_OPTR", "flash at 0x08000000 failed", "mass-erases", "RDP=0xAA"}},
			noRules: []string{"rdp-level-2", "no-dp", "product-state"},
		},
		"l476-rdp1": {
			rows: ap0Rows(OutcomeOK), first: "rdp-level-1", title: "RDP level 1",
			finds:   map[string][]string{"rdp-level-1": {"STM32L4", "FLASH_OPTR", "flash at 0x08000000 failed", "mass-erases", "RDP=0xAA"}},
			noRules: []string{"rdp-level-2", "no-dp", "product-state"},
		},
		"f411-sleepy": {
			rows: rowWant{
				"normal/AP0": OutcomeNoAck, "hotplug/AP0": OutcomeNoAck, "under-reset/AP0": OutcomeOK,
				"normal/AP1": OutcomeNoAck, "hotplug/AP1": OutcomeNoAck, "under-reset/AP1": OutcomeDPOnly,
			},
			first:   "only-under-reset",
			finds:   map[string][]string{"only-under-reset": {"Only Under Reset", "DBG_STOP"}},
			noRules: []string{"no-dp", "rdp-level-2", "rdp-level-1"},
		},
		"g071-open": {
			rows: ap0Rows(OutcomeOK), first: "absent-ap",
			finds:   map[string][]string{"identity": {"STM32G07x/G08x", "0x460"}},
			noRules: []string{"rdp-level-1", "rdp-level-2"},
		},
		"g071-swd-as-gpio": {
			rows: rowWant{
				"normal/AP0": OutcomeNoAck, "hotplug/AP0": OutcomeNoAck, "under-reset/AP0": OutcomeOK,
				"normal/AP1": OutcomeNoAck, "hotplug/AP1": OutcomeNoAck, "under-reset/AP1": OutcomeDPOnly,
			},
			first:   "only-under-reset",
			finds:   map[string][]string{"only-under-reset": {"Only Under Reset", "SWD pins"}},
			noRules: []string{"no-dp", "rdp-level-2"},
		},
		"g474-open": {
			rows: ap0Rows(OutcomeOK), first: "absent-ap",
			finds: map[string][]string{"identity": {"STM32G47x/G48x", "0x469"}},
		},
		"l476-open": {
			rows: ap0Rows(OutcomeOK), first: "absent-ap",
			finds:   map[string][]string{"identity": {"STM32L47x/L48x", "0x415"}},
			noRules: []string{"rdp-level-1", "rdp-level-2"},
		},
		"l476-rdp2": {
			rows: h5Rows(OutcomeNoAck, OutcomeNoAck, OutcomeNoAck, OutcomeNoAck), first: "no-dp",
			finds:   map[string][]string{"no-dp": {"3.30 V", "so the target is powered"}, "rdp-level-2": {"RDP level 2 (0xCC)", "for ever", "Rule out wiring first", "never send RDP=0xCC"}},
			noRules: []string{"identity", "all-ok", "rdp-level-1", "only-under-reset"},
		},
	}
	for name, w := range familySweepWants() {
		tests[name] = w
	}
	for _, sc := range scenario.List() {
		t.Run(sc.Name, func(t *testing.T) {
			tt, ok := tests[sc.Name]
			if !ok {
				t.Fatalf("scenario %q has no expected sweep pattern: add it to this table", sc.Name)
			}
			m, sp := sweepScenario(t, sc, Plan{})
			if !slices.Equal(m.Plan.FrequenciesKHz, []int{4000, 1800, 480, 100, 5}) {
				t.Errorf("default ladder %v on %v", m.Plan.FrequenciesKHz, sp.Model().Name)
			}
			for _, c := range m.Cells {
				row := fmt.Sprintf("%v/AP%d", c.Mode, c.AP)
				if want := tt.rows[row]; c.Outcome != want {
					t.Errorf("%v: %v (%s), want %v", c.Key, c.Outcome, c.Reason, want)
				}
				if c.TeardownErr != "" {
					t.Errorf("%v: teardown: %s", c.Key, c.TeardownErr)
				}
				switch by := c.ImpliedBy; {
				case by == nil && (c.Wire <= 0 || c.SetKHz != c.KHz):
					t.Errorf("%v: wire %v, set %d kHz", c.Key, c.Wire, c.SetKHz)
				case by != nil && (c.Wire != 0 || by.Mode != c.Mode || by.AP != c.AP || by.KHz <= c.KHz ||
					!strings.Contains(c.Reason, "implied by "+by.String())):
					t.Errorf("%v: implied by %v, wire %v, reason %q", c.Key, by, c.Wire, c.Reason)
				}
				wantDPIDR := uint32(targets.H5DPIDR)
				if sc.RDPChip != nil {
					wantDPIDR = sc.RDPChip.Family.DPIDRs[0]
				}
				if c.Outcome.DPAnswered() && c.DPIDR != wantDPIDR {
					t.Errorf("%v: DPIDR 0x%08X", c.Key, c.DPIDR)
				}
				if c.AP == 1 && c.Outcome == OutcomeOK && c.State != tt.state {
					t.Errorf("%v: product state %v, want %v", c.Key, c.State, tt.state)
				}
				if c.Outcome != OutcomeOK && c.Outcome != OutcomeModeFailed && c.State != 0 {
					t.Errorf("%v: product state %v read through a port that did not answer", c.Key, c.State)
				}
				if c.AP == 0 && c.Outcome == OutcomeOK && c.HasAPStatus && sc.Name != "h563-tz-closed-app" {
					if on := c.APEnabled&2 != 0; on != tt.ap1On {
						t.Errorf("%v: DBGMCU_SR says AP1 enabled=%v, want %v", c.Key, on, tt.ap1On)
					}
				}
			}
			fs := Diagnose(m)
			checkOrdered(t, fs)
			if len(fs) == 0 || fs[0].Rule != tt.first {
				t.Errorf("first finding %v, want %q", ruleIDs(fs), tt.first)
			} else if !strings.Contains(fs[0].Title, tt.title) {
				t.Errorf("first finding's title %q lacks %q", fs[0].Title, tt.title)
			}
			switch d := m.Discovery; {
			case tt.disc == 0 && d != nil:
				t.Errorf("unexpected DA discovery: %s", d.Summary())
			case tt.disc != 0 && (d == nil || d.Result == nil):
				t.Errorf("no DA discovery result: %s", d.Summary())
			case tt.disc != 0 && d.Result.State != tt.disc:
				t.Errorf("DA discovery %s, want %v", d.Summary(), tt.disc)
			}
			for rule, phrases := range tt.finds {
				f := findRule(fs, rule)
				if f == nil {
					t.Errorf("no %q finding; got %v", rule, ruleIDs(fs))
					continue
				}
				text := f.Title + " " + f.Detail + " " + f.Next
				for _, p := range phrases {
					if !strings.Contains(text, p) {
						t.Errorf("%s lacks %q:\n%s", rule, p, text)
					}
				}
			}
			mustNotFind(t, fs, tt.noRules...)
			if t.Failed() {
				var b strings.Builder
				WriteText(&b, m, fs)
				t.Log("\n" + b.String())
			}
		})
	}
}

// A V3 probe sweeps its own ladder.
func TestScenarioSweepV3(t *testing.T) {
	sc, err := scenario.Lookup("h533-provisioning")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := sweepScenario(t, sc.WithProbe(scenario.ProbeV3), Plan{})
	if want := SpreadRungs(proto.V3SWDTable); !slices.Equal(m.Plan.FrequenciesKHz, want) {
		t.Errorf("V3 plan %v, want %v", m.Plan.FrequenciesKHz, want)
	}
	if m.Find(Key{Mode: probe.ModeHotPlug, AP: 1, KHz: m.Plan.FrequenciesKHz[0]}).Outcome != OutcomeOK {
		t.Error("hot plug AP1 failed on V3")
	}
	mustFind(t, Diagnose(m), "provisioning", SeverityCritical)
}

// Cancelling a real sweep in the middle of an Under Reset cell (NRST held
// low) tears that cell down, leaves the simulated probe idle (NRST released,
// no AP open, out of debug mode) and returns the partial matrix.
func TestScenarioCancelLeavesProbeClean(t *testing.T) {
	sc, _ := scenario.Lookup("h533-provisioning")
	sp := sc.NewProbe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const urCell = 4 // plan order: normal AP0, normal AP1, hotplug AP0, hotplug AP1, under-reset AP0
	armed, sawLow := false, false
	l, err := probe.NewLink(ctx, sp, probe.WithEvents(func(e probe.Event) {
		if armed && strings.HasPrefix(e.Message, probe.StepReassertNRST+": ok") {
			sawLow = true
			cancel()
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	m, err := Run(ctx, l, Plan{}, Options{Progress: func(p Progress) { armed = p.Index == urCell && !p.Done }})
	if err == nil || !m.Cancelled || !sawLow {
		t.Fatalf("err %v, cancelled %v, NRST seen low %v", err, m.Cancelled, sawLow)
	}
	if got := m.Count(OutcomeSkipped); got != len(m.Cells)-urCell {
		t.Errorf("%d skipped, want %d", got, len(m.Cells)-urCell)
	}
	if l.NRSTAsserted() || len(l.OpenedAPs()) != 0 {
		t.Errorf("probe left with NRST low %v, APs %v open", l.NRSTAsserted(), l.OpenedAPs())
	}
	mode, err := l.Mode(context.Background())
	if err != nil || mode == proto.ModeDebug {
		t.Errorf("probe mode %v (%v), want out of debug mode", mode, err)
	}
	mustFind(t, Diagnose(m), "incomplete", SeverityInfo, "cancelled")
}

// An ST-LINK/V2 below V2J28 cannot select AP1: those cells are refused for
// the firmware, not attempted, and the diagnosis says which firmware to get.
func TestScenarioSweepOldFirmware(t *testing.T) {
	sc, err := scenario.Lookup("h533-open")
	if err != nil {
		t.Fatal(err)
	}
	chip, err := sc.NewChip()
	if err != nil {
		t.Fatal(err)
	}
	fw, err := proto.ParseVersion("V2J27S6")
	if err != nil {
		t.Fatal(err)
	}
	fw.VID, fw.PID = proto.VendorST, 0x3748
	sp := sim.New(sim.Config{Firmware: fw, Serial: "55FF6B065177495619420887", TargetMillivolts: 3290, Chip: chip})
	ctx := context.Background()
	l, err := probe.NewLink(ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	m, err := Run(ctx, l, Plan{FrequenciesKHz: []int{1800}}, Options{WireClock: func() time.Duration { return sp.Stats().Wire }})
	if err != nil {
		t.Fatal(err)
	}
	m.Header.Firmware = l.Version().String()
	for _, c := range m.Cells {
		want := OutcomeOK
		if c.AP == 1 {
			want = OutcomeUnsupported
		}
		// Refused cells cost nothing on the wire; tried ones do.
		if c.Outcome != want || (c.Wire == 0) != (c.AP == 1) || (c.AP == 1 && !strings.Contains(c.Reason, "V2J28")) {
			t.Errorf("%v: %v (%s)", c.Key, c.Outcome, c.Reason)
		}
	}
	mustFind(t, Diagnose(m), "firmware", SeverityWarning, "V2J27S6", "V2J28")
}

// The default sweep skips the cells an earlier cell implies (a slower
// clock after ok, mode-failed or ap-closed), yet reaches the same diagnosis
// as the full sweep on every simulated board, at less modelled time.
func TestImpliedCellsKeepTheDiagnosis(t *testing.T) {
	for _, sc := range scenario.List() {
		t.Run(sc.Name, func(t *testing.T) {
			full, _ := sweepScenarioPlan(t, sc, Plan{}, Options{Full: true})
			def, _ := sweepScenarioPlan(t, sc, Plan{}, Options{})
			if fb, db := fmt.Sprintf("%+v", Diagnose(full)), fmt.Sprintf("%+v", Diagnose(def)); fb != db {
				t.Errorf("findings differ\nfull:\n%s\ndefault:\n%s", fb, db)
			}
			implied := 0
			for i, c := range def.Cells {
				if f := full.Cells[i]; c.Outcome != f.Outcome {
					t.Errorf("%v: %v by default, %v with Full", c.Key, c.Outcome, f.Outcome)
				}
				if full.Cells[i].ImpliedBy != nil {
					t.Errorf("%v: implied in a full sweep", c.Key)
				}
				if c.ImpliedBy != nil {
					implied++
				}
			}
			if implied > 0 && def.Wire >= full.Wire {
				t.Errorf("%d cells implied, yet the default sweep took %v against %v", implied, def.Wire, full.Wire)
			}
			t.Logf("%s: %d of %d cells implied; modelled %v against %v with Full", sc.Name, implied, len(def.Cells), def.Wire, full.Wire)
		})
	}
}
