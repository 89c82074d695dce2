package writeflow

import (
	"fmt"
	"path/filepath"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/tui/common"
)

// Body collects the lines of a scrolled screen W columns wide.
type Body struct {
	Lines []string
	W     int
}

// NewBody starts the lines of a screen as wide as the pane's content.
func (f *Flow) NewBody() *Body { return &Body{W: f.W} }

// Add appends lines as they are.
func (b *Body) Add(l ...string) { b.Lines = append(b.Lines, l...) }

// Wrap appends text wrapped to the width, each line after indent and
// drawn with p.
func (b *Body) Wrap(p common.Pen, indent, text string) {
	for _, l := range common.Wrap(text, b.W-common.Width(indent)) {
		b.Lines = append(b.Lines, indent+p.Render(l))
	}
}

// Hang appends text after indent and mark, wrapped so that its further
// lines stand under the text, not under the mark.
func (b *Body) Hang(p common.Pen, indent, mark, text string) {
	lead := indent + mark + " "
	under := strings.Repeat(" ", common.Width(lead))
	for i, l := range common.Wrap(text, b.W-common.Width(lead)) {
		if i == 0 {
			b.Lines = append(b.Lines, indent+p.Render(mark+" "+l))
		} else {
			b.Lines = append(b.Lines, under+p.Render(l))
		}
	}
}

// Pinned scrolls body over the pane's height less the footer's (from
// Scroll, which it keeps in range), marks the lines below, and keeps
// footer at the bottom.
func (f *Flow) Pinned(body, footer []string) []string {
	s := f.Pens()
	bodyH := max(1, f.H-len(footer)-1)
	f.Scroll = max(0, min(f.Scroll, len(body)-bodyH))
	end := min(len(body), f.Scroll+bodyH)
	out := make([]string, 0, f.H)
	out = append(out, body[f.Scroll:end]...)
	f.shown, f.free = len(out), bodyH-len(out)
	if end < len(body) && len(out) > 0 {
		// the marker takes the last row: that row is hidden too
		out[len(out)-1] = s.Muted.Render(fmt.Sprintf("↓ %d more line(s): ↓/j scrolls", len(body)-end+1))
	}
	for len(out) < bodyH {
		out = append(out, "")
	}
	out = append(out, "")
	return append(out, footer...)
}

// WithGuard draws the open guard over lines (a screen Pinned drew): under
// the last line of the plan when it fits there, so that the plan stays in
// view above it, else centred.
func (f *Flow) WithGuard(lines []string) []string {
	if f.Guard == nil {
		return lines
	}
	box := f.Guard.View(f.Pens(), f.W, f.H)
	bw, bh := common.BlockSize(box)
	x, y := max(0, (f.W-bw)/2), max(0, (f.H-bh)/2)
	if bh <= f.free-1 {
		y = f.shown + 1
	}
	return common.OverlayAt(lines, box, x, y, f.W, f.H)
}

// KeyMap are the keys the plan and run screens share.
type KeyMap struct {
	Back, Up, Down key.Binding
}

// NewKeyMap is the shared keys with their help.
func NewKeyMap() KeyMap {
	return KeyMap{
		Back: common.Binding("esc", "back", "esc"),
		Up:   common.Binding("↑/k", "up", "up", "k"),
		Down: common.Binding("↓/j", "down", "down", "j"),
	}
}

// ScreenBindings are the shared keys, for a pane's Keys on its plan and
// run screens (after its own).
func (f *Flow) ScreenBindings() []key.Binding {
	return []key.Binding{f.FlowKeys.Back, f.FlowKeys.Up, f.FlowKeys.Down}
}

// ScreenKey handles the keys the plan and run screens share: up and down
// scroll, back returns to Main (not while the pane's write runs). It
// reports whether the key was one of them.
func (f *Flow) ScreenKey(msg tea.KeyPressMsg) (tea.Cmd, bool) {
	back, up, down := f.FlowKeys.Back, f.FlowKeys.Up, f.FlowKeys.Down
	switch {
	case key.Matches(msg, back):
		if f.Applying() {
			return f.Fail("the write is running: wait for it (" + common.CancelKey + " stops it where it safely can)"), true
		}
		f.Screen, f.Scroll = Main, 0
	case key.Matches(msg, up):
		f.Scroll = max(0, f.Scroll-1)
	case key.Matches(msg, down):
		f.Scroll++
	default:
		return nil, false
	}
	return nil, true
}

// Wheel scrolls the plan or run screen under the mouse wheel; it reports
// whether the wheel was for it.
func (f *Flow) Wheel(b tea.MouseButton) bool {
	if f.Screen != Plan && f.Screen != Run || f.Guard != nil {
		return false
	}
	switch b {
	case tea.MouseWheelUp:
		f.Scroll = max(0, f.Scroll-1)
	case tea.MouseWheelDown:
		f.Scroll++
	default:
		return false
	}
	return true
}

