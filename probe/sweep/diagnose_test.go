package sweep

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/targets"
)

// Hand-built matrices, one per pattern the scenarios of the simulated bench
// stand for, and the findings each must give.
func TestDiagnosePatterns(t *testing.T) {
	p := defaultTestPlan()
	tests := []struct {
		name    string
		header  func(h *Header)
		cell    func(k Key) Cell
		check   func(t *testing.T, fs []Finding)
		noRules []string
	}{
		{
			name: "open board: everything works",
			cell: func(k Key) Cell {
				if k.AP == 0 {
					return okAP0(0x3)
				}
				return okAP1(targets.StateOpen, targets.TZENDisabled, modeCore(k))
			},
			check: func(t *testing.T, fs []Finding) {
				mustFind(t, fs, "all-ok", SeverityInfo, "Every way in works")
				mustFind(t, fs, "identity", SeverityInfo, "STM32H523/H533", "0x478")
				if f := mustFind(t, fs, "product-state", SeverityInfo, "OPEN"); !slices.Equal(f.Steps, []Step{{Action: ActionReadOptionBytes}}) {
					t.Errorf("product-state steps on an OPEN chip %v, want only reading the option bytes", f.Steps)
				}
			},
			noRules: []string{"no-dp", "debug-closed", "provisioning", "nrst-not-wired", "only-under-reset", "low-frequency-only"},
		},
		{
			name: "the seed board in PROVISIONING: only Hot Plug reaches AP1",
			cell: func(k Key) Cell {
				switch {
				case k.AP == 0:
					return okAP0(0x3)
				case k.Mode == probe.ModeHotPlug:
					return okAP1(targets.StateProvisioning, targets.TZENEnabled, probe.CoreRunning)
				}
				return Cell{Outcome: OutcomeModeFailed, DPIDR: h5DPIDR, APIDR: ap1IDR, CPUID: m33CPUID,
					FailedStep: probe.StepWaitHalt, Err: "core did not halt", Layer: probe.LayerTarget}
			},
			check: func(t *testing.T, fs []Finding) {
				f := mustFind(t, fs, "provisioning", SeverityCritical, "PROVISIONING", "still recoverable",
					"TZEN to 0xC3", "password DA", "full regression", "0xC6", "0x72", "Hot Plug")
				if fs[0].Rule != "provisioning" {
					t.Errorf("first finding is %q, want provisioning: %v", fs[0].Rule, ruleIDs(fs))
				}
				wantSteps := []Step{{Action: ActionPlanOptionBytes, Assignment: "TZEN=0xC3"}, {Action: ActionDebugAuth}}
				if !slices.Equal(f.Steps, wantSteps) {
					t.Errorf("provisioning steps %v, want %v", f.Steps, wantSteps)
				}
				if got := CellsSummary(nil, f.Cells); !strings.Contains(got, "hotplug AP1") || !strings.Contains(got, "normal AP1") {
					t.Errorf("provisioning cites %s", got)
				}
			},
			noRules: []string{"no-dp", "debug-closed", "nrst-not-wired", "only-hotplug", "all-ok", "product-state"},
		},
		{
			name: "PROVISIONING with TrustZone already off: no TZEN step",
			cell: func(k Key) Cell {
				switch {
				case k.AP == 0:
					return okAP0(0x3)
				case k.Mode == probe.ModeHotPlug:
					return okAP1(targets.StateProvisioning, targets.TZENDisabled, probe.CoreRunning)
				}
				return closedAP1()
			},
			check: func(t *testing.T, fs []Finding) {
				f := mustFind(t, fs, "provisioning", SeverityCritical, "password DA", "(1) while still in PROVISIONING")
				if strings.Contains(f.Next, "TZEN to 0xC3") {
					t.Errorf("asks to set TZEN already 0xC3: %s", f.Next)
				}
			},
			noRules: []string{"debug-closed"},
		},
		{
			name: "TZ_CLOSED without DA: AP1 closed everywhere, AP0 answers",
			cell: func(k Key) Cell {
				if k.AP == 0 {
					return okAP0(0x1)
				}
				return closedAP1()
			},
			check: func(t *testing.T, fs []Finding) {
				mustFind(t, fs, "debug-closed", SeverityCritical, "closed by the product state", "AP1", "AP0",
					"DBGMCU_SR", "not enabled", "TZ_CLOSED", "CLOSED", "LOCKED", "no known way back", "discovery", "0xF5F5F5F5")
				if fs[0].Rule != "debug-closed" {
					t.Errorf("first finding %q, want debug-closed", fs[0].Rule)
				}
			},
			noRules: []string{"no-dp", "provisioning", "all-ok", "only-under-reset", "nrst-not-wired"},
		},
		{
			name:   "no target: no ACK anywhere, board powered",
			header: func(h *Header) { h.Voltage, h.HasVoltage = 3.29, true },
			cell:   func(k Key) Cell { return noAck() },
			check: func(t *testing.T, fs []Finding) {
				f := mustFind(t, fs, "no-dp", SeverityCritical, "No debug port", "3.29 V", "SWDIO", "SWCLK", "GND", "Under Reset did not help")
				if len(f.Cells) != len(p.Keys()) {
					t.Errorf("no-dp cites %d cells, want all %d", len(f.Cells), len(p.Keys()))
				}
			},
			noRules: []string{"debug-closed", "all-ok", "identity", "only-under-reset", "nrst-not-wired", "wait"},
		},
		{
			name:   "no target, no voltage: power first",
			header: func(h *Header) { h.Voltage, h.HasVoltage = 0.02, true },
			cell:   func(k Key) Cell { return noAck() },
			check: func(t *testing.T, fs []Finding) {
				mustFind(t, fs, "no-dp", SeverityCritical, "0.02 V", "unpowered", "Power the target")
			},
		},
		{
			name: "sleepy firmware: only Under Reset works",
			cell: func(k Key) Cell {
				if k.Mode != probe.ModeUnderReset {
					return noAck()
				}
				if k.AP == 0 {
					return okAP0(0x3)
				}
				return okAP1(targets.StateOpen, targets.TZENDisabled, probe.CoreHalted)
			},
			check: func(t *testing.T, fs []Finding) {
				mustFind(t, fs, "only-under-reset", SeverityWarning, "Only Under Reset", "SWD pins", "low-power")
			},
			noRules: []string{"no-dp", "nrst-not-wired", "all-ok", "debug-closed"},
		},
		{
			name: "NRST not wired: Under Reset fails on AP1 only",
			cell: func(k Key) Cell {
				switch {
				case k.AP == 0:
					return okAP0(0x3)
				case k.Mode == probe.ModeUnderReset:
					c := okAP1(targets.StateOpen, targets.TZENDisabled, probe.CoreHalted)
					c.Outcome, c.FailedStep, c.Layer = OutcomeModeFailed, probe.StepConfirmHalt, probe.LayerTarget
					c.Reason = "confirm halted at reset: core halted but never went through reset"
					return c
				}
				return okAP1(targets.StateOpen, targets.TZENDisabled, modeCore(k))
			},
			check: func(t *testing.T, fs []Finding) {
				f := mustFind(t, fs, "nrst-not-wired", SeverityWarning, "NRST", "pin 15", "Debug authentication needs NRST")
				if got := CellsSummary(&Matrix{Plan: p}, f.Cells); !strings.Contains(got, "under-reset AP1 at every frequency") {
					t.Errorf("nrst-not-wired cites %s", got)
				}
			},
			noRules: []string{"all-ok", "only-under-reset", "debug-closed", "no-dp", "only-hotplug"},
		},
		{
			name: "long wires: only low clocks work",
			cell: func(k Key) Cell {
				if k.KHz > 480 {
					c := noAck()
					c.Status, c.Reason = proto.StatusSWDDPParityError, "read DPIDR: SWD DP parity error"
					return c
				}
				if k.AP == 0 {
					return okAP0(0x3)
				}
				return okAP1(targets.StateOpen, targets.TZENDisabled, modeCore(k))
			},
			check: func(t *testing.T, fs []Finding) {
				mustFind(t, fs, "low-frequency-only", SeverityWarning, "480 kHz", "1800 kHz", "shorten")
			},
			noRules: []string{"all-ok", "no-dp", "nrst-not-wired"},
		},
		{
			name:   "old firmware: AP1 not reachable",
			header: func(h *Header) { h.Firmware = "V2J27S6" },
			cell: func(k Key) Cell {
				if k.AP == 0 {
					return okAP0(0x3)
				}
				return Cell{Outcome: OutcomeUnsupported, Reason: "connect: needs ST-LINK firmware V2J28 or later for AP1; this probe has V2J27S6: update the firmware"}
			},
			check: func(t *testing.T, fs []Finding) {
				mustFind(t, fs, "firmware", SeverityWarning, "V2J27S6", "V2J28", "Update")
			},
			noRules: []string{"debug-closed", "all-ok"},
		},
		{
			name: "DP answers, no AP anywhere",
			cell: func(k Key) Cell {
				return Cell{Outcome: OutcomeDPOnly, DPIDR: h5DPIDR, FailedStep: probe.StepReadAPIDR, Layer: probe.LayerAP}
			},
			check: func(t *testing.T, fs []Finding) {
				mustFind(t, fs, "dp-only", SeverityWarning, "no access port", "0x6BA02477")
			},
			noRules: []string{"no-dp", "all-ok"},
		},
		{
			name: "target keeps WAITing",
			cell: func(k Key) Cell {
				return Cell{Outcome: OutcomeWaitTimeout, Status: proto.StatusSWDDPWait, Layer: probe.LayerDP}
			},
			check: func(t *testing.T, fs []Finding) {
				mustFind(t, fs, "no-dp", SeverityCritical)
				mustFind(t, fs, "wait", SeverityWarning, "WAIT")
			},
		},
		{
			name: "probe unplugged mid-sweep",
			cell: func(k Key) Cell {
				if k.KHz == 4000 && k.Mode == probe.ModeNormal {
					return okAP0(0x3)
				}
				if k.KHz == 4000 {
					return Cell{Outcome: OutcomeFault, Layer: probe.LayerUSB, Err: "probe disconnected: replug the ST-LINK"}
				}
				return Cell{Outcome: OutcomeSkipped, Reason: "probe disconnected"}
			},
			check: func(t *testing.T, fs []Finding) {
				if f := mustFind(t, fs, "probe-fault", SeverityWarning, "replug", "Replug"); !slices.Equal(f.Steps, []Step{{Action: ActionSweep}}) {
					t.Errorf("probe-fault steps %v, want a sweep", f.Steps)
				}
				mustFind(t, fs, "incomplete", SeverityInfo, "probe disconnected")
			},
			noRules: []string{"all-ok", "no-dp"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := thread()
			if tt.header != nil {
				tt.header(&h)
			}
			m := build(p, h, tt.cell)
			fs := Diagnose(m)
			checkOrdered(t, fs)
			tt.check(t, fs)
			mustNotFind(t, fs, tt.noRules...)
			for _, f := range fs {
				if f.Title == "" || f.Rule == "" {
					t.Errorf("finding without rule or title: %+v", f)
				}
				for _, k := range f.Cells {
					if m.Find(k) == nil {
						t.Errorf("%s cites %v, not in the matrix", f.Rule, k)
					}
				}
			}
		})
	}
}

