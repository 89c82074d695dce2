package obytes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/targets"
)

// Change is one field of a plan.
type Change struct {
	Field    string       `json:"field"`
	Register string       `json:"register"`
	From     FieldValue   `json:"from"`
	To       FieldValue   `json:"to"`
	Risk     guarded.Risk `json:"risk"`
	// Why explains the risk class in one or two sentences.
	Why string `json:"why"`
}

// RegWrite is the part of one register a phase programs: the _PRG value is
// (CUR &^ Mask) | Value.
type RegWrite struct {
	Register string `json:"register"`
	Mask     uint32 `json:"mask"`
	Value    uint32 `json:"value"`
}

// Phase is one programming sequence (one OPTSTRT), or a direct register
// write for plain registers.
type Phase struct {
	Name   string     `json:"name"`
	Writes []RegWrite `json:"writes"`
	// Direct phases write the registers at once, with no OPTSTRT.
	Direct bool `json:"direct,omitempty"`
	// Resets is true when the chip resets and the debug link drops after
	// OPTSTRT (product state or TZEN change).
	Resets bool `json:"resets,omitempty"`
	// MayCloseDebug is true when AP1 may stay closed after the reset (the
	// new product state closes debug); verification then goes through AP0.
	MayCloseDebug bool `json:"may_close_debug,omitempty"`
}

// Plan is a checked set of option-byte changes, ready for confirmation.
type Plan struct {
	DevID    uint16    `json:"dev_id"`
	LineName string    `json:"line"`
	UID      string    `json:"uid"`
	Before   *Snapshot `json:"before"`
	// After is the _CUR value every register should read once applied.
	After   map[string]uint32 `json:"after"`
	Changes []Change          `json:"changes"`
	Phases  []Phase           `json:"phases"`
	DA      targets.DAStatus  `json:"da"`
	// Risk is the highest class of any change.
	Risk guarded.Risk `json:"risk"`
	// Notes are warnings that do not change the class.
	Notes []string `json:"notes,omitempty"`
	// Phrase is what the user must type to confirm.
	Phrase string `json:"phrase"`
	// NeedsOverride is true for brick plans: they also need the explicit
	// override flag.
	NeedsOverride bool `json:"needs_override"`
	// WayBack is the proof of the way back the plan was given (nil: none).
	WayBack *WayBackProof `json:"way_back,omitempty"`
	// NotWritable, when set, says why stprobe cannot apply the plan on this
	// chip's family and what to use instead (Layout.ApplyRefusal).
	NotWritable string `json:"not_writable,omitempty"`

	// made is the plan as MakePlan returned it (its JSON form), so that
	// Apply need not run the rules again on an unchanged plan.
	made []byte
}

// fromRules reports whether p is exactly what MakePlan returned, unchanged
// since. A plan read from a file, or edited, is not: Apply then runs the
// rules on it again.
func (p *Plan) fromRules() bool {
	if p == nil || p.made == nil {
		return false
	}
	b, err := json.Marshal(p)
	return err == nil && bytes.Equal(b, p.made)
}

// Refusal is one change the chip would refuse (or that the tool refuses on
// its behalf), with the reason and the real way to get there.
type Refusal struct {
	Field   string `json:"field"`
	From    string `json:"from"`
	To      string `json:"to"`
	Reason  string `json:"reason"`
	WayBack string `json:"way,omitempty"`
}

// RefusedError is returned by MakePlan when one or more changes are refused.
// Nothing has been written.
type RefusedError struct{ Refusals []Refusal }

// Error lists every refusal with its reason and the way to do it instead.
func (e *RefusedError) Error() string {
	var b strings.Builder
	b.WriteString("refused before any write:")
	for _, r := range e.Refusals {
		fmt.Fprintf(&b, " %s %s → %s: %s", r.Field, r.From, r.To, r.Reason)
		if r.WayBack != "" {
			fmt.Fprintf(&b, " Instead: %s", r.WayBack)
		}
		b.WriteString(";")
	}
	return strings.TrimSuffix(b.String(), ";")
}

// ErrNoChange is returned by MakePlan when every assignment already holds.
var ErrNoChange = errors.New("nothing to change: every field already has the requested value")

// stateName names a PRODUCT_STATE field value as ST tools print it.
func stateName(v uint32) string { return targets.ProductState(v).String() }

// stateRank is the forward lifecycle order (OPEN = 0 … LOCKED = 5), -1 for
// codes that are not states.
func stateRank(v uint32) int { return targets.ProductState(v).Rank() }

