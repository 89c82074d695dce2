package guarded

// Kind names what a guarded write writes.
type Kind string

// The kinds of guarded write.
const (
	OptionBytes    Kind = "option bytes"
	DAProvisioning Kind = "DA provisioning"
	DARegression   Kind = "DA regression"
	DebugOpening   Kind = "debug opening"
	// OTP is a write to one-time-programmable memory (the H503's DA
	// password hash): it can never be taken back.
	OTP   Kind = "OTP"
	Flash Kind = "flash"
)

// Plan is the header every guarded write is planned with: enough for any
// face to show the write and for the guard to confirm it. The kinds keep
// their own details (the option-byte diff, the DA discovery) beside it.
type Plan struct {
	Kind Kind `json:"kind"`
	// Line and UID name the chip the plan was made for.
	Line string `json:"line"`
	UID  string `json:"uid"`
	// Changes are what the write changes, one line each ("TZEN=0xC3",
	// "DA regression full (password)").
	Changes []string `json:"changes"`
	// Risk is the class of the write; Reasons say why, one sentence each.
	Risk    Risk     `json:"risk"`
	Reasons []string `json:"reasons,omitempty"`
	// Phrase is what the user types to confirm the write.
	Phrase string `json:"phrase"`
	// NeedsOverride is set for a write that can brick the chip: the user
	// must also give the explicit override.
	NeedsOverride bool `json:"needs_override"`
	// Erases says what the write erases ("nothing" when it erases
	// nothing; "" when the kind does not say).
	Erases string `json:"erases,omitempty"`
	// WayBack sums up the proof of the way back ("" when none was asked
	// or needed).
	WayBack string `json:"way_back,omitempty"`
	// Steps are what the write will do, in order.
	Steps []string `json:"steps,omitempty"`
	// Notes are warnings that do not change the class.
	Notes []string `json:"notes,omitempty"`
}

// Typed reports whether the phrase must be typed: irreversible and brick
// writes are confirmed by typing their phrase; for a safe or a caution
// write, the plan the user has seen is the confirmation (a face that shows
// the plan may pass Confirmation.Seen instead of the phrase).
func (p *Plan) Typed() bool { return p.Risk >= Irreversible }

// UIDTail is the part of a chip's UID a confirmation phrase quotes: its
// last 8 hex digits ("NO-UID" when the UID is unknown).
func UIDTail(uid string) string {
	if len(uid) > 8 {
		return uid[len(uid)-8:]
	}
	if uid == "" {
		return "NO-UID"
	}
	return uid
}
