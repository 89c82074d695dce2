// Package writeflow is the base every console pane that writes to the chip
// embeds: the path plan → guard → progress → outcome, as one state machine
// and its screens. A pane keeps what is its own (the option-byte table, the
// DA discovery and forms, the flash image) and hands the rest to the Flow:
// where the write keeps its files (Options), the job it waits for and the
// message it gave (the job's end comes back as the pane's own message),
// the plan and run screens' scrolling and pinned footer, the guard dialog,
// the steps of a write (its own or another session's), the outcome's
// audit line, and the pane's status line.
//
// A pane embeds a Flow by value, made with New, and calls its methods from
// its own Update and View; the Flow never starts anything on its own.
package writeflow

import (
	"os"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/tui/common"
	"github.com/stprobe/stprobe/tui/credform"
	"github.com/stprobe/stprobe/tui/guard"
)

// Options are where a writing pane keeps and finds its files.
type Options struct {
	// StateDir holds the backups, the journals and the audit log (default
	// bench.DefaultStateDir).
	StateDir string
	// SearchDirs are where credential forms look for files under their
	// usual names (default: the state directory and the current
	// directory).
	SearchDirs []string
	// searchSet is true once WithSearchDirs was given (an empty list is
	// then meant).
	searchSet bool
}

// Option configures the Options of a writing pane.
type Option func(*Options)

// WithStateDir sets the directory of the backups, the journals and the
// audit log.
func WithStateDir(dir string) Option { return func(o *Options) { o.StateDir = dir } }

// WithSearchDirs sets where credential forms look for files (none: only
// what the user types).
func WithSearchDirs(dirs ...string) Option {
	return func(o *Options) { o.SearchDirs, o.searchSet = append([]string{}, dirs...), true }
}

// Screen is what a writing pane shows. Main, Plan and Run are the Flow's;
// a pane numbers its own screens from Own.
type Screen int

const (
	// Main is the pane's own screen (a table, a discovery).
	Main Screen = iota
	// Plan shows the plan of a write, or its refusal, and how to go on.
	Plan
	// Run shows the write's progress, then its outcome.
	Run
	// Own is the first value a pane may use for screens of its own.
	Own
)

// Margin is the blank column left of a pane's content: the same as the
// header's and the other panes'. Mouse X positions are this much right of
// the content's.
const Margin = 1

// Config says which pane a Flow belongs to and how to tell its writes.
type Config struct {
	// Pane is the pane's id: the jobs it starts come back to it.
	Pane common.PaneID
	// IsWrite reports whether a bench job kind (as JobStarted carries it)
	// is a write of this pane's kind, so that another session's write is
	// followed step by step.
	IsWrite func(kind string) bool
	// Write names the pane's kind of write in messages ("DA write";
	// default "write").
	Write string
}

// Job names one of a pane's jobs in words ("plan", "clear pending", as
// RunWhy says it): what the pane waits for, not what the job returns
// (that comes back as the pane's own message, see common.Job).
type Job string

// Apply is the job of a pane's write.
const Apply Job = "apply"

// Step is one step of a write, as the run screen shows it.
type Step struct {
	Name, Message string
	// Done and Total count the write's progress (phases, bytes); zero
	// when the step has none.
	Done, Total int
}

// Text is the step in a few words.
func (s Step) Text() string {
	if s.Total > 0 {
		return s.Name + ": " + s.Message + " (" + strconv.Itoa(s.Done) + "/" + strconv.Itoa(s.Total) + ")"
	}
	return s.Name + ": " + s.Message
}

// maxSteps bounds the steps kept of one write.
const maxSteps = 500

// Flow is the shared state of a writing pane. Embed it by value; its
// exported fields are the pane's to read and set.
type Flow struct {
	// Base is the pane's id (Config.Pane), its Title and its Init.
	common.Base
	// C is the session.
	C *common.Context
	Options
	// DirErr is why there is no state directory, when the default could
	// not be found.
	DirErr error
	// W and H are the size of the pane's content (the margin taken off).
	W, H   int
	outerW int
	// Screen is the screen on show; Scroll the first line of a scrolled
	// screen.
	Screen Screen
	Scroll int
	// Guard is the guard dialog while it is open.
	Guard *guard.Model
	// Steps are the steps of the write on show (this session's, or the
	// one Watching names).
	Steps []Step
	// Watching names the other session whose write is running.
	Watching string
	// FlowKeys are the keys the plan and run screens share.
	FlowKeys KeyMap

	cfg Config
	// shown and free are the body lines the last Pinned screen showed
	// and the blank lines under them, where the guard goes.
	shown, free int

	busy Job // the job the pane waits for
	// doing says what the job does, on the status line while it runs.
	doing string
	look  common.Look
}

