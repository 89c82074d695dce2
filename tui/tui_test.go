package tui

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/probe/sweep"
	"github.com/stprobe/stprobe/tui/common"
	"github.com/stprobe/stprobe/tui/internal/tuitest"
)

// console is a root model on b as name, sized w×h, with the bench's
// events so far applied.
func console(t testing.TB, b *bench.Bench, name string, w, h int, o Options) *Model {
	t.Helper()
	if o.StateDir == "" {
		o.StateDir = t.TempDir()
	}
	m := New(context.Background(), b, bench.Holder{Name: name, Session: "test"}, o)
	t.Cleanup(m.Close)
	m.statusFor = 0
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	pump(m)
	return m
}

// pump applies every bench event waiting for m (the commands the events
// give, other than the next wait, are dropped).
func pump(m *Model) {
	now, stop := context.WithCancel(context.Background())
	stop()
	var evs eventsMsg
	for {
		ev, err := m.sub.Next(now)
		if err != nil {
			break
		}
		evs = append(evs, ev)
	}
	if len(evs) > 0 {
		m.Update(evs)
	}
}

// press sends a key and runs what it asks for (jobs included), feeding the
// results back; then applies the bench's events.
func press(m *Model, k string) {
	_, cmd := m.Update(tuitest.Key(k))
	feed(m, cmd)
}

// feed runs cmd and hands its messages back to m, one level deep.
func feed(m *Model, cmd tea.Cmd) {
	for _, msg := range tuitest.Run(cmd) {
		if _, ok := msg.(clearStatusMsg); ok {
			continue
		}
		_, next := m.Update(msg)
		pump(m)
		for _, msg := range tuitest.Run(next) {
			if _, ok := msg.(eventsMsg); ok {
				continue
			}
			m.Update(msg)
		}
	}
	pump(m)
}

// identify runs the start-up identification the program would run.
func identify(m *Model) {
	feed(m, m.identify())
}

func TestLeaseObserverAskRelease(t *testing.T) {
	b := tuitest.Open(t, tuitest.Seed)
	alice := console(t, b, "alice", 80, 24, Options{})
	bob := console(t, b, "bob", 80, 24, Options{})
	pump(alice)
	if !alice.c.HasLease() || bob.c.HasLease() {
		t.Fatalf("alice holds %v, bob holds %v; want alice only", alice.c.HasLease(), bob.c.HasLease())
	}
	if v := tuitest.Plain(bob.Render()); !strings.Contains(v, "alice holds the probe") {
		t.Errorf("bob's screen does not say who holds the probe:\n%s", v)
	}
	press(bob, "s")
	if !bob.statusErr || bob.status != "another session holds the probe: alice" {
		t.Errorf("bob's sweep: status %q", bob.status)
	}
	press(bob, "L") // ask
	pump(alice)
	if !strings.Contains(alice.status, "bob asks for the probe") {
		t.Errorf("alice was not told bob asks: %q", alice.status)
	}
	press(alice, "L") // release
	pump(bob)
	if alice.c.HasLease() {
		t.Fatal("alice still holds the probe after L")
	}
	press(bob, "L") // take
	if !bob.c.HasLease() {
		t.Fatalf("bob could not take the free probe: %q", bob.status)
	}
	bob.Close()
	pump(alice)
	if l := alice.c.Snapshot().Lease; l != nil {
		t.Errorf("bob's session ended but %v holds the lease", l.Holder)
	}
}

