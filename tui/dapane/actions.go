package dapane

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/tui/common"
	"github.com/stprobe/stprobe/tui/credform"
	"github.com/stprobe/stprobe/tui/guard"
	"github.com/stprobe/stprobe/tui/writeflow"
)

// actionMake is the pane's own action: making credentials (no probe).
const actionMake bench.DAAction = "make credentials"

// actionTitle names an action in plain words.
func actionTitle(a bench.DAAction) string {
	switch a {
	case actionMake:
		return "Make credentials: a password or the certificate kit"
	case bench.DAProvision:
		return "Provision an .obk file"
	case bench.DARegress:
		return "Regression"
	case bench.DAOpenDebug:
		return "Debug opening"
	}
	return string(a)
}

// why says why this session cannot start action a now ("" when it can):
// the session (observer, no lease, a job running), then the bench's answer
// from what it knows of the chip (bench.Snapshot.MayDA), with the key that
// takes the next step.
func (m *Model) why(a bench.DAAction) string {
	if a == actionMake {
		// offline: files only, no probe; an observer writes no files
		if m.C != nil && m.C.ReadOnly {
			return "this session only observes: it writes no files"
		}
		return ""
	}
	if why := m.RunWhy(); why != "" {
		return why
	}
	ans := m.C.Snapshot().MayDA(a)
	if ans.OK {
		return ""
	}
	return ans.Sentence() + stepKeys[ans.Step]
}

// stepKeys name where the console takes a refused write's next step
// (none for the other steps).
var stepKeys = map[da.NextStep]string{
	da.StepDiscover:          " (d)",
	da.StepProvision:         " (p)",
	da.StepEnterProvisioning: " (in the option-byte pane)",
}

// openForm opens the form of action a, when the session and the chip
// allow it.
func (m *Model) openForm(a bench.DAAction) tea.Cmd {
	if why := m.why(a); why != "" {
		return m.Fail(strings.ToLower(actionTitle(a)[:1]) + actionTitle(a)[1:] + " is unavailable: " + why)
	}
	o := m.FormOptions()
	if f := m.forms[a]; f != nil {
		// The form as the user left it, for another try.
		m.action, m.form, m.Screen, m.Scroll = a, f, screenForm, 0
		m.plan, m.planErr, m.viewing = nil, nil, false
		return m.Say(actionTitle(a) + ": the files as you left them; enter plans again (nothing is written)")
	}
	var f *credform.Form
	switch a {
	case actionMake:
		o.Dir = filepath.Join(m.StateDir, "credentials")
		if o.Part != "" {
			o.Dir = filepath.Join(m.StateDir, "credentials-"+strings.ToLower(o.Part))
		}
		if m.disc != nil && m.disc.Method() == "certificate" && m.C != nil && m.C.Snapshot().TZEN == targets.TZENEnabled {
			o.Certificates = true
		}
		f = credform.New("Make credentials: the method follows TrustZone (password: TZEN=0xC3, certificates: 0xB4)", o,
			credform.Method, credform.Part, credform.Dir, credform.Text)
	case bench.DAProvision:
		f = credform.New("Provision: the .obk file to hand to the ROM (the chip stays in PROVISIONING)", o, credform.OBK, credform.Part)
	case bench.DARegress:
		f = credform.New("Regression: the credentials, the regression, and where to save the flash first", o,
			credform.Password, credform.Key, credform.Chain, credform.Permission, credform.SaveFlash)
	case bench.DAOpenDebug:
		f = credform.New("Debug opening: the certificate chain and its leaf key (or a password file)", o,
			credform.Password, credform.Key, credform.Chain)
	}
	if m.forms == nil {
		m.forms = map[bench.DAAction]*credform.Form{}
	}
	m.forms[a] = f
	m.action, m.form, m.Screen, m.Scroll = a, f, screenForm, 0
	m.plan, m.planErr, m.viewing = nil, nil, false
	if a == actionMake {
		return m.Say("make credentials: choose the method, the part and the directory; enter writes the files (nothing touches the chip)")
	}
	return m.Say(actionTitle(a) + ": name the files, then enter plans (nothing is written)")
}

// formKey handles a key in the form.
func (m *Model) formKey(msg tea.KeyPressMsg) tea.Cmd {
	cancel := func() string {
		m.Screen, m.form = writeflow.Main, nil
		return "cancelled: nothing was planned or written"
	}
	return m.FormKey(m.form, msg, cancel, func(v *credform.Values) tea.Cmd {
		m.vals = v
		if m.action == actionMake {
			return m.makeCredentials(v)
		}
		return m.startPlan()
	})
}

