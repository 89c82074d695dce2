package guarded

// WayBackProof is what a plan proved of the way back from a write that
// closes the chip: the credentials' method, what was checked, and every
// reason the way back is not proven (none: proven).
type WayBackProof struct {
	// Method is the DA method of the credentials ("password",
	// "certificate").
	Method string `json:"method,omitempty"`
	// Checked lists what was checked, in plain words.
	Checked []string `json:"checked,omitempty"`
	// Mismatches are the reasons the way back is not proven; empty: proven.
	Mismatches []Mismatch `json:"mismatches,omitempty"`
}

// Proven reports whether the proof has no mismatch.
func (w *WayBackProof) Proven() bool { return w != nil && len(w.Mismatches) == 0 }

// Summary is the proof in one line, for the plan's header.
func (w *WayBackProof) Summary() string {
	switch {
	case w == nil:
		return ""
	case w.Proven():
		s := "proven with the " + w.Method
		for i, c := range w.Checked {
			if i == 0 {
				s += ": " + c
			} else {
				s += "; " + c
			}
		}
		return s
	}
	s := "NOT proven"
	for i, m := range w.Mismatches {
		if i == 0 {
			s += ": " + m.Problem
		} else {
			s += "; " + m.Problem
		}
	}
	return s
}

// Mismatch is one reason a file, a chip or the credentials do not fit a
// write (or its way back), in plain words, with the fix.
type Mismatch struct {
	Check   string `json:"check"`
	Problem string `json:"problem"`
	Fix     string `json:"fix"`
}

// String is "check: problem (fix: fix)".
func (m Mismatch) String() string { return m.Check + ": " + m.Problem + " (fix: " + m.Fix + ")" }
