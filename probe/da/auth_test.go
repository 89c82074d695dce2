package da

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32h5/dacred"
)

// scenarioCreds writes a scenario's credentials and loads them back as a
// user would.
func scenarioCreds(t *testing.T, name string) Credentials {
	t.Helper()
	dir := t.TempDir()
	if err := scenario.Credentials(name, dir); err != nil {
		t.Fatal(err)
	}
	c, err := LoadPassword(filepath.Join(dir, dacred.PasswordFile))
	if err == nil {
		return c
	}
	c, err = LoadCertificate(filepath.Join(dir, dacred.LeafKeyFile), filepath.Join(dir, dacred.ChainFile))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The production board regresses with the scenario's chain and key: OPEN,
// TrustZone off, flash and OBK erased.
func TestRegressClosedCertificate(t *testing.T) {
	l, sp := openScenario(t, "h533-closed-da")
	m := scenario.Model(sp)
	if m.FlashErased() {
		t.Fatal("the closed board has no program to erase")
	}
	c := scenarioCreds(t, "h533-closed-da")
	steps := map[string]int{}
	res, err := NewHost(LinkPort(l), Options{Events: func(e Event) { steps[e.Step]++ }}).Regress(context.Background(), c, PermFull)
	if err != nil {
		t.Fatalf("regression: %v", err)
	}
	for _, s := range []string{"session", "discovery", "authenticate", "granted", "reset", "reconnect", "flash", "verified"} {
		if steps[s] == 0 {
			t.Errorf("no %q event (%v)", s, steps)
		}
	}
	checkClean(t, l)
	a := res.After
	if a.State != targets.StateOpen || a.TZEN != targets.TZENDisabled || !a.FlashErased || a.FlashChecked != 512*1024 || !a.OBKChecked || !a.OBKErased {
		t.Errorf("after: %+v", a)
	}
	if m.ProductState() != targets.StateOpen || m.TZEN() != targets.TZENDisabled || !m.FlashErased() || m.OBKDARecord() != nil {
		t.Errorf("chip: %v %v erased %v OBK %x", m.ProductState(), m.TZEN(), m.FlashErased(), m.OBKDARecord())
	}
}

// Wrong credentials are refused and leave the chip as it was: a key that
// is not the chain's leaf key, or a chain that does not hold together, is
// caught offline before the chip is reset into its DA loop; a chain the
// chip does not trust is refused UNAUTHORIZED by the chip.
func TestRegressRefused(t *testing.T) {
	good := scenarioCreds(t, "h533-closed-da")
	foreign, err := dacred.NewChain(stm32h5.ModelPart(stm32h5.LineH533), []byte("someone else"))
	if err != nil {
		t.Fatal(err)
	}
	tamperedCert := func() Credentials {
		c := good
		leaf := *c.Chain[2]
		leaf.Permissions[15] ^= 1
		c.Chain = []*dacred.Certificate{c.Chain[0], c.Chain[1], &leaf}
		return c
	}
	cases := []struct {
		name    string
		c       Credentials
		want    error
		offline bool // refused before the chip is touched
	}{
		{"foreign key", Credentials{Chain: good.Chain, Key: foreign.LeafKey}, dacred.ErrKeyMismatch, true},
		{"foreign chain", Credentials{Chain: foreign.Certificates(), Key: foreign.LeafKey}, ErrUnauthorized, false},
		{"tampered certificate", tamperedCert(), dacred.ErrKeyMismatch, true},
		{"password on a certificate chip", Credentials{Password: []byte("0123456789012345")}, ErrWrongMethod, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, sp := openScenario(t, "h533-closed-da")
			m := scenario.Model(sp)
			var steps []Event
			_, err := NewHost(LinkPort(l), Options{Events: func(e Event) { steps = append(steps, e) }}).Regress(context.Background(), tc.c, PermFull)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if tc.offline && (!errors.Is(err, ErrBadCredentials) || len(steps) != 0 || m.DASessionActive()) {
				t.Errorf("refused after touching the chip (steps %v, DA loop %v): %v", steps, m.DASessionActive(), err)
			}
			checkClean(t, l)
			if m.ProductState() != targets.StateClosed || m.FlashErased() || m.OBKDARecord() == nil || m.Regressing() {
				t.Errorf("chip changed: %v erased %v", m.ProductState(), m.FlashErased())
			}
		})
	}
}
