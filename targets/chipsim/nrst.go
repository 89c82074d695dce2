package chipsim

// NRST is a board's reset pin as a chip model holds it: whether the
// probe's NRST line reaches the chip, and the level the probe drives. The
// model guards it with its own lock.
type NRST struct {
	// Wired is false on a board that leaves NRST unconnected: driving it
	// then does nothing.
	Wired bool
	low   bool
}

// Low reports whether the probe holds the pin low.
func (p *NRST) Low() bool { return p.low }

// Drive sets the level the probe drives and says which edge that made:
// fell when the pin went low, rose when it was released; neither when
// NRST is not wired or the level did not change.
func (p *NRST) Drive(low bool) (fell, rose bool) {
	if !p.Wired || low == p.low {
		return false, false
	}
	p.low = low
	return low, !low
}