// An observer (a read-only session) never takes the probe; its badge says
// "observer"; its footer offers nothing it cannot do (no sweep, no DA
// discovery, no export, no finding's step); L asks the holder, and a
// probe handed to it is given back at once.
func TestObserverSession(t *testing.T) {
	b := tuitest.Open(t, tuitest.Seed)
	eve := console(t, b, "eve", 80, 24, Options{ReadOnly: true})
	press(eve, "L")
	if eve.c.HasLease() || !strings.Contains(eve.status, "only observes") {
		t.Errorf("observer on a free probe: lease %v, status %q", eve.c.HasLease(), eve.status)
	}
	alice := console(t, b, "alice", 160, 48, Options{})
	identify(alice)
	press(alice, "s")
	pump(eve)
	eve.statusFor, eve.status = 0, ""
	v := tuitest.Plain(eve.Render())
	footer := lastLine(v)
	if !strings.Contains(v, "observer · alice holds") {
		t.Errorf("the observer's badge:\n%s", v)
	}
	for _, never := range []string{"s sweep", "D DA discovery", "e export", "take the step"} {
		if strings.Contains(footer, never) {
			t.Errorf("the observer's footer offers %q: %s", never, footer)
		}
	}
	if !strings.Contains(footer, "? help") {
		t.Errorf("footer %q", footer)
	}
	press(eve, "f")
	if footer := lastLine(tuitest.Plain(eve.Render())); strings.Contains(footer, "take the step") {
		t.Errorf("in the findings the observer's footer offers the step: %s", footer)
	}
	press(eve, "L") // ask
	pump(alice)
	if !strings.Contains(alice.status, "eve asks for the probe") {
		t.Fatalf("alice was not told eve asks: %q", alice.status)
	}
	press(alice, "H") // hand over: eve gives it back
	pump(eve)
	pump(alice)
	if eve.c.HasLease() || b.Snapshot().Lease != nil || !strings.Contains(eve.status, "only observes: released it") {
		t.Errorf("after the hand-over: eve holds %v, lease %v, eve's status %q", eve.c.HasLease(), b.Snapshot().Lease, eve.status)
	}
}

// lastLine is the last line of a screen.
func lastLine(s string) string {
	l := strings.Split(strings.TrimRight(s, "\n "), "\n")
	return l[len(l)-1]
}

func TestNavigation(t *testing.T) {
	b := tuitest.Open(t, tuitest.Seed)
	m := console(t, b, "alice", 80, 24, Options{})
	steps := []struct {
		key  string
		want int
	}{{"tab", 1}, {"tab", 2}, {"shift+tab", 1}, {"4", 3}, {"tab", 4}, {"tab", 0}, {"shift+tab", 4}, {"5", 4}, {"3", 2}, {"1", 0}}
	for _, s := range steps {
		press(m, s.key)
		if m.focus != s.want {
			t.Fatalf("after %s: pane %d, want %d", s.key, m.focus, s.want)
		}
	}
	m.Render()
	tab := m.tabs[3]
	m.Update(tea.MouseClickMsg{X: tab.x0 + 1, Y: len(m.headerLines), Button: tea.MouseLeft})
	if m.focus != 3 {
		t.Errorf("click on the fourth tab: pane %d", m.focus)
	}
	press(m, "?")
	if !m.showHelp || !strings.Contains(tuitest.Plain(m.Render()), "take / ask for") {
		t.Fatalf("? did not show the full help:\n%s", tuitest.Plain(m.Render()))
	}
	press(m, "esc")
	if m.showHelp {
		t.Error("esc did not close the help")
	}
}

func TestOpenPaneWithRequest(t *testing.T) {
	b := tuitest.Open(t, tuitest.Seed)
	m := console(t, b, "alice", 80, 24, Options{})
	m.Update(common.OpenPaneMsg{Pane: common.PaneLog})
	if m.focus != int(common.PaneLog) {
		t.Errorf("OpenPaneMsg to the log: pane %d", m.focus)
	}
}

// A job's end goes to the pane that started it and to no other: the end
// of the matrix's sweep, said to come from the DA pane, leaves the matrix
// as it was; from the matrix, the matrix takes it.
func TestJobDoneGoesToItsPane(t *testing.T) {
	b := tuitest.Open(t, tuitest.Seed)
	m := console(t, b, "alice", 120, 40, Options{})
	mx := m.panes[common.PaneMatrix]
	_, cmd := mx.Update(tuitest.Key("s"))
	plan := tuitest.Run(cmd)
	if len(plan) != 1 {
		t.Fatalf("s gave %v, want the sweep's plan", plan)
	}
	_, cmd = mx.Update(plan[0])
	msgs := tuitest.Run(cmd)
	done, ok := msgs[0].(common.JobDoneMsg)
	if len(msgs) != 1 || !ok || done.From != common.PaneMatrix || done.Err != nil {
		t.Fatalf("the sweep gave %#v, want the matrix's end of its job", msgs)
	}
	pump(m)
	swept := func() bool { return strings.Contains(m.status, "sweep done") }
	done.From = common.PaneDA
	_, cmd = m.Update(done)
	feed(m, cmd)
	if swept() {
		t.Fatalf("the matrix took another pane's job's end: status %q", m.status)
	}
	done.From = common.PaneMatrix
	_, cmd = m.Update(done)
	feed(m, cmd)
	if !swept() {
		t.Errorf("the matrix did not take its own job's end: status %q", m.status)
	}
}

