package common

import (
	"strings"
	"unicode/utf8"

	"charm.land/bubbles/v2/textinput"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stprobe/stprobe/bench"
)

// Text helpers for panes that draw many cells a frame: exact fitting, a
// fast display width, wrapping, and styles taken once as escape codes.

// FitLines renders lines as exactly h rows of exactly w columns: long lines are
// cut with an ellipsis, short ones padded, missing rows left blank.
func FitLines(lines []string, w, h int) string { return FitIndented(lines, 0, w, h) }

// FitIndented is FitLines with indent blank columns before every line
// (within the w columns).
func FitIndented(lines []string, indent, w, h int) string {
	if w <= 0 || h <= 0 {
		return ""
	}
	indent = min(max(0, indent), w)
	pad := strings.Repeat(" ", indent)
	w -= indent
	var b strings.Builder
	b.Grow(h * (w + indent + 16))
	for i := 0; i < h; i++ {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(pad)
		var l string
		if i < len(lines) {
			l = lines[i]
		}
		lw := Width(l)
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

// narrowRunes are the non-ASCII characters the panes draw, each one
// column wide.
const narrowRunes = "▸▾→←…✓✔✖‼⟳█░│┃━┏┓┗┛╭╮╰╯─≠•·—"

// Width is the display width of s. Text made of ASCII, SGR escapes and the
// panes' own symbols is measured here; anything else by ansi.StringWidth,
// which is exact but slow.
func Width(s string) int {
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

// Cell cuts or pads plain text s to exactly w columns.
func Cell(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := Width(s)
	if sw > w {
		return ansi.Truncate(s, w, "…")
	}
	return s + strings.Repeat(" ", w-sw)
}

// Pad fills s (which may hold escape codes) with spaces to w columns; s
// as wide or wider stays as it is.
func Pad(s string, w int) string {
	if n := Width(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

// Wrap breaks plain text into lines of at most w columns.
func Wrap(s string, w int) []string {
	if w < 8 {
		w = 8
	}
	return strings.Split(ansi.Wrap(s, w, ""), "\n")
}

// resetSGR ends any style a cut line left open.
const resetSGR = "\x1b[m"

// Overlay draws box (a rendered block) centred over the rows of bg.
func Overlay(bg []string, box string, w, h int) []string {
	bw, bh := BlockSize(box)
	return OverlayAt(bg, box, max(0, (w-bw)/2), max(0, (h-bh)/2), w, h)
}

// BlockSize is the width and height of a rendered block.
func BlockSize(box string) (w, h int) {
	rows := strings.Split(box, "\n")
	for _, r := range rows {
		w = max(w, ansi.StringWidth(r))
	}
	return w, len(rows)
}

// OverlayAt draws box over the rows of bg (w×h) with its top-left corner
// at column x, row y; what is under it stays visible around it.
func OverlayAt(bg []string, box string, x, y, w, h int) []string {
	rows := strings.Split(box, "\n")
	bw, _ := BlockSize(box)
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
		if y+i < 0 {
			continue
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

// Pen paints one-line text with a style's escape codes, without going
// through lipgloss for every cell: the codes are taken once from the
// style. Only for styles without padding, borders or sizes.
type Pen struct{ pre, post string }

// NewPen takes the escape codes of s.
func NewPen(s lipgloss.Style) Pen {
	const mark = "\x00"
	out := s.Render(mark)
	pre, post, ok := strings.Cut(out, mark)
	if !ok {
		return Pen{}
	}
	return Pen{pre: pre, post: post}
}

// Render paints s.
func (p Pen) Render(s string) string {
	if p.pre == "" && p.post == "" {
		return s
	}
	return p.pre + s + p.post
}

// Pens are the console's styles as pens, built once per Styles.
type Pens struct {
	from                                                    *Styles
	Normal, Muted, Accent, OK, Info, Warn, Bad, Danger, Key Pen
	Selected                                                Pen
	Dialog, DialogDanger                                    Frame
}

// Of reports whether p was built from s (a theme change makes new styles).
func (p *Pens) Of(s *Styles) bool { return p != nil && p.from == s }

// NewPens builds the pens of s.
func NewPens(s *Styles) *Pens {
	return &Pens{
		from: s, Normal: NewPen(s.Normal), Muted: NewPen(s.Muted), Accent: NewPen(s.Accent), OK: NewPen(s.OK),
		Info: NewPen(s.Info), Warn: NewPen(s.Warn), Bad: NewPen(s.Bad), Danger: NewPen(s.Danger), Key: NewPen(s.Key),
		Selected: NewPen(s.Selected), Dialog: NewFrame(s.Dialog), DialogDanger: NewFrame(s.DialogDanger),
	}
}

// Frame draws a dialog's border as a lipgloss style describes it (border
// characters, border colour, horizontal padding), cheaply.
type Frame struct {
	b          lipgloss.Border
	ink        Pen
	padL, padR int
}

// NewFrame takes the border, its colour and the padding of s.
func NewFrame(s lipgloss.Style) Frame {
	return Frame{
		b:    s.GetBorderStyle(),
		ink:  NewPen(lipgloss.NewStyle().Foreground(s.GetBorderTopForeground())),
		padL: s.GetPaddingLeft(), padR: s.GetPaddingRight(),
	}
}

// Render frames lines, each already exactly w columns wide.
func (f Frame) Render(lines []string, w int) string {
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

// Look is a pane's styles: the session's, or plain ones until the session
// has any; and their pens, rebuilt when the theme changes.
type Look struct {
	plain *Styles
	pens  *Pens
}

// Styles are the styles to draw with.
func (l *Look) Styles(c *Context) *Styles {
	if c != nil && c.Styles != nil {
		return c.Styles
	}
	if l.plain == nil {
		l.plain = NewStyles(Theme{NoColor: true})
	}
	return l.plain
}

// Pens are the styles as pens.
func (l *Look) Pens(c *Context) *Pens {
	s := l.Styles(c)
	if !l.pens.Of(s) {
		l.pens = NewPens(s)
	}
	return l.pens
}

// RiskBadge is a risk class as the panes show it: a symbol and a word, so
// that it reads without colour.
func RiskBadge(p *Pens, r bench.Risk) string {
	switch r {
	case bench.RiskSafe:
		return p.OK.Render("✓ safe")
	case bench.RiskCaution:
		return p.Warn.Render("! caution")
	case bench.RiskIrreversible:
		return p.Danger.Render("‼ IRREVERSIBLE")
	case bench.RiskBrick:
		return p.Danger.Render("✖ BRICK")
	}
	return p.Bad.Render(r.String())
}

// Truncate cuts s (which may hold escape codes) to w columns, ending a cut
// line with an ellipsis so that the reader sees there is more.
func Truncate(s string, w int) string {
	if ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, max(w, 0), "…")
}

// TextInput is a one-line text field in the session's styles, with the
// cursor not blinking (the console draws no timer of its own for it).
func TextInput(c *Context, prompt, placeholder string) textinput.Model {
	in := textinput.New()
	in.Prompt = prompt
	in.Placeholder = placeholder
	in.CharLimit = 200
	st := textinput.Styles{Cursor: textinput.CursorStyle{Blink: false}}
	if c != nil && c.Styles != nil {
		st.Focused = textinput.StyleState{Prompt: c.Styles.Accent, Text: c.Styles.Normal, Placeholder: c.Styles.Muted}
		st.Blurred = textinput.StyleState{Prompt: c.Styles.Muted, Text: c.Styles.Muted, Placeholder: c.Styles.Muted}
	}
	in.SetStyles(st)
	return in
}
