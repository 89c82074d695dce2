package bench

import (
	"bytes"
	"context"
	"errors"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stprobe/stprobe/boot"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/sweep"
	"github.com/stprobe/stprobe/statefile"
)

// openSimBench opens a simulated board and takes the lease for it.
func openSimBench(t testing.TB, scenario string, o Options) (*Bench, Token) {
	t.Helper()
	b, _, err := Open(context.Background(), Selector{Sim: scenario}, o)
	if err != nil {
		t.Fatalf("Open(%s): %v", scenario, err)
	}
	t.Cleanup(func() { b.Close() })
	tok, err := b.Acquire(Holder{Name: "tester"})
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	return b, tok
}

// smallPlan is a sweep of 12 cells.
var smallPlan = sweep.Plan{
	Modes:          []probe.ConnectMode{probe.ModeNormal, probe.ModeHotPlug, probe.ModeUnderReset},
	APs:            []uint8{0, 1},
	FrequenciesKHz: []int{4000, 100},
}

// done is a context that is already over: drain(done(), s) reads what s
// holds and returns.
func done() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// drain reads events until ctx ends and none is left, keeping them.
func drain(ctx context.Context, s *Subscription) []Event {
	var out []Event
	for {
		ev, err := s.Next(ctx)
		if err != nil {
			return out
		}
		out = append(out, ev)
	}
}

// outcomes lists the cells' outcomes in plan order.
func outcomes(m *sweep.Matrix) []sweep.Outcome {
	var out []sweep.Outcome
	for _, c := range m.Cells {
		out = append(out, c.Outcome)
	}
	return out
}

