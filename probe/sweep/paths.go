package sweep

import (
	"fmt"
	"strings"

	"github.com/stprobe/stprobe/targets"
)

// PathRow is one way into the chip other than SWD, shown beside the SWD
// cells: for example the ROM bootloader over USB DFU or over a UART. The
// caller probes the path and fills the row; the matrix only shows it.
type PathRow struct {
	// Path names the way in, e.g. "usb-dfu" or "uart".
	Path string `json:"path"`
	// Outcome is what the path found, e.g. "answered", "silent", "error".
	Outcome string `json:"outcome"`
	// State names the product state the path read, "" when it read none;
	// ProductState is that state, in the JSON in the shape of every
	// product state stprobe prints (0 when none was read).
	State        string               `json:"-"`
	ProductState targets.ProductState `json:"product_state,omitempty"`
	// Summary says what the path found in one line; Implies what that
	// tells about the chip.
	Summary string `json:"summary"`
	Implies string `json:"implies,omitempty"`
}

// GridText is the row's short text in the matrix grid: the outcome and the
// product state when one was read.
func (r PathRow) GridText() string {
	if r.StateName() == "" {
		return r.Outcome
	}
	return r.Outcome + ", " + r.StateName()
}

// StateName names the product state the path read, "" when none: State,
// or the name of ProductState (a row read back from JSON has only that).
func (r PathRow) StateName() string {
	if r.State == "" && r.ProductState != 0 {
		return r.ProductState.String()
	}
	return r.State
}

// AddPaths shows rows beside the SWD cells and adds findings, drawn from
// those paths together with the cells, to what Diagnose returns. It
// replaces the paths and findings of an earlier call. Each finding is
// marked OtherPaths; its Rule should name what concluded it (e.g.
// "boot-silent").
func (m *Matrix) AddPaths(rows []PathRow, findings []Finding) {
	m.OtherPaths = append([]PathRow(nil), rows...)
	m.PathFindings = make([]Finding, 0, len(findings))
	for _, f := range findings {
		f.OtherPaths = true
		f.Checks = append([]string(nil), f.Checks...)
		m.PathFindings = append(m.PathFindings, f)
	}
	if len(m.PathFindings) == 0 {
		m.PathFindings = nil
	}
}

// pathLines renders the other paths below the grid: each row's summary
// and what it implies, indented by indent.
func pathLines(m *Matrix, indent string) []string {
	var out []string
	for _, r := range m.OtherPaths {
		out = append(out, r.Summary)
		if r.Implies != "" {
			out = append(out, indent+"means: "+r.Implies)
		}
	}
	return out
}

// ParseSeverity is the inverse of Severity.String.
func ParseSeverity(s string) (Severity, error) {
	for _, v := range []Severity{SeverityInfo, SeverityWarning, SeverityCritical} {
		if strings.EqualFold(s, v.String()) {
			return v, nil
		}
	}
	return SeverityInfo, fmt.Errorf("severity %q: want info, warning or critical", s)
}
