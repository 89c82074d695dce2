package common

import (
	"testing"

	tea "charm.land/bubbletea/v2"
)

func TestPrompt(t *testing.T) {
	answer, cancel := Binding("enter", "apply", "enter"), Binding("esc", "cancel", "esc")
	press := func(code rune, text string) tea.KeyPressMsg { return tea.KeyPressMsg{Code: code, Text: text} }

	p := NewPrompt(20)
	if p.IsOpen() {
		t.Fatal("a new prompt is open")
	}
	p.Ask("filter: ", "fla")
	if !p.IsOpen() {
		t.Fatal("Ask left the prompt closed")
	}
	if _, answered, _ := p.Key(press('s', "s"), answer, cancel); answered || !p.IsOpen() {
		t.Fatal("a letter ended the prompt")
	}
	p.Key(press('h', "h"), answer, cancel)
	v, answered, _ := p.Key(press(tea.KeyEnter, ""), answer, cancel)
	if !answered || v != "flash" || p.IsOpen() {
		t.Fatalf("enter: %q answered %v open %v, want \"flash\" true false", v, answered, p.IsOpen())
	}

	p.Ask("search: ", "  spaced  ")
	if v, _, _ := p.Key(press(tea.KeyEnter, ""), answer, cancel); v != "spaced" {
		t.Errorf("the answer is not trimmed: %q", v)
	}

	p.Ask("export to: ", "x.md")
	if v, answered, _ := p.Key(press(tea.KeyEscape, ""), answer, cancel); answered || v != "" || p.IsOpen() {
		t.Errorf("esc: %q answered %v open %v, want \"\" false false", v, answered, p.IsOpen())
	}
}
