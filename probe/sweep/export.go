package sweep

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/targets"
)

// The JSON document: the matrix, its header and the diagnosis. Register
// values are hex strings ("0x6BA02477"), absent when not read; durations
// are microseconds.
type jsonDoc struct {
	Header    jsonHeader `json:"header"`
	Plan      jsonPlan   `json:"plan"`
	Cancelled bool       `json:"cancelled,omitempty"`
	WallUS    int64      `json:"wall_us"`
	WireUS    int64      `json:"wire_us"`
	Cells     []jsonCell `json:"cells"`
	Discovery *Discovery `json:"da_discovery,omitempty"`
	// OtherPaths are the ways in other than SWD (Matrix.OtherPaths).
	OtherPaths []PathRow     `json:"other_paths,omitempty"`
	Findings   []jsonFinding `json:"findings"`
}

type jsonHeader struct {
	Probe    string    `json:"probe,omitempty"`
	Serial   string    `json:"serial,omitempty"`
	Backend  string    `json:"backend,omitempty"`
	Firmware string    `json:"firmware,omitempty"`
	Voltage  *float64  `json:"voltage,omitempty"` // absent when not measured
	Target   string    `json:"target,omitempty"`
	Time     time.Time `json:"time"`
}

type jsonPlan struct {
	Modes          []string `json:"modes"`
	APs            []int    `json:"aps"`
	FrequenciesKHz []int    `json:"frequencies_khz"`
}

type jsonCell struct {
	Mode      string `json:"mode"`
	AP        uint8  `json:"ap"`
	KHz       int    `json:"khz"`
	SetKHz    int    `json:"set_khz,omitempty"`
	Outcome   string `json:"outcome"`
	Reason    string `json:"reason,omitempty"`
	DPIDR     string `json:"dpidr,omitempty"`
	CtrlStat  string `json:"ctrl_stat,omitempty"`
	APIDR     string `json:"ap_idr,omitempty"`
	CPUID     string `json:"cpuid,omitempty"`
	Core      string `json:"core,omitempty"`
	IDCode    string `json:"idcode,omitempty"`
	Chip      string `json:"chip,omitempty"`
	APPresent string `json:"ap_present,omitempty"`
	APEnabled string `json:"ap_enabled,omitempty"`
	// ProductState has the shape of every product state stprobe prints:
	// {"code": "0x17", "name": "PROVISIONING"} (targets.ProductState).
	ProductState targets.ProductState `json:"product_state,omitempty"`
	TZEN         string               `json:"tzen,omitempty"`
	DA           *targets.DAStatus    `json:"da,omitempty"`
	FailedStep   string               `json:"failed_step,omitempty"`
	Error        string               `json:"error,omitempty"`
	Status       string               `json:"status,omitempty"`
	Layer        string               `json:"layer,omitempty"`
	TeardownErr  string               `json:"teardown_error,omitempty"`
	ImpliedBy    string               `json:"implied_by,omitempty"`
	WallUS       int64                `json:"wall_us"`
	WireUS       int64                `json:"wire_us"`
}

type jsonFinding struct {
	Rule     string   `json:"rule"`
	Severity string   `json:"severity"`
	Title    string   `json:"title"`
	Detail   string   `json:"detail,omitempty"`
	Next     string   `json:"next,omitempty"`
	Cells    []string `json:"cells,omitempty"`
	Checks   []string `json:"checks,omitempty"`
	// OtherPath marks a finding drawn from the other paths (read back
	// into Matrix.PathFindings).
	OtherPath bool `json:"other_path,omitempty"`
}

func hex32(v uint32) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprintf("0x%08X", v)
}

func hex16(v uint16) string { return fmt.Sprintf("0x%04X", v) }

func hex8(v uint8) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprintf("0x%02X", v)
}

func coreString(c Cell) string {
	if c.Core == probe.CoreUnknown {
		return ""
	}
	return c.Core.String()
}

