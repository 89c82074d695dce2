package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/stprobe/stprobe/tui/common"
)

// View draws the header, the tab bar, the banner, the focused pane (or
// the full help) and the footer. Within a frame of the last drawing it
// gives that drawing again (Update has asked for a frameMsg, after which
// the changes are drawn); a closed session is drawn at once.
func (m *Model) View() tea.View {
	if m.frameAt.IsZero() || m.closed || m.frameStale && m.now().Sub(m.frameAt) >= frameEvery {
		m.frame, m.frameAt, m.frameStale = m.view(), m.now(), false
	}
	return m.frame
}

// view draws the screen now.
func (m *Model) view() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	v.WindowTitle = "stprobe"
	if s := m.c.Snapshot(); s.Simulated {
		v.WindowTitle = "stprobe — simulated " + s.Scenario
	}
	switch {
	case m.c.Busy() != "" && m.percent >= 0:
		v.ProgressBar = tea.NewProgressBar(tea.ProgressBarDefault, m.percent)
	case m.c.Busy() != "":
		v.ProgressBar = tea.NewProgressBar(tea.ProgressBarIndeterminate, 0)
	}
	return v
}

// Render is the screen as a string (what View shows).
func (m *Model) Render() string {
	if m.headerStale {
		m.layout()
	}
	var b strings.Builder
	for _, l := range m.headerLines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	b.WriteString(m.tabBar())
	b.WriteByte('\n')
	if bn := m.banner(); bn != "" {
		bn = common.Truncate(bn, m.width-2)
		b.WriteString(m.c.Styles.Banner.Render(common.Pad(bn, m.width-2)))
		b.WriteByte('\n')
	}
	var body string
	if m.showHelp {
		body = m.fullHelp()
	} else {
		body = m.panes[m.focus].View()
	}
	body = common.Fit(body, m.width, m.paneH)
	if m.quitAsk {
		body = strings.Join(common.Overlay(strings.Split(body, "\n"), m.quitDialog(), m.width, m.paneH), "\n")
	}
	b.WriteString(body)
	b.WriteByte('\n')
	b.WriteString(m.footer())
	return b.String()
}

// quitDialog asks whether to quit while this session's write runs.
func (m *Model) quitDialog() string {
	st := m.c.Styles
	kind := "write"
	if j := m.ownWrite(); j != nil {
		kind = j.Kind
	}
	w := max(20, min(60, m.width-6))
	lines := []string{st.Danger.Render("Quit while the " + kind + " runs?")}
	text := "Quitting cancels the write: the bench stops it where it safely can — staged values are undone, a started programming is finished and read back — and the console quits once it has, saying what the chip holds. The audit log records it."
	for _, l := range common.Wrap(text, w) {
		lines = append(lines, st.Normal.Render(l))
	}
	lines = append(lines, "", st.Key.Render("y")+st.Normal.Render(" cancel the write and quit   ")+st.Key.Render("n")+st.Normal.Render("/esc keep going"))
	return st.DialogDanger.Render(strings.Join(lines, "\n"))
}

// tabKey is what the tab bar is drawn from.
type tabKey struct {
	styles      *common.Styles
	width       int
	focus       int
	help        bool
	titles      string
	lease       bool   // this session holds the probe
	holder      string // who does, when another session
	readOnly    bool
	initialized bool
}

// tabBar draws the tabs and, on the right, who holds the probe; the
// drawing is kept until one of these changes.
func (m *Model) tabBar() string {
	k := tabKey{styles: m.c.Styles, width: m.width, focus: m.focus, help: m.showHelp, lease: m.c.HasLease(), readOnly: m.c.ReadOnly, initialized: true}
	for _, p := range m.panes {
		k.titles += p.Title() + "\x00"
	}
	if l := m.c.Snapshot().Lease; l != nil {
		k.holder = l.Holder.Name
	}
	if k == m.tabCache {
		return m.tabDrawn
	}
	m.tabCache, m.tabDrawn = k, m.drawTabBar()
	return m.tabDrawn
}

