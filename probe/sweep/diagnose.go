package sweep

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/stprobe/stprobe/enum"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/targets"
)

// Severity ranks a finding; higher is more urgent.
type Severity int

// Severities, least urgent first.
const (
	// SeverityInfo: context worth knowing; nothing is wrong.
	SeverityInfo Severity = iota
	// SeverityWarning: something keeps some ways in from working.
	SeverityWarning
	// SeverityCritical: the board cannot be debugged, or a wrong next step
	// would lose it; act on this first.
	SeverityCritical
)

// String names the severity: "info", "warning" or "critical".
func (s Severity) String() string {
	names := [...]string{SeverityInfo: "info", SeverityWarning: "warning", SeverityCritical: "critical"}
	return enum.Name(names[:], s, "severity")
}

// Finding is one conclusion drawn from the whole matrix.
type Finding struct {
	// Rule is a stable identifier of the rule that produced the finding,
	// e.g. "no-dp" or "provisioning".
	Rule     string
	Severity Severity
	// Title says the conclusion in one line, Detail what the pattern
	// means, Next the next thing to try.
	Title, Detail, Next string
	// Cells are the cells that support the finding, in plan order.
	Cells []Key
	// Checks are what only a person at the bench can verify (a pin level,
	// a wire), listed with the finding.
	Checks []string
	// OtherPaths is true for a finding drawn from the paths other than SWD
	// (Matrix.AddPaths) rather than from a rule of the matrix.
	OtherPaths bool
	// Steps are the next steps the bench can take for the user, in the
	// order Next gives them; the faces draw them as buttons.
	Steps []Step
}

// Action is a next step of a finding that stprobe can take itself.
type Action string

// The actions a finding can offer.
const (
	// ActionPlanOptionBytes plans the option-byte assignment of the step.
	ActionPlanOptionBytes Action = "plan-option-bytes"
	// ActionDiscoverDA runs a DA discovery through the debug port's AP0.
	ActionDiscoverDA Action = "da-discover"
	// ActionDebugAuth turns to debug authentication (provision, regress, open).
	ActionDebugAuth Action = "debug-auth"
	// ActionReadOptionBytes reads and decodes the option bytes.
	ActionReadOptionBytes Action = "read-option-bytes"
	// ActionSweep runs the sweep again.
	ActionSweep Action = "sweep"
)

// Step is one next step of a finding: an action and, for an option-byte
// plan, the assignment to plan ("TZEN=0xC3").
type Step struct {
	Action     Action `json:"action"`
	Assignment string `json:"assignment,omitempty"`
}

// tzenOff is the option-byte step that disables TrustZone, which password
// debug authentication needs.
func tzenOff() Step { return Step{Action: ActionPlanOptionBytes, Assignment: "TZEN=0xC3"} }

// steps lists actions as steps.
func steps(actions ...Action) []Step {
	out := make([]Step, len(actions))
	for i, a := range actions {
		out[i] = Step{Action: a}
	}
	return out
}

// Rules lists the identifiers of every diagnosis rule, most important
// first, as Diagnose orders findings of equal severity.
func Rules() []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = r.id
	}
	return out
}

// rule is one diagnosis rule; it returns nil when its pattern is absent.
type rule struct {
	id string
	fn func(f *facts) *Finding
}

var rules = []rule{
	{"no-dp", ruleNoDP},
	{"debug-closed", ruleDebugClosed},
	{"rdp-level-1", ruleRDP1},
	{"rdp-level-2", ruleRDP2},
	{"rdp-level-0.5", ruleRDP05},
	{"provisioning", ruleProvisioning},
	{"probe-fault", ruleProbeFault},
	{"only-under-reset", ruleOnlyUnderReset},
	{"watchdog", ruleWatchdog},
	{"boot-memory", ruleBootMemory},
	{"empty-flash", ruleEmptyFlash},
	{"only-hotplug", ruleOnlyHotPlug},
	{"nrst-not-wired", ruleNRSTNotWired},
	{"debug-opens-late", ruleDebugOpensLate},
	{"low-frequency-only", ruleLowFrequencyOnly},
	{"wait", ruleWait},
	{"dp-only", ruleDPOnly},
	{"absent-ap", ruleAbsentAP},
	{"firmware", ruleFirmware},
	{"product-state", ruleProductState},
	{"identity", ruleIdentity},
	{"all-ok", ruleAllOK},
	{"incomplete", ruleIncomplete},
}

// Diagnose reads the whole matrix and returns what its pattern means, most
// important first. It accepts any matrix, including an empty or partial
// one from a cancelled sweep, and never fails. The findings the caller
// added with Matrix.AddPaths are merged in, by severity, after the
// matrix's own findings of equal severity.
func Diagnose(m *Matrix) []Finding {
	f := newFacts(m)
	var out []Finding
	for _, r := range rules {
		if fd := r.fn(f); fd != nil {
			fd.Rule = r.id
			fd.Cells = uniqueKeys(fd.Cells)
			out = append(out, *fd)
		}
	}
	if m != nil {
		for _, pf := range m.PathFindings {
			pf.OtherPaths = true
			out = append(out, pf)
		}
	}
	slices.SortStableFunc(out, func(a, b Finding) int { return cmp.Compare(b.Severity, a.Severity) })
	return out
}

