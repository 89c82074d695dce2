package dapane

import (
	"fmt"
	"strings"

	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/tui/writeflow"
)

// labelW is the width of the labels of the discovery's fields.
const labelW = 15

// View draws the pane in exactly the size SetSize gave.
func (m *Model) View() string {
	if m.Empty() {
		return ""
	}
	switch m.Screen {
	case screenForm:
		return m.Fit(m.viewForm())
	case writeflow.Plan:
		lines := m.viewPlan()
		if m.Guard != nil {
			lines = m.WithGuard(lines)
		}
		return m.Fit(lines)
	case writeflow.Run:
		return m.Fit(m.viewRun())
	}
	s := m.Pens()
	title := s.Accent.Render("Debug authentication") + s.Muted.Render(" · discovery through the DA mailbox on AP0")
	sub := ""
	if m.reason != "" {
		sub = s.Muted.Render("opened for: ") + m.reason
	}
	status := m.statusLine()
	bodyH := max(0, m.H-3)
	var body []string
	if m.Wide() {
		lw := m.W * 11 / 20
		rw := m.W - lw - 3
		left := m.discoveryLines(lw)
		right := m.actionLines(rw)
		right = append(right, "")
		right = append(right, m.optionByteLines(rw)...)
		if l := m.lastWriteLines(rw); len(l) > 0 {
			right = append(append(right, ""), l...)
		}
		sep := s.Muted.Render(" │ ")
		for i := 0; i < max(len(left), len(right)); i++ {
			var l, r string
			if i < len(left) {
				l = left[i]
			}
			if i < len(right) {
				r = right[i]
			}
			body = append(body, cell(l, lw)+sep+r)
		}
	} else {
		body = m.actionLines(m.W)
		body = append(body, "")
		body = append(body, m.discoveryLines(m.W)...)
		body = append(body, "")
		body = append(body, m.optionByteLines(m.W)...)
		if l := m.lastWriteLines(m.W); len(l) > 0 {
			body = append(append(body, ""), l...)
		}
	}
	m.Scroll = max(0, min(m.Scroll, len(body)-bodyH))
	more := len(body) - m.Scroll - bodyH
	body = body[m.Scroll:]
	if len(body) > bodyH {
		body = body[:bodyH]
	}
	if more > 0 && bodyH > 0 {
		// what is below is said, never silently cut
		body[bodyH-1] = s.Muted.Render(fmt.Sprintf("↓ %d more line(s): ↓/j scrolls", more+1))
	}
	lines := make([]string, 0, m.H)
	lines = append(lines, title, sub)
	lines = append(lines, body...)
	for len(lines) < m.H-1 {
		lines = append(lines, "")
	}
	if m.H > 1 {
		lines = append(lines, status)
	}
	return m.Fit(lines)
}

// row is one "label  value" line.
func (m *Model) row(label, value string) string {
	return m.Pens().Muted.Render(cell(label, labelW)) + " " + value
}

// discoveryLines are the discovery's result, or how to get one.
func (m *Model) discoveryLines(w int) []string {
	s := m.Pens()
	var out []string
	addWrap := func(p pen, text string) {
		for _, l := range wrap(text, w) {
			out = append(out, p.Render(l))
		}
	}
	if m.Running(jobDiscover) {
		out = append(out, s.Info.Render("⟳ discovering: NRST low, request word, NRST released, waiting for the ROM's reply…"))
	}
	if m.err != nil {
		addWrap(s.Bad, "✖ the last discovery failed: "+m.err.Error())
		out = append(out, "")
	}
	d := m.disc
	if d == nil && m.err != nil {
		addWrap(s.Muted, "Press d to try again.")
		return out
	}
	if d == nil {
		addWrap(s.Normal, "No discovery yet. Press d to run one: stprobe holds NRST low, writes the request word to the DA mailbox on AP0, releases NRST and asks the ROM what it offers. It only reads (NRST must be wired to the probe); afterwards the chip waits in the ROM's DA loop until its next reset.")
		return out
	}
	st := d.StateName()
	if d.State.Valid() {
		st = m.Styles().StateStyle(d.State).Render(st)
	}
	out = append(out, m.row("product state", st+s.Muted.Render(fmt.Sprintf("  lifecycle 0x%04X", d.Lifecycle))))
	switch {
	case !d.HasIntegrity:
		out = append(out, m.row("DA data", s.Warn.Render("not reported")+s.Muted.Render(" (no provisioning-integrity word)")))
	case d.Provisioned():
		out = append(out, m.row("DA data", s.OK.Render("✓ provisioned")+s.Muted.Render(fmt.Sprintf("  integrity 0x%08X", d.Integrity))))
	default:
		out = append(out, m.row("DA data", s.Bad.Render("✖ not provisioned")+s.Muted.Render(fmt.Sprintf("  integrity 0x%08X", d.Integrity))))
	}
	method := d.Method()
	if method == "" {
		method = "none offered"
	}
	var cs []string
	for _, c := range d.Cryptosystems {
		cs = append(cs, da.CryptosystemName(c))
	}
	if len(cs) > 0 {
		method += s.Muted.Render(" — " + strings.Join(cs, ", "))
	}
	out = append(out, m.row("method offered", method))
	out = append(out, m.row("permissions", permissions(d)))
	if len(d.SoCID) > 0 {
		out = append(out, m.row("SoC ID", hexGroups(d.SoCID)))
		out = append(out, m.row("UID", fmt.Sprintf("%08X%08X%08X", d.UID[2], d.UID[1], d.UID[0])))
	} else {
		out = append(out, m.row("SoC ID", s.Muted.Render("not reported")))
	}
	class := fmt.Sprintf("0x%03X", d.SoCClass)
	if _, line, ok := targets.LookupDevID(uint16(d.SoCClass)); ok && d.SoCClass <= 0xFFFF {
		class += s.Muted.Render(" " + line.Name)
	}
	out = append(out, m.row("SoC class", class))
	var ver []string
	if d.AuthVersion != "" {
		ver = append(ver, "PSA-ADAC "+d.AuthVersion)
	}
	if d.VendorID != 0 {
		ver = append(ver, fmt.Sprintf("vendor 0x%04X", d.VendorID))
	}
	if d.SDAVersion != "" {
		ver = append(ver, "SDA "+d.SDAVersion)
	}
	if len(ver) > 0 {
		out = append(out, m.row("agent", strings.Join(ver, " · ")))
	}
	if len(d.TokenFormats)+len(d.CertFormats) > 0 {
		out = append(out, m.row("formats", "token "+hex16s(d.TokenFormats)+" · certificate "+hex16s(d.CertFormats)))
	}
	if len(d.HDPLStatus) > 0 {
		var hs []string
		for _, v := range d.HDPLStatus {
			hs = append(hs, fmt.Sprintf("0x%08X", v))
		}
		// the values, and the caveat on a line of its own when the row
		// has no room for both (it must not be cut)
		vals := strings.Join(hs, " ")
		if labelW+1+len(vals)+len(" (meaning unconfirmed)") <= w {
			out = append(out, m.row("HDPL status", vals+s.Muted.Render(" (meaning unconfirmed)")))
		} else {
			out = append(out, m.row("HDPL status", vals), m.row("", s.Muted.Render("(meaning unconfirmed)")))
		}
	}
	out = append(out, m.row("session words", fmt.Sprintf("request 0x%08X · reply 0x%08X", d.RequestWord, d.ReplyWord)))
	if d.IDCode != 0 {
		out = append(out, m.row("IDCODE", fmt.Sprintf("0x%08X", d.IDCode)+s.Muted.Render(" (read under reset)")))
	}
	return out
}