func TestSeedStory(t *testing.T) {
	b := tuitest.Open(t, tuitest.Seed)
	m := console(t, b, "alice", 80, 24, Options{})
	identify(m)
	if s := m.c.Snapshot(); s.Chip == nil || !s.HasState {
		t.Fatalf("identification: chip %v, state read %v (%s)", s.Chip, s.HasState, m.status)
	}
	press(m, "s")
	v := tuitest.Plain(m.Render())
	for _, want := range []string{"SIMULATED h533-provisioning", "PROVISIONING", "TZEN enabled (0xB4)", "DA not provisioned", "‼ PROVISIONING"} {
		if !strings.Contains(v, want) {
			t.Errorf("after the sweep the screen lacks %q:\n%s", want, v)
		}
	}
	press(m, "f")
	press(m, "enter") // Plan TZEN=0xC3
	if m.focus != int(common.PaneOptionBytes) {
		t.Errorf("the finding's first step did not open the option-byte pane (pane %d)", m.focus)
	}
	// apply: the message shows once, in the footer, not in the pane too
	press(m, "a")
	pump(m)
	v = tuitest.Plain(m.Render())
	if n := strings.Count(v, "option bytes applied"); n != 1 || !strings.Contains(tuitest.Plain(m.footer()), "option bytes applied") {
		t.Errorf("\"option bytes applied\" shows %d times, want once in the footer:\n%s", n, v)
	}
	press(m, "esc")
	if v := tuitest.Plain(m.Render()); strings.Count(v, "option bytes applied") != 1 {
		t.Errorf("on the table the message shows again:\n%s", v)
	}
}

func TestScreens(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{80, 24}, {160, 48}} {
		b := tuitest.Open(t, tuitest.Seed)
		m := console(t, b, "alice", sz.w, sz.h, Options{NoIdentify: true})
		name := func(s string) string { return fmt.Sprintf("%s-%dx%d", s, sz.w, sz.h) }
		tuitest.Golden(t, name("start"), m.Render())
		identify(m)
		press(m, "s")
		m.status = ""
		tuitest.Golden(t, name("matrix"), m.Render())
		press(m, "4")
		for _, k := range []string{"F", "l", "e", "a", "s", "e", "enter"} {
			m.Update(tuitest.Key(k)) // typing: the cursor's blink is not run
		}
		tuitest.Golden(t, name("log"), m.Render())
		press(m, "1")
		press(m, "?")
		tuitest.Golden(t, name("help"), m.Render())
	}
}

func TestNoColor(t *testing.T) {
	b := tuitest.Open(t, tuitest.Seed)
	m := console(t, b, "alice", 160, 48, Options{Env: []string{"NO_COLOR=1"}})
	identify(m)
	press(m, "s")
	screens := map[string]string{}
	for i := range m.panes {
		m.setFocus(i)
		screens[m.panes[i].Title()] = m.Render()
	}
	m.showHelp = true
	screens["help"] = m.Render()
	m.showHelp = false
	b.Simulated().Inject(sim.Fault{Kind: sim.FaultUnplug})
	m.setFocus(0)
	press(m, "s")
	screens["gone"] = m.Render()
	for name, s := range screens {
		if esc := tuitest.ColourEscapes(s); len(esc) > 0 {
			t.Errorf("NO_COLOR screen %s has colour escapes %q", name, esc[:min(3, len(esc))])
		}
	}
	// and with colour, the same screens do have colour (the check works)
	c := console(t, b, "bob", 160, 48, Options{})
	if len(tuitest.ColourEscapes(c.Render())) == 0 {
		t.Error("the coloured screen has no colour escapes: the check is broken")
	}
}

func TestNoColorFromClientEnvironment(t *testing.T) {
	b := tuitest.Open(t, tuitest.Seed)
	m := console(t, b, "alice", 80, 24, Options{})
	m.Update(tea.EnvMsg{"TERM=xterm-256color", "NO_COLOR=1"})
	if esc := tuitest.ColourEscapes(m.Render()); len(esc) > 0 {
		t.Errorf("NO_COLOR from the session's environment ignored: %q", esc[:min(3, len(esc))])
	}
}

func TestProbeGone(t *testing.T) {
	b := tuitest.Open(t, tuitest.Seed)
	m := console(t, b, "alice", 80, 24, Options{})
	identify(m)
	b.Simulated().Inject(sim.Fault{Kind: sim.FaultUnplug})
	press(m, "s")
	v := tuitest.Plain(m.Render())
	if !strings.Contains(v, "PROBE GONE") {
		t.Fatalf("no banner after the probe went away:\n%s", v)
	}
	press(m, "4")
	if m.focus != 3 {
		t.Error("the console stopped taking keys after the probe went away")
	}
	press(m, "1")
	press(m, "s")
	if !strings.Contains(m.status, "the probe went away") {
		t.Errorf("a sweep after the probe went away: status %q", m.status)
	}
}