// wayBack says how a chip in state `from` really returns to OPEN.
func wayBack(l *Layout, from uint32, da targets.DAStatus) string {
	provisioned := da.Checked && da.Provisioned
	pwdTZ := "with TZEN=0xC3"
	if !l.Line.OBK {
		pwdTZ = "(password hash in OTP, LOCKBL bit 0)"
	}
	switch {
	case from == stateLocked:
		return "none: LOCKED is permanent."
	case from == stateOpen:
		return "the chip is already OPEN."
	case from == stateProvisioning && !provisioned:
		return fmt.Sprintf("DA regression: while still in PROVISIONING, provision the password DA data %s, then run a DA full regression (permission a); the chip returns to OPEN with flash and option bytes erased.", pwdTZ)
	case from == stateProvisioning:
		return "DA regression: run a DA full regression (permission a) with the provisioned credentials; the chip returns to OPEN with flash and option bytes erased."
	case provisioned:
		return "DA regression: run a DA full regression (permission a) with the provisioned credentials; the chip returns to OPEN with everything erased."
	case !da.Checked:
		return "DA full regression, if DA data was provisioned before the chip left PROVISIONING; without it no recovery is known."
	}
	return "none known: the chip left PROVISIONING without DA data, so no regression is possible."
}

// daMismatch says why the provisioned DA method will not work with tzen on
// this line (targets.Line.DAMethodFor); "" when it does or the method is
// not known.
func daMismatch(l *Layout, da targets.DAStatus, tzen uint32) string {
	if da.Method == targets.DAMethodUnknown {
		return ""
	}
	if want, ok := l.Line.DAMethodFor(targets.TZEN(tzen)); ok && want == da.Method {
		return ""
	}
	switch da.Method {
	case targets.DAPassword:
		return fmt.Sprintf("the provisioned DA data is for a password, but TZEN will be 0x%02X: the ROM accepts a password only with TZEN=0xC3", tzen)
	case targets.DACertificate:
		if !l.Line.TrustZone {
			return fmt.Sprintf("the provisioned DA data is for a certificate, but %s has no TrustZone: its ROM accepts only a password", l.LineName)
		}
		return fmt.Sprintf("the provisioned DA data is for a certificate, but TZEN will be 0x%02X: the ROM accepts a certificate only with TZEN=0xB4", tzen)
	}
	return ""
}

// protectionFields are fields a debugger may change only in OPEN and
// PROVISIONING (secure firmware may in later states).
var protectionFields = map[string]bool{
	"TZEN": true, "BOOT_UBE": true, "SECBOOTADD": true, "SECBOOT_LOCK": true,
	"SECWM1_STRT": true, "SECWM1_END": true, "SECWM2_STRT": true, "SECWM2_END": true,
	"WRPSGn1": true, "WRPSGn2": true, "HDP1_STRT": true, "HDP1_END": true, "HDP2_STRT": true, "HDP2_END": true,
	"EDATA1_EN": true, "EDATA1_STRT": true, "EDATA2_EN": true, "EDATA2_STRT": true,
}

// planInput is what the rules look at.
type planInput struct {
	l                  *Layout
	cur                map[string]uint32
	after              map[string]uint32
	state, stateAfter  uint32
	tzen, tzenAfter    uint32
	nsbootLock, secLck uint32
	da                 targets.DAStatus
	wayBack            *WayBackProof
}

// get reads a field from a register set ("" field missing: 0, false).
func get(l *Layout, regs map[string]uint32, field string) (uint32, bool) {
	f, ok := l.Field(field)
	if !ok {
		return 0, false
	}
	return f.Get(regs[f.Register]), true
}

