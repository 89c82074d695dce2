package obpane

import "charm.land/bubbles/v2/key"

// keyMap is every binding of the pane. They stay enabled here (key.Matches
// ignores disabled bindings); Keys disables copies for the help when an
// action is unavailable.
type keyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding

	Read, Edit, Unstage, Clear, Plan, Method, Backups, Journal, View key.Binding

	Apply, Back, Restore, WayBack, Rehearse key.Binding

	Confirm, Cancel key.Binding
}

func newKeyMap() keyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return keyMap{
		Up:       b("↑/k", "up", "up", "k"),
		Down:     b("↓/j", "down", "down", "j"),
		PageUp:   b("pgup", "page up", "pgup", "ctrl+b"),
		PageDown: b("pgdn", "page down", "pgdown", "ctrl+f"),
		Top:      b("g", "first", "home", "g"),
		Bottom:   b("G", "last", "end", "G"),

		Read:    b("r", "read", "r"),
		Edit:    b("enter/e", "edit field", "enter", "e"),
		Unstage: b("x", "drop edit", "x", "delete", "backspace"),
		Clear:   b("c", "clear edits", "c"),
		Plan:    b("p", "plan", "p"),
		Method:  b("m", "DA method", "m"),
		Backups: b("b", "backups", "b"),
		Journal: b("J", "clear pending-write record", "J"),
		View:    b("v", "view their plan", "v"),

		Apply:    b("a", "apply", "a"),
		Back:     b("esc", "back", "esc"),
		Restore:  b("enter", "plan restore", "enter"),
		WayBack:  b("w", "prove the way back", "w"),
		Rehearse: b("t", "rehearse on the twin", "t"),

		Confirm: b("enter", "confirm", "enter"),
		Cancel:  b("esc", "cancel", "esc"),
	}
}

// disabled returns a copy of b that the help shows as unavailable.
func disabled(b key.Binding) key.Binding {
	b.SetEnabled(false)
	return b
}
