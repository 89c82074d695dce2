// Package logpane is the console's log pane: the bench's log entries with
// their levels, a level and a text filter, scrolling, search, and the
// probe's protocol trace on demand.
package logpane

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/sirupsen/logrus"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/tui/common"
)

// MaxEntries bounds the entries kept; the oldest go first.
const MaxEntries = 5000

// entry is one log line, formatted once.
type entry struct {
	t      time.Time
	level  logrus.Level
	msg    string
	fields string
	lower  string // msg and fields in lower case, for filter and search

	// the line as last drawn, for width drawnW with drawnSt
	drawn   string
	drawnW  int
	drawnSt *common.Styles
}

// input is what the text input is typed for.
type input int

const (
	inputFilter input = iota
	inputSearch
)

// levels are the level filter's steps: show entries at or above each.
var levels = []logrus.Level{logrus.TraceLevel, logrus.DebugLevel, logrus.InfoLevel, logrus.WarnLevel, logrus.ErrorLevel}

// Model is the log pane.
type Model struct {
	common.Base
	c    *common.Context
	keys keyMap
	w, h int

	// Location is the time zone the times are shown in (time.Local).
	Location *time.Location

	entries []entry
	lost    int // entries lost because the console fell behind

	levelIdx int    // into levels
	filter   string // only entries containing it (lower case)
	search   string // highlighted, n/N jump (lower case)

	shown   []int // indices of the entries that pass the filters
	dirty   bool
	top     int  // first shown line on screen
	follow  bool // keep the newest line in view
	matchAt int  // the current search match (index into shown), -1 none

	editing input // what the prompt asks for, while it is open
	prompt  common.Prompt

	trace     bool
	prevLevel logrus.Level
}

// New makes the log pane.
func New(c *common.Context) *Model {
	m := &Model{Base: common.Base{ID: common.PaneLog}, c: c, keys: newKeyMap(), follow: true, matchAt: -1, Location: time.Local}
	m.prompt = common.NewPrompt(200)
	return m
}

// SetSize sets the pane's size.
func (m *Model) SetSize(w, h int) {
	m.w, m.h = w, h
	m.prompt.SetWidth(max(10, w-30))
	m.clampTop()
}

// Capturing is true while a filter or a search is typed.
func (m *Model) Capturing() bool { return m.prompt.IsOpen() }

// Keys are the pane's bindings.
func (m *Model) Keys() []key.Binding {
	k := m.keys
	if m.prompt.IsOpen() {
		return []key.Binding{k.Confirm, k.Escape}
	}
	// the help names every key that works: the scroll and match bindings
	// are shown once each, with all their keys
	scroll := common.Binding("↑↓/jk/pgup/pgdn", "scroll", "up", "down", "k", "j", "pgup", "pgdown", "b", "space")
	match := common.Binding("n/N", "next/prev match", "n", "N")
	return []key.Binding{scroll, k.Level, k.Filter, k.Search, match, k.Trace, k.Home, k.End}
}

// Len is the number of entries kept.
func (m *Model) Len() int { return len(m.entries) }

// add keeps a log entry.
func (m *Model) add(e bench.LogEntry) {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var fb strings.Builder
	for i, k := range keys {
		if i > 0 {
			fb.WriteByte(' ')
		}
		fmt.Fprintf(&fb, "%s=%v", k, e.Fields[k])
	}
	en := entry{t: e.Time, level: e.Level, msg: e.Message, fields: fb.String()}
	en.lower = strings.ToLower(en.msg + " " + en.fields)
	if len(m.entries) >= MaxEntries {
		drop := len(m.entries) - MaxEntries + 1 + MaxEntries/10 // drop a tenth at once
		m.entries = append(m.entries[:0], m.entries[drop:]...)
		m.top = max(0, m.top-drop)
	}
	m.entries = append(m.entries, en)
	m.dirty = true
}

