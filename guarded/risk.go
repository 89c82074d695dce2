package guarded

import (
	"fmt"

	"github.com/stprobe/stprobe/enum"
)

// Risk is how hard a planned write is to undo.
type Risk int

// Risk classes, from harmless to fatal.
const (
	// Safe writes are undone by writing the old value back.
	Safe Risk = iota
	// Caution writes are reversible but reset the chip or erase something.
	Caution
	// Irreversible writes can only be undone by a debug-authentication
	// regression (or, for OTP locks, never, though the chip stays usable).
	Irreversible
	// Brick writes can never be undone and leave the chip unreachable.
	Brick
)

// String names the class as the CLI prints it.
func (r Risk) String() string {
	names := [...]string{Safe: "safe", Caution: "caution", Irreversible: "irreversible", Brick: "brick"}
	return enum.Name(names[:], r, "Risk")
}

// MarshalText encodes the class by name (for JSON).
func (r Risk) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText decodes a class name.
func (r *Risk) UnmarshalText(b []byte) error {
	for _, c := range []Risk{Safe, Caution, Irreversible, Brick} {
		if c.String() == string(b) {
			*r = c
			return nil
		}
	}
	return fmt.Errorf("unknown risk class %q", b)
}
