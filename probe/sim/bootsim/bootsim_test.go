package bootsim_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/boot"
	"github.com/stprobe/stprobe/boot/dfu"
	"github.com/stprobe/stprobe/boot/job"
	"github.com/stprobe/stprobe/boot/uart"
	"github.com/stprobe/stprobe/probe/sim/bootsim"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/targets"
)

// swdFacts is what the SWD matrix would pass for s: AP1 closed when no
// connect mode reaches it.
func swdFacts(s scenario.Scenario) boot.SWD {
	e := s.Expect
	ap1 := boot.AP1Open
	if e.NormalAP1 != scenario.OK && e.HotPlugAP1 != scenario.OK && e.UnderResetAP1 != scenario.OK {
		ap1 = boot.AP1Closed
	}
	return boot.SWD{AP1: ap1, DevID: s.Chip.Line}
}

// TestBootProbeJobPerScenario runs the whole job (DFU in-process, UART
// over the pty) on the scenarios the issue names.
func TestBootProbeJobPerScenario(t *testing.T) {
	tests := []struct {
		scenario string
		boot0    bool
		answered bool
		pid      uint16
		states   []targets.ProductState // the first finding's consistent states
		text     string
	}{
		{"h533-open", true, true, 0x478, []targets.ProductState{targets.StateOpen}, "product state is OPEN"},
		{"h563-open", true, true, 0x484, []targets.ProductState{targets.StateOpen}, "OPEN"},
		{"h503-open", true, true, 0x474, []targets.ProductState{targets.StateOpen}, "OPEN"},
		{"h533-provisioning", true, true, 0x478, []targets.ProductState{targets.StateProvisioning}, "user code never runs"},
		{"h533-provisioning", false, true, 0x478, []targets.ProductState{targets.StateProvisioning}, "user code never runs"},
		{"h533-tz-closed-no-da", true, false, 0, []targets.ProductState{targets.StateIROTProvisioned, targets.StateTZClosed, targets.StateClosed, targets.StateLocked}, "boots its flash whatever BOOT0 says"},
		{"h533-closed-da", true, false, 0, nil, "boots its flash whatever BOOT0 says"},
		{"h533-locked", true, false, 0, nil, "debug authentication over AP0"},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			s, err := scenario.Lookup(tt.scenario)
			if err != nil {
				t.Fatal(err)
			}
			s = s.WithBoot0(tt.boot0)
			b, err := bootsim.Start(s, s.NewProbe())
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			level := boot.LevelLow
			if tt.boot0 {
				level = boot.LevelHigh
			}
			rep := job.Run(context.Background(), job.Options{
				UART: b.UARTPath(), UARTOptions: uart.Options{Timeout: 200 * time.Millisecond},
				USB: true, ProbeDFU: probeDFU(b), BOOT0: level,
			}, swdFacts(s))
			if len(rep.Results) != 2 {
				t.Fatalf("%d results", len(rep.Results))
			}
			for _, r := range rep.Results {
				want := boot.Silent
				if tt.answered {
					want = boot.Answered
				}
				if r.Outcome != want || tt.answered && (r.PID != tt.pid || r.State != s.Chip.ProductState.String()) {
					t.Errorf("%s, want %v with PID 0x%03X", r.Summary(), want, tt.pid)
				}
			}
			f := rep.Findings[0]
			if tt.states != nil && !slices.Equal(f.Consistent, tt.states) {
				t.Errorf("consistent %v, want %v", f.Consistent, tt.states)
			}
			if !tt.answered && !slices.Contains(f.Consistent, s.Chip.ProductState) {
				t.Errorf("the finding %v does not include the real state %v", f.Consistent, s.Chip.ProductState)
			}
			if !strings.Contains(f.Text, tt.text) {
				t.Errorf("finding %q lacks %q", f.Text, tt.text)
			}
		})
	}
}

// probeDFU runs the host's DFU probe against the simulated function, as
// the bench does on the simulated bench.
func probeDFU(b *bootsim.Bench) func(context.Context, dfu.Options) boot.Result {
	return func(ctx context.Context, opts dfu.Options) boot.Result {
		if !b.Present() {
			return boot.Result{Path: boot.PathDFU, Outcome: boot.Silent, Detail: "no 0483:DF11 (STM32 ROM DFU) on the simulated bus"}
		}
		return dfu.Probe(ctx, bootsim.Device{Fn: b.DFU()}, opts)
	}
}
