package common

import (
	"slices"
	"testing"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

func TestBinding(t *testing.T) {
	b := Binding("↑/k", "up", "up", "k")
	if h := b.Help(); h.Key != "↑/k" || h.Desc != "up" {
		t.Errorf("help = %q %q, want ↑/k up", h.Key, h.Desc)
	}
	if got := b.Keys(); !slices.Equal(got, []string{"up", "k"}) {
		t.Errorf("keys = %q, want [up k]", got)
	}
	if !b.Enabled() {
		t.Error("a new binding is disabled")
	}
	tests := []struct {
		msg  tea.KeyPressMsg
		want bool
	}{
		{tea.KeyPressMsg{Code: tea.KeyUp}, true},
		{tea.KeyPressMsg{Code: 'k', Text: "k"}, true},
		{tea.KeyPressMsg{Code: 'j', Text: "j"}, false},
	}
	for _, tc := range tests {
		if got := key.Matches(tc.msg, b); got != tc.want {
			t.Errorf("Matches(%q) = %v, want %v", tc.msg.String(), got, tc.want)
		}
	}
}

func TestScrollKeysLines(t *testing.T) {
	s := ScrollKeys{
		Up:       Binding("↑", "up", "up"),
		Down:     Binding("↓", "down", "down"),
		PageUp:   Binding("pgup", "page up", "pgup"),
		PageDown: Binding("pgdn", "page down", "pgdown"),
	}
	tests := []struct {
		msg  tea.KeyPressMsg
		n    int
		isOK bool
	}{
		{tea.KeyPressMsg{Code: tea.KeyUp}, -1, true},
		{tea.KeyPressMsg{Code: tea.KeyDown}, 1, true},
		{tea.KeyPressMsg{Code: tea.KeyPgUp}, -10, true},
		{tea.KeyPressMsg{Code: tea.KeyPgDown}, 10, true},
		{tea.KeyPressMsg{Code: 'x', Text: "x"}, 0, false},
	}
	for _, tc := range tests {
		if n, ok := s.Lines(tc.msg, 10); n != tc.n || ok != tc.isOK {
			t.Errorf("Lines(%q) = %d, %v; want %d, %v", tc.msg.String(), n, ok, tc.n, tc.isOK)
		}
	}
}
