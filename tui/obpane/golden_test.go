package obpane

import (
	"testing"

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
					e.send(tt.send)
				}
				e.keys(tt.keys...)
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
