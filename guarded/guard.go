package guarded

import (
	"errors"
	"fmt"
)

// Errors of the guard: the write was not confirmed; nothing was written.
var (
	// ErrNotConfirmed: the confirmation phrase does not match the plan's.
	ErrNotConfirmed = errors.New("confirmation phrase does not match the plan")
	// ErrNeedsOverride: a plan that can brick the chip, without the
	// explicit override.
	ErrNeedsOverride = errors.New("this plan can brick the chip and needs the explicit override")
)

// Confirmation is what the user gave to confirm a plan: exactly what was
// typed, whether the override was given, and whether the plan was shown
// to the user, who accepted it (a console's "apply" key on the plan on
// screen).
type Confirmation struct {
	Phrase   string
	Override bool
	// Seen confirms a plan whose phrase need not be typed (Plan.Typed
	// false); it confirms nothing else.
	Seen bool
}

// Check is the guard: the one place that decides whether a confirmation
// lets a plan run. It returns an error wrapping ErrNotConfirmed when the
// phrase does not match (and the plan is not one the user confirms by
// seeing it), or ErrNeedsOverride when a brick plan lacks the override.
func Check(p *Plan, c Confirmation) error {
	if p == nil {
		return fmt.Errorf("%w: there is no plan to confirm", ErrNotConfirmed)
	}
	if c.Phrase != p.Phrase && !(c.Seen && c.Phrase == "" && !p.Typed()) {
		return fmt.Errorf("%w: type %q", ErrNotConfirmed, p.Phrase)
	}
	if p.NeedsOverride && !c.Override {
		return fmt.Errorf("%w (%s)", ErrNeedsOverride, p.Risk)
	}
	return nil
}

// Missing says in one sentence what a confirmation still lacks ("" when
// Check would accept it), for a dialog to show while the user types.
func Missing(p *Plan, c Confirmation) string {
	err := Check(p, c)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrNeedsOverride):
		return "this change can brick the chip: give the override to accept that. Nothing was written."
	}
	return "the phrase does not match: type it exactly as shown. Nothing was written."
}
