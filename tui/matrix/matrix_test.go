package matrix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/sirupsen/logrus"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/sweep"
	"github.com/stprobe/stprobe/tui/common"
	"github.com/stprobe/stprobe/tui/internal/tuitest"
)

// swept is a matrix pane on the seed board after a whole sweep.
func swept(t testing.TB, w, h int) (*Model, *common.Context) {
	b := tuitest.Open(t, tuitest.Seed)
	c := tuitest.Context(t, b, "alice", common.Theme{Dark: true})
	_, sub := b.Subscribe(0)
	defer sub.Close()
	m := New(c)
	m.SetSize(w, h)
	msgs := tuitest.Run(sweepCmd(t, m))
	if len(msgs) != 1 {
		t.Fatalf("the sweep command gave %d messages, want 1", len(msgs))
	}
	if done := msgs[0].(common.JobDoneMsg); done.Err != nil {
		t.Fatalf("sweep: %v", done.Err)
	}
	p, _ := tuitest.Drain(c, sub, m)
	return p.(*Model), c
}

// sweepCmd is the command that runs the sweep s asks for (after its plan).
func sweepCmd(t testing.TB, m *Model) tea.Cmd {
	t.Helper()
	msgs := tuitest.Run(m.startSweep())
	if len(msgs) != 1 {
		t.Fatalf("s gave %v, want the plan", msgs)
	}
	_, cmd := m.Update(msgs[0])
	return cmd
}

func TestGridFillsLive(t *testing.T) {
	b := tuitest.Open(t, tuitest.Seed)
	c := tuitest.Context(t, b, "alice", common.Theme{})
	m := New(c)
	m.SetSize(80, 18)
	plan := sweep.DefaultPlan(b.SWDFrequencies())
	m.begin(plan)
	if len(m.rows) != 6 || len(m.cols) != len(plan.FrequenciesKHz) {
		t.Fatalf("grid %d×%d before the first cell, want 6×%d", len(m.rows), len(m.cols), len(plan.FrequenciesKHz))
	}
	k := plan.Keys()[0]
	m.Update(common.EventMsg{Event: bench.SweepCell{Progress: sweep.Progress{Index: 0, Total: 30, Cell: sweep.Cell{Key: k}}}})
	if !strings.Contains(m.View(), "▶ trying") {
		t.Errorf("the cell being tried is not marked:\n%s", m.View())
	}
	m.Update(common.EventMsg{Event: bench.SweepCell{Progress: sweep.Progress{Index: 0, Total: 30, Done: true,
		Cell: sweep.Cell{Key: k, Outcome: sweep.OutcomeNoAck, Reason: "no answer"}}}})
	v := tuitest.Plain(m.View())
	if !strings.Contains(v, "✖ no-ack") || !strings.Contains(v, "1/30") {
		t.Errorf("the finished cell or the progress is missing:\n%s", v)
	}
}