// daRequest is the bench request of the form's values.
func (m *Model) daRequest() bench.DARequest {
	v := m.vals
	r := bench.DARequest{Action: m.action, Credentials: v.Credentials, OBK: v.OBK, Part: v.Part, Permission: v.Permission}
	if m.action == bench.DAOpenDebug {
		r.Permission = da.PermOpenDebug
	}
	return r
}

// startPlan plans the form's write on the bench (nothing is written).
func (m *Model) startPlan() tea.Cmd {
	if why := m.RunWhy(); why != "" {
		return m.Fail("cannot plan: " + why)
	}
	m.req = m.daRequest()
	m.plan, m.planErr, m.Scroll, m.viewing = nil, nil, 0, false
	m.Screen = writeflow.Plan
	b, req := m.C.Bench, m.req
	what := "reading the chip and checking the file"
	if req.Action != bench.DAProvision {
		what = "a discovery (NRST pulses), then AP1 for the backup"
	}
	return m.Start(jobPlan, "planning: "+what+"; nothing is written…", common.Job[planned](m.C, m.ID,
		func(ctx context.Context, t bench.Token) (*bench.DAPlan, error) {
			return b.PlanDA(ctx, t, req)
		}))
}

// applyWhy is why the plan on screen cannot be applied ("" when it can).
func (m *Model) applyWhy() string {
	switch {
	case m.viewing:
		return "this is the bench's last plan, shown to look at: plan it yourself to run it"
	case m.plan == nil:
		return "no plan"
	case len(m.plan.Mismatches) > 0 || m.planErr != nil:
		return "the plan was refused: fix what the checklist names and plan again"
	}
	return m.RunWhy()
}

// openGuard opens the guard dialog in front of the write: what it does
// and erases, then the phrase.
func (m *Model) openGuard() tea.Cmd {
	if why := m.applyWhy(); why != "" {
		return m.Fail("cannot apply: " + why)
	}
	p := m.plan
	d := guard.Dialog{Plan: p.Header(), Title: "‼ " + strings.ToUpper(actionTitle(p.Action)) + " of " + p.Line + " UID " + p.UID}
	if p.Action == bench.DARegress {
		d.Lines = append(d.Lines, guard.Line{Text: "erases: " + p.Erases, Tone: guard.Danger})
		if f := m.saveFlash(); f != "" {
			d.Lines = append(d.Lines, guard.Line{Text: "the user flash is saved to " + f + " first", Tone: guard.OK})
		} else {
			d.Lines = append(d.Lines, guard.Line{Text: "the user flash is not saved first: what is erased is gone", Tone: guard.Warn})
		}
	}
	return m.OpenGuard(d)
}

// guardKey handles a key while the guard is open.
func (m *Model) guardKey(msg tea.KeyPressMsg) tea.Cmd {
	return m.GuardKey(msg, func(typed string, _ bool) tea.Cmd { return m.apply(typed) })
}

// saveFlash is the save-flash file the write uses: the form's, when the
// plan says AP1 reads the flash.
func (m *Model) saveFlash() string {
	if m.vals == nil || m.action != bench.DARegress || m.plan == nil || !m.plan.FlashReadable {
		return ""
	}
	return m.vals.SaveFlash
}

// apply runs the confirmed write on the bench.
func (m *Model) apply(confirm string) tea.Cmd {
	if why := m.RunWhy(); why != "" {
		return m.Fail("cannot apply: " + why)
	}
	req := bench.DAApplyRequest{DARequest: m.req, Confirm: confirm, StateDir: m.StateDir, SaveFlash: m.saveFlash()}
	b := m.C.Bench
	m.res, m.applyErr = nil, nil
	return m.StartApply("DA "+string(m.action)+": backup, authentication, reconnect, verification…", common.Job[applied](m.C, m.ID,
		func(ctx context.Context, t bench.Token) (*bench.DAResult, error) {
			return b.ApplyDA(ctx, t, req)
		}))
}

// check is one line of the plan's checklist.
type check struct {
	ok        bool
	what, fix string
}

// checklist is what the plan checked before any write, each with its
// outcome: for a regression or a debug opening the chip's discovery
// against the credentials and the permission (the bench refuses the same
// things; its error stays the authority), for provisioning the file
// against the part.
func (m *Model) checklist() []check {
	p := m.plan
	if m.action == bench.DAProvision {
		return m.provisionChecks()
	}
	d := m.disc
	if p != nil && p.Discovery != nil {
		d = p.Discovery
	}
	c := m.req.Credentials
	perm := m.req.Permission
	var out []check
	method := c.Method()
	out = append(out, check{ok: method != "", what: "credentials read: " + m.credText(), fix: "give a password file, or the leaf key and the certificate chain"})
	if d == nil {
		if m.planErr != nil {
			out = append(out, check{what: "the chip's discovery: " + m.planErr.Error(), fix: "see the error: NRST must be wired, the chip powered"})
		}
		return out
	}
	for _, pc := range da.Preconditions(d, c, perm) {
		out = append(out, check{ok: pc.OK, what: pc.What, fix: pc.Next})
	}
	return out
}

