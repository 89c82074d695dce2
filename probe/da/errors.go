package da

import (
	"errors"
	"fmt"
)

// Errors a caller can test with errors.Is. Every PSA-ADAC status but
// SUCCESS has its own; the rest name what the host found before asking.
var (
	ErrFailure         = errors.New("the debug agent failed the request")
	ErrNeedMoreData    = errors.New("the debug agent wants more data")
	ErrUnsupported     = errors.New("the debug agent does not support the request")
	ErrUnauthorized    = errors.New("the debug agent refused the credentials")
	ErrInvalidParams   = errors.New("the debug agent found the request malformed")
	ErrInvalidCommand  = errors.New("the debug agent does not know the command")
	ErrUnknownStatus   = errors.New("the debug agent answered an unknown status")
	ErrNoReply         = errors.New("the ROM did not answer the DA request")
	ErrLocked          = errors.New("the chip is LOCKED")
	ErrNotProvisioned  = errors.New("no debug-authentication data is provisioned")
	ErrWrongMethod     = errors.New("the credentials do not fit the method the chip offers")
	ErrNotPermitted    = errors.New("the permission is not granted by the provisioned data or the product state")
	ErrVerify          = errors.New("the chip is not as the operation should have left it")
	ErrNotProvisioning = errors.New("the chip is not in PROVISIONING")
	ErrProvision       = errors.New("the ROM refused the OBK file")
	ErrWillNotHalt     = errors.New("the core will not halt in PROVISIONING")
	// ErrBadCredentials is a key that is not the chain's leaf key, or a
	// chain that does not hold together, found offline before the chip is
	// touched (the wrapped error also matches dacred.ErrKeyMismatch or
	// dacred.ErrFormat).
	ErrBadCredentials = errors.New("the credentials do not hold together")
)

// StatusError is a PSA-ADAC answer other than SUCCESS.
type StatusError struct {
	Command string // "AUTH_RESPONSE (token)", ...
	Status  Status
}

// statusMeanings are the PSA-ADAC statuses other than SUCCESS: the
// sentinel each matches with errors.Is and what it means.
var statusMeanings = map[Status]struct {
	sentinel error
	what     string
}{
	StatusFailure:        {ErrFailure, "FAILURE: the agent could not process it (nothing provisioned, or no challenge pending)"},
	StatusNeedMoreData:   {ErrNeedMoreData, "NEED_MORE_DATA where a final answer was expected"},
	StatusUnsupported:    {ErrUnsupported, "UNSUPPORTED: the agent does not offer this (method or command)"},
	StatusUnauthorized:   {ErrUnauthorized, "UNAUTHORIZED: the credentials do not match what the chip holds, or the permission is not allowed"},
	StatusInvalidParams:  {ErrInvalidParams, "INVALID_PARAMETERS: the request was malformed"},
	StatusInvalidCommand: {ErrInvalidCommand, "INVALID_COMMAND: the agent does not know the command"},
}

// Error says what the status means.
func (e *StatusError) Error() string {
	what := fmt.Sprintf("unknown status 0x%04X", uint16(e.Status))
	if m, ok := statusMeanings[e.Status]; ok {
		what = m.what
	}
	return fmt.Sprintf("%s answered %s", e.Command, what)
}

// Next is the advice for the status.
func (e *StatusError) Next() string {
	switch e.Status {
	case StatusUnauthorized:
		return "use the password file or the key and chain that match the provisioned DA data (stprobe da check-obk); the chip is unchanged"
	case StatusUnsupported:
		return "the method follows TrustZone: password with TZEN=0xC3, certificates with TZEN=0xB4 (run da discover)"
	case StatusFailure:
		return "run da discover: DA must be provisioned (integrity 0xEAEAEAEA); power-cycle the board and retry"
	case StatusInvalidParams, StatusInvalidCommand:
		return "the files may be damaged (stprobe da check-obk) or the chip's agent differs; power-cycle and retry"
	}
	return "power-cycle the board and retry"
}

// Is matches the sentinel of the status.
func (e *StatusError) Is(target error) bool {
	if m, ok := statusMeanings[e.Status]; ok {
		return target == m.sentinel
	}
	return target == ErrUnknownStatus
}

// tagged is an error that reads as err and also matches cause (a sentinel
// or a *StatusError) with errors.Is and errors.As.
type tagged struct {
	err, cause error
}

func (t *tagged) Error() string   { return t.err.Error() }
func (t *tagged) Unwrap() []error { return []error{t.err, t.cause} }

// tag returns err, also matching cause.
func tag(err, cause error) error { return &tagged{err: err, cause: cause} }
