package obpane

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
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

// full reports whether the page holds its height.
func (p *page) full() bool { return len(p.lines) >= p.max }

// fit renders lines as exactly h rows of exactly w columns: long lines are
// cut with an ellipsis, short ones padded, missing rows left blank.
func fit(lines []string, w, h int) string {
	if w <= 0 || h <= 0 {
		return ""
	}
	var b strings.Builder
	b.Grow(h * (w + 16))
	for i := 0; i < h; i++ {
		if i > 0 {
			b.WriteByte('\n')
		}
		var l string
		if i < len(lines) {
			l = lines[i]
		}
		lw := ansi.StringWidth(l)
		if lw > w {
			l = ansi.Truncate(l, w, "…")
			lw = ansi.StringWidth(l)
		}
		b.WriteString(l)
		if lw < w {
			b.WriteString(strings.Repeat(" ", w-lw))
		}
	}
	return b.String()
}

// cell cuts or pads plain text s to exactly w columns.
func cell(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	if sw > w {
		return ansi.Truncate(s, w, "…")
	}
	return s + strings.Repeat(" ", w-sw)
}

// wrap breaks plain text into lines of at most w columns.
func wrap(s string, w int) []string {
	if w < 8 {
		w = 8
	}
	return strings.Split(ansi.Wrap(s, w, ""), "\n")
}

// resetSGR ends any style a cut line left open.
const resetSGR = "\x1b[m"

// overlay draws box (a rendered block) centred over the rows of bg.
func overlay(bg []string, box string, w, h int) []string {
	rows := strings.Split(box, "\n")
	bw := 0
	for _, r := range rows {
		bw = max(bw, ansi.StringWidth(r))
	}
	x := max(0, (w-bw)/2)
	y := max(0, (h-len(rows))/2)
	out := make([]string, max(h, len(bg)))
	for i, l := range bg {
		if ansi.StringWidth(l) > w {
			l = ansi.Truncate(l, w, "…")
		}
		out[i] = l
	}
	for i, r := range rows {
		if y+i >= len(out) {
			break
		}
		base := out[y+i]
		left := ansi.Truncate(base, x, "")
		if lw := ansi.StringWidth(left); lw < x {
			left += strings.Repeat(" ", x-lw)
		}
		right := ansi.TruncateLeft(base, x+bw, "")
		rw := ansi.StringWidth(r)
		if rw < bw {
			r += strings.Repeat(" ", bw-rw)
		}
		if strings.Contains(base, "\x1b") {
			left += resetSGR
			r += resetSGR
		}
		out[y+i] = left + r + right
	}
	return out
}
