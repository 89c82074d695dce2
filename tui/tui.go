// Package tui is the console: a Bubble Tea program that follows a bench's
// events, draws its state (header, matrix, option bytes, debug
// authentication, log) and submits jobs to it on behalf of one session.
//
// The root Model owns the session's common.Context, routes keys and mouse
// clicks to the focused pane and everything else to every pane, and turns
// the bench's event stream into messages. New builds one per session (the
// SSH server calls it with the session's environment); Run runs one on the
// local terminal.
package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/tui/common"
	"github.com/stprobe/stprobe/tui/header"
)

// Options tune a console session. The zero value is usable.
type Options struct {
	// Env is the session's environment (NO_COLOR is honoured). Run uses the
	// process's environment when nil; over SSH pass the client's (the
	// program also reports it as a tea.EnvMsg, which the model honours).
	Env []string
	// Light starts with colours for a light background; the terminal's
	// answer to the background-colour query replaces the guess.
	Light bool
	// ReadOnly sessions observe and never take the operator lease.
	ReadOnly bool
	// NoIdentify skips the identification job (a Hot Plug info job) the
	// console runs at start when it holds the lease and no chip is known.
	NoIdentify bool
	// StateDir is where option-byte backups, the audit log and the
	// pending-write journal live (the option-byte pane's default when "").
	StateDir string
	// ProgramOptions are added to the program Run starts (input, output,
	// window size, colour profile).
	ProgramOptions []tea.ProgramOption
}

// Model is the console's root model for one session.
type Model struct {
	c      *common.Context
	opts   Options
	keys   keyMap
	panes  []common.Pane
	focus  int
	sub    *bench.Subscription
	ctx    context.Context
	cancel context.CancelFunc

	help     help.Model
	showHelp bool
	spin     spinner.Model
	spinning bool
	asker    *bench.Holder // the session that last asked this one for the probe

	status    string
	statusErr bool
	statusSeq int
	statusFor time.Duration // how long a footer message stays (0: until replaced)
	progress  string        // the running job's progress ("cell 12/30")
	percent   int           // the same in percent, -1 when not known
	ended     string        // why the event stream ended
	closed    bool

	// quitAsk is set while the console asks whether to quit during this
	// session's own write; quitting is that write once the user insisted
	// (the console quits when the bench has stopped it); exitErr is how
	// the session ended when a write did not finish.
	quitAsk  bool
	quitting *bench.JobInfo
	exitErr  error
	// the last rendered screen, redrawn at most once a frame (see View)
	frame        tea.View
	frameAt      time.Time
	frameStale   bool // something changed since frame was drawn
	framePending bool // a frameMsg is on its way
	now          func() time.Time

	width, height int
	headerLines   []string
	headerStale   bool   // the snapshot changed: layout before drawing
	headerKey     string // what headerLines were drawn from
	tabCache      tabKey
	tabDrawn      string
	footerKey     string // what footerDrawn shows
	footerDrawn   string
	paneTop       int // first screen row of the pane area
	paneH         int
	tabs          []tabSpan
}

// tabSpan is where a tab is drawn in the tab bar, for mouse clicks.
type tabSpan struct{ x0, x1 int }

// Messages private to the root model.
type (
	eventsMsg      []bench.Event
	streamEndedMsg struct{ err error }
	clearStatusMsg struct{ seq int }
	frameMsg       struct{} // time to draw the changes held back
)

// frameEvery is the shortest time between two drawings of the screen: the
// program asks for the view after every message, and a burst of bench
// events (a sweep) would otherwise draw the whole screen again and again in
// every session. A change after a quiet spell is drawn at once; the changes
// of a burst, at most 30 times a second (measured with 20 SSH observers on
// two busy cores, 30 rather than 60 a second cut the CPU time the
// sessions cost and the delay before an observer sees a sweep cell: see
// the serve package's BenchmarkObservers).
const frameEvery = time.Second / 30

