package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/obytes"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// runCLI runs stprobe with args and returns the exit code and outputs.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), Config{}, args, nil, &out, &errOut)
	return code, out.String(), errOut.String()
}

// xferHook counts the probe transfers a bench logs at trace level and calls
// at after each, on the bench's own goroutine, between two transfers.
type xferHook struct {
	n  int
	at func(n int, e *logrus.Entry)
}

func (h *xferHook) Levels() []logrus.Level { return []logrus.Level{logrus.TraceLevel} }

func (h *xferHook) Fire(e *logrus.Entry) error {
	if _, ok := e.Data["cmd"]; ok {
		h.n++
		if h.at != nil {
			h.at(h.n, e)
		}
	}
	return nil
}

// simBench opens a simulated bench the test can look into; at, when not
// nil, is called after every probe transfer with its number.
func simBench(t *testing.T, name string, at func(n int, e *logrus.Entry)) *bench.Bench {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	log.SetLevel(logrus.TraceLevel)
	log.AddHook(&xferHook{at: at})
	b, _, err := bench.Open(context.Background(), bench.Selector{Sim: name}, bench.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// model is the STM32H5 behind a simulated bench.
func model(b *bench.Bench) *stm32h5.Model { return scenario.Model(b.Simulated()) }

// runOBOn runs an ob sub-command on an open bench, as the user "tester";
// the error carries stderr when the command fails.
func runOBOn(t *testing.T, b *bench.Bench, dir string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := newApp(Config{}, nil, &out, &errOut)
	a.bench, a.user = b, "tester"
	argv := append([]string{"--sim", b.Snapshot().Scenario, "ob"}, args...)
	argv = append(argv, "--state-dir", dir)
	var err error
	if code := a.execute(context.Background(), argv); code != 0 {
		err = fmt.Errorf("exit %d: %s", code, errOut.String())
	}
	return out.String() + errOut.String(), err
}

// beforeOPTSTRT is the number of the last probe transfer before an apply
// sets OPTSTRT, found on a twin of the board: args is the ob apply.
func beforeOPTSTRT(t *testing.T, name string, args ...string) int {
	t.Helper()
	dir := t.TempDir()
	first := 0
	twin := simBench(t, name, func(n int, _ *logrus.Entry) {
		// The journal says "started" just before OPTSTRT is written.
		if es, _ := statefile.ListJournals(dir); len(es) > 0 && es[0].Journal != nil && es[0].Journal.State == statefile.OutcomeStarted && first == 0 {
			first = n
		}
	})
	if out, err := runOBOn(t, twin, dir, args...); err != nil {
		t.Fatalf("twin apply: %v\n%s", err, out)
	}
	if first < 2 {
		t.Fatalf("the twin's apply wrote no journal (first transfer after it: %d)", first)
	}
	return first - 1
}

func TestOBReadJSONSeedBoard(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "--sim", "h533-provisioning", "ob", "read", "--json", "--state-dir", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r obReadJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !r.AP1Open || r.ProductState == nil || *r.ProductState != targets.StateProvisioning {
		t.Errorf("product state %+v", r.ProductState)
	}
	if r.TZEN == nil || r.TZEN.Raw != 0xB4 {
		t.Errorf("TZEN %+v", r.TZEN)
	}
	if r.DA == nil || !r.DA.Checked || r.DA.Provisioned {
		t.Errorf("DA %+v", r.DA)
	}
	if len(r.Registers) != 14 {
		t.Errorf("%d registers", len(r.Registers))
	}
	// Text form: product state and TZEN first.
	code, out, _ = runCLI(t, "--sim", "h533-provisioning", "ob", "read", "--state-dir", dir)
	lines := strings.Split(out, "\n")
	if code != 0 || len(lines) < 3 || !strings.HasPrefix(lines[0], "product state: PROVISIONING (0x17)") || !strings.HasPrefix(lines[1], "TZEN:          ENABLED (0xB4)") {
		t.Errorf("exit %d, text:\n%s", code, out)
	}
}

func TestOBSeedStoryOnSim(t *testing.T) {
	dir := t.TempDir()
	b := simBench(t, "h533-provisioning", nil)
	m := model(b)

	// 0x17 → 0xED: refused before any write, explaining regression.
	out, err := runOBOn(t, b, dir, "apply", "PRODUCT_STATE=0xED", "--confirm", "apply")
	if err == nil || !strings.Contains(out, "REFUSED before any write") || !strings.Contains(out, "full regression") {
		t.Fatalf("apply 0xED: %v\n%s", err, out)
	}
	for _, r := range []string{"OPTSR", "OPTSR2", "NSBOOTR", "WRP1R"} {
		cur, prg, _ := m.OptionRegister(r)
		if cur != prg {
			t.Errorf("%s staged: CUR 0x%08X PRG 0x%08X", r, cur, prg)
		}
	}
	if st := m.Status(); m.ProductState() != targets.StateProvisioning || st.NSSR != 0 || st.Resets != 0 {
		t.Errorf("chip touched: state %v NSSR 0x%X resets %d", m.ProductState(), st.NSSR, st.Resets)
	}

	// 0xC6 without DA: brick; apply refuses without the override.
	code, out, _ := runCLI(t, "--sim", "h533-provisioning", "ob", "plan", "PRODUCT_STATE=0xC6", "--json", "--state-dir", dir)
	var pj obPlanJSON
	if err := json.Unmarshal([]byte(out), &pj); err != nil || code != 0 || pj.Plan == nil {
		t.Fatalf("plan: exit %d %v\n%s", code, err, out)
	}
	if pj.Plan.Risk != guarded.Brick || !pj.Plan.NeedsOverride {
		t.Fatalf("plan risk %v", pj.Plan.Risk)
	}
	phrase := pj.Plan.Phrase
	if !strings.Contains(phrase, "00450499") {
		t.Errorf("phrase %q lacks the UID part", phrase)
	}
	out, err = runOBOn(t, b, dir, "apply", "PRODUCT_STATE=0xC6", "--confirm", phrase)
	if err == nil || !strings.Contains(err.Error(), "override") || m.ProductState() != targets.StateProvisioning {
		t.Fatalf("apply without override: %v\n%s", err, out)
	}

	// With the override and the phrase: TZ_CLOSED, and only AP0 answers.
	out, err = runOBOn(t, b, dir, "apply", "PRODUCT_STATE=0xC6", "--confirm", phrase, "--override-brick")
	if err != nil {
		t.Fatalf("apply with override: %v\n%s", err, out)
	}
	if m.ProductState() != targets.StateTZClosed || m.AP1Enabled() {
		t.Fatalf("after apply: state %v AP1 %v", m.ProductState(), m.AP1Enabled())
	}
	if !strings.Contains(out, "only AP0") {
		t.Errorf("output:\n%s", out)
	}
	ctx := context.Background()
	tok, err := b.Acquire(bench.Holder{Name: "tester", Session: "test"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.Info(ctx, tok, bench.InfoRequest{Mode: probe.ModeHotPlug, AP: 1, FrequencyKHz: 4000})
	if err != nil || res.Connect.OK() {
		t.Errorf("Hot Plug AP1 after TZ_CLOSED: %v", err)
	}
	res, err = b.Info(ctx, tok, bench.InfoRequest{Mode: probe.ModeHotPlug, AP: 0, FrequencyKHz: 4000})
	if err != nil || !res.Connect.APOK {
		t.Errorf("AP0 after TZ_CLOSED: %+v %v", res, err)
	}
	o, err := b.ReadOptionBytes(ctx, tok, bench.OBRequest{})
	if err != nil || o.Closed == nil || o.Closed.StatusErr != nil || o.Closed.Enabled&2 != 0 {
		t.Errorf("DBGMCU_SR after TZ_CLOSED: %+v %v", o, err)
	}
	if err := b.Release(tok); err != nil {
		t.Fatal(err)
	}
	checkOBFiles(t, dir, "ok")

	// ob read now reports what AP0 tells and why the option bytes are unreadable.
	out, err = runOBOn(t, b, dir, "read")
	if err == nil || !strings.Contains(out, "AP1:           closed") || !strings.Contains(out, "not enabled") {
		t.Errorf("read after TZ_CLOSED: %v\n%s", err, out)
	}
}

// checkOBFiles asserts a backup and a last audit record with result.
func checkOBFiles(t *testing.T, dir, result string) {
	t.Helper()
	backups, _ := filepath.Glob(filepath.Join(dir, "backups", "*.json"))
	if len(backups) == 0 {
		t.Error("no backup file")
	}
	recs, err := statefile.ReadAudit(dir)
	if err != nil || len(recs) == 0 {
		t.Fatalf("audit log: %v", err)
	}
	if last := recs[len(recs)-1]; last.Result != result || last.ProbeSerial == "" || last.ChipUID == "" || last.User != "tester (cli)" {
		t.Errorf("last audit record %+v", last)
	}
}

func TestOBProvisionedDAIrreversible(t *testing.T) {
	// The seed board done right: the same plan as the thread's attempt 2 is
	// irreversible, not a brick, because password DA is provisioned and
	// matches TZEN=0xC3.
	dir := t.TempDir()
	b := simBench(t, "h533-provisioning-da", nil)
	m := model(b)
	proof := wayBackFlags(t, "h533-provisioning-da")
	out, err := runOBOn(t, b, dir, append([]string{"plan", "PRODUCT_STATE=0xC6"}, proof...)...)
	if err != nil || !strings.Contains(out, "risk: IRREVERSIBLE") || !strings.Contains(out, "confirmation phrase: irreversible PRODUCT_STATE=0xC6") {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	out, err = runOBOn(t, b, dir, append([]string{"apply", "PRODUCT_STATE=0xC6", "--confirm", "irreversible PRODUCT_STATE=0xC6"}, proof...)...)
	if err != nil || m.ProductState() != targets.StateTZClosed {
		t.Fatalf("apply: %v state %v\n%s", err, m.ProductState(), out)
	}
	checkOBFiles(t, dir, "ok")
	if m.AP1Enabled() {
		t.Error("AP1 still enabled in TZ_CLOSED with no non-secure application")
	}
}

func TestOBProvisionedDAClosed(t *testing.T) {
	dir := t.TempDir()
	b := simBench(t, "h533-provisioning-da", nil)
	m := model(b)
	proof := wayBackFlags(t, "h533-provisioning-da")
	out, err := runOBOn(t, b, dir, append([]string{"plan", "PRODUCT_STATE=CLOSED"}, proof...)...)
	if err != nil || !strings.Contains(out, "risk: IRREVERSIBLE") || !strings.Contains(out, "confirmation phrase: irreversible PRODUCT_STATE=0x72") {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	out, err = runOBOn(t, b, dir, append([]string{"apply", "PRODUCT_STATE=CLOSED", "--confirm", "irreversible PRODUCT_STATE=0x72"}, proof...)...)
	if err != nil || m.ProductState() != targets.StateClosed {
		t.Fatalf("apply: %v state %v\n%s", err, m.ProductState(), out)
	}
	checkOBFiles(t, dir, "ok")
}

func TestOBSafeApplyVerified(t *testing.T) {
	dir := t.TempDir()
	b := simBench(t, "h563-open", nil)
	m := model(b)
	out, err := runOBOn(t, b, dir, "apply", "WRPSGn1=0xFFFFFFFE", "BOR_LEV=LEVEL3", "--confirm", "apply")
	if err != nil || !strings.Contains(out, "verified") {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	if cur, _, _ := m.OptionRegister("WRP1R"); cur != 0xFFFFFFFE {
		t.Errorf("WRP1R_CUR 0x%08X", cur)
	}
	checkOBFiles(t, dir, "ok")
}

func TestOBInterruptedWriteJournal(t *testing.T) {
	dir := t.TempDir()
	apply := []string{"apply", "IWDG_SW=HARDWARE", "--confirm", "apply"}
	last := beforeOPTSTRT(t, "h533-open", apply...)
	var b *bench.Bench
	b = simBench(t, "h533-open", func(n int, _ *logrus.Entry) {
		if n == last { // the probe goes away just before OPTSTRT
			b.Simulated().Inject(sim.Fault{Kind: sim.FaultUnplug})
		}
	})
	m := model(b)
	before, _, _ := m.OptionRegister("OPTSR")
	out, err := runOBOn(t, b, dir, apply...)
	if err == nil || !strings.Contains(err.Error(), "registers seen") && !strings.Contains(err.Error(), "programming had started") {
		t.Fatalf("apply with unplug: %v\n%s", err, out)
	}
	if after, _, _ := m.OptionRegister("OPTSR"); after != before {
		t.Errorf("OPTSR changed although OPTSTRT never arrived: 0x%08X → 0x%08X", before, after)
	}
	checkOBFiles(t, dir, "failed")
	// The next run says so, in text and in JSON.
	code, out, errOut := runCLI(t, "--sim", "h533-open", "ob", "read", "--json", "--state-dir", dir)
	if code != 0 || !strings.Contains(errOut, "PENDING WRITE") || !strings.Contains(out, "pending_write") {
		t.Errorf("next read: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "ob", "journal", "--clear", "--state-dir", dir)
	if code != 0 || !strings.Contains(out, "IWDG_SW=0x0") || !strings.Contains(out, "journal cleared") {
		t.Errorf("journal: exit %d %s", code, out)
	}
	if j, _ := statefile.CheckJournal(dir); j != nil {
		t.Error("journal not cleared")
	}
}

func TestOBUsage(t *testing.T) {
	for _, args := range [][]string{
		{"ob"}, {"ob", "frob"}, {"ob", "plan"}, {"ob", "apply", "IWDG_SW=0"}, {"ob", "read", "X=1"},
		{"ob", "plan", "IWDG_SW=0", "--da-method", "telepathy"},
		{"ob", "--state-dir", "x", "read"},                           // flags after the sub-command
		{"ob", "apply", "IWDG_SW=0", "--confirm", "apply", "--json"}, // apply prints text only
	} {
		if code, _, _ := runCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	// A field the chip does not have, or a value it does not take, is a
	// mistake in the arguments: usage status 2, with the valid choices.
	for _, tt := range []struct{ scenario, arg, want string }{
		{"h503-open", "TZEN=0xB4", "has no field"},
		{"h563-open", "FOO=1", "has no field"},
		{"h533-provisioning", "PRODUCT_STATE=0x42", "not a valid encoding"},
		{"h563-open", "BOR_LEV=9", "does not fit"},
	} {
		for _, sub := range []string{"plan", "apply"} {
			code, out, errOut := runCLI(t, "--sim", tt.scenario, "ob", sub, tt.arg, "--confirm", "apply", "--state-dir", t.TempDir())
			if sub == "plan" {
				code, out, errOut = runCLI(t, "--sim", tt.scenario, "ob", sub, tt.arg, "--state-dir", t.TempDir())
			}
			if code != 2 || !strings.Contains(errOut, tt.want) || out != "" {
				t.Errorf("%s ob %s %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", tt.scenario, sub, tt.arg, code, out, errOut, tt.want)
			}
		}
	}
}

func TestOBOptChangeErrReportedWithRegisters(t *testing.T) {
	dir := t.TempDir()
	apply := []string{"apply", "NRST_STOP=0", "--confirm", "apply"}
	last := beforeOPTSTRT(t, "h533-provisioning", apply...)
	var b *bench.Bench
	var before uint32
	b = simBench(t, "h533-provisioning", func(n int, _ *logrus.Entry) {
		// Just before OPTSTRT, something else (firmware, a second tool)
		// stages a backward product state in OPTSR_PRG: the chip refuses
		// the change.
		if n == last {
			tamperWrite32(t, b.Simulated(), 1, obytes.FlashBase+0x54, before&^0xFF00|0xED00)
		}
	})
	m := model(b)
	before, _, _ = m.OptionRegister("OPTSR")
	out, err := runOBOn(t, b, dir, apply...)
	if err == nil || !strings.Contains(err.Error(), "OPTCHANGEERR") || !strings.Contains(err.Error(), "OPTSR_CUR=0x") || !strings.Contains(err.Error(), "NSSR=0x00800000") {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	if after, _, _ := m.OptionRegister("OPTSR"); after != before {
		t.Errorf("OPTSR_CUR changed 0x%08X → 0x%08X", before, after)
	}
	if !strings.Contains(out, "backup of the option bytes before the write") {
		t.Errorf("output lacks the backup:\n%s", out)
	}
	checkOBFiles(t, dir, "failed")
	j, jerr := statefile.CheckJournal(dir)
	if jerr != nil || j == nil || j.Seen["NSSR"] == 0 {
		t.Fatalf("journal %+v %v", j, jerr)
	}
	out, err = runOBOn(t, b, dir, "read")
	if err != nil || !strings.Contains(out, "PENDING WRITE: the interrupted write of NRST_STOP=0x0 is not applied on this chip") {
		t.Errorf("read after the failure: %v\n%s", err, out)
	}
	// Another apply is refused until the journal is cleared.
	_, err = runOBOn(t, b, dir, "apply", "NRST_STOP=0", "--confirm", "apply")
	if err == nil || !strings.Contains(err.Error(), "interrupted or failed") {
		t.Errorf("apply with a pending journal: %v", err)
	}
}

func TestOBPlanFromBackup(t *testing.T) {
	dir := t.TempDir()
	b := simBench(t, "h533-provisioning", nil)
	m := model(b)
	if out, err := runOBOn(t, b, dir, "apply", "WRPSGn1=0xF0", "SWAP_BANK=1", "--confirm", "apply"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	backups, _ := filepath.Glob(filepath.Join(dir, "backups", "*.json"))
	if len(backups) != 1 {
		t.Fatalf("backups %v", backups)
	}
	out, err := runOBOn(t, b, dir, "apply", "--from-backup", backups[0], "--confirm", "apply")
	if err != nil || !strings.Contains(out, "WRPSGn1") || !strings.Contains(out, "SWAP_BANK") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	if cur, _, _ := m.OptionRegister("WRP1R"); cur != 0xFF {
		t.Errorf("WRP1R_CUR 0x%X after restore", cur)
	}
	if code, _, _ := runCLI(t, "ob", "plan", "IWDG_SW=0", "--from-backup", backups[0]); code != 2 {
		t.Errorf("both FIELD=VALUE and --from-backup: exit %d", code)
	}
}

// tamperWrite32 writes one word to the simulated chip behind the bench's
// back, as another tool would, straight through the simulated probe.
func tamperWrite32(t *testing.T, p *sim.Probe, ap uint8, addr, v uint32) {
	t.Helper()
	var c [16]byte
	c[0], c[1] = proto.CmdDebug, proto.DebugWriteMem32
	binary.LittleEndian.PutUint32(c[2:6], addr)
	binary.LittleEndian.PutUint16(c[6:8], 4)
	c[8] = ap
	var data [4]byte
	binary.LittleEndian.PutUint32(data[:], v)
	p.Handle(c, data[:])
}

// shellWords splits a command line printed for a POSIX shell (words
// separated by spaces, single quotes as shellQuote writes them).
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for _, r := range line {
		switch {
		case r == '\'':
			quoted, inWord = !quoted, true
		case r == ' ' && !quoted:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

func TestOBPlanSuggestsRunnableApply(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state dir")
	tests := []struct {
		scenario, change string
		override         bool
		proof            []string // the proof of the way back
	}{
		{"h563-open", "BOR_LEV=2", false, nil},
		{"h533-provisioning-da", "PRODUCT_STATE=0xC6", false, wayBackFlags(t, "h533-provisioning-da")},
		{"h533-provisioning-da", "PRODUCT_STATE=0xC6", true, nil},
		{"h533-provisioning", "PRODUCT_STATE=0xC6", true, nil},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(t, append([]string{"--sim", tt.scenario, "ob", "plan", tt.change, "--state-dir", dir}, tt.proof...)...)
		if code != 0 {
			t.Fatalf("%s plan: exit %d: %s", tt.scenario, code, errOut)
		}
		var line string
		for l := range strings.Lines(out) {
			if s, ok := strings.CutPrefix(l, "to apply: "); ok {
				line = strings.TrimSpace(s)
			}
		}
		words := shellWords(line)
		if len(words) < 4 || words[0] != "stprobe" || words[1] != "--sim" || words[2] != tt.scenario {
			t.Fatalf("%s: suggested command %q does not select the same bench", tt.scenario, line)
		}
		if !strings.Contains(line, "--state-dir '"+dir+"'") {
			t.Errorf("%s: suggested command %q does not keep the state directory", tt.scenario, line)
		}
		if got := strings.Contains(line, "--override-brick"); got != tt.override {
			t.Errorf("%s: --override-brick in %q: %v, want %v", tt.scenario, line, got, tt.override)
		}
		// The suggestion, run as printed, applies the change.
		code, out, errOut = runCLI(t, words[1:]...)
		if code != 0 || !strings.Contains(out, "APPLIED") {
			t.Errorf("%s: running %q: exit %d\n%s%s", tt.scenario, line, code, out, errOut)
		}
	}
}

func TestOBApplyBrickWithoutOverrideSaysWhatToAdd(t *testing.T) {
	dir := t.TempDir()
	code, _, errOut := runCLI(t, "--sim", "h533-provisioning", "ob", "apply", "PRODUCT_STATE=0xC6",
		"--confirm", "brick 00450499 PRODUCT_STATE=0xC6", "--state-dir", dir)
	if code != 1 || !strings.Contains(errOut, "nothing was written") || !strings.Contains(errOut, "--override-brick") {
		t.Errorf("exit %d: %s", code, errOut)
	}
	if j, _ := statefile.CheckJournal(dir); j != nil {
		t.Errorf("a refused apply left a journal: %v", j)
	}
}

func TestOBFlagBeforeSubCommand(t *testing.T) {
	code, out, errOut := runCLI(t, "--sim", "h533-open", "ob", "--state-dir", t.TempDir(), "read")
	if code != 2 || out != "" || !strings.Contains(errOut, "give the sub-command first") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "ob", "-h"); code != 0 {
		t.Errorf("ob -h: exit %d: %s", code, errOut)
	}
}

// The simulated board the bench falls back to is for looking: with no
// probe chosen and none on USB, ob apply and the DA writes are refused by
// the bench (the same rule the console and the SSH bench meet); a board
// named with --sim takes the write.
func TestWritesNeverGoToTheFallbackBoard(t *testing.T) {
	noUSB := func(context.Context) ([]probe.Info, error) { return nil, nil }
	run := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		a := newApp(Config{}, nil, &out, &errOut)
		a.listUSB = noUSB
		return a.execute(context.Background(), args), errOut.String()
	}
	dir := t.TempDir()
	payload := filepath.Join(dir, "payload.bin")
	if err := os.WriteFile(payload, []byte{1, 2, 3, 4}, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"ob", "apply", "TZEN=0xC3", "--state-dir", dir, "--confirm", "apply"},
		{"mem", "write", "0x20000000", payload},
	} {
		code, errOut := run(args...)
		if code != ExitFailure || !strings.Contains(errOut, "fell back to is for looking") || !strings.Contains(errOut, "--sim SCENARIO") ||
			!strings.Contains(errOut, "no ST-LINK found on USB") {
			t.Errorf("%v on the fall-back board: exit %d, stderr %q; want refused, naming --sim", args, code, errOut)
		}
	}
	if code, errOut := run("ob", "read", "--state-dir", dir); code != ExitOK {
		t.Errorf("ob read on the fall-back board: exit %d: %s", code, errOut)
	}
	if code, errOut := run("--sim", "h533-open", "ob", "apply", "TZEN=0xB4", "--state-dir", dir, "--confirm", "apply"); code != ExitOK {
		t.Errorf("ob apply on a board named with --sim: exit %d: %s", code, errOut)
	}
}

// Both suggested command lines (ob plan's "to apply", the DA plans' "to
// run") spell the probe the same way, --share included.
func TestSelectorArgs(t *testing.T) {
	for _, tc := range []struct {
		sel  bench.Selector
		want string
	}{
		{bench.Selector{}, ""},
		{bench.Selector{Sim: "h533-open"}, "--sim h533-open"},
		{bench.Selector{Server: "bench:7184", Serial: "0670FF", Share: true}, "--server bench:7184 --probe 0670FF --share"},
		{bench.Selector{Sim: "a b"}, "--sim 'a b'"},
	} {
		if got := strings.Join(selectorArgs(tc.sel), " "); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.sel, got, tc.want)
		}
	}
}
