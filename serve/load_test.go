package serve

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	gossh "golang.org/x/crypto/ssh"

	"github.com/stprobe/stprobe/bench"
)

// observer is one in-process SSH client with a terminal, keeping its
// screen output and when each chunk of it arrived.
type observer struct {
	mu     sync.Mutex
	out    []byte
	ends   []int       // ends[i] is the length of out after the i-th read
	reads  []time.Time // when the i-th read arrived
	client *gossh.Client

	// followed by poll
	scr    *vtScreen
	fed    int // bytes of out the screen followed
	read   int // reads whose screen was looked at
	frames []matrixFrame
	done   int // sweeps whose end the screen showed
}

func (o *observer) Write(p []byte) (int, error) {
	o.mu.Lock()
	o.out = append(o.out, p...)
	o.ends = append(o.ends, len(o.out))
	o.reads = append(o.reads, time.Now())
	o.mu.Unlock()
	return len(p), nil
}

// matrixFrame is what the screen showed after a read: how many cells of
// the running sweep were done, and how many sweeps the screen showed over
// (the notice the benchmark sends after each sweep follows the sweep's
// events on the bench's stream: a frame that shows it shows the whole
// sweep).
type matrixFrame struct {
	at       time.Time
	sweeps   int // sweeps the screen showed finished so far
	sweeping bool
	cells    int // cells done in the running sweep
}

// sweepLine finds the matrix's progress line (" sweeping ███░░ 12/30").
var sweepLine = regexp.MustCompile(`sweeping [█░]+ (\d+)/(\d+)`)

// sweepOver finds the notice the benchmark sends after each sweep.
var sweepOver = regexp.MustCompile(`benchmark: sweep (\d+) over`)

// poll follows the output received since the last poll on the observer's
// screen and notes what the matrix pane showed after each read.
func (o *observer) poll() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.scr == nil {
		o.scr = newVTScreen(100, 30)
	}
	for ; o.read < len(o.reads); o.read++ {
		end := o.ends[o.read]
		o.fed += o.scr.write(o.out[o.fed:end])
		f := matrixFrame{at: o.reads[o.read]}
		for y := range o.scr.h {
			l := o.scr.line(y)
			if m := sweepLine.FindStringSubmatch(l); m != nil {
				f.sweeping = true
				f.cells, _ = strconv.Atoi(m[1])
			}
			if m := sweepOver.FindStringSubmatch(l); m != nil {
				n, _ := strconv.Atoi(m[1])
				o.done = max(o.done, n)
			}
		}
		f.sweeps = o.done
		if n := len(o.frames); n == 0 || o.frames[n-1].sweeps != f.sweeps || o.frames[n-1].sweeping != f.sweeping || o.frames[n-1].cells != f.cells {
			o.frames = append(o.frames, f)
		}
	}
}

// sweepsShown is how many sweeps the observer's screen showed finished.
func (o *observer) sweepsShown() int {
	o.poll()
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.done
}

// shownAt is when the first frame after t showing cell n (1-based) of
// sweep k (1-based) done arrived: the sweep's progress at n or more, or
// the sweep over (a frame that showed the sweep's last state without
// the notice yet is not counted: the delay is then overstated, never
// understated).
func (o *observer) shownAt(t time.Time, k, n int) (time.Time, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, f := range o.frames {
		if f.at.Before(t) {
			continue
		}
		if f.sweeps >= k || f.sweeps == k-1 && f.sweeping && f.cells >= n {
			return f.at, true
		}
	}
	return time.Time{}, false
}

func (o *observer) received() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.out)
}

