package bench

import (
	"context"
	"time"

	"github.com/stprobe/stprobe/guarded"
)

// write is one guarded write as the bench schedules it.
type write struct {
	// job is the job's kind ("ob apply", "da regress"): IsWriteJob knows it.
	job   string
	limit time.Duration
	// confirm is what the user gave; stateDir where the write is recorded.
	confirm  guarded.Confirmation
	stateDir string
	// step makes the bench event of one of the write's steps.
	step func(EventMeta, guarded.Event) Event
	// build makes the write on the bench's goroutine (its plan reads the
	// chip), for the lease holder and the probe rec names.
	build func(rec guarded.Recorder) guarded.Write
	// done, when set, runs once the write was recorded, still on the
	// bench's goroutine: it publishes the result in the snapshot.
	done func(ctx context.Context, out *guarded.Outcome, err error)
}

// guardedWrite is the one runner of every guarded write: the fallback
// board refuses it; then, as one job under the caller's lease, it plans,
// checks the confirmation against the plan (guarded.Check), backs up,
// executes with each step published as an event, appends the audit line
// naming the lease holder, and updates the snapshot.
func (b *Bench) guardedWrite(ctx context.Context, t Token, w write) (*guarded.Outcome, error) {
	if err := b.checkWritable(w.job); err != nil {
		return nil, err
	}
	who := b.holderName(t)
	var out *guarded.Outcome
	err := b.run(ctx, t, w.job, w.limit, func(ctx context.Context) error {
		rec := guarded.Recorder{Dir: w.stateDir, User: who, ProbeSerial: b.Snapshot().Probe.Serial, Now: b.now}
		emit := func(e guarded.Event) { b.publish(func(m EventMeta) Event { return w.step(m, e) }) }
		var err error
		out, err = guarded.Run(ctx, w.build(rec), w.confirm, rec, emit)
		if w.done != nil {
			w.done(ctx, out, err)
		}
		return err
	})
	return out, err
}

// applyStep is the event of a step of an option-byte write.
func applyStep(m EventMeta, e guarded.Event) Event { return ApplyStep{EventMeta: m, Step: e} }

// daStep is the event of a step of a DA write.
func daStep(m EventMeta, e guarded.Event) Event { return DAStep{EventMeta: m, Step: e} }
