package da

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/obytes"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32h5/dacred"
)

var hotPlugAP1 = probe.ConnectOptions{Mode: probe.ModeHotPlug, AP: 1}

// obApply writes option bytes as `ob apply` does: plan, confirm, apply.
func obApply(t *testing.T, l *probe.Link, args ...string) *obytes.Result {
	t.Helper()
	ctx := context.Background()
	if rep, err := probe.Connect(ctx, l, hotPlugAP1); err != nil || !rep.OK() {
		t.Fatalf("hot plug: %v %v", err, rep.Err)
	}
	defer func() { _ = probe.Disconnect(ctx, l) }()
	id, err := l.ReadIDCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	chip, err := targets.Identify(ctx, l, id)
	if err != nil {
		t.Fatal(err)
	}
	lay, err := obytes.ForLine(chip.Line)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := obytes.ReadSnapshot(ctx, l, lay)
	if err != nil {
		t.Fatal(err)
	}
	as, err := lay.ParseAssignments(args)
	if err != nil {
		t.Fatal(err)
	}
	p, err := obytes.MakePlan(obytes.PlanInput{Layout: lay, UID: chip.UIDString(), Before: snap}, as)
	if err != nil {
		t.Fatalf("plan %v: %v", args, err)
	}
	res, err := obytes.Apply(ctx, l, p, obytes.ApplyOptions{
		Confirm: p.Phrase, OverrideBrick: p.NeedsOverride, StateDir: t.TempDir(),
		Reconnect: func(ctx context.Context) error {
			rep, err := probe.Connect(ctx, l, hotPlugAP1)
			if err != nil {
				return err
			}
			if !rep.OK() {
				_ = l.OpenAP(ctx, 0)
				return fmt.Errorf("%w: %v", obytes.ErrCoreAPClosed, rep.Err)
			}
			return nil
		},
	})
	if err != nil {
		t.Fatalf("apply %v: %v", args, err)
	}
	return res
}

// The seed board rescued end to end: h533-provisioning → TZEN=0xC3 → make
// and provision the password configuration → prove the way back → close →
// full regression with the password → OPEN, TZEN 0xC3, flash and OBK
// erased.
func TestRescueSeedBoard(t *testing.T) {
	for _, closed := range []string{"0x72", "0xC6"} {
		t.Run(closed, func(t *testing.T) {
			ctx := context.Background()
			l, sp := openScenario(t, "h533-provisioning")
			m := scenario.Model(sp)
			obApply(t, l, "TZEN=0xC3")
			if m.TZEN() != targets.TZENDisabled {
				t.Fatalf("TZEN %v", m.TZEN())
			}
			part, err := stm32h5.LookupPart("H533")
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			fs, err := dacred.MakePassword(part, dacred.MakeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := fs.Write(dir); err != nil {
				t.Fatal(err)
			}
			obk, err := os.ReadFile(filepath.Join(dir, dacred.PasswordOBKFile))
			if err != nil {
				t.Fatal(err)
			}
			h := NewHost(LinkPort(l), Options{})
			pr, err := h.Provision(ctx, part, obk)
			if err != nil {
				t.Fatalf("provision: %v", err)
			}
			if !pr.ReadBack || pr.State != targets.StateProvisioning || m.OBKProvisionCalls() != 1 {
				t.Errorf("provisioned: %+v", pr)
			}
			d, err := h.Discover(ctx)
			if err != nil || !d.Provisioned() || d.Method() != "password" {
				t.Fatalf("discovery after provisioning: %v, %v", d, err)
			}
			c, err := LoadPassword(filepath.Join(dir, dacred.PasswordFile))
			if err != nil {
				t.Fatal(err)
			}
			if ms := ProveWayBack(WayBack{Part: part, TZEN: m.TZEN(), OBK: obk, Credentials: c, Discovery: d, Record: pr.Record}); len(ms) != 0 {
				t.Fatalf("way back not proven: %v", ms)
			}
			obApply(t, l, "PRODUCT_STATE="+closed)
			if m.ProductState() == targets.StateProvisioning || m.FlashErased() {
				t.Fatalf("not closed: %v", m.ProductState())
			}
			res, err := h.Regress(ctx, c, PermFull)
			if err != nil {
				t.Fatalf("regression: %v", err)
			}
			a := res.After
			if a.State != targets.StateOpen || a.TZEN != targets.TZENDisabled || !a.FlashErased || !a.OBKErased || !a.OBKChecked {
				t.Errorf("after: %+v", a)
			}
			if m.ProductState() != targets.StateOpen || m.TZEN() != targets.TZENDisabled || !m.FlashErased() || m.DAProvisioned() != stm32h5.DANone {
				t.Errorf("chip: %v %v erased %v DA %v", m.ProductState(), m.TZEN(), m.FlashErased(), m.DAProvisioned())
			}
			checkClean(t, l)
		})
	}
}

// A wrong password is refused UNAUTHORIZED and the chip keeps its state,
// flash and DA data; the right one then regresses it.
func TestRegressWrongPassword(t *testing.T) {
	ctx := context.Background()
	l, sp := openScenario(t, "h533-provisioning-da")
	m := scenario.Model(sp)
	h := NewHost(LinkPort(l), Options{})
	_, err := h.Regress(ctx, Credentials{Password: []byte("0123456789012346")}, PermFull)
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("wrong password: %v", err)
	}
	if m.ProductState() != targets.StateProvisioning || m.FlashErased() || m.DAProvisioned() != stm32h5.DAPassword {
		t.Fatalf("chip changed after a refusal")
	}
	if _, err := h.Regress(ctx, Credentials{Password: []byte("0123456789012346")}, PermToTZ); !errors.Is(err, ErrNotPermitted) {
		t.Errorf("password to-tz: %v", err)
	}
	res, err := h.Regress(ctx, scenarioCreds(t, "h533-provisioning-da"), PermFull)
	if err != nil || res.After.State != targets.StateOpen {
		t.Fatalf("right password: %v", err)
	}
}