func TestSubscribersDoNotChangeTheSweep(t *testing.T) {
	for _, sc := range []string{"h533-provisioning", "h533-tz-closed-no-da"} {
		t.Run(sc, func(t *testing.T) {
			alone, tok := openSimBench(t, sc, Options{})
			want, err := alone.Sweep(context.Background(), tok, SweepRequest{Plan: smallPlan})
			if err != nil {
				t.Fatalf("sweep without subscribers: %v", err)
			}

			b, tok := openSimBench(t, sc, Options{})
			ctx, stop := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			live := make([][]Event, 2)
			for i := range live {
				_, s := b.Subscribe(0)
				wg.Add(1)
				go func() { defer wg.Done(); live[i] = drain(ctx, s) }()
			}
			const stalledSize = 4
			_, stalled := b.Subscribe(stalledSize)
			got, err := b.Sweep(context.Background(), tok, SweepRequest{Plan: smallPlan})
			if err != nil {
				t.Fatalf("sweep with subscribers: %v", err)
			}
			// every event is published before Sweep returns; the drains
			// read what is buffered, then stop
			stop()
			wg.Wait()

			if got.Matrix.Wire != want.Matrix.Wire {
				t.Errorf("modelled time with subscribers %v, without %v", got.Matrix.Wire, want.Matrix.Wire)
			}
			if !reflect.DeepEqual(outcomes(got.Matrix), outcomes(want.Matrix)) {
				t.Errorf("outcomes with subscribers %v, without %v", outcomes(got.Matrix), outcomes(want.Matrix))
			}
			seqs := func(evs []Event) []uint64 {
				var out []uint64
				for _, e := range evs {
					out = append(out, e.Meta().Seq)
				}
				return out
			}
			if !reflect.DeepEqual(seqs(live[0]), seqs(live[1])) {
				t.Errorf("the live subscribers saw different events")
			}
			cells := 0
			for i, e := range live[0] {
				if _, ok := e.(Dropped); ok {
					t.Errorf("a live subscriber was told it dropped events")
				}
				if i > 0 && e.Meta().Seq != live[0][i-1].Meta().Seq+1 {
					t.Errorf("event %d: seq %d after %d: a gap", i, e.Meta().Seq, live[0][i-1].Meta().Seq)
				}
				if _, ok := e.(SweepCell); ok {
					cells++
				}
			}
			events := 0 // a cell tried is announced, then done; an implied one only done
			for _, c := range got.Matrix.Cells {
				events += 2
				if c.ImpliedBy != nil {
					events--
				}
			}
			if cells != events {
				t.Errorf("live subscriber saw %d sweep-cell events, want %d", cells, events)
			}

			// the stalled subscriber is told how many it lost, then gets the newest
			first, err := stalled.Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			d, ok := first.(Dropped)
			if !ok {
				t.Fatalf("stalled subscriber's first event is %T, want Dropped", first)
			}
			if want := len(live[0]) - stalledSize; d.Count != want {
				t.Errorf("stalled subscriber dropped %d, want %d", d.Count, want)
			}
			var rest []Event
			for range stalledSize {
				ev, err := stalled.Next(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				rest = append(rest, ev)
			}
			if !reflect.DeepEqual(seqs(rest), seqs(live[0][len(live[0])-stalledSize:])) {
				t.Errorf("stalled subscriber kept %v, want the newest %v", seqs(rest), seqs(live[0][len(live[0])-stalledSize:]))
			}
		})
	}
}

// cancelAfter is a log hook that cancels after n probe transfers: it runs
// on the bench's goroutine, in the middle of a job, so the cancellation
// lands at the same step every run.
type cancelAfter struct {
	n      int
	cancel context.CancelFunc
}

func (h *cancelAfter) Levels() []logrus.Level { return []logrus.Level{logrus.TraceLevel} }
func (h *cancelAfter) Fire(*logrus.Entry) error {
	if h.n--; h.n == 0 {
		h.cancel()
	}
	return nil
}

func TestCancelledJobLeavesTheProbeClean(t *testing.T) {
	lg := logrus.New()
	lg.SetOutput(io.Discard)
	lg.SetLevel(logrus.TraceLevel)
	ctx, cancel := context.WithCancel(context.Background())
	b, tok := openSimBench(t, "h533-provisioning", Options{Log: lg})
	lg.AddHook(&cancelAfter{n: 60, cancel: cancel})
	res, err := b.Sweep(ctx, tok, SweepRequest{Plan: smallPlan})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled sweep: err %v, want context.Canceled", err)
	}
	if res == nil || !res.Matrix.Cancelled || res.Matrix.Count(sweep.OutcomeSkipped) == 0 {
		t.Fatalf("cancelled sweep: want a partial matrix, got %+v", res)
	}
	if b.Snapshot().Job != nil {
		t.Errorf("a job is still shown running after the cancelled sweep")
	}
	info, err := b.Info(context.Background(), tok, InfoRequest{Mode: probe.ModeHotPlug, AutoAP: true})
	if err != nil {
		t.Fatalf("info after the cancelled sweep: %v", err)
	}
	if !info.Connect.OK() {
		t.Errorf("info after the cancelled sweep failed at %q: %v", info.Connect.FailedStep, info.Connect.Err)
	}
	again, err := b.Sweep(context.Background(), tok, SweepRequest{Plan: smallPlan})
	if err != nil || again.Matrix.Count(sweep.OutcomeSkipped) != 0 {
		t.Errorf("the next sweep: err %v, skipped %d", err, again.Matrix.Count(sweep.OutcomeSkipped))
	}
}

