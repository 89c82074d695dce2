package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/obytes"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// Debug-authentication writes are guarded writes (see guarded): each is
// planned first (PlanDA), then run only with the plan's confirmation
// phrase (ApplyDA), through the same runner as option-byte writes. Their
// plans and risk classes are the DA package's (da.PlanAuth,
// da.PlanProvision).

// DAAction is a debug-authentication write.
type DAAction string

// The DA writes.
const (
	DAProvision DAAction = "provision"
	DARegress   DAAction = "regress"
	DAOpenDebug DAAction = "open-debug"
)

// Errors of the DA jobs; each refusal also matches the probe/da sentinel of
// its cause (da.ErrLocked, da.ErrNotProvisioning...) with errors.Is.
var (
	// ErrDARefused: the plan refuses the write before anything is sent.
	ErrDARefused = da.ErrRefused
	// ErrPartAmbiguous: the chip's line has several parts that take
	// different files, and none was named.
	ErrPartAmbiguous = da.ErrPartAmbiguous
)

// DARequest is a DA write to plan.
type DARequest struct {
	Action DAAction
	// Permission is the regression asked for (da.PermFull or
	// da.PermToTZ); a debug opening is da.PermOpenDebug whatever is given.
	Permission da.Permission
	// Credentials authenticate a regression or a debug opening.
	Credentials da.Credentials
	// OBK is the file to provision: the .obk file, or on the H503 the OTP
	// image make-password writes.
	OBK []byte
	// Part names the part ("H533") where the chip's line has several
	// (H523/H533, H562/H563/H573): provisioning needs it, since the parts
	// take different files.
	Part string
	// DA tunes the session (request and reply words, SWD clock); its
	// Events are the bench's (DAStep events).
	DA da.Options
}

// DAApplyRequest is a confirmed DA write.
type DAApplyRequest struct {
	DARequest
	// Confirm must equal the plan's phrase.
	Confirm string
	// StateDir holds the option-byte backup and the audit log
	// (statefile.DefaultStateDir).
	StateDir string
	// SaveFlash, for a regression, is a new file to save the user flash to
	// before the regression erases it. It needs AP1 to read flash
	// (DAPlan.FlashReadable); otherwise nothing is written.
	SaveFlash string
}

// DAPlan is a DA write planned: the chip, what the write does and erases,
// its risk class and the phrase that confirms it.
type DAPlan struct {
	Action     DAAction `json:"action"`
	Permission string   `json:"permission,omitempty"`
	// Method is the credentials' DA method ("password", "certificate").
	Method string `json:"method,omitempty"`
	// Part is the part the write is for ("" when the line has several and
	// the write does not depend on which).
	Part string `json:"part,omitempty"`
	Line string `json:"line"`
	UID  string `json:"uid"`
	// State and TZEN are the chip's now.
	State targets.ProductState `json:"state"`
	TZEN  targets.TZEN         `json:"tzen"`
	// Discovery is what the ROM reported (regression, debug opening).
	Discovery *da.Discovery `json:"discovery,omitempty"`
	// Risk, Why: the class and the reason, in obytes' terms.
	Risk guarded.Risk `json:"risk"`
	Why  string       `json:"why"`
	// Erases says what the write erases ("nothing" for the others).
	Erases string `json:"erases"`
	// Steps are what the job will do, in order.
	Steps []string `json:"steps"`
	// FlashReadable is true when AP1 reads the user flash now, so that a
	// regression can save it first.
	FlashReadable bool `json:"flash_readable"`
	// OptionBytesReadable is true when the option bytes can be backed up.
	OptionBytesReadable bool `json:"option_bytes_readable"`
	// Mismatches are the file's problems (provisioning: a plan with any is
	// refused).
	Mismatches []da.Mismatch `json:"mismatches,omitempty"`
	Notes      []string      `json:"notes,omitempty"`
	// Phrase is what the user types to confirm; NeedsOverride is never set
	// for a DA write (none can brick).
	Phrase        string `json:"phrase"`
	NeedsOverride bool   `json:"needs_override"`

	part   stm32h5.Part
	ob     *OptionBytes
	header *guarded.Plan
}