// classify decides the risk of one field change, or refuses it.
func classify(in *planInput, f *Field, from, to uint32) (guarded.Risk, string, *Refusal) {
	l := in.l
	refuse := func(reason, way string) (guarded.Risk, string, *Refusal) {
		return 0, "", &Refusal{Field: f.Name, From: l.DecodeField(f, f.Set(0, from)).Text(), To: l.DecodeField(f, f.Set(0, to)).Text(), Reason: reason, WayBack: way}
	}
	if l.RDP != nil {
		return classifyRDPFamily(in, f, from, to, refuse)
	}
	openish := in.state == stateOpen || in.state == stateProvisioning
	if in.state == stateLocked {
		return refuse("the chip is LOCKED: no option byte can change any more.", "none: LOCKED is permanent.")
	}
	if protectionFields[f.Name] && !openish {
		return refuse(fmt.Sprintf("a debugger may change %s only in OPEN or PROVISIONING; the chip is %s.", f.Name, stateName(in.state)),
			"secure firmware can change it, or a DA full regression returns every option byte to its default.")
	}
	switch f.Name {
	case "PRODUCT_STATE":
		return classifyState(in, f, from, to, refuse)
	case "TZEN":
		why := "the chip resets and the debug link drops; with TrustZone on, flash security follows the watermarks (whether toggling TZEN erases flash is unconfirmed)"
		if m := daMismatch(l, in.da, to); m != "" && in.da.Provisioned {
			why += "; note: " + m + " (harmless while the chip stays in OPEN/PROVISIONING)"
		}
		return guarded.Caution, why + ".", nil
	case "LOCKBL":
		if from&^to != 0 {
			return refuse(fmt.Sprintf("OTP block locks are permanent: bits 0x%X are set and cannot be cleared.", from&^to), "none: an OTP lock is never removed.")
		}
		return guarded.Irreversible, fmt.Sprintf("locks OTP blocks 0x%X for ever: no regression removes an OTP lock; writing those blocks then fails.", to&^from), nil
	case "NSBOOT_LOCK", "SECBOOT_LOCK":
		if from == tzenOn && to == tzenOff {
			return refuse(f.Name+" is locked; the lock is undone only by a regression (unconfirmed whether an option-byte write can remove it; treated as not).",
				"a DA full regression returns every option byte to its default.")
		}
		return guarded.Irreversible, "freezes the boot address; only a regression is known to unlock it.", nil
	case "NSBOOTADD":
		if in.nsbootLock == tzenOn {
			return refuse("NSBOOTADD is frozen by NSBOOT_LOCK=0xB4.", "a DA full regression returns every option byte to its default.")
		}
		return guarded.Safe, "boot address; write the old value back to undo.", nil
	case "SECBOOTADD", "BOOT_UBE":
		if in.secLck == tzenOn {
			return refuse(f.Name+" is frozen by SECBOOT_LOCK=0xB4.", "a DA full regression returns every option byte to its default.")
		}
		if f.Name == "BOOT_UBE" {
			return guarded.Caution, "changes what the chip boots after reset (OEM-iRoT or ST-iRoT).", nil
		}
		return guarded.Safe, "secure boot address; write the old value back to undo.", nil
	case "SWAP_BANK":
		if in.nsbootLock == tzenOn && in.tzenAfter != tzenOn {
			return refuse("SWAP_BANK is frozen by NSBOOT_LOCK=0xB4 while TrustZone is off.", "a DA full regression returns every option byte to its default.")
		}
		if in.secLck == tzenOn && in.tzenAfter != tzenOff && l.Line.TrustZone {
			return refuse("SWAP_BANK is frozen by SECBOOT_LOCK=0xB4 while TrustZone is on.", "a DA full regression returns every option byte to its default.")
		}
		return guarded.Caution, "the banks swap at the next reset, so other firmware runs; write it back to undo.", nil
	case "IWDG_SW":
		if to == 0 {
			return guarded.Caution, "the hardware watchdog then starts at every reset and resets the chip unless firmware refreshes it.", nil
		}
	case "IO_VDD_HSLV", "IO_VDDIO2_HSLV":
		if to == 1 {
			return guarded.Caution, "only allowed with that supply below 2.7 V; above it the I/Os may be damaged.", nil
		}
	case "SRAM1_3_RST", "SRAM2_RST", "SRAM1_RST", "BKPRAM_ECC", "SRAM2_ECC", "SRAM3_ECC", "SRAM1_ECC":
		return guarded.Caution, "changing an SRAM option erases that SRAM when the option bytes are applied.", nil
	case "EDATA1_EN", "EDATA1_STRT", "EDATA2_EN", "EDATA2_STRT":
		return guarded.Caution, "the bank's last sectors change between code and high-cycle data; their content is lost.", nil
	case "SECWM1_STRT", "SECWM1_END", "SECWM2_STRT", "SECWM2_END":
		return guarded.Caution, "changes which sectors are secure; firmware in those sectors may stop running until it is changed back.", nil
	}
	return guarded.Safe, "write the old value back to undo.", nil
}