// New makes the Flow of a pane on session c.
func New(c *common.Context, cfg Config, opts ...Option) Flow {
	f := Flow{Base: common.Base{ID: cfg.Pane}, C: c, cfg: cfg, FlowKeys: NewKeyMap()}
	if f.cfg.Write == "" {
		f.cfg.Write = "write"
	}
	for _, o := range opts {
		o(&f.Options)
	}
	if f.StateDir == "" {
		f.StateDir, f.DirErr = bench.DefaultStateDir()
	}
	if !f.searchSet {
		wd, _ := os.Getwd()
		f.SearchDirs = []string{f.StateDir, wd}
	}
	return f
}

// SetSize takes the pane's size; the content is one margin narrower.
func (f *Flow) SetSize(w, h int) { f.W, f.H, f.outerW = max(0, w-Margin), h, w }

// Wide reports whether the pane is at least 120 columns wide (margin
// included): room for the panes' side-by-side layouts.
func (f *Flow) Wide() bool { return f.outerW >= 120 }

// Empty reports whether the pane has no room to draw in (its View is "").
func (f *Flow) Empty() bool { return f.outerW <= 0 || f.H <= 0 }

// Styles are the session's styles (plain ones without a session).
func (f *Flow) Styles() *common.Styles { return f.look.Styles(f.C) }

// Pens are the session's styles as pens, rebuilt when the theme changes.
func (f *Flow) Pens() *common.Pens { return f.look.Pens(f.C) }

// Fit draws lines as the pane's view: the margin on the left, cut or
// padded to exactly the size SetSize gave.
func (f *Flow) Fit(lines []string) string {
	return common.FitIndented(lines, Margin, f.outerW, f.H)
}

// Say gives a message in the footer (only there).
func (f *Flow) Say(text string) tea.Cmd { return common.Status(text) }

// Fail gives a failure in the footer (only there).
func (f *Flow) Fail(text string) tea.Cmd { return common.StatusErr(text) }

// Unavailable says why an action cannot run.
func (f *Flow) Unavailable(action, why string) tea.Cmd {
	return f.Fail("cannot " + action + ": " + why)
}

// Waiting is the job the pane waits for ("" when none).
func (f *Flow) Waiting() Job { return f.busy }

// Running reports whether the pane waits for job.
func (f *Flow) Running(job Job) bool { return f.busy != "" && f.busy == job }

// Applying reports whether the pane's own write runs.
func (f *Flow) Applying() bool { return f.Running(Apply) }

// RunWhy is why the pane cannot start a job now ("" when it can): no
// session, its own job still running, or what the session says.
func (f *Flow) RunWhy() string {
	if f.C == nil {
		return "no console session"
	}
	if f.busy != "" {
		return "this pane is waiting for its " + string(f.busy) + " job"
	}
	return f.C.UnavailableNow()
}

// Start waits for job, which cmd runs on the bench (a command of
// common.Job from this pane); what says what it does, on the pane's
// status line while it runs. The pane runs one job at a time (RunWhy says
// so), so the next job's end from this pane is this job's.
func (f *Flow) Start(job Job, what string, cmd tea.Cmd) tea.Cmd {
	f.busy, f.doing = job, what
	return cmd
}

// Finish takes the end of a job of the pane: it reports whether the pane
// waited for one, and then waits no more.
func (f *Flow) Finish() bool {
	if f.busy == "" {
		return false
	}
	f.busy = ""
	return true
}

// Handlers are what a writing pane does with the session's messages; a
// nil handler drops its messages.
type Handlers struct {
	// JobDone takes the pane's own message of the end of the job it
	// waited for (common.JobDoneMsg.Msg).
	JobDone func(tea.Msg) tea.Cmd
	// Event follows one bench event.
	Event func(bench.Event) tea.Cmd
	// Request acts on the request of an OpenPaneMsg for this pane.
	Request func(any) tea.Cmd
}

// Route hands the session's messages to the pane's handlers: the end of
// the job the pane waits for (once it waits no more; a job's end while it
// waits for none is dropped), every bench event, and the requests to open this pane.
// Other messages are the pane's own: Route does nothing with them.
func (f *Flow) Route(msg tea.Msg, h Handlers) tea.Cmd {
	switch msg := msg.(type) {
	case common.JobDoneMsg:
		if f.Finish() && h.JobDone != nil {
			return h.JobDone(msg.Msg)
		}
	case common.EventMsg:
		if h.Event != nil {
			return h.Event(msg.Event)
		}
	case common.OpenPaneMsg:
		if msg.Pane == f.ID && h.Request != nil {
			return h.Request(msg.Request)
		}
	}
	return nil
}

