package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stprobe/stprobe/obytes"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// buildStprobe builds the real stprobe binary (the module's main package)
// into a temporary directory and returns its path.
func buildStprobe(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "stprobe")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/stprobe/stprobe")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// simBoard is one simulated board behind a simulated stlink-server.
type simBoard struct {
	addr, serial string
	model        *stm32h5.Model
}

// newSimBoard serves a fresh board of the scenario on a loopback port;
// replies take their modelled time, so that a signal lands near the step
// whose progress line the test saw.
func newSimBoard(t *testing.T, name string) simBoard {
	t.Helper()
	sc, err := scenario.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	p := sc.NewProbe()
	return simBoard{addr: serveProbe(t, sim.CostOptions{Pace: true}, p), serial: p.Config().Serial, model: scenario.Model(p)}
}

// planOver plans args on the board (in process, through the server) and
// returns the plan ob apply will carry out.
func planOver(t *testing.T, b simBoard, dir string, args []string) *obytes.Plan {
	t.Helper()
	argv := append([]string{"--server", b.addr, "--probe", b.serial, "ob", "plan"}, args...)
	code, out, errOut := runCLI(t, append(argv, "--json", "--state-dir", dir)...)
	var pj obPlanJSON
	if err := json.Unmarshal([]byte(out), &pj); err != nil || code != 0 || pj.Plan == nil {
		t.Fatalf("plan %v: exit %d %v\n%s%s", args, code, err, out, errOut)
	}
	return pj.Plan
}

// progressRE matches an apply's progress line: "  [n/m] step: message".
var progressRE = regexp.MustCompile(`^\s*\[\d+/\d+\] (.*)$`)

// child is one stprobe process running ob apply.
type child struct {
	cmd   *exec.Cmd
	lines chan string   // progress and other lines, as the test reads them
	out   *lockedBuffer // everything read (stdout and stderr)
	done  chan struct{} // closed once the process ended
	err   error         // cmd.Wait's error, once done
	pipeR *os.File      // the read end the test may close (SIGPIPE)
}

// lockedBuffer is a strings.Builder safe for two goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(s)
	l.b.WriteByte('\n')
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startApply starts bin with args; stdout and stderr go to one pipe the
// test reads line by line (as `stprobe ... 2>&1 | head` would).
func startApply(t *testing.T, bin string, args []string) *child {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: exec.Command(bin, args...), lines: make(chan string, 1024), out: &lockedBuffer{}, done: make(chan struct{}), pipeR: r}
	c.cmd.Stdout, c.cmd.Stderr = w, w
	c.cmd.Env = append(os.Environ(), statefile.StateDirEnv+"="+t.TempDir()) // never the user's own
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			c.out.add(sc.Text())
			select {
			case c.lines <- sc.Text():
			default:
			}
		}
		close(c.lines)
	}()
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			_ = c.cmd.Process.Kill()
			<-c.done
		}
		r.Close()
	})
	return c
}

// waitStep waits for the progress line starting with step ("step#n": its
// n-th such line); false when the output ended without it.
func (c *child) waitStep(t *testing.T, step string) bool {
	t.Helper()
	timeout := time.After(time.Minute)
	nth := 1
	if i := strings.LastIndex(step, "#"); i >= 0 {
		if _, err := fmt.Sscanf(step[i+1:], "%d", &nth); err != nil {
			t.Fatalf("step %q", step)
		}
		step = step[:i]
	}
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				return false
			}
			if m := progressRE.FindStringSubmatch(l); m != nil && strings.HasPrefix(m[1], step) {
				if nth--; nth == 0 {
					return true
				}
			}
		case <-timeout:
			t.Fatalf("no progress line %q within a minute; output:\n%s", step, c.out)
		}
	}
}

// wait waits for the process to end (a minute at most) and returns its
// exit status; a process killed by a signal fails the test.
func (c *child) wait(t *testing.T, label string) int {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(time.Minute):
		_ = c.cmd.Process.Kill()
		<-c.done
		t.Fatalf("%s: still running a minute after the signal; output:\n%s", label, c.out)
	}
	// Drain what is left to read (nothing once the pipe was closed).
	for range c.lines {
	}
	st := c.cmd.ProcessState
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		t.Fatalf("%s: killed by %v instead of stopping cleanly; output:\n%s", label, ws.Signal(), c.out)
	}
	var ee *exec.ExitError
	if c.err != nil && !errors.As(c.err, &ee) {
		t.Fatalf("%s: %v", label, c.err)
	}
	return st.ExitCode()
}