// classifyState applies the product-state transition rules.
func classifyState(in *planInput, f *Field, from, to uint32, refuse func(string, string) (guarded.Risk, string, *Refusal)) (guarded.Risk, string, *Refusal) {
	l := in.l
	way := wayBack(l, from, in.da)
	switch {
	case to == reqRegression || to == reqNSRegression:
		return refuse(fmt.Sprintf("0x%02X is a request code that secure firmware at HDPL1 writes to ask the ROM for a regression; a debugger regresses through debug authentication.", to), way)
	case stateRank(to) < 0:
		return refuse(fmt.Sprintf("0x%02X is not a product state.", to), "")
	case to == stateTZClosed && !l.Line.TrustZone:
		return refuse(l.LineName+" has no TrustZone, so no TZ_CLOSED state.", "use CLOSED (0x72) once DA is provisioned.")
	case stateRank(to) < stateRank(from):
		return refuse(fmt.Sprintf("the product state only moves forward; the chip would keep %s and raise OPTCHANGEERR (STM32CubeProgrammer: \"Expected value 0x%02X, found 0x%02X\").", stateName(from), to, from), way)
	case from == stateOpen && to != stateProvisioning:
		return refuse("from OPEN a debugger goes to PROVISIONING (0x17) first; a direct jump is what STM32CubeProgrammer never does and may be refused.",
			"plan PRODUCT_STATE=0x17 first, provision the DA data in PROVISIONING, then plan the final state.")
	case from == stateTZClosed && to == stateClosed:
		return refuse("in TZ_CLOSED the secure side is closed to the debugger; only secure firmware can move the chip on to CLOSED.", way)
	}
	if err := l.Line.Transition(targets.ProductState(from), targets.ProductState(to)); err != nil {
		return refuse(err.Error()+".", way)
	}
	switch {
	case to == stateLocked:
		return guarded.Brick, "LOCKED is permanent: debug closes for ever and no regression, not even by debug authentication, can undo it.", nil
	case from == stateOpen:
		return guarded.Irreversible, "only a DA full regression returns to OPEN (provision the DA data while in PROVISIONING); user code stops running: the chip boots the ROM.", nil
	}
	// Leaving PROVISIONING (or going on from iROT_PROVISIONED): the chip
	// is only recoverable with DA data that matches TZEN, and only
	// irreversible (not brick) once the way back is proven.
	target := stateName(to)
	switch {
	case !in.da.Checked && in.wayBack.Proven():
		// The chip's own discovery, in the proof, says DA is provisioned.
	case !in.da.Checked:
		return guarded.Brick, fmt.Sprintf("%s closes debug, and whether DA data is provisioned could not be checked (%s): without it nothing can bring the chip back. Provision DA in PROVISIONING first.", target, in.da.Source), nil
	case !in.da.Provisioned:
		return guarded.Brick, fmt.Sprintf("no DA data is provisioned (%s): once %s is active nothing can bring the chip back. Provision DA in PROVISIONING first (password with TZEN=0xC3, certificate with TZEN=0xB4).", in.da.Source, target), nil
	}
	if m := daMismatch(l, in.da, in.tzenAfter); m != "" {
		return guarded.Brick, fmt.Sprintf("%s: once %s is active no debug authentication can succeed, so nothing can bring the chip back.", m, target), nil
	}
	wb := in.wayBack
	if in.da.Method == targets.DAMethodUnknown && l.Line.TrustZone && wb == nil {
		return guarded.Brick, fmt.Sprintf("DA data is provisioned but its method is not known; if it does not match TZEN=0x%02X (password needs 0xC3, certificate 0xB4) nothing can bring the chip back from %s. Prove the way back (the credentials and the .obk file) to plan this as irreversible.", in.tzenAfter, target), nil
	}
	return classifyWayBack(wb, target, in.da.Method)
}

// WayBackProof is the outcome of checking, before a chip leaves
// PROVISIONING, that it can be brought back: the .obk file provisioned, the
// credentials the user will regress with, the chip's own answer (the
// caller runs the checks; stprobe's bench runs probe/da's ProveWayBack).
// Only a proof with no mismatch lets such a change be irreversible rather
// than brick (guarded.WayBackProof).
type WayBackProof = guarded.WayBackProof

// WayBackMismatch is one reason the way back is not proven, with the fix.
type WayBackMismatch = guarded.Mismatch

