package obpane

import (
	"charm.land/bubbles/v2/key"

	"github.com/stprobe/stprobe/tui/common"
)

// keyMap is every binding of the pane. They stay enabled here (key.Matches
// ignores disabled bindings); Keys disables copies for the help when an
// action is unavailable.
type keyMap struct {
	common.ScrollKeys
	Top, Bottom key.Binding

	Read, Edit, Unstage, Clear, Plan, Method, Backups, Journal, View key.Binding

	Apply, Back, Restore, WayBack, Rehearse key.Binding

	Confirm, Cancel key.Binding
}

func newKeyMap() keyMap {
	return keyMap{
		ScrollKeys: common.ScrollKeys{
			Up:       common.Binding("↑/k", "up", "up", "k"),
			Down:     common.Binding("↓/j", "down", "down", "j"),
			PageUp:   common.Binding("pgup", "page up", "pgup", "ctrl+b"),
			PageDown: common.Binding("pgdn", "page down", "pgdown", "ctrl+f"),
		},
		Top:    common.Binding("g", "first", "home", "g"),
		Bottom: common.Binding("G", "last", "end", "G"),

		Read:    common.Binding("r", "read", "r"),
		Edit:    common.Binding("enter/e", "edit field", "enter", "e"),
		Unstage: common.Binding("x", "drop edit", "x", "delete", "backspace"),
		Clear:   common.Binding("c", "clear edits", "c"),
		Plan:    common.Binding("p", "plan", "p"),
		Method:  common.Binding("m", "DA method", "m"),
		Backups: common.Binding("b", "backups", "b"),
		Journal: common.Binding("J", "clear pending-write record", "J"),
		View:    common.Binding("v", "view their plan", "v"),

		Apply:    common.Binding("a", "apply", "a"),
		Back:     common.Binding("esc", "back", "esc"),
		Restore:  common.Binding("enter", "plan restore", "enter"),
		WayBack:  common.Binding("w", "prove the way back", "w"),
		Rehearse: common.Binding("t", "rehearse on the twin", "t"),

		Confirm: common.Binding("enter", "confirm", "enter"),
		Cancel:  common.Binding("esc", "cancel", "esc"),
	}
}

// disabled returns a copy of b that the help shows as unavailable.
func disabled(b key.Binding) key.Binding {
	b.SetEnabled(false)
	return b
}
