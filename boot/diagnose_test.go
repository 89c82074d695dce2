package boot_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/boot"
	"github.com/stprobe/stprobe/targets"
)

func res(p boot.Path, o boot.Outcome) boot.Result { return boot.Result{Path: p, Outcome: o} }

func TestDiagnose(t *testing.T) {
	closedSWD := boot.SWD{AP1: boot.AP1Closed, DevID: 0x478}
	withState := func(r boot.Result, s targets.ProductState) boot.Result {
		r.ProductState, r.HasProductState, r.PID, r.HasPID = s, true, 0x478, true
		return r
	}
	tests := []struct {
		name       string
		swd        boot.SWD
		boot0      boot.Level
		results    []boot.Result
		consistent []targets.ProductState
		text       []string // the first finding's text contains each
		checks     []string // some hand-check contains each
		findings   int
	}{
		{
			name: "seed: AP1 closed, both silent, BOOT0 high", swd: closedSWD, boot0: boot.LevelHigh,
			results:    []boot.Result{res(boot.PathDFU, boot.Silent), res(boot.PathUART, boot.Silent)},
			consistent: []targets.ProductState{targets.StateIROTProvisioned, targets.StateTZClosed, targets.StateClosed, targets.StateLocked},
			text:       []string{"boots its flash whatever BOOT0 says", "debug authentication over AP0"},
			checks:     []string{"BOOT0 really high", "D+ pull-up", "PA9", "PA10"},
			findings:   1,
		},
		{
			name: "SWD read CLOSED", swd: boot.SWD{AP1: boot.AP1Closed, ProductState: targets.StateClosed, HasProductState: true},
			results:    []boot.Result{res(boot.PathUART, boot.Silent)},
			consistent: []targets.ProductState{targets.StateClosed}, text: []string{"CLOSED"}, findings: 1,
		},
		{
			name: "OPEN + BOOT0 high answers with its state", swd: boot.SWD{AP1: boot.AP1Open}, boot0: boot.LevelHigh,
			results:    []boot.Result{withState(res(boot.PathDFU, boot.Answered), targets.StateOpen), withState(res(boot.PathUART, boot.Answered), targets.StateOpen)},
			consistent: []targets.ProductState{targets.StateOpen}, text: []string{"product state is OPEN"}, findings: 1,
		},
		{
			name: "answers with BOOT0 low: PROVISIONING", boot0: boot.LevelLow,
			results:    []boot.Result{res(boot.PathUART, boot.Answered)},
			consistent: []targets.ProductState{targets.StateProvisioning}, text: []string{"only PROVISIONING", "user code never runs"}, findings: 1,
		},
		{
			name:       "DFU answers, UART silent",
			results:    []boot.Result{res(boot.PathDFU, boot.Answered), res(boot.PathUART, boot.Silent)},
			consistent: []targets.ProductState{targets.StateOpen, targets.StateProvisioning},
			checks:     []string{"8 data bits, even parity"}, findings: 2,
		},
		{
			name: "SWD reads OPEN, silent", swd: boot.SWD{AP1: boot.AP1Open, ProductState: targets.StateOpen, HasProductState: true}, boot0: boot.LevelHigh,
			results:    []boot.Result{res(boot.PathDFU, boot.Silent)},
			consistent: []targets.ProductState{targets.StateOpen}, text: []string{"BOOT0 was not high"}, findings: 1,
		},
		{
			name:       "nothing known, silent",
			results:    []boot.Result{res(boot.PathUART, boot.Silent)},
			consistent: []targets.ProductState{targets.StateOpen, targets.StateIROTProvisioned, targets.StateTZClosed, targets.StateClosed, targets.StateLocked},
			text:       []string{"closed AP1 points to the closed states"}, findings: 1,
		},
		{
			name:     "UART echo",
			results:  []boot.Result{{Path: boot.PathUART, Outcome: boot.Failed, Detail: "uart: the sync byte 0x7F came back"}},
			checks:   []string{"adapter TX to the chip's RX"},
			findings: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := boot.Diagnose(tt.swd, tt.boot0, tt.results)
			if len(fs) != tt.findings {
				t.Fatalf("%d findings, want %d: %+v", len(fs), tt.findings, fs)
			}
			if !slices.Equal(fs[0].Consistent, tt.consistent) {
				t.Errorf("consistent %v, want %v", fs[0].Consistent, tt.consistent)
			}
			for _, w := range tt.text {
				if !strings.Contains(fs[0].Text, w) {
					t.Errorf("text %q lacks %q", fs[0].Text, w)
				}
			}
			var all []string
			for _, f := range fs {
				all = append(all, f.Checks...)
			}
			for _, w := range tt.checks {
				if !strings.Contains(strings.Join(all, "\n"), w) {
					t.Errorf("checks %q lack %q", all, w)
				}
			}
		})
	}
}

func TestStateNames(t *testing.T) {
	f := boot.Finding{Consistent: []targets.ProductState{targets.StateTZClosed, targets.StateClosed, targets.StateLocked}}
	if got := f.StateNames(); got != "TZ_CLOSED, CLOSED or LOCKED" {
		t.Errorf("%q", got)
	}
}
