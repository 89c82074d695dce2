package obpane

import (
	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/tui/guard"
)

// guardDialog is the guard in front of an irreversible or brick plan: the
// changes that cannot be undone, each with why, then the phrase (and the
// override for a brick).
func (m *Model) guardDialog(p *bench.OBPlan) guard.Dialog {
	d := guard.Dialog{Plan: p.Header(), Title: "‼ IRREVERSIBLE: only a DA regression undoes this"}
	if p.NeedsOverride {
		d.Title = "✖ BRICK: this change can never be undone"
	}
	for _, c := range p.Changes {
		if !bench.PhraseNeeded(c.Risk) {
			continue
		}
		d.Lines = append(d.Lines, guard.Line{Text: c.Field + "  " + c.From.Text() + " → " + c.To.Text(), Tone: guard.Accent})
		d.Details = append(d.Details, guard.Line{Text: c.Why})
	}
	return d
}

// guardKey handles a key while the guard is open.
func (m *Model) guardKey(msg tea.KeyPressMsg) tea.Cmd { return m.GuardKey(msg, m.apply) }
