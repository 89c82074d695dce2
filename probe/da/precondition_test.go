package da

import (
	"errors"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/targets"
)

// The rules of the DA writes before any credentials: what each fact
// refuses, its cause, the next step as a value, and words that name no
// console key and no command.
func TestMayProvisionAndAuthenticate(t *testing.T) {
	known := func(st targets.ProductState) Facts { return Facts{State: st, StateKnown: true} }
	notProv := known(targets.StateClosed)
	notProv.ProvisionedKnown, notProv.ProvisionedFrom = true, "the option bytes say so"
	prov := known(targets.StateProvisioning)
	prov.Provisioned, prov.ProvisionedKnown, prov.ProvisionedFrom = true, true, "the ROM reports integrity 0xEAEAEAEA"
	pw := prov
	pw.Method = targets.DAPassword
	cert := pw
	cert.Method = targets.DACertificate
	for _, tc := range []struct {
		name  string
		check Check
		ok    bool
		cause error
		step  NextStep
	}{
		{"provision: state unknown", MayProvision(Facts{}), false, nil, StepDiscover},
		{"provision: PROVISIONING", MayProvision(known(targets.StateProvisioning)), true, nil, NoStep},
		{"provision: OPEN", MayProvision(known(targets.StateOpen)), false, ErrNotProvisioning, StepEnterProvisioning},
		{"provision: CLOSED", MayProvision(known(targets.StateClosed)), false, ErrNotProvisioning, NoStep},
		{"regress: state unknown", MayAuthenticate(Facts{}, targets.DAGrantFull), false, nil, StepDiscover},
		{"regress: LOCKED", MayAuthenticate(known(targets.StateLocked), targets.DAGrantFull), false, ErrLocked, NoStep},
		{"regress: OPEN", MayAuthenticate(known(targets.StateOpen), targets.DAGrantFull), false, ErrNotPermitted, NoStep},
		{"regress: CLOSED, provisioning not known", MayAuthenticate(known(targets.StateClosed), targets.DAGrantFull), true, nil, NoStep},
		{"regress: not provisioned", MayAuthenticate(notProv, targets.DAGrantFull), false, ErrNotProvisioned, StepProvision},
		{"regress: password", MayAuthenticate(pw, targets.DAGrantFull), true, nil, NoStep},
		{"open debug: password", MayAuthenticate(pw, targets.DAGrantOpenDebug), false, ErrNotPermitted, NoStep},
		{"open debug: certificate", MayAuthenticate(cert, targets.DAGrantOpenDebug), true, nil, NoStep},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.check
			if c.OK != tc.ok || c.Step != tc.step || (tc.cause == nil) != (c.Cause == nil) || tc.cause != nil && !errors.Is(c.Cause, tc.cause) {
				t.Fatalf("%+v; want ok %v, cause %v, step %v", c, tc.ok, tc.cause, tc.step)
			}
			if c.OK {
				return
			}
			if c.Problem == "" {
				t.Error("a refusal without its problem")
			}
			for _, face := range []string{"(d)", "(p)", "stprobe ", "press "} {
				if strings.Contains(c.Sentence(), face) {
					t.Errorf("%q names a face's %q", c.Sentence(), face)
				}
			}
			err := c.Refusal()
			var ce *CheckError
			if !errors.Is(err, ErrRefused) || !errors.As(err, &ce) || ce.Check.Step != c.Step || !strings.Contains(err.Error(), c.Sentence()) ||
				tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Errorf("refusal %v: want ErrRefused, the cause and the sentence", err)
			}
		})
	}
}
