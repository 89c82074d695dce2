package obytes

import (
	"errors"
	"fmt"

	"github.com/stprobe/stprobe/guarded"
)

// Header is the plan as every guarded write is planned: the chip, the
// changes as FIELD=0xVALUE, the risk with each change's reason, the
// phrase, the override, the proof of the way back and the phases. The
// plan's own JSON form is unchanged by it.
func (p *Plan) Header() *guarded.Plan {
	if p == nil {
		return nil
	}
	h := &guarded.Plan{
		Kind: guarded.OptionBytes, Line: p.LineName, UID: p.UID, Changes: changeList(p),
		Risk: p.Risk, Phrase: p.Phrase, NeedsOverride: p.NeedsOverride,
		Notes: append([]string(nil), p.Notes...),
	}
	for _, c := range p.Changes {
		h.Reasons = append(h.Reasons, fmt.Sprintf("%s (%s): %s", c.Field, c.Risk, c.Why))
	}
	for _, ph := range p.Phases {
		h.Steps = append(h.Steps, "phase "+ph.Name)
	}
	h.WayBack = p.WayBack.Summary()
	return h
}

// EndOf is how far a write that returned err got on the chip, from its
// *WriteError (the zero End when err is none: nothing is known beyond it).
func EndOf(err error) guarded.End {
	var we *WriteError
	if !errors.As(err, &we) {
		return guarded.End{}
	}
	return guarded.End{Started: we.Started, Staged: we.Staged, Undone: we.Undone, Holds: we.Outcome}
}
