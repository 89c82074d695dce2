package tui

import (
	"github.com/stprobe/stprobe/tui/common"
	"github.com/stprobe/stprobe/tui/dapane"
	"github.com/stprobe/stprobe/tui/logpane"
	"github.com/stprobe/stprobe/tui/matrix"
	"github.com/stprobe/stprobe/tui/obpane"
)

// newPanes builds the session's panes, in tab order (common.PaneID).
func newPanes(c *common.Context, o Options) []common.Pane {
	var obOpts []obpane.Option
	var daOpts []dapane.Option
	if o.StateDir != "" {
		obOpts = append(obOpts, obpane.WithStateDir(o.StateDir))
		daOpts = append(daOpts, dapane.WithStateDir(o.StateDir))
	}
	return []common.Pane{
		matrix.New(c),
		obpane.New(c, obOpts...),
		dapane.New(c, daOpts...),
		logpane.New(c),
	}
}
