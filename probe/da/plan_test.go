package da

import (
	"errors"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

func TestChoosePart(t *testing.T) {
	h533 := stm32h5.PartsOf(stm32h5.LineH533)
	h503 := stm32h5.PartsOf(stm32h5.LineH503)
	for _, tc := range []struct {
		name  string
		parts []stm32h5.Part
		named string
		need  bool
		want  string
		err   error
	}{
		{"the only part", h503, "", true, "H503", nil},
		{"named", h533, "h533", true, "H533", nil},
		{"named with STM32", h533, "STM32H523", true, "H523", nil},
		{"ambiguous when needed", h533, "", true, "", ErrPartAmbiguous},
		{"first when not needed", h533, "", false, "H523", nil},
		{"another line's part", h533, "H563", true, "", ErrRefused},
		{"no part", nil, "", false, "", ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ChoosePart(tc.parts, tc.named, tc.need)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("ChoosePart = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || p.Name != tc.want {
				t.Fatalf("ChoosePart = %s %v, want %s", p.Name, err, tc.want)
			}
		})
	}
	if got := LineOf(h533); got != "STM32H523/H533" {
		t.Errorf("LineOf = %q", got)
	}
}

func TestPlans(t *testing.T) {
	h533, _ := stm32h5.LookupPart("H533")
	h503, _ := stm32h5.LookupPart("H503")
	const uid = "363835303133510A00450499"
	for _, tc := range []struct {
		name   string
		p      *guarded.Plan
		kind   guarded.Kind
		risk   guarded.Risk
		phrase string
	}{
		{"open debug", PlanAuth(PermOpenDebug, "certificate", h533, "STM32H523/H533", uid, true), guarded.DebugOpening, guarded.Safe, "open-debug 00450499"},
		{"full regression", PlanAuth(PermFull, "password", h533, "STM32H523/H533", uid, false), guarded.DARegression, guarded.Caution, "regress full 00450499"},
		{"to-tz regression", PlanAuth(PermToTZ, "certificate", h533, "STM32H523/H533", uid, true), guarded.DARegression, guarded.Caution, "regress to-tz 00450499"},
		{"OBK provisioning", PlanProvision(h533, "STM32H523/H533", uid, 108), guarded.DAProvisioning, guarded.Caution, "provision H533 00450499"},
		{"OTP provisioning", PlanProvision(h503, "STM32H503", uid, 32), guarded.OTP, guarded.Irreversible, "irreversible provision H503 00450499"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			if p.Kind != tc.kind || p.Risk != tc.risk || p.Phrase != tc.phrase || p.NeedsOverride {
				t.Errorf("plan %+v", p)
			}
			if p.UID != uid || len(p.Changes) != 1 || len(p.Reasons) != 1 || len(p.Steps) == 0 || p.Erases == "" {
				t.Errorf("plan %+v: chip, changes, reasons, steps, erases", p)
			}
		})
	}
	noSave := PlanAuth(PermFull, "password", h533, "STM32H523/H533", uid, false)
	if len(noSave.Notes) != 1 || strings.Contains(strings.Join(noSave.Steps, ";"), "save the user flash") {
		t.Errorf("a regression whose flash AP1 cannot read: %+v", noSave)
	}
}

func TestCheckProvisionFile(t *testing.T) {
	h503, _ := stm32h5.LookupPart("H503")
	if ms := CheckProvisionFile(make([]byte, stm32h5.DAHashSize), h503); len(ms) != 0 {
		t.Errorf("a 32-byte OTP image: %v", ms)
	}
	if ms := CheckProvisionFile(make([]byte, 108), h503); len(ms) != 1 || ms[0].Check != CheckOTPImage {
		t.Errorf("an .obk file for the H503: %v", ms)
	}
	h533, _ := stm32h5.LookupPart("H533")
	if ms := CheckProvisionFile(nil, h533); len(ms) == 0 {
		t.Error("no file for the H533 passed")
	}
}

func TestCheckProvisioning(t *testing.T) {
	h503, _ := stm32h5.LookupPart("H503")
	image := make([]byte, stm32h5.DAHashSize)
	for _, tc := range []struct {
		name       string
		state      targets.ProductState
		closed     string
		file       []byte
		err        error
		mismatches bool
	}{
		{"fits", targets.StateProvisioning, "", image, nil, false},
		{"AP1 closed", targets.StateProvisioning, "AP1 does not answer", image, ErrNotProvisioning, false},
		{"open", targets.StateOpen, "", image, ErrNotProvisioning, false},
		{"the file does not fit", targets.StateProvisioning, "", image[:4], ErrProvision, true},
	} {
		ms, err := CheckProvisioning(tc.state, tc.closed, tc.file, h503)
		if tc.err == nil && err != nil || tc.err != nil && (!errors.Is(err, tc.err) || !errors.Is(err, ErrRefused)) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
		if (len(ms) > 0) != tc.mismatches {
			t.Errorf("%s: mismatches %v", tc.name, ms)
		}
	}
}
