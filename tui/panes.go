package tui

import (
	"github.com/stprobe/stprobe/tui/common"
	"github.com/stprobe/stprobe/tui/dapane"
	"github.com/stprobe/stprobe/tui/flashpane"
	"github.com/stprobe/stprobe/tui/logpane"
	"github.com/stprobe/stprobe/tui/matrix"
	"github.com/stprobe/stprobe/tui/obpane"
	"github.com/stprobe/stprobe/tui/writeflow"
)

// newPanes builds the session's panes, in tab order (common.PaneID).
func newPanes(c *common.Context, o Options) []common.Pane {
	var write []writeflow.Option // the writing panes' files
	var flash []flashpane.Option
	if o.StateDir != "" {
		write = append(write, writeflow.WithStateDir(o.StateDir))
		flash = append(flash, flashpane.WithStateDir(o.StateDir))
	}
	return []common.Pane{
		matrix.New(c),
		obpane.New(c, write...),
		dapane.New(c, write...),
		logpane.New(c),
		flashpane.New(c, flash...),
	}
}