// chipState is what the chip holds, read from the simulator's model.
type chipState struct {
	cur, prg map[string]uint32
	locked   bool
}

func readChip(t *testing.T, m *stm32h5.Model, l *obytes.Layout) chipState {
	t.Helper()
	m.Advance(time.Second) // a change still running completes
	s := chipState{cur: map[string]uint32{}, prg: map[string]uint32{}}
	for _, r := range l.Registers {
		cur, prg, ok := m.OptionRegister(r.Name)
		if !ok {
			t.Fatalf("the model has no %s", r.Name)
		}
		s.cur[r.Name], s.prg[r.Name] = cur, prg
	}
	optcr, err := m.AP(1).Read(obytes.FlashBase+targets.FlashOPTCR, chipsim.Word, 0)
	if err != nil {
		t.Fatalf("reading FLASH_OPTCR from the model: %v", err)
	}
	s.locked = optcr&targets.OPTCROptLock != 0
	return s
}

// armed reports a change staged in _PRG or an unlocked OPTCR.
func (s chipState) armed(l *obytes.Layout) bool {
	for _, r := range l.Registers {
		if !r.Direct && s.prg[r.Name] != s.cur[r.Name] {
			return true
		}
	}
	return !s.locked
}

// checkAfterChild asserts what issue 8 asks after an apply that a signal
// stopped: the chip is unchanged and locked, or changed and recorded; the
// journal and the audit log agree with the chip; nothing staged is
// reported as "not applied". It returns the outcome for the counts.
func checkAfterChild(t *testing.T, label string, b simBoard, p *obytes.Plan, dir string, code int, out string) string {
	t.Helper()
	l, err := obytes.ForDevID(p.DevID)
	if err != nil {
		t.Fatal(err)
	}
	s := readChip(t, b.model, l)
	resets := false
	for _, ph := range p.Phases {
		resets = resets || ph.Resets
	}
	want := map[string]uint32{}
	for _, r := range l.Registers {
		if (!r.Direct || !resets) && p.After[r.Name] != p.Before.Cur[r.Name] {
			want[r.Name] = p.After[r.Name]
		}
	}
	onChip := (&statefile.Journal{Want: want, Before: p.Before.Cur}).Outcome(s.cur)
	j, jerr := statefile.CheckChipJournal(dir, p.UID)
	if jerr != nil {
		t.Fatalf("%s: journal: %v", label, jerr)
	}
	recs, err := statefile.ReadAudit(dir)
	if err != nil {
		t.Fatalf("%s: audit log: %v", label, err)
	}
	var last statefile.AuditRecord
	if len(recs) > 0 {
		last = recs[len(recs)-1]
	}
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s: %s\nchip: cur %v prg %v locked %v\njournal: %+v\naudit: %+v\nexit %d, output:\n%s", label, fmt.Sprintf(format, args...), s.cur, s.prg, s.locked, j, recs, code, out)
	}
	if s.armed(l) {
		fail("the chip is left armed (a staged _PRG value or OPTCR unlocked)")
	}
	if code == 0 {
		if onChip != statefile.OutcomeApplied || j != nil || last.Result != "ok" || last.Outcome != statefile.OutcomeApplied {
			fail("exit 0 but the chip is %s", onChip)
		}
		return "finished: applied, audited ok"
	}
	if code != 1 {
		fail("exit %d, want 1 (stopped) or 0 (finished)", code)
	}
	if strings.Contains(out, "APPLIED.") {
		fail("says APPLIED but exits %d", code)
	}
	if j != nil && len(recs) > 0 && last.Outcome != j.State {
		fail("the journal says %q, the audit log %q", j.State, last.Outcome)
	}
	switch onChip {
	case statefile.OutcomeNotApplied:
		if j != nil && j.State != statefile.OutcomeNotApplied && j.State != statefile.OutcomeUndone {
			fail("the chip is unchanged and locked, the journal says %q", j.State)
		}
		switch last.Outcome {
		case "", statefile.OutcomeNotApplied, statefile.OutcomeUndone:
		default:
			fail("the chip is unchanged and locked, the audit log says %q", last.Outcome)
		}
		if last.Outcome == "" {
			return "unchanged and locked, nothing staged"
		}
		return "unchanged and locked, recorded as " + last.Outcome
	default:
		if j == nil || j.State != onChip || last.Outcome != onChip {
			fail("the chip is %s: it must be recorded so", onChip)
		}
		if strings.Contains(out, "nothing was") {
			fail("the chip is %s, the output says nothing was written or applied", onChip)
		}
		for name := range want {
			if after, ok := last.After[name]; ok && after != s.cur[name] {
				fail("audit after %s=0x%08X, chip 0x%08X", name, after, s.cur[name])
			}
		}
		return "changed (" + onChip + ") and recorded"
	}
}

