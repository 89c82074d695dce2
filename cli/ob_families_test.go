package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/targets"
)

// fieldOf finds a decoded field in ob read --json.
func fieldOf(r obReadJSON, name string) (reg string, raw uint32, text string, ok bool) {
	for _, rg := range r.Registers {
		for _, f := range rg.Fields {
			if f.Field == name {
				return rg.Name, f.Raw, f.Text(), true
			}
		}
	}
	return "", 0, "", false
}

// ob read on the RDP families goes through the core port (AP0), not Hot
// Plug on AP1, and decodes every option-register field.
func TestOBReadFamilies(t *testing.T) {
	cases := []struct {
		scenario string
		family   string
		level    targets.RDPLevel
		regs     []string
		fields   map[string]string // field → Text()
	}{
		{"f103-rdp1", "STM32F1", targets.RDPLevel1, []string{"OBR", "WRPR"},
			map[string]string{"RDP": "LEVEL1 (0x1)", "WDG_SW": "SOFTWARE (0x1)", "nRST_STOP": "NO_RESET (0x1)", "nRST_STDBY": "NO_RESET (0x1)", "Data0": "0xFF", "Data1": "0xFF", "WRP": "0xFFFFFFFF"}},
		{"l476-open", "STM32L4", targets.RDPLevel0, []string{"OPTR", "WRP1AR", "WRP1BR", "WRP2AR", "WRP2BR"},
			map[string]string{"RDP": "0xAA", "BOR_LEV": "LEVEL0 (0x0)", "IWDG_SW": "SOFTWARE (0x1)", "BFB2": "BANK1 (0x0)", "DUALBANK": "DUAL (0x1)", "nBOOT1": "SYSTEM (0x1)", "SRAM2_RST": "KEPT (0x1)", "WRP1A_STRT": "0xFF", "WRP1A_END": "0x0"}},
		{"f411-open", "STM32F4", targets.RDPLevel0, []string{"OPTCR"},
			map[string]string{"RDP": "0xAA", "BOR_LEV": "OFF (0x3)", "WDG_SW": "SOFTWARE (0x1)", "nWRP": "0xFFF", "SPRMOD": "WRITE_PROTECT (0x0)"}},
		{"g071-open", "STM32G0", targets.RDPLevel0, []string{"OPTR", "WRP1AR", "WRP1BR"},
			map[string]string{"RDP": "0xAA", "BOREN": "DISABLED (0x0)", "NRST_MODE": "BIDIRECTIONAL (0x3)", "nBOOT_SEL": "nBOOT0_BIT (0x1)", "nBOOT0": "FLASH (0x1)"}},
		{"g474-open", "STM32G4", targets.RDPLevel0, []string{"OPTR", "WRP1AR", "WRP1BR", "WRP2AR", "WRP2BR"},
			map[string]string{"RDP": "0xAA", "NRST_MODE": "BIDIRECTIONAL (0x3)", "nSWBOOT0": "BOOT0_PIN (0x1)", "CCMSRAM_RST": "KEPT (0x1)"}},
	}
	for _, c := range cases {
		t.Run(c.scenario, func(t *testing.T) {
			code, out, errOut := runCLI(t, "--sim", c.scenario, "ob", "read", "--json", "--state-dir", t.TempDir())
			if code != 0 {
				t.Fatalf("exit %d: %s%s", code, out, errOut)
			}
			var r obReadJSON
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if r.Family != c.family || r.CoreAP == nil || *r.CoreAP != 0 || r.AP1Open || r.Error != "" {
				t.Fatalf("family %q core AP %v ap1_open %v error %q", r.Family, r.CoreAP, r.AP1Open, r.Error)
			}
			if r.Protection == nil || r.Protection.Level != c.level {
				t.Errorf("protection %+v, want %v", r.Protection, c.level)
			}
			var names []string
			for _, rg := range r.Registers {
				names = append(names, rg.Name)
				if rg.Cur != rg.Prg {
					t.Errorf("%s: prg 0x%08X differs from cur 0x%08X on a family without _PRG", rg.Name, rg.Prg, rg.Cur)
				}
			}
			if strings.Join(names, ",") != strings.Join(c.regs, ",") {
				t.Errorf("registers %v, want %v", names, c.regs)
			}
			for name, want := range c.fields {
				if _, _, got, ok := fieldOf(r, name); !ok || got != want {
					t.Errorf("%s = %q (present %v), want %q", name, got, ok, want)
				}
			}
			if !strings.HasPrefix(r.WriteNote, "stprobe ob apply: ") {
				t.Errorf("write note %q", r.WriteNote)
			}
			// Text form: no word of AP1 or of a closed port.
			code, out, errOut = runCLI(t, "--sim", c.scenario, "ob", "read", "--state-dir", t.TempDir())
			if code != 0 || strings.Contains(out+errOut, "AP1") || !strings.Contains(out, "AP0, the "+c.family+" core port") {
				t.Fatalf("exit %d:\n%s%s", code, out, errOut)
			}
		})
	}
}