// The H503 regresses with its OTP password; the hash stays in OTP.
func TestRegressH503(t *testing.T) {
	l, sp := openScenario(t, "h503-provisioning-da")
	m := scenario.Model(sp)
	res, err := NewHost(LinkPort(l), Options{}).Regress(context.Background(), scenarioCreds(t, "h503-provisioning-da"), PermFull)
	if err != nil {
		t.Fatalf("regression: %v", err)
	}
	if res.After.State != targets.StateOpen || !res.After.FlashErased || m.DAProvisioned() != stm32h5.DAPassword {
		t.Errorf("after %+v, DA %v", res.After, m.DAProvisioned())
	}
}

// LOCKED is refused before anything is sent; no NRST fails with the NRST
// sentence; a chip without DA says so.
func TestRegressRefusedBoards(t *testing.T) {
	cases := []struct {
		name string
		want error
		text string
	}{
		{"h533-locked", ErrLocked, "LOCKED is final"},
		{"no-nrst", ErrNoReply, "NRST must be wired to the probe for Debug Authentication"},
		{"h533-tz-closed-no-da", ErrNotProvisioned, "not provisioned"},
		{"h533-open", ErrNotPermitted, "OPEN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := openScenario(t, tc.name)
			_, err := NewHost(LinkPort(l), Options{}).Regress(context.Background(), Credentials{Password: []byte("x")}, PermFull)
			if !errors.Is(err, tc.want) || !contains(err, tc.text) {
				t.Fatalf("got %v, want %v with %q", err, tc.want, tc.text)
			}
			checkClean(t, l)
		})
	}
}

func contains(err error, s string) bool { return err != nil && strings.Contains(err.Error(), s) }

