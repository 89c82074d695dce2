package tui

import (
	"github.com/stprobe/stprobe/tui/common"
	"github.com/stprobe/stprobe/tui/logpane"
	"github.com/stprobe/stprobe/tui/matrix"
	"github.com/stprobe/stprobe/tui/obpane"
)

// newPanes builds the session's panes, in tab order (common.PaneID).
func newPanes(c *common.Context) []common.Pane {
	return []common.Pane{
		matrix.New(c),
		obpane.New(c),
		&placeholder{c: c, title: "Debug auth", text: "The debug-authentication pane is not built into this console yet."},
		logpane.New(c),
	}
}
