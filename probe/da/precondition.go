package da

import (
	"fmt"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/targets"
)

// Check is one precondition of a regression or debug opening, held against
// what the chip's discovery reports. The bench refuses a plan whose checks
// do not all hold, the host refuses again before it sends anything, and the
// console shows the same checks as the plan's checklist.
type Check struct {
	// What is what was checked, as a line of a checklist.
	What string
	// OK is true when the chip can grant it.
	OK bool
	// Problem says why not, Next what to do, and Cause is the error the
	// refusal wraps (ErrLocked, ErrNotProvisioned, ErrWrongMethod,
	// ErrNotPermitted); all empty when OK.
	Problem, Next string
	Cause         error
}

// Preconditions are the checks of asking for permission perm with
// credentials c, against the chip's discovery d, in the order they are
// told: the product state, DA data provisioned, the method, what the
// method can do, the provisioned permission word. The checks after a
// failed state or provisioning check are left out: they cannot hold.
func Preconditions(d *Discovery, c Credentials, perm Permission) []Check {
	var out []Check
	state := Check{What: "the product state allows it: the ROM reports " + d.StateName(), OK: true}
	switch d.State {
	case targets.StateLocked:
		state.OK, state.Cause = false, ErrLocked
		state.Problem = "the chip is LOCKED (0x5C)"
		state.Next = "LOCKED is final: no debug authentication can regress or open it"
	case targets.StateOpen:
		state.OK, state.Cause = false, ErrNotPermitted
		state.Problem = "the chip is OPEN"
		state.Next = "nothing to regress or open: debug is already open"
	}
	out = append(out, state)
	prov := Check{What: fmt.Sprintf("DA data provisioned (integrity 0x%08X)", d.Integrity), OK: d.Provisioned()}
	if !prov.OK {
		prov.Cause = ErrNotProvisioned
		prov.Problem = fmt.Sprintf("the chip reports DA not provisioned (integrity 0x%08X)", d.Integrity)
		prov.Next = "provision the DA data in PROVISIONING (stprobe da provision, or p in the console); a closed chip without it cannot be regressed or opened"
	}
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