// StartApply moves to the run screen for the pane's write, which cmd
// runs (as Start).
func (f *Flow) StartApply(what string, cmd tea.Cmd) tea.Cmd {
	f.Guard = nil
	f.Screen, f.Scroll = Run, 0
	f.Steps, f.Watching = nil, ""
	return f.Start(Apply, what, cmd)
}

// Ended is how a write that returned err ended, in the footer's words:
// the write's own report ("cancelled: staged and undone (nothing was
// applied)"); a plain failure points at the pane, which says it all.
func Ended(err error) string {
	o := bench.WriteOutcome(err)
	if strings.HasPrefix(o, "failed: ") {
		return "the write failed: see the pane"
	}
	return o
}

// OpenGuard opens the guard dialog in front of the write.
func (f *Flow) OpenGuard(d guard.Dialog) tea.Cmd {
	f.Guard = guard.New(f.C, d)
	return f.Guard.Focus()
}

// GuardKey handles a key while the guard is open: esc closes it (nothing
// written), a confirmed phrase goes to apply; the bench checks the phrase
// again against its own plan.
func (f *Flow) GuardKey(msg tea.KeyPressMsg, apply func(typed string, override bool) tea.Cmd) tea.Cmd {
	out, cmd := f.Guard.Update(msg)
	switch out {
	case guard.Cancelled:
		f.Guard = nil
		return f.Say("write cancelled: nothing was written")
	case guard.Confirmed:
		typed, override := f.Guard.Typed(), f.Guard.Override()
		f.Guard = nil
		return apply(typed, override)
	}
	if why := f.Guard.Err(); why != "" {
		return f.Fail(why)
	}
	return cmd
}

// FormKey hands a key to a credential form: esc gives the form up
// (cancel closes it and says what became of the pane); a submitted form
// goes to submit with the values its check read, or stays open with what
// is wrong in the footer.
func (f *Flow) FormKey(form *credform.Form, msg tea.KeyPressMsg, cancel func() string, submit func(*credform.Values) tea.Cmd) tea.Cmd {
	res, cmd := form.Update(msg)
	switch res {
	case credform.Cancelled:
		return f.Say(cancel())
	case credform.Submitted:
		v, err := form.Check()
		if err != nil {
			return f.Fail(err.Error())
		}
		return submit(v)
	}
	return cmd
}

// Watch follows the bench's events of writes: another session's write of
// this pane's kind starting and ending (the pane adds the steps). It
// returns the message to give when one ended.
func (f *Flow) Watch(ev bench.Event) tea.Cmd {
	if f.cfg.IsWrite == nil {
		return nil
	}
	switch ev := ev.(type) {
	case bench.JobStarted:
		if f.cfg.IsWrite(ev.Job.Kind) && !f.Applying() {
			f.Watching, f.Steps = ev.Job.Holder.String(), nil
		}
	case bench.JobFinished:
		if f.cfg.IsWrite(ev.Job.Kind) && !f.Applying() && f.Watching != "" {
			who := f.Watching
			f.Watching = ""
			if ev.Err != nil {
				return f.Fail("the " + f.cfg.Write + " by " + who + " failed: " + ev.Err.Error())
			}
			return f.Say("the " + f.cfg.Write + " by " + who + " is done")
		}
	}
	return nil
}

// Following reports whether steps are to be recorded now: the pane's own
// write runs, or another session's is watched.
func (f *Flow) Following() bool { return f.Applying() || f.Watching != "" }

// AddStep records a step; with fold, a step of the same name as the last
// one replaces it (a progress count).
func (f *Flow) AddStep(s Step, fold bool) {
	if n := len(f.Steps); n > 0 && fold && f.Steps[n-1].Name == s.Name {
		f.Steps[n-1] = s
		return
	}
	if len(f.Steps) < maxSteps {
		f.Steps = append(f.Steps, s)
	}
}

// FormOptions are the options of a credential form: where it looks for
// files, the session's styles, and the part as far as the bench knows it
// (bench.Snapshot.KnownPart).
func (f *Flow) FormOptions() credform.Options {
	o := credform.Options{Dirs: f.SearchDirs}
	if f.C != nil {
		o.Styles = f.C.Styles
		o.Part = f.C.Snapshot().KnownPart()
	}
	return o
}
