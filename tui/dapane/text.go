package dapane

import (
	"strings"
	"unicode/utf8"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stprobe/stprobe/tui/common"
)

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
		lw := width(l)
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

// narrowRunes are the non-ASCII characters the pane draws, each one column
// wide.
const narrowRunes = "▸▾→←…✓✔✖‼⟳█░│┃━┏┓┗┛╭╮╰╯─≠•·—"

// width is the display width of s. Text made of ASCII, SGR escapes and the
// pane's own symbols is measured here; anything else by ansi.StringWidth,
// which is exact but slow.
func width(s string) int {
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == 0x1b:
			j := skipCSI(s, i)
			if j < 0 {
				return ansi.StringWidth(s)
			}
			i = j
		case c < 0x20 || c == 0x7f:
			i++ // control characters take no column
		case c < 0x80:
			n++
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if !strings.ContainsRune(narrowRunes, r) {
				return ansi.StringWidth(s)
			}
			n++
			i += size
		}
	}
	return n
}

// skipCSI returns the index after the CSI sequence at s[i], or -1 when
// s[i:] is not a complete CSI sequence.
func skipCSI(s string, i int) int {
	if i+1 >= len(s) || s[i+1] != '[' {
		return -1
	}
	for j := i + 2; j < len(s); j++ {
		c := s[j]
		switch {
		case c >= 0x40 && c <= 0x7e:
			return j + 1
		case c < 0x20 || c > 0x7e:
			return -1
		}
	}
	return -1
}

// cell cuts or pads plain text s to exactly w columns.
func cell(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := width(s)
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

// pen paints one-line text with a style's escape codes, without going
// through lipgloss for every cell: the codes are taken once from the
// style. Only for styles without padding, borders or sizes.
type pen struct{ pre, post string }

func newPen(s lipgloss.Style) pen {
	const mark = "\x00"
	out := s.Render(mark)
	pre, post, ok := strings.Cut(out, mark)
	if !ok {
		return pen{}
	}
	return pen{pre: pre, post: post}
}

// Render paints s.
func (p pen) Render(s string) string {
	if p.pre == "" && p.post == "" {
		return s
	}
	return p.pre + s + p.post
}

// pens are the pane's styles as pens, built once per Styles.
type pens struct {
	from                                                    *common.Styles
	Normal, Muted, Accent, OK, Info, Warn, Bad, Danger, Key pen
	Selected                                                pen
}

func newPens(s *common.Styles) *pens {
	return &pens{
		from: s, Normal: newPen(s.Normal), Muted: newPen(s.Muted), Accent: newPen(s.Accent), OK: newPen(s.OK),
		Info: newPen(s.Info), Warn: newPen(s.Warn), Bad: newPen(s.Bad), Danger: newPen(s.Danger), Key: newPen(s.Key),
		Selected: newPen(s.Selected),
	}
}