// statusTime is how long a footer message stays.
const statusTime = 6 * time.Second

// New makes the console for one session on b, as who. It subscribes to the
// bench and takes the operator lease when it is free (unless
// opts.ReadOnly); the session observes otherwise. ctx bounds the session:
// when it ends, the session's jobs are cancelled and its lease released.
// Close does the same at once (Run calls it when the program ends).
func New(ctx context.Context, b *bench.Bench, who bench.Holder, opts Options) *Model {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithCancel(ctx)
	theme := common.Theme{Dark: !opts.Light, NoColor: noColor(opts.Env)}
	c := common.NewContext(ctx, b, who, theme)
	c.ReadOnly = opts.ReadOnly
	m := &Model{c: c, opts: opts, keys: newKeyMap(), ctx: ctx, cancel: cancel, width: 80, height: 24, statusFor: statusTime, percent: -1, now: time.Now}
	snap, sub := b.Subscribe(0)
	m.sub = sub
	c.SetSnapshot(snap)
	if !opts.ReadOnly {
		if tok, err := b.Acquire(who); err == nil {
			c.SetToken(tok)
			c.SetSnapshot(b.Snapshot())
		}
	}
	// the session's end releases the lease even when nobody calls Close
	// (an SSH connection dropped)
	context.AfterFunc(ctx, func() {
		if tok := c.Token(); tok != "" {
			_ = b.Release(tok)
		}
		sub.Close()
	})
	m.help = help.New()
	m.spin = spinner.New(spinner.WithSpinner(spinner.MiniDot))
	m.applyTheme()
	m.panes = newPanes(c, opts)
	m.layout()
	return m
}

// Context is the session's shared context.
func (m *Model) Context() *common.Context { return m.c }

// noColor reports whether env asks for no colour (NO_COLOR set, not empty).
func noColor(env []string) bool {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "NO_COLOR="); ok && v != "" {
			return true
		}
	}
	return false
}

// LocalHolder names the person at this terminal for the operator lease:
// user@host, session "console".
func LocalHolder() bench.Holder {
	name := "someone"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		name += "@" + h
	}
	return bench.Holder{Name: name, Session: "console"}
}

// Run runs the console on the terminal until the user quits or ctx ends,
// then releases the lease. The bench stays open (the caller closes it).
func Run(ctx context.Context, b *bench.Bench, who bench.Holder, opts Options) error {
	if opts.Env == nil {
		opts.Env = os.Environ()
	}
	m := New(ctx, b, who, opts)
	defer m.Close()
	po := append([]tea.ProgramOption{tea.WithContext(ctx), tea.WithEnvironment(opts.Env)}, opts.ProgramOptions...)
	_, err := tea.NewProgram(m, po...).Run()
	if j := m.ownWrite(); j != nil && m.exitErr == nil && m.quitting == nil {
		// ended (a signal, the terminal gone) while this session's write
		// ran: closing the session cancels it; wait for what the bench did
		m.exitErr = m.finishWrite(*j)
	}
	if m.exitErr != nil {
		return m.exitErr
	}
	if err != nil && ctx.Err() != nil && errors.Is(err, tea.ErrProgramKilled) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	return nil
}

// WriteInterruptedError is how a console session ends when it quit while
// its own write ran: the write was cancelled and Outcome says how it
// ended (the audit log records it too).
type WriteInterruptedError struct {
	Kind    string // the job ("ob apply", "da regress")
	Outcome string // bench.WriteOutcome's words
}

func (e *WriteInterruptedError) Error() string {
	return fmt.Sprintf("console: quit during the %s: %s (the audit log in the state directory records it)", e.Kind, e.Outcome)
}

// ExitErr is how the session ended: a *WriteInterruptedError when it quit
// while its own write ran, nil otherwise. The SSH server reads it for the
// session's exit status.
func (m *Model) ExitErr() error { return m.exitErr }

