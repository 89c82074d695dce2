package dapane

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/tui/common"
)

// actionLines list the DA writes, each available or with why not.
func (m *Model) actionLines(w int) []string {
	s := m.Pens()
	out := []string{s.Accent.Render("Actions")}
	for _, a := range []struct {
		key    string
		action bench.DAAction
		more   string
	}{
		{"c", actionMake, ", files only"},
		{"p", bench.DAProvision, " (PROVISIONING only)"},
		{"R", bench.DARegress, " (full, or to TZ_CLOSED)"},
		{"o", bench.DAOpenDebug, " (until the next power cycle)"},
	} {
		why := m.why(a.action)
		if why == "" {
			out = append(out, s.OK.Render("✓ ")+s.Key.Render(a.key)+" "+actionTitle(a.action)+s.Muted.Render(a.more))
			continue
		}
		out = append(out, s.Muted.Render("✖ "+a.key+" ")+actionTitle(a.action)+s.Muted.Render(a.more))
		for _, l := range wrap("unavailable: "+why, max(10, w-4)) {
			out = append(out, "    "+s.Muted.Render(l))
		}
	}
	if len(m.made) > 0 {
		out = append(out, s.Accent.Render("Credentials made")+s.Muted.Render(" in "+m.madeDir))
		for _, f := range m.made {
			note := ""
			switch {
			case f.Secret:
				note = " secret: keep it, the way back"
			case f.OBK:
				note = " to provision (p)"
			}
			out = append(out, "  "+filepath.Base(f.Path)+s.Muted.Render(note))
		}
	}
	return out
}

// lastWriteLines summarise the bench's last DA write, as every session
// sees it.
func (m *Model) lastWriteLines(w int) []string {
	if m.C == nil {
		return nil
	}
	r := m.C.Snapshot().DAResult
	if r == nil || r.Plan == nil {
		return nil
	}
	s := m.Pens()
	out := []string{s.Accent.Render("Last DA write")}
	line := fmt.Sprintf("%s %s: %s", r.Plan.Action, r.Plan.Permission, strings.ToUpper(r.Outcome))
	p := s.OK
	if r.Outcome != "ok" {
		p = s.Bad
	}
	out = append(out, p.Render(strings.TrimSpace(strings.ReplaceAll(line, "  ", " "))))
	for _, l := range m.afterLines(r) {
		out = append(out, wrap(l, w)...)
	}
	return out
}

// viewForm is the form screen.
func (m *Model) viewForm() []string {
	s := m.Pens()
	out := []string{s.Accent.Render("Debug authentication") + s.Muted.Render(" · "+actionTitle(m.action)), ""}
	if m.form != nil {
		out = append(out, m.form.View(m.W, s)...)
	}
	out = append(out, "")
	switch m.action {
	case bench.DARegress:
		for _, l := range wrap("A full regression needs the password (TZEN=0xC3) or the certificate chain and leaf key (TZEN=0xB4); to-tz needs the certificate. The flash can be saved first only where AP1 reads it.", m.W) {
			out = append(out, s.Muted.Render(l))
		}
	case actionMake:
		for _, l := range wrap("The password method works with TrustZone off (TZEN=0xC3) and does a full regression; the certificate kit needs TrustZone on (TZEN=0xB4) and can also regress to TZ_CLOSED or open debug. The files are ST's; nothing touches the chip.", m.W) {
			out = append(out, s.Muted.Render(l))
		}
	case bench.DAProvision:
		for _, l := range wrap("c makes the file here (or stprobe da make-password --part PART --out DIR). The crypto parts (H533, H573) take a file that asks for encryption: name the part.", m.W) {
			out = append(out, s.Muted.Render(l))
		}
	}
	for len(out) < m.H-1 {
		out = append(out, "")
	}
	return append(out, m.StatusLine(""))
}

// viewPlan is the plan screen: the plan or the refusal, the checklist,
// what the write erases, the steps, the risk and the phrase.
func (m *Model) viewPlan() []string {
	s := m.Pens()
	b := m.NewBody()
	add, addWrap := b.Add, b.Wrap
	title := "DA plan: " + actionTitle(m.action)
	if m.plan != nil && m.plan.Action == bench.DARegress {
		title += " (" + m.plan.Permission + ")"
	} else if m.action == bench.DARegress {
		title += " (" + m.req.Permission.String() + ")"
	}
	if m.viewing {
		title += s.Muted.Render(" · the bench's last plan, to look at")
	}
	add(s.Accent.Render(title))
	p := m.plan
	if m.Running(jobPlan) {
		add("", s.Info.Render("⟳ planning; nothing is written"))
		return m.Pinned(b.Lines, []string{s.Muted.Render("esc back")})
	}
	if p != nil {
		chip := p.Line + " UID " + p.UID
		if p.Part != "" {
			chip += " · part " + p.Part
		}
		add(s.Muted.Render("chip: ") + chip)
		st := p.State.String()
		if p.TZEN != 0 {
			st += " · TZEN " + p.TZEN.String()
		}
		add(s.Muted.Render("state: ") + m.Styles().StateStyle(p.State).Render(st))
		if p.Method != "" {
			add(s.Muted.Render("method: ") + p.Method)
		}
	}
	if m.planErr != nil {
		add("")
		addWrap(s.Danger, "", "✖ REFUSED before any write: nothing was written")
		addWrap(s.Bad, "  ", m.planErr.Error())
	}
	if !m.viewing {
		add("", s.Accent.Render("Checks before any write"))
		// a check wraps under its own text, not under its mark
		for _, c := range m.checklist() {
			if c.ok {
				b.Hang(s.Normal, "  ", "✔", c.what)
				continue
			}
			b.Hang(s.Bad, "  ", "✖", c.what)
			addWrap(s.Muted, "      ", "fix: "+c.fix)
		}
	}
	if p != nil && len(p.Mismatches) == 0 && m.planErr == nil {
		add("")
		erases := p.Erases
		if p.Action == bench.DARegress {
			addWrap(s.Danger, "", "ERASES: "+erases)
		} else {
			addWrap(s.Muted, "", "erases: "+erases)
		}
		if p.Action == bench.DARegress {
			m.flashLines(addWrap)
		}
		add(s.Muted.Render("steps:"))
		for i, st := range p.Steps {
			b.Hang(s.Normal, "  ", fmt.Sprintf("%d.", i+1), st)
		}
		for _, n := range p.Notes {
			b.Hang(s.Warn, "  ", "note:", n)
		}
		add("")
		add(s.Muted.Render("risk: ") + common.RiskBadge(s, p.Risk))
		addWrap(s.Normal, "  ", p.Why)
	}
	return m.Pinned(b.Lines, m.planFooter())
}