// A cancelled sweep: the findings rest on the cells tried and say so.
func TestDiagnosePartial(t *testing.T) {
	p := defaultTestPlan()
	n := 0
	m := build(p, thread(), func(k Key) Cell {
		n++
		if n > 4 {
			return Cell{Outcome: OutcomeSkipped, Reason: "sweep cancelled"}
		}
		return noAck()
	})
	m.Cancelled = true
	fs := Diagnose(m)
	mustFind(t, fs, "no-dp", SeverityCritical)
	f := mustFind(t, fs, "incomplete", SeverityInfo, "sweep cancelled")
	if want := len(p.Keys()) - 4; len(f.Cells) != want {
		t.Errorf("incomplete cites %d cells, want %d", len(f.Cells), want)
	}
}

func TestDiagnoseEmpty(t *testing.T) {
	for _, m := range []*Matrix{nil, {}, {Plan: defaultTestPlan()}} {
		fs := Diagnose(m)
		if len(fs) != 1 || fs[0].Rule != "incomplete" {
			t.Errorf("Diagnose(%v) = %v, want one incomplete finding", m, ruleIDs(fs))
		}
	}
}

// Every rule listed has a distinct identifier.
func TestRulesUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules() {
		if seen[r] {
			t.Errorf("rule %q twice", r)
		}
		seen[r] = true
	}
	if len(seen) < 10 {
		t.Errorf("only %d rules", len(seen))
	}
}

