package tui

import (
	"fmt"
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"

	"github.com/stprobe/stprobe/tui/common"
	"github.com/stprobe/stprobe/tui/internal/tuitest"
)

// helpKeySet is every key the help screen of m's focused pane names, as
// drawn at m's size: a binding counts when its label is on the screen,
// enabled or not (the footer's short help draws from the same bindings).
func helpKeySet(m *Model) map[string]bool {
	drawn := tuitest.Plain(m.fullHelp())
	set := map[string]bool{}
	h := m.paneHelp()
	for _, b := range append(append([]key.Binding{}, h.global...), h.pane...) {
		if l := b.Help().Key; l != "" && strings.Contains(drawn, l+" ") {
			for _, k := range b.Keys() {
				set[k] = true
			}
		}
	}
	for _, b := range m.keys.Pane { // "1-5" in the help
		for _, k := range b.Keys() {
			set[k] = drawn != "" && strings.Contains(drawn, "1-5")
		}
	}
	set["ctrl+c"] = true // quits everywhere; the help names q
	return set
}

// candidateKeys are the keys tried on every screen.
func candidateKeys() []string {
	var ks []string
	for c := 'a'; c <= 'z'; c++ {
		ks = append(ks, string(c), strings.ToUpper(string(c)))
	}
	return append(ks, "enter", "esc", "up", "down", "left", "right", "tab", "shift+tab", "?", "/", "1", "2", "3", "4", "5")
}

// Every key that does something on a screen is in that screen's help: a
// key whose press changes the screen (or starts something) and that the
// help of the focused pane does not name fails the test. Each screen is
// built afresh after a key that did something.
func TestHelpNamesEveryKeyThatWorks(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {160, 48}} {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) { helpNamesEveryKey(t, sz[0], sz[1]) })
	}
}

func helpNamesEveryKey(t *testing.T, helpW, helpH int) {
	b := tuitest.Open(t, tuitest.Seed)
	screens := []struct {
		name  string
		build func(t *testing.T) *Model
	}{
		{"matrix before a sweep", func(t *testing.T) *Model { return console(t, b, "alice", helpW, helpH, Options{NoIdentify: true}) }},
		{"matrix swept", func(t *testing.T) *Model { m := swept(t, helpW, helpH); return m }},
		{"findings", func(t *testing.T) *Model { m := swept(t, helpW, helpH); press(m, "f"); return m }},
		{"option bytes read", func(t *testing.T) *Model {
			m := console(t, b, "alice", helpW, helpH, Options{NoIdentify: true})
			press(m, "2")
			press(m, "r")
			return m
		}},
		{"DA pane", func(t *testing.T) *Model {
			m := console(t, b, "alice", helpW, helpH, Options{NoIdentify: true})
			press(m, "3")
			return m
		}},
		{"DA pane after a discovery", func(t *testing.T) *Model {
			m := console(t, b, "alice", helpW, helpH, Options{NoIdentify: true})
			press(m, "3")
			press(m, "d")
			return m
		}},
		{"option-byte plan", func(t *testing.T) *Model {
			m := console(t, b, "alice", helpW, helpH, Options{NoIdentify: true})
			_, cmd := m.Update(common.OpenPaneMsg{Pane: common.PaneOptionBytes, Request: common.PlanRequest{Assignments: []string{"TZEN=0xC3"}}})
			feed(m, cmd)
			if !strings.Contains(tuitest.Plain(m.Render()), "TZEN") {
				t.Fatalf("no plan:\n%s", tuitest.Plain(m.Render()))
			}
			return m
		}},
		{"log", func(t *testing.T) *Model {
			m := console(t, b, "alice", helpW, helpH, Options{NoIdentify: true})
			press(m, "4")
			return m
		}},
		{"flash", func(t *testing.T) *Model {
			m := console(t, b, "alice", helpW, helpH, Options{NoIdentify: true})
			press(m, "5")
			return m
		}},
	}
	for _, sc := range screens {
		t.Run(sc.name, func(t *testing.T) {
			m := sc.build(t)
			for _, k := range candidateKeys() {
				if m.capturing() || m.closed {
					m = sc.build(t)
				}
				help := helpKeySet(m)
				before := tuitest.Plain(m.Render())
				_, cmd := m.Update(tuitest.Key(k))
				after := tuitest.Plain(m.Render())
				if before == after && cmd == nil {
					continue
				}
				if !help[k] {
					t.Errorf("%q does something on %s but its help does not name it", k, sc.name)
				}
				m = sc.build(t)
			}
		})
	}
}

// swept is a console that swept the seed board (a bench of its own: a
// sweep's findings stay in the bench's state).
func swept(t *testing.T, helpW, helpH int) *Model {
	t.Helper()
	m := console(t, tuitest.Open(t, tuitest.Seed), "alice", helpW, helpH, Options{NoIdentify: true})
	press(m, "s")
	if m.c.Snapshot().Matrix == nil {
		t.Fatal("no sweep")
	}
	return m
}
