package tui

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/tui/internal/tuitest"
)

// holdAt is a log hook that stops the bench's goroutine on the first probe
// transfer whose OUT data holds match, until release is closed: a write
// caught at the same step every run.
type holdAt struct {
	match   string
	once    sync.Once
	hit     chan struct{}
	release chan struct{}
}

func (h *holdAt) Levels() []logrus.Level { return []logrus.Level{logrus.TraceLevel} }
func (h *holdAt) Fire(e *logrus.Entry) error {
	if out, _ := e.Data["out"].(string); strings.Contains(out, h.match) {
		h.once.Do(func() {
			close(h.hit)
			<-h.release
		})
	}
	return nil
}

// A write held after the option-byte keys are written (the registers
// unlocked, so something is staged): q asks first, n keeps going, q and y
// cancel it; the console quits once the bench has undone it, and says so in
// the session's exit error. The chip keeps its option bytes.
func TestQuitDuringWriteAsksUndoesAndFails(t *testing.T) {
	lg := logrus.New()
	lg.SetOutput(io.Discard)
	lg.SetLevel(logrus.TraceLevel)
	// the second OPTKEYR key, as the probe sends it (little-endian)
	h := &holdAt{match: "7f 6e 5d 4c", hit: make(chan struct{}), release: make(chan struct{})}
	lg.AddHook(h)
	b, _, err := bench.Open(context.Background(), bench.Selector{Sim: tuitest.Seed}, bench.Options{Log: lg, LeaseIdle: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	m := console(t, b, "alice", 80, 24, Options{NoIdentify: true})
	ctx, tok := context.Background(), m.c.Token()
	ch := bench.Change{Assignments: []string{"TZEN=0xC3"}}
	pr, err := b.PlanOptionBytes(ctx, tok, ch)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := b.ApplyOptionBytes(ctx, tok, bench.ApplyRequest{Change: ch, Confirm: pr.Plan.Phrase, StateDir: t.TempDir()})
		done <- err
	}()
	<-h.hit
	pump(m)
	if m.ownWrite() == nil {
		t.Fatal("the console does not see its own write running")
	}
	press(m, "q")
	if !m.quitAsk || m.closed || !strings.Contains(tuitest.Plain(m.Render()), "Quit while the ob apply runs?") {
		t.Fatalf("q during a write did not ask:\n%s", tuitest.Plain(m.Render()))
	}
	press(m, "n")
	if m.quitAsk || m.closed || m.quitting != nil {
		t.Fatal("n did not keep the write going")
	}
	press(m, "q")
	press(m, "y")
	if m.quitting == nil || m.closed {
		t.Fatalf("y did not cancel the write and wait: %q", m.status)
	}
	close(h.release)
	applyErr := <-done
	if !errors.Is(applyErr, context.Canceled) {
		t.Fatalf("the write was not cancelled: %v", applyErr)
	}
	pump(m)
	var wi *WriteInterruptedError
	if !m.closed || !errors.As(m.ExitErr(), &wi) {
		t.Fatalf("the console did not quit with the write's outcome: closed %v, %v", m.closed, m.ExitErr())
	}
	if wi.Kind != "ob apply" || wi.Outcome != "cancelled: staged and undone (nothing was applied)" {
		t.Errorf("exit: %v", wi)
	}
	if !strings.Contains(wi.Error(), "quit during the ob apply: cancelled: staged and undone") {
		t.Errorf("what the exit prints: %v", wi)
	}
	// the chip holds what it held: TrustZone on
	tok2, err := b.Acquire(bench.Holder{Name: "bob", Session: "check"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := b.ReadOptionBytes(ctx, tok2, bench.OBRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if tz := o.Field("TZEN"); tz == nil || targets.TZEN(tz.Raw) != targets.TZENEnabled {
		t.Errorf("TZEN after the undone write: %v", tz)
	}
}
