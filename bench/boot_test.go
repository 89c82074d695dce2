package bench

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/boot"
	bootjob "github.com/stprobe/stprobe/boot/job"
	"github.com/stprobe/stprobe/boot/uart"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/sweep"
)

// TestSweepWithBootPaths sweeps each scenario the issue names with the
// bootloader paths: both rows beside the cells, and the finding that says
// what the answer or the silence means in the diagnosis.
func TestSweepWithBootPaths(t *testing.T) {
	tests := []struct {
		scenario string
		boot0    boot.Level
		outcome  string // of both rows
		state    string // read through the bootloader
		rule     string
		title    string // in the finding's title
		detail   string
	}{
		{"h533-open", boot.LevelHigh, "answered", "OPEN", RuleBootAnswers, "consistent with OPEN", "product state is OPEN"},
		{"h533-provisioning", boot.LevelHigh, "answered", "PROVISIONING", RuleBootAnswers, "consistent with PROVISIONING", "user code never runs"},
		{"h533-provisioning", boot.LevelLow, "answered", "PROVISIONING", RuleBootAnswers, "consistent with PROVISIONING", "user code never runs"},
		{"h533-open", boot.LevelLow, "silent", "", RuleBootSilent, "consistent with OPEN", "Set BOOT0 high"},
		// the DA discovery tells the closed state, so the silence is pinned to it
		{"h533-tz-closed-no-da", boot.LevelHigh, "silent", "", RuleBootSilent, "consistent with TZ_CLOSED", "boots its flash whatever BOOT0 says"},
		{"h533-locked", boot.LevelHigh, "silent", "", RuleBootSilent, "consistent with LOCKED", "boots its flash whatever BOOT0 says"},
	}
	for _, tt := range tests {
		t.Run(tt.scenario+"/boot0-"+tt.boot0.String(), func(t *testing.T) {
			b, tok := openSimBench(t, tt.scenario, Options{})
			res, err := b.Sweep(context.Background(), tok, SweepRequest{Plan: smallPlan,
				Boot: &BootRequest{Options: bootjob.Options{BOOT0: tt.boot0}}})
			if err != nil {
				t.Fatal(err)
			}
			m := res.Matrix
			if len(m.OtherPaths) != 2 || m.OtherPaths[0].Path != "usb-dfu" || m.OtherPaths[1].Path != "uart" {
				t.Fatalf("rows %+v", m.OtherPaths)
			}
			for _, r := range m.OtherPaths {
				if r.Outcome != tt.outcome || r.State != tt.state {
					t.Errorf("%s: %s", r.Path, r.Summary)
				}
				if tt.outcome == "answered" && !strings.Contains(r.Summary, "PID 0x478") {
					t.Errorf("%s: no PID 0x478 in %q", r.Path, r.Summary)
				}
			}
			i := slices.IndexFunc(res.Findings, func(f sweep.Finding) bool { return f.Rule == tt.rule })
			if i < 0 {
				t.Fatalf("no %s finding in %v", tt.rule, rules(res.Findings))
			}
			f := res.Findings[i]
			if !f.OtherPaths || !strings.Contains(f.Title, tt.title) || !strings.Contains(f.Detail, tt.detail) {
				t.Errorf("finding %q: %s", f.Title, f.Detail)
			}
			if tt.rule == RuleBootSilent && (len(f.Checks) == 0 || !strings.Contains(f.Checks[0], "BOOT0")) {
				t.Errorf("the silence lists no hand-check of BOOT0: %q", f.Checks)
			}
			snap := b.Snapshot()
			if snap.Boot == nil || len(snap.Matrix.OtherPaths) != 2 || !slices.ContainsFunc(snap.Findings, func(f sweep.Finding) bool { return f.Rule == tt.rule }) {
				t.Errorf("the snapshot lacks the paths: boot %v", snap.Boot)
			}
		})
	}
}

func rules(fs []sweep.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule)
	}
	return out
}

// Without Boot the sweep stays SWD only; the scenario's own BOOT0 is used
// when the request leaves it unknown.
func TestSweepWithoutBootPaths(t *testing.T) {
	b, tok := openSimBench(t, "h533-tz-closed-no-da", Options{})
	res, err := b.Sweep(context.Background(), tok, SweepRequest{Plan: smallPlan})
	if err != nil {
		t.Fatal(err)
	}
	if res.Matrix.OtherPaths != nil || slices.ContainsFunc(res.Findings, func(f sweep.Finding) bool { return f.OtherPaths }) {
		t.Errorf("paths without asking: %+v", res.Matrix.OtherPaths)
	}
	if b.Snapshot().Boot != nil {
		t.Error("a boot report without asking")
	}
}

// A board without an STM32H5 has no ROM bootloader to simulate: the sweep
// says so in a row and still succeeds; the boot probe job fails.
func TestSweepBootPathsWithoutBootloader(t *testing.T) {
	b, tok := openSimBench(t, "generic-m33", Options{})
	res, err := b.Sweep(context.Background(), tok, SweepRequest{Plan: smallPlan, Boot: &BootRequest{}})
	if err != nil {
		t.Fatal(err)
	}
	if p := res.Matrix.OtherPaths; len(p) != 1 || p[0].Outcome != "not-probed" || !strings.Contains(p[0].Summary, "no ROM bootloader") {
		t.Errorf("rows %+v", p)
	}
	if _, err := b.BootProbe(context.Background(), tok, BootRequest{}); err == nil {
		t.Error("boot probe of a board without a bootloader succeeded")
	}
}

