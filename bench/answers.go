package bench

import (
	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/targets"
)

// The bench's answers about a plan that the faces render: which changes
// the guard asks a typed phrase for, and whether a plan closes the chip.

// PhraseNeeded reports whether a write, or one change of it, of risk
// class r is confirmed only by typing the plan's phrase (guarded.Plan.Typed):
// a safe or caution plan is confirmed by accepting it on screen.
func PhraseNeeded(r Risk) bool { return (&guarded.Plan{Risk: r}).Typed() }

// ClosesChip says whether option-byte plan p moves the product state
// beyond PROVISIONING, and to which state: such a plan is brick until the
// proof of the way back (the credentials and the .obk file, Change.WayBack)
// is given and holds.
func ClosesChip(p *OBPlan) (targets.ProductState, bool) {
	if p == nil {
		return 0, false
	}
	for _, c := range p.Changes {
		if c.Field != "PRODUCT_STATE" {
			continue
		}
		to := targets.ProductState(c.To.Raw)
		return to, to != targets.ProductState(c.From.Raw) && to.Rank() > targets.StateProvisioning.Rank()
	}
	return 0, false
}
