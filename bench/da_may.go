package bench

import (
	"fmt"

	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/targets"
)

// DAAnswer is the bench's answer to "may this DA write run now?": OK, or
// the problem, what to do (in words that name no key and no command), the
// next step as a value for a face to name in its own words (da.StepDiscover
// …) and the cause the refusal matches with errors.Is.
type DAAnswer = da.Check

// DAFacts are what the snapshot knows of the chip for a DA write: the
// product state last learned, whether DA data is provisioned (the last
// discovery's word, else the option bytes'), and the method the chip
// offers (the discovery's, else what the option bytes tell: the method
// of the data they hold, or the one the chip's TZEN admits).
func (s Snapshot) DAFacts() da.Facts {
	var f da.Facts
	d := s.Discovery
	switch {
	case s.HasState:
		f.State, f.StateKnown = s.State, true
	case d != nil && d.State.Valid():
		f.State, f.StateKnown = d.State, true
	}
	switch {
	case d != nil && d.HasIntegrity:
		df := da.FactsOf(d)
		f.Provisioned, f.ProvisionedKnown, f.ProvisionedFrom = df.Provisioned, true, df.ProvisionedFrom
	case s.DA != nil && s.DA.Checked:
		f.Provisioned, f.ProvisionedKnown = s.DA.Provisioned, true
		f.ProvisionedFrom = "the option bytes say so"
	}
	switch {
	case d != nil && d.Method() != "":
		f.Method, _ = targets.ParseDAMethod(d.Method())
	case s.DA != nil && s.DA.Provisioned && s.DA.Method != targets.DAMethodUnknown:
		f.Method = s.DA.Method
	case s.Chip != nil && (!s.Chip.Line.TrustZone || !s.TZENAt.IsZero()):
		if m, ok := s.Chip.Line.DAMethodFor(s.TZEN); ok {
			f.Method = m
		}
	}
	return f
}

// MayDA answers whether DA write a may run now, from what the snapshot
// knows: the fall-back board takes no write; a provisioning needs
// PROVISIONING; a regression or a debug opening needs a state that is
// neither OPEN nor LOCKED, DA data provisioned and a method that can do
// it. It is the rule the DA plans refuse by (PlanDA), so that a face
// that asks before planning and one that plans say the same thing. A
// chip the bench has not looked at yet answers StepDiscover.
func (s Snapshot) MayDA(a DAAction) DAAnswer {
	if s.Fallback != "" {
		return DAAnswer{Cause: ErrFallbackBoard,
			Problem: fmt.Sprintf("the simulated board the bench fell back to (%s) is for looking, not for writes", s.Fallback),
			Next:    "plug the probe in, or rehearse on a simulated board chosen by name"}
	}
	return s.daChipAllows(a)
}

// daChipAllows is MayDA without the fall-back board's rule: what the chip,
// as the snapshot knows it, allows (a plan, which only looks, asks this).
func (s Snapshot) daChipAllows(a DAAction) DAAnswer {
	f := s.DAFacts()
	switch a {
	case DAProvision:
		return da.MayProvision(f)
	case DARegress:
		return da.MayAuthenticate(f, targets.DAGrantFull)
	case DAOpenDebug:
		return da.MayAuthenticate(f, targets.DAGrantOpenDebug)
	}
	return DAAnswer{Problem: fmt.Sprintf("%q is no DA write", a), Next: "ask for provision, regress or open-debug"}
}
