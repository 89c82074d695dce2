package common

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// Fit makes s exactly h lines, none wider than w: longer lines are cut,
// extra lines dropped, missing ones added empty. It measures only lines
// that may be too wide (more bytes than w), so it costs little on a
// screen that already fits.
func Fit(s string, w, h int) string {
	if h <= 0 || w <= 0 {
		return ""
	}
	var b strings.Builder
	b.Grow(len(s) + h)
	n := 0
	for line := range strings.SplitSeq(s, "\n") {
		if n == h {
			break
		}
		if n > 0 {
			b.WriteByte('\n')
		}
		if len(line) > w && ansi.StringWidth(line) > w {
			line = ansi.Truncate(line, w, "")
		}
		b.WriteString(line)
		n++
	}
	for ; n < h; n++ {
		if n > 0 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}
