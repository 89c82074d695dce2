package common

import "charm.land/bubbles/v2/key"

// Binding is a key binding that keys trigger and that the help names as
// help, with what it does (desc): Binding("↑/k", "up", "up", "k").
func Binding(help, desc string, keys ...string) key.Binding {
	return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
}
