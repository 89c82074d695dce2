package logpane

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/sirupsen/logrus"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/tui/common"
	"github.com/stprobe/stprobe/tui/internal/tuitest"
)

// filled is a log pane with n entries of every level in turn.
func filled(t testing.TB, theme common.Theme, w, h, n int) (*Model, *bench.Bench) {
	b := tuitest.Open(t, tuitest.Seed)
	c := tuitest.Context(t, b, "alice", theme)
	m := New(c)
	m.Location = time.UTC
	m.SetSize(w, h)
	lv := []logrus.Level{logrus.InfoLevel, logrus.DebugLevel, logrus.WarnLevel, logrus.TraceLevel, logrus.ErrorLevel}
	for i := range n {
		e := bench.LogEntry{Level: lv[i%len(lv)], Message: fmt.Sprintf("entry %d", i),
			Fields: map[string]any{"job": "sweep", "cell": i}}
		e.Time = tuitest.Clock.Add(time.Duration(i) * time.Millisecond)
		m.Update(common.EventMsg{Event: e})
	}
	return m, b
}

func typeText(m *Model, s string) {
	for _, r := range s {
		m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func TestFollowsAndScrolls(t *testing.T) {
	m, _ := filled(t, common.Theme{}, 80, 10, 100)
	v := tuitest.Plain(m.View())
	if !strings.Contains(v, "entry 99") || strings.Contains(v, "entry 80 ") {
		t.Fatalf("the newest entries are not in view:\n%s", v)
	}
	m.Update(tuitest.Key("g"))
	if v := tuitest.Plain(m.View()); !strings.Contains(v, "entry 0 ") || m.follow {
		t.Fatalf("g did not go to the oldest entry:\n%s", v)
	}
	m.Update(tuitest.Key("down"))
	if m.top != 1 {
		t.Errorf("down: top %d, want 1", m.top)
	}
	m.Update(tuitest.Key("G"))
	m.Update(common.EventMsg{Event: bench.LogEntry{Level: logrus.InfoLevel, Message: "newest"}})
	if v := tuitest.Plain(m.View()); !strings.Contains(v, "newest") {
		t.Errorf("G does not follow new entries:\n%s", v)
	}
}

func TestLevelAndTextFilter(t *testing.T) {
	m, _ := filled(t, common.Theme{}, 80, 30, 20)
	if len(m.shownNow()) != 20 {
		t.Fatalf("all levels: %d shown, want 20", len(m.shownNow()))
	}
	m.Update(tuitest.Key("l")) // debug and above
	m.Update(tuitest.Key("l")) // info and above
	if n := len(m.shownNow()); n != 12 {
		t.Errorf("info and above: %d shown, want 12", n)
	}
	m.Update(tuitest.Key("F"))
	if !m.Capturing() {
		t.Fatal("F does not take the keys")
	}
	typeText(m, "entry 1")
	m.Update(tuitest.Key("enter"))
	for _, i := range m.shownNow() {
		if e := m.entries[i]; !strings.Contains(e.msg, "entry 1") || e.level > logrus.InfoLevel {
			t.Errorf("shown %q at %v", e.msg, e.level)
		}
	}
	if v := tuitest.Plain(m.View()); !strings.Contains(v, `filter "entry 1"`) {
		t.Errorf("the filter is not shown:\n%s", v)
	}
}

func (m *Model) shownNow() []int {
	m.refresh()
	return m.shown
}

func TestSearch(t *testing.T) {
	m, _ := filled(t, common.Theme{}, 80, 8, 200)
	m.Update(tuitest.Key("/"))
	typeText(m, "entry 17 cell")
	m.Update(tuitest.Key("enter"))
	if m.matchAt < 0 || m.entries[m.shown[m.matchAt]].msg != "entry 17" {
		t.Fatalf("search found %d", m.matchAt)
	}
	if v := tuitest.Plain(m.View()); !strings.Contains(v, "entry 17 ") {
		t.Errorf("the match is not in view:\n%s", v)
	}
	_, cmd := m.Update(tuitest.Key("n"))
	msgs := tuitest.Run(cmd)
	if len(msgs) != 1 || !strings.Contains(msgs[0].(common.StatusMsg).Text, "no more matches") {
		t.Errorf("n past the last match gave %v", msgs)
	}
}

func TestTraceToggle(t *testing.T) {
	m, b := filled(t, common.Theme{}, 80, 8, 1)
	m.Update(tuitest.Key("T"))
	if b.Log().GetLevel() != logrus.TraceLevel || !m.Tracing() {
		t.Fatalf("T: logger at %v", b.Log().GetLevel())
	}
	m.Update(tuitest.Key("T"))
	if b.Log().GetLevel() != logrus.InfoLevel {
		t.Errorf("T again: logger at %v, want info back", b.Log().GetLevel())
	}
}

func TestBounded(t *testing.T) {
	m, _ := filled(t, common.Theme{}, 80, 8, MaxEntries+10)
	if m.Len() > MaxEntries {
		t.Errorf("%d entries kept, at most %d", m.Len(), MaxEntries)
	}
	if v := tuitest.Plain(m.View()); !strings.Contains(v, fmt.Sprintf("entry %d", MaxEntries+9)) {
		t.Errorf("the newest entry is not in view:\n%s", v)
	}
}

func TestGolden(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{80, 18}, {160, 42}} {
		m, _ := filled(t, common.Theme{Dark: true}, sz.w, sz.h, 60)
		tuitest.Golden(t, fmt.Sprintf("log-%dx%d", sz.w, sz.h), m.View())
	}
}

func TestNoColour(t *testing.T) {
	m, _ := filled(t, common.Theme{NoColor: true}, 160, 42, 60)
	m.Update(tuitest.Key("/"))
	typeText(m, "entry 5")
	m.Update(tuitest.Key("enter"))
	if esc := tuitest.ColourEscapes(m.View()); len(esc) > 0 {
		t.Fatalf("NO_COLOR view has colour escapes %q", esc)
	}
}

func BenchmarkView(b *testing.B) {
	m, _ := filled(b, common.Theme{Dark: true}, 200, 60, MaxEntries)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_ = m.View()
	}
}
