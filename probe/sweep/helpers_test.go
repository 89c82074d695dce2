package sweep

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/targets"
)

// Values a simulated STM32H533 shows.
const (
	h533IDCode = 0x10006478
	h5DPIDR    = 0x6BA02477
	ap0IDR     = 0x54770002
	ap1IDR     = 0x84770001
	m33CPUID   = 0x410FD214
)

// v2Ladder is the ST-LINK/V2 SWD ladder, fastest first.
var v2Ladder = proto.V2KHzList()

// defaultTestPlan is the plan a sweep on an ST-LINK/V2 uses by default.
func defaultTestPlan() Plan { return DefaultPlan(v2Ladder) }

// build fills a matrix over plan p, one cell per key from fn.
func build(p Plan, h Header, fn func(k Key) Cell) *Matrix {
	m := &Matrix{Header: h, Plan: p}
	for _, k := range p.Keys() {
		c := fn(k)
		c.Key = k
		if c.Outcome.Attempted() && c.SetKHz == 0 {
			c.SetKHz = k.KHz
		}
		m.Cells = append(m.Cells, c)
	}
	return m
}

func thread() Header {
	return Header{Probe: "ST-LINK/V2", Serial: "066DFF3638514E4B43223243", Backend: "sim", Firmware: "V2J46S7",
		Voltage: 3.29, HasVoltage: true, Target: "test board", Time: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)}
}

// okAP0 is an AP0 cell on an STM32H5: DBGMCU readable, no core.
func okAP0(enabled uint16) Cell {
	return Cell{Outcome: OutcomeOK, Reason: "AP0 answers; no core behind it", DPIDR: h5DPIDR, APIDR: ap0IDR,
		IDCode: h533IDCode, Chip: "STM32H523/H533 rev A", APPresent: 0x3, APEnabled: enabled, HasAPStatus: true}
}

// okAP1 is an AP1 cell that reached the core and read the product state.
func okAP1(state targets.ProductState, tzen targets.TZEN, core probe.CoreState) Cell {
	return Cell{Outcome: OutcomeOK, Reason: "core " + core.String(), DPIDR: h5DPIDR, APIDR: ap1IDR, CPUID: m33CPUID,
		Core: core, IDCode: h533IDCode, Chip: "STM32H523/H533 rev A", State: state, TZEN: tzen}
}

func closedAP1() Cell {
	return Cell{Outcome: OutcomeAPClosed, Reason: "read CPUID: AP1 refuses memory access", DPIDR: h5DPIDR, APIDR: ap1IDR,
		FailedStep: probe.StepReadCPUID, Err: "AP1 refuses memory access", Status: proto.StatusSWDAPFault, Layer: probe.LayerAP}
}

func noAck() Cell {
	return Cell{Outcome: OutcomeNoAck, Reason: "read DPIDR: SWD DP no response", FailedStep: probe.StepReadDPIDR,
		Err: "SWD DP no response", Status: proto.StatusSWDDPError, Layer: probe.LayerDP}
}

func modeCore(k Key) probe.CoreState {
	if k.Mode == probe.ModeHotPlug {
		return probe.CoreRunning
	}
	return probe.CoreHalted
}

// rules returns the rule identifiers of findings, in order.
func ruleIDs(fs []Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Rule
	}
	return out
}

func findRule(fs []Finding, id string) *Finding {
	for i := range fs {
		if fs[i].Rule == id {
			return &fs[i]
		}
	}
	return nil
}

// mustFind fails the test unless rule id fired with severity sev and every
// want phrase in its text.
func mustFind(t *testing.T, fs []Finding, id string, sev Severity, want ...string) *Finding {
	t.Helper()
	f := findRule(fs, id)
	if f == nil {
		t.Fatalf("no %q finding; got %v", id, ruleIDs(fs))
	}
	if f.Severity != sev {
		t.Errorf("%s: severity %v, want %v", id, f.Severity, sev)
	}
	text := f.Title + " " + f.Detail + " " + f.Next
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s: text lacks %q:\n%s", id, w, text)
		}
	}
	if len(f.Cells) == 0 {
		t.Errorf("%s: cites no cell", id)
	}
	return f
}

func mustNotFind(t *testing.T, fs []Finding, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if findRule(fs, id) != nil {
			t.Errorf("unexpected %q finding; got %v", id, ruleIDs(fs))
		}
	}
}

// checkOrdered fails unless findings are ordered by severity, most severe first.
func checkOrdered(t *testing.T, fs []Finding) {
	t.Helper()
	if !slices.IsSortedFunc(fs, func(a, b Finding) int { return int(b.Severity) - int(a.Severity) }) {
		t.Errorf("findings not ordered by severity: %v", ruleIDs(fs))
	}
}
