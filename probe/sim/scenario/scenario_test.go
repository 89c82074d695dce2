package scenario

import (
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/adi"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
)

const csw = 0x03000052 // a secure, privileged word access

// attempt plays one connect mode on a fresh chip at the register level, the
// way scenarios.md defines "ok": Hot Plug attaches without halting, Normal
// attaches and halts, Under Reset holds NRST low, arms vector catch, releases
// and finds the core halted after a real reset. ap 0 means reading DBGMCU.
func attempt(t *testing.T, s Scenario, mode string, ap uint8) Outcome {
	t.Helper()
	chip, err := s.NewChip()
	if err != nil {
		t.Fatal(err)
	}
	if chip == nil {
		return NoACK
	}
	chip.Advance(5 * time.Millisecond) // the host takes a while to get there
	under := mode == "under-reset"
	if under {
		chip.SetNRST(true)
	}
	if !chip.SWDResponds() || chip.DPIDR() == 0 {
		return NoACK
	}
	p := chip.AP(ap)
	if p == nil || p.IDR() == 0 || !p.Enabled() {
		return Fails
	}
	if ap == 0 {
		// DBGMCU wherever a family puts it behind AP0 (0xE0044000 on
		// STM32H5, 0xE0042000 on F1/F4/G4/L4, 0x40015800 on G0).
		for _, f := range targets.Families() {
			if f.APs[0].AP != 0 {
				continue
			}
			v, err := p.Read(f.APs[0].DBGMCU, chipsim.Word, csw)
			if err != nil {
				continue
			}
			if fam, _, ok := targets.LookupDevID(uint16(v & 0xFFF)); ok && fam.Name == f.Name {
				return OK
			}
		}
		return Fails
	}
	if cpuid, err := p.Read(adi.RegCPUID, chipsim.Word, csw); err != nil || cpuid>>24 != 0x41 {
		if mode == "hotplug" {
			// An open memory port without a core (the H7's D3 AHB-AP):
			// Hot Plug attaches and inspects it, as the driver does.
			return OK
		}
		return Fails
	}
	dhcsr := func() uint32 {
		v, err := p.Read(adi.RegDHCSR, chipsim.Word, csw)
		if err != nil {
			return 0
		}
		return v
	}
	switch mode {
	case "hotplug":
		if _, err := p.Read(adi.RegDHCSR, chipsim.Word, csw); err != nil {
			return Fails
		}
		return OK
	case "normal":
		if p.Write(adi.RegDHCSR, chipsim.Word, adi.DHCSRDebugKey|adi.DHCSRCDebugEn|adi.DHCSRCHalt, csw) != nil {
			return Fails
		}
		chip.Advance(time.Millisecond)
		if dhcsr()&adi.DHCSRSHalt == 0 {
			return Fails
		}
		return OK
	}
	// Under Reset: the core must really be in reset (S_RESET_ST still set on
	// a second read), then halted at the vector after release.
	dhcsr()
	held := dhcsr()&adi.DHCSRSResetSt != 0
	if p.Write(adi.RegDHCSR, chipsim.Word, adi.DHCSRDebugKey|adi.DHCSRCDebugEn, csw) != nil ||
		p.Write(adi.RegDEMCR, chipsim.Word, adi.DEMCRVCCoreReset, csw) != nil {
		return Fails
	}
	chip.SetNRST(false)
	chip.Advance(time.Millisecond)
	if !chip.SWDResponds() {
		return NoACK
	}
	if !held || dhcsr()&adi.DHCSRSHalt == 0 {
		return Fails
	}
	return OK
}

func TestScenariosAnswerAsDocumented(t *testing.T) {
	for _, s := range List() {
		t.Run(s.Name, func(t *testing.T) {
			e := s.Expect
			checks := []struct {
				mode string
				ap   uint8
				want Outcome
			}{
				{"normal", 1, e.NormalAP1},
				{"hotplug", 1, e.HotPlugAP1},
				{"under-reset", 1, e.UnderResetAP1},
				{"under-reset", 0, e.AP0},
			}
			ap0Other := e.AP0
			if e.AP0UnderResetOnly {
				ap0Other = NoACK
			}
			checks = append(checks,
				struct {
					mode string
					ap   uint8
					want Outcome
				}{"normal", 0, ap0Other},
				struct {
					mode string
					ap   uint8
					want Outcome
				}{"hotplug", 0, ap0Other})
			for _, c := range checks {
				if got := attempt(t, s, c.mode, c.ap); got != c.want {
					t.Errorf("%s AP%d: %v, want %v", c.mode, c.ap, got, c.want)
				}
			}
		})
	}
}