// Header is the plan as every guarded write is planned (nil for a plan
// refused before it was complete).
func (p *DAPlan) Header() *guarded.Plan {
	if p == nil {
		return nil
	}
	return p.header
}

// setHeader takes the risk, the reason, what is erased, the steps, the
// phrase and the notes from h, the DA package's plan of the write.
func (p *DAPlan) setHeader(h *guarded.Plan) {
	p.header = h
	p.Risk, p.Erases, p.Phrase, p.NeedsOverride = h.Risk, h.Erases, h.Phrase, h.NeedsOverride
	p.Why = strings.Join(h.Reasons, " ")
	p.Steps = h.Steps
	p.Notes = append(p.Notes, h.Notes...)
}

// KnownPart is the part of the connected chip as far as the bench knows
// it: the only part of its line, or the part a DA plan named for this chip
// (by its UID); "" when the line has several parts and none was named. A
// form asking for the part starts from it.
func (s Snapshot) KnownPart() string {
	ch := s.Chip
	if ch == nil {
		return ""
	}
	if parts := stm32h5.PartsOf(ch.DevID); len(parts) == 1 {
		return parts[0].Name
	}
	if p := s.DAPlan; p != nil && p.Part != "" && ch.HasUID && p.UID == ch.UIDString() {
		return p.Part
	}
	return ""
}

// DAResult is a DA write done (or failed, with what was done).
type DAResult struct {
	Plan *DAPlan `json:"plan"`
	// Backup is the option-byte backup written before the write ("" when
	// the option bytes were unreadable).
	Backup string `json:"backup,omitempty"`
	// FlashFile and FlashBytes say where the user flash was saved.
	FlashFile  string `json:"flash_file,omitempty"`
	FlashBytes int    `json:"flash_bytes,omitempty"`
	// Auth is the regression's or debug opening's outcome, with After the
	// chip as it came back (state, TZEN, flash and OBK erased).
	Auth *da.Result `json:"auth,omitempty"`
	// Provisioned is the provisioning's outcome.
	Provisioned *da.Provisioned `json:"provisioned,omitempty"`
	// After is the option bytes read once the write was done (nil when
	// AP1 stays closed).
	After *OptionBytes `json:"-"`
	// Outcome is the audit log's result: "ok", "failed", "refused" (the
	// chip refused: it is unchanged).
	Outcome string   `json:"outcome"`
	Notes   []string `json:"notes,omitempty"`
	// Audit is the line this write added to the audit log (nil when it
	// could not be written: Notes says why).
	Audit *statefile.AuditRecord `json:"-"`
}

// PlanDA plans a DA write without writing anything: for a regression or a
// debug opening it runs a discovery (which resets the chip through NRST)
// and then lets the chip boot again; for provisioning it reads the chip
// Hot Plug on AP1 and checks the file against the part. A write the chip
// cannot take is refused with an error matching ErrDARefused and the
// probe/da sentinel of the cause.
func (b *Bench) PlanDA(ctx context.Context, t Token, r DARequest) (*DAPlan, error) {
	return do(b, ctx, t, "da plan", limitShort, func(ctx context.Context) (*DAPlan, error) {
		return b.planDA(ctx, r)
	})
}