func TestSweepOnSeedBoard(t *testing.T) {
	m, _ := swept(t, 80, 18)
	if m.matrix == nil || len(m.matrix.Cells) != 30 {
		t.Fatalf("matrix not loaded from the bench's state")
	}
	if m.live {
		t.Error("still live after the sweep finished")
	}
	if len(m.findings) == 0 || m.findings[0].Rule != "provisioning" {
		t.Fatalf("findings %+v, want provisioning first", m.findings)
	}
	k := sweep.Key{Mode: probe.ModeHotPlug, AP: 1, KHz: m.cols[0]}
	m.selR, m.selC = 3, 0
	if got, _ := m.Selected(); got != k {
		t.Fatalf("selected %v, want %v", got, k)
	}
	v := tuitest.Plain(m.View())
	for _, want := range []string{"Hot Plug on AP1", "PROVISIONING", "‼ PROVISIONING"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
}

func TestFindingActions(t *testing.T) {
	m, _ := swept(t, 80, 18)
	m.Update(tuitest.Key("f"))
	if m.area != areaFindings {
		t.Fatal("f did not move to the findings")
	}
	acts := m.actions(m.findings[0])
	var labels []string
	for _, a := range acts {
		labels = append(labels, a.Label)
	}
	if len(acts) == 0 || acts[0].Label != "Plan TZEN=0xC3" {
		t.Fatalf("actions %q, want Plan TZEN=0xC3 first", labels)
	}
	_, cmd := m.Update(tuitest.Key("enter"))
	msgs := tuitest.Run(cmd)
	if len(msgs) != 1 {
		t.Fatalf("enter gave %v", msgs)
	}
	open, ok := msgs[0].(common.OpenPaneMsg)
	req, ok2 := open.Request.(common.PlanRequest)
	if !ok || !ok2 || open.Pane != common.PaneOptionBytes || len(req.Assignments) != 1 || req.Assignments[0] != "TZEN=0xC3" {
		t.Fatalf("enter gave %#v, want the option-byte pane with TZEN=0xC3", msgs[0])
	}
	m.Update(tuitest.Key("right"))
	_, cmd = m.Update(tuitest.Key("enter"))
	msgs = tuitest.Run(cmd)
	if open, ok := msgs[0].(common.OpenPaneMsg); !ok || open.Pane != common.PaneDA {
		t.Fatalf("the second action gave %#v, want the DA pane", msgs[0])
	}
}

func TestUnavailableSaysWhy(t *testing.T) {
	b := tuitest.Open(t, tuitest.Seed)
	tuitest.Context(t, b, "alice", common.Theme{}) // alice holds the probe
	c := common.NewContext(context.Background(), b, bench.Holder{Name: "bob"}, common.Theme{})
	m := New(c)
	m.SetSize(80, 18)
	_, cmd := m.Update(tuitest.Key("s"))
	msgs := tuitest.Run(cmd)
	st, ok := msgs[0].(common.StatusMsg)
	if !ok || !st.Err || st.Text != "another session holds the probe: alice" {
		t.Fatalf("s without the lease gave %#v", msgs)
	}
	if !strings.Contains(tuitest.Plain(m.View()), "another session holds the probe: alice") {
		t.Errorf("the empty pane does not say why it cannot sweep:\n%s", tuitest.Plain(m.View()))
	}
}

func TestCancelThenSweepAgain(t *testing.T) {
	b := tuitest.Open(t, tuitest.Seed)
	c := tuitest.Context(t, b, "alice", common.Theme{})
	_, sub := b.Subscribe(0)
	defer sub.Close()
	m := New(c)
	m.SetSize(80, 18)
	// stop the sweep half-way (six cells tried on this board, the rest
	// implied): the 60th probe transfer waits until the
	// user has pressed x.
	reached, pressed := make(chan struct{}), make(chan struct{})
	b.Log().SetLevel(logrus.TraceLevel)
	b.Log().AddHook(&pauseHook{at: 60, reached: reached, resume: pressed})
	cmd := sweepCmd(t, m)
	res := make(chan tea.Msg, 1)
	go func() { res <- cmd() }()
	<-reached
	tuitest.Drain(c, sub, m)
	if !m.live || m.done == 0 || m.done >= 30 {
		t.Fatalf("half-way: live %v, %d cells done", m.live, m.done)
	}
	if _, cmd := m.Update(tuitest.Key("x")); cmd == nil {
		t.Fatal("x gave nothing")
	}
	close(pressed)
	done := (<-res).(common.JobDoneMsg)
	if !errors.Is(done.Err, context.Canceled) {
		t.Fatalf("cancelled sweep ended with %v", done.Err)
	}
	tuitest.Drain(c, sub, m)
	if m.live || m.matrix == nil || !m.matrix.Cancelled {
		t.Fatalf("after the cancel: live %v, matrix %v", m.live, m.matrix)
	}
	if !strings.Contains(tuitest.Plain(m.View()), "cancelled: partial") {
		t.Errorf("the partial matrix is not marked:\n%s", tuitest.Plain(m.View()))
	}
	msgs := tuitest.Run(sweepCmd(t, m))
	if done := msgs[0].(common.JobDoneMsg); done.Err != nil {
		t.Fatalf("the sweep after a cancel: %v", done.Err)
	}
	tuitest.Drain(c, sub, m)
	if m.matrix.Cancelled || m.matrix.Count(sweep.OutcomeSkipped) != 0 {
		t.Error("the sweep after a cancel is partial")
	}
}

func TestExport(t *testing.T) {
	m, _ := swept(t, 80, 18)
	dir := t.TempDir()
	for _, tc := range []struct{ name, want string }{
		{"m.md", "|"}, {"m.json", "{"}, {"m.csv", "mode"},
	} {
		path := filepath.Join(dir, tc.name)
		m.Update(tuitest.Key("e"))
		if !m.Capturing() {
			t.Fatal("e did not ask for a file name")
		}
		m.export.Ask("export to: ", path)
		_, cmd := m.Update(tuitest.Key("enter"))
		msgs := tuitest.Run(cmd)
		_, cmd = m.Update(msgs[0])
		st := tuitest.Run(cmd)[0].(common.StatusMsg)
		if st.Err {
			t.Fatalf("export %s: %s", tc.name, st.Text)
		}
		data, err := os.ReadFile(path)
		if err != nil || !strings.Contains(string(data), tc.want) {
			t.Errorf("%s: %v, %.80q", tc.name, err, data)
		}
		if tc.name == "m.json" && !json.Valid(data) {
			t.Errorf("%s is not JSON", tc.name)
		}
	}
	m.Update(tuitest.Key("e"))
	m.Update(tuitest.Key("esc"))
	if m.Capturing() {
		t.Error("esc did not leave the file name")
	}
}

func TestMouseSelectsCell(t *testing.T) {
	m, _ := swept(t, 80, 18)
	m.View()
	// row 2 of the grid (Normal AP1), the third clock column
	x := 1 + labelW + 1 + 2*cellW + 2
	m.Update(tea.MouseClickMsg{X: x, Y: 2, Button: tea.MouseLeft})
	if m.selR != 1 || m.selC != 2 {
		t.Errorf("click selected row %d col %d, want 1, 2", m.selR, m.selC)
	}
}

func TestGolden(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{80, 18}, {160, 42}} {
		m, _ := swept(t, sz.w, sz.h)
		name := func(s string) string { return fmt.Sprintf("%s-%dx%d", s, sz.w, sz.h) }
		tuitest.Golden(t, name("swept"), m.View())
		m.Update(tuitest.Key("f"))
		tuitest.Golden(t, name("findings"), m.View())

		b := tuitest.Open(t, tuitest.Seed)
		e := New(tuitest.Context(t, b, "alice", common.Theme{}))
		e.SetSize(sz.w, sz.h)
		tuitest.Golden(t, name("empty"), e.View())
	}
}

