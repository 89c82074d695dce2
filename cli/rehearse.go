package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/stprobe/stprobe/bench"
)

// rehearse runs the write of f on the chip's twin, captured now, and says
// how it went. Before apply a write that goes wrong on the twin stops
// there: nothing is written to the chip.
func (a *app) rehearse(ctx context.Context, b *bench.Bench, tok bench.Token, sub string, f *obFlags, change bench.Change) error {
	fmt.Fprintln(a.stderr, "rehearsing: capturing the chip (read-only) and running the write on its twin first")
	r, err := b.Rehearse(ctx, tok, bench.ApplyRequest{Change: change, OverrideBrick: f.overrideBrick})
	if err != nil {
		return fmt.Errorf("%w (run without --rehearse to skip the rehearsal)", err)
	}
	fmt.Fprintln(a.stdout, r.Text())
	if len(r.Twin.Differs) > 0 {
		fmt.Fprintf(a.stdout, "note: the twin differs from the chip at %d places, where its family's model answers\n", len(r.Twin.Differs))
	}
	if r.Err != nil && sub == "apply" {
		var re *bench.RefusedError
		if errors.As(r.Err, &re) {
			return r.Err
		}
		return errors.New("the rehearsal on the twin went wrong: nothing was written to the chip")
	}
	return nil
}
