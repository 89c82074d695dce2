package obpane

import (
	"context"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/tui/internal/tuitest"
	"github.com/stprobe/stprobe/tui/writeflow"
)

// env is the option-byte pane driven on a simulated bench (see
// tuitest.Driver), with the pane's state directory.
type env struct {
	*tuitest.Driver
	m   *Model
	dir string
}

// newEnv opens scenario on a simulated bench. With operator set the session
// holds the lease; otherwise it only observes, while another holder does.
func newEnv(t testing.TB, scenarioName string, operator bool) *env {
	t.Helper()
	return newEnvDir(t, scenarioName, operator, t.TempDir())
}

// goldenStateDir is the state directory of golden screens: fixed, so that
// the screens do not depend on the temporary directory's name. Nothing is
// written there (golden tests do not apply).
const goldenStateDir = "/state"

// newEnvDir is newEnv with a state directory.
func newEnvDir(t testing.TB, scenarioName string, operator bool, dir string, opts ...writeflow.Option) *env {
	t.Helper()
	b, _, err := bench.Open(context.Background(), bench.Selector{Sim: scenarioName}, bench.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	e := &env{Driver: tuitest.NewDriver(t, b, operator), dir: dir}
	e.m = New(e.C, append([]writeflow.Option{writeflow.WithStateDir(dir), writeflow.WithSearchDirs()}, opts...)...)
	e.m.SetSize(80, 24)
	e.Pane = e.m
	return e
}

// Keys sends key presses as tuitest.Driver.Keys does, with two helpers
// that stand for navigation: "select:FIELD" selects a field of the table,
// "choose:VALUE" moves the open chooser to a value with up and down keys.
func (e *env) Keys(ks ...string) {
	for _, k := range ks {
		if name, ok := strings.CutPrefix(k, "select:"); ok {
			e.m.selectField(name)
			continue
		}
		if name, ok := strings.CutPrefix(k, "choose:"); ok {
			e.choose(name)
			continue
		}
		e.Driver.Keys(k)
	}
}

// choose moves the open value chooser to the value called name.
func (e *env) choose(name string) {
	e.T.Helper()
	if e.m.edit == nil || e.m.edit.input != nil {
		e.T.Fatalf("choose:%s: no value chooser open", name)
	}
	for i, v := range e.m.edit.values {
		if v.Name == name {
			for range e.m.edit.values {
				e.Keys("up")
			}
			for range i {
				e.Keys("down")
			}
			return
		}
	}
	e.T.Fatalf("choose:%s: not offered", name)
}

// golden compares the pane's view at w×h with testdata/name.golden.
func (e *env) golden(name string, w, h int) {
	e.T.Helper()
	e.GoldenScreen(name, w, h, "testdata")
}

// model is the simulated chip, to look at it behind the bench's back.
func (e *env) model() *stm32h5.Model { return scenario.Model(e.B.Simulated()) }
