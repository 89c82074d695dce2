package writeflow

import (
	"context"
	"errors"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/tui/common"
	"github.com/stprobe/stprobe/tui/credform"
	"github.com/stprobe/stprobe/tui/guard"
)

// flow is a Flow without a session, as a pane's tests make it.
func flow(w, h int) *Flow {
	f := New(nil, Config{Pane: common.PaneDA, Write: "DA write",
		IsWrite: func(k string) bool { return k == "da regress" }}, WithStateDir("/state"), WithSearchDirs())
	f.SetSize(w, h)
	return &f
}

// status runs cmd and returns the footer message it gives.
func status(t *testing.T, cmd tea.Cmd) common.StatusMsg {
	t.Helper()
	if cmd == nil {
		t.Fatal("no command")
	}
	m, ok := cmd().(common.StatusMsg)
	if !ok {
		t.Fatalf("the command gave %T, want a footer message", cmd())
	}
	return m
}

func TestOptions(t *testing.T) {
	f := flow(80, 24)
	if f.StateDir != "/state" || len(f.SearchDirs) != 0 {
		t.Errorf("state %q, search %q", f.StateDir, f.SearchDirs)
	}
	g := New(nil, Config{}, WithStateDir("/s"))
	if len(g.SearchDirs) != 2 || g.SearchDirs[0] != "/s" {
		t.Errorf("default search dirs %q, want the state directory and the current one", g.SearchDirs)
	}
}

// The view keeps one blank column on the left, the header's, and is
// exactly the size SetSize gave, down to 1×1.
func TestFitKeepsMargin(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {12, 3}, {1, 1}} {
		f := flow(sz[0], sz[1])
		if f.W != sz[0]-Margin {
			t.Errorf("%v: content width %d", sz, f.W)
		}
		v := f.Fit([]string{"abc", strings.Repeat("x", 200)})
		rows := strings.Split(v, "\n")
		if len(rows) != sz[1] {
			t.Fatalf("%v: %d rows", sz, len(rows))
		}
		for i, r := range rows {
			if ansi.StringWidth(r) != sz[0] {
				t.Errorf("%v: row %d is %d wide: %q", sz, i, ansi.StringWidth(r), r)
			}
		}
		if sz[0] > 4 && !strings.HasPrefix(rows[0], " abc") {
			t.Errorf("%v: first row %q", sz, rows[0])
		}
	}
}

// Pinned scrolls the body, says how many lines are below, and keeps the
// footer at the bottom.
func TestPinned(t *testing.T) {
	body := make([]string, 10)
	for i := range body {
		body[i] = "line " + string(rune('a'+i))
	}
	tests := []struct {
		scroll  int
		first   string
		more    string
		scrolls int
	}{
		{0, "line a", "↓ 7 more line(s)", 0},
		{3, "line d", "↓ 4 more line(s)", 3},
		{99, "line g", "", 6}, // kept in range: the last lines
	}
	for _, tt := range tests {
		f := flow(40, 7) // 7 rows: 4 of body, a blank, 2 of footer
		f.Scroll = tt.scroll
		out := f.Pinned(body, []string{"foot 1", "foot 2"})
		if len(out) != 7 || out[5] != "foot 1" || out[6] != "foot 2" || out[4] != "" {
			t.Fatalf("scroll %d: %q", tt.scroll, out)
		}
		if out[0] != tt.first || f.Scroll != tt.scrolls {
			t.Errorf("scroll %d: first %q, scroll now %d", tt.scroll, out[0], f.Scroll)
		}
		if got := ansi.Strip(out[3]); tt.more != "" && !strings.HasPrefix(got, tt.more) {
			t.Errorf("scroll %d: last body row %q, want %q", tt.scroll, got, tt.more)
		}
	}
}

// A step of the same name as the last one replaces it when folded (a
// progress count), and is added otherwise.
func TestAddStep(t *testing.T) {
	f := flow(80, 24)
	f.AddStep(Step{Name: "flash", Message: "10%"}, true)
	f.AddStep(Step{Name: "flash", Message: "50%"}, true)
	f.AddStep(Step{Name: "verify", Message: "ok"}, true)
	f.AddStep(Step{Name: "verify", Message: "again"}, false)
	var got []string
	for _, s := range f.Steps {
		got = append(got, s.Text())
	}
	want := "flash: 50%|verify: ok|verify: again"
	if strings.Join(got, "|") != want {
		t.Errorf("steps %q, want %q", got, want)
	}
	if s := (Step{Name: "program", Message: "OPTSR", Done: 2, Total: 5}).Text(); s != "program: OPTSR (2/5)" {
		t.Errorf("counted step %q", s)
	}
}

