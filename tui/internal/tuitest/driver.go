package tuitest

import (
	"context"
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

// Driver drives one pane on a simulated bench the way the root model
// does: commands run to completion, the bench's events delivered before a
// job's result, the snapshot kept current in the session's context. Both
// panes' test harnesses are built on it.
type Driver struct {
	T   testing.TB
	B   *bench.Bench
	C   *common.Context
	Sub *bench.Subscription
	// Pane is the pane driven; set it once it is made on C.
	Pane common.Pane
	// Status are the footer messages the pane's commands gave.
	Status []common.StatusMsg
	// Jobs counts the ends of the pane's jobs it received, by the type of
	// the pane's own message (common.JobDoneMsg.Msg).
	Jobs map[reflect.Type]int
}

// NewDriver makes a session on b. With operator set the session holds the
// lease; otherwise it only observes while "alice" holds it.
func NewDriver(t testing.TB, b *bench.Bench, operator bool) *Driver {
	t.Helper()
	ctx := context.Background()
	who := bench.Holder{Name: "tester"}
	c := common.NewContext(ctx, b, who, common.Theme{NoColor: true})
	if operator {
		tok, err := b.Acquire(who)
		if err != nil {
			t.Fatal(err)
		}
		c.SetToken(tok)
	} else if _, err := b.Acquire(bench.Holder{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	_, sub := b.Subscribe(0)
	t.Cleanup(sub.Close)
	c.SetSnapshot(b.Snapshot())
	return &Driver{T: t, B: b, C: c, Sub: sub, Jobs: map[reflect.Type]int{}}
}

// Pump delivers the bench events waiting in the subscription.
func (d *Driver) Pump() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for {
		ev, err := d.Sub.Next(ctx)
		if err != nil {
			return
		}
		if sc, ok := ev.(bench.StateChanged); ok {
			d.C.SetSnapshot(sc.State)
		}
		d.Deliver(common.EventMsg{Event: ev})
	}
}

// Send delivers msg and runs the commands it returns.
func (d *Driver) Send(msg tea.Msg) { d.Deliver(msg) }

// Deliver hands msg to the pane and runs what it returns.
func (d *Driver) Deliver(msg tea.Msg) {
	if jd, ok := msg.(common.JobDoneMsg); ok {
		d.Jobs[reflect.TypeOf(jd.Msg)]++
	}
	var cmd tea.Cmd
	d.Pane, cmd = d.Pane.Update(msg)
	d.Run(cmd)
}

// Ended is how many of the pane's jobs ended with a message of msg's type
// (Ended(applied{}): how many writes ended).
func (d *Driver) Ended(msg tea.Msg) int { return d.Jobs[reflect.TypeOf(msg)] }

// Run runs a command to completion, as the program would.
func (d *Driver) Run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	msg := cmd()
	d.Pump()
	switch msg := msg.(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range msg {
			d.Run(c)
		}
	case common.StatusMsg:
		d.Status = append(d.Status, msg)
	default:
		if reflect.TypeOf(msg).PkgPath() == "charm.land/bubbles/v2/cursor" {
			return // cursor blinks: the driver has no clock
		}
		d.Deliver(msg)
	}
}

// Keys sends key presses: names ("enter", "esc", "tab", "space", "up",
// "down", "backspace", "pgdown", "home", "end", "ctrl+u") or, prefixed
// with "type:", text typed rune by rune; anything else is one printable
// key.
func (d *Driver) Keys(ks ...string) {
	for _, k := range ks {
		for _, msg := range keyMsgs(k) {
			d.Send(msg)
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

// Screen is the pane's view without ANSI escapes.
func (d *Driver) Screen() string { return ansi.Strip(d.Pane.View()) }

// LastStatus is the last footer message ("" when none).
func (d *Driver) LastStatus() string {
	if len(d.Status) == 0 {
		return ""
	}
	return d.Status[len(d.Status)-1].Text
}

// GoldenScreen sizes the pane w×h, checks that its view fills exactly that
// size, and compares it with dir/name.golden (rewritten with -update).
func (d *Driver) GoldenScreen(name string, w, h int, dir string) {
	d.T.Helper()
	d.Pane.SetSize(w, h)
	got := d.Screen()
	CheckSize(d.T, got, w, h)
	path := filepath.Join(dir, name+".golden")
	if *Update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			d.T.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			d.T.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		d.T.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		d.T.Errorf("%s differs from the golden screen (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// CheckSize fails unless view is exactly w columns × h rows.
func CheckSize(t testing.TB, view string, w, h int) {
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