// drawTabBar draws the tab bar now: the tabs' full names and the lease
// badge in full when they fit, else the badge in fewer words, else the
// tabs' short names ("OB", "DA"), else the badge cut.
func (m *Model) drawTabBar() string {
	var tabs string
	var x int
	var right string
	fits := false
	for _, f := range []struct{ shortTabs, shortLease bool }{{false, false}, {false, true}, {true, false}, {true, true}} {
		tabs, x = m.drawTabs(f.shortTabs)
		right = m.leaseText(f.shortLease, 0)
		if m.width-x-lipgloss.Width(right)-1 >= 1 {
			fits = true
			break
		}
	}
	pad := m.width - x - lipgloss.Width(right) - 1
	if !fits {
		// too narrow: keep the tabs and the badge's words, cut the
		// holder's name, else the badge
		room := m.width - x - 2
		if n := room - lipgloss.Width(m.leaseText(true, 1)) + 1; n >= 4 {
			right = m.leaseText(true, n)
		}
		right = lipgloss.NewStyle().MaxWidth(max(0, room)).Render(right)
		pad = max(1, m.width-x-lipgloss.Width(right)-1)
	}
	return lipgloss.NewStyle().MaxWidth(m.width).Render(tabs + strings.Repeat(" ", pad) + right)
}

// drawTabs draws the tabs (with their short names when short) and records
// where each is for the mouse; it returns them and their width.
func (m *Model) drawTabs(short bool) (string, int) {
	st := m.c.Styles
	var b strings.Builder
	m.tabs = m.tabs[:0]
	x := 0
	for i, p := range m.panes {
		title := p.Title()
		if short {
			title = common.PaneID(i).Short()
		}
		label := string(rune('1'+i)) + " " + title
		s := st.TabInactive.Render(label)
		if i == m.focus && !m.showHelp {
			s = st.TabActive.Render("▸" + label)
		}
		w := lipgloss.Width(s)
		m.tabs = append(m.tabs, tabSpan{x, x + w})
		x += w
		b.WriteString(s)
	}
	return b.String(), x
}

// leaseText says who holds the probe (in fewer words when short), with
// the holder's name cut to nameMax cells when nameMax > 0.
func (m *Model) leaseText(short bool, nameMax int) string {
	st := m.c.Styles
	c := m.c
	l := c.Snapshot().Lease
	if l != nil && nameMax > 0 {
		h := *l
		h.Holder.Name = common.Truncate(h.Holder.Name, nameMax)
		l = &h
	}
	switch {
	case c.HasLease():
		return st.OK.Render("● you hold the probe")
	case c.ReadOnly && l != nil && short:
		return st.Muted.Render("◌ observer · " + l.Holder.Name + " holds it")
	case c.ReadOnly && l != nil:
		return st.Muted.Render("◌ observer · " + l.Holder.Name + " holds the probe")
	case c.ReadOnly:
		return st.Muted.Render("◌ observer")
	case l != nil && short:
		return st.Warn.Render("◌ " + l.Holder.Name + " holds the probe")
	case l != nil:
		return st.Warn.Render("◌ " + l.Holder.Name + " holds the probe: L asks for it")
	}
	return st.Muted.Render("○ probe free: L takes it")
}

// footer is the status or the short help on the left, the running job on
// the right.
func (m *Model) footer() string {
	st := m.c.Styles
	right := ""
	if k := m.c.Busy(); k != "" {
		right = m.spin.View() + " " + k
		if m.progress != "" {
			right += " " + m.progress
		}
		if m.c.HasLease() {
			right += st.Muted.Render(" · ctrl+x stops")
		}
	} else if tools := m.c.Snapshot().ToolLine(time.Now()); tools != "" {
		// who uses the shared probe through which tool
		right = st.Info.Render("⇄ " + tools)
	}
	w := m.width - lipgloss.Width(right) - 3 // a space on each side, one between
	left := m.footerLeft(w)
	pad := max(1, m.width-lipgloss.Width(left)-lipgloss.Width(right)-1)
	return " " + left + strings.Repeat(" ", max(1, pad-1)) + right
}

