package dapane

import (
	"context"
	"testing"
	"time"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/tui/internal/tuitest"
	"github.com/stprobe/stprobe/tui/writeflow"
)

// env is the DA pane driven on a simulated bench (see tuitest.Driver).
type env struct {
	*tuitest.Driver
	m *Model
	// testdata is the golden screens' directory (default "testdata").
	testdata string
}

// newEnv opens scenario on a simulated bench. With operator set the session
// holds the lease; otherwise it only observes, while another holder does.
func newEnv(t testing.TB, scenarioName string, operator bool, opts ...writeflow.Option) *env {
	t.Helper()
	b, _, err := bench.Open(context.Background(), bench.Selector{Sim: scenarioName}, bench.Options{Now: func() time.Time { return tuitest.Clock }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	e := &env{Driver: tuitest.NewDriver(t, b, operator)}
	if len(opts) == 0 {
		opts = []writeflow.Option{writeflow.WithStateDir(t.TempDir()), writeflow.WithSearchDirs()}
	}
	e.m = New(e.C, opts...)
	e.m.SetSize(80, 24)
	e.Pane = e.m
	return e
}

// golden compares the pane's view at w×h with testdata/name.golden.
func (e *env) golden(name string, w, h int) {
	e.T.Helper()
	dir := e.testdata
	if dir == "" {
		dir = "testdata"
	}
	e.GoldenScreen(name, w, h, dir)
}
