package obytes

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32rdp"
)

// u5TZChip is a U5 with TrustZone on, two secure pages and RDP byte rdp.
func u5TZChip(t *testing.T, rdp uint8) *stm32rdp.Model {
	t.Helper()
	m, err := stm32rdp.New(stm32rdp.Config{Family: targets.STM32U5(), DevID: targets.DevIDU57x, RDP: rdp, TZEN: true, SecurePages: 2,
		NRSTWired: true, UID: [3]uint32{1, 2, 3}, Image: bytes.Repeat([]byte{0xC3}, 256)})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestApplyU5H7 runs the U5's and H7's sequences on their models: the
// change reads back, a regression leaves the flash erased, the run is
// audited and leaves no journal.
func TestApplyU5H7(t *testing.T) {
	tests := []struct {
		name   string
		chip   func(t *testing.T) *stm32rdp.Model
		devID  uint16
		args   []string
		level  targets.RDPLevel
		erased bool
	}{
		{"U5 RDP 1→0", func(t *testing.T) *stm32rdp.Model {
			return familyChip(t, targets.STM32U5(), targets.DevIDU57x, targets.RDPByteLevel1)
		}, targets.DevIDU57x, []string{"RDP=0xAA"}, targets.RDPLevel0, true},
		{"U5 RDP 0→1", func(t *testing.T) *stm32rdp.Model {
			return familyChip(t, targets.STM32U5(), targets.DevIDU57x, targets.RDPByteLevel0)
		}, targets.DevIDU57x, []string{"RDP=0xBB"}, targets.RDPLevel1, false},
		{"U5 IWDG_STOP", func(t *testing.T) *stm32rdp.Model {
			return familyChip(t, targets.STM32U5(), targets.DevIDU57x, targets.RDPByteLevel0)
		}, targets.DevIDU57x, []string{"IWDG_STOP=0"}, targets.RDPLevel0, false},
		{"U5 level 0.5 → 0, TrustZone off", func(t *testing.T) *stm32rdp.Model {
			return u5TZChip(t, targets.RDPByteLevel05)
		}, targets.DevIDU57x, []string{"RDP=0xAA", "TZEN=0"}, targets.RDPLevel0, true},
		{"U5 level 0 → 0.5 (TrustZone on)", func(t *testing.T) *stm32rdp.Model {
			return u5TZChip(t, targets.RDPByteLevel0)
		}, targets.DevIDU57x, []string{"RDP=0x55"}, targets.RDPLevel05, false},
		{"H7 RDP 1→0", func(t *testing.T) *stm32rdp.Model {
			return familyChip(t, targets.STM32H7(), targets.DevIDH74x, targets.RDPByteLevel1)
		}, targets.DevIDH74x, []string{"RDP=0xAA"}, targets.RDPLevel0, true},
		{"H7 RDP 0→1", func(t *testing.T) *stm32rdp.Model {
			return familyChip(t, targets.STM32H7(), targets.DevIDH74x, targets.RDPByteLevel0)
		}, targets.DevIDH74x, []string{"RDP=0xBB"}, targets.RDPLevel1, false},
		{"H7 WRPSN1 and BOOT_ADD0", func(t *testing.T) *stm32rdp.Model {
			return familyChip(t, targets.STM32H7(), targets.DevIDH74x, targets.RDPByteLevel0)
		}, targets.DevIDH74x, []string{"WRPSN1=0xFE", "BOOT_ADD0=0x0810"}, targets.RDPLevel0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.chip(t)
			tg := &modelTarget{m: m}
			l, err := ForDevID(tt.devID)
			if err != nil {
				t.Fatal(err)
			}
			before, err := ReadSnapshot(context.Background(), tg, l)
			if err != nil {
				t.Fatal(err)
			}
			as, err := l.ParseAssignments(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			p, err := MakePlan(PlanInput{Layout: l, UID: "000000030000000200000001", Before: before}, as)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			res, err := Apply(context.Background(), tg, p, ApplyOptions{Confirm: p.Phrase, StateDir: dir, User: "t", Reconnect: noReconnect})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Verified || !res.Audited || res.Outcome != statefile.OutcomeApplied || res.Journal != "" {
				t.Errorf("result %+v", res)
			}
			for reg, want := range p.After {
				if res.After.Cur[reg] != want {
					t.Errorf("%s reads 0x%08X after the apply, planned 0x%08X", reg, res.After.Cur[reg], want)
				}
			}
			if m.Level() != tt.level {
				t.Errorf("level %v, want %v", m.Level(), tt.level)
			}
			erased := bytes.Equal(m.Flash(0, 256), bytes.Repeat([]byte{0xFF}, 256))
			if erased != tt.erased {
				t.Errorf("flash erased %v, want %v", erased, tt.erased)
			}
			if done, refused := m.OptionChanges(); done != 1 || refused != 0 {
				t.Errorf("the chip ran %d option changes and refused %d, want 1 and 0", done, refused)
			}
			if j, err := statefile.CheckChipJournal(dir, p.UID); j != nil || err != nil {
				t.Errorf("journal left: %v %v", j, err)
			}
		})
	}
}

// The U5's guard refuses what an OEM1 key or TrustZone forbids before
// anything is written; the brick override lets a closing through, never a
// regression that needs the key.
func TestU5Guard(t *testing.T) {
	const (
		open, closed1, open05 = 0x1FEFF8AA, 0x1FEFF8BB, 0x9FEFF855
		tz0, tz1              = 0x9FEFF8AA, 0x9FEFF8BB
		oem1                  = 1 << 18
	)
	tests := []struct {
		name           string
		before, after  uint32
		nssr           uint32
		override       bool
		refusedBecause string
	}{
		{"regression with an OEM1 key", closed1, open, oem1, true, "stprobe does not write OEM keys"},
		{"closing with an OEM1 key", open, closed1, oem1, false, "needs the brick override"},
		{"closing with an OEM1 key, override", open, closed1, oem1, true, ""},
		{"closing to 0.5 with an OEM1 key", tz0, open05, oem1, false, "needs the brick override"},
		{"closing, no key", open, closed1, 0, false, ""},
		{"TrustZone off at level 0", tz0, open, 0, false, "only together with an RDP regression"},
		{"TrustZone off with the regression", tz1, open, 0, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Plan{Before: &Snapshot{Cur: map[string]uint32{"OPTR": tt.before, "NSSR": tt.nssr}}, After: map[string]uint32{"OPTR": tt.after, "NSSR": tt.nssr}}
			f := &familyRun{x: &executor{p: p, o: ApplyOptions{OverrideBrick: tt.override}}}
			err := f.u5Guard()
			switch {
			case tt.refusedBecause == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.refusedBecause != "" && (err == nil || !strings.Contains(err.Error(), tt.refusedBecause)):
				t.Errorf("err %v, want a refusal saying %q", err, tt.refusedBecause)
			}
			if err != nil && !strings.Contains(err.Error(), "nothing written") {
				t.Errorf("refusal %q does not say nothing was written", err)
			}
		})
	}
}

