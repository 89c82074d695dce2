package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/tui/common"
)

// placeholder stands for a pane that is not built into this console yet.
type placeholder struct {
	c     *common.Context
	title string
	text  string
	w, h  int
}

func (p *placeholder) Init() tea.Cmd                         { return nil }
func (p *placeholder) Update(tea.Msg) (common.Pane, tea.Cmd) { return p, nil }
func (p *placeholder) SetSize(w, h int)                      { p.w, p.h = w, h }
func (p *placeholder) Keys() []key.Binding                   { return nil }
func (p *placeholder) Title() string                         { return p.title }
func (p *placeholder) View() string {
	return "\n  " + p.c.Styles.Muted.Render(p.text)
}