// A boot probe after a sweep adds its paths to the snapshot's matrix, as
// the console's matrix pane shows them; the sweep's own matrix is not
// changed.
func TestBootProbeAddsPathsToTheMatrix(t *testing.T) {
	b, tok := openSimBench(t, "h533-provisioning", Options{})
	res, err := b.Sweep(context.Background(), tok, SweepRequest{Plan: smallPlan})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := b.BootProbe(context.Background(), tok, BootRequest{})
	if err != nil {
		t.Fatal(err)
	}
	snap := b.Snapshot()
	if len(snap.Matrix.OtherPaths) != len(rep.Results) || len(rep.Results) != 2 {
		t.Fatalf("snapshot rows %+v", snap.Matrix.OtherPaths)
	}
	if !slices.ContainsFunc(snap.Findings, func(f sweep.Finding) bool { return f.Rule == RuleBootAnswers }) {
		t.Errorf("snapshot findings %v", rules(snap.Findings))
	}
	if res.Matrix.OtherPaths != nil {
		t.Error("the sweep's result was changed")
	}
	if len(snap.Matrix.Cells) != len(res.Matrix.Cells) {
		t.Error("the cells were lost")
	}
}

// On the simulated bench a UART wiring that drives BOOT0 sets the board's
// pin high: the ROM answers an OPEN chip whose scenario has BOOT0 low.
func TestSimulatedBOOT0Wiring(t *testing.T) {
	b, tok := openSimBench(t, "h533-open", Options{})
	rep, err := b.BootProbe(context.Background(), tok, BootRequest{Options: bootjob.Options{
		UARTOptions: uart.Options{Wiring: uart.Wiring{BOOT0: uart.SignalDTR, NRST: uart.SignalRTS}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if r.Outcome != boot.Answered {
			t.Errorf("%s", r.Summary())
		}
	}
	rep, err = b.BootProbe(context.Background(), tok, BootRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Results[0].Outcome != boot.Silent {
		t.Errorf("the scenario's BOOT0 low: %s", rep.Results[0].Summary())
	}
}

func TestBootPaths(t *testing.T) {
	answered := boot.Result{Path: boot.PathDFU, Outcome: boot.Answered, PID: 0x478, HasPID: true}
	silent := boot.Result{Path: boot.PathUART, Outcome: boot.Silent, Detail: "no answer"}
	failed := boot.Result{Path: boot.PathUART, Outcome: boot.Failed, Detail: "echo"}
	tests := []struct {
		name    string
		results []boot.Result
		rules   []string
	}{
		{"answer and silence", []boot.Result{answered, silent}, []string{RuleBootAnswers, RuleBootPathSilent}},
		{"silence", []boot.Result{{Path: boot.PathDFU}, silent}, []string{RuleBootSilent}},
		{"silence and error", []boot.Result{{Path: boot.PathDFU}, failed}, []string{RuleBootSilent, RuleBootError}},
		{"answer and error", []boot.Result{answered, failed}, []string{RuleBootAnswers, RuleBootError}},
		{"error only", []boot.Result{failed}, []string{RuleBootError}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := bootjob.Report{Results: tt.results, Findings: boot.Diagnose(boot.SWD{AP1: boot.AP1Closed}, boot.LevelHigh, tt.results)}
			rows, fs := BootPaths(rep)
			if len(rows) != len(tt.results) {
				t.Errorf("%d rows", len(rows))
			}
			if got := rules(fs); !slices.Equal(got, tt.rules) {
				t.Errorf("rules %v, want %v", got, tt.rules)
			}
			for _, f := range fs {
				if f.Title == "" || f.Detail == "" || strings.ToUpper(f.Title[:1]) != f.Title[:1] {
					t.Errorf("finding %+v", f)
				}
			}
		})
	}
}

func TestAP1Of(t *testing.T) {
	cell := func(ap uint8, o sweep.Outcome) sweep.Cell {
		return sweep.Cell{Key: sweep.Key{Mode: probe.ModeHotPlug, AP: ap, KHz: 100}, Outcome: o}
	}
	tests := []struct {
		cells []sweep.Cell
		want  boot.AP1
	}{
		{[]sweep.Cell{cell(0, sweep.OutcomeOK), cell(1, sweep.OutcomeAPClosed)}, boot.AP1Closed},
		{[]sweep.Cell{cell(0, sweep.OutcomeOK), cell(1, sweep.OutcomeOK)}, boot.AP1Open},
		{[]sweep.Cell{cell(0, sweep.OutcomeOK)}, boot.AP1Unknown}, // AP1 not tried
		{[]sweep.Cell{cell(0, sweep.OutcomeNoAck), cell(1, sweep.OutcomeNoAck)}, boot.AP1Unknown},
	}
	for i, tt := range tests {
		if got := ap1Of(&sweep.Matrix{Cells: tt.cells}); got != tt.want {
			t.Errorf("%d: %v, want %v", i, got, tt.want)
		}
	}
}

// A sweep cancelled in its cells does not go on to the bootloader paths.
func TestCancelledSweepSkipsBootPaths(t *testing.T) {
	b, tok := openSimBench(t, "h533-provisioning", Options{})
	res, err := b.Sweep(done(), tok, SweepRequest{Plan: smallPlan, Boot: &BootRequest{}})
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if res != nil && res.Matrix != nil && res.Matrix.OtherPaths != nil {
		t.Errorf("paths probed after cancellation: %+v", res.Matrix.OtherPaths)
	}
}