// signalPlan is one write the suite stops with a signal at each step.
type signalPlan struct {
	scenario string
	args     []string
}

// TestSignalsDuringApply runs the real stprobe binary against a simulated
// stlink-server, stops its ob apply with SIGTERM, SIGHUP or SIGPIPE (the
// pipe its output goes to closed) right after each progress line, and
// checks the chip and the records after every run.
func TestSignalsDuringApply(t *testing.T) {
	bin := buildStprobe(t)
	plans := []signalPlan{
		{"h533-open", []string{"PRODUCT_STATE=0x17", "IWDG_SW=0"}},               // two phases; the second resets the chip
		{"h563-open", []string{"IWDG_STOP=0", "WRPSGn1=0xFE", "BOR_LEV=LEVEL2"}}, // several registers
	}
	steps := []string{
		"check:", "backup: saving", "backup: saved", "wait: waiting for the flash", "unlock:", "program:",
		"start:", "wait: waiting for the option change", "verify: checking",
		// the second phase, when there is one
		"unlock:#2", "program:#2", "start:#2", "wait: waiting for the option change#2", "reconnect:", "verify: checking#2",
		"verify: reading",
	}
	signals := []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE}
	if testing.Short() {
		steps = []string{"backup: saved", "program:", "start:", "program:#2"}
	}
	var mu sync.Mutex
	sent := map[string]int{}              // by signal
	outcomes := map[string]int{}          // by signal and outcome
	byStep := map[string]map[string]int{} // by step: outcome counts
	t.Run("runs", func(t *testing.T) {
		for _, sp := range plans {
			p := planOver(t, newSimBoard(t, sp.scenario), t.TempDir(), sp.args)
			resets := false
			for _, ph := range p.Phases {
				resets = resets || ph.Resets
			}
			for _, step := range steps {
				if strings.HasSuffix(step, "#2") && len(p.Phases) < 2 || step == "reconnect:" && !resets {
					continue // this write has no such step
				}
				for _, sig := range signals {
					label := fmt.Sprintf("%s %v, %s after %q", sp.scenario, sp.args, sigName(sig), step)
					t.Run(label, func(t *testing.T) {
						t.Parallel() // each run has its own board, server and state directory
						out, ok := runSignalled(t, bin, sp, step, sig, label)
						if !ok {
							t.Fatalf("%s: no progress line %q", label, step)
						}
						mu.Lock()
						defer mu.Unlock()
						sent[sigName(sig)]++
						outcomes[fmt.Sprintf("%s: %s", sigName(sig), out)]++
						key := fmt.Sprintf("%-40q", step)
						if byStep[key] == nil {
							byStep[key] = map[string]int{}
						}
						byStep[key][out]++
					})
				}
			}
		}
	})
	total := 0
	for _, n := range sent {
		total += n
	}
	t.Logf("%d runs, one signal each:\n%s", total, countLines(sent))
	t.Logf("outcomes by signal:\n%s", countLines(outcomes))
	steps2 := map[string]int{}
	for step, outs := range byStep {
		for out, n := range outs {
			steps2[step+" "+out] += n
		}
	}
	t.Logf("outcomes by the step after whose progress line the signal came:\n%s", countLines(steps2))
}

// sigName names the signals of the suite; SIGPIPE is raised by the child
// itself, writing to the pipe the test closed.
func sigName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGPIPE:
		return "SIGPIPE (pipe closed)"
	}
	return sig.String()
}