func TestSeverityString(t *testing.T) {
	for s, want := range map[Severity]string{SeverityInfo: "info", SeverityWarning: "warning", SeverityCritical: "critical", 7: "severity(7)"} {
		if got := fmt.Sprint(s); got != want {
			t.Errorf("%d: %q, want %q", int(s), got, want)
		}
	}
}

// "Closed in every mode" needs every mode tried, and a DBGMCU_SR that does
// not say the port is enabled.
func TestDebugClosedNeedsEvidence(t *testing.T) {
	p := defaultTestPlan()
	closedExceptHotPlug := build(p, thread(), func(k Key) Cell {
		switch {
		case k.AP == 0:
			return okAP0(0x1)
		case k.Mode == probe.ModeHotPlug:
			return Cell{Outcome: OutcomeSkipped, Reason: "sweep cancelled"}
		}
		return closedAP1()
	})
	mustNotFind(t, Diagnose(closedExceptHotPlug), "debug-closed")

	enabled := build(p, thread(), func(k Key) Cell {
		if k.AP == 0 {
			return okAP0(0x3)
		}
		return closedAP1()
	})
	mustNotFind(t, Diagnose(enabled), "debug-closed")

	// Without DBGMCU_SR (AP0 not swept) the pattern still speaks.
	onlyAP1 := build(Plan{Modes: DefaultModes(), APs: []uint8{1, 2}, FrequenciesKHz: []int{100}}, thread(), func(k Key) Cell {
		if k.AP == 2 {
			c := okAP0(0)
			c.HasAPStatus = false
			return c
		}
		return closedAP1()
	})
	mustFind(t, Diagnose(onlyAP1), "debug-closed", SeverityCritical, "AP1", "AP2")
}