// ob plan on a family classifies RDP changes and names what is lost; ob
// apply runs the family's own sequence end to end: RDP=0xAA on an F1 at
// level 1 leaves it at level 0 with its flash mass-erased, read back and
// audited; ob lock refuses (nothing is ever staged on these chips).
func TestOBPlanApplyFamilies(t *testing.T) {
	code, out, errOut := runCLI(t, "--sim", "f103-rdp1", "ob", "plan", "RDP=0xAA", "--state-dir", t.TempDir())
	if code != 0 || !strings.Contains(out, "IRREVERSIBLE  RDP") || !strings.Contains(out, "mass-erases the whole main flash") ||
		!strings.Contains(out, "Save first what can still be read") || !strings.Contains(out, "reconnect Hot Plug on AP0") ||
		!strings.Contains(out, "confirmation phrase: irreversible RDP=0x0") || strings.Contains(out, "DA data") {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "--sim", "l476-open", "ob", "plan", "RDP=0xCC", "--state-dir", t.TempDir())
	if code != 0 || !strings.Contains(out, "BRICK         RDP") || !strings.Contains(out, "permanent") {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "--sim", "l476-rdp2", "ob", "plan", "RDP=0xAA", "--state-dir", t.TempDir())
	if code == 0 {
		t.Fatalf("a plan on a silent RDP 2 chip succeeded:\n%s%s", out, errOut)
	}

	// The F1 regression, end to end.
	dir := t.TempDir()
	code, out, errOut = runCLI(t, "--sim", "f103-rdp1", "ob", "apply", "RDP=0xAA", "--confirm", "irreversible RDP=0x0", "--state-dir", dir)
	for _, w := range []string{"program: RDP ← 0xA5", "reset: resetting the chip", "APPLIED", "RDP             LEVEL1 (0x1) → LEVEL0 (0x0)",
		"RDP is level 0 and the flash was mass-erased: 0x08000000 reads 0xFFFFFFFF", "verified"} {
		if code != 0 || !strings.Contains(out+errOut, w) {
			t.Fatalf("exit %d, output lacks %q:\n%s%s", code, w, out, errOut)
		}
	}
	audit, err := os.ReadFile(filepath.Join(dir, "audit.jsonl"))
	if err != nil || !strings.Contains(string(audit), `"changes":["RDP=0x0"]`) || !strings.Contains(string(audit), `"outcome":"applied"`) ||
		!strings.Contains(string(audit), `"after":{"OBR":67108860`) {
		t.Fatalf("audit log: %v\n%s", err, audit)
	}
	backups, _ := filepath.Glob(filepath.Join(dir, "backups", "ob-*.json"))
	if len(backups) != 1 {
		t.Errorf("backups %v, want one", backups)
	}

	// Rehearsed on the chip's twin first: the twin ends at level 0.
	code, out, errOut = runCLI(t, "--sim", "f103-rdp1", "ob", "apply", "RDP=0xAA", "--rehearse", "--confirm", "irreversible RDP=0x0", "--state-dir", t.TempDir())
	if code != 0 || !strings.Contains(out+errOut, "rehearsed: the twin ended at RDP level 0 (0xA5)") || !strings.Contains(out, "APPLIED") {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}

	// Without the phrase nothing is written.
	code, out, errOut = runCLI(t, "--sim", "f103-rdp1", "ob", "apply", "RDP=0xAA", "--confirm", "apply", "--state-dir", t.TempDir())
	if code == 0 || !strings.Contains(errOut, "confirmation phrase does not match") {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}

	// An ordinary option on the L4: OPTSTRT, then OBL_LAUNCH resets the
	// chip and drops the link; the apply reconnects and reads it back.
	code, out, errOut = runCLI(t, "--sim", "l476-open", "ob", "apply", "IWDG_STOP=0", "--confirm", "apply", "--state-dir", t.TempDir())
	if code != 0 || !strings.Contains(out+errOut, "OBL_LAUNCH") || !strings.Contains(out, "APPLIED") || !strings.Contains(out, "verified") {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "--sim", "g071-open", "ob", "lock", "--state-dir", t.TempDir())
	if code == 0 || !strings.Contains(errOut, "nothing was locked") {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
}
