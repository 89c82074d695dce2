package bench

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/obytes"
	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32h5/dacred"
)

// applyOB plans and applies assignments on the bench, with the override a
// brick plan needs only when brick is set.
func applyOB(t *testing.T, b *Bench, tok Token, dir string, wb *WayBackFiles, args ...string) *ApplyResult {
	t.Helper()
	ctx := context.Background()
	ch := Change{Assignments: args, WayBack: wb}
	pr, err := b.PlanOptionBytes(ctx, tok, ch)
	if err != nil {
		t.Fatalf("plan %v: %v", args, err)
	}
	res, err := b.ApplyOptionBytes(ctx, tok, ApplyRequest{Change: ch, Confirm: pr.Plan.Phrase, StateDir: dir})
	if err != nil {
		t.Fatalf("apply %v (%v): %v", args, pr.Plan.Risk, err)
	}
	return res
}

// The seed board rescued through the bench: TZEN off, password made and
// provisioned, the close planned with the proof of the way back
// (irreversible, not brick), then a full regression that saves the flash
// first; the audit log tells every step.
func TestDARescueSeedBoard(t *testing.T) {
	ctx := context.Background()
	b, tok := openSimBench(t, "h533-provisioning", Options{})
	m := scenario.Model(b.Simulated())
	state := t.TempDir()
	applyOB(t, b, tok, state, nil, "TZEN=0xC3")

	part, _ := stm32h5.LookupPart("H533")
	fs, err := dacred.MakePassword(part, dacred.MakeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := fs.Write(dir); err != nil {
		t.Fatal(err)
	}
	obk := fs.Get(dacred.PasswordOBKFile)
	prov := DARequest{Action: DAProvision, OBK: obk}
	if _, err := b.PlanDA(ctx, tok, prov); !errors.Is(err, ErrPartAmbiguous) {
		t.Fatalf("provision without --part on an H523/H533: %v", err)
	}
	prov.Part = "H533"
	p, err := b.PlanDA(ctx, tok, prov)
	if err != nil || p.Risk != guarded.Caution || p.NeedsOverride || !strings.HasPrefix(p.Phrase, "provision H533 ") {
		t.Fatalf("provision plan %+v %v", p, err)
	}
	if _, err := b.ApplyDA(ctx, tok, DAApplyRequest{DARequest: prov, Confirm: "yes", StateDir: state}); !errors.Is(err, obytes.ErrNotConfirmed) || m.OBKProvisionCalls() != 0 {
		t.Fatalf("unconfirmed provisioning: %v", err)
	}
	pres, err := b.ApplyDA(ctx, tok, DAApplyRequest{DARequest: prov, Confirm: p.Phrase, StateDir: state})
	if err != nil || pres.Provisioned == nil || !pres.Provisioned.ReadBack || pres.Backup == "" {
		t.Fatalf("provision: %+v %v", pres, err)
	}
	// The record does not say its method: the bench keeps the one the
	// provisioning used (TZEN 0xC3: password), through later reads too,
	// and answers from it what the chip allows now.
	for _, when := range []string{"after the provisioning", "after an option-byte read"} {
		s := b.Snapshot()
		if s.DA == nil || !s.DA.Provisioned || s.DA.Method != targets.DAPassword || !strings.Contains(s.DA.Source, "provisioned by stprobe") {
			t.Errorf("%s: snapshot DA %+v, want provisioned with the password method", when, s.DA)
		}
		if ans := s.MayDA(DARegress); !ans.OK {
			t.Errorf("%s: regression refused: %s", when, ans.Sentence())
		}
		if ans := s.MayDA(DAOpenDebug); ans.OK || !errors.Is(ans.Cause, da.ErrNotPermitted) {
			t.Errorf("%s: debug opening with the password method: %+v", when, ans)
		}
		if _, err := b.ReadOptionBytes(ctx, tok, OBRequest{}); err != nil {
			t.Fatal(err)
		}
	}

	creds, err := da.LoadPassword(filepath.Join(dir, dacred.PasswordFile))
	if err != nil {
		t.Fatal(err)
	}
	// Without the proof the close is brick; with it, irreversible.
	pr, err := b.PlanOptionBytes(ctx, tok, Change{Assignments: []string{"PRODUCT_STATE=0x72"}})
	if err != nil || pr.Plan.Risk != guarded.Brick {
		t.Fatalf("close without the proof: %v %v", pr, err)
	}
	wb := &WayBackFiles{Credentials: creds, OBK: obk, Part: "H533"}
	res := applyOB(t, b, tok, state, wb, "PRODUCT_STATE=0x72")
	if res.Plan.Risk != guarded.Irreversible || !res.Plan.WayBack.Proven() || m.ProductState() != targets.StateClosed {
		t.Fatalf("close: %v %+v %v", res.Plan.Risk, res.Plan.WayBack, m.ProductState())
	}
	// The state follows every job, read through AP0 once AP1 is closed,
	// and says when it could not be read again.
	wantState(t, b, "after the close", targets.StateClosed, targets.TZENDisabled, "AP0", false)
	if _, err := b.Info(ctx, tok, InfoRequest{AutoAP: true, AP: 1}); err != nil {
		t.Fatal(err)
	}
	wantState(t, b, "after info", targets.StateClosed, targets.TZENDisabled, "AP0", true)
	if _, err := b.ReadOptionBytes(ctx, tok, OBRequest{}); err != nil {
		t.Fatal(err)
	}
	wantState(t, b, "after an option-byte read", targets.StateClosed, targets.TZENDisabled, "AP0", true)
	if _, err := b.Sweep(ctx, tok, SweepRequest{Plan: smallPlan}); err != nil {
		t.Fatal(err)
	}
	wantState(t, b, "after a sweep", targets.StateClosed, targets.TZENDisabled, "DA discovery", false)
	if _, err := b.Discover(ctx, tok, da.Options{}); err != nil {
		t.Fatal(err)
	}
	wantState(t, b, "after a discovery", targets.StateClosed, targets.TZENDisabled, "DA discovery", false)

	reg := DARequest{Action: DARegress, Permission: da.PermFull, Credentials: creds}
	rp, err := b.PlanDA(ctx, tok, reg)
	if err != nil || rp.Risk != guarded.Caution || !strings.HasPrefix(rp.Phrase, "regress full ") || rp.FlashReadable {
		t.Fatalf("regress plan %+v %v", rp, err)
	}
	// AP1 is closed: the flash cannot be saved, and nothing is written.
	_, err = b.ApplyDA(ctx, tok, DAApplyRequest{DARequest: reg, Confirm: rp.Phrase, StateDir: state, SaveFlash: filepath.Join(dir, "flash.bin")})
	if !errors.Is(err, ErrDARefused) || m.ProductState() != targets.StateClosed {
		t.Fatalf("save-flash on a closed chip: %v", err)
	}
	rr, err := b.ApplyDA(ctx, tok, DAApplyRequest{DARequest: reg, Confirm: rp.Phrase, StateDir: state})
	if err != nil {
		t.Fatalf("regress: %v", err)
	}
	a := rr.Auth.After
	if a.State != targets.StateOpen || a.TZEN != targets.TZENDisabled || !a.FlashErased || !a.OBKErased || rr.Outcome != "ok" {
		t.Errorf("after %+v, outcome %s", a, rr.Outcome)
	}
	snap := b.Snapshot()
	if snap.State != targets.StateOpen || snap.DAResult != rr || rr.After == nil {
		t.Errorf("snapshot state %v, result %v", snap.State, snap.DAResult)
	}
	wantState(t, b, "after the regression", targets.StateOpen, targets.TZENDisabled, "AP1", false)
	recs, err := statefile.ReadAudit(state)
	if err != nil {
		t.Fatal(err)
	}
	var story []string
	for _, r := range recs {
		story = append(story, r.Result+": "+strings.Join(r.Changes, ", "))
	}
	// The wrong phrase is recorded as a refusal, as for every guarded write.
	want := []string{"ok: TZEN=0xC3", "refused: DA provisioning H533", "ok: DA provisioning H533", "ok: PRODUCT_STATE=0x72", "ok: DA regression full (password)"}
	if len(story) != len(want) {
		t.Fatalf("audit log:\n%s", strings.Join(story, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(story[i], w) {
			t.Errorf("audit line %d: %q, want %q", i, story[i], w)
		}
	}
}

// wantState checks the bench's product state and TZEN, the words of its
// source, and whether it says the state may be stale.
func wantState(t *testing.T, b *Bench, when string, ps targets.ProductState, tz targets.TZEN, from string, stale bool) {
	t.Helper()
	s := b.Snapshot()
	if !s.HasState || s.State != ps || s.TZEN != tz || !strings.Contains(s.StateFrom, from) || (s.StateStale != "") != stale || s.StateAt.IsZero() {
		t.Errorf("%s: state %v TZEN %v from %q stale %q at %v; want %v TZEN %v from %q stale %v",
			when, s.State, s.TZEN, s.StateFrom, s.StateStale, s.StateAt, ps, tz, from, stale)
	}
}

// A regression with the flash saved first (chip in PROVISIONING with DA,
// where AP1 reads the flash); the file holds the flash as it was.
func TestDARegressSavesFlash(t *testing.T) {
	ctx := context.Background()
	b, tok := openSimBench(t, "h533-provisioning-da", Options{})
	files, err := scenario.CredentialFiles("h533-provisioning-da")
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := dacred.DecodePasswordFile(files.Get(dacred.PasswordFile))
	reg := DARequest{Action: DARegress, Credentials: da.Credentials{Password: pw}}
	p, err := b.PlanDA(ctx, tok, reg)
	if err != nil || !p.FlashReadable || !p.OptionBytesReadable {
		t.Fatalf("plan %+v %v", p, err)
	}
	sub := subscribe(b)
	path := filepath.Join(t.TempDir(), "flash.bin")
	res, err := b.ApplyDA(ctx, tok, DAApplyRequest{DARequest: reg, Confirm: p.Phrase, StateDir: t.TempDir(), SaveFlash: path})
	if err != nil {
		t.Fatalf("regress: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil || len(data) != res.FlashBytes || res.FlashBytes == 0 || res.Backup == "" {
		t.Fatalf("saved %d bytes (%d read): %v", res.FlashBytes, len(data), err)
	}
	var steps, progress int
	for _, ev := range drain(done(), sub) {
		if s, ok := ev.(DAStep); ok {
			steps++
			if s.Step.Step == "save-flash" && s.Step.Total == res.FlashBytes {
				progress++
			}
		}
	}
	if steps < 5 || progress < 2 {
		t.Errorf("%d DA steps, %d save-flash progress steps", steps, progress)
	}
}

func subscribe(b *Bench) *Subscription {
	_, s := b.Subscribe(1 << 16)
	return s
}

// Refusals: a LOCKED chip, a chip without NRST, a wrong password (the
// chip answers UNAUTHORIZED and is unchanged), provisioning outside
// PROVISIONING.
func TestDARefusals(t *testing.T) {
	ctx := context.Background()
	wrong := da.Credentials{Password: []byte("not the password")}
	cases := []struct {
		scenario string
		req      DARequest
		plan     error // the plan's refusal, or nil when the write is refused by the chip
		text     string
	}{
		{"h533-locked", DARequest{Action: DARegress, Credentials: wrong}, da.ErrLocked, "LOCKED"},
		{"no-nrst", DARequest{Action: DARegress, Credentials: wrong}, da.ErrNoReply, "NRST must be wired to the probe for Debug Authentication"},
		{"h533-open", DARequest{Action: DARegress, Credentials: wrong}, da.ErrNotPermitted, "OPEN"},
		{"h533-tz-closed-no-da", DARequest{Action: DAOpenDebug, Credentials: wrong}, da.ErrNotProvisioned, "not provisioned"},
		{"h533-closed-da", DARequest{Action: DARegress, Credentials: wrong}, da.ErrWrongMethod, "certificate"},
		{"h533-open", DARequest{Action: DAProvision, OBK: []byte{1}, Part: "H533"}, da.ErrNotProvisioning, "PROVISIONING"},
		{"h533-provisioning-da", DARequest{Action: DARegress, Credentials: wrong}, nil, "UNAUTHORIZED"},
	}
	for _, tc := range cases {
		t.Run(tc.scenario, func(t *testing.T) {
			b, tok := openSimBench(t, tc.scenario, Options{})
			m := scenario.Model(b.Simulated())
			before, erased := m.ProductState(), m.FlashErased()
			state := t.TempDir()
			p, err := b.PlanDA(ctx, tok, tc.req)
			if tc.plan != nil {
				if !errors.Is(err, tc.plan) || !strings.Contains(err.Error(), tc.text) {
					t.Fatalf("plan: %v, want %v with %q", err, tc.plan, tc.text)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			res, err := b.ApplyDA(ctx, tok, DAApplyRequest{DARequest: tc.req, Confirm: p.Phrase, StateDir: state})
			if !errors.Is(err, da.ErrUnauthorized) || !strings.Contains(err.Error(), tc.text) || res.Outcome != "refused" {
				t.Fatalf("apply: %v (%+v)", err, res)
			}
			if m.ProductState() != before || m.FlashErased() != erased || m.DAProvisioned() == stm32h5.DANone {
				t.Errorf("chip changed after a refusal")
			}
			recs, _ := statefile.ReadAudit(state)
			if len(recs) != 1 || recs[0].Result != "refused" || !strings.Contains(recs[0].Error, "UNAUTHORIZED") {
				t.Errorf("audit %+v", recs)
			}
		})
	}
}

// The proof of the way back in option-byte plans: each kind of mismatch
// the bench can meet on the seed board done right is named, with its fix,
// and keeps the close brick; the right files make it irreversible.
func TestPlanWayBackMismatches(t *testing.T) {
	ctx := context.Background()
	const name = "h533-provisioning-da"
	files, err := scenario.CredentialFiles(name)
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := dacred.DecodePasswordFile(files.Get(dacred.PasswordFile))
	good := da.Credentials{Password: pw}
	obk := files.Get(dacred.PasswordOBKFile)
	h563, _ := stm32h5.LookupPart("H563")
	plain, _ := dacred.MakePassword(h563, dacred.MakeOptions{Password: pw}) // DoEncryption=0
	h533, _ := stm32h5.LookupPart("H533")
	other, _ := dacred.MakePassword(h533, dacred.MakeOptions{})
	otherPW, _ := dacred.DecodePasswordFile(other.Get(dacred.PasswordFile))
	certs, _ := dacred.MakeCerts(h533, dacred.MakeOptions{})
	key, _ := dacred.DecodeKeyPEM(certs.Get(dacred.LeafKeyFile))
	chain, _ := dacred.DecodeChain(certs.Get(dacred.ChainFile))
	cases := []struct {
		name   string
		args   []string
		wb     *WayBackFiles
		want   guarded.Risk
		checks []string
	}{
		{"proven", []string{"PRODUCT_STATE=0x72"}, &WayBackFiles{Credentials: good, OBK: obk, Part: "H533"}, guarded.Irreversible, nil},
		{"no part", []string{"PRODUCT_STATE=0x72"}, &WayBackFiles{Credentials: good, OBK: obk}, guarded.Brick, []string{da.CheckPart}},
		{"no credentials", []string{"PRODUCT_STATE=0x72"}, &WayBackFiles{OBK: obk, Part: "H533"}, guarded.Brick, []string{da.CheckCredentials}},
		{"no file", []string{"PRODUCT_STATE=0x72"}, &WayBackFiles{Credentials: good, Part: "H533"}, guarded.Brick, []string{da.CheckOBKFile}},
		{"another password", []string{"PRODUCT_STATE=0x72"}, &WayBackFiles{Credentials: da.Credentials{Password: otherPW}, OBK: obk, Part: "H533"}, guarded.Brick, []string{da.CheckCredentialsMatch}},
		{"unencrypted file", []string{"PRODUCT_STATE=0x72"}, &WayBackFiles{Credentials: good, OBK: plain.Get(dacred.PasswordOBKFile), Part: "H533"}, guarded.Brick, []string{da.CheckOBKEncryption}},
		{"file not provisioned", []string{"PRODUCT_STATE=0x72"}, &WayBackFiles{Credentials: da.Credentials{Password: otherPW}, OBK: other.Get(dacred.PasswordOBKFile), Part: "H533"}, guarded.Brick, []string{da.CheckChipRecord}},
		{"password with TrustZone on", []string{"PRODUCT_STATE=0x72", "TZEN=0xB4"}, &WayBackFiles{Credentials: good, OBK: obk, Part: "H533"}, guarded.Brick, []string{da.CheckMethodTZEN}},
		{"certificates on a password chip", []string{"PRODUCT_STATE=0x72"}, &WayBackFiles{Credentials: da.Credentials{Chain: chain, Key: key}, OBK: certs.Get(dacred.CertOBKFile), Part: "H533"}, guarded.Brick, []string{da.CheckMethodTZEN, da.CheckChipRecord}},
		{"not closing: no proof needed", []string{"SWAP_BANK=1"}, &WayBackFiles{}, guarded.Caution, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, tok := openSimBench(t, name, Options{})
			pr, err := b.PlanOptionBytes(ctx, tok, Change{Assignments: tc.args, WayBack: tc.wb})
			if err != nil {
				t.Fatal(err)
			}
			p := pr.Plan
			if p.Risk != tc.want {
				t.Errorf("risk %v, want %v: %+v", p.Risk, tc.want, p.WayBack)
			}
			if tc.want == guarded.Caution {
				if p.WayBack != nil {
					t.Errorf("a proof for a plan that does not close: %+v", p.WayBack)
				}
				return
			}
			got := map[string]bool{}
			for _, m := range p.WayBack.Mismatches {
				got[m.Check] = true
				if m.Problem == "" || m.Fix == "" {
					t.Errorf("mismatch without words: %+v", m)
				}
				var why string
				for _, c := range p.Changes {
					why += c.Why
				}
				// The plan names each mismatch in its proof (the CLI's
				// checklist); where the proof decided the class, its
				// explanation names them too.
				if strings.Contains(why, "NOT proven") && (!strings.Contains(why, m.Problem) || !strings.Contains(why, m.Fix)) {
					t.Errorf("the plan does not name %q with its fix", m.Problem)
				}
			}
			for _, c := range tc.checks {
				if !got[c] {
					t.Errorf("mismatch %s not named: %+v", c, p.WayBack.Mismatches)
				}
			}
			if len(tc.checks) == 0 && len(got) > 0 {
				t.Errorf("mismatches %+v", p.WayBack.Mismatches)
			}
			// The plan left the chip as it was, and the apply can follow.
			if m := scenario.Model(b.Simulated()); m.ProductState() != targets.StateProvisioning {
				t.Errorf("the proof changed the chip: %v", m.ProductState())
			}
		})
	}
}