// What the PROVISIONING finding says depends on the DA data read.
func TestDiagnoseProvisioningDA(t *testing.T) {
	p := defaultTestPlan()
	board := func(tzen targets.TZEN, da *targets.DAStatus) *Matrix {
		first := true
		return build(p, thread(), func(k Key) Cell {
			switch {
			case k.AP == 0:
				return okAP0(0x3)
			case k.Mode == probe.ModeHotPlug:
				c := okAP1(targets.StateProvisioning, tzen, probe.CoreRunning)
				if first {
					c.DA, first = da, false
				}
				return c
			}
			return closedAP1()
		})
	}
	none := &targets.DAStatus{Checked: true, Source: "OBK DA record is blank"}
	password := &targets.DAStatus{Checked: true, Provisioned: true, Method: targets.DAPassword, Source: "OBK DA record valid"}
	unread := &targets.DAStatus{Source: "OBK record unreadable through AP1"}
	tests := []struct {
		name string
		tzen targets.TZEN
		da   *targets.DAStatus
		sev  Severity
		want []string
	}{
		{"not read", targets.TZENEnabled, nil, SeverityCritical, []string{"DA not known to be provisioned", "was not read", "TZEN to 0xC3"}},
		{"unreadable", targets.TZENEnabled, unread, SeverityCritical, []string{"DA not known", "could not be read", "unreadable"}},
		{"none", targets.TZENEnabled, none, SeverityCritical, []string{"no DA provisioned: still recoverable, do this first", "blank", "0xC6", "0x72"}},
		{"password, TrustZone off", targets.TZENDisabled, password, SeverityWarning, []string{"DA provisioned (password): recoverable", "DA full regression"}},
		{"password, TrustZone on", targets.TZENEnabled, password, SeverityCritical, []string{"does not match", "lock it for ever", "Fix TZEN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := Diagnose(board(tt.tzen, tt.da))
			f := mustFind(t, fs, "provisioning", tt.sev, tt.want...)
			if fs[0].Rule != "provisioning" {
				t.Errorf("first finding %q", fs[0].Rule)
			}
			if len(uniqueKeys(f.Cells)) != len(f.Cells) {
				t.Errorf("repeated cells %v", f.Cells)
			}
		})
	}
}
