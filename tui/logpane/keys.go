package logpane

import (
	"charm.land/bubbles/v2/key"

	"github.com/stprobe/stprobe/tui/common"
)

// keyMap is the log pane's bindings.
type keyMap struct {
	common.ScrollKeys
	Home, End, Scroll                        key.Binding
	Level, Filter, Search, Next, Prev, Trace key.Binding
	Confirm, Escape                          key.Binding
}

func newKeyMap() keyMap {
	return keyMap{
		ScrollKeys: common.ScrollKeys{
			Up:       key.NewBinding(key.WithKeys("up", "k")),
			Down:     key.NewBinding(key.WithKeys("down", "j")),
			PageUp:   key.NewBinding(key.WithKeys("pgup", "b")),
			PageDown: key.NewBinding(key.WithKeys("pgdown", "space")),
		},
		Home:    common.Binding("g", "oldest", "home", "g"),
		End:     common.Binding("G", "follow", "end", "G"),
		Scroll:  common.Binding("↑↓/pgup/pgdn", "scroll", "up", "down", "pgup", "pgdown"),
		Level:   common.Binding("l", "level", "l"),
		Filter:  common.Binding("F", "filter", "F"),
		Search:  common.Binding("/", "search", "/"),
		Next:    common.Binding("n/N", "next/prev match", "n"),
		Prev:    key.NewBinding(key.WithKeys("N")),
		Trace:   common.Binding("T", "protocol trace", "T"),
		Confirm: common.Binding("enter", "apply", "enter"),
		Escape:  common.Binding("esc", "cancel", "esc"),
	}
}