// provisionChecks are the file's checks against the part.
func (m *Model) provisionChecks() []check {
	p := m.plan
	names := []struct{ check, what string }{
		{da.CheckOBKFile, "an .obk file: " + m.pathText(credform.OBK)},
		{da.CheckOBKSize, "its size (12-byte header + 96-byte DA record)"},
		{da.CheckOBKDestination, "its destination: the DA record's address"},
		{da.CheckOBKEncryption, "its encryption flag fits the part"},
		{da.CheckOBKHash, "its payload hash"},
		{da.CheckOBKPermission, "its permission word grants a full regression"},
	}
	part := m.req.Part
	if p != nil && p.Part != "" {
		part = p.Part
	}
	if lp, err := stm32h5.LookupPart(part); err == nil && !lp.OBK {
		names = []struct{ check, what string }{{da.CheckOTPImage, "a 32-byte OTP image (the password's SHA-256)"}}
	}
	var out []check
	if p == nil {
		if m.planErr != nil {
			out = append(out, check{what: m.planErr.Error(), fix: fixOf(m.planErr)})
		}
		return out
	}
	seen := map[string]bool{}
	for _, n := range names {
		c := check{ok: true, what: n.what}
		for _, mm := range p.Mismatches {
			if mm.Check == n.check {
				c = check{what: n.what + ": " + mm.Problem, fix: mm.Fix}
				seen[mm.Check] = true
			}
		}
		out = append(out, c)
	}
	for _, mm := range p.Mismatches {
		if !seen[mm.Check] {
			out = append(out, check{what: mm.Problem, fix: mm.Fix})
		}
	}
	st := da.MayProvision(da.Facts{State: p.State, StateKnown: true})
	return append(out, check{ok: st.OK, what: fmt.Sprintf("%s (it is %v)", st.What, p.State), fix: st.Sentence() + stepKeys[st.Step]})
}

// fixOf is what to do about a plan error: the refusing check's next
// step, when a check refused it.
func fixOf(err error) string {
	var ce *da.CheckError
	switch {
	case errors.Is(err, bench.ErrPartAmbiguous):
		return "give the part (H533 or H523; H562, H563 or H573) in the form"
	case errors.As(err, &ce):
		return ce.Check.Sentence() + stepKeys[ce.Check.Step]
	}
	return "see the error, then plan again"
}

// credText names the credential files.
func (m *Model) credText() string {
	if m.vals == nil {
		return "none"
	}
	p := m.vals.Paths
	if p[credform.Password] != "" {
		return "password file " + m.pathText(credform.Password)
	}
	if p[credform.Key] != "" || p[credform.Chain] != "" {
		return "key " + m.pathText(credform.Key) + ", chain " + m.pathText(credform.Chain)
	}
	return "none"
}

// pathText is the base name of a file the form named.
func (m *Model) pathText(fd credform.Field) string {
	if m.vals == nil || m.vals.Paths[fd] == "" {
		return "none"
	}
	return filepath.Base(m.vals.Paths[fd])
}

// newInput is a text field styled from the session's styles, without a

// credsMadeMsg is the end of making credentials.
type credsMadeMsg struct {
	dir   string
	files []bench.CredentialFile
	err   error
}

// makeCredentials writes the credentials the form asks for (no probe,
// no lease: files only).
func (m *Model) makeCredentials(v *credform.Values) tea.Cmd {
	r := bench.CredentialRequest{Part: v.Part, Certificates: v.Certificates, Password: v.Text, Dir: v.Dir}
	m.Say("making the credentials…")
	return func() tea.Msg {
		fs, err := bench.MakeCredentials(r)
		return credsMadeMsg{dir: r.Dir, files: fs, err: err}
	}
}

// credsMade shows what was written, and points the next forms at it: the
// provisioning form finds the .obk file there, the regression form the
// password or the key and chain.
func (m *Model) credsMade(msg credsMadeMsg) tea.Cmd {
	if msg.err != nil {
		return m.Fail(msg.err.Error())
	}
	m.made, m.madeDir = msg.files, msg.dir
	m.SearchDirs = append([]string{msg.dir}, m.SearchDirs...)
	for _, a := range []bench.DAAction{bench.DAProvision, bench.DARegress, bench.DAOpenDebug, actionMake} {
		delete(m.forms, a) // pre-filled again from the new files
	}
	m.Screen, m.form = writeflow.Main, nil
	return m.Say(fmt.Sprintf("wrote %d files into %s: keep the secret ones, they are the way back; p provisions the .obk file", len(msg.files), msg.dir))
}
