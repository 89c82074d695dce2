package guarded

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/statefile"
)

func TestCheck(t *testing.T) {
	safe := &Plan{Risk: Safe, Phrase: "apply"}
	grave := &Plan{Risk: Irreversible, Phrase: "irreversible TZEN=0xB4"}
	brick := &Plan{Risk: Brick, Phrase: "brick 00450499 PRODUCT_STATE=0xD2", NeedsOverride: true}
	for _, tc := range []struct {
		name string
		p    *Plan
		c    Confirmation
		want error
	}{
		{"safe, typed", safe, Confirmation{Phrase: "apply"}, nil},
		{"safe, seen", safe, Confirmation{Seen: true}, nil},
		{"safe, wrong", safe, Confirmation{Phrase: "yes"}, ErrNotConfirmed},
		{"safe, seen but a wrong phrase typed", safe, Confirmation{Phrase: "yes", Seen: true}, ErrNotConfirmed},
		{"irreversible, typed", grave, Confirmation{Phrase: "irreversible TZEN=0xB4"}, nil},
		{"irreversible, seen is not enough", grave, Confirmation{Seen: true}, ErrNotConfirmed},
		{"irreversible, case differs", grave, Confirmation{Phrase: "IRREVERSIBLE TZEN=0xB4"}, ErrNotConfirmed},
		{"brick, phrase without override", brick, Confirmation{Phrase: brick.Phrase}, ErrNeedsOverride},
		{"brick, override without phrase", brick, Confirmation{Override: true, Seen: true}, ErrNotConfirmed},
		{"brick, both", brick, Confirmation{Phrase: brick.Phrase, Override: true}, nil},
		{"no plan", nil, Confirmation{Phrase: "apply"}, ErrNotConfirmed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.p, tc.c)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
			if got := Missing(tc.p, tc.c); (got == "") != (tc.want == nil) {
				t.Errorf("Missing = %q with Check %v", got, err)
			}
			if tc.want != nil && !Refused(err) {
				t.Errorf("Refused(%v) = false", err)
			}
		})
	}
}

func TestRiskText(t *testing.T) {
	for _, r := range []Risk{Safe, Caution, Irreversible, Brick} {
		b, err := r.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Risk
		if err := back.UnmarshalText(b); err != nil || back != r {
			t.Errorf("%v: round trip %v %v", r, back, err)
		}
	}
	var r Risk
	if err := r.UnmarshalText([]byte("harmless")); err == nil {
		t.Error("an unknown class decoded")
	}
}