// The pane waits for one job at a time; the end of a job is taken once,
// and only while the pane waits.
func TestJobs(t *testing.T) {
	f := flow(80, 24)
	if why := f.RunWhy(); why != "no console session" {
		t.Errorf("without a session: %q", why)
	}
	if f.Finish() {
		t.Error("took the end of a job while waiting for none")
	}
	f.C = common.NewContext(context.Background(), nil, bench.Holder{Name: "bob"}, common.Theme{})
	f.busy = "plan"
	if !f.Running("plan") || f.Running(Apply) || f.Applying() || f.Waiting() != "plan" {
		t.Error("the plan job is not the one waited for")
	}
	if why := f.RunWhy(); why != "this pane is waiting for its plan job" {
		t.Errorf("while waiting: %q", why)
	}
	if !f.Finish() || f.Waiting() != "" || f.Running("plan") {
		t.Error("did not take the end of its job")
	}
	if f.Finish() {
		t.Error("took the same end twice")
	}
	f.busy = Apply
	if !f.Applying() {
		t.Error("the write is not the one waited for")
	}
}

// Another session's write is followed from its start; its end is a
// message in the footer, and the pane's own write is not "watched".
func TestWatch(t *testing.T) {
	alice := bench.Holder{Name: "alice"}
	tests := []struct {
		name    string
		own     bool
		err     error
		watched bool
		footer  string
	}{
		{"another session's write", false, nil, true, "the DA write by alice is done"},
		{"another session's write fails", false, errors.New("refused"), true, "the DA write by alice failed: refused"},
		{"this pane's own write", true, nil, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := flow(80, 24)
			if tt.own {
				f.busy = Apply
			}
			f.Watch(bench.JobStarted{Job: bench.JobInfo{Kind: "da regress", Holder: alice}})
			f.Watch(bench.JobStarted{Job: bench.JobInfo{Kind: "sweep", Holder: alice}})
			if (f.Watching != "") != tt.watched || f.Following() != true {
				t.Fatalf("watching %q, following %v", f.Watching, f.Following())
			}
			f.AddStep(Step{Name: "granted", Message: "full regression"}, false)
			if tt.watched && !strings.Contains(ansi.Strip(f.StatusLine("")), "alice: granted: full regression") {
				t.Errorf("status line %q", ansi.Strip(f.StatusLine("")))
			}
			cmd := f.Watch(bench.JobFinished{Job: bench.JobInfo{Kind: "da regress", Holder: alice}, Err: tt.err})
			if tt.footer == "" {
				if cmd != nil {
					t.Errorf("a message for the pane's own write: %+v", cmd())
				}
				return
			}
			if m := status(t, cmd); !strings.Contains(m.Text, tt.footer) || m.Err != (tt.err != nil) {
				t.Errorf("footer %+v, want %q", m, tt.footer)
			}
			if f.Watching != "" {
				t.Error("still watching after the end")
			}
		})
	}
}

// A message goes to the footer only: the status line shows what runs,
// or the pane's idle text.
func TestMessageInOnePlace(t *testing.T) {
	f := flow(80, 24)
	if m := status(t, f.Say("plan ready")); m.Text != "plan ready" || m.Err {
		t.Errorf("say: %+v", m)
	}
	if m := status(t, f.Unavailable("apply", "no lease")); m.Text != "cannot apply: no lease" || !m.Err {
		t.Errorf("unavailable: %+v", m)
	}
	if got := f.StatusLine("idle"); got != "idle" {
		t.Errorf("status line after messages %q, want the idle text", got)
	}
	f.busy, f.doing = "plan", "planning…"
	if got := ansi.Strip(f.StatusLine("idle")); got != "⟳ planning…" {
		t.Errorf("status line while planning %q", got)
	}
}

// The guard opens under the plan when it fits there, else in the middle.
func TestWithGuard(t *testing.T) {
	for _, tt := range []struct {
		name     string
		h, body  int
		underTop bool
	}{
		{"room under the plan", 40, 5, true},
		{"no room", 24, 18, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := flow(100, tt.h)
			body := make([]string, tt.body)
			for i := range body {
				body[i] = "plan line"
			}
			lines := f.Pinned(body, []string{"footer"})
			f.Guard = guard.New(nil, guard.Dialog{Title: "GUARD", Plan: &bench.WritePlan{Phrase: "do it", Risk: bench.RiskIrreversible}})
			out := f.WithGuard(lines)
			top := -1
			for i, l := range out {
				if strings.Contains(l, "GUARD") {
					top = i - 1 // the frame's top is the row above
					break
				}
			}
			if top < 0 {
				t.Fatalf("no guard drawn:\n%s", strings.Join(out, "\n"))
			}
			if tt.underTop && top != tt.body+1 {
				t.Errorf("guard at row %d, want %d (under the plan)", top, tt.body+1)
			}
			if tt.underTop {
				for i := range tt.body {
					if !strings.Contains(out[i], "plan line") {
						t.Errorf("plan row %d hidden: %q", i, out[i])
					}
				}
			}
			if len(out) != tt.h {
				t.Errorf("%d rows, want %d", len(out), tt.h)
			}
		})
	}
}

