package da

import (
	"fmt"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/targets"
)

// Check is one precondition of a DA write, held against what is known of
// the chip. The bench answers from it whether a write may run and refuses
// a plan whose checks do not all hold, the host refuses again before it
// sends anything, and the console shows the same checks as the plan's
// checklist.
type Check struct {
	// What is what was checked, as a line of a checklist.
	What string
	// OK is true when the chip can grant it.
	OK bool
	// Problem says why not, Next what to do, and Cause is the error the
	// refusal wraps (ErrLocked, ErrNotProvisioned, ErrNotProvisioning,
	// ErrWrongMethod, ErrNotPermitted; nil when the chip is not known
	// well enough to say); all empty when OK, and Next empty when there
	// is nothing to do. Their words name no
	// console key and no command: Step says the next step as a value,
	// which each face names in its own words.
	Problem, Next string
	Cause         error
	Step          NextStep
}

// NextStep is the step a refused DA write waits for, as a value: the
// console names the key that takes it, the CLI the command.
type NextStep int

// The next steps of a refused DA write.
const (
	// NoStep: nothing the user can do on this chip makes the write run
	// (or the check holds).
	NoStep NextStep = iota
	// StepDiscover: run a DA discovery, which tells the product state,
	// whether DA data is provisioned and the method the chip offers.
	StepDiscover
	// StepProvision: provision the DA data (the .obk file, on the H503
	// the OTP image) while the chip is in PROVISIONING.
	StepProvision
	// StepEnterProvisioning: move the chip from OPEN to PROVISIONING
	// with an option-byte change (PRODUCT_STATE=0x17).
	StepEnterProvisioning
)

// Facts are what is known of a chip before a DA write, from its discovery
// or its option bytes: the product state, whether DA data is provisioned
// and the method the chip offers.
type Facts struct {
	// State is the product state, when StateKnown.
	State      targets.ProductState
	StateKnown bool
	// Provisioned says whether DA data is provisioned, when
	// ProvisionedKnown; ProvisionedFrom says who said so ("the option
	// bytes say so").
	Provisioned, ProvisionedKnown bool
	ProvisionedFrom               string
	// Method is the method the chip offers (DAMethodUnknown: not known).
	Method targets.DAMethod
}

// FactsOf are the facts a discovery tells.
func FactsOf(d *Discovery) Facts {
	f := Facts{State: d.State, StateKnown: d.State.Valid()}
	if d.HasIntegrity {
		f.Provisioned, f.ProvisionedKnown = d.Provisioned(), true
		f.ProvisionedFrom = fmt.Sprintf("the ROM reports integrity 0x%08X", d.Integrity)
	}
	f.Method, _ = targets.ParseDAMethod(d.Method())
	return f
}

// MayProvision is the rule of a provisioning, before the file is looked
// at: the ROM takes DA data only in PROVISIONING.
func MayProvision(f Facts) Check {
	c := Check{What: "the chip is in PROVISIONING", OK: f.StateKnown && f.State == targets.StateProvisioning}
	switch {
	case c.OK:
	case !f.StateKnown:
		c.Problem = "the chip's product state is not known yet"
		c.Next = "run a DA discovery first"
		c.Step = StepDiscover
	case f.State == targets.StateOpen:
		c.Cause = ErrNotProvisioning
		c.Problem = "the ROM takes DA data only in PROVISIONING (0x17); the chip is OPEN"
		c.Next = "move the chip to PROVISIONING first with an option-byte change (PRODUCT_STATE=0x17)"
		c.Step = StepEnterProvisioning
	default:
		c.Cause = ErrNotProvisioning
		c.Problem = fmt.Sprintf("the ROM takes DA data only in PROVISIONING (0x17); the chip is %v", f.State)
	}
	return c
}

// MayAuthenticate is the rule of a regression or a debug opening asking
// for g, before any credentials are looked at: the first of the product
// state, DA data provisioned and what the offered method can do that does
// not hold (OK when all hold, or are not known to fail).
func MayAuthenticate(f Facts, g targets.DAGrant) Check {
	cs := chipChecks(f, g)
	if u := Unmet(cs); u != nil {
		return *u
	}
	return cs[len(cs)-1]
}

// chipChecks are the checks of a regression or a debug opening that need
// no credentials: the product state, DA data provisioned, and what the
// offered method can do. Those after a failed one are left out.
func chipChecks(f Facts, g targets.DAGrant) []Check {
	state := stateCheck(f)
	if !state.OK {
		return []Check{state}
	}
	out := []Check{state}
	if f.ProvisionedKnown {
		prov := provisionedCheck(f)
		out = append(out, prov)
		if !prov.OK {
			return out
		}
	}
	if f.Method != targets.DAMethodUnknown {
		ok, why := f.Method.Grants(g)
		m := Check{What: "the " + f.Method.String() + " method the chip offers can do it", OK: ok}
		if !ok {
			m.Cause = ErrNotPermitted
			m.Problem = "the chip offers the " + f.Method.String() + " method"
			m.Next = why
		}
		out = append(out, m)
	}
	return out
}

