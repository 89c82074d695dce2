package matrix

import (
	"charm.land/lipgloss/v2"

	"github.com/stprobe/stprobe/probe/sweep"
	"github.com/stprobe/stprobe/tui/common"
)

// look is how an outcome class is drawn: a symbol and a short word, so
// that the grid reads without colour, and a style.
type look struct {
	symbol, word string
	style        func(*common.Styles) lipgloss.Style
}

var looks = map[sweep.Outcome]look{
	sweep.OutcomeOK:          {"✔", "ok", func(s *common.Styles) lipgloss.Style { return s.OK }},
	sweep.OutcomeModeFailed:  {"◑", "mode", func(s *common.Styles) lipgloss.Style { return s.Warn }},
	sweep.OutcomeAPClosed:    {"⊘", "closed", func(s *common.Styles) lipgloss.Style { return s.Warn }},
	sweep.OutcomeDPOnly:      {"◌", "dp-only", func(s *common.Styles) lipgloss.Style { return s.Info }},
	sweep.OutcomeWaitTimeout: {"~", "wait", func(s *common.Styles) lipgloss.Style { return s.Bad }},
	sweep.OutcomeNoAck:       {"✖", "no-ack", func(s *common.Styles) lipgloss.Style { return s.Bad }},
	sweep.OutcomeFault:       {"!", "fault", func(s *common.Styles) lipgloss.Style { return s.Danger }},
	sweep.OutcomeUnsupported: {"–", "firmware", func(s *common.Styles) lipgloss.Style { return s.Muted }},
	sweep.OutcomeSkipped:     {"·", "skipped", func(s *common.Styles) lipgloss.Style { return s.Muted }},
}

// lookOf is the look of o (unknown outcomes are drawn as faults).
func lookOf(o sweep.Outcome) look {
	if l, ok := looks[o]; ok {
		return l
	}
	return look{"?", string(o), func(s *common.Styles) lipgloss.Style { return s.Bad }}
}

// Legend names every symbol, on as many lines of width w as it needs.
func Legend(st *common.Styles, w int) []string {
	var lines []string
	line, lineW := "", 0
	for _, o := range sweep.Outcomes() {
		l := lookOf(o)
		item := l.style(st).Render(l.symbol) + " " + st.Muted.Render(l.word)
		itemW := 2 + len([]rune(l.word))
		if lineW > 0 && lineW+2+itemW > w {
			lines = append(lines, line)
			line, lineW = "", 0
		}
		if lineW > 0 {
			line += "  "
			lineW += 2
		}
		line += item
		lineW += itemW
	}
	return append(lines, line)
}