// refresh recomputes the shown entries after a change.
func (m *Model) refresh() {
	if !m.dirty {
		return
	}
	m.dirty = false
	lvl := levels[m.levelIdx]
	m.shown = m.shown[:0]
	for i := range m.entries {
		e := &m.entries[i]
		if e.level > lvl {
			continue
		}
		if m.filter != "" && !strings.Contains(e.lower, m.filter) {
			continue
		}
		m.shown = append(m.shown, i)
	}
	m.clampTop()
}

// body is the number of lines the entries get (below the status line).
func (m *Model) body() int { return max(1, m.h-1) }

func (m *Model) clampTop() {
	maxTop := max(0, len(m.shown)-m.body())
	if m.follow {
		m.top = maxTop
	}
	m.top = min(max(m.top, 0), maxTop)
}

// Update handles a message.
func (m *Model) Update(msg tea.Msg) (common.Pane, tea.Cmd) {
	switch msg := msg.(type) {
	case common.EventMsg:
		switch e := msg.Event.(type) {
		case bench.LogEntry:
			m.add(e)
		case bench.Dropped:
			m.lost += e.Count
		}
		return m, nil
	case tea.KeyPressMsg:
		if m.prompt.IsOpen() {
			return m, m.editKey(msg)
		}
		return m, m.key(msg)
	case tea.MouseWheelMsg:
		switch msg.Mouse().Button {
		case tea.MouseWheelUp:
			m.scroll(-3)
		case tea.MouseWheelDown:
			m.scroll(3)
		}
	}
	return m, nil
}

// scroll moves the view by n lines.
func (m *Model) scroll(n int) {
	m.refresh()
	m.top += n
	m.follow = false
	m.clampTop()
	if m.top >= len(m.shown)-m.body() {
		m.follow = true
	}
}

// key handles a key press.
func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	m.refresh()
	if n, ok := k.Lines(msg, m.body()); ok {
		m.scroll(n)
		return nil
	}
	switch {
	case key.Matches(msg, k.Home):
		m.follow = false
		m.top = 0
	case key.Matches(msg, k.End):
		m.follow = true
		m.clampTop()
	case key.Matches(msg, k.Level):
		m.levelIdx = (m.levelIdx + 1) % len(levels)
		m.dirty = true
		m.refresh()
		return common.Status("log: showing " + levelName(levels[m.levelIdx]) + " and above")
	case key.Matches(msg, k.Filter):
		return m.edit(inputFilter, m.filter)
	case key.Matches(msg, k.Search):
		return m.edit(inputSearch, m.search)
	case key.Matches(msg, k.Next):
		return m.jump(1)
	case key.Matches(msg, k.Prev):
		return m.jump(-1)
	case key.Matches(msg, k.Trace):
		return m.toggleTrace()
	}
	return nil
}

// edit starts typing a filter or a search.
func (m *Model) edit(what input, value string) tea.Cmd {
	m.editing = what
	return m.prompt.Ask(map[input]string{inputFilter: "filter: ", inputSearch: "search: "}[what], value)
}

// editKey types into the filter or search; enter applies it, esc gives up.
func (m *Model) editKey(msg tea.KeyPressMsg) tea.Cmd {
	v, answered, cmd := m.prompt.Key(msg, m.keys.Confirm, m.keys.Escape)
	if !answered {
		return cmd
	}
	v = strings.ToLower(v)
	if m.editing == inputFilter {
		m.filter = v
		m.dirty = true
		m.refresh()
		return nil
	}
	m.search = v
	m.matchAt = -1
	if v == "" {
		return nil
	}
	return m.jump(-1) // the newest match first
}

// jump moves to the next (dir 1) or previous (-1) search match.
func (m *Model) jump(dir int) tea.Cmd {
	if m.search == "" {
		return common.Status("no search: press / to search the log")
	}
	m.refresh()
	n := len(m.shown)
	if n == 0 {
		return common.Status("the log is empty")
	}
	start := m.matchAt
	if start < 0 {
		start = n
		if dir > 0 {
			start = -1
		}
	}
	for i := 1; i <= n; i++ {
		j := start + dir*i
		if j < 0 || j >= n {
			break
		}
		if strings.Contains(m.entries[m.shown[j]].lower, m.search) {
			m.matchAt = j
			m.follow = false
			m.top = j - m.body()/2
			m.clampTop()
			return nil
		}
	}
	return common.Status("no more matches for \"" + m.search + "\"")
}

