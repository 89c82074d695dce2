package cli

import (
	"context"

	"github.com/stprobe/stprobe/bench"
)

// followBuffer holds the events of one job for a command that shows them
// as they come; a trace log adds one event per probe transfer.
const followBuffer = 1 << 16

// follow runs job while handing every event the bench publishes meanwhile
// to show, on another goroutine; it returns once job has returned and
// every event it caused has been shown.
func follow(b *bench.Bench, show func(bench.Event), job func()) {
	followFrom(b, nil, show, job)
}

// followFrom is follow that first hands the state before the job to start
// (when not nil).
func followFrom(b *bench.Bench, start func(bench.Snapshot), show func(bench.Event), job func()) {
	snap, sub := b.Subscribe(followBuffer)
	if start != nil {
		start(snap)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			ev, err := sub.Next(context.Background())
			if err != nil {
				return
			}
			show(ev)
		}
	}()
	job()
	sub.Close()
	<-done
}
