package matrix

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stprobe/stprobe/probe/sweep"
	"github.com/stprobe/stprobe/tui/common"
)

// wide is the width from which the findings go beside the grid.
const wide = 130

// View draws the pane.
func (m *Model) View() string {
	m.zones = m.zones[:0]
	if m.w <= 0 || m.h <= 0 {
		return ""
	}
	st := m.c.Styles
	if len(m.rows) == 0 {
		return m.empty()
	}
	grid := m.grid()
	var left []string
	left = append(left, grid...)
	left = append(left, m.statusLine())
	if m.export.IsOpen() {
		left = append(left, " "+m.export.View())
	}
	if m.w >= wide {
		gridW := m.gridWidth()
		leftW := max(gridW+2, m.w*9/20)
		for _, l := range m.legend(leftW - 2) {
			left = append(left, " "+l)
		}
		left = append(left, "")
		left = append(left, m.details(leftW-2)...)
		if rows := m.rowSummaries(leftW - 2); len(rows) > 0 && len(left)+len(rows)+2 <= m.h {
			left = append(left, "", st.Muted.Render(" By row"))
			left = append(left, rows...)
		}
		rightW := m.w - leftW - 1
		right := m.findingsView(rightW, m.h, leftW+1, 0)
		return join(clip(left, leftW, m.h), right, leftW, m.h, st.Muted.Render("│"))
	}
	// narrow: the grid, the cell's details and the findings' titles; or,
	// when the findings have the focus, the findings alone.
	if m.area == areaFindings {
		out := []string{m.statusLine()}
		if m.export.IsOpen() { // the file-name prompt, drawn in the findings too
			out = append(out, " "+m.export.View())
		}
		out = append(out, m.findingsView(m.w, m.h-len(out), 0, len(out))...)
		return strings.Join(clip(out, m.w, m.h), "\n")
	}
	out := left
	rest := m.h - len(out)
	d := m.details(m.w - 2)
	if len(m.findings) > 0 {
		d = d[:min(len(d), max(2, rest-min(len(m.findings), 4)-1))]
	}
	out = append(out, d...)
	if rest = m.h - len(out); rest > 1 {
		out = append(out, m.findingsView(m.w, rest, 0, len(out))...)
	}
	return strings.Join(clip(out, m.w, m.h), "\n")
}

// empty is the pane before any sweep.
func (m *Model) empty() string {
	st := m.c.Styles
	lines := []string{"",
		"  " + st.Accent.Render("No sweep yet."),
		"",
	}
	// wrapped, never cut: the help text and the reasons
	para := func(style lipgloss.Style, text string) {
		for _, l := range common.Wrap(text, max(10, m.w-3)) {
			lines = append(lines, "  "+style.Render(l))
		}
	}
	for i, l := range common.Wrap("Press s to try every connect mode × access port × SWD clock (Normal, Hot Plug, Under Reset × AP0, AP1 × about five clocks) and get a diagnosis.", max(10, m.w-3)) {
		if rest, ok := strings.CutPrefix(l, "Press s"); ok && i == 0 {
			l = "Press " + st.Key.Render("s") + rest
		}
		lines = append(lines, "  "+l)
	}
	if why := m.c.UnavailableNow(); why != "" {
		lines = append(lines, "")
		para(st.Warn, "Not now: "+why)
	}
	if why := m.c.APUnavailable(1); why != "" {
		lines = append(lines, "")
		para(st.Muted, why)
	}
	lines = append(lines, "")
	for _, l := range m.legend(m.w - 3) {
		lines = append(lines, "  "+l)
	}
	return strings.Join(clip(lines, m.w, m.h), "\n")
}

// Column widths of the grid.
const (
	labelW = 17
	cellW  = 11
)

func (m *Model) gridWidth() int { return 1 + labelW + 1 + len(m.cols)*cellW }

// grid draws the header row and one row per (mode, AP).
func (m *Model) grid() []string {
	st := m.c.Styles
	lines := make([]string, 0, len(m.rows)+1)
	var b strings.Builder
	sep := st.Muted.Render("│")
	b.WriteString(" " + st.Muted.Render(pad("mode / AP", labelW)) + sep)
	for _, khz := range m.cols {
		b.WriteString(" " + khzText(khz))
	}
	lines = append(lines, m.headRow(b.String()))
	for r, rw := range m.rows {
		b.Reset()
		label := pad(fmt.Sprintf("%s AP%d", rw.Mode.Title(), rw.AP), labelW)
		if m.area == areaGrid && r == m.selR {
			label = st.Accent.Render(label)
		}
		b.WriteString(" " + label + sep)
		for ci, khz := range m.cols {
			k := sweep.Key{Mode: rw.Mode, AP: rw.AP, KHz: khz}
			x0 := 1 + labelW + 1 + ci*cellW
			m.zones = append(m.zones, zone{x0: x0, y0: len(lines), x1: x0 + cellW, y1: len(lines) + 1, kind: zoneCell, a: r, b: ci})
			b.WriteString(m.cellText(k, r, ci))
		}
		lines = append(lines, b.String())
	}
	return lines
}

