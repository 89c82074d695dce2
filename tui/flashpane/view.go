package flashpane

import (
	"fmt"
	"strings"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/tui/common"
	"github.com/stprobe/stprobe/tui/writeflow"
)

// View draws the current screen in exactly the pane's size.
func (m *Model) View() string {
	if m.w <= 0 || m.h <= 0 {
		return ""
	}
	p := m.look.Pens(m.c)
	var lines []string
	add := func(s string) { lines = append(lines, s) }
	wrap := func(pen common.Pen, s string) {
		for _, l := range common.Wrap(s, m.w-2) {
			add(" " + pen.Render(l))
		}
	}
	onOff := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	add(" " + p.Accent.Render("Flash") + p.Muted.Render(" — program a BIN (with @ADDR), Intel HEX or ELF file into the main flash"))
	add("")
	switch m.screen {
	case screenFile:
		add(" " + m.in.View())
		if len(m.matches) > 0 {
			wrap(p.Muted, strings.Join(m.matches, "  "))
		}
		add("")
		if m.in.Focused() {
			wrap(p.Muted, "enter plans the write: nothing is erased before you confirm its phrase · tab completes the path · esc stops typing")
		} else if why := m.c.Unavailable(); why != "" {
			wrap(p.Warn, "writing the flash is unavailable: "+why)
		} else {
			wrap(p.Muted, "e types the file's path; enter then plans the write: nothing is erased before you confirm its phrase")
			wrap(p.Muted, "after a DA regression the user flash is empty: the copy made earlier (stprobe flash read, or --save-flash) puts the firmware back")
		}
	case screenWorking:
		add(" " + p.Normal.Render(m.file))
		add("")
		s := m.step
		if s.Total > 0 {
			add(" " + p.Accent.Render(fmt.Sprintf("%-8s", s.Step)) + " " + p.Normal.Render(writeflow.ProgressBar(max(10, min(40, m.w-30)), s.Done, s.Total)+fmt.Sprintf(" %3d%%", 100*s.Done/s.Total)))
		} else {
			add(" " + p.Accent.Render(fmt.Sprintf("%-8s", s.Step)))
		}
		wrap(p.Muted, s.Message)
	case screenPlan:
		m.planLines(p, add, wrap)
		add("")
		add(" " + p.Muted.Render(fmt.Sprintf("verify %s, reset and run %s — w writes (the phrase is asked)", onOff(m.verify), onOff(m.resetRun))))
	case screenResult:
		m.resultLines(p, add, wrap)
	}
	if m.err != nil {
		add("")
		wrap(p.Bad, m.err.Error())
	}
	if m.guard != nil {
		lines = common.Overlay(lines, m.guard.View(p, m.w, m.h), m.w, m.h)
	}
	return common.FitLines(lines, m.w, m.h)
}

// planLines draws the plan: the image, the sectors, the risk, the phrase.
func (m *Model) planLines(p *common.Pens, add func(string), wrap func(common.Pen, string)) {
	pl := m.plan
	if im := pl.Image; im != nil {
		wrap(p.Normal, fmt.Sprintf("%s (%s), %d bytes, SHA-256 %s…", im.Name, im.Format, im.Bytes, im.SHA256[:16]))
	}
	wrap(p.Muted, fmt.Sprintf("%s %s, %s", pl.Line, pl.UID, pl.Layout.Protection()))
	add("")
	add(" " + p.Accent.Render(fmt.Sprintf("sectors to erase (%d)", len(pl.Erase))))
	for i := 0; i < len(pl.Erase); {
		k := i
		for k+1 < len(pl.Erase) && pl.Erase[k+1].Empty == pl.Erase[i].Empty && pl.Erase[k+1].Secure == pl.Erase[i].Secure {
			k++
		}
		holds, pen := "holds data", p.Warn
		if pl.Erase[i].Empty {
			holds, pen = "empty", p.OK
		}
		name := pl.Erase[i].Name
		if k > i {
			name += " … " + pl.Erase[k].Name
		}
		if pl.Erase[i].Secure {
			name += " (secure)"
		}
		add(fmt.Sprintf("   0x%08X..0x%08X  %s  %s", pl.Erase[i].Addr, pl.Erase[k].End()-1, p.Normal.Render(name), pen.Render(holds)))
		i = k + 1
	}
	for _, n := range pl.Notes {
		wrap(p.Warn, "note: "+n)
	}
	add(" " + common.RiskBadge(p, bench.RiskCaution) + p.Muted.Render("  phrase: ") + p.Normal.Render(pl.Phrase))
}

// resultLines draws how the write ended.
func (m *Model) resultLines(p *common.Pens, add func(string), wrap func(common.Pen, string)) {
	o := m.outcome
	if o == nil || o.Result == nil {
		add(" " + p.Bad.Render("nothing was written"))
		return
	}
	r := o.Result
	if o.Plan != nil && o.Plan.Image != nil {
		im := o.Plan.Image
		wrap(p.Normal, fmt.Sprintf("%s (%s), %d bytes, SHA-256 %s…", im.Name, im.Format, im.Bytes, im.SHA256[:16]))
		add("")
	}
	text := fmt.Sprintf("erased %s, programmed %d bytes", bench.FlashSectors(r.Erased), r.Programmed)
	if r.Verified {
		text += fmt.Sprintf(", verified (CRC-32 0x%08X)", r.CRC32)
	}
	if m.err == nil {
		add(" " + p.OK.Render("✓ "+text))
	} else {
		add(" " + p.Bad.Render("✗ "+text))
	}
	if r.Holds != nil {
		for _, l := range strings.Split(r.Holds.String(), "\n") {
			wrap(p.Warn, l)
		}
	}
	switch {
	case o.Running:
		add(" " + p.OK.Render("the chip was reset and runs the new program"))
	case o.Halted && m.err == nil:
		add(" " + p.Muted.Render("the core stays halted: reset the board to run the new program"))
	}
	if r.Journal != "" {
		wrap(p.Warn, "journal: "+r.Journal)
	}
	if o.Audit != nil {
		add("")
		for i, l := range common.Wrap(writeflow.AuditLine(o.Audit), max(10, m.w-9)) {
			label := "       "
			if i == 0 {
				label = "audit: "
			}
			add(" " + p.Muted.Render(label+l))
		}
	}
	add("")
	add(" " + p.Muted.Render("e: another file  enter: plan this file again"))
}
