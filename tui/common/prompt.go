package common

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
)

// Prompt is a one-line question a pane asks in its own lines (a log
// filter, a search, the file to export to): while it is open it takes
// every key; the answer key ends it with what was typed, the cancel key
// gives up.
type Prompt struct {
	input textinput.Model
	open  bool
}

// NewPrompt is a closed prompt that takes at most limit characters.
func NewPrompt(limit int) Prompt {
	in := textinput.New()
	in.CharLimit = limit
	return Prompt{input: in}
}

// Ask opens the prompt with label before the answer, which starts as
// value with the cursor at its end.
func (p *Prompt) Ask(label, value string) tea.Cmd {
	p.open = true
	p.input.Prompt = label
	p.input.SetValue(value)
	p.input.CursorEnd()
	return p.input.Focus()
}

// IsOpen reports whether the prompt takes the keys.
func (p *Prompt) IsOpen() bool { return p.open }

// SetWidth sets how wide the answer may be drawn.
func (p *Prompt) SetWidth(w int) { p.input.SetWidth(w) }

// View is the prompt's line: the label and the answer being typed.
func (p *Prompt) View() string { return p.input.View() }

// Key handles a key while the prompt is open. The answer key closes it
// and returns what was typed (trimmed) with answered true; the cancel key
// closes it with answered false; any other key edits the answer.
func (p *Prompt) Key(msg tea.KeyPressMsg, answer, cancel key.Binding) (value string, answered bool, cmd tea.Cmd) {
	switch {
	case key.Matches(msg, cancel):
		p.close()
		return "", false, nil
	case key.Matches(msg, answer):
		p.close()
		return strings.TrimSpace(p.input.Value()), true, nil
	}
	p.input, cmd = p.input.Update(msg)
	return "", false, cmd
}

func (p *Prompt) close() {
	p.open = false
	p.input.Blur()
}