// headRow is the grid's header row, cached under key (the row's plain
// text): it changes only with the sweep's clocks.
func (m *Model) headRow(key string) string {
	m.checkCache()
	k := wrapKey{text: key, style: "grid head"}
	if v, ok := m.wrapCache[k]; ok {
		return v[0]
	}
	st := m.c.Styles
	var b strings.Builder
	b.WriteString(" " + st.Muted.Render(pad("mode / AP", labelW)) + st.Muted.Render("│"))
	for _, khz := range m.cols {
		b.WriteString(st.Muted.Render(pad(" "+khzText(khz), cellW)))
	}
	m.wrapCache[k] = []string{b.String()}
	return b.String()
}

// cellKey names a drawn grid cell in the cache.
type cellKey struct {
	o     sweep.Outcome
	state int  // 0 done, 1 being tried, 2 waiting, 3 not in this sweep, 4 implied by another cell
	sel   bool // the selected cell, or one the selected finding rests on
}

// cellText draws one grid cell.
func (m *Model) cellText(k sweep.Key, r, ci int) string {
	ck := cellKey{sel: m.area == areaGrid && r == m.selR && ci == m.selC}
	if m.area == areaFindings && m.selF < len(m.findings) {
		ck.sel = slices.Contains(m.findings[m.selF].Cells, k)
	}
	if c, ok := m.cells[k]; ok {
		ck.o = c.Outcome
		if c.ImpliedBy != nil {
			ck.state = 4
		}
	} else if m.trying != nil && *m.trying == k {
		ck.state = 1
	} else if m.live {
		ck.state = 2
	} else {
		ck.state = 3
	}
	m.checkCache()
	if s, ok := m.cellCache[ck]; ok {
		return s
	}
	st := m.c.Styles
	var s string
	switch ck.state {
	case 0:
		l := lookOf(ck.o)
		s = l.style(st).Render(pad(" "+l.symbol+" "+l.word, cellW))
	case 1:
		s = st.Accent.Render(pad(" ▶ trying", cellW))
	case 2:
		s = st.Muted.Render(pad(" ·", cellW))
	case 4:
		// not tried: a faster clock on the row gave an outcome a slower
		// one cannot change (the details say which)
		s = lookOf(ck.o).style(st).Render(" "+lookOf(ck.o).symbol) + st.Muted.Render(pad(" implied", cellW-2))
	default:
		s = pad(" ", cellW)
	}
	if ck.sel {
		s = st.Selected.Render(s)
	}
	m.cellCache[ck] = s
	return s
}

// statusLine is the sweep's progress, or the matrix's summary.
func (m *Model) statusLine() string {
	st := m.c.Styles
	if m.live {
		n := m.total
		if n <= 0 {
			n = 1
		}
		barW := 20
		filled := m.done * barW / n
		bar := st.Accent.Render(strings.Repeat("█", filled)) + st.Muted.Render(strings.Repeat("░", barW-filled))
		s := fmt.Sprintf(" sweeping %s %d/%d", bar, m.done, m.total)
		if m.trying != nil {
			s += st.Muted.Render(fmt.Sprintf("  %s AP%d %s", m.trying.Mode.Title(), m.trying.AP, khzText(m.trying.KHz)))
		}
		return s + st.Muted.Render("  x or ctrl+x stops")
	}
	if m.failed != "" && (m.matrix == nil || m.done == 0) {
		return " " + st.Bad.Render("✖ the sweep did not run: "+m.failed)
	}
	if m.matrix == nil {
		return ""
	}
	var parts []string
	for _, o := range sweep.Outcomes() {
		if n := m.matrix.Count(o); n > 0 {
			l := lookOf(o)
			parts = append(parts, l.style(st).Render(fmt.Sprintf("%s %d %s", l.symbol, n, l.word)))
		}
	}
	s := " " + strings.Join(parts, "  ")
	if m.matrix.Cancelled {
		s += "  " + st.Warn.Render("(cancelled: partial)")
	}
	if m.matrix.Wire > 0 {
		s += st.Muted.Render("  modelled " + m.matrix.Wire.Round(time.Millisecond).String())
	}
	return s
}

