package cli

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/obytes"
	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// infoOn runs info on an open bench; the error carries the output.
func infoOn(t *testing.T, b *bench.Bench, args ...string) (string, error) {
	t.Helper()
	code, out, errOut := runOn(t, b, append([]string{"info"}, args...)...)
	if code != 0 {
		return out + errOut, fmt.Errorf("exit %d: %s", code, errOut)
	}
	return out + errOut, nil
}

// leaveUnlocked writes the OPTKEYR keys behind the bench's back, as a write
// killed after them would, and optionally stages an OPTSR_PRG value.
func leaveUnlocked(t *testing.T, b *bench.Bench, stageOPTSR bool) {
	t.Helper()
	m := model(b)
	ap := m.AP(1)
	ws := [][2]uint32{{targets.FlashOPTKEYR, targets.OptKey1}, {targets.FlashOPTKEYR, targets.OptKey2}}
	if stageOPTSR {
		cur, _, _ := m.OptionRegister("OPTSR")
		ws = append(ws, [2]uint32{targets.FlashOPTSRPrg, cur ^ 1<<3}) // IWDG_SW flipped
	}
	for _, w := range ws {
		if err := ap.Write(obytes.FlashBase+w[0], chipsim.Word, w[1], 0); err != nil {
			t.Fatal(err)
		}
	}
	if !optUnlocked(t, b) {
		t.Fatal("the keys did not unlock OPTCR")
	}
}

func optUnlocked(t *testing.T, b *bench.Bench) bool {
	t.Helper()
	v, err := model(b).AP(1).Read(obytes.FlashBase+targets.FlashOPTCR, chipsim.Word, 0)
	if err != nil {
		t.Fatal(err)
	}
	return v&targets.OPTCROptLock == 0
}

// Option registers left unlocked (a SIGKILL or a stall at OPTSTRT) are
// reported by ob read (text and JSON), info and the console's snapshot;
// ob lock sets the staged _PRG back, locks them, and audits it; a second
// ob lock writes nothing.
func TestOBLockAfterUnlockedLeftover(t *testing.T) {
	dir := t.TempDir()
	b := simBench(t, "h533-open", nil)
	leaveUnlocked(t, b, true)
	out, err := runOBOn(t, b, dir, "read")
	if err != nil || !strings.Contains(out, "UNLOCKED:") || !strings.Contains(out, "stprobe ob lock") {
		t.Fatalf("ob read of an unlocked chip: %v\n%s", err, out)
	}
	if !b.Snapshot().OptionsUnlocked {
		t.Error("the bench snapshot (the console header) does not say so")
	}
	out, err = runOBOn(t, b, dir, "read", "--json")
	if err != nil || !strings.Contains(out, `"option_registers_unlocked": true`) {
		t.Fatalf("ob read --json: %v\n%s", err, out)
	}
	out, err = infoOn(t, b)
	if err != nil || !strings.Contains(out, "UNLOCKED: the option registers are unlocked") {
		t.Fatalf("info: %v\n%s", err, out)
	}
	out, err = infoOn(t, b, "--json")
	if err != nil || !strings.Contains(out, `"option_registers_unlocked": true`) {
		t.Fatalf("info --json: %v\n%s", err, out)
	}
	cur, _, _ := model(b).OptionRegister("OPTSR")
	out, err = runOBOn(t, b, dir, "lock")
	if err != nil || !strings.Contains(out, "LOCKED:") || !strings.Contains(out, "OPTSR, set back") {
		t.Fatalf("ob lock: %v\n%s", err, out)
	}
	if optUnlocked(t, b) {
		t.Fatal("OPTCR still unlocked after ob lock")
	}
	if c, p, _ := model(b).OptionRegister("OPTSR"); c != cur || p != cur {
		t.Errorf("OPTSR 0x%08X/_PRG 0x%08X after the lock, want both 0x%08X (nothing applied, nothing staged)", c, p, cur)
	}
	if b.Snapshot().OptionsUnlocked {
		t.Error("the snapshot still says unlocked")
	}
	rec := lastAudit(t, dir)
	if rec.Result != obytes.ResultLocked || !strings.HasPrefix(rec.User, "tester") || rec.ChipUID != uidH533 || strings.Join(rec.Changes, " ") != "OPTCR.OPTLOCK=1 OPTSR_PRG=_CUR" {
		t.Errorf("audit record %+v", rec)
	}
	out, err = runOBOn(t, b, dir, "read")
	if err != nil || strings.Contains(out, "option registers are unlocked") {
		t.Errorf("ob read after the lock: %v\n%s", err, out)
	}
	n := len(mustAudit(t, dir))
	out, err = runOBOn(t, b, dir, "lock")
	if err != nil || !strings.Contains(out, "already locked") || len(mustAudit(t, dir)) != n {
		t.Errorf("second ob lock: %v\n%s", err, out)
	}
}

// The next write locks them too.
func TestOBApplyLocksUnlockedLeftover(t *testing.T) {
	dir := t.TempDir()
	b := simBench(t, "h533-open", nil)
	leaveUnlocked(t, b, false)
	if out, err := runOBOn(t, b, dir, "apply", "IWDG_SW=HARDWARE", "--confirm", "apply"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	if optUnlocked(t, b) || b.Snapshot().OptionsUnlocked {
		t.Error("OPTCR left unlocked by the apply")
	}
}

func mustAudit(t *testing.T, dir string) []statefile.AuditRecord {
	t.Helper()
	recs, err := statefile.ReadAudit(dir)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