// The H503 way: OTP image provisioned and locked in PROVISIONING, then
// the password regresses the chip; the hash stays in OTP.
func TestProvisionH503(t *testing.T) {
	ctx := context.Background()
	l, sp := openScenario(t, "h503-open")
	m := scenario.Model(sp)
	obApply(t, l, "PRODUCT_STATE=0x17")
	part, _ := stm32h5.LookupPart("H503")
	fs, err := dacred.MakePassword(part, dacred.MakeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := NewHost(LinkPort(l), Options{})
	if _, err := h.Provision(ctx, part, fs.Get(dacred.PasswordOBKFile)); !errors.Is(err, ErrProvision) {
		t.Errorf("H503 with no OTP image: %v", err)
	}
	pr, err := h.Provision(ctx, part, fs.Get(dacred.OTPImageFile))
	if err != nil || !pr.ReadBack {
		t.Fatalf("provision: %+v %v", pr, err)
	}
	if cur, _, _ := m.OptionRegister("OTPBLR"); cur&1 == 0 {
		t.Error("OTP block 0 not locked")
	}
	d, err := h.Discover(ctx)
	if err != nil || !d.Provisioned() {
		t.Fatalf("discovery: %v %v", d, err)
	}
	pw, _ := dacred.DecodePasswordFile(fs.Get(dacred.PasswordFile))
	c := Credentials{Password: pw}
	if ms := ProveWayBack(WayBack{Part: part, OBK: fs.Get(dacred.OTPImageFile), Credentials: c, Discovery: d, Record: pr.Record}); len(ms) != 0 {
		t.Fatalf("way back: %v", ms)
	}
	obApply(t, l, "PRODUCT_STATE=0x72")
	if _, err := h.Regress(ctx, c, PermFull); err != nil {
		t.Fatalf("regression: %v", err)
	}
	if m.ProductState() != targets.StateOpen || m.DAProvisioned() != stm32h5.DAPassword {
		t.Errorf("chip %v, DA %v", m.ProductState(), m.DAProvisioned())
	}
}

// Provisioning outside PROVISIONING, or with a file unfit for the part,
// is refused before anything is written.
func TestProvisionRefused(t *testing.T) {
	ctx := context.Background()
	h533, _ := stm32h5.LookupPart("H533")
	h563, _ := stm32h5.LookupPart("H563")
	good, _ := dacred.MakePassword(h533, dacred.MakeOptions{})
	plain, _ := dacred.MakePassword(h563, dacred.MakeOptions{})
	cases := []struct {
		scenario string
		part     stm32h5.Part
		file     []byte
		want     error
	}{
		{"h533-open", h533, good.Get(dacred.PasswordOBKFile), ErrNotProvisioning},
		{"h533-closed-da", h533, good.Get(dacred.PasswordOBKFile), ErrNotProvisioning},
		{"h533-provisioning", h533, plain.Get(dacred.PasswordOBKFile), ErrProvision}, // DoEncryption=0 on a crypto part
		{"h533-provisioning", h533, good.Get(dacred.PasswordOBKFile)[:80], ErrProvision},
		{"h533-provisioning", h563, plain.Get(dacred.PasswordOBKFile), nil}, // wrong part: refused by DEV_ID
	}
	for i, tc := range cases {
		t.Run(fmt.Sprint(i, tc.scenario), func(t *testing.T) {
			l, sp := openScenario(t, tc.scenario)
			m := scenario.Model(sp)
			_, err := NewHost(LinkPort(l), Options{}).Provision(ctx, tc.part, tc.file)
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if m.OBKProvisionCalls() != 0 {
				t.Error("the ROM was asked")
			}
			checkClean(t, l)
		})
	}
}

// The seed board kept with TrustZone on: certificates made and
// provisioned, the way back proven, closed, then regressed with the chain.
func TestRescueWithCertificates(t *testing.T) {
	ctx := context.Background()
	l, sp := openScenario(t, "h533-provisioning")
	m := scenario.Model(sp)
	part, _ := stm32h5.LookupPart("H533")
	fs, err := dacred.MakeCerts(part, dacred.MakeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := fs.Write(dir); err != nil {
		t.Fatal(err)
	}
	h := NewHost(LinkPort(l), Options{})
	pr, err := h.Provision(ctx, part, fs.Get(dacred.CertOBKFile))
	if err != nil {
		t.Fatal(err)
	}
	d, err := h.Discover(ctx)
	if err != nil || d.Method() != "certificate" || !d.Provisioned() {
		t.Fatalf("discovery %v %v", d, err)
	}
	c, err := LoadCredentials("", filepath.Join(dir, dacred.LeafKeyFile), filepath.Join(dir, dacred.ChainFile))
	if err != nil {
		t.Fatal(err)
	}
	w := WayBack{Part: part, TZEN: m.TZEN(), OBK: fs.Get(dacred.CertOBKFile), Credentials: c, Discovery: d, Record: pr.Record}
	if ms := ProveWayBack(w); len(ms) != 0 {
		t.Fatalf("way back: %v", ms)
	}
	// The same files with TrustZone off would be a brick: named.
	w.TZEN = targets.TZENDisabled
	if ms := ProveWayBack(w); len(ms) != 1 || ms[0].Check != CheckMethodTZEN {
		t.Errorf("TrustZone off: %v", ms)
	}
	obApply(t, l, "PRODUCT_STATE=0x72")
	res, err := h.Regress(ctx, c, PermFull)
	if err != nil {
		t.Fatalf("regression: %v", err)
	}
	if res.After.State != targets.StateOpen || res.After.TZEN != targets.TZENDisabled || !res.After.FlashErased || !res.After.OBKErased {
		t.Errorf("after %+v", res.After)
	}
}