// rowSummaries say, for each grid row, how its cells went and why the
// first failing one failed.
func (m *Model) rowSummaries(w int) []string {
	m.checkCache()
	k := rowsKey{m.matrix, m.done, m.live, w}
	if m.rowsCache != nil && m.rowsKey == k {
		return m.rowsCache
	}
	st := m.c.Styles
	var out []string
	for _, r := range m.rows {
		counts := map[sweep.Outcome]int{}
		var first *sweep.Cell
		for _, khz := range m.cols {
			c, ok := m.cells[sweep.Key{Mode: r.Mode, AP: r.AP, KHz: khz}]
			if !ok {
				continue
			}
			counts[c.Outcome]++
			if first == nil && c.Outcome != sweep.OutcomeOK {
				cc := c
				first = &cc
			}
		}
		if len(counts) == 0 {
			continue
		}
		var parts []string
		for _, o := range sweep.Outcomes() {
			if n := counts[o]; n > 0 {
				l := lookOf(o)
				parts = append(parts, l.style(st).Render(fmt.Sprintf("%s%d", l.symbol, n)))
			}
		}
		line := fmt.Sprintf(" %-16s %s", fmt.Sprintf("%s AP%d", r.Mode.Title(), r.AP), strings.Join(parts, " "))
		if first != nil && first.Reason != "" {
			line += st.Muted.Render("  " + first.Reason)
		}
		out = append(out, common.Truncate(line, w))
	}
	m.rowsKey, m.rowsCache = k, out
	return out
}

// legend is Legend at width w, cached.
func (m *Model) legend(w int) []string {
	m.checkCache()
	k := wrapKey{style: "legend", w: w}
	if v, ok := m.wrapCache[k]; ok {
		return v
	}
	v := Legend(m.c.Styles, w)
	m.wrapCache[k] = v
	return v
}

// rowsKey names the state a row summary was drawn for.
type rowsKey struct {
	mx   *sweep.Matrix
	done int
	live bool
	w    int
}

// details describes the selected cell.
func (m *Model) details(w int) []string {
	st := m.c.Styles
	k, ok := m.Selected()
	if !ok {
		return nil
	}
	title := fmt.Sprintf("%s on AP%d at %s", k.Mode.Title(), k.AP, khzText(k.KHz))
	c, ok := m.cells[k]
	if !ok {
		what := "not tried yet"
		if m.trying != nil && *m.trying == k {
			what = "being tried now"
		}
		return []string{" " + st.Accent.Render(title) + st.Muted.Render(": "+what)}
	}
	l := lookOf(c.Outcome)
	head := " " + st.Accent.Render(title) + ": " + l.style(st).Render(l.symbol+" "+string(c.Outcome))
	var facts []string
	if c.SetKHz != 0 && c.SetKHz != c.KHz {
		facts = append(facts, fmt.Sprintf("clock set %s", khzText(c.SetKHz)))
	}
	if c.DPIDR != 0 {
		facts = append(facts, fmt.Sprintf("DPIDR 0x%08X", c.DPIDR))
	}
	if c.APIDR != 0 {
		facts = append(facts, fmt.Sprintf("AP IDR 0x%08X", c.APIDR))
	}
	if c.CPUID != 0 {
		facts = append(facts, fmt.Sprintf("CPUID 0x%08X", c.CPUID))
	}
	if c.Core.String() != "unknown" {
		facts = append(facts, "core "+c.Core.String())
	}
	if c.IDCode != 0 {
		facts = append(facts, fmt.Sprintf("IDCODE 0x%08X", c.IDCode))
	}
	if c.Chip != "" {
		facts = append(facts, c.Chip)
	}
	if c.State.Valid() {
		facts = append(facts, "state "+st.StateStyle(c.State).Render(c.State.String()), "TZEN "+c.TZEN.String())
	}
	if c.DA != nil {
		facts = append(facts, "DA "+c.DA.String())
	}
	if c.Wire > 0 {
		facts = append(facts, "modelled "+c.Wire.Round(time.Microsecond).String())
	}
	lines := []string{head}
	if by := c.ImpliedBy; by != nil {
		lines = append(lines, m.wrapStyled("muted", fmt.Sprintf(" implied by %s on AP%d at %s: not tried, a slower clock does not change %s (sweep --full tries every cell)",
			by.Mode.Title(), by.AP, khzText(by.KHz), c.Outcome), w)...)
		return lines
	}
	if c.Reason != "" && !strings.Contains(c.Err, c.Reason) {
		lines = append(lines, m.wrapStyled("normal", " "+c.Reason, w)...)
	}
	if c.Err != "" && !(c.Outcome == sweep.OutcomeOK && c.Reason != "") {
		// (an ok cell's reason says what it found, "AP0 answers; no core
		// behind it": the driver's advice for a failed connect would
		// contradict it)
		e := " failed"
		if c.FailedStep != "" && !strings.HasPrefix(c.Err, c.FailedStep) {
			e += " at " + c.FailedStep
		}
		e += ": " + c.Err
		if c.Status != 0 {
			e += fmt.Sprintf(" (status 0x%02X", uint8(c.Status))
			if c.Layer != "" {
				e += ", " + string(c.Layer)
			}
			e += ")"
		}
		style := "bad"
		if c.Outcome == sweep.OutcomeOK {
			// the cell did what it could (a debug port with no core behind
			// it): the step that stopped is a fact, not a failure
			e, style = " stopped"+strings.TrimPrefix(e, " failed"), "muted"
		}
		lines = append(lines, m.wrapStyled(style, e, w)...)
	}
	if len(facts) > 0 {
		lines = append(lines, m.wrapStyled("muted", " "+strings.Join(facts, " · "), w)...)
	}
	return lines
}

