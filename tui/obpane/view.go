package obpane

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/tui/common"
	"github.com/stprobe/stprobe/tui/writeflow"
)

// tableY is the first line of the table's rows (after the summary and the
// column headings).
const tableY = 2

// Column widths of the table.
const (
	nameW = 15
	valW  = 24
)

// wide reports whether the table has room for the PRG and edit columns.
func (m *Model) wide() bool { return m.Wide() }

// bottomLines is the height of the detail area under the table.
func (m *Model) bottomLines() int {
	switch {
	case m.H >= 40:
		return 10
	case m.H >= 16:
		return 5
	}
	return 2
}

// tableRows is how many table rows fit.
func (m *Model) tableRows() int { return max(0, m.H-tableY-m.bottomLines()) }

// View draws the pane in exactly the size SetSize gave.
func (m *Model) View() string {
	if m.Empty() {
		return ""
	}
	var lines []string
	switch m.Screen {
	case writeflow.Plan:
		lines = m.viewPlan()
	case screenApply:
		lines = m.viewApply()
	case screenBackups:
		lines = m.viewBackups()
	default:
		lines = m.viewTable()
	}
	if m.edit != nil {
		box := m.viewEditor()
		x, y := m.editorAt(box)
		// the rows beside the box keep their start (the field names),
		// not the cut-off tail of their meaning
		_, bh := common.BlockSize(box)
		for i := y; i < y+bh && i < len(lines); i++ {
			lines[i] = common.Truncate(lines[i], x)
		}
		lines = common.OverlayAt(lines, box, x, y, m.W, m.H)
	}
	if m.Guard != nil {
		lines = m.WithGuard(lines)
	}
	if m.wbOpen && m.wbForm != nil {
		s := m.Pens()
		lines = m.wbForm.View(m.W, s)
		for _, l := range wrap("The bench checks every field of the .obk file against the chip, the credentials against the file, the DA method against TZEN, and the chip's own discovery. Only when all match is closing irreversible instead of brick.", m.W) {
			lines = append(lines, s.Muted.Render(l))
		}
		for len(lines) < m.H-1 {
			lines = append(lines, "")
		}
		lines = append(lines, m.statusLine())
	}
	return m.Fit(lines)
}

// riskMeaning says in a few words what a risk class means.
func riskMeaning(r bench.Risk) string {
	switch r {
	case bench.RiskSafe:
		return "undone by writing the old value back"
	case bench.RiskCaution:
		return "reversible, but the chip resets or something is erased"
	case bench.RiskIrreversible:
		return "only a debug-authentication regression undoes it"
	case bench.RiskBrick:
		return "can never be undone: the chip may never answer a debugger again"
	}
	return ""
}

// summary is the first line: chip, product state, TZEN, DA.
func (m *Model) summary() string {
	s := m.Pens()
	o := m.ob
	if o == nil {
		return s.Accent.Render("Option bytes") + s.Muted.Render(" · not read yet")
	}
	var parts []string
	narrow := !m.Wide()
	if o.Chip != nil {
		chip := o.Chip.Line.Name
		switch {
		case narrow && o.Chip.HasUID:
			chip = "UID …" + lastN(o.Chip.UIDString(), 8)
		case o.Chip.HasUID:
			chip += " UID " + o.Chip.UIDString()
		}
		parts = append(parts, s.Accent.Render(chip))
	}
	if o.Layout == nil || o.Snap == nil {
		parts = append(parts, s.Bad.Render("AP1 closed"))
		return strings.Join(parts, s.Muted.Render(" │ "))
	}
	if ps := o.Field("PRODUCT_STATE"); ps != nil {
		label := s.Muted.Render("state ")
		if narrow {
			label = ""
		}
		parts = append(parts, label+m.Styles().StateStyle(targets.ProductState(ps.Raw)).Render(ps.Text()))
	}
	if tz := o.Field("TZEN"); tz != nil {
		parts = append(parts, s.Muted.Render("TZEN ")+tz.Text())
	}
	parts = append(parts, s.Muted.Render("DA ")+daShort(o.DA))
	if m.daMethod != "" {
		parts = append(parts, s.Muted.Render("stated method ")+m.daMethod)
	}
	return strings.Join(parts, s.Muted.Render(" │ "))
}

