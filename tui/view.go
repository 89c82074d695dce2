package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

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
		bn = ansi.Truncate(bn, max(0, m.width-2), "…")
		b.WriteString(m.c.Styles.Banner.Render(bn + strings.Repeat(" ", max(0, m.width-2-ansi.StringWidth(bn)))))
		b.WriteByte('\n')
	}
	var body string
	if m.showHelp {
		body = m.fullHelp()
	} else {
		body = m.panes[m.focus].View()
	}
	b.WriteString(common.Fit(body, m.width, m.paneH))
	b.WriteByte('\n')
	b.WriteString(m.footer())
	return b.String()
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

// drawTabBar draws the tab bar now.
func (m *Model) drawTabBar() string {
	st := m.c.Styles
	var b strings.Builder
	m.tabs = m.tabs[:0]
	x := 0
	for i, p := range m.panes {
		label := string(rune('1'+i)) + " " + p.Title()
		s := st.TabInactive.Render(label)
		if i == m.focus && !m.showHelp {
			s = st.TabActive.Render("▸" + label)
		}
		w := lipgloss.Width(s)
		m.tabs = append(m.tabs, tabSpan{x, x + w})
		x += w
		b.WriteString(s)
	}
	right := m.leaseText(false)
	if m.width-x-lipgloss.Width(right)-1 < 1 {
		right = m.leaseText(true)
	}
	pad := m.width - x - lipgloss.Width(right) - 1
	if pad < 1 {
		// too narrow: keep the tabs, cut the lease text
		right = lipgloss.NewStyle().MaxWidth(max(0, m.width-x-2)).Render(right)
		pad = max(1, m.width-x-lipgloss.Width(right)-1)
	}
	b.WriteString(strings.Repeat(" ", pad))
	b.WriteString(right)
	return lipgloss.NewStyle().MaxWidth(m.width).Render(b.String())
}

// leaseText says who holds the probe (in fewer words when short).
func (m *Model) leaseText(short bool) string {
	st := m.c.Styles
	c := m.c
	l := c.Snapshot().Lease
	switch {
	case c.HasLease():
		return st.OK.Render("● you hold the probe")
	case l != nil && short:
		return st.Warn.Render("◌ " + l.Holder.Name + " holds the probe")
	case l != nil:
		return st.Warn.Render("◌ observing: " + l.Holder.Name + " holds the probe")
	case c.ReadOnly:
		return st.Muted.Render("◌ observing")
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
	w := m.width - lipgloss.Width(right) - 2
	left := m.footerLeft(w)
	pad := max(1, m.width-lipgloss.Width(left)-lipgloss.Width(right)-1)
	return " " + left + strings.Repeat(" ", pad-1) + right
}

// footerLeft is the footer's left part in width w: the status, or the
// short help. It is drawn again only when what it shows changed.
func (m *Model) footerLeft(w int) string {
	var k strings.Builder
	fmt.Fprintf(&k, "%p %d %t %q", m.c.Styles, w, m.statusErr, m.status)
	short := m.paneHelp().ShortHelp()
	if m.status == "" {
		for _, b := range append([]key.Binding{m.keys.Help, m.keys.Quit}, short...) {
			h := b.Help()
			fmt.Fprintf(&k, "\x00%s\x00%s\x00%t", h.Key, h.Desc, b.Enabled())
		}
	}
	if k.String() == m.footerKey {
		return m.footerDrawn
	}
	st := m.c.Styles
	var left string
	switch {
	case m.status != "" && m.statusErr:
		left = st.Bad.Render("✖ " + m.status)
	case m.status != "":
		left = st.Info.Render("ℹ " + m.status)
	default:
		// "? help" and "q quit" always show; the pane's keys get the rest
		fixed := m.help.ShortHelpView([]key.Binding{m.keys.Help, m.keys.Quit})
		m.help.SetWidth(max(0, w-lipgloss.Width(fixed)-3))
		left = m.help.ShortHelpView(short)
		if left != "" {
			left += st.Muted.Render(" • ")
		}
		left += fixed
	}
	m.footerKey, m.footerDrawn = k.String(), lipgloss.NewStyle().MaxWidth(max(0, w)).Render(left)
	return m.footerDrawn
}

// paneHelp is the help of the focused pane.
func (m *Model) paneHelp() helpKeys {
	return helpKeys{global: m.keys.global(), pane: m.panes[m.focus].Keys(), rows: m.paneH - 3}
}

// fullHelp is the help screen: the global keys, then the focused pane's.
func (m *Model) fullHelp() string {
	st := m.c.Styles
	m.help.SetWidth(m.width - 2)
	title := st.Accent.Render("Keys") + st.Muted.Render("  — global, then "+m.panes[m.focus].Title()+" (? or esc closes)")
	return lipgloss.NewStyle().Padding(1, 1).Render(title + "\n\n" + m.help.FullHelpView(m.paneHelp().FullHelp()))
}