// uniqueKeys drops repeated keys, keeping the first of each.
func uniqueKeys(ks []Key) []Key {
	var out []Key
	for _, k := range ks {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// facts are what the rules share: the cells grouped, and what the target
// said about itself anywhere in the matrix.
type facts struct {
	m         *Matrix
	cells     []Cell // every cell, plan order
	attempted []Cell // cells that were really tried
	aps       []uint8
	modes     []probe.ConnectMode

	family    *targets.Family
	line      targets.Line
	chip      string
	idCell    *Cell // a cell that identified the chip
	coreAP    int   // -1 when unknown
	debugAP   int   // -1 when unknown
	state     targets.ProductState
	tzen      targets.TZEN
	stateCell []Key
	apStatus  *Cell // a cell that read DBGMCU_SR
	da        *targets.DAStatus
	daCell    []Key // the cell that read da
	// disc is the sweep's DA discovery result (nil when none ran or it
	// failed); discNote says why there is none when one was due.
	disc     *DAReport
	discNote string
}

func newFacts(m *Matrix) *facts {
	f := &facts{m: m, coreAP: -1, debugAP: -1}
	if m == nil {
		f.m = &Matrix{}
		return f
	}
	f.cells = m.Cells
	for i := range m.Cells {
		c := &m.Cells[i]
		if c.Outcome.Attempted() {
			f.attempted = append(f.attempted, *c)
		}
		if !slices.Contains(f.aps, c.AP) {
			f.aps = append(f.aps, c.AP)
		}
		if !slices.Contains(f.modes, c.Mode) {
			f.modes = append(f.modes, c.Mode)
		}
		if f.family == nil && c.IDCode != 0 {
			devID, _ := targets.DecodeIDCode(c.IDCode)
			if fam, l, ok := targets.LookupDevID(devID); ok {
				f.family, f.line, f.idCell = &fam, l, c
				f.chip = c.Chip
				if f.chip == "" {
					f.chip = l.Name
				}
			}
		}
		if c.State.Valid() {
			if f.state == 0 {
				f.state, f.tzen = c.State, c.TZEN
			}
			if c.State == f.state {
				f.stateCell = append(f.stateCell, c.Key)
			}
		}
		if c.HasAPStatus && f.apStatus == nil {
			f.apStatus = c
		}
		if c.DA != nil && f.da == nil {
			f.da, f.daCell = c.DA, []Key{c.Key}
		}
	}
	slices.Sort(f.aps)
	if d := m.Discovery; d != nil {
		f.disc = d.Result
		if d.Result == nil {
			f.discNote = d.Summary()
		} else if f.state == 0 && d.Result.State.Valid() {
			f.state = d.Result.State
		}
	}
	if f.family != nil {
		f.coreAP, f.debugAP = int(f.family.CoreAP), int(f.family.DebugAP)
	} else {
		for _, c := range m.Cells {
			if c.CPUID != 0 {
				f.coreAP = int(c.AP)
				break
			}
		}
	}
	return f
}

// everyModeTried reports whether every mode of the plan (or, without a
// plan, every mode in the matrix) has at least one attempted cell on ap.
func (f *facts) everyModeTried(ap uint8) bool {
	modes := f.m.Plan.Modes
	if len(modes) == 0 {
		modes = f.modes
	}
	for _, m := range modes {
		if len(f.where(onAPMode(ap, m))) == 0 {
			return false
		}
	}
	return true
}

// where selects attempted cells.
func (f *facts) where(keep func(c Cell) bool) []Cell {
	var out []Cell
	for _, c := range f.attempted {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}

func keys(cs []Cell) []Key {
	out := make([]Key, len(cs))
	for i, c := range cs {
		out[i] = c.Key
	}
	return out
}

func isOK(c Cell) bool { return c.Outcome == OutcomeOK }

func anyOK(cs []Cell) bool { return slices.ContainsFunc(cs, isOK) }

// onAP and onAPMode build cell filters.
func onAP(ap uint8) func(Cell) bool { return func(c Cell) bool { return c.AP == ap } }

func onAPMode(ap uint8, m probe.ConnectMode) func(Cell) bool {
	return func(c Cell) bool { return c.AP == ap && c.Mode == m }
}

func (f *facts) voltage() string {
	v := f.m.Header.Voltage
	switch {
	case !f.m.Header.HasVoltage:
		return "The target voltage was not measured."
	case v < 1.5:
		return fmt.Sprintf("The probe measures %.2f V on its target-voltage pin: the target looks unpowered, or that pin is not connected to the target's VDD.", v)
	case v > 3.7:
		return fmt.Sprintf("The probe measures %.2f V on its target-voltage pin, above what an STM32 tolerates: check the supply.", v)
	}
	return fmt.Sprintf("The probe measures %.2f V on its target-voltage pin, so the target is powered and that pin is wired.", v)
}

func ruleNoDP(f *facts) *Finding {
	if len(f.attempted) == 0 || slices.ContainsFunc(f.attempted, func(c Cell) bool { return c.Outcome.DPAnswered() }) {
		return nil
	}
	noAck := f.where(func(c Cell) bool { return c.Outcome == OutcomeNoAck || c.Outcome == OutcomeWaitTimeout })
	if len(noAck) == 0 {
		return nil // every attempt failed in the probe or USB: ruleProbeFault says so
	}
	var d strings.Builder
	lo, hi := 0, 0
	for _, c := range f.attempted {
		if c.KHz > 0 && (lo == 0 || c.KHz < lo) {
			lo = c.KHz
		}
		hi = max(hi, c.KHz)
	}
	fmt.Fprintf(&d, "No debug port acknowledged in any of the %d attempts (SWD clocks %d to %d kHz). ", len(f.attempted), lo, hi)
	d.WriteString(f.voltage())
	ur := f.where(func(c Cell) bool { return c.Mode == probe.ModeUnderReset })
	if len(ur) > 0 {
		d.WriteString(" Under Reset did not help either, so firmware turning the SWD pins off is unlikely (unless NRST is not wired either).")
	}
	next := "Check SWDIO, SWCLK and GND between probe and board (not swapped, right header pins, a common ground), that the chip is powered and not held in reset by the board, then sweep again."
	if h := f.m.Header; h.HasVoltage && h.Voltage < 1.5 {
		next = "Power the target and connect the probe's target-voltage pin to its VDD, then check SWDIO, SWCLK and GND and sweep again."
	}
	if len(ur) == 0 {
		next += " Include Under Reset in the sweep, in case the firmware disables the SWD pins."
	}
	return &Finding{Severity: SeverityCritical,
		Title:  "No debug port answers: wiring, power or target voltage",
		Detail: d.String(), Next: next, Cells: keys(noAck), Steps: steps(ActionSweep)}
}

// closedStates lists the states of the identified line in which the core
// AP does not answer a debugger from reset.
func (f *facts) closedStates() []targets.StateInfo {
	if f.family == nil {
		return nil
	}
	var out []targets.StateInfo
	for _, s := range f.family.States {
		if s.AP1NonSecure != targets.ReachYes && f.family.HasState(f.line, s.State) {
			out = append(out, s)
		}
	}
	return out
}

func ruleDebugClosed(f *facts) *Finding {
	a, ok := f.debugClosedAP()
	if !ok {
		return nil
	}
	closed := f.where(func(c Cell) bool { return c.AP == a && c.Outcome == OutcomeAPClosed })
	others := f.where(func(c Cell) bool { return c.AP != a && isOK(c) })
	return f.debugClosedFinding(a, closed, others)
}

// nrstNotWired reports whether the matrix shows the probe's NRST does not
// reach the chip.
func (f *facts) nrstNotWired() bool {
	return ruleNRSTNotWired(f) != nil || slices.ContainsFunc(f.attempted, func(c Cell) bool {
		return strings.Contains(c.Err, "NRST does not reach the chip")
	})
}

// debugClosedAP finds an access port that refuses access in every mode
// tried, while another port answers and DBGMCU_SR (when read) does not
// show it enabled.
func (f *facts) debugClosedAP() (uint8, bool) {
	for _, a := range f.aps {
		on := f.where(onAP(a))
		closed := f.where(func(c Cell) bool { return c.AP == a && c.Outcome == OutcomeAPClosed })
		if len(on) == 0 || len(closed) == 0 || slices.ContainsFunc(on, func(c Cell) bool {
			return c.Outcome == OutcomeOK || c.Outcome == OutcomeModeFailed
		}) {
			continue
		}
		others := f.where(func(c Cell) bool { return c.AP != a && isOK(c) })
		if len(others) == 0 || !f.everyModeTried(a) {
			continue
		}
		if st := f.apStatus; st != nil && st.APPresent&(1<<a) != 0 && st.APEnabled&(1<<a) != 0 {
			continue // DBGMCU_SR says the port is enabled: not the product state
		}
		return a, true
	}
	return 0, false
}

func (f *facts) debugClosedFinding(a uint8, closed, others []Cell) *Finding {
	other := others[0].AP
	var d strings.Builder
	fmt.Fprintf(&d, "AP%d refuses access in every mode and at every frequency tried, while AP%d answers: the wiring and the debug port are fine, ", a, other)
	isCore := f.coreAP == int(a)
	if !isCore {
		fmt.Fprintf(&d, "but AP%d is locked.", a)
		return &Finding{Severity: SeverityWarning,
			Title:  fmt.Sprintf("AP%d is closed while AP%d answers", a, other),
			Detail: d.String(),
			Next:   fmt.Sprintf("Check which access port reaches the core on this chip; use AP%d for identification.", other),
			Cells:  keys(append(slices.Clone(closed), others...))}
	}
	d.WriteString("and the chip's product state keeps debug closed.")
	if f.apStatus != nil && f.apStatus.APEnabled&(1<<a) == 0 && f.apStatus.APPresent&(1<<a) != 0 {
		fmt.Fprintf(&d, " DBGMCU_SR read through AP%d confirms it: AP%d is present but not enabled (AP_ENABLED 0x%04X).", f.apStatus.AP, a, f.apStatus.APEnabled)
	}
	if f.chip != "" {
		fmt.Fprintf(&d, " The chip is %s.", f.chip)
	}
	next := "Do not try option-byte writes or a mass erase: both need the closed port. "
	if f.disc != nil {
		return f.discoveredClosed(a, other, &d, next, slices.Concat(closed, others))
	}
	if f.discNote != "" {
		fmt.Fprintf(&d, " DA discovery through AP%d %s.", other, f.discNote)
	}
	if info, ok := stateInfo(f.family, f.state); ok && !(f.state == targets.StateOpen || f.state == targets.StateProvisioning) {
		fmt.Fprintf(&d, " Product state %v: %s. Way back: %s.", f.state, info.Debug, info.WayBack)
	} else if states := f.closedStates(); len(states) > 0 {
		var names, ways []string
		for _, s := range states {
			names = append(names, s.Name)
			ways = append(ways, fmt.Sprintf("%s: %s", s.Name, s.WayBack))
		}
		fmt.Fprintf(&d, " AP%d alone cannot tell which closed state it is: %s. Ways back: %s.", other, strings.Join(names, ", "), strings.Join(ways, "; "))
		d.WriteString(" A chip closed without debug authentication provisioned has no known way back.")
	}
	next += fmt.Sprintf("Run a debug-authentication discovery through AP%d (NRST must be wired): it reports the product state and whether DA is provisioned (integrity 0xEAEAEAEA) or not (0xF5F5F5F5). "+
		"If DA is provisioned, a DA regression with its password or certificate brings the chip back to OPEN (erasing it). "+
		"If it is not, or the state is LOCKED, there is no way back: replace the chip.", other)
	return &Finding{Severity: SeverityCritical,
		Title:  fmt.Sprintf("Debug closed by the product state: AP%d closed in every mode while AP%d answers", a, other),
		Detail: d.String(), Next: next,
		Cells: keys(slices.Concat(closed, others)), Steps: steps(ActionDiscoverDA, ActionDebugAuth)}
}

// discoveredClosed is the debug-closed finding when a DA discovery told the
// product state and whether DA is provisioned.
func (f *facts) discoveredClosed(a, other uint8, d *strings.Builder, next string, cells []Cell) *Finding {
	disc := f.disc
	fmt.Fprintf(d, " AP%d reports %s through the DA mailbox (%s).", other, disc.StateName(), disc)
	if info, ok := stateInfo(f.family, disc.State); ok {
		fmt.Fprintf(d, " Product state %v: %s.", disc.State, info.Debug)
	}
	var verdict string
	switch {
	case disc.State == targets.StateLocked:
		verdict = "LOCKED: no way back"
		d.WriteString(" LOCKED is permanent: the ROM refuses every DA permission, whatever is provisioned.")
		next += "There is no way back from LOCKED: replace the chip."
	case disc.Provisioned:
		method := disc.Method.String()
		if disc.Method == targets.DAMethodUnknown {
			method = "provisioned credentials"
		}
		verdict = fmt.Sprintf("DA provisioned (%s): the way back is a DA regression", method)
		fmt.Fprintf(d, " DA is provisioned (%s, integrity 0x%08X): the way back is a DA regression with the %s.", method, disc.Integrity, method)
		next += fmt.Sprintf("Run a DA full regression (permission bit 14) with the provisioned %s: the chip erases itself and returns to OPEN with TZEN 0xC3.", method)
		if ok, why := disc.Method.Grants(targets.DAGrantOpenDebug); ok {
			next += fmt.Sprintf(" A partial (to TZ) regression keeps TZ_CLOSED; a DA \"open debug\" reopens AP%d without erasing.", a)
		} else {
			next += " Nothing else: " + why + "."
		}
	default:
		verdict = "no DA provisioned: no way back"
		fmt.Fprintf(d, " The ROM reports no DA provisioned (integrity 0x%08X): nothing can authenticate a regression or reopen debug, so there is no way back.", disc.Integrity)
		next += "There is no known way back from a closed state without DA: replace the chip, and next time provision DA before closing."
	}
	var actions []Step
	if disc.State != targets.StateLocked {
		actions = steps(ActionDebugAuth)
	}
	return &Finding{Severity: SeverityCritical,
		Title:  fmt.Sprintf("AP%d reports %s: debug closed by product state; %s", other, disc.StateName(), verdict),
		Detail: d.String(), Next: next, Cells: keys(cells), Steps: actions}
}

// stateInfo looks a state up on a possibly unknown (nil) family.
func stateInfo(fam *targets.Family, s targets.ProductState) (targets.StateInfo, bool) {
	if fam == nil {
		return targets.StateInfo{}, false
	}
	return fam.State(s)
}

func ruleProvisioning(f *facts) *Finding {
	if f.state != targets.StateProvisioning {
		return nil
	}
	var d strings.Builder
	d.WriteString("The chip is in PROVISIONING (0x17): user code never runs, the ROM keeps running, and debug is open through Hot Plug on the core port. ")
	if f.tzen != targets.TZENAbsent {
		fmt.Fprintf(&d, "TrustZone is %v. ", f.tzen)
	}
	hot := f.where(func(c Cell) bool { return c.Mode == probe.ModeHotPlug && isOK(c) && int(c.AP) == f.coreAP })
	resetting := f.where(func(c Cell) bool {
		return int(c.AP) == f.coreAP && c.Mode != probe.ModeHotPlug && !isOK(c)
	})
	if len(hot) > 0 && len(resetting) > 0 {
		d.WriteString("Normal and Under Reset fail, as on the board of the forum thread: both stop the core (halt it, or catch it at reset), " +
			"which the ROM running in PROVISIONING does not allow (observed with ST's tools, not documented); Hot Plug attaches without stopping it. ")
	}
	cells := slices.Concat(f.stateCell, keys(resetting))
	if f.da != nil && f.da.Checked && f.da.Provisioned {
		return f.provisionedDA(&d, cells)
	}
	switch {
	case f.da != nil && f.da.Checked:
		fmt.Fprintf(&d, "Debug authentication is NOT provisioned (%s). ", f.da.Source)
	case f.da != nil:
		fmt.Fprintf(&d, "Whether debug authentication is provisioned could not be read (%s); treat it as not provisioned. ", f.da.Source)
	default:
		d.WriteString("Whether debug authentication is provisioned was not read; treat it as not provisioned. ")
	}
	d.WriteString("The chip can still be saved, because it is still in PROVISIONING. " +
		"Never write PRODUCT_STATE 0xC6 (TZ_CLOSED) or 0x72 (CLOSED) now: closed without DA, the chip can never come back.")
	var next strings.Builder
	next.WriteString("Do this before anything else, connected with Hot Plug on AP1: ")
	step := 1
	if f.tzen == targets.TZENEnabled {
		fmt.Fprintf(&next, "(%d) set TZEN to 0xC3 (password DA works only with TrustZone disabled); ", step)
		step++
	}
	if f.family != nil && !f.line.OBK {
		fmt.Fprintf(&next, "(%d) while still in PROVISIONING, provision the DA password: its SHA-256 goes into OTP and is locked there, so a wrong hash cannot be undone; ", step)
		fmt.Fprintf(&next, "(%d) run a DA full regression with that password: the chip erases itself and returns to OPEN. ", step+1)
		next.WriteString("Only then close the chip again, DA first.")
	} else {
		fmt.Fprintf(&next, "(%d) while still in PROVISIONING, provision the password DA configuration (ST's default DA_Config_Password.obk, or your own password's OBK file; encrypted by the ROM on crypto parts); ", step)
		fmt.Fprintf(&next, "(%d) run a DA full regression with the matching password: the chip erases itself and returns to OPEN with TZEN 0xC3. ", step+1)
		next.WriteString("Only then set up TrustZone and close the chip again, DA first.")
	}
	title := "PROVISIONING, DA not known to be provisioned: still recoverable, do this first"
	if f.da != nil && f.da.Checked {
		title = "PROVISIONING, no DA provisioned: still recoverable, do this first"
	}
	var todo []Step
	if f.tzen == targets.TZENEnabled {
		todo = append(todo, tzenOff())
	}
	return &Finding{Severity: SeverityCritical, Title: title, Detail: d.String(), Next: next.String(),
		Cells: append(cells, f.daCell...), Steps: append(todo, steps(ActionDebugAuth)...)}
}

// provisionedDA is the PROVISIONING finding when DA data is in place.
func (f *facts) provisionedDA(d *strings.Builder, cells []Key) *Finding {
	da := f.da
	fmt.Fprintf(d, "Debug authentication is provisioned (%s): a DA full regression can bring the chip back to OPEN from here, and from the closed states too. ", da.Source)
	sev := SeverityWarning
	title := fmt.Sprintf("PROVISIONING with DA provisioned (%s): recoverable", da.Method)
	// The ROM takes a password only with TrustZone off and a certificate
	// only with it on (security reference §1.4).
	want, known := f.line.DAMethodFor(f.tzen)
	mismatch := known && f.family != nil && da.Method != targets.DAMethodUnknown && da.Method != want
	next := "To go back to OPEN, run a DA full regression with the provisioned " + da.Method.String() + ". " +
		"Before closing the chip (0xC6 or 0x72), check that the password or key is kept safe: it is the only way back."
	if mismatch {
		sev = SeverityCritical
		title = fmt.Sprintf("PROVISIONING: %s DA does not match TrustZone %v: do not close the chip", da.Method, f.tzen)
		fmt.Fprintf(d, "But the ROM accepts %s DA only with TrustZone %s: closing the chip now would lock it for ever. ",
			da.Method, map[targets.DAMethod]string{targets.DAPassword: "disabled (0xC3)", targets.DACertificate: "enabled (0xB4)"}[da.Method])
		next = "Fix TZEN (or provision the matching DA method) while still in PROVISIONING, or regress to OPEN first. " + next
	}
	if da.SamplePassword {
		d.WriteString("The record holds ST's published sample password: anyone can regress or open this chip. Fine on a bench, not in a product.")
	}
	var todo []Step
	if mismatch {
		todo = append(todo, tzenOff())
	}
	return &Finding{Severity: sev, Title: title, Detail: strings.TrimSpace(d.String()), Next: next, Cells: append(cells, f.daCell...),
		Steps: append(todo, steps(ActionDebugAuth)...)}
}

func ruleProbeFault(f *facts) *Finding {
	bad := f.where(func(c Cell) bool {
		return c.Outcome == OutcomeFault && (c.Layer == probe.LayerUSB || c.Layer == probe.LayerProbe)
	})
	if len(bad) == 0 {
		return nil
	}
	sev := SeverityWarning
	if len(bad) == len(f.attempted) {
		sev = SeverityCritical
	}
	return &Finding{Severity: sev,
		Title:  fmt.Sprintf("The probe itself failed in %d of %d attempts", len(bad), len(f.attempted)),
		Detail: fmt.Sprintf("These failures come from the ST-LINK or its USB link, not from the target (first: %s).", bad[0].Err),
		Next:   "Replug the ST-LINK, close other programs using it, try another USB port or cable, update its firmware, then sweep again.",
		Cells:  keys(bad), Steps: steps(ActionSweep)}
}

func ruleOnlyUnderReset(f *facts) *Finding {
	ok := f.where(isOK)
	if len(ok) == 0 || slices.ContainsFunc(ok, func(c Cell) bool { return c.Mode != probe.ModeUnderReset }) {
		return nil
	}
	other := f.where(func(c Cell) bool { return c.Mode != probe.ModeUnderReset })
	if len(other) == 0 {
		return nil
	}
	famDetail, famNext := f.underResetFamily(ok)
	return &Finding{Severity: SeverityWarning,
		Title: "Only Under Reset works: the firmware turns SWD off or sleeps",
		Detail: "The target answers while NRST holds it in reset, and not once its firmware runs: the firmware reuses the SWD pins as GPIO, " +
			"or enters a low-power mode that stops the debug clock, soon after it starts." + famDetail,
		Next: "Connect Under Reset and halt the core, then erase or reflash the firmware. In the firmware, keep the SWD pins in their debug function " +
			"and keep debug alive in low power (DBGMCU_CR DBG_STOP/DBG_STANDBY) while developing." + famNext,
		Cells: keys(slices.Concat(ok, other))}
}

func ruleOnlyHotPlug(f *facts) *Finding {
	if f.state == targets.StateProvisioning {
		return nil // ruleProvisioning explains this pattern
	}
	for _, a := range f.aps {
		hot := f.where(func(c Cell) bool { return c.AP == a && c.Mode == probe.ModeHotPlug && isOK(c) })
		resetting := f.where(func(c Cell) bool { return c.AP == a && c.Mode != probe.ModeHotPlug })
		if len(hot) == 0 || len(resetting) == 0 || anyOK(resetting) || !f.everyModeTried(a) {
			continue
		}
		return &Finding{Severity: SeverityWarning,
			Title: fmt.Sprintf("On AP%d only Hot Plug works: stopping the core is refused", a),
			Detail: "Attaching to the running chip works, but every mode that halts the core or resets it fails: what runs keeps the core " +
				"from being stopped (the boot ROM in PROVISIONING, a secure boot that opens debug only later, firmware that resets the debug configuration).",
			Next:  fmt.Sprintf("Work with Hot Plug on AP%d and read the product state (option bytes) before changing anything.", a),
			Cells: keys(slices.Concat(hot, resetting)), Steps: steps(ActionReadOptionBytes)}
	}
	return nil
}

func ruleNRSTNotWired(f *facts) *Finding {
	if _, _, ok := f.protectedAt(targets.RDPLevel05); ok {
		return nil // a reset catch refused by TrustZone at level 0.5: ruleRDP05 says so
	}
	for _, a := range f.aps {
		ur := f.where(onAPMode(a, probe.ModeUnderReset))
		normal := f.where(onAPMode(a, probe.ModeNormal))
		hot := f.where(onAPMode(a, probe.ModeHotPlug))
		if len(ur) == 0 || anyOK(ur) || !f.everyModeTried(a) ||
			slices.ContainsFunc(ur, func(c Cell) bool { return c.Outcome != OutcomeModeFailed }) {
			continue // a closed port under reset is ruleDebugOpensLate's pattern
		}
		if (len(normal) > 0 && !anyOK(normal)) || (len(hot) > 0 && !anyOK(hot)) {
			continue
		}
		return &Finding{Severity: SeverityWarning,
			Title: "Under Reset fails while Normal and Hot Plug work: NRST is not wired",
			Detail: fmt.Sprintf("On AP%d the other modes connect, but Under Reset never catches the core in reset: the probe's NRST does not reach the chip "+
				"(a 4-wire SWD cable, a clone probe without NRST, NRST on another header pin, or a reset supervisor overriding it). First failure: %s.", a, ur[0].Reason),
			Next: "Wire the probe's NRST (pin 15 of the ST-LINK/V2 20-pin connector) to the MCU's NRST and sweep again. " +
				"Debug authentication needs NRST too; until then use Normal or Hot Plug.",
			Cells: keys(slices.Concat(ur, normal, hot)), Steps: steps(ActionSweep)}
	}
	return nil
}

func ruleDebugOpensLate(f *facts) *Finding {
	if f.state == targets.StateProvisioning {
		return nil // ruleProvisioning explains this pattern
	}
	for _, a := range f.aps {
		ur := f.where(onAPMode(a, probe.ModeUnderReset))
		running := f.where(func(c Cell) bool { return c.AP == a && c.Mode != probe.ModeUnderReset && isOK(c) })
		normal := f.where(onAPMode(a, probe.ModeNormal))
		hot := f.where(onAPMode(a, probe.ModeHotPlug))
		if len(ur) == 0 || len(running) == 0 || !f.everyModeTried(a) ||
			slices.ContainsFunc(ur, func(c Cell) bool { return c.Outcome != OutcomeAPClosed }) ||
			(len(normal) > 0 && !anyOK(normal)) || (len(hot) > 0 && !anyOK(hot)) {
			continue
		}
		var d strings.Builder
		fmt.Fprintf(&d, "AP%d is closed while the chip is held in reset, and open once it runs: debug is opened late in the boot, by code that runs after reset. ", a)
		if info, ok := stateInfo(f.family, f.state); ok && f.state != targets.StateOpen {
			fmt.Fprintf(&d, "That matches product state %v: %s.", f.state, info.Debug)
		} else {
			d.WriteString("Typical of TZ_CLOSED or iROT_PROVISIONED boards whose application opens non-secure debug.")
		}
		return &Finding{Severity: SeverityWarning,
			Title:  fmt.Sprintf("Under Reset finds AP%d closed, the running chip opens it: debug opens late in the boot", a),
			Detail: d.String(),
			Next:   "Connect with Hot Plug or Normal while the application runs; debugging from reset needs a debug-authentication \"open debug\".",
			Cells:  keys(slices.Concat(ur, running)), Steps: steps(ActionDebugAuth)}
	}
	return nil
}

func ruleAbsentAP(f *facts) *Finding {
	for _, a := range f.aps {
		on := f.where(onAP(a))
		if len(on) == 0 || slices.ContainsFunc(on, func(c Cell) bool { return c.Outcome != OutcomeDPOnly }) {
			continue
		}
		others := f.where(func(c Cell) bool { return c.AP != a && isOK(c) })
		if len(others) == 0 {
			continue
		}
		return &Finding{Severity: SeverityInfo,
			Title:  fmt.Sprintf("Nothing answers at AP%d on this chip; AP%d works", a, others[0].AP),
			Detail: fmt.Sprintf("AP%d's identification register reads 0 in every attempt: the chip has no access port there.", a),
			Next:   fmt.Sprintf("Use AP%d.", others[0].AP),
			Cells:  keys(on)}
	}
	return nil
}

func ruleLowFrequencyOnly(f *facts) *Finding {
	maxOK, minFail := 0, 0
	var support []Cell
	for _, a := range f.aps {
		for _, m := range f.modes {
			row := f.where(onAPMode(a, m))
			ok := 0
			for _, c := range row {
				if isOK(c) && c.KHz > ok {
					ok = c.KHz
				}
			}
			if ok == 0 {
				continue
			}
			for _, c := range row {
				if !isOK(c) && c.KHz > ok && c.Outcome != OutcomeFault {
					support = append(support, c)
					if minFail == 0 || c.KHz < minFail {
						minFail = c.KHz
					}
					maxOK = max(maxOK, ok)
				}
			}
		}
	}
	if len(support) == 0 {
		return nil
	}
	return &Finding{Severity: SeverityWarning,
		Title: fmt.Sprintf("Only low SWD clocks work: fine at %d kHz, failing from %d kHz", maxOK, minFail),
		Detail: "The same mode and port connect at a low clock and fail at a higher one: the SWD signals are degraded " +
			"(long or loose wires, no ground next to SWCLK, series resistors or capacitance on the lines).",
		Next:  fmt.Sprintf("Use %d kHz or less for now; shorten the SWD wires, add a ground wire next to SWCLK, check the header and any series parts, then sweep again.", maxOK),
		Cells: keys(support), Steps: steps(ActionSweep)}
}

func ruleWait(f *facts) *Finding {
	wait := f.where(func(c Cell) bool { return c.Outcome == OutcomeWaitTimeout })
	if len(wait) == 0 || len(wait)*2 < len(f.attempted) || anyOK(f.attempted) {
		return nil
	}
	return &Finding{Severity: SeverityWarning,
		Title: fmt.Sprintf("The target keeps the debug port busy (%d of %d attempts ended in WAIT or timeout)", len(wait), len(f.attempted)),
		Detail: "The debug port is there but does not finish transfers: the chip is in a low-power mode with its clocks off, " +
			"or its bus is stuck.",
		Next:  "Try Under Reset at a low clock; power-cycle the board; hold BOOT0 high so the firmware does not start.",
		Cells: keys(wait)}
}

func ruleDPOnly(f *facts) *Finding {
	dp := f.where(func(c Cell) bool { return c.Outcome.DPAnswered() })
	if len(dp) == 0 || slices.ContainsFunc(dp, func(c Cell) bool { return c.Outcome != OutcomeDPOnly }) {
		return nil
	}
	return &Finding{Severity: SeverityWarning,
		Title:  "The debug port answers but no access port does",
		Detail: fmt.Sprintf("DPIDR 0x%08X reads, but nothing answers at the access ports tried.", dp[0].DPIDR),
		Next:   "Check the access port numbers for this chip (STM32H5: AP1 reaches the core, AP0 the DBGMCU); try Under Reset in case debug power-up is refused.",
		Cells:  keys(dp)}
}

func ruleFirmware(f *facts) *Finding {
	var gated []Cell
	for _, c := range f.cells {
		if c.Outcome == OutcomeUnsupported {
			gated = append(gated, c)
		}
	}
	if len(gated) == 0 {
		return nil
	}
	sev := SeverityInfo
	if !anyOK(f.attempted) || (f.coreAP >= 0 && slices.ContainsFunc(gated, func(c Cell) bool { return int(c.AP) == f.coreAP })) {
		sev = SeverityWarning
	}
	fw := f.m.Header.Firmware
	if fw == "" {
		fw = "this firmware"
	}
	return &Finding{Severity: sev,
		Title:  fmt.Sprintf("%d cells need newer probe firmware than %s", len(gated), fw),
		Detail: gated[0].Reason,
		Next:   "Update the ST-LINK firmware (or use a newer probe), then sweep again.",
		Cells:  keys(gated), Steps: steps(ActionSweep)}
}

func ruleProductState(f *facts) *Finding {
	if !f.state.Valid() || f.state == targets.StateProvisioning {
		return nil
	}
	info, ok := stateInfo(f.family, f.state)
	if !ok {
		return nil
	}
	sev := SeverityInfo
	if f.state != targets.StateOpen {
		sev = SeverityWarning
	}
	tz := ""
	if f.tzen != targets.TZENAbsent {
		tz = fmt.Sprintf(", TrustZone %v", f.tzen)
	}
	return &Finding{Severity: sev,
		Title:  fmt.Sprintf("Product state %v (0x%02X)%s", f.state, uint8(f.state), tz),
		Detail: fmt.Sprintf("Debug: %s. Boot: %s. Bootloader: %s.", info.Debug, info.Boot, info.Bootloader),
		Next:   "Way back to OPEN: " + info.WayBack + ".",
		Cells:  f.stateCell, Steps: f.productStateSteps()}
}

// productStateSteps are the steps of the product-state finding: read the
// option bytes, and turn to debug authentication where it is the way back.
func (f *facts) productStateSteps() []Step {
	switch f.state {
	case targets.StateOpen, targets.StateLocked:
		return steps(ActionReadOptionBytes)
	}
	return steps(ActionReadOptionBytes, ActionDebugAuth)
}

func ruleIdentity(f *facts) *Finding {
	if f.idCell == nil {
		for _, c := range f.attempted {
			if c.CPUID == 0 || !isOK(c) {
				continue
			}
			core := probe.CoreName(c.CPUID)
			if core == "" {
				core = fmt.Sprintf("CPUID 0x%08X", c.CPUID)
			}
			return &Finding{Severity: SeverityInfo,
				Title: fmt.Sprintf("Target not identified: a %s on AP%d", core, c.AP),
				Detail: fmt.Sprintf("DPIDR 0x%08X; no DBGMCU IDCODE of a known family was readable, so product-state rules do not apply.",
					c.DPIDR),
				Cells: []Key{c.Key}}
		}
		return nil
	}
	c := f.idCell
	devID, revID := targets.DecodeIDCode(c.IDCode)
	return &Finding{Severity: SeverityInfo,
		Title: fmt.Sprintf("Target: %s", f.chip),
		Detail: fmt.Sprintf("DBGMCU IDCODE 0x%08X (DEV_ID 0x%03X, REV_ID 0x%04X) read through AP%d; DPIDR 0x%08X.",
			c.IDCode, devID, revID, c.AP, c.DPIDR),
		Cells: []Key{c.Key}}
}

func ruleAllOK(f *facts) *Finding {
	if len(f.attempted) == 0 || slices.ContainsFunc(f.attempted, func(c Cell) bool { return !isOK(c) }) ||
		slices.ContainsFunc(f.cells, func(c Cell) bool { return c.Outcome == OutcomeUnsupported }) {
		return nil
	}
	return &Finding{Severity: SeverityInfo,
		Title:  "Every way in works",
		Detail: fmt.Sprintf("All %d attempts connected.", len(f.attempted)),
		Next:   "Nothing to fix on the connection; use the fastest clock that worked.",
		Cells:  keys(f.attempted)}
}

func ruleIncomplete(f *facts) *Finding {
	var skipped []Cell
	for _, c := range f.cells {
		if c.Outcome == OutcomeSkipped || !c.Outcome.Valid() {
			skipped = append(skipped, c)
		}
	}
	if len(f.cells) == 0 {
		return &Finding{Severity: SeverityInfo, Title: "Nothing was tried", Detail: "The matrix has no cells.",
			Next: "Run a sweep.", Steps: steps(ActionSweep)}
	}
	if len(skipped) == 0 {
		return nil
	}
	return &Finding{Severity: SeverityInfo,
		Title:  fmt.Sprintf("%d of %d cells were not tried", len(skipped), len(f.cells)),
		Detail: fmt.Sprintf("The sweep stopped early (%s); the findings rest on the cells that were tried.", skipped[0].Reason),
		Next:   "Sweep again to complete the matrix.",
		Cells:  keys(skipped), Steps: steps(ActionSweep)}
}

// protectedAt is the cells that read an RDP family's protection level as
// level, and the first of them; ok is false when none did or the family
// is unknown.
func (f *facts) protectedAt(level targets.RDPLevel) (first Cell, cells []Cell, ok bool) {
	cells = f.where(func(c Cell) bool { return c.Protection != nil && c.Protection.Level == level })
	if len(cells) == 0 || f.family == nil {
		return Cell{}, nil, false
	}
	return cells[0], cells, true
}

// ruleRDP1: a chip of an RDP family answers on its core port, and its
// read-out protection is level 1: debug works, flash does not (RM0008
// §2.5, RM0090 §3.7.3, RM0444 §3.5.1, RM0351 §3.5.1).
func ruleRDP1(f *facts) *Finding {
	c, cells, ok := f.protectedAt(targets.RDPLevel1)
	if !ok {
		return nil
	}
	var d strings.Builder
	fmt.Fprintf(&d, "%s answers on AP%d and its %s reads %v: read-out protection is on. ", f.chip, c.AP, f.family.RDP.RegName, *c.Protection)
	if c.FlashReadErr != "" {
		fmt.Fprintf(&d, "A read of flash at 0x%08X failed as level 1 makes it (%s); ", targets.FlashMemBase, c.FlashReadErr)
	}
	d.WriteString("the core, SRAM and the flash registers stay reachable. Going back to level 0 mass-erases the whole flash (and, where the chip has them, the backup registers and SRAM2): the firmware is lost, not read out.")
	next := "Save what the debugger can still read (SRAM, the option bytes, the engineering area: stprobe ob read), then, if the firmware can go, plan RDP=0xAA (level 0): the flash is mass-erased and the chip opens. " +
		"Never write RDP=0xCC (level 2) to \"lock it properly\": on " + f.family.Name + " level 2 disables debug for ever."
	if f.family.Name == "STM32F1" {
		next = "Save what the debugger can still read (SRAM, the option bytes at 0x1FFFF800), then, if the firmware can go, erase the option bytes and write RDP=0xA5 (stprobe ob plan RDP=0xAA, then ob apply; or OpenOCD: stm32f1x unlock 0, then a reset): the flash is mass-erased and the chip opens. The F1 has no level 2."
	}
	return &Finding{Severity: SeverityCritical,
		Title:  fmt.Sprintf("%s is read-protected (RDP level 1): debug works, flash reads fail", f.family.Name),
		Detail: d.String(), Next: next, Cells: keys(cells), Steps: steps(ActionReadOptionBytes)}
}

// ruleRDP2: no debug port answered in any mode, Under Reset included, yet
// the target is powered. That is wiring most of the time; it is also
// exactly what a chip set to RDP level 2 (0xCC) shows, for ever.
func ruleRDP2(f *facts) *Finding {
	if len(f.attempted) == 0 || slices.ContainsFunc(f.attempted, func(c Cell) bool { return c.Outcome.DPAnswered() }) {
		return nil
	}
	h := f.m.Header
	if !h.HasVoltage || h.Voltage < 1.5 || h.Voltage > 3.7 {
		return nil
	}
	ur := f.where(func(c Cell) bool { return c.Mode == probe.ModeUnderReset && c.Outcome == OutcomeNoAck })
	if len(ur) == 0 {
		return nil
	}
	return &Finding{Severity: SeverityWarning,
		Title: "Powered, yet silent even Under Reset: wiring, or read-out protection level 2",
		Detail: fmt.Sprintf("The target is powered (%.2f V) and no debug port answers in any mode, Under Reset included. "+
			"If nothing is miswired, this is what an STM32 F4, G0, G4, L4, U5 or H7 set to RDP level 2 (0xCC) shows: "+
			"level 2 disables the SW-DP for ever and no tool can bring it back.", h.Voltage),
		Next: "Rule out wiring first (SWDIO/SWCLK swapped, no common ground, NRST held low by the board). If the chip was set to level 2, " +
			"only the firmware it runs can still talk (its own bootloader or UART); never send RDP=0xCC to another board to \"check\".",
		Cells: keys(ur), Steps: steps(ActionSweep)}
}