// dialObserver opens a session with a 100×30 terminal running the console.
func dialObserver(tb testing.TB, addr string, signer gossh.Signer) *observer {
	tb.Helper()
	cfg := &gossh.ClientConfig{User: "observer", Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second}
	c, err := gossh.Dial("tcp", addr, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := c.NewSession()
	if err != nil {
		tb.Fatal(err)
	}
	o := &observer{client: c}
	s.Stdout = o
	s.Stderr = io.Discard
	if err := s.RequestPty("xterm-256color", 30, 100, gossh.TerminalModes{}); err != nil {
		tb.Fatal(err)
	}
	if err := s.Shell(); err != nil {
		tb.Fatal(err)
	}
	return o
}

// BenchmarkObservers holds 20 observer sessions on one bench while the
// operator (the benchmark, holding the lease) runs a full sweep, and reports
// the memory each session costs and the delay between a sweep cell
// finishing on the bench and the observers receiving the frame that shows
// it (the observer's terminal screen is followed: the frame that shows
// the matrix's progress at that cell, or the sweep over), and the
// process's CPU time per cell and session (the observers' own screens
// included). Each sweep starts once every observer showed the last one
// over. Goals: at most 10 MB a session, at most
// 50 ms of delay.
func BenchmarkObservers(b *testing.B) {
	const sessions = 20
	pubKey, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	signer, _ := gossh.NewSignerFromKey(priv)
	sshPub, _ := gossh.NewPublicKey(pubKey)
	line := RoleOption + " " + string(gossh.MarshalAuthorizedKey(sshPub))
	ts := startServer(b, []string{line}, Config{MaxSessions: sessions + 1, Rate: 1000, Burst: 1000}, func(ctx context.Context, bb *bench.Bench, who bench.Holder, observer bool, env []string) tea.Model {
		return countingModel{realConsole(ctx, bb, who, observer, env)}
	})
	bch := ts.srv.cfg.Bench
	tok, err := bch.Acquire(bench.Holder{Name: "operator"})
	if err != nil {
		b.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", ts.port)

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	obs := make([]*observer, sessions)
	for i := range obs {
		obs[i] = dialObserver(b, addr, signer)
	}
	defer func() {
		for _, o := range obs {
			o.client.Close()
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for _, o := range obs {
		for o.received() < 1000 {
			if time.Now().After(deadline) {
				b.Fatalf("an observer never drew its console")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perSession := float64(after.HeapAlloc-min(before.HeapAlloc, after.HeapAlloc)) / sessions / (1 << 20)

	_, sub := bch.Subscribe(0)
	defer sub.Close()
	type cell struct {
		at       time.Time
		sweep, n int
	}
	var cells []cell
	now, stop := context.WithCancel(context.Background())
	stop()
	cpu0 := cpuTime()
	viewCalls.Store(0)
	updateCalls.Store(0)
	b.ResetTimer()
	for k := 1; k <= b.N; k++ {
		if _, err := bch.Sweep(context.Background(), tok, bench.SweepRequest{Full: true}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		bch.Notify(fmt.Sprintf("benchmark: sweep %d over", k))
		for {
			ev, err := sub.Next(now)
			if err != nil {
				break
			}
			if c, ok := ev.(bench.SweepCell); ok && c.Progress.Done {
				cells = append(cells, cell{c.Meta().Time, k, c.Progress.Index + 1})
			}
		}
		// the next sweep starts once every observer showed this one over
		wait := time.Now().Add(10 * time.Second)
		for _, o := range obs {
			for o.sweepsShown() < k {
				if time.Now().After(wait) {
					o.mu.Lock()
					b.Logf("screen:\n%s\nunknown %v frames %d", o.scr.text(), o.scr.unknown, len(o.frames))
					o.mu.Unlock()
					b.Fatalf("an observer never showed sweep %d over", k)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		b.StartTimer()
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	var delays []time.Duration
	missed := 0
	for _, o := range obs {
		for _, c := range cells {
			if got, ok := o.shownAt(c.at, c.sweep, c.n); ok {
				delays = append(delays, got.Sub(c.at))
			} else {
				missed++
			}
		}
	}
	for _, o := range obs {
		o.poll()
		if len(o.scr.unknown) > 0 {
			b.Errorf("the observer's terminal did not follow %v: the delays may be wrong", o.scr.unknown)
			break
		}
	}
	if missed > 0 {
		b.Errorf("%d of %d cells never reached an observer's screen", missed, len(cells)*len(obs))
	}
	if len(delays) == 0 {
		b.Fatal("no observer saw a sweep cell")
	}
	slices.Sort(delays)
	reads := 0
	for _, o := range obs {
		reads += len(o.reads)
	}
	b.ReportMetric(float64(viewCalls.Load())/float64(b.N*sessions), "views/sweep/session")
	b.ReportMetric(float64(updateCalls.Load())/float64(b.N*sessions), "updates/sweep/session")
	b.ReportMetric(float64(reads)/float64(b.N*sessions), "reads/sweep/session")
	b.ReportMetric(perSession, "MB/session")
	b.ReportMetric(float64(delays[len(delays)/2].Microseconds())/1000, "ms-delay-p50")
	b.ReportMetric(float64(delays[len(delays)*95/100].Microseconds())/1000, "ms-delay-p95")
	b.ReportMetric(float64(delays[len(delays)-1].Microseconds())/1000, "ms-delay-max")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(len(cells)*sessions), "ms-cpu/cell/session")
}
