package matrix

import "charm.land/bubbles/v2/key"

// keyMap is the matrix pane's bindings.
type keyMap struct {
	Sweep, Cancel, Switch, Run, Action, Export, Discover key.Binding
	Up, Down, Left, Right, Move                          key.Binding
	Confirm, Escape, Findings                            key.Binding
	Scroll, ScrollUp, ScrollDown                         key.Binding
}

func newKeyMap() keyMap {
	return keyMap{
		Sweep:      key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sweep")),
		Cancel:     key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "cancel sweep")),
		Switch:     key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "grid/findings")),
		Run:        key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "take the step")),
		Action:     key.NewBinding(key.WithKeys("left", "right"), key.WithHelp("←/→", "choose step")),
		Export:     key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "export")),
		Discover:   key.NewBinding(key.WithKeys("D"), key.WithHelp("D", "DA discovery")),
		Up:         key.NewBinding(key.WithKeys("up", "k")),
		Down:       key.NewBinding(key.WithKeys("down", "j")),
		Left:       key.NewBinding(key.WithKeys("left", "h")),
		Right:      key.NewBinding(key.WithKeys("right", "l")),
		Move:       key.NewBinding(key.WithKeys("up", "down", "left", "right", "h", "j", "k", "l"), key.WithHelp("↑↓←→/hjkl", "select")),
		Findings:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "to the findings")),
		Scroll:     key.NewBinding(key.WithKeys("pgup", "pgdown"), key.WithHelp("pgup/pgdn", "scroll the finding")),
		ScrollUp:   key.NewBinding(key.WithKeys("pgup")),
		ScrollDown: key.NewBinding(key.WithKeys("pgdown")),
		Confirm:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "write")),
		Escape:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}
