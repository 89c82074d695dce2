package logpane

import "charm.land/bubbles/v2/key"

// keyMap is the log pane's bindings.
type keyMap struct {
	Up, Down, PageUp, PageDown, Home, End, Scroll key.Binding
	Level, Filter, Search, Next, Prev, Trace      key.Binding
	Confirm, Escape                               key.Binding
}

func newKeyMap() keyMap {
	return keyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k")),
		Down:     key.NewBinding(key.WithKeys("down", "j")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "b")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "space")),
		Home:     key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g", "oldest")),
		End:      key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G", "follow")),
		Scroll:   key.NewBinding(key.WithKeys("up", "down", "pgup", "pgdown"), key.WithHelp("↑↓/pgup/pgdn", "scroll")),
		Level:    key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "level")),
		Filter:   key.NewBinding(key.WithKeys("F"), key.WithHelp("F", "filter")),
		Search:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "search")),
		Next:     key.NewBinding(key.WithKeys("n"), key.WithHelp("n/N", "next/prev match")),
		Prev:     key.NewBinding(key.WithKeys("N")),
		Trace:    key.NewBinding(key.WithKeys("T"), key.WithHelp("T", "protocol trace")),
		Confirm:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "apply")),
		Escape:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}