// finishWrite closes the session, which cancels its write j, and waits
// for the bench to end it (undoing what it safely can), within
// writeWait.
func (m *Model) finishWrite(j bench.JobInfo) error {
	snap, sub := m.c.Bench.Subscribe(64)
	defer sub.Close()
	m.Close()
	if snap.Job == nil || snap.Job.ID != j.ID {
		return &WriteInterruptedError{Kind: j.Kind, Outcome: "it ended as the console closed: see the audit log for how"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeWait)
	defer cancel()
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			return &WriteInterruptedError{Kind: j.Kind, Outcome: "the bench did not end it within " + writeWait.String() + ": its result is not known; see the audit log"}
		}
		if f, ok := ev.(bench.JobFinished); ok && f.Job.ID == j.ID {
			if f.Err == nil {
				return nil
			}
			return &WriteInterruptedError{Kind: j.Kind, Outcome: bench.WriteOutcome(f.Err)}
		}
	}
}

// writeWait bounds how long a closing console waits for its cancelled
// write to end (the bench's own write limit is two minutes).
const writeWait = 2 * time.Minute

// ownWrite is this session's write job running now, nil when none.
func (m *Model) ownWrite() *bench.JobInfo {
	j := m.c.Snapshot().Job
	if j == nil || j.Holder != m.c.Holder || !bench.IsWriteJob(j.Kind) {
		return nil
	}
	return j
}

// Close ends the session: cancels its jobs, releases the lease when it
// holds it and ends its subscription. It is safe to call more than once.
func (m *Model) Close() {
	if m.closed {
		return
	}
	m.closed = true
	if tok := m.c.Token(); tok != "" {
		_ = m.c.Bench.Release(tok)
		m.c.SetToken("")
	}
	m.cancel()
	m.sub.Close()
}

// Init starts following the bench, asks the terminal for its background
// colour and identifies the chip when the session holds the lease.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.waitEvents(), tea.RequestBackgroundColor}
	for _, p := range m.panes {
		cmds = append(cmds, p.Init())
	}
	if !m.opts.NoIdentify && m.c.HasLease() && m.c.Snapshot().Chip == nil && m.c.Snapshot().Gone == "" {
		cmds = append(cmds, m.identify())
	}
	if n := m.c.Snapshot().Notice; n != "" {
		// said before this session joined (the fall-back to the simulated bench)
		cmds = append(cmds, m.setStatus(n, false))
	}
	return tea.Batch(cmds...)
}

// identify runs the info job the header needs: Hot Plug (no reset, no
// halt) on the chip's core port.
func (m *Model) identify() tea.Cmd {
	b := m.c.Bench
	return common.Job[identified](m.c, common.PaneNone, func(ctx context.Context, t bench.Token) (*bench.InfoResult, error) {
		khz := 0
		for _, f := range b.SWDFrequencies() { // the fastest clock at or below 1.8 MHz
			if f <= identifyKHz && f > khz {
				khz = f
			}
		}
		return b.Info(ctx, t, bench.InfoRequest{Mode: bench.ModeHotPlug, AutoAP: true, FrequencyKHz: khz})
	})
}

// The ends of the root model's own jobs: identifying the chip (the header
// shows the chip from the bench's state: only a failure is news) and
// capturing the board (the capture file's path).
type (
	identified common.Result[*bench.InfoResult]
	captured   common.Result[string]
)

// capture takes a read-only capture of the board into the state
// directory, for a helper or a twin (stprobe --twin FILE).
func (m *Model) capture() tea.Cmd {
	if why := m.c.UnavailableNow(); why != "" {
		return m.setStatus("capture: "+why, true)
	}
	dir := m.opts.StateDir
	if dir == "" {
		d, err := bench.DefaultStateDir()
		if err != nil {
			return m.setStatus("capture: "+err.Error(), true)
		}
		dir = d
	}
	b := m.c.Bench
	cmd := m.setStatus("capturing the board, read-only: every connection, the option bytes, DA discovery…", false)
	return tea.Batch(cmd, common.Job[captured](m.c, common.PaneNone,
		func(ctx context.Context, t bench.Token) (string, error) {
			f, err := b.Capture(ctx, t, bench.CaptureRequest{})
			if err != nil {
				return "", err
			}
			return bench.SaveCapture(dir, f, time.Now())
		}))
}

