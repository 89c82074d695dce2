package matrix

import (
	"charm.land/bubbles/v2/key"

	"github.com/stprobe/stprobe/tui/common"
)

// keyMap is the matrix pane's bindings.
type keyMap struct {
	Sweep, Cancel, Switch, Run, Action, Export, Discover key.Binding
	Up, Down, Left, Right, Move                          key.Binding
	Confirm, Escape, Findings                            key.Binding
	Scroll, ScrollUp, ScrollDown                         key.Binding
}

func newKeyMap() keyMap {
	return keyMap{
		Sweep:      common.Binding("s", "sweep", "s"),
		Cancel:     common.Binding("x", "cancel sweep", "x"),
		Switch:     common.Binding("f", "grid/findings", "f"),
		Run:        common.Binding("enter", "take the step", "enter"),
		Action:     common.Binding("←/→", "choose step", "left", "right"),
		Export:     common.Binding("e", "export", "e"),
		Discover:   common.Binding("D", "DA discovery", "D"),
		Up:         key.NewBinding(key.WithKeys("up", "k")),
		Down:       key.NewBinding(key.WithKeys("down", "j")),
		Left:       key.NewBinding(key.WithKeys("left", "h")),
		Right:      key.NewBinding(key.WithKeys("right", "l")),
		Move:       common.Binding("↑↓←→/hjkl", "select", "up", "down", "left", "right", "h", "j", "k", "l"),
		Findings:   common.Binding("enter", "to the findings", "enter"),
		Scroll:     common.Binding("pgup/pgdn", "scroll the finding", "pgup", "pgdown"),
		ScrollUp:   key.NewBinding(key.WithKeys("pgup")),
		ScrollDown: key.NewBinding(key.WithKeys("pgdown")),
		Confirm:    common.Binding("enter", "write", "enter"),
		Escape:     common.Binding("esc", "cancel", "esc"),
	}
}