func TestNoColour(t *testing.T) {
	b := tuitest.Open(t, tuitest.Seed)
	c := tuitest.Context(t, b, "alice", common.Theme{NoColor: true})
	_, sub := b.Subscribe(0)
	defer sub.Close()
	m := New(c)
	m.SetSize(160, 42)
	tuitest.Run(sweepCmd(t, m))
	tuitest.Drain(c, sub, m)
	for _, v := range []string{m.View(), func() string { m.Update(tuitest.Key("f")); return m.View() }()} {
		if esc := tuitest.ColourEscapes(v); len(esc) > 0 {
			t.Fatalf("NO_COLOR view has colour escapes %q", esc)
		}
	}
}

func BenchmarkView(b *testing.B) {
	m, _ := swept(b, 200, 60)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_ = m.View()
	}
}

// pauseHook holds the at-th probe transfer until resume is closed.
type pauseHook struct {
	n, at           int
	reached, resume chan struct{}
}

func (h *pauseHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h *pauseHook) Fire(e *logrus.Entry) error {
	if _, ok := e.Data["cmd"]; !ok {
		return nil
	}
	h.n++
	if h.n == h.at {
		close(h.reached)
		<-h.resume
	}
	return nil
}

func TestObserverSeesAnotherSessionsSweep(t *testing.T) {
	b := tuitest.Open(t, tuitest.Seed)
	alice := tuitest.Context(t, b, "alice", common.Theme{})
	bob := common.NewContext(context.Background(), b, bench.Holder{Name: "bob"}, common.Theme{})
	_, sub := b.Subscribe(0)
	defer sub.Close()
	watcher := New(bob)
	watcher.SetSize(80, 18)
	if _, err := b.Sweep(context.Background(), alice.Token(), bench.SweepRequest{}); err != nil {
		t.Fatal(err)
	}
	tuitest.Drain(bob, sub, watcher)
	if len(watcher.rows) != 6 || len(watcher.cols) != 5 || len(watcher.cells) != 30 {
		t.Fatalf("bob's grid: %d rows, %d columns, %d cells", len(watcher.rows), len(watcher.cols), len(watcher.cells))
	}
	if watcher.live || len(watcher.findings) == 0 {
		t.Errorf("bob's pane: live %v, %d findings", watcher.live, len(watcher.findings))
	}
	if acts := watcher.actions(watcher.findings[0]); len(acts) == 0 {
		t.Error("no actions offered to the observer")
	} else if why := acts[len(acts)-1].Unavailable(); why != "" && !strings.Contains(why, "alice") {
		t.Errorf("the observer's unavailable action says %q", why)
	}
}

