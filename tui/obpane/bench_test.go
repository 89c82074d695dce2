package obpane

import (
	"testing"

	"github.com/stprobe/stprobe/tui/common"
)

// BenchmarkRender draws the pane at 200×60 once per iteration: the time per
// frame and its allocations (goal: well under 2 ms a frame).
func BenchmarkRender(b *testing.B) {
	screens := []struct {
		name string
		keys []string
	}{
		{"table", []string{"r", "select:TZEN"}},
		{"plan", []string{"r", "select:PRODUCT_STATE", "enter", "choose:TZ_CLOSED", "enter", "p"}},
		{"guard", []string{"r", "select:PRODUCT_STATE", "enter", "choose:TZ_CLOSED", "enter", "p", "a", "type:brick"}},
	}
	for _, sc := range screens {
		b.Run(sc.name, func(b *testing.B) {
			e := newEnvDir(b, "h533-provisioning", true, b.TempDir())
			e.C.SetTheme(common.Theme{Dark: true})
			e.Keys(sc.keys...)
			e.m.SetSize(200, 60)
			b.ReportAllocs()
			for b.Loop() {
				_ = e.m.View()
			}
		})
	}
}