// The shared keys of the plan and run screens: scrolling, and back to
// the pane's main screen, refused while the write runs.
func TestScreenKey(t *testing.T) {
	f := flow(80, 24)
	k := func(s string) tea.KeyPressMsg { return tea.KeyPressMsg{Code: rune(s[0]), Text: s} }
	f.Screen = Plan
	for _, s := range []string{"j", "j", "k"} {
		if _, ok := f.ScreenKey(k(s)); !ok {
			t.Fatalf("%s not taken", s)
		}
	}
	if f.Scroll != 1 {
		t.Errorf("scroll %d", f.Scroll)
	}
	if _, ok := f.ScreenKey(k("x")); ok {
		t.Error("x taken")
	}
	f.Screen, f.busy = Run, Apply
	cmd, _ := f.ScreenKey(tea.KeyPressMsg{Code: tea.KeyEscape})
	if f.Screen != Run || !status(t, cmd).Err {
		t.Error("esc left the run screen while the write runs")
	}
	f.busy = ""
	f.ScreenKey(tea.KeyPressMsg{Code: tea.KeyEscape})
	if f.Screen != Main || f.Scroll != 0 {
		t.Errorf("esc after the write: screen %v scroll %d", f.Screen, f.Scroll)
	}
}

// A credential form's keys: esc gives up, enter goes on with the checked
// values, or says what is wrong and keeps the form.
func TestFormKey(t *testing.T) {
	enter, esc := tea.KeyPressMsg{Code: tea.KeyEnter}, tea.KeyPressMsg{Code: tea.KeyEscape}
	tests := []struct {
		name      string
		part      string
		wantPart  string
		key       tea.KeyPressMsg
		cancelled bool
		submitted bool
		text      string
		err       bool
	}{
		{"esc", "", "", esc, true, false, "given up", false},
		{"enter, checked", "STM32H573", "H573", enter, false, true, "submitted", false},
		{"enter, a bad part", "no such part", "", enter, false, false, "", true},
		{"typing", "", "", tea.KeyPressMsg{Code: 'a', Text: "a"}, false, false, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := flow(80, 24)
			form := credform.New("test", credform.Options{}, credform.Part)
			form.Set(credform.Part, tc.part)
			var cancelled bool
			var got *credform.Values
			cmd := f.FormKey(form, tc.key, func() string {
				cancelled = true
				return "given up"
			}, func(v *credform.Values) tea.Cmd {
				got = v
				return f.Say("submitted")
			})
			if cancelled != tc.cancelled || (got != nil) != tc.submitted {
				t.Fatalf("cancelled %v, submitted %v; want %v, %v", cancelled, got != nil, tc.cancelled, tc.submitted)
			}
			if got != nil && got.Part != tc.wantPart {
				t.Errorf("part %q, want %q", got.Part, tc.wantPart)
			}
			if tc.text == "" && !tc.err {
				if cmd != nil {
					if m, ok := cmd().(common.StatusMsg); ok {
						t.Errorf("typing gave a footer message %+v", m)
					}
				}
				return
			}
			m := status(t, cmd)
			if m.Err != tc.err || (tc.text != "" && m.Text != tc.text) {
				t.Errorf("footer %+v, want text %q err %v", m, tc.text, tc.err)
			}
		})
	}
}

// The session's messages reach the pane's handlers: the end of the job it
// waits for (once), every event, and the requests for this pane only.
func TestRoute(t *testing.T) {
	f := flow(80, 24)
	var got []string
	h := Handlers{
		JobDone: func(m tea.Msg) tea.Cmd { got = append(got, "done "+m.(string)); return nil },
		Event:   func(bench.Event) tea.Cmd { got = append(got, "event"); return nil },
		Request: func(r any) tea.Cmd { got = append(got, "request "+r.(string)); return nil },
	}
	if cmd := f.Route(common.JobDoneMsg{Msg: "early"}, h); cmd != nil || len(got) != 0 {
		t.Errorf("a job's end while waiting for none: handled %q", got)
	}
	f.busy = "plan"
	for _, msg := range []tea.Msg{
		common.JobDoneMsg{From: common.PaneDA, Msg: "planned"},
		common.JobDoneMsg{From: common.PaneDA, Msg: "again"}, // no longer waited for
		common.EventMsg{Event: bench.Dropped{}},
		common.OpenPaneMsg{Pane: common.PaneOptionBytes, Request: "ob"},
		common.OpenPaneMsg{Pane: common.PaneDA, Request: "da"},
		tea.KeyPressMsg{Code: 'x', Text: "x"},
	} {
		if cmd := f.Route(msg, h); cmd != nil {
			t.Errorf("%T gave a command", msg)
		}
	}
	want := []string{"done planned", "event", "request da"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("handled %q, want %q", got, want)
	}
	// without handlers the messages are dropped, the job still ends
	f.busy = "read"
	for _, msg := range []tea.Msg{common.JobDoneMsg{Msg: "read"}, common.EventMsg{Event: bench.Dropped{}},
		common.OpenPaneMsg{Pane: common.PaneDA}} {
		if cmd := f.Route(msg, Handlers{}); cmd != nil {
			t.Errorf("%T gave a command without handlers", msg)
		}
	}
	if f.Waiting() != "" {
		t.Errorf("still waiting for %q", f.Waiting())
	}
}
