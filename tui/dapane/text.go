package dapane

import "github.com/stprobe/stprobe/tui/common"

// The console's shared text helpers, by the short names this pane uses.
var (
	cell = common.Cell
	wrap = common.Wrap
)

type pen = common.Pen