// runSignalled runs one apply and stops it with sig after the progress
// line step; false when the apply never printed that step.
func runSignalled(t *testing.T, bin string, sp signalPlan, step string, sig syscall.Signal, label string) (string, bool) {
	t.Helper()
	b := newSimBoard(t, sp.scenario)
	dir := t.TempDir()
	p := planOver(t, b, dir, sp.args)
	args := append([]string{"--server", b.addr, "--probe", b.serial, "ob", "apply"}, sp.args...)
	args = append(args, "--confirm", p.Phrase, "--state-dir", dir)
	if p.NeedsOverride {
		args = append(args, "--override-brick")
	}
	c := startApply(t, bin, args)
	if !c.waitStep(t, step) {
		code := c.wait(t, label)
		checkAfterChild(t, label+" (no signal)", b, p, dir, code, c.out.String())
		return "", false
	}
	if sig == syscall.SIGPIPE {
		c.pipeR.Close() // the reader went away: the next line written raises SIGPIPE
	} else if err := c.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	code := c.wait(t, label)
	return checkAfterChild(t, label, b, p, dir, code, c.out.String()), true
}

// countLines renders counts, one "name: n" a line, sorted.
func countLines(m map[string]int) string {
	lines := make([]string, 0, len(m))
	for k, v := range m {
		lines = append(lines, fmt.Sprintf("  %s: %d", k, v))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// gatedProxy relays TCP connections to an stlink-server. While its gate is
// closed, what the gated clients send is held, not forwarded (a stalled
// network); a client that closes its connection meanwhile loses what was
// held, and the server sees the close at once.
type gatedProxy struct {
	addr string
	// only, when not negative, gates the connection of that number only
	// (0: the first); the others always pass.
	only int
	// holdClose: a gated client's close reaches the server only when the
	// gate opens (the whole connection stalls, its end too).
	holdClose bool

	mu     sync.Mutex
	closed bool
}

func newGatedProxy(t *testing.T, to string, only int) *gatedProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedProxy{addr: ln.Addr().String(), only: only}
	var wg sync.WaitGroup
	var conns []net.Conn
	var cmu sync.Mutex
	t.Cleanup(func() {
		ln.Close()
		cmu.Lock()
		for _, c := range conns {
			c.Close()
		}
		cmu.Unlock()
		g.set(false)
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", to)
			if err != nil {
				c.Close()
				continue
			}
			cmu.Lock()
			conns = append(conns, c, s)
			cmu.Unlock()
			gated := g.only < 0 || g.only == n
			wg.Add(2)
			go func() { defer wg.Done(); g.relay(s, c, gated); s.Close() }()
			go func() { defer wg.Done(); _, _ = io.Copy(c, s); c.Close() }()
		}
	}()
	return g
}

// relay copies from src (the client) to dst (the server); a gated relay
// holds what comes while the gate is closed, and drops it when the client
// closes meanwhile (the caller then closes dst: the server sees the close).
func (g *gatedProxy) relay(dst, src net.Conn, gated bool) {
	chunks := make(chan []byte, 64)
	go func() {
		defer close(chunks)
		for {
			buf := make([]byte, 64<<10)
			n, err := src.Read(buf)
			if n > 0 {
				chunks <- buf[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	for chunk := range chunks {
		held := [][]byte{chunk}
		for gated && g.isClosed() {
			select {
			case next, ok := <-chunks:
				if !ok {
					for g.holdClose && g.isClosed() {
						time.Sleep(time.Millisecond)
					}
					return // the client went away: what was held is lost
				}
				held = append(held, next)
			case <-time.After(time.Millisecond):
			}
		}
		for _, c := range held {
			if _, err := dst.Write(c); err != nil {
				return
			}
		}
	}
}

// isClosed reports whether the gate is closed.
func (g *gatedProxy) isClosed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed
}

// set closes (true) or opens (false) the gate.
func (g *gatedProxy) set(closed bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = closed
}

// Two applies to the same chip at once, each its own stprobe process: the
// second is refused — without --share because the probe is in use, with
// --share by the chip's lock (ErrChipBusy's message) — and writes nothing;
// the first ends with the chip and the records in agreement (the second's
// reads through the shared probe may make it fail, never half-done).
func TestTwoAppliesSameChip(t *testing.T) {
	bin := buildStprobe(t)
	sc, err := scenario.Lookup("h563-open")
	if err != nil {
		t.Fatal(err)
	}
	pr := sc.NewProbe()
	b := simBoard{addr: serveProbe(t, sim.CostOptions{}, pr), serial: pr.Config().Serial, model: scenario.Model(pr)}
	dir := t.TempDir()
	change := []string{"IWDG_STOP=0"}
	p := planOver(t, b, dir, change)
	proxy := newGatedProxy(t, b.addr, -1)
	first := startApply(t, bin, append(append([]string{"--server", proxy.addr, "--probe", b.serial, "ob", "apply"}, change...), "--confirm", p.Phrase, "--state-dir", dir))
	if !first.waitStep(t, "backup: saved") {
		t.Fatalf("the first apply ended early:\n%s", first.out)
	}
	// The first apply holds the chip's lock; hold its next request too.
	proxy.set(true)
	// Without --share the second run does not even open the probe.
	noShare := exec.Command(bin, append(append([]string{"--server", b.addr, "--probe", b.serial, "ob", "apply"}, change...), "--confirm", p.Phrase, "--state-dir", dir)...)
	noShare.Env = append(os.Environ(), statefile.StateDirEnv+"="+t.TempDir())
	out, err := noShare.CombinedOutput()
	if code := noShare.ProcessState.ExitCode(); code != 1 || !strings.Contains(string(out), "already opened by another client") || !strings.Contains(string(out), "--share") {
		t.Errorf("the second apply without --share: exit %d %v\n%s", code, err, out)
	}
	second := exec.Command(bin, append(append([]string{"--server", b.addr, "--probe", b.serial, "--share", "ob", "apply"}, change...), "--confirm", p.Phrase, "--state-dir", dir)...)
	second.Env = append(os.Environ(), statefile.StateDirEnv+"="+t.TempDir())
	out, err = second.CombinedOutput()
	proxy.set(false)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), statefile.ErrChipBusy.Error()) || !strings.Contains(string(out), p.UID) {
		t.Errorf("the second apply: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "APPLIED") {
		t.Errorf("the second apply says it applied:\n%s", out)
	}
	code := first.wait(t, "first apply")
	outcome := checkAfterChild(t, "first apply", b, p, dir, code, first.out.String())
	t.Logf("second apply (--share): %s", lastLine(string(out)))
	t.Logf("first apply: exit %d, %s: %s", code, outcome, lastLine(first.out.String()))
	recs, _ := statefile.ReadAudit(dir)
	if len(recs) != 1 {
		t.Errorf("%d audit lines, want the first apply's only: %+v", len(recs), recs)
	}
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// A stalled stlink-server connection while the change is being staged
// (the connection's requests no longer reach the server): the request
// times out and the transport is dead; the apply must reopen the probe
// over a new connection, restore _PRG and set OPTLOCK, and say so.
func TestStallWhileStagingCLI(t *testing.T) {
	bin := buildStprobe(t)
	for _, tt := range []struct{ share, holdClose bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		share := tt.share
		label := fmt.Sprintf("stall after \"program:\", --share %v, close seen by the server only after the stall: %v", share, tt.holdClose)
		t.Run(label, func(t *testing.T) {
			t.Parallel()
			b := newSimBoard(t, "h533-open")
			dir := t.TempDir()
			change := []string{"PRODUCT_STATE=0x17"}
			p := planOver(t, b, dir, change)
			proxy := newGatedProxy(t, b.addr, 0) // the apply's first connection only
			proxy.holdClose = tt.holdClose
			args := []string{"--server", proxy.addr, "--probe", b.serial}
			if share {
				args = append(args, "--share")
			}
			args = append(append(append(args, "ob", "apply"), change...), "--confirm", p.Phrase, "--state-dir", dir)
			c := startApply(t, bin, args)
			if !c.waitStep(t, "program:") {
				t.Fatalf("no program step:\n%s", c.out)
			}
			proxy.set(true)
			code := c.wait(t, label)
			proxy.set(false)
			outcome := checkAfterChild(t, label, b, p, dir, code, c.out.String())
			t.Logf("%s: exit %d, %s: %s", label, code, outcome, lastLine(c.out.String()))
		})
	}
}
