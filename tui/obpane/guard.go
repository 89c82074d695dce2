package obpane

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/obytes"
	"github.com/stprobe/stprobe/tui/common"
)

// guard is the dialog in front of an irreversible or brick write: the
// phrase must be typed exactly, and a brick plan also needs the override
// ticked. Until both hold, nothing reaches the bench.
type guard struct {
	plan     *obytes.Plan
	brick    bool
	input    textinput.Model
	override bool
	// onOverride is true when the override box has the focus.
	onOverride bool
	err        string
}

func newGuard(c *common.Context, p *obytes.Plan) *guard {
	g := &guard{plan: p, brick: p.NeedsOverride || p.Risk == obytes.Brick}
	g.input = textInput(c, "> ")
	g.input.Placeholder = "type the phrase"
	g.input.CharLimit = 200
	return g
}

// ready says what is still missing before the write may start ("" when
// nothing is).
func (g *guard) ready() string {
	switch {
	case strings.TrimSpace(g.input.Value()) != g.plan.Phrase:
		return "the phrase does not match: type it exactly as shown. Nothing was written."
	case g.brick && !g.override:
		return "this change can brick the chip: tick the override (tab, then space) to accept that. Nothing was written."
	}
	return ""
}

// guardKey handles a key while the guard is open.
func (m *Model) guardKey(msg tea.KeyPressMsg) tea.Cmd {
	g, k := m.guard, m.keys
	switch {
	case key.Matches(msg, k.Cancel):
		m.guard = nil
		return m.say("write cancelled: nothing was written")
	case key.Matches(msg, k.Confirm):
		if why := g.ready(); why != "" {
			g.err = why
			return m.fail(why)
		}
		// The bench checks the typed phrase again against its own plan.
		return m.apply(strings.TrimSpace(g.input.Value()), g.brick && g.override)
	case g.brick && key.Matches(msg, k.Next):
		g.onOverride = !g.onOverride
		if g.onOverride {
			g.input.Blur()
			return nil
		}
		return g.input.Focus()
	case g.onOverride:
		if key.Matches(msg, k.Toggle) || msg.String() == "x" {
			g.override = !g.override
			g.err = ""
		}
		return nil
	}
	in, cmd := g.input.Update(msg)
	g.input = in
	g.err = ""
	return cmd
}