// jobDone hands the end of a job to the pane that started it, or takes
// the end of one of the root model's own; a job refused for want of the
// lease says so in the footer too.
func (m *Model) jobDone(msg common.JobDoneMsg) tea.Cmd {
	var cmds []tea.Cmd
	if i := int(msg.From); i >= 0 && i < len(m.panes) {
		var cmd tea.Cmd
		m.panes[i], cmd = m.panes[i].Update(msg)
		cmds = append(cmds, cmd)
	}
	switch own := msg.Msg.(type) {
	case captured:
		if own.Err != nil {
			cmds = append(cmds, m.setStatus("capture: "+own.Err.Error(), true))
		} else {
			cmds = append(cmds, m.setStatus("captured to "+own.Value+" (read-only; no flash, no secrets): send it to whoever helps, or open it with --twin", false))
		}
	case identified:
		if own.Err != nil {
			return tea.Batch(append(cmds, m.setStatus("identifying the chip: "+own.Err.Error(), true))...)
		}
	}
	if msg.Err != nil && common.IsUnavailable(msg.Err) {
		cmds = append(cmds, m.setStatus(msg.Err.Error(), true))
	}
	return tea.Batch(cmds...)
}

// identifyKHz bounds the SWD clock of the identification: slow enough for
// long wires.
const identifyKHz = 1800

// waitEvents waits for the bench's next events: the first one, and every
// other one already waiting (up to a batch), so that a burst of trace
// entries is one message.
func (m *Model) waitEvents() tea.Cmd {
	sub, ctx := m.sub, m.ctx
	return func() tea.Msg {
		ev, err := sub.Next(ctx)
		if err != nil {
			return streamEndedMsg{err}
		}
		evs := eventsMsg{ev}
		now, stop := context.WithCancel(context.Background())
		stop()
		for len(evs) < 256 {
			e, err := sub.Next(now)
			if err != nil {
				break
			}
			evs = append(evs, e)
		}
		return evs
	}
}

// Update routes one message. The screen is redrawn at most once a frame:
// a change that comes sooner after the last drawing is drawn when a
// frameMsg says the frame is over.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if _, ok := msg.(frameMsg); ok {
		m.framePending = false
		return m, m.nextFrame()
	}
	m.frameStale = true
	mm, cmd := m.update(msg)
	if next := m.nextFrame(); next != nil {
		cmd = tea.Batch(cmd, next)
	}
	return mm, cmd
}

// nextFrame asks for a frameMsg when the screen changed sooner than a
// frame after its last drawing (View draws it then).
func (m *Model) nextFrame() tea.Cmd {
	if !m.frameStale || m.framePending {
		return nil
	}
	wait := frameEvery - m.now().Sub(m.frameAt)
	if wait <= 0 {
		return nil
	}
	m.framePending = true
	return tea.Tick(wait, func(time.Time) tea.Msg { return frameMsg{} })
}