// permissions renders the permission mask's first word and its set bits.
func permissions(d *da.Discovery) string {
	if len(d.Permissions) == 0 {
		return "not reported"
	}
	w := d.PermissionWord()
	var bits []string
	for i := 0; i < 32; i++ {
		if w&(1<<i) != 0 {
			bits = append(bits, fmt.Sprint(i))
		}
	}
	if len(bits) == 0 {
		return fmt.Sprintf("0x%08X (none)", w)
	}
	return fmt.Sprintf("0x%08X (bits %s)", w, strings.Join(bits, ","))
}

// hexGroups renders bytes in groups of four.
func hexGroups(b []byte) string {
	var sb strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%02X", c)
	}
	return sb.String()
}

// hex16s renders 16-bit values, "none" when there are none.
func hex16s(vs []uint16) string {
	if len(vs) == 0 {
		return "none"
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = fmt.Sprintf("0x%04X", v)
	}
	return strings.Join(out, ",")
}

// optionByteLines say what the option bytes, when read, tell of DA.
func (m *Model) optionByteLines(w int) []string {
	s := m.Pens()
	out := []string{s.Accent.Render("What the option bytes say")}
	if m.C == nil {
		return out
	}
	snap := m.C.Snapshot()
	if !snap.HasState && snap.DA == nil {
		for _, l := range wrap("not read yet (the Option bytes pane reads them through AP1)", w) {
			out = append(out, s.Muted.Render(l))
		}
		return out
	}
	if snap.HasState {
		st := m.Styles().StateStyle(snap.State).Render(snap.State.String())
		tz := "TZEN not read"
		if snap.StateAt.IsZero() || !snap.TZENAt.IsZero() {
			tz = "TZEN " + snap.TZEN.String()
		}
		out = append(out, m.row("product state", st+s.Muted.Render(", "+tz)))
		from := snap.StateFrom
		if !snap.StateAt.IsZero() {
			from += " at " + snap.StateAt.Format("15:04:05")
		}
		style := s.Muted
		if snap.StateStale != "" {
			from, style = "as of "+from+"; "+snap.StateStale, s.Warn
		}
		if from != "" {
			for _, l := range wrap(from, max(10, w-labelW-1)) {
				out = append(out, m.row("", style.Render(l)))
			}
		}
	}
	if snap.DA == nil {
		for i, l := range wrap("not read yet (the Option bytes pane reads them through AP1)", max(10, w-labelW-1)) {
			label := ""
			if i == 0 {
				label = "DA data"
			}
			out = append(out, m.row(label, s.Muted.Render(l)))
		}
	}
	if snap.DA != nil {
		for i, l := range wrap(snap.DA.String(), max(10, w-labelW-1)) {
			label := ""
			if i == 0 {
				label = "DA data"
			}
			out = append(out, m.row(label, l))
		}
	}
	return out
}

// statusLine is the pane's own line: a DA write watched, this pane's job,
// why actions are unavailable, or what the keys do.
func (m *Model) statusLine() string {
	return m.StatusLine(m.Pens().Muted.Render("d discovers (read-only) · p provision · R regression · o debug opening"))
}