func toJSONCell(c Cell) jsonCell {
	j := jsonCell{
		Mode: c.Mode.String(), AP: c.AP, KHz: c.KHz, SetKHz: c.SetKHz,
		Outcome: string(c.Outcome), Reason: c.Reason,
		DPIDR: hex32(c.DPIDR), CtrlStat: hex32(c.CtrlStat), APIDR: hex32(c.APIDR), CPUID: hex32(c.CPUID),
		Core: coreString(c), IDCode: hex32(c.IDCode), Chip: c.Chip,
		ProductState: c.State, TZEN: hex8(uint8(c.TZEN)),
		FailedStep: c.FailedStep, Error: c.Err, Status: hex8(uint8(c.Status)), Layer: string(c.Layer),
		TeardownErr: c.TeardownErr, DA: c.DA,
		WallUS: c.Wall.Microseconds(), WireUS: c.Wire.Microseconds(),
	}
	if c.ImpliedBy != nil {
		j.ImpliedBy = c.ImpliedBy.String()
	}
	if c.HasAPStatus {
		j.APPresent, j.APEnabled = hex16(c.APPresent), hex16(c.APEnabled)
	}
	return j
}

// WriteJSON writes the matrix and its diagnosis as one indented JSON document.
func WriteJSON(w io.Writer, m *Matrix, findings []Finding) error {
	if m == nil {
		m = &Matrix{}
	}
	doc := jsonDoc{
		Header: jsonHeader{Probe: m.Header.Probe, Serial: m.Header.Serial, Backend: m.Header.Backend,
			Firmware: m.Header.Firmware, Target: m.Header.Target, Time: m.Header.Time},
		Plan:      jsonPlan{APs: []int{}, FrequenciesKHz: m.Plan.FrequenciesKHz},
		Cancelled: m.Cancelled,
		WallUS:    m.Wall.Microseconds(), WireUS: m.Wire.Microseconds(),
		Cells:      make([]jsonCell, 0, len(m.Cells)),
		Discovery:  m.Discovery,
		OtherPaths: m.OtherPaths,
		Findings:   make([]jsonFinding, 0, len(findings)),
	}
	if m.Header.HasVoltage {
		v := m.Header.Voltage
		doc.Header.Voltage = &v
	}
	for _, ap := range m.Plan.APs {
		doc.Plan.APs = append(doc.Plan.APs, int(ap))
	}
	for _, mode := range m.Plan.Modes {
		doc.Plan.Modes = append(doc.Plan.Modes, mode.String())
	}
	for _, c := range m.Cells {
		doc.Cells = append(doc.Cells, toJSONCell(c))
	}
	for _, f := range findings {
		jf := jsonFinding{Rule: f.Rule, Severity: f.Severity.String(), Title: f.Title, Detail: f.Detail, Next: f.Next,
			Checks: f.Checks, OtherPath: f.OtherPaths}
		for _, k := range f.Cells {
			jf.Cells = append(jf.Cells, k.String())
		}
		doc.Findings = append(doc.Findings, jf)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("writing sweep JSON: %w", err)
	}
	return nil
}

// ReadJSON reads a matrix written by WriteJSON (the findings are not read
// back: Diagnose recomputes them, except those drawn from the other paths,
// which go back into PathFindings without their cells). It rejects malformed documents with an
// error naming the first bad field.
func ReadJSON(r io.Reader) (*Matrix, error) {
	var doc jsonDoc
	dec := json.NewDecoder(io.LimitReader(r, 64<<20))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("reading sweep JSON: %w", err)
	}
	m := &Matrix{
		Header: Header{Probe: doc.Header.Probe, Serial: doc.Header.Serial, Backend: doc.Header.Backend,
			Firmware: doc.Header.Firmware, Target: doc.Header.Target, Time: doc.Header.Time},
		Plan:       Plan{FrequenciesKHz: doc.Plan.FrequenciesKHz},
		Cancelled:  doc.Cancelled,
		Wall:       time.Duration(doc.WallUS) * time.Microsecond,
		Wire:       time.Duration(doc.WireUS) * time.Microsecond,
		Discovery:  doc.Discovery,
		OtherPaths: doc.OtherPaths,
	}
	for i, jf := range doc.Findings {
		if !jf.OtherPath {
			continue
		}
		sev, err := ParseSeverity(jf.Severity)
		if err == nil && (jf.Rule == "" || jf.Title == "") {
			err = errors.New("a finding of the other paths needs a rule and a title")
		}
		if err != nil {
			return nil, fmt.Errorf("reading sweep JSON: finding %d: %w", i, err)
		}
		m.PathFindings = append(m.PathFindings, Finding{Rule: jf.Rule, Severity: sev, Title: jf.Title,
			Detail: jf.Detail, Next: jf.Next, Checks: jf.Checks, OtherPaths: true})
	}
	if doc.Header.Voltage != nil {
		m.Header.Voltage, m.Header.HasVoltage = *doc.Header.Voltage, true
	}
	for _, ap := range doc.Plan.APs {
		if ap < 0 || ap > 255 {
			return nil, fmt.Errorf("reading sweep JSON: plan: access port %d: want 0..255", ap)
		}
		m.Plan.APs = append(m.Plan.APs, uint8(ap))
	}
	for _, s := range doc.Plan.Modes {
		mode, err := probe.ParseConnectMode(s)
		if err != nil {
			return nil, fmt.Errorf("reading sweep JSON: plan: %w", err)
		}
		m.Plan.Modes = append(m.Plan.Modes, mode)
	}
	for i, j := range doc.Cells {
		c, err := fromJSONCell(j)
		if err != nil {
			return nil, fmt.Errorf("reading sweep JSON: cell %d: %w", i, err)
		}
		m.Cells = append(m.Cells, c)
	}
	return m, nil
}