// ApplyDA plans r again, checks the confirmation, backs up the option
// bytes, saves the user flash when asked (regression), runs the write,
// reconnects and verifies (the library's checks: state, TZEN, erased flash
// and OBK, or the record read back), updates the snapshot and appends an
// audit line naming the lease holder. Each step is a DAStep event. Without
// the right phrase nothing is written.
func (b *Bench) ApplyDA(ctx context.Context, t Token, r DAApplyRequest) (*DAResult, error) {
	limit := limitWrite + da.DefaultResetTimeout
	if r.SaveFlash != "" {
		limit += memLimit(MaxMemRead)
	}
	res := &DAResult{}
	out, err := b.guardedWrite(ctx, t, write{
		job: "da " + string(r.Action), limit: limit, step: daStep,
		confirm: guarded.Confirmation{Phrase: r.Confirm}, stateDir: r.StateDir,
		build: func(guarded.Recorder) guarded.Write { return b.daWrite(r, res) },
		done: func(ctx context.Context, out *guarded.Outcome, err error) {
			if out == nil || out.Done == nil {
				return // refused before anything was written
			}
			res.Audit = out.Audit
			if out.Audit == nil {
				res.Notes = append(res.Notes, "audit log: the line could not be written")
				b.log.WithError(err).Warn("DA write not recorded in the audit log")
			} else {
				b.log.WithFields(logrus.Fields{"write": out.Audit.Changes[0], "result": res.Outcome}).Info("DA write recorded")
			}
			// Published last: the result is read-only once in the snapshot.
			b.update(func(s *Snapshot) {
				s.DAResult = res
				if res.Outcome == guarded.ResultOK && r.Action != DAOpenDebug {
					// The discovery before the write is stale: a regression
					// changes the state, a provisioning the DA data.
					s.Discovery = nil
				}
				if r.Action == DARegress && res.Outcome == guarded.ResultOK {
					s.provisioned = nil // the regression erased the DA data
				}
			})
		},
	})
	if out == nil {
		return nil, err
	}
	if guarded.Refused(err) {
		err = fmt.Errorf("%w; nothing was written", err)
	}
	return res, err
}

// daOptions are r's session options with the bench's events.
func (b *Bench) daOptions(o da.Options) da.Options {
	next := o.Events
	o.Events = func(e da.Event) {
		b.publish(func(m EventMeta) Event { return DAStep{EventMeta: m, Step: e} })
		if next != nil {
			next(e)
		}
	}
	if o.Debug == nil {
		o.Debug = b.log.Debugf
	}
	return o
}

// daWrite is the DA write r as a guarded write; it fills res as it goes.
func (b *Bench) daWrite(r DAApplyRequest, res *DAResult) guarded.Write {
	var p *DAPlan
	return guarded.Write{
		Plan: func(ctx context.Context) (*guarded.Plan, error) {
			var err error
			p, err = b.planDA(ctx, r.DARequest)
			res.Plan = p
			return p.Header(), err
		},
		Before: func() map[string]uint32 {
			if p.ob == nil || p.ob.Snap == nil {
				return nil
			}
			return p.ob.Snap.Cur
		},
		Ready: func(*guarded.Plan) error {
			switch {
			case r.StateDir == "":
				return errors.New("DA write: no state directory for the backup and the audit log")
			case r.SaveFlash != "" && r.Action != DARegress:
				return fmt.Errorf("--save-flash is for a regression, not %s; nothing was written", r.Action)
			case r.SaveFlash != "" && !p.FlashReadable:
				return fmt.Errorf("%w: the user flash cannot be saved: AP1 does not read it in %v; run the regression without --save-flash to erase it unsaved", ErrDARefused, p.State)
			}
			return nil
		},
		Backup: func(ctx context.Context, emit guarded.Emit) (string, error) {
			return b.backupDA(ctx, r, p, res, emit)
		},
		Execute: func(ctx context.Context, emit guarded.Emit) (*guarded.Done, error) {
			return b.executeDA(ctx, r, p, res)
		},
	}
}