// classifyWayBack classifies leaving PROVISIONING for target once the DA
// status allows it: brick without a proof of the way back or with any
// mismatch in it, irreversible with a proof.
func classifyWayBack(wb *WayBackProof, target string, method targets.DAMethod) (guarded.Risk, string, *Refusal) {
	switch {
	case wb == nil:
		return guarded.Brick, fmt.Sprintf("DA data is provisioned (%s), but the way back is not proven: nothing shows that the credentials you hold open this chip once %s is active. Plan again with the credentials you will regress with and the .obk file provisioned (--password FILE or --key FILE --cert FILE, and --obk FILE).", method, target), nil
	case len(wb.Mismatches) > 0:
		var b strings.Builder
		fmt.Fprintf(&b, "the way back is NOT proven, so once %s is active nothing may bring the chip back:", target)
		for _, m := range wb.Mismatches {
			fmt.Fprintf(&b, " %s (fix: %s);", m.Problem, m.Fix)
		}
		return guarded.Brick, strings.TrimSuffix(b.String(), ";") + ".", nil
	}
	m := wb.Method
	if m == "" {
		m = method.String()
	}
	return guarded.Irreversible, fmt.Sprintf("the way back is proven (%s credentials, the file provisioned and the chip agree): only a DA full regression returns the chip to OPEN, erasing everything.", m), nil
}

// PlanInput is what MakePlan needs besides the assignments.
type PlanInput struct {
	Layout *Layout
	// UID is the chip's unique ID as ST tools print it (24 hex digits).
	UID    string
	Before *Snapshot
	DA     targets.DAStatus
	// WayBack is the proof of the way back (nil: none given). A change
	// that leaves PROVISIONING for a closed state is brick without a
	// proof that has no mismatch.
	WayBack *WayBackProof
}

// MakePlan checks the assignments against the chip's current option bytes
// and the transition rules. It returns a plan with every change classified,
// or a *RefusedError listing what the chip (or the tool on its behalf)
// refuses, with the reason and the real way there. Nothing is written.
func MakePlan(in PlanInput, as []Assignment) (*Plan, error) {
	l := in.Layout
	if l == nil || in.Before == nil {
		return nil, errors.New("obytes: MakePlan needs a layout and a snapshot")
	}
	if in.Before.DevID != l.DevID {
		return nil, fmt.Errorf("obytes: snapshot is of DEV_ID 0x%03X, layout of 0x%03X", in.Before.DevID, l.DevID)
	}
	as, err := l.checkAssignments(as)
	if err != nil {
		return nil, err
	}
	cur := in.Before.Cur
	after := l.Encode(cur, as)
	pi := &planInput{l: l, cur: cur, after: after, da: in.DA, wayBack: in.WayBack}
	pi.state, _ = get(l, cur, "PRODUCT_STATE")
	pi.stateAfter, _ = get(l, after, "PRODUCT_STATE")
	pi.tzen, _ = get(l, cur, "TZEN")
	pi.tzenAfter, _ = get(l, after, "TZEN")
	pi.nsbootLock, _ = get(l, cur, "NSBOOT_LOCK")
	pi.secLck, _ = get(l, cur, "SECBOOT_LOCK")

	p := &Plan{DevID: l.DevID, LineName: l.LineName, UID: in.UID, Before: in.Before, After: after, DA: in.DA, WayBack: in.WayBack}
	var refused []Refusal
	for _, a := range as {
		f := a.Field
		from := f.Get(cur[f.Register])
		if from == a.Value {
			continue
		}
		risk, why, ref := classify(pi, f, from, a.Value)
		if ref != nil {
			refused = append(refused, *ref)
			continue
		}
		p.Changes = append(p.Changes, Change{
			Field: f.Name, Register: f.Register,
			From: l.DecodeField(f, cur[f.Register]), To: l.DecodeField(f, after[f.Register]),
			Risk: risk, Why: why,
		})
		if risk > p.Risk {
			p.Risk = risk
		}
	}
	if len(refused) > 0 {
		return nil, &RefusedError{Refusals: refused}
	}
	if len(p.Changes) == 0 {
		return nil, ErrNoChange
	}
	if pi.stateAfter == stateTZClosed && pi.tzenAfter != tzenOn && pi.state != stateTZClosed {
		p.Notes = append(p.Notes, "TZ_CLOSED is meant for TrustZone on (TZEN=0xB4); with TrustZone off the chip behaves like CLOSED.")
	}
	if pi.stateAfter != pi.state && stateRank(pi.stateAfter) > stateRank(stateProvisioning) && in.DA.SamplePassword {
		p.Notes = append(p.Notes, "the DA data holds ST's published sample password: anyone with it can regress or open this chip; fine on a bench, not in a product.")
	}
	if pi.stateAfter != pi.state && pi.state == stateOpen {
		p.Notes = append(p.Notes, "in PROVISIONING only Hot Plug on AP1 reaches the chip; provision the DA data there before any further state.")
	}
	p.Phases = makePhases(l, cur, as, pi)
	p.NotWritable = l.ApplyRefusal()
	p.NeedsOverride = p.Risk == guarded.Brick
	p.Phrase = phrase(p)
	p.made, _ = json.Marshal(p)
	return p, nil
}