func TestJobsNeedTheLease(t *testing.T) {
	b, _, err := Open(context.Background(), Selector{Sim: "h533-open"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Info(context.Background(), "", InfoRequest{}); err == nil || !strings.Contains(err.Error(), "nobody holds the probe") {
		t.Errorf("job with no lease held: err %v", err)
	}
	alice, err := b.Acquire(Holder{Name: "alice", Session: "ssh 1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Acquire(Holder{Name: "bob"})
	var le *LeaseError
	if !errors.As(err, &le) || le.Holder == nil || le.Holder.Name != "alice" || !strings.Contains(err.Error(), "alice") {
		t.Errorf("bob's Acquire while alice holds it: %v", err)
	}
	for _, tok := range []Token{"", "forged"} {
		_, err := b.ReadOptionBytes(context.Background(), tok, OBRequest{})
		if !errors.As(err, &le) || !strings.Contains(err.Error(), "alice") {
			t.Errorf("job with token %q: err %v, want a refusal naming alice", tok, err)
		}
	}
	if _, err := b.Info(context.Background(), alice, InfoRequest{Mode: probe.ModeHotPlug, AutoAP: true}); err != nil {
		t.Errorf("alice's job: %v", err)
	}
	bob, err := b.HandOver(alice, Holder{Name: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Info(context.Background(), alice, InfoRequest{}); !errors.As(err, &le) || le.Holder.Name != "bob" {
		t.Errorf("alice's job after the hand-over: %v", err)
	}
	if got := b.Snapshot().Lease; got == nil || got.Holder.Name != "bob" {
		t.Errorf("snapshot lease after hand-over: %+v", got)
	}
	if err := b.Release(alice); err == nil {
		t.Errorf("alice released bob's lease")
	}
	if err := b.Release(bob); err != nil {
		t.Errorf("bob's release: %v", err)
	}
	if b.Snapshot().Lease != nil {
		t.Errorf("lease still held after release")
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestLeaseLapsesWhenIdle(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	b, _, err := Open(context.Background(), Selector{Sim: "h533-open"}, Options{LeaseIdle: time.Minute, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, sub := b.Subscribe(0)
	alice, err := b.Acquire(Holder{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(50 * time.Second)
	if err := b.Touch(alice); err != nil {
		t.Fatalf("touch within the idle time: %v", err)
	}
	clock.Advance(50 * time.Second)
	if b.Snapshot().Lease == nil {
		t.Fatalf("lease lapsed 50 s after a touch with 1 min idle")
	}
	clock.Advance(11 * time.Second)
	if l := b.Snapshot().Lease; l != nil {
		t.Fatalf("lease still held after 61 s idle: %+v", l)
	}
	if _, err := b.Info(context.Background(), alice, InfoRequest{}); err == nil {
		t.Errorf("alice's job after her lease lapsed was not refused")
	}
	if _, err := b.Acquire(Holder{Name: "bob"}); err != nil {
		t.Errorf("bob could not take the lapsed lease: %v", err)
	}
	var reasons []string
	for _, ev := range drain(done(), sub) {
		if lc, ok := ev.(LeaseChanged); ok {
			reasons = append(reasons, lc.Reason)
		}
	}
	if len(reasons) != 3 || !strings.Contains(reasons[1], "lapsed") {
		t.Errorf("lease events: %q, want acquired, lapsed, acquired", reasons)
	}
}

func TestLateSubscriberSeesTheLiveState(t *testing.T) {
	b, tok := openSimBench(t, "h533-provisioning", Options{})
	_, early := b.Subscribe(0)
	ctx := context.Background()
	if _, err := b.Info(ctx, tok, InfoRequest{Mode: probe.ModeHotPlug, AutoAP: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Sweep(ctx, tok, SweepRequest{Plan: smallPlan}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ReadOptionBytes(ctx, tok, OBRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PlanOptionBytes(ctx, tok, Change{Assignments: []string{"TZEN=0xC3"}}); err != nil {
		t.Fatal(err)
	}
	late, _ := b.Subscribe(0)
	// the early subscriber's picture: the state of its last StateChanged
	var live Snapshot
	for _, ev := range drain(done(), early) {
		if sc, ok := ev.(StateChanged); ok {
			live = sc.State
		}
	}
	if !reflect.DeepEqual(late, live) {
		t.Errorf("late snapshot differs from the live state:\n late %+v\n live %+v", late, live)
	}
	if late.Matrix == nil || late.OptionBytes == nil || late.Plan == nil || !late.HasState || late.Chip == nil {
		t.Errorf("late snapshot is missing parts: matrix %v, ob %v, plan %v, state %v, chip %v",
			late.Matrix != nil, late.OptionBytes != nil, late.Plan != nil, late.HasState, late.Chip != nil)
	}
	if late.Lease == nil || late.Lease.Holder.Name != "tester" || late.Job != nil {
		t.Errorf("late snapshot lease %+v job %+v", late.Lease, late.Job)
	}
}

func TestJobsRunOneAtATime(t *testing.T) {
	b, tok := openSimBench(t, "h533-open", Options{})
	_, sub := b.Subscribe(0)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := b.Info(context.Background(), tok, InfoRequest{Mode: probe.ModeHotPlug, AutoAP: true}); err != nil {
				t.Errorf("info: %v", err)
			}
		}()
	}
	wg.Wait()
	running := 0
	for _, ev := range drain(done(), sub) {
		switch ev.(type) {
		case JobStarted:
			running++
			if running > 1 {
				t.Fatalf("two jobs ran at once")
			}
		case JobFinished:
			running--
		}
	}
}

func TestUnpluggedProbeIsReported(t *testing.T) {
	b, tok := openSimBench(t, "h533-open", Options{})
	b.Simulated().Inject(simUnplug())
	_, err := b.Info(context.Background(), tok, InfoRequest{})
	if !errors.Is(err, probe.ErrDisconnected) {
		t.Fatalf("info on an unplugged probe: %v", err)
	}
	s := b.Snapshot()
	if s.Gone == "" || !strings.Contains(s.Notice, "went away") {
		t.Errorf("snapshot after unplug: gone %q notice %q", s.Gone, s.Notice)
	}
	if _, err := b.Info(context.Background(), tok, InfoRequest{}); !errors.Is(err, probe.ErrDisconnected) {
		t.Errorf("a job after the unplug: %v", err)
	}
}

func TestBootProbeOnTheSimulatedBench(t *testing.T) {
	cases := []struct {
		scenario string
		answers  bool
	}{
		{"h533-provisioning", true},     // the ROM runs in PROVISIONING whatever BOOT0 says
		{"h533-tz-closed-no-da", false}, // closed: the chip boots its flash
		{"h533-locked", false},
	}
	for _, c := range cases {
		t.Run(c.scenario, func(t *testing.T) {
			b, tok := openSimBench(t, c.scenario, Options{})
			if _, err := b.Sweep(context.Background(), tok, SweepRequest{Plan: smallPlan}); err != nil {
				t.Fatal(err)
			}
			rep, err := b.BootProbe(context.Background(), tok, BootRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Results) != 2 {
				t.Fatalf("want both paths, got %+v", rep.Results)
			}
			for _, r := range rep.Results {
				if answered := r.Outcome == boot.Answered; answered != c.answers {
					t.Errorf("%s: %s", r.Path, r.Summary())
				}
			}
			if len(rep.Findings) == 0 {
				t.Errorf("no finding")
			}
			if b.Snapshot().Boot == nil {
				t.Errorf("the snapshot does not keep the boot report")
			}
		})
	}
}

func TestMemoryReadWrite(t *testing.T) {
	b, tok := openSimBench(t, "h533-open", Options{})
	ctx := context.Background()
	data := make([]byte, 16387) // unaligned length, crosses 1 KiB boundaries, three blocks
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := b.WriteMemory(ctx, tok, MemRequest{AutoAP: true, Addr: 0x20000003}, data); err != nil {
		t.Fatalf("write to SRAM: %v", err)
	}
	_, sub := b.Subscribe(0)
	got, err := b.ReadMemory(ctx, tok, MemRequest{AutoAP: true, Addr: 0x20000003, Len: len(data)})
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("read back differs from what was written")
	}
	progress := 0
	for _, ev := range drain(done(), sub) {
		if p, ok := ev.(ProbeProgress); ok && p.Job == "mem read" && p.Progress.Total > 0 {
			progress++
		}
	}
	if progress == 0 {
		t.Errorf("a 16 KiB read reported no progress")
	}
	for _, c := range []struct {
		addr uint32
		n    int
		want string
	}{
		{0x08000000, 16, "flash"},
		{0x0C000000, 16, "flash"},
		{0x40022000, 4, "not in the SRAM"},
		{0x20000000 + 272<<10 - 2, 4, "runs past the end"},
	} {
		err := b.WriteMemory(ctx, tok, MemRequest{AutoAP: true, Addr: c.addr}, make([]byte, c.n))
		if !errors.Is(err, ErrNotRAM) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("write at 0x%08X: %v, want a refusal saying %q", c.addr, err, c.want)
		}
	}
}

func TestApplyReopensADeadLink(t *testing.T) {
	b, tok := openSimBench(t, "h563-open", Options{})
	ctx := context.Background()
	// what the write path's Reopen hook does, as a job on the bench
	err := b.run(ctx, tok, "reopen", limitShort, func(ctx context.Context) error {
		_, err := b.reopenAP1(ctx)
		return err
	})
	if err != nil {
		t.Fatalf("reopen on the simulated bench: %v", err)
	}
	if _, err := b.ReadOptionBytes(ctx, tok, OBRequest{}); err != nil {
		t.Errorf("a job on the reopened link: %v", err)
	}
}

func TestAuditNamesTheLeaseHolderAndKey(t *testing.T) {
	b, _, err := Open(context.Background(), Selector{Sim: "h563-open"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	who := Holder{Name: "alice", Session: "ssh 127.0.0.1:5555", Fingerprint: "SHA256:abcdef"}
	tok, err := b.Acquire(who)
	if err != nil {
		t.Fatal(err)
	}
	ctx, dir := context.Background(), t.TempDir()
	pr, err := b.PlanOptionBytes(ctx, tok, Change{Assignments: []string{"NSBOOTADD=0x080100"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.ApplyOptionBytes(ctx, tok, ApplyRequest{Change: Change{Assignments: []string{"NSBOOTADD=0x080100"}}, Confirm: pr.Plan.Phrase, StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := statefile.ReadAudit(dir)
	if err != nil || len(recs) != 1 {
		t.Fatalf("audit: %v, %d records", err, len(recs))
	}
	if u := recs[0].User; !strings.Contains(u, "alice") || !strings.Contains(u, "SHA256:abcdef") {
		t.Errorf("audit user %q does not name the holder and the key", u)
	}
}

// With no probe chosen and none on USB the bench opens the simulated seed
// board and says why; that board takes reads and refuses every write, with
// the same error whichever face asks.
func TestFallbackBoardIsForLooking(t *testing.T) {
	ctx := context.Background()
	noUSB := func(context.Context) ([]probe.Info, error) { return nil, nil }
	b, notice, err := Open(ctx, Selector{}, Options{ListUSB: noUSB, LeaseIdle: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	snap := b.Snapshot()
	if notice == "" || snap.Fallback != "no ST-LINK found on USB" || !snap.Simulated {
		t.Fatalf("notice %q, fallback %q, simulated %v", notice, snap.Fallback, snap.Simulated)
	}
	tok, err := b.Acquire(Holder{Name: "t"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := b.ReadOptionBytes(ctx, tok, OBRequest{}); err != nil {
		t.Fatalf("reading the fall-back board: %v", err)
	}
	if _, err := b.ApplyOptionBytes(ctx, tok, ApplyRequest{Change: Change{Assignments: []string{"TZEN=0xC3"}}, Confirm: "apply", StateDir: dir}); !errors.Is(err, ErrFallbackBoard) {
		t.Errorf("ob apply on the fall-back board: %v, want ErrFallbackBoard", err)
	}
	if _, err := b.ApplyDA(ctx, tok, DAApplyRequest{Confirm: "yes", StateDir: dir}); !errors.Is(err, ErrFallbackBoard) {
		t.Errorf("a DA write on the fall-back board: %v, want ErrFallbackBoard", err)
	}
	if err := b.WriteMemory(ctx, tok, MemRequest{Addr: 0x20000000}, []byte{1, 2, 3, 4}); !errors.Is(err, ErrFallbackBoard) {
		t.Errorf("mem write on the fall-back board: %v, want ErrFallbackBoard", err)
	}
}
