package dapane

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/tui/common"
)

var update = flag.Bool("update", false, "rewrite the golden screens in testdata")

// env is a pane on a simulated bench, driven the way the root model drives
// it: commands run to completion, bench events delivered before the job's
// result, the snapshot kept current.
type env struct {
	t      testing.TB
	b      *bench.Bench
	c      *common.Context
	m      *Model
	sub    *bench.Subscription
	status []common.StatusMsg
	// jobs counts the JobDoneMsg of each kind the pane received.
	jobs map[string]int
	// testdata is the golden screens' directory (default "testdata").
	testdata string
}

// newEnv opens scenario on a simulated bench. With operator set the session
// holds the lease; otherwise it only observes, while another holder does.
func newEnv(t testing.TB, scenarioName string, operator bool, opts ...Option) *env {
	t.Helper()
	ctx := context.Background()
	b, _, err := bench.Open(ctx, bench.Selector{Sim: scenarioName}, bench.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	who := bench.Holder{Name: "tester"}
	c := common.NewContext(ctx, b, who, common.Theme{NoColor: true})
	if operator {
		tok, err := b.Acquire(who)
		if err != nil {
			t.Fatal(err)
		}
		c.SetToken(tok)
	} else {
		if _, err := b.Acquire(bench.Holder{Name: "alice"}); err != nil {
			t.Fatal(err)
		}
	}
	_, sub := b.Subscribe(0)
	t.Cleanup(sub.Close)
	c.SetSnapshot(b.Snapshot())
	e := &env{t: t, b: b, c: c, sub: sub, jobs: map[string]int{}}
	if len(opts) == 0 {
		opts = []Option{WithStateDir(t.TempDir()), WithSearchDirs()}
	}
	e.m = New(c, opts...)
	e.m.SetSize(80, 24)
	return e
}

// pump delivers the bench events waiting in the subscription.
func (e *env) pump() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for {
		ev, err := e.sub.Next(ctx)
		if err != nil {
			return
		}
		if sc, ok := ev.(bench.StateChanged); ok {
			e.c.SetSnapshot(sc.State)
		}
		e.deliver(common.EventMsg{Event: ev})
	}
}

// send delivers msg and runs the commands it returns.
func (e *env) send(msg tea.Msg) {
	e.deliver(msg)
}

func (e *env) deliver(msg tea.Msg) {
	if jd, ok := msg.(common.JobDoneMsg); ok {
		e.jobs[jd.Kind]++
	}
	_, cmd := e.m.Update(msg)
	e.run(cmd)
}

// run runs a command to completion, as the program would.
func (e *env) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	msg := cmd()
	e.pump()
	switch msg := msg.(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range msg {
			e.run(c)
		}
	case common.StatusMsg:
		e.status = append(e.status, msg)
	default:
		if reflect.TypeOf(msg).PkgPath() == "charm.land/bubbles/v2/cursor" {
			return // cursor blinks: the driver has no clock
		}
		e.deliver(msg)
	}
}

// keys sends key presses: names ("enter", "esc", "tab", "space", "up",
// "down", "backspace") or, prefixed with "type:", text typed rune by rune;
// anything else is one printable key.

func (e *env) keys(ks ...string) {
	for _, k := range ks {
		for _, msg := range keyMsgs(k) {
			e.send(msg)
		}
	}
}

func keyMsgs(k string) []tea.Msg {
	special := map[string]rune{
		"enter": tea.KeyEnter, "esc": tea.KeyEscape, "tab": tea.KeyTab, "space": tea.KeySpace,
		"up": tea.KeyUp, "down": tea.KeyDown, "backspace": tea.KeyBackspace, "pgdown": tea.KeyPgDown,
		"home": tea.KeyHome, "end": tea.KeyEnd,
	}
	if k == "ctrl+u" {
		return []tea.Msg{tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl}}
	}
	if r, ok := special[k]; ok {
		if r == tea.KeySpace {
			return []tea.Msg{tea.KeyPressMsg{Code: r, Text: " "}}
		}
		return []tea.Msg{tea.KeyPressMsg{Code: r}}
	}
	text := strings.TrimPrefix(k, "type:")
	var out []tea.Msg
	for _, r := range text {
		out = append(out, tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	return out
}

// screen is the pane's view without ANSI escapes.
func (e *env) screen() string { return ansi.Strip(e.m.View()) }

// lastStatus is the last footer message.
func (e *env) lastStatus() string {
	if len(e.status) == 0 {
		return ""
	}
	return e.status[len(e.status)-1].Text
}

// golden compares the pane's view at w×h with testdata/name.golden.
func (e *env) golden(name string, w, h int) {
	e.t.Helper()
	e.m.SetSize(w, h)
	got := e.screen()
	checkSize(e.t, got, w, h)
	dir := e.testdata
	if dir == "" {
		dir = "testdata"
	}
	path := filepath.Join(dir, name+".golden")
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			e.t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			e.t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		e.t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		e.t.Errorf("%s differs from the golden screen (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// checkSize fails unless view is exactly w columns × h rows.
func checkSize(t testing.TB, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("view has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if got := ansi.StringWidth(l); got != w {
			t.Errorf("line %d is %d wide, want %d: %q", i, got, w, l)
		}
	}
}