// backupDA saves what a DA write may lose: the option bytes (when AP1
// reads them) and, for a regression asked to, the user flash.
func (b *Bench) backupDA(ctx context.Context, r DAApplyRequest, p *DAPlan, res *DAResult, emit guarded.Emit) (string, error) {
	before := p.ob
	if p.OptionBytesReadable {
		emit.Send(guarded.Event{Step: "backup", Message: "backing up the option bytes"})
		path, err := obytes.WriteBackup(r.StateDir, before.Layout, before.Chip.UIDString(), before.Snap, b.now())
		if err != nil {
			return "", fmt.Errorf("file: backing up the option bytes before the DA write (nothing was written): %w", err)
		}
		res.Backup = path
	} else {
		note := "the option bytes were not backed up: AP1 does not read them"
		if r.Action == DARegress && r.Permission == da.PermFull {
			note += " (a full regression returns them to factory values)"
		}
		res.Notes = append(res.Notes, note)
	}
	if r.SaveFlash != "" {
		n, err := b.saveFlash(ctx, r.SaveFlash, before.Chip, emit)
		if err != nil {
			return res.Backup, fmt.Errorf("saving the user flash before the regression (nothing was written): %w", err)
		}
		res.FlashFile, res.FlashBytes = r.SaveFlash, n
	}
	return res.Backup, nil
}

// executeDA runs the DA write of plan p and reads the chip back.
func (b *Bench) executeDA(ctx context.Context, r DAApplyRequest, p *DAPlan, res *DAResult) (*guarded.Done, error) {
	h := da.NewHost(da.LinkPort(b.link), b.daOptions(r.DA))
	var err error
	switch r.Action {
	case DAProvision:
		res.Provisioned, err = h.Provision(ctx, p.part, r.OBK)
		if err == nil && res.Provisioned != nil {
			b.keepProvisionedMethod(p, res.Provisioned.TZEN)
		}
	case DARegress:
		res.Auth, err = h.Regress(ctx, r.Credentials, r.Permission)
	case DAOpenDebug:
		res.Auth, err = h.OpenDebug(ctx, r.Credentials)
	}
	res.Outcome = guarded.ResultOK
	switch {
	case errors.Is(err, da.ErrUnauthorized), errors.Is(err, da.ErrNotPermitted), errors.Is(err, da.ErrWrongMethod),
		errors.Is(err, da.ErrLocked), errors.Is(err, da.ErrNotProvisioned), errors.Is(err, da.ErrProvision) && res.Provisioned == nil:
		res.Outcome = guarded.ResultRefused
	case err != nil:
		res.Outcome = guarded.ResultFailed
	}
	if err != nil && res.Outcome == guarded.ResultRefused && r.Action != DAProvision {
		// A refused authentication leaves the chip in the ROM's DA loop.
		_ = h.Reboot(ctx)
	}
	b.afterDA(ctx, r, res)
	d := &guarded.Done{Result: res.Outcome, Changes: slices.Clone(p.header.Changes)}
	if res.Auth != nil && res.Auth.After != nil {
		a := res.Auth.After
		d.Changes = append(d.Changes, fmt.Sprintf("after: %v TZEN %v flash erased %v OBK erased %v", a.State, a.TZEN, a.FlashErased, a.OBKErased))
	}
	if res.FlashFile != "" {
		d.Changes = append(d.Changes, fmt.Sprintf("user flash saved to %s (%d bytes)", res.FlashFile, res.FlashBytes))
	}
	if p.ob != nil && p.ob.Snap != nil {
		d.Before = p.ob.Snap.Cur
	}
	if res.After != nil && res.After.Snap != nil {
		d.After = res.After.Snap.Cur
	}
	return d, err
}

func (b *Bench) planDA(ctx context.Context, r DARequest) (*DAPlan, error) {
	switch r.Action {
	case DAProvision:
		return b.planProvision(ctx, r)
	case DARegress, DAOpenDebug:
		return b.planAuth(ctx, r)
	}
	return nil, fmt.Errorf("DA action %q: want provision, regress or open-debug", r.Action)
}