// update routes one message.
func (m *Model) update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.frameAt = time.Time{} // a new size is drawn at once
		m.layout()
		return m, nil
	case tea.BackgroundColorMsg:
		t := m.c.Styles.Theme
		t.Dark = msg.IsDark()
		m.c.SetTheme(t)
		m.applyTheme()
		return m, nil
	case tea.EnvMsg:
		if v := msg.Getenv("NO_COLOR"); v != "" && !m.c.Styles.Theme.NoColor {
			t := m.c.Styles.Theme
			t.NoColor = true
			m.c.SetTheme(t)
			m.applyTheme()
		}
		return m, nil
	case eventsMsg:
		return m, m.events(msg)
	case streamEndedMsg:
		if !m.closed {
			m.ended = "the bench closed: nothing more will happen here; quit with q"
		}
		return m, nil
	case clearStatusMsg:
		if msg.seq == m.statusSeq {
			m.status = ""
		}
		return m, nil
	case common.StatusMsg:
		return m, m.setStatus(msg.Text, msg.Err)
	case common.JobDoneMsg:
		return m, m.jobDone(msg)
	case common.OpenPaneMsg:
		if i := int(msg.Pane); i >= 0 && i < len(m.panes) {
			m.setFocus(i)
			var cmd tea.Cmd
			m.panes[i], cmd = m.panes[i].Update(msg)
			return m, cmd
		}
		return m, nil
	case spinner.TickMsg:
		if m.c.Busy() == "" {
			m.spinning = false
			return m, nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case tea.KeyPressMsg:
		return m, m.key(msg)
	case tea.MouseClickMsg:
		return m, m.click(msg)
	case tea.MouseWheelMsg:
		mm := msg.Mouse()
		if mm.Y >= m.paneTop && mm.Y < m.paneTop+m.paneH && !m.showHelp {
			mm.Y -= m.paneTop
			return m, m.toFocused(tea.MouseWheelMsg(mm))
		}
		return m, nil
	}
	return m, tea.Batch(m.toAll(msg)...)
}

// events applies a batch of bench events and hands each to every pane.
func (m *Model) events(evs eventsMsg) tea.Cmd {
	var cmds []tea.Cmd
	changed := false // the snapshot, which the header draws
	for _, ev := range evs {
		switch e := ev.(type) {
		case bench.StateChanged:
			changed = true
			m.c.SetSnapshot(e.State)
			if tok := m.c.Token(); tok != "" && (e.State.Lease == nil || e.State.Lease.Holder != m.c.Holder) {
				m.c.SetToken("") // the lease lapsed or was handed over
			}
			if l := e.State.Lease; l != nil && l.Holder == m.c.Holder && m.c.Token() == "" && m.c.ReadOnly {
				// handed to an observer: give it back at once, it never writes
				if tok, err := m.c.Bench.Acquire(m.c.Holder); err == nil {
					_ = m.c.Bench.Release(tok)
					cmds = append(cmds, m.setStatus("the probe was handed to this session, which only observes: released it again", true))
				}
			}
			if l := e.State.Lease; l != nil && l.Holder == m.c.Holder && m.c.Token() == "" && !m.c.ReadOnly {
				// handed over to this session: take the token that goes with it
				if tok, err := m.c.Bench.Acquire(m.c.Holder); err == nil {
					m.c.SetToken(tok)
					cmds = append(cmds, m.setStatus("the probe was handed to you", false))
				}
			}
			if l := e.State.Lease; l == nil || l.Holder != m.c.Holder {
				m.asker = nil
			}
		case bench.LeaseAsked:
			if m.c.HasLease() && e.Holder == m.c.Holder {
				asker := e.Asker
				m.asker = &asker
				cmds = append(cmds, m.setStatus(fmt.Sprintf("%s asks for the probe: press %s to hand it over", asker.Name, m.keys.HandOver.Help().Key), false))
			}
		case bench.Dropped: // this session fell behind: take the whole state again
			changed = true
			m.c.SetSnapshot(m.c.Bench.Snapshot())
		case bench.Notice:
			cmds = append(cmds, m.setStatus(e.Text, false))
		case bench.JobStarted:
			m.progress, m.percent = "", -1
			if !m.spinning {
				m.spinning = true
				cmds = append(cmds, m.spin.Tick)
			}
		case bench.SweepCell:
			p := e.Progress
			m.progress = fmt.Sprintf("cell %d/%d", p.Index+1, p.Total)
			if p.Total > 0 {
				done := p.Index
				if p.Done {
					done++
				}
				m.percent = done * 100 / p.Total
			}
		case bench.JobFinished:
			m.progress, m.percent = "", -1
			if q := m.quitting; q != nil && e.Job.ID == q.ID {
				// the write the user quit during has ended: say how, and go
				if e.Err != nil {
					m.exitErr = &WriteInterruptedError{Kind: q.Kind, Outcome: bench.WriteOutcome(e.Err)}
				}
				m.Close()
				return tea.Quit
			}
			if m.quitAsk && bench.IsWriteJob(e.Job.Kind) && e.Job.Holder == m.c.Holder {
				m.quitAsk = false
				cmds = append(cmds, m.setStatus("the "+e.Job.Kind+" ended ("+bench.WriteOutcome(e.Err)+"): q quits now", e.Err != nil))
			}
			if e.Err != nil && e.Job.Holder == m.c.Holder && !common.IsUnavailable(e.Err) {
				cmds = append(cmds, m.setStatus(e.Job.Kind+": "+e.Err.Error(), true))
			}
		}
		cmds = append(cmds, m.toAll(common.EventMsg{Event: ev})...)
	}
	if changed {
		m.headerStale = true // laid out when the frame is drawn
	}
	cmds = append(cmds, m.waitEvents())
	return tea.Batch(cmds...)
}