func TestUIDTail(t *testing.T) {
	for in, want := range map[string]string{"363835303133510A00450499": "00450499", "1234": "1234", "": "NO-UID"} {
		if got := UIDTail(in); got != want {
			t.Errorf("UIDTail(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSummary(t *testing.T) {
	fail := errors.New("link lost")
	for _, tc := range []struct {
		err  error
		end  End
		want string
	}{
		{nil, End{}, "done"},
		{fail, End{}, "failed: nothing was written"},
		{context.Canceled, End{Staged: true, Undone: true, Holds: statefile.OutcomeUndone}, "cancelled: staged and undone (nothing was applied)"},
		{fail, End{Staged: true}, "failed: THE CHANGE MAY STILL BE STAGED and could not be undone; reset the chip (NRST or power cycle)"},
		{fail, End{Started: true, Holds: statefile.OutcomePartly}, "failed after the programming had started: read back, the change is PARTLY APPLIED"},
		{fail, End{Started: true, Holds: statefile.OutcomeUnknown}, "failed after the programming had started: the result is NOT KNOWN; reconnect (Hot Plug, AP1) and read the option bytes"},
		{fail, End{Holds: statefile.OutcomeApplied}, "failed: earlier steps changed the chip: it is APPLIED"},
		{fail, End{Staged: true, Undone: true, Holds: statefile.OutcomePartly}, "failed: this step staged and undone; earlier steps changed the chip: it is PARTLY APPLIED"},
	} {
		if got := Summary(tc.err, tc.end); got != tc.want {
			t.Errorf("Summary(%v, %+v) = %q, want %q", tc.err, tc.end, got, tc.want)
		}
	}
	if Result(nil) != ResultOK || Result(context.DeadlineExceeded) != ResultCancelled || Result(errors.New("x")) != ResultFailed {
		t.Error("Result")
	}
}

// fakeWrite is a write that logs its calls.
type fakeWrite struct {
	calls      []string
	planErr    error
	readyErr   error
	backupErr  error
	execErr    error
	selfRecord bool
	nilDone    bool
}

func (f *fakeWrite) write(p *Plan) Write {
	return Write{
		Plan: func(context.Context) (*Plan, error) {
			f.calls = append(f.calls, "plan")
			return p, f.planErr
		},
		Before: func() map[string]uint32 { return map[string]uint32{"R": 1} },
		Ready: func(*Plan) error {
			f.calls = append(f.calls, "ready")
			return f.readyErr
		},
		Backup: func(_ context.Context, emit Emit) (string, error) {
			f.calls = append(f.calls, "backup")
			emit.Send(Event{Step: "backup", Message: "saving"})
			return "backup.json", f.backupErr
		},
		Execute: func(_ context.Context, emit Emit) (*Done, error) {
			f.calls = append(f.calls, "execute")
			emit.Send(Event{Step: "write", Done: 1, Total: 1})
			if f.nilDone {
				return nil, f.execErr
			}
			d := &Done{Before: map[string]uint32{"R": 1}, After: map[string]uint32{"R": 2}}
			if f.selfRecord {
				d.Recorded = true
			}
			return d, f.execErr
		},
	}
}

func TestRun(t *testing.T) {
	boom := errors.New("boom")
	plan := &Plan{Kind: DAProvisioning, Line: "STM32H533", UID: "00450499", Changes: []string{"DA provisioning H533"}, Risk: Caution, Phrase: "provision H533 00450499"}
	ok := Confirmation{Phrase: plan.Phrase}
	for _, tc := range []struct {
		name    string
		f       fakeWrite
		c       Confirmation
		calls   string
		result  string // the audit line's result ("" when none is written)
		confirm bool
		err     error
	}{
		{"done", fakeWrite{}, ok, "plan ready backup execute", ResultOK, true, nil},
		{"plan refused", fakeWrite{planErr: boom}, ok, "plan", "", false, boom},
		{"wrong phrase", fakeWrite{}, Confirmation{Phrase: "yes"}, "plan", ResultRefused, false, ErrNotConfirmed},
		{"not ready", fakeWrite{readyErr: boom}, ok, "plan ready", "", false, boom},
		{"backup failed", fakeWrite{backupErr: boom}, ok, "plan ready backup", "", false, boom},
		{"write failed", fakeWrite{execErr: boom}, ok, "plan ready backup execute", ResultFailed, true, boom},
		{"write cancelled", fakeWrite{execErr: context.Canceled}, ok, "plan ready backup execute", ResultCancelled, true, context.Canceled},
		{"executor records itself", fakeWrite{selfRecord: true}, ok, "plan ready backup execute", "", false, nil},
		{"executor refused before the chip", fakeWrite{nilDone: true, execErr: boom}, ok, "plan ready backup execute", "", false, boom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var events []string
			emit := func(e Event) { events = append(events, e.Step) }
			now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			out, err := Run(context.Background(), tc.f.write(plan), tc.c, Recorder{Dir: dir, User: "ada", ProbeSerial: "P1", Now: func() time.Time { return now }}, emit)
			if tc.err == nil && err != nil || tc.err != nil && !errors.Is(err, tc.err) {
				t.Fatalf("Run = %v, want %v", err, tc.err)
			}
			if got := strings.Join(tc.f.calls, " "); got != tc.calls {
				t.Errorf("calls %q, want %q", got, tc.calls)
			}
			recs, rerr := statefile.ReadAudit(dir)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if tc.result == "" {
				if len(recs) != 0 || out.Audit != nil {
					t.Fatalf("audit lines %+v, want none", recs)
				}
				return
			}
			if len(recs) != 1 || out.Audit == nil || !reflect.DeepEqual(recs[0], *out.Audit) {
				t.Fatalf("audit lines %+v, returned %+v", recs, out.Audit)
			}
			r := recs[0]
			if r.Result != tc.result || r.Confirmed != tc.confirm || r.Kind != string(DAProvisioning) || r.User != "ada" ||
				r.ProbeSerial != "P1" || r.ChipUID != plan.UID || r.Risk != "caution" || !r.Time.Equal(now) {
				t.Errorf("audit line %+v", r)
			}
			if r.Before["R"] != 1 {
				t.Errorf("audit line %+v: the registers before", r)
			}
			if tc.result != ResultRefused {
				if r.Backup != "backup.json" || r.After["R"] != 2 {
					t.Errorf("audit line %+v: backup, before, after", r)
				}
				if events[len(events)-1] != "audit" {
					t.Errorf("events %v: the audit step comes last", events)
				}
			}
			if (tc.err != nil) != (r.Error != "") {
				t.Errorf("audit error %q for %v", r.Error, tc.err)
			}
		})
	}
}

func TestRunRecordFails(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, statefile.AuditFile), 0o700); err != nil {
		t.Fatal(err)
	}
	f := &fakeWrite{}
	plan := &Plan{Kind: OptionBytes, Risk: Safe, Phrase: "apply"}
	_, err := Run(context.Background(), f.write(plan), Confirmation{Phrase: "apply"}, Recorder{Dir: dir}, nil)
	var re *RecordError
	if !errors.As(err, &re) || !re.Applied || !strings.Contains(err.Error(), "the option bytes WERE applied") {
		t.Fatalf("got %v, want a RecordError saying the write was applied", err)
	}
}

func TestWayBackSummary(t *testing.T) {
	var none *WayBackProof
	if none.Proven() || none.Summary() != "" {
		t.Error("a missing proof")
	}
	ok := &WayBackProof{Method: "password", Checked: []string{"the file", "the chip"}}
	if !ok.Proven() || ok.Summary() != "proven with the password: the file; the chip" {
		t.Errorf("proven: %q", ok.Summary())
	}
	bad := &WayBackProof{Method: "password", Mismatches: []Mismatch{{Check: "part", Problem: "wrong part", Fix: "give --part"}}}
	if bad.Proven() || bad.Summary() != "NOT proven: wrong part" || bad.Mismatches[0].String() != "part: wrong part (fix: give --part)" {
		t.Errorf("not proven: %q", bad.Summary())
	}
}

func TestRiskNames(t *testing.T) {
	for _, tc := range []struct {
		r    Risk
		want string
	}{
		{Safe, "safe"}, {Caution, "caution"}, {Irreversible, "irreversible"}, {Brick, "brick"},
		{Risk(-1), "Risk(-1)"}, {Risk(4), "Risk(4)"},
	} {
		if got := tc.r.String(); got != tc.want {
			t.Errorf("Risk(%d).String() = %q, want %q", int(tc.r), got, tc.want)
		}
		var back Risk
		err := back.UnmarshalText([]byte(tc.want))
		if known := tc.r >= Safe && tc.r <= Brick; known != (err == nil) || known && back != tc.r {
			t.Errorf("UnmarshalText(%q) = %v, %v", tc.want, back, err)
		}
	}
}