// planAuth plans a regression or a debug opening from a discovery.
func (b *Bench) planAuth(ctx context.Context, r DARequest) (*DAPlan, error) {
	perm := r.Permission
	if r.Action == DAOpenDebug {
		perm = da.PermOpenDebug
	} else if perm != da.PermFull && perm != da.PermToTZ {
		return nil, fmt.Errorf("DA regression: permission %v is not a regression (full or to-tz)", perm)
	}
	method := r.Credentials.Method()
	if method == "" {
		return nil, da.Refuse(da.ErrWrongMethod, "no credentials: give a password file, or the leaf key and the certificate chain")
	}
	h := da.NewHost(da.LinkPort(b.link), b.daOptions(r.DA))
	d, err := h.Discover(ctx)
	if err != nil {
		return nil, err
	}
	b.update(func(s *Snapshot) { s.setDiscovery(d, b.now()) })
	// The discovery leaves the chip in the ROM's DA loop: let it boot.
	if err := h.Reboot(ctx); err != nil {
		return nil, err
	}
	p := &DAPlan{
		Action: r.Action, Permission: perm.String(), Method: method, Discovery: d,
		State: d.State, TZEN: targets.TZENAbsent,
		UID: fmt.Sprintf("%08X%08X%08X", d.UID[2], d.UID[1], d.UID[0]),
	}
	parts := stm32h5.PartsOf(uint16(d.SoCClass))
	if len(parts) == 0 {
		return nil, da.Refuse(da.ErrUnsupported, "the chip reports SoC class 0x%03X, not an STM32H5 part stprobe knows", d.SoCClass)
	}
	if p.part, err = da.ChoosePart(parts, r.Part, false); err != nil {
		return nil, err
	}
	p.Part = r.Part
	if len(parts) == 1 {
		p.Part = parts[0].Name
	}
	p.Line = da.LineOf(parts)
	// The rule a face asks before planning (Snapshot.MayDA; a plan only
	// looks, so the fall-back board may plan), on the snapshot the
	// discovery just updated; then the credentials' checks.
	if c := b.Snapshot().daChipAllows(r.Action); !c.OK {
		return nil, c.Refusal()
	}
	if err := refuseAuth(d, r.Credentials, perm); err != nil {
		return nil, err
	}
	// What AP1 shows now: the option bytes to back up, the flash to save.
	o, err := b.readOB(ctx, OBRequest{})
	if err != nil {
		p.Notes = append(p.Notes, "AP1 could not be read: "+err.Error())
	} else {
		p.ob = o
		p.OptionBytesReadable = o.Closed == nil && o.Snap != nil
		p.FlashReadable = p.OptionBytesReadable && o.Chip != nil && o.Chip.HasFlashSize
		if tz := o.Field("TZEN"); tz != nil {
			p.TZEN = targets.TZEN(tz.Raw)
		}
	}
	if err := probe.Disconnect(ctx, b.link); err != nil {
		return nil, err
	}
	p.setHeader(da.PlanAuth(perm, method, p.part, p.Line, p.UID, p.FlashReadable))
	b.update(func(s *Snapshot) { s.DAPlan = p })
	return p, nil
}

// refuseAuth refuses what the chip cannot grant, from its discovery, so
// that the plan says it before any confirmation (the library checks the
// same again before it sends anything).
func refuseAuth(d *da.Discovery, c da.Credentials, perm da.Permission) error {
	if u := da.Unmet(da.Preconditions(d, c, perm)); u != nil {
		return u.Refusal()
	}
	return nil
}