// setStatus shows text in the footer for a while.
func (m *Model) setStatus(text string, isErr bool) tea.Cmd {
	m.status, m.statusErr = text, isErr
	m.statusSeq++
	seq := m.statusSeq
	if m.statusFor <= 0 {
		return nil
	}
	return tea.Tick(m.statusFor, func(time.Time) tea.Msg { return clearStatusMsg{seq} })
}

// toAll hands msg to every pane.
func (m *Model) toAll(msg tea.Msg) []tea.Cmd {
	var cmds []tea.Cmd
	for i, p := range m.panes {
		var cmd tea.Cmd
		m.panes[i], cmd = p.Update(msg)
		if cmd != nil {
			cmds = append(cmds, cmd)
		}
	}
	return cmds
}

// toFocused hands msg to the focused pane.
func (m *Model) toFocused(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	m.panes[m.focus], cmd = m.panes[m.focus].Update(msg)
	return cmd
}

// setFocus moves the focus to pane i.
func (m *Model) setFocus(i int) {
	if i == m.focus {
		return
	}
	if f, ok := m.panes[m.focus].(common.Focuser); ok {
		f.Blur()
	}
	m.focus = i
	if f, ok := m.panes[m.focus].(common.Focuser); ok {
		f.Focus()
	}
}

// capturing reports whether the focused pane takes every key now.
func (m *Model) capturing() bool {
	c, ok := m.panes[m.focus].(common.Capturer)
	return ok && c.Capturing()
}

// key handles a key press: the focused pane's text input first, then the
// global keys, then the focused pane.
func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	if m.quitting != nil {
		return m.setStatus("cancelling the "+m.quitting.Kind+": the console quits once the bench has stopped it", false)
	}
	if m.quitAsk {
		switch {
		case msg.String() == "y" || key.Matches(msg, m.keys.ForceQuit):
			return m.insistQuit()
		case msg.String() == "n" || msg.String() == "esc":
			m.quitAsk = false
			return m.setStatus("the write goes on", false)
		}
		return nil
	}
	if key.Matches(msg, m.keys.ForceQuit) {
		return m.quit()
	}
	if m.capturing() {
		return m.toFocused(msg)
	}
	if m.showHelp {
		if key.Matches(msg, m.keys.Help) || msg.String() == "esc" || msg.String() == "q" {
			m.showHelp = false
		}
		return nil
	}
	switch {
	case key.Matches(msg, m.keys.Quit):
		return m.quit()
	case key.Matches(msg, m.keys.Help):
		m.showHelp = true
		return nil
	case key.Matches(msg, m.keys.Next):
		m.setFocus((m.focus + 1) % len(m.panes))
		return nil
	case key.Matches(msg, m.keys.Prev):
		m.setFocus((m.focus + len(m.panes) - 1) % len(m.panes))
		return nil
	case key.Matches(msg, m.keys.Cancel):
		return m.cancelJob()
	case key.Matches(msg, m.keys.Lease):
		return m.lease()
	case key.Matches(msg, m.keys.HandOver):
		return m.handOver()
	case key.Matches(msg, m.keys.Capture):
		return m.capture()
	}
	for i, b := range m.keys.Pane {
		if key.Matches(msg, b) && i < len(m.panes) {
			m.setFocus(i)
			return nil
		}
	}
	return m.toFocused(msg)
}

