package bench

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stprobe/stprobe/obytes"
	"github.com/stprobe/stprobe/statefile"
)

// TestWriteOutcome says how a write ended from the write's own report.
func TestWriteOutcome(t *testing.T) {
	cancelled := func(we *obytes.WriteError) error {
		we.Err = context.Canceled
		return fmt.Errorf("ob apply: %w", we)
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"done", nil, "done"},
		{"cancelled while staging, undone", cancelled(&obytes.WriteError{Staged: true, Undone: true, Outcome: statefile.OutcomeUndone}), "cancelled: staged and undone (nothing was applied)"},
		{"cancelled before staging", fmt.Errorf("bench: ob apply: %w", context.Canceled), "cancelled before any option byte was staged: nothing was written"},
		{"cancelled, not undone", cancelled(&obytes.WriteError{Staged: true, UndoErr: errors.New("no answer")}), "cancelled: THE CHANGE MAY STILL BE STAGED and could not be undone; reset the chip (NRST or power cycle)"},
		{"started and read back", cancelled(&obytes.WriteError{Started: true, Outcome: statefile.OutcomeApplied}), "cancelled after the programming had started: read back, the change is APPLIED"},
		{"started, unknown", &obytes.WriteError{Started: true, Err: errors.New("usb")}, "failed after the programming had started: the result is NOT KNOWN; reconnect (Hot Plug, AP1) and read the option bytes"},
		{"earlier phase applied", cancelled(&obytes.WriteError{Staged: true, Undone: true, Outcome: statefile.OutcomePartly}), "cancelled: this step staged and undone; earlier steps changed the chip: it is PARTLY APPLIED"},
		{"unconfirmed", fmt.Errorf("%w: type it", ErrNotConfirmed), "refused: nothing was written"},
		{"other failure", errors.New("usb: gone"), "failed: usb: gone"},
	}
	for _, tt := range tests {
		if got := WriteOutcome(tt.err); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	for kind, want := range map[string]bool{"ob apply": true, "da regress": true, "da provision": true, "mem write": true, "ob plan": false, "da discover": false, "sweep": false} {
		if IsWriteJob(kind) != want {
			t.Errorf("IsWriteJob(%q) = %v", kind, !want)
		}
	}
}

// Credentials made through the bench: the password and its .obk file, the
// certificate kit; an existing file is never overwritten.
func TestMakeCredentials(t *testing.T) {
	dir := t.TempDir()
	fs, err := MakeCredentials(CredentialRequest{Part: "H533", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var obk, secret int
	for _, f := range fs {
		if f.OBK {
			obk++
		}
		if f.Secret {
			secret++
		}
	}
	if len(fs) != 2 || obk != 1 || secret != 1 {
		t.Errorf("password files %+v", fs)
	}
	if _, err := MakeCredentials(CredentialRequest{Part: "H533", Dir: dir}); !errors.Is(err, ErrCredentialsExist) {
		t.Errorf("made again into the same directory: %v", err)
	}
	if _, err := MakeCredentials(CredentialRequest{Part: "H503", Certificates: true, Dir: t.TempDir()}); err == nil {
		t.Error("certificates for an H503 (no TrustZone)")
	}
	certs, err := MakeCredentials(CredentialRequest{Part: "H563", Certificates: true, Dir: t.TempDir()})
	if err != nil || len(certs) < 5 {
		t.Errorf("certificate kit %+v %v", certs, err)
	}
}
