// Package header draws the console's header: the probe, the target voltage,
// the chip and its product state, TrustZone, debug-authentication
// provisioning, the connection in use, and the simulated board.
package header

import (
	"fmt"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/tui/common"
)

// Item is one "label value" part of the header.
type Item struct {
	Label string
	Value string
	Style lipgloss.Style // of the value
}

// Items are the header's parts for snapshot s, in display order: the
// probe's line first, then the target's.
func Items(st *common.Styles, s bench.Snapshot) (probeItems, targetItems []Item) {
	p := s.Probe
	model := p.Model
	if model == "" {
		model = "ST-LINK"
	}
	fw := p.Firmware
	if fw == "" {
		fw = "firmware ?"
	}
	probeItems = append(probeItems, Item{Label: "", Value: model + " " + fw, Style: st.HeaderValue})
	if p.Serial != "" {
		probeItems = append(probeItems, Item{Label: "SN", Value: p.Serial, Style: st.Normal})
	}
	v := Item{Label: "VDD", Value: "?", Style: st.Muted}
	if s.HasVoltage {
		v.Value, v.Style = fmt.Sprintf("%.2f V", s.Voltage), st.Normal
		if s.Voltage < 1.6 {
			v.Style = st.Bad
		}
	}
	probeItems = append(probeItems, v)
	conn := Item{Label: "via", Value: "not connected yet", Style: st.Muted}
	if s.Connection != "" {
		conn.Value, conn.Style = s.Connection, st.Normal
		if strings.Contains(s.Connection, "failed") {
			conn.Style = st.Warn
		}
	}
	probeItems = append(probeItems, conn)

	chip := Item{Label: "", Value: "chip not identified", Style: st.Muted}
	if s.Chip != nil {
		chip.Value, chip.Style = chipName(s.Chip), st.HeaderValue
	} else if m := s.Matrix; m != nil && m.Chip() != "" {
		chip.Value, chip.Style = m.Chip(), st.HeaderValue
	}
	targetItems = append(targetItems, chip)
	state, tzen, tzKnown, ok := productState(s)
	if ok {
		targetItems = append(targetItems, Item{Label: "state", Value: stateSymbol(state) + " " + state.String(), Style: st.StateStyle(state).Bold(true)})
		if s.StateStale != "" {
			// The chip was looked at since and its state not read: say
			// when the state shown was learned, and why it was not since.
			targetItems = append(targetItems, Item{Label: "as of", Value: clock(s.StateAt) + " (" + s.StateStale + ")", Style: st.Warn})
		}
		tz := Item{Label: "TZEN", Value: tzen.String(), Style: st.Normal}
		switch {
		case !tzKnown:
			tz.Value, tz.Style = "not read", st.Muted
		case tzen == targets.TZENEnabled:
			tz.Style = st.Info
		}
		if tzKnown && s.HasState && !s.TZENAt.IsZero() && s.TZENAt.Before(s.StateAt) {
			tz.Value += " as of " + clock(s.TZENAt) // the state's source does not tell TZEN
		}
		targetItems = append(targetItems, tz)
	} else if c := s.Chip; c != nil && c.HasProtection {
		// a family protected by RDP levels, not product states
		p := Item{Label: "protection", Value: c.Protection.String(), Style: st.OK}
		switch c.Protection.Level {
		case targets.RDPLevel1, targets.RDPLevel05:
			p.Style = st.Warn.Bold(true)
		case targets.RDPLevel2:
			p.Style = st.Bad.Bold(true)
		}
		targetItems = append(targetItems, p)
	} else {
		targetItems = append(targetItems, Item{Label: "state", Value: "not read", Style: st.Muted})
	}
	if c := s.Chip; ok || c == nil || !c.HasProtection {
		targetItems = append(targetItems, daItem(st, s)) // DA is the STM32H5's
	}
	if s.OptionsUnlocked {
		// FLASH_OPTCR.OPTLOCK read 0: a write was interrupted (ob lock).
		targetItems = append(targetItems, Item{Label: "option regs", Value: "UNLOCKED", Style: st.Bad.Bold(true)})
	}
	return probeItems, targetItems
}

// chipName is the chip's line and revision.
func chipName(c *targets.Chip) string {
	s := c.Name()
	if c.HasFlashSize {
		s += fmt.Sprintf(", %d KiB", c.FlashKB)
	}
	return s
}

// productState is the product state from the freshest source: a read
// through the core port (info, option bytes), the last sweep, or a DA
// discovery (which does not tell TZEN: tzKnown is false then).
func productState(s bench.Snapshot) (st targets.ProductState, tz targets.TZEN, tzKnown, ok bool) {
	if s.HasState {
		return s.State, s.TZEN, s.StateAt.IsZero() || !s.TZENAt.IsZero(), true
	}
	if m := s.Matrix; m != nil {
		for _, c := range m.Cells {
			if c.State.Valid() {
				return c.State, c.TZEN, true, true
			}
		}
	}
	if d := s.Discovery; d != nil && d.State.Valid() {
		return d.State, 0, false, true
	}
	return 0, 0, false, false
}