func fromJSONCell(j jsonCell) (Cell, error) {
	mode, err := probe.ParseConnectMode(j.Mode)
	if err != nil {
		return Cell{}, err
	}
	c := Cell{
		Key: Key{Mode: mode, AP: j.AP, KHz: j.KHz}, SetKHz: j.SetKHz, State: j.ProductState,
		Outcome: Outcome(j.Outcome), Reason: j.Reason, Chip: j.Chip,
		FailedStep: j.FailedStep, Err: j.Error, Layer: probe.Layer(j.Layer), TeardownErr: j.TeardownErr, DA: j.DA,
		Wall: time.Duration(j.WallUS) * time.Microsecond, Wire: time.Duration(j.WireUS) * time.Microsecond,
	}
	if !c.Outcome.Valid() {
		return Cell{}, fmt.Errorf("outcome %q is not one of %v", j.Outcome, Outcomes())
	}
	if j.ImpliedBy != "" {
		by, err := ParseKey(j.ImpliedBy)
		if err != nil {
			return Cell{}, fmt.Errorf("implied_by: %w", err)
		}
		c.ImpliedBy = &by
	}
	var u uint64
	for _, f := range []struct {
		name string
		s    string
		bits int
		set  func(uint64)
	}{
		{"dpidr", j.DPIDR, 32, func(v uint64) { c.DPIDR = uint32(v) }},
		{"ctrl_stat", j.CtrlStat, 32, func(v uint64) { c.CtrlStat = uint32(v) }},
		{"ap_idr", j.APIDR, 32, func(v uint64) { c.APIDR = uint32(v) }},
		{"cpuid", j.CPUID, 32, func(v uint64) { c.CPUID = uint32(v) }},
		{"idcode", j.IDCode, 32, func(v uint64) { c.IDCode = uint32(v) }},
		{"tzen", j.TZEN, 8, func(v uint64) { c.TZEN = targets.TZEN(v) }},
		{"status", j.Status, 8, func(v uint64) { c.Status = proto.Status(v) }},
		{"ap_present", j.APPresent, 16, func(v uint64) { c.APPresent = uint16(v) }},
		{"ap_enabled", j.APEnabled, 16, func(v uint64) { c.APEnabled = uint16(v); c.HasAPStatus = true }},
	} {
		if f.s == "" {
			continue
		}
		if u, err = strconv.ParseUint(f.s, 0, f.bits); err != nil {
			return Cell{}, fmt.Errorf("%s %q: want a hex number of %d bits", f.name, f.s, f.bits)
		}
		f.set(u)
	}
	if j.Core != "" {
		core, ok := parseCore(j.Core)
		if !ok {
			return Cell{}, fmt.Errorf("core state %q is unknown", j.Core)
		}
		c.Core = core
	}
	return c, nil
}

func parseCore(s string) (probe.CoreState, bool) {
	for _, cs := range []probe.CoreState{probe.CoreUnknown, probe.CoreRunning, probe.CoreHalted, probe.CoreInReset, probe.CoreLocked} {
		if cs.String() == s {
			return cs, true
		}
	}
	return probe.CoreUnknown, false
}

// csvColumns are the CSV header, one column per cell field.
var csvColumns = []string{"mode", "ap", "khz", "set_khz", "outcome", "reason", "dpidr", "ctrl_stat", "ap_idr",
	"cpuid", "core", "idcode", "chip", "ap_present", "ap_enabled", "product_state", "product_state_name", "tzen", "da",
	"failed_step", "status", "layer", "error", "teardown_error", "wall_us", "wire_us"}

