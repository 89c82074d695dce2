package obpane

import (
	"path/filepath"

	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/tui/credform"
)

// The proof of the way back: a plan that takes the product state beyond
// PROVISIONING is brick until the bench has checked, against the chip, the
// credentials the user will regress with and the .obk file provisioned.
// The plan screen offers to attach them (w), plans again with them
// (bench.Change.WayBack) and shows the bench's checklist
// (Plan.WayBack: Checked, Mismatches with their fixes).

// closes is the bench's answer: whether plan p moves the product state
// beyond PROVISIONING, where the bench wants the proof of the way back.
func closes(p *bench.OBPlan) (targets.ProductState, bool) { return bench.ClosesChip(p) }

// openWayBack opens the form of the proof's files.
func (m *Model) openWayBack() tea.Cmd {
	if _, ok := closes(m.plan); !ok {
		return m.Fail("this plan does not close the chip: no proof of the way back is needed")
	}
	if why := m.RunWhy(); why != "" {
		return m.Unavailable("prove the way back", why)
	}
	if m.wbForm == nil {
		o := m.FormOptions()
		m.wbForm = credform.New("Prove the way back: the credentials you will regress with and the .obk file provisioned", o,
			credform.Password, credform.Key, credform.Chain, credform.OBK, credform.Part, credform.Permission)
	}
	m.wbOpen = true
	return m.Say("name the files; enter plans again with the proof (nothing is written)")
}

// wayBackKey handles a key in the proof's form.
func (m *Model) wayBackKey(msg tea.KeyPressMsg) tea.Cmd {
	cancel := func() string {
		m.wbOpen = false
		return "no proof attached: the plan stays as it was"
	}
	return m.FormKey(m.wbForm, msg, cancel, func(v *credform.Values) tea.Cmd {
		m.wbOpen = false
		ch := m.change
		ch.WayBack = &bench.WayBackFiles{Credentials: v.Credentials, OBK: v.OBK, Part: v.Part, Permission: v.Permission}
		m.wbPaths = v.Paths
		return m.startPlan(ch)
	})
}

// wayBackLines are the proof's checklist on the plan screen.
func (m *Model) wayBackLines(add func(...string), addWrap func(pen, string, string)) {
	to, ok := closes(m.plan)
	if !ok {
		return
	}
	s := m.Pens()
	wb := m.plan.WayBack
	add("")
	add(s.Accent.Render("Proof of the way back") + s.Muted.Render(" (PRODUCT_STATE → "+to.String()+")"))
	switch {
	case wb == nil:
		addWrap(s.Bad, "  ", "✖ not proven: nothing shows that credentials you hold open this chip once it is "+to.String())
		addWrap(s.Muted, "      ", "fix: press w and give the password file (or the leaf key and chain) you will regress with, and the .obk file provisioned")
		return
	}
	if m.wbPaths != nil {
		files := ""
		for _, fd := range []credform.Field{credform.Password, credform.Key, credform.Chain, credform.OBK} {
			if p := m.wbPaths[fd]; p != "" {
				if files != "" {
					files += ", "
				}
				files += filepath.Base(p)
			}
		}
		addWrap(s.Muted, "  ", "files: "+files)
	}
	for _, c := range wb.Checked {
		addWrap(s.Normal, "  ", "✔ "+c)
	}
	for _, mm := range wb.Mismatches {
		addWrap(s.Bad, "  ", "✖ "+mm.Check+": "+mm.Problem)
		addWrap(s.Muted, "      ", "fix: "+mm.Fix)
	}
	if wb.Proven() {
		addWrap(s.OK, "  ", "✓ proven: the way back works, so closing is irreversible, not brick")
	} else {
		addWrap(s.Bad, "  ", "✖ not proven: the plan stays brick until every check passes (w changes the files)")
	}
}
