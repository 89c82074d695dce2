package tui

import (
	"charm.land/bubbles/v2/key"

	"github.com/stprobe/stprobe/tui/common"
)

// keyMap holds the console's global bindings; panes add their own.
type keyMap struct {
	Next, Prev key.Binding
	Pane       [5]key.Binding
	Help       key.Binding
	Lease      key.Binding
	HandOver   key.Binding
	Capture    key.Binding
	Cancel     key.Binding
	Quit       key.Binding
	ForceQuit  key.Binding
}

func newKeyMap() keyMap {
	k := keyMap{
		Next:      common.Binding("tab", "next pane", "tab"),
		Prev:      common.Binding("shift+tab", "previous pane", "shift+tab"),
		Help:      common.Binding("?", "help", "?"),
		Lease:     common.Binding("L", "take / ask for / release the probe", "L"),
		HandOver:  common.Binding("H", "hand the probe to who asked", "H"),
		Capture:   common.Binding("C", "capture the board (read-only) to a file", "C"),
		Cancel:    common.Binding("ctrl+x", "cancel the job", "ctrl+x"),
		Quit:      common.Binding("q", "quit", "q"),
		ForceQuit: common.Binding("ctrl+c", "quit", "ctrl+c"),
	}
	for i := range k.Pane {
		d := string(rune('1' + i))
		k.Pane[i] = common.Binding(d, "pane "+d, d)
	}
	return k
}

// global are the bindings shown in the full help's first column.
func (k keyMap) global() []key.Binding {
	return []key.Binding{k.Next, k.Prev,
		common.Binding("1-5", "go to pane", "1", "2", "3", "4", "5"),
		k.Lease, k.HandOver, k.Capture, k.Cancel, k.Help, k.Quit}
}

// helpKeys adapts bindings to the help bubble: the short help is the
// pane's enabled keys then the global essentials; the full help is the
// global column then the pane's keys in columns of at most rows.
type helpKeys struct {
	global, pane []key.Binding
	rows         int
}

func (h helpKeys) ShortHelp() []key.Binding {
	out := make([]key.Binding, 0, len(h.pane)+3)
	for _, b := range h.pane {
		if b.Enabled() && b.Help().Key != "" {
			out = append(out, b)
		}
	}
	return out
}

func (h helpKeys) FullHelp() [][]key.Binding {
	pane := make([]key.Binding, 0, len(h.pane))
	for _, b := range h.pane {
		if b.Help().Key != "" {
			pane = append(pane, b)
		}
	}
	rows := h.rows
	if rows < 4 {
		rows = 4
	}
	cols := [][]key.Binding{h.global}
	for i := 0; i < len(pane); i += rows {
		cols = append(cols, pane[i:min(i+rows, len(pane))])
	}
	return cols
}
