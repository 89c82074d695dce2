package obpane

import (
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/tui/common"
)

// TestGolden compares the pane's screens, ANSI stripped, at 80×24 and
// 160×48 with testdata/*.golden (go test -update rewrites them).
func TestGolden(t *testing.T) {
	tests := []struct {
		name     string
		scenario string
		observer bool
		keys     []string
		send     any
	}{
		{name: "empty-observer", scenario: "h533-provisioning", observer: true},
		{name: "table-seed", scenario: "h533-provisioning", keys: []string{"r"}},
		{name: "table-edits", scenario: "h563-open", keys: []string{"r", "select:BOR_LEV", "enter", "choose:LEVEL3", "enter", "select:NSBOOTADD", "enter", "ctrl+u", "type:0x80100", "enter"}},
		{name: "chooser-state", scenario: "h533-provisioning", keys: []string{"r", "select:PRODUCT_STATE", "enter", "choose:TZ_CLOSED"}},
		{name: "number-invalid", scenario: "h533-open", keys: []string{"r", "select:HDP1_END", "enter", "ctrl+u", "type:0x40", "enter"}},
		{name: "refused-open", scenario: "h533-provisioning", keys: []string{"r", "select:PRODUCT_STATE", "enter", "choose:OPEN", "enter", "p"}},
		{name: "plan-brick", scenario: "h533-provisioning", keys: []string{"r", "select:PRODUCT_STATE", "enter", "choose:TZ_CLOSED", "enter", "p"}},
		{name: "guard-brick", scenario: "h533-provisioning", keys: []string{"r", "select:PRODUCT_STATE", "enter", "choose:TZ_CLOSED", "enter", "p", "a", "type:brick", "enter"}},
		{name: "guard-irreversible", scenario: "h533-open", keys: []string{"r", "select:PRODUCT_STATE", "enter", "choose:PROVISIONING", "enter", "p", "a"}},
		{name: "plan-request", scenario: "h533-provisioning", send: common.OpenPaneMsg{Pane: common.PaneOptionBytes, Request: common.PlanRequest{Assignments: []string{"TZEN=0xC3"}, Reason: "password DA needs TZEN=0xC3"}}},
		{name: "closed-ap1", scenario: "h533-tz-closed-no-da", keys: []string{"r"}},
		{name: "backups-none", scenario: "h533-open", keys: []string{"r", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, sz := range [][2]int{{80, 24}, {160, 48}} {
				e := newEnvDir(t, tt.scenario, !tt.observer, goldenStateDir)
				e.m.SetSize(sz[0], sz[1])
				if tt.send != nil {
					e.Send(tt.send)
				}
				e.Keys(tt.keys...)
				e.golden(tt.name+"-"+sizeName(sz), sz[0], sz[1])
			}
		})
	}
}

func sizeName(sz [2]int) string {
	switch sz {
	case [2]int{80, 24}:
		return "80x24"
	case [2]int{160, 48}:
		return "160x48"
	}
	return "other"
}

// TestGoldenOutcome draws the outcome of real writes; the backup's name and
// the audit line's time, which follow the wall clock, are replaced by fixed
// ones before drawing.
func TestGoldenOutcome(t *testing.T) {
	tests := []struct {
		name, scenario string
		keys           func(phrase string) []string
	}{
		{name: "outcome-verified", scenario: "h533-open", keys: func(string) []string { return []string{"a"} }},
		{name: "outcome-debug-closed", scenario: "h533-provisioning", keys: func(p string) []string { return []string{"a", "type:" + p, "tab", "space", "enter"} }},
	}
	plan := map[string][]string{
		"outcome-verified":     {"r", "select:BOR_LEV", "enter", "choose:LEVEL3", "enter", "select:NSBOOTADD", "enter", "ctrl+u", "type:0x80400", "enter", "p"},
		"outcome-debug-closed": {"r", "select:PRODUCT_STATE", "enter", "choose:TZ_CLOSED", "enter", "p"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, sz := range [][2]int{{80, 24}, {160, 48}} {
				e := newEnv(t, tt.scenario, true)
				e.Keys(plan[tt.name]...)
				if e.m.plan == nil {
					t.Fatalf("no plan: %v", e.m.planErr)
				}
				e.Keys(tt.keys(e.m.plan.Phrase)...)
				if e.m.applyErr != nil || e.m.applyRes == nil || e.m.applyRes.Result == nil || e.m.audit() == nil {
					t.Fatalf("apply: %v", e.m.applyErr)
				}
				e.m.StateDir = goldenStateDir
				e.m.applyRes.Result.Backup = goldenStateDir + "/backups/ob-363835303133510A00450499-20260314T092653.000000000Z.json"
				e.m.audit().Time = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
				for i, st := range e.m.Steps {
					if strings.HasPrefix(st.Message, "saved ") {
						e.m.Steps[i].Message = "saved " + e.m.applyRes.Result.Backup
					}
				}
				e.golden(tt.name+"-"+sizeName(sz), sz[0], sz[1])
			}
		})
	}
}
