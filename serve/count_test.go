package serve

import (
	"sync/atomic"

	tea "charm.land/bubbletea/v2"
)

// viewCalls and updateCalls count the consoles' calls in a benchmark.
var viewCalls, updateCalls atomic.Int64

// countingModel is a console counting its calls.
type countingModel struct{ tea.Model }

func (c countingModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	updateCalls.Add(1)
	m, cmd := c.Model.Update(msg)
	c.Model = m
	return c, cmd
}

func (c countingModel) View() tea.View {
	viewCalls.Add(1)
	return c.Model.View()
}
