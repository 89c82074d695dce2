package common

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// Binding is a key binding that keys trigger and that the help names as
// help, with what it does (desc): Binding("↑/k", "up", "up", "k").
func Binding(help, desc string, keys ...string) key.Binding {
	return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
}

// ScrollKeys move through a list or a text: Up and Down by a line, PageUp
// and PageDown by a page.
type ScrollKeys struct {
	Up, Down, PageUp, PageDown key.Binding
}

// Lines is how far a key moves, for a page of page lines: -1 or 1, -page
// or page. It reports whether the key is one of the scroll keys.
func (s ScrollKeys) Lines(msg tea.KeyPressMsg, page int) (int, bool) {
	switch {
	case key.Matches(msg, s.Up):
		return -1, true
	case key.Matches(msg, s.Down):
		return 1, true
	case key.Matches(msg, s.PageUp):
		return -page, true
	case key.Matches(msg, s.PageDown):
		return page, true
	}
	return 0, false
}