// At 80×24 (a pane of 18 rows) the seed board's finding does not fit: its
// "never" warning is pinned under the title whatever the scroll, the rest
// scrolls with pgdn to its last words, and its buttons stay; at 200×60 the
// whole detail is shown beside the grid.
func TestFindingsScrollAndWarningsStay(t *testing.T) {
	m, _ := swept(t, 80, 18)
	m.Update(tuitest.Key("f"))
	const never = "Never write PRODUCT_STATE 0xC6 (TZ_CLOSED) or 0x72 (CLOSED) now"
	last := "because it is still in"
	first := tuitest.Plain(m.View())
	if !strings.Contains(first, never) || strings.Contains(first, last) || !strings.Contains(first, "pgup/pgdn scroll") {
		t.Fatalf("the first screen of the finding:\n%s", first)
	}
	for i := 0; i < 4; i++ {
		m.Update(tuitest.Key("pgdown"))
	}
	end := tuitest.Plain(m.View())
	for _, want := range []string{never, last, "[ Plan TZEN=0xC3 ]"} {
		if !strings.Contains(end, want) {
			t.Errorf("scrolled to the end, the finding lacks %q:\n%s", want, end)
		}
	}
	m.Update(tuitest.Key("pgup"))
	m.Update(tuitest.Key("pgup"))
	m.Update(tuitest.Key("pgup"))
	m.Update(tuitest.Key("pgup"))
	if back := tuitest.Plain(m.View()); back != first {
		t.Errorf("pgup back to the top:\n%s", back)
	}
	big, _ := swept(t, 200, 54)
	if v := tuitest.Plain(big.View()); !strings.Contains(strings.Join(strings.Fields(v), " "), "The chip can still be saved") {
		t.Errorf("200×60 lacks the finding's detail:\n%s", v)
	}
}

// e in the findings draws the file-name prompt there too.
func TestExportPromptInFindings(t *testing.T) {
	m, _ := swept(t, 80, 18)
	m.Update(tuitest.Key("f"))
	m.Update(tuitest.Key("e"))
	if !m.export.IsOpen() {
		t.Fatal("e did not start the export")
	}
	before := tuitest.Plain(m.View())
	m.Update(tuitest.Key("x"))
	if after := tuitest.Plain(m.View()); after == before {
		t.Errorf("typing in the export prompt changes nothing on the findings screen:\n%s", after)
	}
}