// WriteCSV writes one row per cell, with a header row, then one row per
// other path (pathCSVRow).
func WriteCSV(w io.Writer, m *Matrix) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvColumns); err != nil {
		return fmt.Errorf("writing sweep CSV: %w", err)
	}
	if m != nil {
		for _, c := range m.Cells {
			j := toJSONCell(c)
			state, stateName := hex8(uint8(c.State)), ""
			if c.State != 0 {
				stateName = c.State.String()
			}
			row := []string{j.Mode, strconv.Itoa(int(j.AP)), strconv.Itoa(j.KHz), strconv.Itoa(j.SetKHz), j.Outcome, j.Reason,
				j.DPIDR, j.CtrlStat, j.APIDR, j.CPUID, j.Core, j.IDCode, j.Chip, j.APPresent, j.APEnabled,
				state, stateName, j.TZEN, daText(c.DA), j.FailedStep, j.Status, j.Layer, j.Error, j.TeardownErr,
				strconv.FormatInt(j.WallUS, 10), strconv.FormatInt(j.WireUS, 10)}
			if err := cw.Write(row); err != nil {
				return fmt.Errorf("writing sweep CSV: %w", err)
			}
		}
		for _, p := range m.OtherPaths {
			if err := cw.Write(pathCSVRow(p)); err != nil {
				return fmt.Errorf("writing sweep CSV: %w", err)
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing sweep CSV: %w", err)
	}
	return nil
}

// pathCSVRow is an other path as a CSV row: its name in the mode column,
// no AP or clock, its outcome, its summary and what it implies as the
// reason, the product state it read.
func pathCSVRow(p PathRow) []string {
	row := make([]string, len(csvColumns))
	reason := p.Summary
	if p.Implies != "" {
		reason += "; means: " + p.Implies
	}
	for i, col := range csvColumns {
		switch col {
		case "mode":
			row[i] = p.Path
		case "outcome":
			row[i] = p.Outcome
		case "reason":
			row[i] = reason
		case "product_state_name":
			row[i] = p.StateName()
		}
	}
	return row
}

// daText summarises a DA status, "" when not read.
func daText(d *targets.DAStatus) string {
	if d == nil {
		return ""
	}
	return d.String()
}

// gridText is the short text of a cell in the matrix grid: the outcome,
// the probe status when one failed it, the product state when one was read.
func gridText(c *Cell) string {
	if c == nil {
		return "—"
	}
	s := string(c.Outcome)
	switch {
	case c.Outcome == OutcomeOK && c.State != 0:
		s += ", " + c.State.String()
	case c.Outcome != OutcomeOK && c.Status != 0:
		s += fmt.Sprintf(" (0x%02X)", uint8(c.Status))
	}
	if c.ImpliedBy != nil {
		s += fmt.Sprintf(" (implied by %d kHz)", c.ImpliedBy.KHz)
	}
	return s
}

// rows lists the grid rows, (mode, AP) in plan order.
func rows(m *Matrix) []Key {
	var out []Key
	for _, mode := range m.Plan.Modes {
		for _, ap := range m.Plan.APs {
			out = append(out, Key{Mode: mode, AP: ap})
		}
	}
	if len(out) == 0 { // a matrix without a plan: rows from the cells
		for _, c := range m.Cells {
			k := Key{Mode: c.Mode, AP: c.AP}
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out
}

func columns(m *Matrix) []int {
	if len(m.Plan.FrequenciesKHz) > 0 {
		return m.Plan.FrequenciesKHz
	}
	var out []int
	for _, c := range m.Cells {
		if !slices.Contains(out, c.KHz) {
			out = append(out, c.KHz)
		}
	}
	return out
}

// ids summarises the identification values seen anywhere in the matrix.
func ids(m *Matrix) []string {
	var out []string
	add := func(s string) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, c := range m.Cells {
		if c.DPIDR != 0 {
			add(fmt.Sprintf("DPIDR 0x%08X", c.DPIDR))
		}
	}
	for _, c := range m.Cells {
		if c.APIDR != 0 {
			add(fmt.Sprintf("AP%d IDR 0x%08X", c.AP, c.APIDR))
		}
	}
	for _, c := range m.Cells {
		if c.IDCode != 0 {
			add(fmt.Sprintf("DBGMCU IDCODE 0x%08X (%s)", c.IDCode, c.Chip))
		}
	}
	// DBGMCU_SR read under reset is told apart where it differs from the
	// running chip's (firmware that opens ports once it runs).
	apStatus := func(c Cell) string {
		return fmt.Sprintf("DBGMCU_SR AP present 0x%04X, enabled 0x%04X", c.APPresent, c.APEnabled)
	}
	var running []string
	for _, c := range m.Cells {
		if c.HasAPStatus && c.Mode != probe.ModeUnderReset {
			running = append(running, apStatus(c))
			add(apStatus(c))
		}
	}
	for _, c := range m.Cells {
		if c.HasAPStatus && c.Mode == probe.ModeUnderReset && !slices.Contains(running, apStatus(c)) {
			add(apStatus(c) + " under reset")
		}
	}
	for _, c := range m.Cells {
		if c.State != 0 {
			s := fmt.Sprintf("product state %v (0x%02X)", c.State, uint8(c.State))
			if c.TZEN != 0 {
				s += fmt.Sprintf(", TZEN 0x%02X", uint8(c.TZEN))
			}
			add(s)
		}
	}
	for _, c := range m.Cells {
		if c.DA != nil {
			add("debug authentication " + c.DA.String())
		}
	}
	return out
}

func headerLines(h Header) [][2]string {
	probeLine := h.Probe
	if h.Serial != "" {
		probeLine += " (serial " + h.Serial + ")"
	}
	if h.Backend != "" {
		probeLine += " via " + h.Backend
	}
	volt := "not measured"
	if h.HasVoltage {
		volt = fmt.Sprintf("%.2f V", h.Voltage)
	}
	when := ""
	if !h.Time.IsZero() {
		when = h.Time.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	return [][2]string{{"probe", probeLine}, {"firmware", h.Firmware}, {"target voltage", volt},
		{"target", h.Target}, {"time", when}}
}

// mdEscape keeps text from breaking a Markdown table cell.
func mdEscape(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}

// WriteMarkdown writes the matrix as Markdown ready to paste into a forum
// post: a header table (probe, firmware, voltage, target, time), the grid
// of outcomes (one row per mode and AP, one column per frequency), the
// identification values seen, and the findings.
func WriteMarkdown(w io.Writer, m *Matrix, findings []Finding) error {
	if m == nil {
		m = &Matrix{}
	}
	var b strings.Builder
	b.WriteString("### stprobe connection sweep\n\n| | |\n|---|---|\n")
	for _, l := range headerLines(m.Header) {
		fmt.Fprintf(&b, "| %s | %s |\n", l[0], mdEscape(l[1]))
	}
	cols := columns(m)
	b.WriteString("\n| mode | AP |")
	for _, f := range cols {
		fmt.Fprintf(&b, " %d kHz |", f)
	}
	b.WriteString("\n|---|---|")
	b.WriteString(strings.Repeat("---|", len(cols)))
	b.WriteString("\n")
	for _, r := range rows(m) {
		fmt.Fprintf(&b, "| %v | AP%d |", r.Mode, r.AP)
		for _, f := range cols {
			fmt.Fprintf(&b, " %s |", mdEscape(gridText(m.Find(Key{Mode: r.Mode, AP: r.AP, KHz: f}))))
		}
		b.WriteString("\n")
	}
	for _, p := range m.OtherPaths {
		fmt.Fprintf(&b, "| %s | — |", mdEscape(p.Path))
		for i := range cols {
			s := ""
			if i == 0 {
				s = p.GridText()
			}
			fmt.Fprintf(&b, " %s |", mdEscape(s))
		}
		b.WriteString("\n")
	}
	if id := ids(m); len(id) > 0 {
		b.WriteString("\nSeen: " + mdEscape(strings.Join(id, "; ")) + ".\n")
	}
	if m.Discovery != nil {
		b.WriteString("\nDA discovery: " + mdEscape(m.Discovery.Summary()) + ".\n")
	}
	if len(m.OtherPaths) > 0 {
		b.WriteString("\nOther paths:\n\n")
		for _, p := range m.OtherPaths {
			b.WriteString("- " + mdEscape(p.Summary))
			if p.Implies != "" {
				b.WriteString(" *Means:* " + mdEscape(p.Implies) + ".")
			}
			b.WriteString("\n")
		}
	}
	if m.Cancelled {
		b.WriteString("\n*The sweep was cancelled; cells marked skipped were not tried.*\n")
	}
	if len(findings) > 0 {
		b.WriteString("\n**Diagnosis**\n\n")
	}
	for i, f := range findings {
		fmt.Fprintf(&b, "%d. **%s: %s.**", i+1, strings.ToUpper(f.Severity.String()), f.Title)
		if f.Detail != "" {
			b.WriteString(" " + f.Detail)
		}
		if f.Next != "" {
			b.WriteString(" *Next:* " + f.Next)
		}
		if len(f.Cells) > 0 {
			b.WriteString(" (cells: " + CellsSummary(m, f.Cells) + ")")
		}
		if len(f.Checks) > 0 {
			b.WriteString(" *Check by hand:* " + mdEscape(strings.Join(f.Checks, "; ")) + ".")
		}
		b.WriteString("\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing sweep Markdown: %w", err)
	}
	return nil
}

// CellsSummary cites a set of cells compactly, grouped by mode and AP:
// "hotplug AP1 at every frequency; normal AP1 at 4000, 100 kHz".
func CellsSummary(m *Matrix, ks []Key) string {
	type row struct {
		mode probe.ConnectMode
		ap   uint8
	}
	var order []row
	freqs := map[row][]int{}
	for _, k := range ks {
		r := row{k.Mode, k.AP}
		if _, ok := freqs[r]; !ok {
			order = append(order, r)
		}
		if !slices.Contains(freqs[r], k.KHz) {
			freqs[r] = append(freqs[r], k.KHz)
		}
	}
	var all []int
	if m != nil {
		all = m.Plan.FrequenciesKHz
	}
	parts := make([]string, 0, len(order))
	for _, r := range order {
		fs := freqs[r]
		if len(all) > 1 && len(fs) == len(all) {
			parts = append(parts, fmt.Sprintf("%v AP%d at every frequency", r.mode, r.ap))
			continue
		}
		strs := make([]string, len(fs))
		for i, f := range fs {
			strs[i] = strconv.Itoa(f)
		}
		parts = append(parts, fmt.Sprintf("%v AP%d at %s kHz", r.mode, r.ap, strings.Join(strs, ", ")))
	}
	return strings.Join(parts, "; ")
}

// WriteText writes the matrix for a terminal: the header, an aligned grid
// and the findings.
func WriteText(w io.Writer, m *Matrix, findings []Finding) error {
	if m == nil {
		m = &Matrix{}
	}
	var b strings.Builder
	for _, l := range headerLines(m.Header) {
		if l[1] != "" {
			fmt.Fprintf(&b, "%-15s %s\n", l[0]+":", l[1])
		}
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	cols := columns(m)
	fmt.Fprint(tw, "mode\tAP")
	for _, f := range cols {
		fmt.Fprintf(tw, "\t%d kHz", f)
	}
	fmt.Fprintln(tw)
	for _, r := range rows(m) {
		fmt.Fprintf(tw, "%v\tAP%d", r.Mode, r.AP)
		for _, f := range cols {
			fmt.Fprintf(tw, "\t%s", gridText(m.Find(Key{Mode: r.Mode, AP: r.AP, KHz: f})))
		}
		fmt.Fprintln(tw)
	}
	for _, p := range m.OtherPaths {
		fmt.Fprintf(tw, "%s\t-\t%s\n", p.Path, p.GridText())
	}
	tw.Flush()
	if id := ids(m); len(id) > 0 {
		b.WriteString("\nseen: " + strings.Join(id, "; ") + "\n")
	}
	if m.Discovery != nil {
		b.WriteString("DA discovery: " + m.Discovery.Summary() + "\n")
	}
	if lines := pathLines(m, "  "); len(lines) > 0 {
		b.WriteString("\n" + strings.Join(lines, "\n") + "\n")
	}
	if m.Wire > 0 {
		fmt.Fprintf(&b, "modelled wire time %v, wall %v\n", m.Wire.Round(time.Millisecond), m.Wall.Round(time.Millisecond))
	}
	for _, f := range findings {
		fmt.Fprintf(&b, "\n[%s] %s\n", f.Severity, f.Title)
		if f.Detail != "" {
			fmt.Fprintf(&b, "  %s\n", f.Detail)
		}
		if f.Next != "" {
			fmt.Fprintf(&b, "  next: %s\n", f.Next)
		}
		if len(f.Cells) > 0 {
			fmt.Fprintf(&b, "  cells: %s\n", CellsSummary(m, f.Cells))
		}
		for _, c := range f.Checks {
			fmt.Fprintf(&b, "  check: %s\n", c)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing sweep report: %w", err)
	}
	return nil
}