// quit ends the session; while this session's own write runs it asks
// first.
func (m *Model) quit() tea.Cmd {
	if m.ownWrite() != nil {
		m.quitAsk, m.showHelp = true, false
		return nil
	}
	m.Close()
	return tea.Quit
}

// insistQuit cancels this session's write; the console quits when the
// bench has ended it (JobFinished), saying how.
func (m *Model) insistQuit() tea.Cmd {
	m.quitAsk = false
	j := m.ownWrite()
	if j == nil {
		m.Close()
		return tea.Quit
	}
	jj := *j
	m.quitting = &jj
	if err := m.c.CancelJob(); err != nil {
		// the lease is gone: closing the session still cancels the job
		m.exitErr = m.finishWrite(jj)
		return tea.Quit
	}
	return m.setStatus("cancelling the "+jj.Kind+": the console quits once the bench has stopped it", false)
}

// cancelJob stops the job running on the bench.
func (m *Model) cancelJob() tea.Cmd {
	if m.c.Busy() == "" {
		return m.setStatus("no job is running", false)
	}
	if err := m.c.CancelJob(); err != nil {
		return m.setStatus("cannot cancel: "+err.Error(), true)
	}
	return m.setStatus("cancelling the "+m.c.Busy()+" job…", false)
}

// lease takes the probe when it is free, asks its holder for it when
// another session holds it, and releases it when this session holds it.
func (m *Model) lease() tea.Cmd {
	c := m.c
	switch {
	case c.ReadOnly:
		// an observer may ask; it never takes the probe (a hand-over to
		// it is given back at once)
		l := c.Snapshot().Lease
		if l == nil {
			return m.setStatus("the probe is free, but this session only observes: an operator session takes it", true)
		}
		if err := c.Bench.AskLease(c.Holder); err != nil {
			return m.setStatus(err.Error(), true)
		}
		return m.setStatus("asked "+l.Holder.Name+" for the probe (this session observes: they may hand it to an operator session of yours)", false)
	case c.HasLease():
		if c.Busy() != "" {
			return m.setStatus("a "+c.Busy()+" job is running: cancel it (ctrl+x) before releasing the probe", true)
		}
		if err := c.Bench.Release(c.Token()); err != nil {
			return m.setStatus(err.Error(), true)
		}
		c.SetToken("")
		return m.setStatus("released the probe: another session may take it", false)
	}
	tok, err := c.Bench.Acquire(c.Holder)
	var le *bench.LeaseError
	switch {
	case err == nil:
		c.SetToken(tok)
		c.SetSnapshot(c.Bench.Snapshot())
		if s := c.Snapshot(); s.Chip == nil && s.Gone == "" && !m.opts.NoIdentify {
			return tea.Batch(m.setStatus("you hold the probe", false), m.identify())
		}
		return m.setStatus("you hold the probe", false)
	case errors.As(err, &le) && le.Holder != nil:
		if err := c.Bench.AskLease(c.Holder); err != nil {
			return m.setStatus(err.Error(), true)
		}
		return m.setStatus("asked "+le.Holder.Name+" for the probe", false)
	default:
		return m.setStatus(err.Error(), true)
	}
}