// lastN is the last n bytes of s.
func lastN(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// daShort is the DA status in a few words.
func daShort(d targets.DAStatus) string {
	switch {
	case !d.Checked:
		return "unknown"
	case !d.Provisioned:
		return "not provisioned"
	}
	return "provisioned (" + d.Method.String() + ")"
}

// viewTable is the table screen.
func (m *Model) viewTable() []string {
	s := m.Pens()
	p := newPage(m.H)
	p.add(m.summary())
	o := m.ob
	switch {
	case o == nil:
		m.viewEmpty(p)
		return p.lines
	case o.Closed != nil:
		m.viewClosed(p)
		return p.lines
	}
	wide := m.wide()
	head := "  " + cell("FIELD", nameW) + " " + cell("CURRENT (CUR)", valW) + " "
	if wide {
		head += cell("TO PROGRAM (PRG)", valW) + " " + cell("EDIT", valW) + " "
	}
	p.add(s.Muted.Render(head + "MEANING"))
	n := m.tableRows()
	for i := m.top; i < len(m.rows) && i < m.top+n; i++ {
		p.add(m.viewRow(i, wide))
	}
	for p.room() > m.bottomLines() {
		p.add("")
	}
	m.viewDetail(p)
	return p.lines
}

// viewRow renders table row i.
func (m *Model) viewRow(i int, wide bool) string {
	s := m.Pens()
	r := &m.rows[i]
	if r.field == nil {
		cur, prg := m.ob.Snap.Cur[r.reg.Name], m.ob.Snap.Prg[r.reg.Name]
		right := fmt.Sprintf("CUR 0x%08X", cur)
		switch {
		case r.reg.Direct:
			right += " (plain register)"
		case cur != prg:
			right += s.Warn.Render(fmt.Sprintf(" PRG 0x%08X", prg))
		}
		rw := width(right)
		left := "▾ " + r.reg.Name + " "
		avail := m.W - rw - 1 - len(left)
		mean := ""
		if avail > 4 {
			mean = cell(r.reg.Meaning, avail)
		} else if avail > 0 {
			mean = strings.Repeat(" ", avail)
		}
		return s.Accent.Render(left) + s.Muted.Render(mean) + " " + right
	}
	sel := m.sel < len(m.fields) && m.fields[m.sel] == i
	mark := "  "
	switch {
	case sel && r.next != nil || sel && r.nextRaw != "":
		mark = "▸*"
	case sel:
		mark = "▸ "
	case r.next != nil || r.nextRaw != "":
		mark = " *"
	}
	next := ""
	switch {
	case r.next != nil:
		next = "→ " + r.next.Text()
	case r.nextRaw != "":
		next = "→ " + r.nextRaw + " (invalid)"
	}
	prg := ""
	if r.differs {
		prg = "PRG " + r.prg.Text()
	}
	if sel {
		line := mark + cell(r.field.Name, nameW) + " " + cell(r.cur.Text(), valW) + " "
		if wide {
			line += cell(prg, valW) + " " + cell(next, valW) + " " + r.cur.Meaning
		} else {
			if prg != "" {
				prg += " ≠ CUR"
			}
			line += joinNonEmpty("  ", next, prg, r.cur.Meaning)
		}
		return s.Selected.Render(cell(line, m.W))
	}
	cur := cell(r.cur.Text(), valW)
	if !r.cur.Valid {
		cur = s.Bad.Render(cur)
	}
	line := mark + cell(r.field.Name, nameW) + " " + cur + " "
	if wide {
		return line + s.Warn.Render(cell(prg, valW)) + " " + s.Accent.Render(cell(next, valW)) + " " + r.cur.Meaning
	}
	if next != "" {
		line += s.Accent.Render(next) + "  "
	}
	if prg != "" {
		line += s.Warn.Render(prg+" ≠ CUR") + "  "
	}
	return line + r.cur.Meaning
}

// joinNonEmpty joins the non-empty strings with sep.
func joinNonEmpty(sep string, parts ...string) string {
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// viewDetail fills the area under the table: the selected field, the
// edits, and the pane's message or why actions are unavailable.
func (m *Model) viewDetail(p *page) {
	s := m.Pens()
	journal, status := m.journalLine(), m.statusLine()
	detail := p.room() - 1
	if journal != "" {
		detail--
	}
	if status != "" {
		detail-- // else the detail has the status line's room
	}
	if r := m.selected(); r != nil && detail > 0 {
		f := r.field
		var d []string
		d = append(d, s.Accent.Render(f.Name)+s.Muted.Render(fmt.Sprintf(" %s%s %s · ", f.Register, f.Bits(), f.Kind))+f.Meaning)
		d = append(d, wrap("now: "+r.cur.Text()+" — "+r.cur.Meaning, m.W)...)
		if r.differs {
			d = append(d, s.Warn.Render("to program (_PRG): "+r.prg.Text()+" — written to _CUR at the next option-byte start"))
		}
		vals := "values: " + strings.Join(m.ob.Layout.ValidValues(f), ", ")
		for _, l := range wrap(vals, m.W) {
			d = append(d, s.Muted.Render(l))
		}
		if detail >= 6 {
			d = append(d, s.Muted.Render("DA: "+m.ob.DA.String()))
		}
		if len(d) > detail {
			// what does not fit is marked, not silently cut
			d[detail-1] = common.Truncate(d[detail-1], m.W-1) + s.Muted.Render("…")
		}
		for i := 0; i < detail; i++ {
			if i < len(d) {
				p.add(d[i])
			} else {
				p.add("")
			}
		}
	}
	if journal != "" {
		p.add(journal)
	}
	if len(m.staged) > 0 {
		p.add(s.Accent.Render("edits: ") + strings.Join(m.assignments(), " ") + s.Muted.Render(" · p plan · x drop · c clear"))
	} else {
		p.add(s.Muted.Render("no edits · enter edits the selected field · b backups · r re-read"))
	}
	if status != "" {
		p.add(status)
	}
}

// journalLine warns of an interrupted write ("" when none is recorded).
func (m *Model) journalLine() string {
	s := m.Pens()
	switch {
	case m.ob == nil:
	case m.ob.PendingErr != nil:
		return s.Danger.Render("⚠ PENDING WRITE: " + m.ob.PendingErr.Error() + " · J clears it once the chip is checked")
	case m.ob.Pending != nil:
		out := ""
		if m.ob.Snap != nil {
			out = " (" + m.ob.Pending.Outcome(m.ob.Snap.Cur) + " on the chip now)"
		}
		return s.Danger.Render("⚠ PENDING WRITE" + out + ": " + m.ob.Pending.String() + " · J clears it once checked")
	}
	return ""
}

// statusLine is the pane's own line: a write watched, this pane's job,
// a plan another session made, or why actions are unavailable.
func (m *Model) statusLine() string {
	if p := m.otherPlan; p != nil && m.Screen == screenTable && m.Watching == "" && m.Waiting() == "" {
		return m.Pens().Warn.Render(fmt.Sprintf("%s planned %d change(s), risk %s: v shows the plan", m.otherBy, len(p.Changes), p.Risk))
	}
	return m.StatusLine("")
}

// viewEmpty is the table screen before any read.
func (m *Model) viewEmpty(p *page) {
	s := m.Pens()
	p.add("")
	if m.Running(jobRead) {
		p.add(s.Info.Render("⟳ reading the option bytes (Hot Plug on AP1)…"))
		return
	}
	for _, l := range wrap("The option bytes have not been read yet. Press r to read them: stprobe connects Hot Plug on AP1, which leaves the running firmware alone, and decodes every option-byte register of the chip, product state first.", m.W) {
		p.add(l)
	}
	p.add("")
	if m.C != nil {
		if why := m.C.Unavailable(); why != "" {
			for _, l := range wrap("read-only: "+why, m.W) {
				p.add(s.Warn.Render(l))
			}
		}
	}
	if m.readErr != nil {
		for _, l := range wrap("✖ the last read failed: "+m.readErr.Error(), m.W) {
			p.add(s.Bad.Render(l))
		}
	}
}

// viewClosed explains a chip whose AP1 does not answer.
func (m *Model) viewClosed(p *page) {
	s := m.Pens()
	c := m.ob.Closed
	p.add("")
	for _, l := range wrap("✖ AP1 (the core's access port) does not answer: the option bytes cannot be read or written.", m.W) {
		p.add(s.Bad.Render(l))
	}
	p.add("")
	for _, l := range wrap(c.Why(), m.W) {
		p.add(l)
	}
	p.add("")
	if c.StatusErr == nil {
		p.add(s.Muted.Render(fmt.Sprintf("DBGMCU_SR through AP0: APs present 0x%04X, enabled 0x%04X", c.Present, c.Enabled)))
	}
	for _, l := range wrap("The Debug auth pane runs a DA discovery through AP0: it tells the product state and whether DA data is provisioned, which decides whether a regression can bring the chip back.", m.W) {
		p.add(s.Info.Render(l))
	}
	p.add("")
	p.add(m.statusLine())
}

// viewPlan is the plan screen: the diff with risk and consequences, or the
// refusal with the real way back.
func (m *Model) viewPlan() []string {
	s := m.Pens()
	b := m.NewBody()
	add, addWrap := b.Add, b.Wrap
	add(s.Accent.Render("Plan"))
	if m.reason != "" {
		// why it is proposed, whole: a finding's title can be long
		b.Lines[0] += s.Muted.Render(" · proposed:")
		if common.Width("Plan · proposed: "+m.reason) <= m.W {
			b.Lines[0] += " " + m.reason
		} else {
			b.Wrap(s.Normal, "  ", m.reason)
		}
	}
	if m.change.FromBackup != "" {
		add(s.Muted.Render("change: ") + "return to the backup " + filepath.Base(m.change.FromBackup))
	} else {
		add(s.Muted.Render("change: ") + strings.Join(m.change.Assignments, " "))
	}
	add("")
	switch {
	case m.Running(jobPlan):
		add(s.Info.Render("⟳ planning: reading the chip and checking the rules; nothing is written"))
	case m.refused != nil:
		add(s.Danger.Render("✖ REFUSED before any write: nothing was written"))
		for _, r := range m.refused.Refusals {
			add("")
			add("  " + s.Accent.Render(r.Field) + "  " + r.From + " → " + r.To)
			addWrap(s.Normal, "    ", "why: "+r.Reason)
			if r.WayBack != "" {
				addWrap(s.OK, "    ", "the real way: "+r.WayBack)
			}
		}
	case m.planErr != nil:
		msg := m.planErr.Error()
		if errors.Is(m.planErr, bench.ErrNoChange) {
			msg = "nothing to change: every field already holds the requested value"
		}
		addWrap(s.Bad, "", "✖ no plan: "+msg)
	case m.plan != nil:
		m.planLines(add, addWrap)
	}
	switch {
	case m.Running(jobRehearse):
		add("", s.Info.Render("⟳ rehearsing on the chip's twin: capture (read-only), then the same write there"))
	case m.rehearseErr != nil:
		add("")
		addWrap(s.Bad, "", "✖ no rehearsal: "+m.rehearseErr.Error())
	case m.rehearsal != nil && m.rehearsal.Err != nil:
		add("")
		addWrap(s.Warn, "", "⚠ "+m.rehearsal.Text())
	case m.rehearsal != nil:
		add("")
		addWrap(s.OK, "", "✓ "+m.rehearsal.Text())
	}
	return m.Pinned(b.Lines, m.planFooter())
}

// planFooter is what stays at the bottom of the plan screen: how to go on.
func (m *Model) planFooter() []string {
	s := m.Pens()
	back := s.Muted.Render(" · esc back to the table")
	p := m.plan
	if p == nil || m.Running(jobPlan) {
		return []string{s.Muted.Render("esc back to the table")}
	}
	if why := m.RunWhy(); m.C != nil && why != "" {
		return m.UnavailableFooter(why, "esc back to the table")
	}
	// What the guard asks is the bench's: the override, the typed phrase.
	switch _, closing := closes(p); {
	case p.NeedsOverride && closing:
		return append([]string{s.Key.Render("w") + " attaches the proof of the way back"},
			m.GuardFooter("a opens the guard (phrase + override)", "esc back to the table", p.Phrase)...)
	case p.NeedsOverride:
		return m.GuardFooter("a opens the guard: type the phrase and tick the override", "esc back to the table", p.Phrase)
	case p.Header().Typed():
		return m.GuardFooter("a opens the guard: type the phrase", "esc back to the table", p.Phrase)
	}
	return []string{"press " + s.Key.Render("a") + " to apply (this screen is the confirmation)" + back}
}

// planLines renders a plan.
func (m *Model) planLines(add func(...string), addWrap func(pen, string, string)) {
	s := m.Pens()
	p := m.plan
	add(s.Muted.Render("risk: ") + common.RiskBadge(s, p.Risk) + s.Muted.Render(" — "+riskMeaning(p.Risk)))
	add(s.Muted.Render("chip: ") + p.LineName + " UID " + p.UID)
	addWrap(s.Muted, "", "DA: "+p.DA.String())
	add("")
	for _, c := range p.Changes {
		add("  " + s.Accent.Render(c.Field) + "  " + c.From.Text() + " → " + c.To.Text() + "  " + common.RiskBadge(s, c.Risk))
		addWrap(s.Normal, "    ", c.Why)
	}
	m.wayBackLines(add, addWrap)
	if len(p.Notes) > 0 {
		add("")
		for _, n := range p.Notes {
			addWrap(s.Warn, "  ", "note: "+n)
		}
	}
	add("")
	add(s.Muted.Render("steps:"))
	add(fmt.Sprintf("  1. save every option byte to %s", bench.BackupsDir(m.StateDir)))
	for i, ph := range p.Phases {
		regs := make([]string, 0, len(ph.Writes))
		for _, w := range ph.Writes {
			regs = append(regs, w.Register)
		}
		what := ph.Name + ": " + strings.Join(regs, ", ")
		switch {
		case ph.MayCloseDebug:
			what += s.Warn.Render(" (the chip resets; debug may close)")
		case ph.Resets:
			what += s.Warn.Render(" (the chip resets)")
		case ph.Direct:
			what += " (written at once)"
		}
		add(fmt.Sprintf("  %d. %s", i+2, what))
	}
	add(fmt.Sprintf("  %d. read back and verify, then append to the audit log", len(p.Phases)+2))
}

// viewApply is the write's progress while it runs, then its outcome
// followed by its steps.
func (m *Model) viewApply() []string {
	s := m.Pens()
	done, total := m.Progress()
	if !m.Applying() && m.applyErr == nil && m.applyRes != nil {
		done = total // finished: the last step's event comes before its end
	}
	head := []string{
		s.Accent.Render("Writing option bytes") + s.Muted.Render(" · "+strings.Join(m.change.Assignments, " ")+m.fromBackupText()),
		writeflow.ProgressBar(min(40, m.W-12), done, total) + fmt.Sprintf(" %d/%d", done, total),
		"",
	}
	if m.Applying() {
		return m.RunView(head, nil, "")
	}
	b := m.NewBody()
	r := m.applyRes
	switch {
	case m.applyErr != nil:
		if o := bench.WriteOutcome(m.applyErr); !strings.HasPrefix(o, "failed: ") {
			b.Wrap(s.Bad, "", "✖ "+o)
		}
		b.Wrap(s.Bad, "", "✖ "+m.applyErr.Error())
		if errors.Is(m.applyErr, bench.ErrNotConfirmed) || errors.Is(m.applyErr, bench.ErrNeedsOverride) || common.IsUnavailable(m.applyErr) {
			b.Add(s.OK.Render("nothing was written"))
		}
	case r != nil && r.Result != nil && r.Result.Verified:
		b.Add(s.OK.Render("✓ applied and verified: the option bytes read back as planned"))
	case r != nil && r.Result != nil && r.Result.DebugClosed:
		b.Wrap(s.Warn, "", "✓ applied; debug is closed now, as the new product state intends: the result was checked through AP0 (DBGMCU_SR)")
	default:
		b.Add(s.OK.Render("✓ applied"))
	}
	if r != nil && r.Result != nil && r.Result.After != nil && r.Result.Plan != nil && r.OptionBytes != nil && r.OptionBytes.Layout != nil {
		l := r.OptionBytes.Layout
		for _, c := range r.Result.Plan.Changes {
			if f, ok := l.Field(c.Field); ok {
				v := l.DecodeField(f, r.Result.After.Cur[f.Register])
				b.Add("  " + s.Accent.Render(cell(c.Field, nameW)) + " now " + v.Text())
			}
		}
	}
	if r != nil && r.Result != nil {
		if r.Result.Backup != "" {
			b.Hang(s.Normal, "", "backup:", r.Result.Backup)
		}
		for _, n := range r.Result.Notes {
			b.Wrap(s.Warn, "", "note: "+n)
		}
	}
	b.Add(m.AuditLines(m.audit())...)
	return m.RunView(head, b.Lines, "esc back to the table")
}

// fromBackupText names the backup being restored, if any.
func (m *Model) fromBackupText() string {
	if m.change.FromBackup == "" {
		return ""
	}
	return "return to " + filepath.Base(m.change.FromBackup)
}

// viewBackups is the list of this chip's backups.
func (m *Model) viewBackups() []string {
	s := m.Pens()
	p := newPage(m.H)
	uid := ""
	if m.ob != nil && m.ob.Chip != nil {
		uid = " of chip " + m.ob.Chip.UIDString()
	}
	p.add(s.Accent.Render("Backups"+uid) + s.Muted.Render(" · in "+bench.BackupsDir(m.StateDir)))
	p.add("")
	switch {
	case m.backupsErr != nil:
		p.add(s.Bad.Render("✖ listing the backups: " + m.backupsErr.Error()))
	case !m.listed:
		p.add(s.Muted.Render("read the option bytes first (r on the table): backups are matched to the chip's UID"))
	case len(m.backups) == 0:
		for _, l := range wrap("No backup of this chip yet. Every write saves one before it touches the chip.", m.W) {
			p.add(l)
		}
	}
	listH := max(1, m.H-10)
	start := max(0, m.bsel-listH+1)
	for i := start; i < len(m.backups) && i < start+listH; i++ {
		e := m.backups[i]
		line := "  " + cell(e.when(), 24) + " "
		switch {
		case e.err != nil:
			line += "damaged: " + e.err.Error()
		default:
			d := m.backupDiff(e)
			switch len(d) {
			case 0:
				line += cell("same as the chip now", 22)
			default:
				line += cell(fmt.Sprintf("%d field(s) differ", len(d)), 22)
			}
			line += " " + filepath.Base(e.path)
		}
		if i == m.bsel {
			p.add(s.Selected.Render(cell("▸"+line[1:], m.W)))
		} else {
			p.add(line)
		}
	}
	if m.bsel < len(m.backups) && m.backups[m.bsel].err == nil {
		p.add("")
		d := m.backupDiff(m.backups[m.bsel])
		for i, x := range d {
			if p.room() <= 2 {
				p.add(s.Muted.Render(fmt.Sprintf("  … and %d more", len(d)-i)))
				break
			}
			p.add("  " + cell(x.Field, nameW) + " now " + x.From.Text() + " → backup " + x.To.Text())
		}
		if len(d) > 0 {
			p.add(s.Muted.Render("enter plans the return to this backup: the plan shows risk and refusals before anything is written"))
		}
	}
	for p.room() > 1 {
		p.add("")
	}
	p.add(m.statusLine())
	return p.lines
}

// backupDiff lists the fields that differ between the chip now and a backup.
func (m *Model) backupDiff(e backupEntry) []bench.FieldDiff {
	if m.ob == nil || m.ob.Layout == nil || m.ob.Snap == nil || e.b == nil || e.b.Snapshot == nil {
		return nil
	}
	return m.ob.Layout.Diff(m.ob.Snap.Cur, e.b.Snapshot.Cur)
}

// editorX is where the value chooser starts: right of the FIELD column,
// so that the field names stay in view beside it.
const editorX = 2 + nameW + 1

// editorWidth is the width of the value chooser's content: from editorX
// to the right edge (less the frame), at most 74; a narrow pane gets a
// centred box instead.
func (m *Model) editorWidth() int {
	if w := m.W - editorX - 4; w >= 40 {
		return min(w, 74)
	}
	return max(20, min(m.W-6, 74))
}

// editorAt is where the chooser box is drawn: under the selected row when
// it fits there, else above it, else as low as it fits; the table stays
// in view around it.
func (m *Model) editorAt(box string) (x, y int) {
	bw, bh := common.BlockSize(box)
	x = max(0, (m.W-bw)/2)
	if m.W-editorX-4 >= 40 {
		x = editorX
	}
	row := tableY
	if m.sel < len(m.fields) {
		row = tableY + m.fields[m.sel] - m.top
	}
	switch {
	case row+1+bh <= m.H:
		return x, row + 1
	case row-bh >= 0:
		return x, row - bh
	}
	return x, max(0, m.H-bh)
}

// viewEditor is the value chooser box: the field, its value now and what
// it means, the values to choose from (or the number typed), the keys.
func (m *Model) viewEditor() string {
	s := m.Pens()
	e := m.edit
	w := m.editorWidth()
	f := e.field
	var b []string
	head := s.Accent.Render("Edit "+f.Name) + s.Muted.Render(" "+f.Register+f.Bits())
	if r := m.selected(); r != nil {
		head += s.Muted.Render(" · now ") + r.cur.Text()
	}
	b = append(b, head)
	for _, l := range wrap(f.Meaning, w) {
		b = append(b, s.Muted.Render(l))
	}
	if e.input == nil {
		for i, v := range e.values {
			line := cell(fmt.Sprintf("%s (0x%X) — %s", v.Name, v.Raw, v.Meaning), w-2)
			if i == e.sel {
				b = append(b, s.Selected.Render("▸ "+line))
			} else {
				b = append(b, "  "+line)
			}
		}
		b = append(b, s.Muted.Render("↑/↓ choose · enter stage · esc cancel"))
	} else {
		e.input.SetWidth(w - len(e.input.Prompt) - 1)
		b = append(b, e.input.View())
		b = append(b, s.Muted.Render("valid: "+strings.Join(m.ob.Layout.ValidValues(f), ", ")))
		if e.err != "" {
			for _, l := range wrap(e.err, w) {
				b = append(b, s.Bad.Render(l))
			}
		}
		b = append(b, s.Muted.Render("enter stage · esc cancel"))
	}
	for i := range b {
		b[i] = cell(b[i], w)
	}
	return s.Dialog.Render(b, w)
}