// flashLines say whether the flash is saved before the regression.
func (m *Model) flashLines(addWrap func(pen, string, string)) {
	s := m.Pens()
	p := m.plan
	path := ""
	if m.vals != nil {
		path = m.vals.SaveFlash
	}
	switch {
	case path != "" && p.FlashReadable:
		addWrap(s.OK, "", "✔ the user flash is saved to "+path+" first")
	case path != "":
		addWrap(s.Warn, "", "! the user flash cannot be saved: AP1 does not read it in "+p.State.String()+"; the regression erases it unsaved")
	case p.FlashReadable:
		addWrap(s.Warn, "", "! AP1 reads the flash now: esc, R and give \"save flash to\" to keep a copy of what the regression erases")
	default:
		addWrap(s.Muted, "", "the user flash cannot be saved first: AP1 does not read it in "+p.State.String())
	}
}

// planFooter is what stays at the bottom of the plan screen.
func (m *Model) planFooter() []string {
	if why := m.applyWhy(); why != "" {
		return m.UnavailableFooter(why, "esc back")
	}
	return m.GuardFooter("a opens the guard: type the phrase", "esc back", m.plan.Phrase)
}

// viewRun is the write's progress and outcome.
func (m *Model) viewRun() []string {
	s := m.Pens()
	head := []string{s.Accent.Render("DA " + string(m.action) + ": the write")}
	if m.Applying() {
		return m.RunView(head, nil, "")
	}
	b := m.NewBody()
	r := m.res
	switch {
	case m.applyErr != nil && (r == nil || r.Outcome == ""):
		b.Wrap(s.Danger, "", "✖ nothing was written: "+m.applyErr.Error())
	case r != nil && r.Outcome == "ok":
		b.Add(s.OK.Render("✓ DA " + string(m.action) + ": OK"))
	case r != nil && r.Outcome == "refused":
		b.Wrap(s.Bad, "", "✖ REFUSED by the chip: it is unchanged")
	case r != nil:
		b.Wrap(s.Danger, "", "✖ "+strings.ToUpper(r.Outcome))
	}
	if m.applyErr != nil && r != nil && r.Outcome != "" {
		b.Wrap(s.Bad, "  ", m.applyErr.Error())
	}
	if r != nil {
		for _, l := range m.afterLines(r) {
			// "label: text" wraps under its text
			if label, text, ok := strings.Cut(l, ": "); ok && len(label) < 30 {
				b.Hang(s.Normal, "", label+":", text)
				continue
			}
			b.Wrap(s.Normal, "", l)
		}
	}
	var a *bench.AuditRecord
	if r != nil {
		a = r.Audit
	}
	b.Add(m.AuditLines(a)...)
	return m.RunView(head, b.Lines, "esc back · d discovers again · p, R, o the next action")
}

// afterLines say what a DA write left: the chip after it, the saved
// files, the notes.
func (m *Model) afterLines(r *bench.DAResult) []string {
	var out []string
	if r.Auth != nil && r.Auth.After != nil {
		a := r.Auth.After
		line := fmt.Sprintf("reconnected: the chip is %v", a.State)
		if a.TZEN != 0 {
			line += fmt.Sprintf(", TZEN %v", a.TZEN)
		}
		out = append(out, line)
		if a.FlashChecked > 0 {
			out = append(out, fmt.Sprintf("user flash erased: %s (%d bytes checked)", yesNo(a.FlashErased), a.FlashChecked))
		}
		if a.OBKChecked {
			out = append(out, "OBK DA record erased: "+yesNo(a.OBKErased))
		}
		out = append(out, "AP1 open: "+yesNo(a.AP1Open))
	}
	if p := r.Provisioned; p != nil {
		out = append(out, fmt.Sprintf("provisioned in %v; record read back: %s", p.State, yesNo(p.ReadBack)))
	}
	if r.Backup != "" {
		out = append(out, "backup of the option bytes: "+r.Backup)
	}
	if r.FlashFile != "" {
		out = append(out, fmt.Sprintf("user flash saved: %s (%d bytes)", r.FlashFile, r.FlashBytes))
	}
	for _, n := range r.Notes {
		out = append(out, "note: "+n)
	}
	if r.Auth != nil && r.Auth.After != nil && r.Auth.After.FlashErased {
		next := "next: 5 put the firmware back (the Flash pane: a HEX, ELF or BIN file"
		if r.FlashFile != "" {
			next += fmt.Sprintf("; the copy saved before is %s@0x%08X", r.FlashFile, targets.FlashMemBase)
		}
		out = append(out, next+")")
	}
	return out
}
