// Package tuitest holds what the console's tests share: a simulated bench
// with a fixed clock, the draining of a subscription into a pane, golden
// screens, and a check for colour escapes.
package tuitest

import (
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/sirupsen/logrus"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/tui/common"
)

// Update rewrites the golden files instead of comparing with them.
var Update = flag.Bool("update", false, "rewrite the golden screens in testdata")

// Clock is the fixed time of the test benches.
var Clock = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// Seed is the simulated seed board.
const Seed = "h533-provisioning"

// fixedTime stamps every log entry with Clock.
type fixedTime struct{}

func (fixedTime) Levels() []logrus.Level { return logrus.AllLevels }

func (fixedTime) Fire(e *logrus.Entry) error {
	e.Time = Clock
	return nil
}

// Open opens a simulated bench on scenario with a fixed clock, a lease
// that never lapses and a logger that logs to nowhere (at info level,
// every entry stamped with Clock);
// it is closed when the test ends.
func Open(tb testing.TB, scenario string) *bench.Bench {
	tb.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	log.SetLevel(logrus.InfoLevel)
	log.AddHook(fixedTime{}) // before the bench's hook: every entry at Clock
	b, _, err := bench.Open(context.Background(), bench.Selector{Sim: scenario},
		bench.Options{Log: log, LeaseIdle: -1, Now: func() time.Time { return Clock }})
	if err != nil {
		tb.Fatalf("opening the simulated bench %s: %v", scenario, err)
	}
	tb.Cleanup(func() { b.Close() })
	return b
}

// Context makes a session context on b holding the lease as who.
func Context(tb testing.TB, b *bench.Bench, who string, theme common.Theme) *common.Context {
	tb.Helper()
	h := bench.Holder{Name: who, Session: "test"}
	c := common.NewContext(context.Background(), b, h, theme)
	tok, err := b.Acquire(h)
	if err != nil {
		tb.Fatalf("taking the lease: %v", err)
	}
	c.SetToken(tok)
	c.SetSnapshot(b.Snapshot())
	return c
}

// Drain hands every event waiting on sub to p (recording the snapshot of
// each StateChanged in c first, as the root model does) and returns the
// pane and the messages its commands produced (commands that do not
// return at once are not run).
func Drain(c *common.Context, sub *bench.Subscription, p common.Pane) (common.Pane, []tea.Msg) {
	now, stop := context.WithCancel(context.Background())
	stop()
	var msgs []tea.Msg
	for {
		ev, err := sub.Next(now)
		if err != nil {
			return p, msgs
		}
		if s, ok := ev.(bench.StateChanged); ok {
			c.SetSnapshot(s.State)
		}
		var cmd tea.Cmd
		p, cmd = p.Update(common.EventMsg{Event: ev})
		msgs = append(msgs, Run(cmd)...)
	}
}

// Run runs cmd and the commands of any batch it returns, synchronously,
// and returns their messages. A command that takes longer than Wait (a
// tick, a wait for events) is left running and gives nothing.
func Run(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-done:
	case <-time.After(Wait):
		return nil
	}
	if b, ok := msg.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range b {
			out = append(out, Run(c)...)
		}
		return out
	}
	if msg == nil {
		return nil
	}
	return []tea.Msg{msg}
}

// Wait bounds each command Run runs: long enough for a sweep on the
// simulator under the race detector, shorter than the footer's timer.
var Wait = 4 * time.Second

// Golden compares got (ANSI stripped, trailing spaces trimmed) with
// testdata/<name>.golden, or rewrites the file with -update.
func Golden(tb testing.TB, name, got string) {
	tb.Helper()
	got = Plain(got)
	path := filepath.Join("testdata", name+".golden")
	if *Update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run the test with -update to write it)", err)
	}
	if string(want) != got {
		tb.Errorf("screen %s differs from %s (rerun with -update if the change is wanted)\n--- got:\n%s\n--- want:\n%s", name, path, got, want)
	}
}

// Plain strips the escapes and the trailing spaces of every line.
func Plain(s string) string {
	lines := strings.Split(ansi.Strip(s), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n") + "\n"
}

var sgr = regexp.MustCompile(`\x1b\[([0-9;:]*)m`)

// ColourEscapes returns the SGR sequences of s that set a colour
// (foreground, background or underline colour), none when s has no
// colour.
func ColourEscapes(s string) []string {
	var out []string
	for _, m := range sgr.FindAllStringSubmatch(s, -1) {
		for _, p := range strings.FieldsFunc(m[1], func(r rune) bool { return r == ';' || r == ':' }) {
			n, err := strconv.Atoi(p)
			if err != nil {
				continue
			}
			if (n >= 30 && n <= 38) || (n >= 40 && n <= 48) || (n >= 90 && n <= 97) || (n >= 100 && n <= 107) || n == 58 {
				out = append(out, m[0])
				break
			}
		}
	}
	return out
}

// namedKeys are the key presses Key knows by name.
var namedKeys = map[string]tea.KeyPressMsg{
	"enter":     {Code: tea.KeyEnter},
	"esc":       {Code: tea.KeyEscape},
	"tab":       {Code: tea.KeyTab},
	"shift+tab": {Code: tea.KeyTab, Mod: tea.ModShift},
	"up":        {Code: tea.KeyUp},
	"down":      {Code: tea.KeyDown},
	"left":      {Code: tea.KeyLeft},
	"right":     {Code: tea.KeyRight},
	"ctrl+x":    {Code: 'x', Mod: tea.ModCtrl},
	"ctrl+c":    {Code: 'c', Mod: tea.ModCtrl},
}

// Key is the key press named s: "enter", "esc", "tab", "shift+tab", "up",
// "down", "left", "right", "ctrl+x", "ctrl+c", or one character.
func Key(s string) tea.KeyPressMsg {
	if k, ok := namedKeys[s]; ok {
		return k
	}
	r := []rune(s)[0]
	return tea.KeyPressMsg{Code: r, Text: s}
}
