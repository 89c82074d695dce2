package serve

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"net"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/stprobe/stprobe/bench"
)

// observer is one in-process SSH client with a terminal, noting when each
// chunk of screen output arrives.
type observer struct {
	mu     sync.Mutex
	reads  []time.Time
	bytes  int
	client *gossh.Client
}

func (o *observer) Write(p []byte) (int, error) {
	o.mu.Lock()
	o.reads = append(o.reads, time.Now())
	o.bytes += len(p)
	o.mu.Unlock()
	return len(p), nil
}

// firstReadAfter is when the first output after t arrived.
func (o *observer) firstReadAfter(t time.Time) (time.Time, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	i, _ := slices.BinarySearchFunc(o.reads, t, func(a, b time.Time) int { return a.Compare(b) })
	if i == len(o.reads) {
		return time.Time{}, false
	}
	return o.reads[i], true
}

func (o *observer) received() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.bytes
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
// finishing on the bench and the observers' screens changing. Goals: at most
// 10 MB a session, at most 50 ms of delay.
func BenchmarkObservers(b *testing.B) {
	const sessions = 20
	pubKey, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	signer, _ := gossh.NewSignerFromKey(priv)
	sshPub, _ := gossh.NewPublicKey(pubKey)
	line := RoleOption + " " + string(gossh.MarshalAuthorizedKey(sshPub))
	ts := startServer(b, []string{line}, Config{MaxSessions: sessions + 1, Rate: 1000, Burst: 1000}, realConsole)
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
	var cells []time.Time
	b.ResetTimer()
	for range b.N {
		if _, err := bch.Sweep(context.Background(), tok, bench.SweepRequest{Full: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	time.Sleep(200 * time.Millisecond) // let the last frames arrive
	now, stop := context.WithCancel(context.Background())
	stop()
	for {
		ev, err := sub.Next(now)
		if err != nil {
			break
		}
		if c, ok := ev.(bench.SweepCell); ok && c.Progress.Done {
			cells = append(cells, c.Meta().Time)
		}
	}
	var delays []time.Duration
	for _, at := range cells {
		for _, o := range obs {
			if got, ok := o.firstReadAfter(at); ok {
				delays = append(delays, got.Sub(at))
			}
		}
	}
	if len(delays) == 0 {
		b.Fatal("no observer saw a sweep cell")
	}
	slices.Sort(delays)
	b.ReportMetric(perSession, "MB/session")
	b.ReportMetric(float64(delays[len(delays)/2].Microseconds())/1000, "ms-delay-p50")
	b.ReportMetric(float64(delays[len(delays)*95/100].Microseconds())/1000, "ms-delay-p95")
	b.ReportMetric(float64(delays[len(delays)-1].Microseconds())/1000, "ms-delay-max")
}