// stateCheck is the product state's check of a regression or a debug
// opening.
func stateCheck(f Facts) Check {
	name := f.State.String()
	c := Check{What: "the product state allows it: the chip is " + name, OK: true}
	switch {
	case !f.StateKnown:
		c.What = "the product state allows it"
		c.OK, c.Step = false, StepDiscover
		c.Problem = "the chip's product state is not known yet"
		c.Next = "run a DA discovery first"
	case f.State == targets.StateLocked:
		c.OK, c.Cause = false, ErrLocked
		c.Problem = "the chip is LOCKED (0x5C)"
		c.Next = "LOCKED is final, no debug authentication can regress or open it"
	case f.State == targets.StateOpen:
		c.OK, c.Cause = false, ErrNotPermitted
		c.Problem = "the chip is OPEN"
		c.Next = "nothing to regress or open: debug is already open"
	}
	return c
}

// provisionedCheck is the check that DA data is provisioned, as far as
// f tells it.
func provisionedCheck(f Facts) Check {
	from := f.ProvisionedFrom
	c := Check{What: "DA data provisioned (" + from + ")", OK: f.ProvisionedKnown && f.Provisioned}
	if !c.OK {
		c.Cause, c.Step = ErrNotProvisioned, StepProvision
		c.Problem = "DA data is not provisioned (" + from + ")"
		c.Next = "provision it in PROVISIONING first"
	}
	return c
}

// Preconditions are the checks of asking for permission perm with
// credentials c, against the chip's discovery d, in the order they are
// told: the product state, DA data provisioned, the method, what the
// method can do, the provisioned permission word. The checks after a
// failed state or provisioning check are left out: they cannot hold. The
// first two are MayAuthenticate's.
func Preconditions(d *Discovery, c Credentials, perm Permission) []Check {
	f := FactsOf(d)
	// A lifecycle not in the table is none of the states that refuse.
	state := Check{OK: true}
	if f.StateKnown {
		state = stateCheck(f)
	}
	state.What = "the product state allows it: the ROM reports " + d.StateName()
	out := []Check{state}
	f.ProvisionedKnown = true // a discovery without the integrity word: not provisioned
	if f.ProvisionedFrom == "" {
		f.ProvisionedFrom = "the ROM reports no integrity word"
	}
	prov := provisionedCheck(f)
	out = append(out, prov)
	if !state.OK || !prov.OK {
		return out
	}
	offered, given := d.Method(), c.Method()
	method := Check{What: fmt.Sprintf("the credentials are a %s; the chip offers the %s method", orNone(given), orNone(offered)), OK: given != "" && given == offered}
	if !method.OK {
		method.Cause = ErrWrongMethod
		method.Problem = fmt.Sprintf("the chip offers the %s method, the credentials are a %s", orNone(offered), orNone(given))
		method.Next = "TrustZone decides: use the leaf key and the certificate chain (TrustZone on: TZEN=0xB4)"
		if offered == "password" {
			method.Next = "TrustZone decides: use the password file (TrustZone off: TZEN=0xC3, or an H503)"
		}
	}
	out = append(out, method)
	if m, _ := targets.ParseDAMethod(given); m == targets.DAPassword {
		ok, _ := m.Grants(perm.Grant())
		full := Check{What: "the password method does a full regression only", OK: ok}
		if !full.OK {
			full.Cause = ErrNotPermitted
			full.Problem = fmt.Sprintf("the password method does only a full regression, not %s", perm.Title())
			full.Next = "ask for the full regression, or use certificates with TrustZone on"
		}
		out = append(out, full)
	}
	w := d.PermissionWord()
	grant := Check{What: fmt.Sprintf("the permission word 0x%08X grants the %s", w, perm.Title()), OK: w&perm.Bit() != 0}
	if !grant.OK {
		grant.Cause = ErrNotPermitted
		grant.Problem = fmt.Sprintf("the provisioned permission word 0x%08X lacks %s (bit %d)", w, perm.Title(), bitIndex(perm.Bit()))
		grant.Next = "re-provision with a permission word that includes it (in PROVISIONING), or ask for another permission"
	}
	return append(out, grant)
}

// Sentence is the problem and what to do, in one sentence.
func (c Check) Sentence() string {
	if c.Next == "" {
		return c.Problem
	}
	return c.Problem + ": " + c.Next
}

// Unmet is the first check of cs that does not hold, nil when all do.
func Unmet(cs []Check) *Check {
	for i := range cs {
		if !cs[i].OK {
			return &cs[i]
		}
	}
	return nil
}

// precheck refuses what the chip cannot grant, before anything is sent.
func precheck(op string, d *Discovery, c Credentials, perm Permission) error {
	if u := Unmet(Preconditions(d, c, perm)); u != nil {
		return tag(fail(op, probe.LayerTarget, u.Problem, u.Next, nil), u.Cause)
	}
	return nil
}

// orNone is s, or "none" when s is empty.
func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