// findingsView draws the findings in w×h; x0, y0 are where it sits in the
// pane (for the mouse zones). The selected finding is expanded (detail,
// next step, actions) when the findings have the focus or there is room.
func (m *Model) findingsView(w, h, x0, y0 int) []string {
	st := m.c.Styles
	var out []string
	title := " Findings"
	if m.area == areaFindings {
		title = st.Accent.Render(title) + st.Muted.Render("  ↑↓ select · ←→ step · enter take it · f back to grid")
	} else {
		title = st.Muted.Render(title) + st.Muted.Render("  (f to browse)")
	}
	out = append(out, title)
	if len(m.findings) == 0 {
		msg := "none yet: a sweep diagnoses the whole matrix"
		if m.live {
			msg = "after the sweep"
		}
		return append(out, st.Muted.Render(" "+msg))
	}
	expand := m.area == areaFindings || w >= 60 && h > len(m.findings)+6
	for i, f := range m.findings {
		if len(out) >= h {
			break
		}
		sym, sty := severityLook(m, f.Severity)
		sel := i == m.selF && m.area == areaFindings
		title := []string{common.Truncate(" "+sty.Render(sym)+" "+f.Title, w)}
		if sel { // the whole title, wrapped
			title = wrap("   "+f.Title, w)
			title[0] = " " + sty.Render(sym) + title[0][2:]
			for j := range title {
				title[j] = st.Selected.Render(title[j])
			}
		}
		for _, line := range title {
			if len(out) >= h {
				break
			}
			m.zones = append(m.zones, zone{x0: x0, y0: y0 + len(out), x1: x0 + w, y1: y0 + len(out) + 1, kind: zoneFinding, a: i})
			out = append(out, line)
		}
		if !expand || i != m.selF {
			continue
		}
		// a "never do this" warning is pinned under the title: never cut
		warns, next := splitWarnings(f.Next)
		w2, detail := splitWarnings(f.Detail)
		for _, wl := range append(warns, w2...) {
			out = append(out, m.wrapStyled("danger", "   ⚠ "+wl, w)...)
		}
		room := h - len(out) - (len(m.findings) - 1 - i)
		acts := m.actions(f)
		if len(acts) > 0 {
			room-- // keep a line for the actions
		}
		body := m.wrapStyled("info", "   Next: "+next, w)
		if detail != "" {
			body = append(body, m.wrapStyled("normal", "   "+detail, w)...)
		}
		room = max(room, 2)
		if len(body) > room {
			// the rest scrolls (pgup/pgdn in the findings)
			m.fscroll = min(m.fscroll, len(body)-(room-1))
			from := m.fscroll
			if m.area != areaFindings {
				from = 0
			}
			more := fmt.Sprintf("   ↕ lines %d-%d of %d", from+1, from+room-1, len(body))
			if m.area == areaFindings {
				more += ": pgup/pgdn scroll"
			} else {
				more += ": f to read on"
			}
			body = append(append([]string{}, body[from:from+room-1]...), st.Muted.Render(common.Truncate(more, w)))
		}
		out = append(out, body...)
		if len(acts) > 0 && len(out) < h {
			out = append(out, m.actionLine(i, acts, x0, y0+len(out)))
		}
	}
	return out
}

