package sweep

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/probe/sim/scenario"
)

// familySweepWants is what the default sweep of the STM32U5 and STM32H7
// boards, and of the boards of the cross-family diagnosis rules, must show.
func familySweepWants() map[string]sweepWant {
	// h7Rows: the core on AP0, AP1 the D3 domain's memory port, which
	// answers in every mode (no core behind it).
	h7Rows := rowWant{
		"normal/AP0": OutcomeOK, "hotplug/AP0": OutcomeOK, "under-reset/AP0": OutcomeOK,
		"normal/AP1": OutcomeOK, "hotplug/AP1": OutcomeOK, "under-reset/AP1": OutcomeOK,
	}
	firmwareRules := []string{"watchdog", "boot-memory", "empty-flash"}
	return map[string]sweepWant{
		"u585-open": {
			rows: ap0Rows(OutcomeOK), first: "absent-ap",
			finds:   map[string][]string{"identity": {"STM32U575/U585", "0x482"}},
			noRules: append([]string{"rdp-level-1", "rdp-level-2", "rdp-level-0.5"}, firmwareRules...),
		},
		"u585-rdp05-tz": {
			rows: rowWant{
				"normal/AP0": OutcomeOK, "hotplug/AP0": OutcomeOK, "under-reset/AP0": OutcomeModeFailed,
				"normal/AP1": OutcomeDPOnly, "hotplug/AP1": OutcomeDPOnly, "under-reset/AP1": OutcomeDPOnly,
			},
			first: "rdp-level-0.5", title: "RDP level 0.5 with TrustZone",
			finds: map[string][]string{"rdp-level-0.5": {"FLASH_OPTR", "0x55", "TZEN set", "secure watermark", "flash at 0x08000000",
				"Under Reset fails because the core leaves reset in the secure state", "NRST is not the problem",
				"RDP=0xAA", "TZEN=0", "OEM1 key", "Never write RDP=0xCC", "OEM2 key"}},
			noRules: append([]string{"nrst-not-wired", "rdp-level-1", "rdp-level-2", "debug-closed"}, firmwareRules...),
		},
		"h743-open": {
			rows: h7Rows, first: "identity",
			finds:   map[string][]string{"identity": {"STM32H74x/H75x", "0x450"}},
			noRules: append([]string{"rdp-level-1", "rdp-level-2", "absent-ap"}, firmwareRules...),
		},
		"h743-rdp1": {
			rows: h7Rows, first: "rdp-level-1", title: "RDP level 1",
			finds: map[string][]string{"rdp-level-1": {"STM32H7", "FLASH_OPTSR_CUR", "0xBB", "flash at 0x08000000 failed",
				"mass-erases", "RDP=0xAA", "Never write RDP=0xCC"}},
			noRules: append([]string{"rdp-level-2", "rdp-level-0.5"}, firmwareRules...),
		},
		"g474-watchdog": {
			rows: rowWant{
				"normal/AP0": OutcomeModeFailed, "hotplug/AP0": OutcomeOK, "under-reset/AP0": OutcomeOK,
				"normal/AP1": OutcomeDPOnly, "hotplug/AP1": OutcomeDPOnly, "under-reset/AP1": OutcomeDPOnly,
			},
			first: "watchdog", title: "independent watchdog (IWDG) resets STM32G4",
			finds: map[string][]string{"watchdog": {"RCC_CSR at 0x40021094", "0x20000000", "DBG_IWDG_STOP (bit 12) at 0xE0042008",
				"That is why Normal failed", "Set the freeze bits before halting", "Never change the watchdog option bytes"}},
			noRules: []string{"nrst-not-wired", "only-hotplug", "boot-memory", "empty-flash", "only-under-reset"},
		},
		"l476-empty": {
			rows: ap0Rows(OutcomeOK), first: "empty-flash", title: "Main flash is empty",
			finds:   map[string][]string{"empty-flash": {"0xFFFFFFFF", "locks up", "Program the firmware", "never change option bytes or RDP"}},
			noRules: []string{"watchdog", "boot-memory", "rdp-level-1", "only-under-reset"},
		},
		"f411-boot0": {
			rows: ap0Rows(OutcomeOK), first: "boot-memory", title: "booted its system-memory bootloader",
			finds: map[string][]string{"boot-memory": {"0x1FFF0201", "system memory at 0x1FFF0000", "BOOT0 pin and the BOOT1 pin (PB2)",
				"still in main flash", "Pull BOOT0 low", "Never erase or reprogram the flash"}},
			noRules: []string{"watchdog", "empty-flash", "rdp-level-1"},
		},
	}
}

// TestFamilyUnderResetFindings: on the two boards whose firmware silences
// SWD, the only-Under-Reset finding names the family's SWD pins, its
// DBGMCU_CR and low-power bits (and what a cell read there), how to tell
// the causes apart and what never to do.
func TestFamilyUnderResetFindings(t *testing.T) {
	for name, want := range map[string][]string{
		"f411-sleepy":      {"STM32F4", "PA13 (SWDIO) and PA14 (SWCLK)", "DBG_SLEEP, DBG_STOP, DBG_STANDBY", "0xE0042004", "Read under reset, DBGMCU_CR is 0x00000000", "To tell them apart", "Never set RDP level 2"},
		"g071-swd-as-gpio": {"STM32G0", "PA13 (SWDIO) and PA14 (SWCLK)", "DBG_STOP, DBG_STANDBY (bits 1-2)", "0x40015804", "NRST_MODE", "Under Reset is its only way in"},
	} {
		t.Run(name, func(t *testing.T) {
			sc, err := scenario.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			m, _ := sweepScenario(t, sc, Plan{})
			f := findRule(Diagnose(m), "only-under-reset")
			if f == nil {
				t.Fatal("no only-under-reset finding")
			}
			text := f.Detail + " " + f.Next
			for _, w := range want {
				if !strings.Contains(text, w) {
					t.Errorf("only-under-reset lacks %q:\n%s", w, text)
				}
			}
		})
	}
}

// TestFamilyDiagnosisStable sweeps every board of the families beyond the
// STM32H5 twice, each time on a fresh bench, and requires the same
// findings in the same order with the same text.
func TestFamilyDiagnosisStable(t *testing.T) {
	for _, sc := range scenario.List() {
		if sc.RDPChip == nil {
			continue
		}
		t.Run(sc.Name, func(t *testing.T) {
			render := func() string {
				m, _ := sweepScenario(t, sc, Plan{})
				var b strings.Builder
				for _, f := range Diagnose(m) {
					fmt.Fprintf(&b, "%s|%v|%s|%s|%s|%v\n", f.Rule, f.Severity, f.Title, f.Detail, f.Next, f.Cells)
				}
				return b.String()
			}
			if a, b := render(), render(); a != b {
				t.Errorf("diagnosis differs between two sweeps:\n%s\n---\n%s", a, b)
			}
		})
	}
}