// On a U5 whose OEM1 key is provisioned: a closing needs the brick
// override and then applies; a regression is refused before anything is
// written even when the plan carries an OEM1-key proof, since stprobe
// cannot check or write the key.
func TestApplyU5OEM1(t *testing.T) {
	oemChip := func(rdp uint8) *stm32rdp.Model {
		m, err := stm32rdp.New(stm32rdp.Config{Family: targets.STM32U5(), DevID: targets.DevIDU57x, RDP: rdp, OEM1Locked: true,
			NRSTWired: true, UID: [3]uint32{1, 2, 3}, Image: bytes.Repeat([]byte{0xC3}, 256)})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	plan := func(m *stm32rdp.Model, arg string, wb *WayBackProof) (*modelTarget, *Plan) {
		tg := &modelTarget{m: m}
		l, _ := ForDevID(targets.DevIDU57x)
		before, err := ReadSnapshot(context.Background(), tg, l)
		if err != nil {
			t.Fatal(err)
		}
		as, err := l.ParseAssignments([]string{arg})
		if err != nil {
			t.Fatal(err)
		}
		p, err := MakePlan(PlanInput{Layout: l, UID: "000000030000000200000001", Before: before, WayBack: wb}, as)
		if err != nil {
			t.Fatal(err)
		}
		return tg, p
	}

	m := oemChip(targets.RDPByteLevel0)
	tg, p := plan(m, "RDP=0xBB", nil)
	if p.Risk != guarded.Brick || !p.NeedsOverride {
		t.Fatalf("closing with an OEM1 key: %v, override %v; want brick", p.Risk, p.NeedsOverride)
	}
	dir := t.TempDir()
	if _, err := Apply(context.Background(), tg, p, ApplyOptions{Confirm: p.Phrase, StateDir: dir, Reconnect: noReconnect}); !errors.Is(err, ErrNeedsOverride) {
		t.Fatalf("without the override: %v", err)
	}
	if _, err := Apply(context.Background(), tg, p, ApplyOptions{Confirm: p.Phrase, OverrideBrick: true, StateDir: dir, Reconnect: noReconnect}); err != nil {
		t.Fatalf("with the override: %v", err)
	}
	if m.Level() != targets.RDPLevel1 {
		t.Errorf("level %v after the closing, want 1", m.Level())
	}

	// A plan whose way-back proof claims the OEM1 key: the rules call the
	// regression irreversible, Apply still refuses it.
	m = oemChip(targets.RDPByteLevel1)
	tg, p = plan(m, "RDP=0xAA", &WayBackProof{Method: OEMKeyMethod, Checked: []string{"the OEM1 key"}})
	if p.Risk != guarded.Irreversible {
		t.Fatalf("regression with a proof: %v", p.Risk)
	}
	_, err := Apply(context.Background(), tg, p, ApplyOptions{Confirm: p.Phrase, StateDir: t.TempDir(), Reconnect: noReconnect})
	if err == nil || !strings.Contains(err.Error(), "does not write OEM keys") {
		t.Fatalf("regression with an OEM1 key: %v, want refused", err)
	}
	if done, refused := m.OptionChanges(); done != 0 || refused != 0 || m.MassErases() != 0 || m.Level() != targets.RDPLevel1 {
		t.Errorf("the refused regression reached the chip: %d changes, %d refused, %d mass erases, level %v", done, refused, m.MassErases(), m.Level())
	}
}