// planProvision plans handing a file to the ROM in PROVISIONING.
func (b *Bench) planProvision(ctx context.Context, r DARequest) (*DAPlan, error) {
	if len(r.OBK) == 0 {
		return nil, da.Refuse(da.ErrProvision, "no file to provision")
	}
	o, err := b.readOB(ctx, OBRequest{})
	if err != nil {
		return nil, err
	}
	if err := probe.Disconnect(ctx, b.link); err != nil {
		return nil, err
	}
	p := &DAPlan{Action: DAProvision, ob: o, Line: o.Chip.Line.Name, UID: o.Chip.UIDString(), TZEN: targets.TZENAbsent}
	parts := stm32h5.PartsOf(o.Chip.DevID)
	if len(parts) == 0 {
		return nil, da.Refuse(da.ErrProvision, "%s is not an STM32H5 part with debug authentication", o.Chip.Line.Name)
	}
	if p.part, err = da.ChoosePart(parts, r.Part, true); err != nil {
		return nil, err
	}
	p.Part = p.part.Name
	if ps := o.Field("PRODUCT_STATE"); ps != nil {
		p.State = targets.ProductState(ps.Raw)
	}
	if tz := o.Field("TZEN"); tz != nil {
		p.TZEN = targets.TZEN(tz.Raw)
	}
	p.OptionBytesReadable = o.Snap != nil
	closed := ""
	if o.Closed != nil {
		closed = o.Closed.Why()
	}
	if p.Mismatches, err = da.CheckProvisioning(p.State, closed, r.OBK, p.part); err != nil {
		if p.Mismatches != nil {
			b.update(func(s *Snapshot) { s.DAPlan = p })
			return p, err
		}
		return nil, err
	}
	if o.DA.Checked && o.DA.Provisioned {
		p.Notes = append(p.Notes, fmt.Sprintf("the chip already holds DA data (%v): provisioning replaces it", o.DA))
	}
	p.setHeader(da.PlanProvision(p.part, p.Line, p.UID, len(r.OBK)))
	b.update(func(s *Snapshot) { s.DAPlan = p })
	return p, nil
}

// afterDA reads the chip again (the option bytes, when AP1 reads them)
// and updates the snapshot's state.
func (b *Bench) afterDA(ctx context.Context, r DAApplyRequest, res *DAResult) {
	if res.Auth != nil && res.Auth.After != nil {
		a := res.Auth.After
		b.update(func(s *Snapshot) {
			s.setState(a.State, a.TZEN, a.TZEN != 0, "DA "+string(r.Action)+": read after the authentication", b.now())
		})
	}
	if r.Action == DARegress && r.Permission == da.PermToTZ {
		return // AP1 stays closed in TZ_CLOSED
	}
	o, err := b.readOB(ctx, OBRequest{})
	if err == nil && o.Closed == nil {
		res.After = o
	}
	_ = probe.Disconnect(ctx, b.link)
}

// provisionedDA is the DA method of the data this bench provisioned into
// the chip uid.
type provisionedDA struct {
	uid    string
	method targets.DAMethod
	tzen   targets.TZEN
}

// keepProvisionedMethod records the method of the data just provisioned
// by plan p into a chip whose TZEN is tzen: the one method the chip's ROM
// accepts with that TZEN (targets.Line.DAMethodFor), since the DA record
// itself does not say which it is for. The snapshot's DA tells it from
// then on (withProvisionedMethod).
func (b *Bench) keepProvisionedMethod(p *DAPlan, tzen targets.TZEN) {
	if p.ob == nil || p.ob.Chip == nil {
		return
	}
	m, ok := p.ob.Chip.Line.DAMethodFor(tzen)
	if !ok {
		return
	}
	b.update(func(s *Snapshot) { s.provisioned = &provisionedDA{uid: p.UID, method: m, tzen: tzen} })
}

// withProvisionedMethod is st, the DA status the option bytes of the chip
// uid tell, with the method this bench provisioned when they do not tell
// it.
func (s *Snapshot) withProvisionedMethod(st targets.DAStatus, uid string) targets.DAStatus {
	k := s.provisioned
	if k == nil || k.uid != uid || !st.Checked || !st.Provisioned || st.Method != targets.DAMethodUnknown {
		return st
	}
	st.Method = k.method
	st.Source += fmt.Sprintf("; method %s: provisioned by stprobe with TZEN %v", k.method, k.tzen)
	return st
}