func TestScenarioStates(t *testing.T) {
	tests := []struct {
		name  string
		line  uint16
		state targets.ProductState
		tzen  targets.TZEN
		da    string
	}{
		{"h533-open", 0x478, 0xED, 0xC3, "none"},
		{"h533-provisioning", 0x478, 0x17, 0xB4, "none"},
		{"h533-provisioning-da", 0x478, 0x17, 0xC3, "password"},
		{"h533-tz-closed-no-da", 0x478, 0xC6, 0xB4, "none"},
		{"h533-closed-da", 0x478, 0x72, 0xB4, "certificate"},
		{"h533-locked", 0x478, 0x5C, 0xB4, "certificate"},
		{"h503-open", 0x474, 0xED, 0x00, "none"},
		{"h503-provisioning-da", 0x474, 0x17, 0x00, "password"},
		{"h563-open", 0x484, 0xED, 0xC3, "none"},
		{"sleepy", 0x478, 0xED, 0xC3, "none"},
		{"no-nrst", 0x478, 0xED, 0xC3, "none"},
	}
	for _, tt := range tests {
		s, err := Lookup(tt.name)
		if err != nil {
			t.Fatal(err)
		}
		p := s.NewProbe()
		m := Model(p)
		if m == nil {
			t.Fatalf("%s: no STM32H5 model", tt.name)
		}
		if m.Line().DevID != tt.line || m.ProductState() != tt.state || m.TZEN() != tt.tzen || m.DAProvisioned().String() != tt.da {
			t.Errorf("%s: %s %v TZEN %v DA %v", tt.name, m.Line().Name, m.ProductState(), m.TZEN(), m.DAProvisioned())
		}
		cfg := p.Config()
		if cfg.TargetMillivolts != 3290 || cfg.Firmware.String() != "V2J46S7" || cfg.Firmware.PID != 0x3748 || len(cfg.Serial) != 24 {
			t.Errorf("%s: probe %v PID %#x %d mV serial %q", tt.name, cfg.Firmware, cfg.Firmware.PID, cfg.TargetMillivolts, cfg.Serial)
		}
	}
}

func TestListAndLookup(t *testing.T) {
	seen := map[string]bool{}
	for i, s := range List() {
		if i == 0 && s.Name != DefaultName {
			t.Errorf("first scenario %s, want the default %s", s.Name, DefaultName)
		}
		if seen[s.Name] {
			t.Errorf("duplicate %s", s.Name)
		}
		seen[s.Name] = true
		if s.Description == "" || strings.Contains(s.Description, "\n") {
			t.Errorf("%s: description must be one line", s.Name)
		}
		if _, err := s.Build(); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
	}
	for _, want := range []string{"h533-open", "h533-provisioning", "h533-provisioning-da", "h533-provisioning-no-halt",
		"h533-tz-closed-no-da", "h533-closed-da", "h533-locked", "h503-open", "h563-open", "no-target", "sleepy", "no-nrst", "generic-m33"} {
		if !seen[want] {
			t.Errorf("scenario %s missing", want)
		}
	}
	_, err := Lookup("h999")
	if err == nil || !strings.Contains(err.Error(), "h533-open") {
		t.Errorf("Lookup error %v does not list the names", err)
	}
	nt, _ := Lookup("no-target")
	if p := nt.NewProbe(); p.Chip() != nil || p.Config().TargetMillivolts != 3290 || !strings.Contains(nt.Description, "3.29 V") {
		t.Error("no-target: want no chip and 3.29 V, said in the description")
	}
}

func TestProbeKinds(t *testing.T) {
	s, _ := Lookup(DefaultName)
	for _, tt := range []struct {
		kind string
		fw   string
		pid  uint16
	}{{"v2", "V2J46S7", 0x3748}, {"v2-1", "V2J40M27", 0x374B}, {"V3", "V3J7M3", 0x374E}} {
		k, err := ParseProbeKind(tt.kind)
		if err != nil {
			t.Fatal(err)
		}
		cfg := s.WithProbe(k).NewProbe().Config()
		if cfg.Firmware.String() != tt.fw || cfg.Firmware.PID != tt.pid || cfg.Firmware.VID != 0x0483 {
			t.Errorf("%s: %v PID %#x", tt.kind, cfg.Firmware, cfg.Firmware.PID)
		}
		if !strings.Contains(k.String(), tt.fw) {
			t.Errorf("%s: String %q", tt.kind, k)
		}
	}
	if _, err := ParseProbeKind("v9"); err == nil {
		t.Error("v9 accepted")
	}
	// Each probe gets its own fresh chip.
	a, b := s.NewProbe(), s.NewProbe()
	if a.Chip() == b.Chip() {
		t.Error("two probes share a chip")
	}
}

func TestOutcomeString(t *testing.T) {
	for _, c := range []struct {
		o    Outcome
		want string
	}{
		{OK, "ok"}, {Fails, "fails"}, {NoACK, "no ACK"}, {Outcome(-1), "Outcome(-1)"}, {Outcome(3), "Outcome(3)"},
	} {
		if got := c.o.String(); got != c.want {
			t.Errorf("Outcome(%d).String() = %q, want %q", int(c.o), got, c.want)
		}
	}
}