// toggleTrace sets the bench's logger to trace level (every probe
// transfer) and back.
func (m *Model) toggleTrace() tea.Cmd {
	if m.c.Bench == nil {
		return common.StatusErr("no probe is open")
	}
	l := m.c.Bench.Log()
	if !m.trace {
		m.prevLevel = l.GetLevel()
		l.SetLevel(logrus.TraceLevel)
		m.trace = true
		return common.Status("protocol trace on: every probe transfer is logged (T turns it off)")
	}
	l.SetLevel(m.prevLevel)
	m.trace = false
	return common.Status("protocol trace off")
}

// Tracing reports whether this pane turned the protocol trace on.
func (m *Model) Tracing() bool { return m.trace }

// View draws the pane.
func (m *Model) View() string {
	if m.w <= 0 || m.h <= 0 {
		return ""
	}
	m.refresh()
	st := m.c.Styles
	var b strings.Builder
	b.WriteString(m.statusLine())
	if len(m.shown) == 0 {
		b.WriteString("\n" + st.Muted.Render(" nothing logged yet at this level"))
		return b.String()
	}
	end := min(len(m.shown), m.top+m.body())
	for i := m.top; i < end; i++ {
		b.WriteByte('\n')
		b.WriteString(m.line(i))
	}
	return b.String()
}

// statusLine is the pane's first line: filters, search, trace, position.
func (m *Model) statusLine() string {
	st := m.c.Styles
	if m.prompt.IsOpen() {
		return " " + m.prompt.View()
	}
	parts := []string{st.Accent.Render("Log"), "level ≥ " + levelName(levels[m.levelIdx])}
	if m.filter != "" {
		parts = append(parts, "filter "+st.Key.Render(fmt.Sprintf("%q", m.filter)))
	}
	if m.search != "" {
		parts = append(parts, "search "+st.Key.Render(fmt.Sprintf("%q", m.search)))
	}
	if m.trace {
		parts = append(parts, st.Warn.Render("TRACE on"))
	}
	pos := fmt.Sprintf("%d/%d", min(len(m.shown), m.top+m.body()), len(m.shown))
	if m.follow {
		pos += " following"
	}
	parts = append(parts, st.Muted.Render(pos))
	if m.lost > 0 {
		parts = append(parts, st.Warn.Render(fmt.Sprintf("%d events lost", m.lost)))
	}
	return common.Truncate(" "+strings.Join(parts, st.Muted.Render(" · ")), m.w)
}

// line draws shown entry i (each entry is drawn once per width and
// theme).
func (m *Model) line(i int) string {
	st := m.c.Styles
	e := &m.entries[m.shown[i]]
	if e.drawnW != m.w || e.drawnSt != st {
		loc := m.Location
		if loc == nil {
			loc = time.Local
		}
		lv, sty := levelLook(st, e.level)
		s := " " + st.Muted.Render(e.t.In(loc).Format("15:04:05.000")) + " " + sty.Render(lv) + " " + e.msg
		if e.fields != "" {
			s += " " + st.Muted.Render(e.fields)
		}
		e.drawn, e.drawnW, e.drawnSt = common.Truncate(s, m.w), m.w, st
	}
	s := e.drawn
	if m.search != "" && strings.Contains(e.lower, m.search) {
		if i == m.matchAt {
			return st.Selected.Render(common.Pad(s, m.w))
		}
		return st.Key.Render("▌") + s[1:]
	}
	return s
}

// levelLook is a level's fixed-width word and style.
func levelLook(st *common.Styles, l logrus.Level) (string, lipgloss.Style) {
	switch l {
	case logrus.TraceLevel:
		return "TRACE", st.Muted
	case logrus.DebugLevel:
		return "DEBUG", st.Muted
	case logrus.InfoLevel:
		return "INFO ", st.Info
	case logrus.WarnLevel:
		return "WARN ", st.Warn
	}
	return "ERROR", st.Bad
}

func levelName(l logrus.Level) string { return l.String() }