// checkAssignments re-validates assignments against this layout (they may
// have been built by hand or for another line) and returns them pointing at
// the layout's own fields.
func (l *Layout) checkAssignments(as []Assignment) ([]Assignment, error) {
	out := make([]Assignment, 0, len(as))
	seen := map[string]bool{}
	for _, a := range as {
		if a.Field == nil {
			return nil, fmt.Errorf("%w: assignment without a field", ErrUnknownField)
		}
		f, ok := l.Field(a.Field.Name)
		if !ok || f.Register != a.Field.Register || f.Mask() != a.Field.Mask() {
			return nil, fmt.Errorf("%w: %s as given is not %s's field (fields: %s)", ErrUnknownField, a.Field.Name, l.LineName, strings.Join(l.FieldNames(), ", "))
		}
		if seen[f.Name] {
			return nil, fmt.Errorf("%w: %s given twice", ErrInvalidValue, f.Name)
		}
		seen[f.Name] = true
		if _, err := l.ParseValue(f, fmt.Sprintf("0x%X", a.Value)); err != nil {
			return nil, err
		}
		out = append(out, Assignment{Field: f, Value: a.Value})
	}
	return out, nil
}

// makePhases orders the writes: plain registers first, then one
// programming sequence for ordinary option bytes (and TZEN), then the
// product state alone, since it resets the chip and may close debug.
func makePhases(l *Layout, cur map[string]uint32, as []Assignment, pi *planInput) []Phase {
	direct := map[string]*RegWrite{}
	opts := map[string]*RegWrite{}
	var state *RegWrite
	tzenChanged := false
	for _, a := range as {
		f := a.Field
		if f.Get(cur[f.Register]) == a.Value {
			continue
		}
		r, _ := l.Register(f.Register)
		w := &RegWrite{Register: f.Register, Mask: f.Mask(), Value: a.Value << f.Shift & f.Mask()}
		switch {
		case r.Direct:
			merge(direct, w)
		case f.Name == "PRODUCT_STATE":
			state = w
		default:
			if f.Name == "TZEN" {
				tzenChanged = true
			}
			merge(opts, w)
		}
	}
	var out []Phase
	if len(direct) > 0 {
		out = append(out, Phase{Name: "plain registers", Writes: sorted(l, direct), Direct: true})
	}
	if len(opts) > 0 {
		// On the RDP families the option bytes come into force at a reset
		// (F1, F4) or OBL_LAUNCH, which resets (G0, G4, L4): apply_families.go.
		out = append(out, Phase{Name: "option bytes", Writes: sorted(l, opts), Resets: tzenChanged || l.RDP != nil})
	}
	if state != nil {
		closes := pi.stateAfter != stateOpen && pi.stateAfter != stateProvisioning
		out = append(out, Phase{Name: "product state " + stateName(pi.stateAfter), Writes: []RegWrite{*state}, Resets: true, MayCloseDebug: closes})
	}
	return out
}

// merge adds w into m, combining writes to the same register.
func merge(m map[string]*RegWrite, w *RegWrite) {
	if e, ok := m[w.Register]; ok {
		e.Value = e.Value&^w.Mask | w.Value
		e.Mask |= w.Mask
		return
	}
	m[w.Register] = w
}

// sorted lists the writes in register-table order.
func sorted(l *Layout, m map[string]*RegWrite) []RegWrite {
	order := map[string]int{}
	for i, r := range l.Registers {
		order[r.Name] = i
	}
	var out []RegWrite
	for _, w := range m {
		out = append(out, *w)
	}
	sort.Slice(out, func(i, j int) bool { return order[out[i].Register] < order[out[j].Register] })
	return out
}

// phrase builds the confirmation the user must type for a plan.
func phrase(p *Plan) string {
	var grave []string
	for _, c := range p.Changes {
		if c.Risk >= guarded.Irreversible {
			grave = append(grave, fmt.Sprintf("%s=0x%X", c.Field, c.To.Raw))
		}
	}
	switch p.Risk {
	case guarded.Brick:
		return fmt.Sprintf("brick %s %s", guarded.UIDTail(p.UID), strings.Join(grave, " "))
	case guarded.Irreversible:
		return "irreversible " + strings.Join(grave, " ")
	}
	return "apply"
}
