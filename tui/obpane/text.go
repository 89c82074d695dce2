package obpane

import (
	"strings"
	"unicode/utf8"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

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
const narrowRunes = "▸▾→←…✓✖‼⟳█░│┃━┏┓┗┛╭╮╰╯─≠•·—"

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
			l = ansi.Truncate(l, w, "")
		}
		out[i] = l
	}
	for i, r := range rows {
		if y+i >= len(out) {
			break
		}
		// One blank column each side keeps the box apart from what is
		// under it.
		base := out[y+i]
		lx := max(0, x-1)
		left := ansi.Truncate(base, lx, "")
		if lw := ansi.StringWidth(left); lw < x {
			left += strings.Repeat(" ", x-lw)
		}
		right := ""
		if rx := x + bw + 1; ansi.StringWidth(base) > rx {
			right = " " + ansi.TruncateLeft(base, rx, "")
		}
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
	Dialog, DialogDanger                                    frame
}

func newPens(s *common.Styles) *pens {
	return &pens{
		from: s, Normal: newPen(s.Normal), Muted: newPen(s.Muted), Accent: newPen(s.Accent), OK: newPen(s.OK),
		Info: newPen(s.Info), Warn: newPen(s.Warn), Bad: newPen(s.Bad), Danger: newPen(s.Danger), Key: newPen(s.Key),
		Selected: newPen(s.Selected), Dialog: newFrame(s.Dialog), DialogDanger: newFrame(s.DialogDanger),
	}
}

// frame draws a dialog's border as a lipgloss style describes it (border
// characters, border colour, horizontal padding), cheaply.
type frame struct {
	b          lipgloss.Border
	ink        pen
	padL, padR int
}

func newFrame(s lipgloss.Style) frame {
	return frame{
		b:    s.GetBorderStyle(),
		ink:  newPen(lipgloss.NewStyle().Foreground(s.GetBorderTopForeground())),
		padL: s.GetPaddingLeft(), padR: s.GetPaddingRight(),
	}
}

// Render frames lines, each already exactly w columns wide.
func (f frame) Render(lines []string, w int) string {
	inner := w + f.padL + f.padR
	var b strings.Builder
	b.WriteString(f.ink.Render(f.b.TopLeft + strings.Repeat(f.b.Top, inner) + f.b.TopRight))
	left := f.ink.Render(f.b.Left) + strings.Repeat(" ", f.padL)
	right := strings.Repeat(" ", f.padR) + f.ink.Render(f.b.Right)
	for _, l := range lines {
		b.WriteByte('\n')
		b.WriteString(left)
		b.WriteString(l)
		b.WriteString(right)
	}
	b.WriteByte('\n')
	b.WriteString(f.ink.Render(f.b.BottomLeft + strings.Repeat(f.b.Bottom, inner) + f.b.BottomRight))
	return b.String()
}