// handOver passes the probe to the session that last asked for it.
func (m *Model) handOver() tea.Cmd {
	c := m.c
	switch {
	case !c.HasLease():
		return m.setStatus("this session does not hold the probe", true)
	case m.asker == nil:
		return m.setStatus("nobody has asked for the probe", true)
	case c.Busy() != "":
		return m.setStatus("a "+c.Busy()+" job is running: cancel it (ctrl+x) before handing the probe over", true)
	}
	to := *m.asker
	if _, err := c.Bench.HandOver(c.Token(), to); err != nil {
		return m.setStatus(err.Error(), true)
	}
	c.SetToken("")
	m.asker = nil
	return m.setStatus("handed the probe to "+to.Name, false)
}

// click selects a tab, or hands the click to the focused pane.
func (m *Model) click(msg tea.MouseClickMsg) tea.Cmd {
	mm := msg.Mouse()
	tabRow := len(m.headerLines)
	if mm.Y == tabRow {
		for i, t := range m.tabs {
			if mm.X >= t.x0 && mm.X < t.x1 {
				m.showHelp = false
				m.setFocus(i)
				return nil
			}
		}
		return nil
	}
	if mm.Y >= m.paneTop && mm.Y < m.paneTop+m.paneH && !m.showHelp {
		mm.Y -= m.paneTop
		return m.toFocused(tea.MouseClickMsg(mm))
	}
	return nil
}

// applyTheme restyles the help and the spinner.
func (m *Model) applyTheme() {
	st := m.c.Styles
	if st.Theme.NoColor {
		plain := lipgloss.NewStyle()
		m.help.Styles = help.Styles{Ellipsis: plain, ShortKey: plain.Bold(true), ShortDesc: plain, ShortSeparator: plain,
			FullKey: plain.Bold(true), FullDesc: plain, FullSeparator: plain}
	} else {
		m.help.Styles = help.DefaultStyles(st.Theme.Dark)
		m.help.Styles.ShortKey = st.Key
		m.help.Styles.FullKey = st.Key
	}
	m.spin.Style = st.Accent
	m.headerLines = header.Lines(m.c, m.width)
}

// layout sizes the panes for the terminal and the header's height.
func (m *Model) layout() {
	m.headerStale = false
	if k := m.headerFrom(); k != m.headerKey || m.headerLines == nil {
		m.headerKey, m.headerLines = k, header.Lines(m.c, m.width)
	}
	top := len(m.headerLines) + 1 // the tab bar
	if m.banner() != "" {
		top++
	}
	h := m.height - top - 1 // the footer
	if h < 1 {
		h = 1
	}
	if top != m.paneTop || h != m.paneH || m.c.Width != m.width {
		m.paneTop, m.paneH = top, h
		m.c.Width, m.c.Height = m.width, h
		for _, p := range m.panes {
			p.SetSize(m.width, h)
		}
	}
	m.help.SetWidth(m.width)
}

// headerFrom names what the header draws (its items, their styles' looks,
// the simulated board, the width and the styles): the header is drawn
// again only when it changes (a sweep changes the snapshot at every cell,
// the header seldom).
func (m *Model) headerFrom() string {
	s := m.c.Snapshot()
	pi, ti := header.Items(m.c.Styles, s)
	var b strings.Builder
	fmt.Fprintf(&b, "%p %d %t %q", m.c.Styles, m.width, s.Simulated, s.Scenario)
	for _, it := range append(pi, ti...) {
		fmt.Fprintf(&b, "\x00%s\x00%s\x00%v %v %v", it.Label, it.Value, it.Style.GetForeground(), it.Style.GetBackground(), it.Style.GetBold())
	}
	return b.String()
}

// banner is the line across the screen when something is badly wrong.
func (m *Model) banner() string {
	s := m.c.Snapshot()
	switch {
	case s.Gone != "":
		return "PROBE GONE — " + s.Gone
	case m.ended != "":
		return m.ended
	}
	return ""
}