// TestSweepTimeWithConsole checks that a console following the bench (a
// real program, drawing every frame) does not change the sweep's modelled
// time.
func TestSweepTimeWithConsole(t *testing.T) {
	plain := tuitest.Open(t, tuitest.Seed)
	tok, err := plain.Acquire(bench.Holder{Name: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	want, err := plain.Sweep(context.Background(), tok, bench.SweepRequest{})
	if err != nil {
		t.Fatal(err)
	}

	b := tuitest.Open(t, tuitest.Seed)
	m := New(context.Background(), b, bench.Holder{Name: "alice"}, Options{NoIdentify: true})
	defer m.Close()
	p := tea.NewProgram(m, tea.WithInput(nil), tea.WithOutput(io.Discard), tea.WithWindowSize(200, 60),
		tea.WithoutSignals(), tea.WithEnvironment([]string{"TERM=xterm-256color"}))
	done := make(chan error, 1)
	go func() { _, err := p.Run(); done <- err }()
	got, err := b.Sweep(context.Background(), m.c.Token(), bench.SweepRequest{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the console draw the end
	p.Quit()
	if err := <-done; err != nil {
		t.Fatalf("console: %v", err)
	}
	if got.Matrix.Wire != want.Matrix.Wire {
		t.Errorf("modelled sweep time %v with the console, %v without", got.Matrix.Wire, want.Matrix.Wire)
	}
	for i := range got.Matrix.Cells {
		if g, w := got.Matrix.Cells[i], want.Matrix.Cells[i]; g.Wire != w.Wire || g.Outcome != w.Outcome {
			t.Errorf("cell %v: %v %v with the console, %v %v without", g.Key, g.Outcome, g.Wire, w.Outcome, w.Wire)
		}
	}
	if got.Matrix.Count(sweep.OutcomeOK) == 0 {
		t.Error("no cell connected")
	}
}

func BenchmarkRender(b *testing.B) {
	bn := tuitest.Open(b, tuitest.Seed)
	m := console(b, bn, "alice", 200, 60, Options{})
	identify(m)
	press(m, "s")
	for i, p := range m.panes {
		b.Run(p.Title(), func(b *testing.B) {
			m.setFocus(i)
			b.ReportAllocs()
			for b.Loop() {
				_ = m.Render()
			}
		})
	}
}

func TestSessionEndReleasesLease(t *testing.T) {
	b := tuitest.Open(t, tuitest.Seed)
	ctx, end := context.WithCancel(context.Background())
	m := New(ctx, b, bench.Holder{Name: "ssh-user", Session: "s1"}, Options{StateDir: t.TempDir()})
	if !m.c.HasLease() {
		t.Fatal("the session did not take the free lease")
	}
	end() // the connection dropped; nobody calls Close
	deadline := time.Now().Add(5 * time.Second)
	for b.Snapshot().Lease != nil {
		if time.Now().After(deadline) {
			t.Fatal("the ended session still holds the lease")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestLeaseHandOver(t *testing.T) {
	b := tuitest.Open(t, tuitest.Seed)
	alice := console(t, b, "alice", 80, 24, Options{})
	bob := console(t, b, "bob", 80, 24, Options{})
	pump(alice)
	press(alice, "H")
	if !alice.statusErr || !strings.Contains(alice.status, "nobody has asked") {
		t.Errorf("hand-over before anyone asked: %q", alice.status)
	}
	press(bob, "L") // ask
	pump(alice)
	if !strings.Contains(alice.status, "bob asks for the probe: press H") {
		t.Fatalf("alice was not told bob asks: %q", alice.status)
	}
	press(alice, "H")
	pump(bob)
	pump(alice)
	if alice.c.HasLease() || !bob.c.HasLease() || bob.c.Token() == "" {
		t.Fatalf("after the hand-over: alice holds %v, bob holds %v (token %q)", alice.c.HasLease(), bob.c.HasLease(), bob.c.Token())
	}
	if !strings.Contains(bob.status, "handed to you") {
		t.Errorf("bob's status: %q", bob.status)
	}
	press(bob, "s") // bob's sweep runs now
	if bob.statusErr {
		t.Errorf("bob's sweep after the hand-over: %q", bob.status)
	}
	if s := b.Snapshot(); s.Matrix == nil {
		t.Errorf("bob's sweep did not run")
	}
}

func TestStartShowsTheBenchNotice(t *testing.T) {
	b := tuitest.Open(t, tuitest.Seed)
	b.Notify("no ST-LINK found on USB; using the simulated bench")
	m := New(context.Background(), b, bench.Holder{Name: "alice", Session: "test"}, Options{StateDir: t.TempDir(), NoIdentify: true})
	t.Cleanup(m.Close)
	m.Init()
	if !strings.Contains(m.status, "using the simulated bench") {
		t.Errorf("the notice given before the console started is not shown: status %q", m.status)
	}
}

// "? help" and "q quit" stay in the footer whatever the status says, at
// 80 and 120 columns: a long status is cut to make room for them.
func TestFooterKeepsHelpAndQuit(t *testing.T) {
	for _, w := range []int{80, 120} {
		b := tuitest.Open(t, tuitest.Seed)
		m := console(t, b, "alice", w, 24, Options{NoIdentify: true})
		for _, bad := range []bool{false, true} {
			m.status, m.statusErr = strings.Repeat("a long message about what just happened ", 6), bad
			footer := tuitest.Plain(m.footer())
			if !strings.Contains(footer, "? help") || !strings.Contains(footer, "q quit") || !strings.Contains(footer, "…") {
				t.Errorf("%d columns, error %v: footer %q", w, bad, footer)
			}
		}
		// without a status, each pane's short help makes room for them
		// too (the help model let an item overflow when not even its
		// ellipsis fitted: the DA pane pushed "? help" off at 80)
		m.status = ""
		// the option bytes read: provisioning offered, the regression not
		press(m, "2")
		press(m, "r")
		pump(m)
		m.status = ""
		for _, k := range []string{"1", "2", "3", "4", "5"} {
			press(m, k)
			footer := tuitest.Plain(m.footer())
			if !strings.HasSuffix(strings.TrimSpace(footer), "? help • q quit") || len([]rune(footer)) > w {
				t.Errorf("%d columns, pane %s: footer %q", w, k, footer)
			}
		}
	}
}

// C captures the board read-only into the state directory and says where;
// the file is a capture the twin can open.
func TestCaptureKey(t *testing.T) {
	b := tuitest.Open(t, tuitest.Seed)
	dir := t.TempDir()
	m := console(t, b, "alice", 120, 40, Options{StateDir: dir, NoIdentify: true})
	press(m, "C")
	if !strings.Contains(m.status, "captured to "+filepath.Join(dir, "captures")) {
		t.Fatalf("status after C: %q", m.status)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "captures", "capture-*.json"))
	if len(files) != 1 {
		t.Fatalf("captures written: %v", files)
	}
	if _, err := bench.LoadCapture(files[0]); err != nil {
		t.Errorf("the capture does not load: %v", err)
	}
}

// TestViewOncePerFrame: the screen is drawn at most once a frame; a change
// within a frame of the last drawing is drawn when the frameMsg the update
// asked for arrives, and a new size is drawn at once.
func TestViewOncePerFrame(t *testing.T) {
	b := tuitest.Open(t, tuitest.Seed)
	m := console(t, b, "alice", 80, 24, Options{})
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := t0
	m.now = func() time.Time { return now }
	m.frameAt = time.Time{}
	first := m.View().Content
	if strings.Contains(tuitest.Plain(first), "take / ask for / release") {
		t.Fatal("the help shows before ? was pressed")
	}

	now = t0.Add(frameEvery / 4)
	_, cmd := m.Update(tuitest.Key("?"))
	if !m.showHelp {
		t.Fatal("? did not open the help")
	}
	if got := m.View().Content; got != first {
		t.Error("the screen was drawn again within a frame")
	}
	var asked bool
	for _, msg := range tuitest.Run(cmd) {
		if _, ok := msg.(frameMsg); ok {
			asked = true
		}
	}
	if !asked {
		t.Fatal("a change within a frame asked for no frameMsg")
	}
	if _, again := m.Update(tuitest.Key("up")); again != nil {
		for _, msg := range tuitest.Run(again) {
			if _, ok := msg.(frameMsg); ok {
				t.Error("a second frameMsg was asked for while one is on its way")
			}
		}
	}

	now = t0.Add(frameEvery)
	m.Update(frameMsg{})
	if got := tuitest.Plain(m.View().Content); !strings.Contains(got, "take / ask for / release") {
		t.Errorf("the frameMsg did not draw the help:\n%s", got)
	}

	// long after the last drawing, a change is drawn at once
	now = t0.Add(10 * frameEvery)
	m.Update(tuitest.Key("esc"))
	if got := tuitest.Plain(m.View().Content); strings.Contains(got, "take / ask for / release") {
		t.Error("a change long after the last frame was not drawn at once")
	}

	// a new size is drawn at once, even within a frame
	now = now.Add(time.Millisecond)
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	if got := strings.Count(m.View().Content, "\n") + 1; got != 30 {
		t.Errorf("the resize was not drawn at once: %d lines, want 30", got)
	}
}

// At 80 columns the tab bar names all five panes and still says who holds
// the probe, whichever pane has the focus and whoever holds it: the tabs
// take their short names before the badge is cut.
func TestTabBarFitsWithTheBadge(t *testing.T) {
	b := tuitest.Open(t, tuitest.Seed)
	alice := console(t, b, "alice-on-the-long-bench", 80, 24, Options{})
	bob := console(t, b, "bob", 80, 24, Options{})
	eve := console(t, b, "eve", 80, 24, Options{ReadOnly: true})
	wide := console(t, b, "carol", 160, 48, Options{})
	for _, c := range []struct {
		m    *Model
		want []string // the long name may be cut, never the words
	}{
		{alice, []string{"● you hold the probe"}},
		{bob, []string{"◌ alice-on-the", "… holds the probe"}},
		{eve, []string{"◌ observer · alice-on", "… holds it"}},
		{wide, []string{"◌ alice-on-the-long-bench holds the probe: L asks for it"}},
	} {
		for focus := range 5 {
			press(c.m, string(rune('1'+focus)))
			bar := tuitest.Plain(c.m.tabBar())
			if w := ansi.StringWidth(bar); w > c.m.width {
				t.Errorf("%d columns, pane %d: the tab bar is %d wide: %q", c.m.width, focus+1, w, bar)
			}
			for _, want := range c.want {
				if !strings.Contains(bar, want) {
					t.Errorf("%d columns, pane %d: the tab bar lacks %q: %q", c.m.width, focus+1, want, bar)
				}
			}
			for i := range 5 {
				if !strings.Contains(bar, string(rune('1'+i))+" ") {
					t.Errorf("%d columns: no tab %d in %q", c.m.width, i+1, bar)
				}
			}
		}
	}
	if bar := tuitest.Plain(wide.tabBar()); !strings.Contains(bar, "2 Option bytes") || !strings.Contains(bar, "5 Flash") {
		t.Errorf("at 160 columns the tabs keep their names: %q", bar)
	}
}

// The families' boards tell their own story at 80×24: the header names the
// chip and its protection, the sweep's first finding is the family's, with
// what to do and what never to do on screen (the findings scroll, the
// warning is never cut), and every line fits.
func TestFamilyStoriesAt80x24(t *testing.T) {
	for _, c := range []struct {
		scenario string
		want     []string
	}{
		{"f103-rdp1", []string{"STM32F10x medium density", "protection RDP level 1 (0x00)", "‼ STM32F1 is read-protected (RDP level 1)", "Next: Save what the debugger can still read", "The F1 has no level 2"}},
		{"u585-rdp05-tz", []string{"STM32U575/U585", "protection RDP level 0.5 (0x55)", "STM32U5 at RDP level 0.5 with TrustZone", "⚠ Never write RDP=0xCC (level 2)", "Next: Debug the non-secure application"}},
	} {
		t.Run(c.scenario, func(t *testing.T) {
			m := console(t, tuitest.Open(t, c.scenario), "alice", 80, 24, Options{})
			identify(m)
			press(m, "s")
			press(m, "f")
			v := tuitest.Plain(m.Render())
			flat := strings.Join(strings.Fields(v), " ")
			for _, want := range c.want {
				if !strings.Contains(flat, want) {
					t.Errorf("the findings at 80×24 lack %q:\n%s", want, v)
				}
			}
			lines := strings.Split(strings.TrimSuffix(v, "\n"), "\n")
			if len(lines) != 24 {
				t.Errorf("%d lines, want 24", len(lines))
			}
			for i, l := range lines {
				if w := ansi.StringWidth(l); w > 80 {
					t.Errorf("line %d is %d wide: %q", i, w, l)
				}
			}
		})
	}
}
