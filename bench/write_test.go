package bench

import (
	"context"
	"errors"
	"testing"

	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// The guard is the bench's: a safe plan accepted on screen (Seen) runs, an
// irreversible one needs its phrase typed, and every refusal and write is
// one audit line saying whether the phrase was confirmed.
func TestGuardedWriteConfirmation(t *testing.T) {
	b, _, err := Open(context.Background(), Selector{Sim: "h563-open"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tok, err := b.Acquire(Holder{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, dir := context.Background(), t.TempDir()
	safe := Change{Assignments: []string{"NSBOOTADD=0x080100"}}
	grave := Change{Assignments: []string{"PRODUCT_STATE=0x17"}}
	pr, err := b.PlanOptionBytes(ctx, tok, grave)
	if err != nil {
		t.Fatal(err)
	}
	if pr.Plan.Risk < RiskIrreversible || !pr.Plan.Header().Typed() {
		t.Fatalf("PRODUCT_STATE=0x17 planned %v", pr.Plan.Risk)
	}
	for _, tc := range []struct {
		name string
		r    ApplyRequest
		err  error
	}{
		{"irreversible, seen only", ApplyRequest{Change: grave, Seen: true}, ErrNotConfirmed},
		{"safe, wrong phrase", ApplyRequest{Change: safe, Confirm: "yes"}, ErrNotConfirmed},
		{"safe, seen", ApplyRequest{Change: safe, Seen: true}, nil},
	} {
		tc.r.StateDir = dir
		_, err := b.ApplyOptionBytes(ctx, tok, tc.r)
		if tc.err == nil && err != nil || tc.err != nil && !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
	recs, err := statefile.ReadAudit(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.Result+" "+r.Kind+" "+map[bool]string{true: "confirmed", false: "unconfirmed"}[r.Confirmed])
		if len(r.Before) == 0 || r.User == "" || r.Risk == "" {
			t.Errorf("audit line %+v: the registers before, the holder, the risk", r)
		}
	}
	want := []string{"refused option bytes unconfirmed", "refused option bytes unconfirmed", "ok option bytes confirmed"}
	if len(got) != len(want) {
		t.Fatalf("audit log %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("audit line %d: %q, want %q", i, got[i], want[i])
		}
	}
}

func TestKnownPart(t *testing.T) {
	h533 := &targets.Chip{DevID: stm32h5.LineH533, HasUID: true, UID: [3]uint32{0x00450499, 0x3133510A, 0x36383530}}
	h503 := &targets.Chip{DevID: stm32h5.LineH503}
	for _, tc := range []struct {
		name string
		s    Snapshot
		want string
	}{
		{"no chip", Snapshot{}, ""},
		{"one part", Snapshot{Chip: h503}, "H503"},
		{"several, none named", Snapshot{Chip: h533}, ""},
		{"several, named for this chip", Snapshot{Chip: h533, DAPlan: &DAPlan{Part: "H523", UID: h533.UIDString()}}, "H523"},
		{"several, named for another chip", Snapshot{Chip: h533, DAPlan: &DAPlan{Part: "H523", UID: "000000000000000000000001"}}, ""},
	} {
		if got := tc.s.KnownPart(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
