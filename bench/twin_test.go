package bench

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/capture"
	"github.com/stprobe/stprobe/probe/sim/scenario"
)

// TestTwinRoundTrip: for every simulated board, capture → twin → capture
// gives the same file, header and timings aside, and the sweep's diagnosis
// on the twin is the original's.
func TestTwinRoundTrip(t *testing.T) {
	for _, name := range scenario.Names() {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			orig, err := CaptureSimulated(ctx, name, false)
			if err != nil {
				t.Fatal(err)
			}
			data, err := capture.Encode(orig)
			if err != nil {
				t.Fatal(err)
			}
			loaded, err := capture.Decode(data)
			if err != nil {
				t.Fatalf("the capture of %s does not decode: %v", name, err)
			}
			tw, err := NewTwin(ctx, loaded, name+".json")
			if err != nil {
				t.Fatal(err)
			}
			if len(tw.Differs) > 0 {
				t.Fatalf("the twin of %s differs:\n%s", name, strings.Join(tw.Differs, "\n"))
			}
			again, err := captureScenario(ctx, tw.Scenario, false)
			if err != nil {
				t.Fatal(err)
			}
			a, _ := capture.Encode(capture.Comparable(orig))
			b, _ := capture.Encode(capture.Comparable(again))
			if string(a) != string(b) {
				t.Errorf("capture → twin → capture differs:\n%s", strings.Join(capture.Diff(orig, again), "\n"))
			}
			if orig.Sweep == nil || !reflect.DeepEqual(orig.Sweep.Findings, again.Sweep.Findings) {
				t.Errorf("diagnosis: original %q, twin %q", orig.Sweep.Findings, again.Sweep.Findings)
			}
		})
	}
}