// footerLeft is the footer's left part in width w: the quit question, the
// status, or the short help — "? help" and "q quit" always. It is drawn
// again only when what it shows changed.
func (m *Model) footerLeft(w int) string {
	var k strings.Builder
	fmt.Fprintf(&k, "%p %d %t %t %q", m.c.Styles, w, m.quitAsk, m.statusErr, m.status)
	short := m.paneHelp().ShortHelp()
	for _, b := range append([]key.Binding{m.keys.Help, m.keys.Quit}, short...) {
		h := b.Help()
		fmt.Fprintf(&k, "\x00%s\x00%s\x00%t", h.Key, h.Desc, b.Enabled())
	}
	if k.String() == m.footerKey {
		return m.footerDrawn
	}
	st := m.c.Styles
	var left string
	fixed := m.help.ShortHelpView([]key.Binding{m.keys.Help, m.keys.Quit})
	room := max(0, w-lipgloss.Width(fixed)-3)
	switch {
	case m.quitAsk:
		left = st.Key.Render("y") + st.Normal.Render(" cancel the write and quit") + st.Muted.Render(" • ") + st.Key.Render("n/esc") + st.Normal.Render(" keep going")
	case m.status != "" && m.statusErr:
		left = st.Bad.Render(common.Truncate("✖ "+m.status, room)) + st.Muted.Render(" • ") + fixed
	case m.status != "":
		left = st.Info.Render(common.Truncate("ℹ "+m.status, room)) + st.Muted.Render(" • ") + fixed
	default:
		left = m.shortHelp(short, room)
		if left != "" {
			left += st.Muted.Render(" • ")
		}
		left += fixed
	}
	m.footerKey, m.footerDrawn = k.String(), lipgloss.NewStyle().MaxWidth(max(0, w)).Render(left)
	return m.footerDrawn
}

// shortHelp is the short help of bs in room columns: the help model cuts
// with an ellipsis, but lets an item overflow when not even the ellipsis
// fits after it, which pushed "? help • q quit" off the footer; bindings
// are dropped from the end until the line fits.
func (m *Model) shortHelp(bs []key.Binding, room int) string {
	m.help.SetWidth(room)
	for n := len(bs); n > 0; n-- {
		if v := m.help.ShortHelpView(bs[:n]); lipgloss.Width(v) <= room {
			return v
		}
	}
	return ""
}

// paneHelp is the help of the focused pane.
func (m *Model) paneHelp() helpKeys {
	return helpKeys{global: m.keys.global(), pane: m.panes[m.focus].Keys(), rows: m.paneH - 3}
}

// fullHelp is the help screen: the global keys, then the focused pane's,
// every one of them (a key unavailable now is named, muted, with
// "unavailable now"), flowed into as many columns as the width allows and
// never cut: the same bindings the footer's short help draws from.
func (m *Model) fullHelp() string {
	st := m.c.Styles
	h := m.paneHelp()
	title := st.Accent.Render("Keys") + st.Muted.Render("  — global, then "+m.panes[m.focus].Title()+" (? or esc closes)")
	type item struct {
		key, desc string
		on        bool
	}
	var items []item
	section := func(name string, bs []key.Binding) {
		items = append(items, item{key: name})
		for _, b := range bs {
			if hb := b.Help(); hb.Key != "" {
				items = append(items, item{key: hb.Key, desc: hb.Desc, on: b.Enabled()})
			}
		}
	}
	section("global", h.global)
	section(m.panes[m.focus].Title(), h.pane)
	keyW := 0
	for _, it := range items {
		if it.desc != "" {
			keyW = max(keyW, common.Width(it.key))
		}
	}
	// lay out in the fewest columns that fit the rows: each item wrapped
	// in its column (its description indented under itself), none cut
	render := func(colW int) []string {
		var out []string
		for n, it := range items {
			if it.desc == "" {
				if n > 0 {
					out = append(out, "")
				}
				out = append(out, st.Accent.Render(it.key))
				continue
			}
			desc := it.desc
			if !it.on {
				desc += " (unavailable now)"
			}
			for k, l := range common.Wrap(desc, max(8, colW-keyW-3)) {
				kk := common.Pad("", keyW)
				if k == 0 {
					kk = common.Pad(it.key, keyW)
				}
				if it.on {
					out = append(out, st.Key.Render(kk)+" "+st.Normal.Render(l))
				} else {
					out = append(out, st.Muted.Render(kk+" "+l))
				}
			}
		}
		return out
	}
	rows := max(4, m.paneH-3)
	var lines []string
	var perRow, colW int
	for perRow = 1; ; perRow++ {
		colW = max(16, (m.width-2)/perRow)
		lines = render(colW)
		if (len(lines)+perRow-1)/perRow <= rows || colW == 16 {
			break
		}
	}
	rows = (len(lines) + perRow - 1) / perRow
	var b strings.Builder
	b.WriteString(" " + title + "\n\n")
	for r := 0; r < rows; r++ {
		b.WriteString(" ")
		for c := 0; c < perRow; c++ {
			i := c*rows + r
			if i >= len(lines) {
				break
			}
			cell := lines[i]
			b.WriteString(common.Pad(cell, colW))
		}
		b.WriteString("\n")
	}
	return b.String()
}