// clock is the time of day t was learned at ("?" when unknown).
func clock(t time.Time) string {
	if t.IsZero() {
		return "?"
	}
	return t.Format("15:04:05")
}

// stateSymbol marks how locked a state is, readable without colour.
func stateSymbol(p targets.ProductState) string {
	switch p {
	case targets.StateOpen:
		return "○"
	case targets.StateProvisioning, targets.StateIROTProvisioned:
		return "◐"
	case targets.StateLocked:
		return "■"
	}
	return "●"
}

// daItem says whether debug authentication is provisioned.
func daItem(st *common.Styles, s bench.Snapshot) Item {
	it := Item{Label: "DA", Value: "not read", Style: st.Muted}
	da := s.DA
	if da == nil && s.Matrix != nil {
		for i := range s.Matrix.Cells {
			if d := s.Matrix.Cells[i].DA; d != nil {
				da = d
				break
			}
		}
	}
	switch {
	case da != nil && da.Checked && da.Provisioned:
		it.Value, it.Style = "provisioned ("+da.Method.String()+")", st.OK
	case da != nil && da.Checked:
		it.Value, it.Style = "not provisioned", st.Warn
	case s.Discovery != nil && s.Discovery.HasIntegrity:
		if s.Discovery.Provisioned() {
			it.Value, it.Style = "provisioned", st.OK
			if m := s.Discovery.Method(); m != "" {
				it.Value += " (" + m + ")"
			}
		} else {
			it.Value, it.Style = "not provisioned", st.Warn
		}
	case da != nil:
		it.Value = "unknown"
	}
	if da != nil && da.SamplePassword && da.Method == targets.DAPassword {
		it.Value += ", ST sample password"
		it.Style = st.Warn
	}
	return it
}

// Lines are the header's lines at width w: the probe's items then the
// target's, each group flowed onto as many lines as it needs, so that
// nothing is dropped on a narrow terminal.
func Lines(c *common.Context, w int) []string {
	st := c.Styles
	s := c.Snapshot()
	pi, ti := Items(st, s)
	parts := make([]string, 0, len(pi)+1)
	for _, it := range pi {
		parts = append(parts, render(st, it))
	}
	if s.Simulated {
		name := s.Scenario
		if name == "" {
			name = "board"
		}
		// the badge's own padding on the right only: the separator
		// before it already leaves a space
		parts = append(parts, st.Simulated.PaddingLeft(0).Render("SIMULATED "+name))
	}
	lines := flow(st, parts, w)
	parts = parts[:0]
	for _, it := range ti {
		parts = append(parts, render(st, it))
	}
	return append(lines, flow(st, parts, w)...)
}

// View draws the header in width w.
func View(c *common.Context, w int) string { return strings.Join(Lines(c, w), "\n") }

// flow joins parts with separators into lines no wider than w (a part
// wider than a line wraps onto the next lines).
func flow(st *common.Styles, parts []string, w int) []string {
	sep := st.Muted.Render(" │ ")
	sepW := lipgloss.Width(sep)
	var lines []string
	var cur strings.Builder
	curW := 0
	for _, p := range parts {
		pw := lipgloss.Width(p)
		if curW > 0 && curW+sepW+pw > w-1 {
			lines = append(lines, cur.String())
			cur.Reset()
			curW = 0
		}
		if curW == 0 {
			cur.WriteString(" ")
			curW = 1
		} else {
			cur.WriteString(sep)
			curW += sepW
		}
		if curW+pw > w {
			// a part wider than a line goes on over the next lines,
			// under its own start: nothing of it is cut
			rows := strings.Split(ansi.Wrap(p, max(8, w-curW), ""), "\n")
			indent := strings.Repeat(" ", curW)
			for i, r := range rows[:len(rows)-1] {
				if i > 0 {
					cur.WriteString(indent)
				}
				cur.WriteString(r)
				lines = append(lines, cur.String())
				cur.Reset()
			}
			if len(rows) > 1 {
				cur.WriteString(indent)
			}
			p = rows[len(rows)-1]
			pw = lipgloss.Width(p)
		}
		cur.WriteString(p)
		curW += pw
	}
	if curW > 0 {
		lines = append(lines, cur.String())
	}
	return lines
}

func render(st *common.Styles, it Item) string {
	if it.Label == "" {
		return it.Style.Render(it.Value)
	}
	return st.HeaderLabel.Render(it.Label+" ") + it.Style.Render(it.Value)
}
