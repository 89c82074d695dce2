package tui

import "charm.land/bubbles/v2/key"

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
		Next:      key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next pane")),
		Prev:      key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous pane")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Lease:     key.NewBinding(key.WithKeys("L"), key.WithHelp("L", "take / ask for / release the probe")),
		HandOver:  key.NewBinding(key.WithKeys("H"), key.WithHelp("H", "hand the probe to who asked")),
		Capture:   key.NewBinding(key.WithKeys("C"), key.WithHelp("C", "capture the board (read-only) to a file")),
		Cancel:    key.NewBinding(key.WithKeys("ctrl+x"), key.WithHelp("ctrl+x", "cancel the job")),
		Quit:      key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		ForceQuit: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
	}
	for i := range k.Pane {
		d := string(rune('1' + i))
		k.Pane[i] = key.NewBinding(key.WithKeys(d), key.WithHelp(d, "pane "+d))
	}
	return k
}

// global are the bindings shown in the full help's first column.
func (k keyMap) global() []key.Binding {
	return []key.Binding{k.Next, k.Prev,
		key.NewBinding(key.WithKeys("1", "2", "3", "4", "5"), key.WithHelp("1-5", "go to pane")),
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
