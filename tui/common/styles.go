package common

import (
	"image/color"

	"charm.land/lipgloss/v2"

	"github.com/stprobe/stprobe/targets"
)

// Theme is the colour scheme of one session: dark or light background, and
// whether colour is wanted at all (NO_COLOR).
type Theme struct {
	Dark    bool
	NoColor bool
}

// color picks the light- or dark-background colour, or no colour at all.
func (t Theme) color(light, dark string) color.Color {
	if t.NoColor {
		return lipgloss.NoColor{}
	}
	return lipgloss.LightDark(t.Dark)(lipgloss.Color(light), lipgloss.Color(dark))
}

// Styles are every style the console draws with, built once per theme.
// Panes use the semantic ones (OK, Warn, Bad, ...) rather than colours, so
// that NO_COLOR and light backgrounds work everywhere.
type Styles struct {
	Theme Theme

	// Text styles by meaning.
	Normal lipgloss.Style
	Muted  lipgloss.Style // secondary text, labels
	Accent lipgloss.Style // titles, the focused pane's name
	OK     lipgloss.Style // worked, open
	Info   lipgloss.Style // worth knowing
	Warn   lipgloss.Style // partly worked, needs care
	Bad    lipgloss.Style // failed
	Danger lipgloss.Style // irreversible, brick: bold and loud
	Key    lipgloss.Style // a key name in help or hints

	// Layout.
	Header       lipgloss.Style // the header block
	HeaderLabel  lipgloss.Style
	HeaderValue  lipgloss.Style
	Simulated    lipgloss.Style // the "SIMULATED scenario" badge
	TabActive    lipgloss.Style
	TabInactive  lipgloss.Style
	Pane         lipgloss.Style // a pane's border when not focused
	PaneFocused  lipgloss.Style // a pane's border when focused
	Selected     lipgloss.Style // the selected row or cell (reverse video without colour)
	Footer       lipgloss.Style
	Banner       lipgloss.Style // the probe-gone / error banner across the screen
	Dialog       lipgloss.Style // a modal dialog's frame (guards)
	DialogDanger lipgloss.Style // a guard dialog for irreversible or brick changes
}

// NewStyles builds the styles of theme t.
func NewStyles(t Theme) *Styles {
	fg := func(light, dark string) lipgloss.Style { return lipgloss.NewStyle().Foreground(t.color(light, dark)) }
	s := &Styles{Theme: t}
	s.Normal = lipgloss.NewStyle()
	s.Muted = fg("#6C6C6C", "#8A8A8A")
	s.Accent = fg("#5A3FC0", "#A78BFA").Bold(true)
	s.OK = fg("#1A7F37", "#3FB950")
	s.Info = fg("#0969DA", "#58A6FF")
	s.Warn = fg("#9A6700", "#D29922")
	s.Bad = fg("#CF222E", "#F85149")
	s.Danger = fg("#A40E26", "#FF7B72").Bold(true)
	s.Key = fg("#5A3FC0", "#A78BFA").Bold(true)

	s.Header = lipgloss.NewStyle().Padding(0, 1)
	s.HeaderLabel = s.Muted
	s.HeaderValue = lipgloss.NewStyle().Bold(true)
	s.Simulated = lipgloss.NewStyle().Bold(true).Reverse(t.NoColor).
		Foreground(t.color("#FFFFFF", "#1F1F1F")).Background(t.color("#9A6700", "#D29922")).Padding(0, 1)
	s.TabActive = lipgloss.NewStyle().Bold(true).Underline(true).Foreground(t.color("#5A3FC0", "#A78BFA")).Padding(0, 1)
	s.TabInactive = fg("#6C6C6C", "#8A8A8A").Padding(0, 1)
	s.Pane = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(t.color("#D0D0D0", "#444444"))
	s.PaneFocused = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(t.color("#5A3FC0", "#A78BFA"))
	if t.NoColor {
		s.PaneFocused = s.PaneFocused.Border(lipgloss.DoubleBorder())
	}
	s.Selected = lipgloss.NewStyle().Bold(true)
	if t.NoColor {
		s.Selected = s.Selected.Reverse(true)
	} else {
		s.Selected = s.Selected.Background(t.color("#DDF4FF", "#1F3A5F"))
	}
	s.Footer = lipgloss.NewStyle().Padding(0, 1)
	s.Banner = lipgloss.NewStyle().Bold(true).Padding(0, 1).
		Foreground(t.color("#FFFFFF", "#FFFFFF")).Background(t.color("#CF222E", "#B62324")).Reverse(t.NoColor)
	s.Dialog = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(t.color("#5A3FC0", "#A78BFA")).Padding(0, 1)
	s.DialogDanger = lipgloss.NewStyle().Border(lipgloss.ThickBorder()).BorderForeground(t.color("#CF222E", "#F85149")).Padding(0, 1)
	return s
}

// StateStyle is the style of a product state, by how locked it is: OPEN is
// OK, PROVISIONING and iROT-provisioned warn, TZ-CLOSED and CLOSED are bad,
// LOCKED is danger. Unknown values are bad.
func (s *Styles) StateStyle(p targets.ProductState) lipgloss.Style {
	switch p {
	case targets.StateOpen:
		return s.OK
	case targets.StateProvisioning, targets.StateIROTProvisioned:
		return s.Warn
	case targets.StateLocked:
		return s.Danger
	default:
		return s.Bad
	}
}
