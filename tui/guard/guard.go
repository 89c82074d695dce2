// Package guard is the dialog in front of every irreversible or brick
// write of the console (option bytes, DA provisioning, regression, debug
// opening): the plan's confirmation phrase typed exactly, and for a write
// that can brick the chip an override ticked too. Until both hold, nothing
// reaches the bench — and the bench checks the phrase again against its
// own plan. Both write panes use it, so every guard looks and works alike.
package guard

import (
	"errors"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/tui/common"
)

// Dialog is what the guard says before the phrase: a title ("‼
// IRREVERSIBLE: only a DA regression undoes this") and the lines of what
// the write changes and erases, each with its own pen. Plan is the
// write's plan as the bench made it: its phrase, and whether it needs the
// override, are the bench's, and the bench's guard (CheckConfirmation)
// says when they are given.
type Dialog struct {
	Title string
	Plan  *bench.WritePlan
	// Lines are what the write does; Details are said only when the pane
	// has room (the plan screen under the guard says them too).
	Lines   []Line
	Details []Line
}

// Line is one line of the dialog and how to draw it.
type Line struct {
	Text string
	Tone Tone
}

// Tone picks a line's pen.
type Tone int

// The tones of a dialog's lines.
const (
	Normal Tone = iota
	Accent
	Danger
	Warn
	OK
)

// Outcome is what a key press did to the guard.
type Outcome int

// The outcomes of a key press.
const (
	// Pending: the guard stays open.
	Pending Outcome = iota
	// Confirmed: the phrase matches (and the override is ticked where
	// needed); the pane starts the write with Typed and Override.
	Confirmed
	// Cancelled: the user left; nothing was written.
	Cancelled
)

// KeyMap are the guard's keys, for the pane's help.
type KeyMap struct {
	Confirm, Cancel, Next, Toggle key.Binding
}

// Keys are the guard's bindings.
func Keys() KeyMap {
	return KeyMap{
		Confirm: common.Binding("enter", "write", "enter"),
		Cancel:  common.Binding("esc", "cancel", "esc"),
		Next:    common.Binding("tab", "phrase/override", "tab", "shift+tab"),
		Toggle:  common.Binding("space", "tick the override", "space", "x"),
	}
}

// Model is an open guard.
type Model struct {
	d          Dialog
	keys       KeyMap
	input      textinput.Model
	override   bool
	onOverride bool // the override box has the focus
	err        string
}

// New opens a guard for d in the session c (for its styles).
func New(c *common.Context, d Dialog) *Model {
	return &Model{d: d, keys: Keys(), input: common.TextInput(c, "> ", "type the phrase")}
}

// Focus focuses the phrase field (the cursor shows).
func (g *Model) Focus() tea.Cmd { return g.input.Focus() }

// Typed is the phrase as typed.
func (g *Model) Typed() string { return strings.TrimSpace(g.input.Value()) }

// Override reports whether the write may brick the chip and the user
// ticked the override.
func (g *Model) Override() bool { return g.brick() && g.override }

// phrase is the plan's confirmation phrase.
func (g *Model) phrase() string {
	if g.d.Plan == nil {
		return ""
	}
	return g.d.Plan.Phrase
}

// brick reports whether the plan needs the override too.
func (g *Model) brick() bool { return g.d.Plan != nil && g.d.Plan.NeedsOverride }

// Err is why the last confirmation was refused ("" when none was).
func (g *Model) Err() string { return g.err }

// KeyBindings are the keys that work in the guard now, for the footer
// and the help.
func (g *Model) KeyBindings() []key.Binding {
	if g.brick() {
		return []key.Binding{g.keys.Confirm, g.keys.Next, g.keys.Toggle, g.keys.Cancel}
	}
	return []key.Binding{g.keys.Confirm, g.keys.Cancel}
}

// ready says what is still missing before the write may start ("" when
// nothing is).
func (g *Model) ready() string {
	err := bench.CheckConfirmation(g.d.Plan, bench.Confirmation{Phrase: g.Typed(), Override: g.override})
	switch {
	case errors.Is(err, bench.ErrNotConfirmed):
		return "the phrase does not match: type it exactly as shown. Nothing was written."
	case errors.Is(err, bench.ErrNeedsOverride):
		return "this change can brick the chip: tick the override (tab, then space) to accept that. Nothing was written."
	}
	return ""
}

// Update handles a key press.
func (g *Model) Update(msg tea.KeyPressMsg) (Outcome, tea.Cmd) {
	k := g.keys
	switch {
	case key.Matches(msg, k.Cancel):
		return Cancelled, nil
	case key.Matches(msg, k.Confirm):
		if why := g.ready(); why != "" {
			g.err = why
			return Pending, nil
		}
		return Confirmed, nil
	case g.brick() && key.Matches(msg, k.Next):
		g.onOverride = !g.onOverride
		if g.onOverride {
			g.input.Blur()
			return Pending, nil
		}
		return Pending, g.input.Focus()
	case g.onOverride:
		if key.Matches(msg, k.Toggle) {
			g.override = !g.override
			g.err = ""
		}
		return Pending, nil
	}
	in, cmd := g.input.Update(msg)
	g.input = in
	g.err = ""
	return Pending, cmd
}

// BoxWidth is the width of the guard's content in a pane w columns wide.
func BoxWidth(w int) int { return max(20, min(w-6, 74)) }

// View draws the guard as a dialog box for a pane w×h: the details are
// left out when the pane is too short for them.
func (g *Model) View(p *common.Pens, w, h int) string {
	bw := BoxWidth(w)
	b := g.lines(p, bw, false)
	if len(b)+2 > h {
		b = g.lines(p, bw, true)
	}
	return p.DialogDanger.Render(b, bw)
}

// lines are the guard's content; compact leaves out the details and the
// spacing, for short panes.
func (g *Model) lines(p *common.Pens, w int, compact bool) []string {
	gap := func() []string {
		if compact {
			return nil
		}
		return []string{""}
	}
	pen := func(t Tone) common.Pen {
		switch t {
		case Accent:
			return p.Accent
		case Danger:
			return p.Danger
		case Warn:
			return p.Warn
		case OK:
			return p.OK
		}
		return p.Normal
	}
	add := func(b []string, ls []Line) []string {
		for _, l := range ls {
			for _, part := range common.Wrap(l.Text, w) {
				b = append(b, pen(l.Tone).Render(part))
			}
		}
		return b
	}
	b := []string{p.Danger.Render(g.d.Title)}
	b = append(b, gap()...)
	b = add(b, g.d.Lines)
	if !compact {
		b = add(b, g.d.Details)
	}
	b = append(b, gap()...)
	b = append(b, "Type this phrase to confirm:", "  "+p.Accent.Render(g.phrase()))
	g.input.SetWidth(w - len(g.input.Prompt) - 1)
	b = append(b, g.input.View())
	if g.brick() {
		box := "[ ]"
		if g.override {
			box = "[x]"
		}
		line := box + " override: I accept that this chip may never be debugged again"
		if g.onOverride {
			line = p.Selected.Render(common.Cell(line, w))
		}
		b = append(b, gap()...)
		b = append(b, line)
	}
	if g.err != "" {
		b = append(b, gap()...)
		for _, l := range common.Wrap(g.err, w) {
			b = append(b, p.Bad.Render(l))
		}
	}
	help := "enter write · esc cancel"
	if g.brick() {
		help = "enter write · tab phrase/override · space tick · esc cancel"
	}
	b = append(b, gap()...)
	b = append(b, p.Muted.Render(help))
	for i := range b {
		b[i] = common.Cell(b[i], w)
	}
	return b
}