// GuardFooter is the plan screen's bottom for a write behind the guard:
// what a does and how to go back (on a line of its own when both do not
// fit), and the phrase to type.
func (f *Flow) GuardFooter(what, back, phrase string) []string {
	s := f.Pens()
	out := []string{s.Danger.Render(what) + s.Muted.Render(" · "+back)}
	if common.Width(what)+3+common.Width(back) > f.W {
		out = []string{s.Danger.Render(what), s.Muted.Render(back)}
	}
	return append(out, "  "+s.Accent.Render(phrase))
}

// UnavailableFooter is the plan screen's bottom when the write cannot run:
// why, and the way back.
func (f *Flow) UnavailableFooter(why, back string) []string {
	s := f.Pens()
	var out []string
	for _, l := range common.Wrap("apply unavailable: "+why, f.W) {
		out = append(out, s.Warn.Render(l))
	}
	return append(out, s.Muted.Render(back))
}

// runningHint is the run screen's bottom while the write runs.
const runningHint = "the write runs on the bench; " + common.CancelKey + " stops it where it safely can"

// RunView is the run screen: head first (the write's title, a progress
// bar); while the write runs, its steps with the newest in view; once it
// ended, outcome, then the steps, and done at the bottom.
func (f *Flow) RunView(head, outcome []string, done string) []string {
	s := f.Pens()
	b := f.NewBody()
	b.Add(head...)
	if f.Applying() {
		f.stepLines(b)
		f.Scroll = len(b.Lines) // the newest step stays in view
		return f.Pinned(b.Lines, []string{s.Muted.Render(runningHint)})
	}
	b.Add(outcome...)
	if len(f.Steps) > 0 {
		b.Add("", s.Muted.Render("steps:"))
		f.stepLines(b)
	}
	return f.Pinned(b.Lines, []string{s.Muted.Render(done)})
}

// stepLines draws the steps, names in a column, the running one marked.
func (f *Flow) stepLines(b *Body) {
	s := f.Pens()
	nameW := 0
	for _, e := range f.Steps {
		nameW = max(nameW, common.Width(e.Name))
	}
	for i, e := range f.Steps {
		mark, p := s.OK.Render("✓"), s.Normal
		if i == len(f.Steps)-1 && f.Applying() {
			mark = s.Info.Render("⟳")
		}
		text := e.Message
		lead := "  " + mark + " " + common.Cell(e.Name, nameW) + " "
		under := strings.Repeat(" ", 5+nameW)
		for j, l := range common.Wrap(text, b.W-5-nameW) {
			if j == 0 {
				b.Add(lead + p.Render(l))
			} else {
				b.Add(under + p.Render(l))
			}
		}
	}
}

// Progress is the last step's count: done of total (0, 0 when none).
func (f *Flow) Progress() (done, total int) {
	if n := len(f.Steps); n > 0 {
		return f.Steps[n-1].Done, f.Steps[n-1].Total
	}
	return 0, 0
}

// ProgressBar draws done/total in w cells.
func ProgressBar(w, done, total int) string {
	if w < 4 {
		return ""
	}
	fill := 0
	if total > 0 {
		fill = min(w, done*w/total)
	}
	return "[" + strings.Repeat("█", fill) + strings.Repeat("░", w-fill) + "]"
}

// AuditLines are the outcome's audit line and where the log is, or that
// the bench kept none.
func (f *Flow) AuditLines(a *bench.AuditRecord) []string {
	s := f.Pens()
	if a == nil {
		return []string{s.Muted.Render("audit: no record (the bench refused before the write)")}
	}
	b := f.NewBody()
	b.Hang(s.Normal, "", "audit:", AuditLine(a))
	b.Add(s.Muted.Render("       in " + filepath.Join(f.StateDir, bench.AuditFile)))
	return b.Lines
}

// AuditLine is one audit record in a line.
func AuditLine(r *bench.AuditRecord) string {
	line := fmt.Sprintf("%s %s %s by %s: %s (%s)", r.Time.UTC().Format("2006-01-02 15:04:05Z"), r.Result, r.Line, r.User, strings.Join(r.Changes, "; "), r.Risk)
	if r.Error != "" {
		line += " — " + r.Error
	}
	return line
}

// StatusLine is the pane's own line under its main screen: another
// session's write step by step, this pane's job while it runs, why this
// session cannot act, or idle ("" for nothing). The pane's messages (Say,
// Fail) are the footer's: a message shows in one place only.
func (f *Flow) StatusLine(idle string) string {
	s := f.Pens()
	switch {
	case f.Watching != "":
		msg := f.cfg.Write
		if n := len(f.Steps); n > 0 {
			msg = f.Steps[n-1].Text()
		}
		return s.Warn.Render("⟳ " + f.Watching + ": " + msg)
	case f.busy != "":
		return s.Info.Render("⟳ " + f.doing)
	}
	if f.C != nil {
		if why := f.C.Unavailable(); why != "" {
			return s.Warn.Render("read-only: " + why)
		}
	}
	return idle
}
