package sweep

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/sim/scenario"
)

// minimalCost is the modelled wire time of the bare protocol of one cell:
// a probe.Connect and a probe.Disconnect with the same options on a fresh
// simulated bench, nothing else (no identification reads, no resume).
func minimalCost(t testing.TB, sc scenario.Scenario, k Key) time.Duration {
	t.Helper()
	ctx := context.Background()
	sp := sc.NewProbe()
	l, err := probe.NewLink(ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	before := sp.Stats().Wire
	if _, err := probe.Connect(ctx, l, probe.ConnectOptions{Mode: k.Mode, AP: k.AP, FrequencyKHz: k.KHz}); err != nil {
		t.Fatal(err)
	}
	if err := probe.Disconnect(ctx, l); err != nil {
		t.Fatal(err)
	}
	return sp.Stats().Wire - before
}

// sweepCost runs a full sweep (every cell tried) on a fresh bench and returns its modelled
// wire time and the sum of its cells' minimal costs.
func sweepCost(t testing.TB, name string) (sweep, minimal time.Duration, m *Matrix) {
	t.Helper()
	sc, err := scenario.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sp := sc.NewProbe()
	l, err := probe.NewLink(ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	before := sp.Stats().Wire
	m, err = Run(ctx, l, Plan{}, Options{Full: true, WireClock: func() time.Duration { return sp.Stats().Wire }})
	if err != nil {
		t.Fatal(err)
	}
	sweep = sp.Stats().Wire - before
	for _, c := range m.Cells {
		minimal += minimalCost(t, sc, c.Key)
	}
	return sweep, minimal, m
}

// The sweep costs no more than the bare protocol of its cells run apart:
// what it adds (identification reads, the resume of a halted core) is paid
// for by what later cells do not repeat (the clock already set, DPIDR and
// the power-up after ENTER, an AP's IDR, identification an earlier cell on
// the same port read). Everything it spends is on the wire; cells account
// for all of it.
func TestSweepCostNearProtocolMinimum(t *testing.T) {
	for _, name := range []string{"h533-open", "h533-provisioning", "h533-tz-closed-no-da", "no-target", "sleepy"} {
		sweep, minimal, m := sweepCost(t, name)
		var cells time.Duration
		for _, c := range m.Cells {
			cells += c.Wire
		}
		// A DA discovery after the cells (closed boards) is accounted
		// apart; it is not part of a cell's protocol.
		if d := m.Discovery; d != nil {
			if d.Wire <= 0 || d.Wire > 500*time.Millisecond {
				t.Errorf("%s: DA discovery cost %v on the wire", name, d.Wire)
			}
			sweep -= d.Wire
		}
		if cells != sweep || m.Wire != sweep {
			t.Errorf("%s: cells account for %v, matrix %v, probe %v", name, cells, m.Wire, sweep)
		}
		if minimal <= 0 || sweep <= 0 || sweep > minimal {
			t.Errorf("%s: sweep %v against a protocol minimum of %v (%.2fx)", name, sweep, minimal, float64(sweep)/float64(minimal))
		}
		t.Logf("%s: sweep %v, protocol minimum %v (%.3fx)", name, sweep, minimal, float64(sweep)/float64(minimal))
	}
}

// BenchmarkDefaultSweep reports the modelled wire time of a full default
// sweep (3 modes x AP0, AP1 x 5 frequencies on an ST-LINK/V2) against the
// sum of each cell's minimal protocol cost.
func BenchmarkDefaultSweep(b *testing.B) {
	for _, name := range []string{"h533-open", "h533-provisioning", "no-target"} {
		b.Run(name, func(b *testing.B) {
			var sweep, minimal time.Duration
			for b.Loop() {
				sweep, minimal, _ = sweepCost(b, name)
			}
			b.ReportMetric(sweep.Seconds()*1000, "wire-ms/sweep")
			b.ReportMetric(minimal.Seconds()*1000, "min-wire-ms/sweep")
			b.ReportMetric(float64(sweep)/float64(minimal), "x-minimum")
		})
	}
}

// The package never waits on the wall clock: no sleeps, timers or tickers
// outside tests. Time bounds come from contexts only.
func TestNoFixedWaits(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "time" {
				switch sel.Sel.Name {
				case "Sleep", "After", "Tick", "NewTimer", "NewTicker", "AfterFunc":
					t.Errorf("%s: time.%s: the sweep must not wait on the wall clock", fset.Position(sel.Pos()), sel.Sel.Name)
				}
			}
			return true
		})
	}
}