// splitWarnings takes the sentences of s that tell the user never to do
// something ("Never write PRODUCT_STATE 0xC6 …") out of the rest, so that
// they are drawn where no cut reaches them.
func splitWarnings(s string) (warns []string, rest string) {
	var keep []string
	for _, sent := range sentences(s) {
		t := strings.TrimSpace(sent)
		if strings.HasPrefix(t, "Never ") || strings.HasPrefix(t, "Do not ") || strings.HasPrefix(t, "Don't ") {
			warns = append(warns, t)
			continue
		}
		keep = append(keep, sent)
	}
	return warns, strings.TrimSpace(strings.Join(keep, ""))
}

// sentences splits s after each ". " (the text keeps its spacing).
func sentences(s string) []string {
	var out []string
	for s != "" {
		i := strings.Index(s, ". ")
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i+2])
		s = s[i+2:]
	}
	return out
}

// actionLine draws a finding's actions as buttons.
func (m *Model) actionLine(fi int, acts []Action, x0, y int) string {
	st := m.c.Styles
	s := "   "
	x := x0 + 3
	for ai, a := range acts {
		label := "[ " + a.Label + " ]"
		sty := st.Key
		if a.Unavailable() != "" {
			sty = st.Muted
		}
		if m.area == areaFindings && fi == m.selF && ai == m.selA {
			sty = st.Selected
		}
		w := lipgloss.Width(label)
		m.zones = append(m.zones, zone{x0: x, y0: y, x1: x + w, y1: y + 1, kind: zoneAction, a: fi, b: ai})
		s += sty.Render(label) + " "
		x += w + 1
	}
	return s
}

// severityLook is a severity's symbol and style.
func severityLook(m *Model, s sweep.Severity) (string, lipgloss.Style) {
	st := m.c.Styles
	switch s {
	case sweep.SeverityCritical:
		return "‼", st.Danger
	case sweep.SeverityWarning:
		return "▲", st.Warn
	}
	return "•", st.Info
}

// khzText is a clock as "4000 kHz" or "4 MHz"-free short text.
func khzText(khz int) string { return fmt.Sprintf("%d kHz", khz) }

// pad pads s with spaces to width w (cutting it when longer).
func pad(s string, w int) string {
	n := ansi.StringWidth(s)
	if n > w {
		return ansi.Truncate(s, w, "")
	}
	return s + strings.Repeat(" ", w-n)
}

// truncate cuts s to width w.
// wrap wraps plain text to width w, indenting the following lines as the
// first one.
func wrap(s string, w int) []string {
	t := strings.TrimLeft(s, " ")
	ind := strings.Repeat(" ", len(s)-len(t))
	lines := strings.Split(ansi.Wrap(t, max(w-len(ind), 10), ""), "\n")
	for i, l := range lines {
		lines[i] = ind + strings.TrimRight(l, " ")
	}
	return lines
}

// wrapKey names a wrapped, styled text in the cache.
type wrapKey struct {
	text, style string
	w           int
}

// wrapStyled wraps text to width w and styles each line with the style
// named (normal, info, muted, bad); the result is cached, as the texts
// change only with a new matrix.
func (m *Model) wrapStyled(style, s string, w int) []string {
	m.checkCache()
	k := wrapKey{s, style, w}
	if v, ok := m.wrapCache[k]; ok {
		return slices.Clone(v)
	}
	st := m.c.Styles
	sty := map[string]lipgloss.Style{"normal": st.Normal, "info": st.Info, "muted": st.Muted, "bad": st.Bad, "danger": st.Danger}[style]
	lines := wrap(s, w)
	for i, l := range lines {
		lines[i] = sty.Render(l)
	}
	if len(m.wrapCache) > 512 {
		clear(m.wrapCache)
	}
	m.wrapCache[k] = lines
	return slices.Clone(lines)
}

// checkCache empties the caches when the styles changed.
func (m *Model) checkCache() {
	if m.cacheStyles != m.c.Styles || m.wrapCache == nil {
		m.cacheStyles = m.c.Styles
		m.wrapCache = map[wrapKey][]string{}
		m.cellCache = map[cellKey]string{}
		m.rowsCache = nil
	}
}

// clip keeps at most h lines, each at most w wide.
func clip(lines []string, w, h int) []string {
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		lines[i] = common.Truncate(l, w)
	}
	return lines
}

// join puts two columns side by side with a separator, the left one
// leftW wide, h lines.
func join(left, right []string, leftW, h int, sep string) string {
	var b strings.Builder
	for i := 0; i < h; i++ {
		l, r := "", ""
		if i < len(left) {
			l = left[i]
		}
		if i < len(right) {
			r = right[i]
		}
		b.WriteString(pad(l, leftW))
		b.WriteString(sep)
		b.WriteString(r)
		if i < h-1 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}
