package obpane

import (
	"strings"

	"github.com/stprobe/stprobe/tui/common"
)

// page collects the lines of one screen; it never holds more than its
// height and splits multi-line strings as they are added.
type page struct {
	lines []string
	max   int
}

func newPage(h int) *page { return &page{max: h, lines: make([]string, 0, h)} }

// add appends one or more lines (s may hold newlines).
func (p *page) add(s string) {
	for {
		if len(p.lines) >= p.max {
			return
		}
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			p.lines = append(p.lines, s)
			return
		}
		p.lines = append(p.lines, s[:i])
		s = s[i+1:]
	}
}

// room is how many lines are still free.
func (p *page) room() int { return p.max - len(p.lines) }

// The console's shared text helpers, by the short names this pane uses.
var (
	width = common.Width
	cell  = common.Cell
	wrap  = common.Wrap
)

type pen = common.Pen
