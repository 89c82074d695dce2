package guarded

// Event is one step of a guarded write, for a face to render: the step's
// name ("check", "backup", "authenticate", "verify", "audit"...), what it
// does or found, and, for a step that counts (phases, bytes), how far it
// is (Done of Total; Total 0 when it does not count).
type Event struct {
	Step    string
	Message string
	Done    int
	Total   int
}

// Emit is where an executor sends its events; a nil Emit discards them.
type Emit func(Event)

// Send sends e, unless f is nil.
func (f Emit) Send(e Event) {
	if f != nil {
		f(e)
	}
}
