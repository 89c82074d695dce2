package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/obytes"
	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32h5/dacred"
)

func runDA(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := Run(context.Background(), Config{}, args, nil, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCmdDADiscover(t *testing.T) {
	code, out, errOut := runDA("--sim", "h533-tz-closed-no-da", "da", "discover", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got struct {
		State       *targets.ProductState `json:"product_state"`
		Provisioned bool                  `json:"provisioned"`
		DevID       string                `json:"dev_id"`
		UID         string                `json:"uid"`
		Discovery   *da.Discovery         `json:"discovery"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if got.State == nil || *got.State != targets.StateTZClosed || got.Provisioned || got.DevID != "0x478" || len(got.UID) != 24 {
		t.Errorf("summary %+v", got)
	}
	if d := got.Discovery; d == nil || d.State != targets.StateTZClosed || d.Provisioned() || d.SoCClass != 0x478 {
		t.Errorf("discovery %v", d)
	}
	code, out, _ = runDA("--sim", "h533-closed-da", "da", "discover", "--request", "STDA", "--reply", "0x53544441")
	if code != 0 || !strings.Contains(out, "CLOSED (lifecycle 0x2072), DA provisioned") {
		t.Errorf("exit %d: %s", code, out)
	}
	code, _, errOut = runDA("--sim", "no-nrst", "da", "discover")
	if code != 1 || !strings.Contains(errOut, "NRST must be wired") {
		t.Errorf("no-nrst: exit %d: %s", code, errOut)
	}
	if code, _, _ = runDA("--sim", "h533-open", "da", "discover", "--request", "toolong"); code != 2 {
		t.Errorf("bad word: exit %d", code)
	}
	if code, _, _ = runDA("--sim", "h533-open", "da"); code != 2 {
		t.Errorf("no subcommand: exit %d", code)
	}
}

// serveSim starts `stprobe sim serve` for scenario on a free port and
// returns its address; it stops when the test ends.
func serveSim(t *testing.T, name string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		code := Run(ctx, Config{}, []string{"--sim", name, "sim", "serve", "--listen", "127.0.0.1:0"}, nil, pw, io.Discard)
		pw.Close()
		done <- code
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the listen line: %v", err)
	}
	go io.Copy(io.Discard, pr)
	i := strings.LastIndex(line, " on ")
	if i < 0 {
		t.Fatalf("listen line %q", line)
	}
	return strings.TrimSpace(line[i+4:])
}

// step runs one command line and fails the test unless it exits with
// want; it returns stdout.
func step(t *testing.T, want int, args ...string) string {
	t.Helper()
	code, out, errOut := runDA(args...)
	if code != want {
		t.Fatalf("stprobe %s: exit %d, want %d\n%s\n%s", strings.Join(args, " "), code, want, out, errOut)
	}
	return out
}

// daPlanOf decodes the plan of a --json DA or ob plan.
func daPlanOf(t *testing.T, out string) (risk, phrase string, override bool, wb *obytes.WayBackProof) {
	t.Helper()
	var v struct {
		Plan struct {
			Risk          string               `json:"risk"`
			Phrase        string               `json:"phrase"`
			NeedsOverride *bool                `json:"needs_override"`
			WayBack       *obytes.WayBackProof `json:"way_back"`
		} `json:"plan"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Plan.NeedsOverride == nil {
		t.Fatalf("plan JSON: %v in %s", err, out)
	}
	return v.Plan.Risk, v.Plan.Phrase, *v.Plan.NeedsOverride, v.Plan.WayBack
}

// The seed board rescued end to end by the command line, through one
// long-lived simulated stlink-server: TrustZone off, a password made and
// provisioned, the close proven (irreversible, not brick), the full
// regression; ob read shows OPEN and TZEN 0xC3, the regression checked
// flash and OBK erased, and the audit log tells the story.
func TestCLIRescueSeedBoard(t *testing.T) {
	srv := []string{"--server", serveSim(t, "h533-provisioning")}
	state, creds := t.TempDir(), t.TempDir()
	on := func(args ...string) []string {
		return append(append(append([]string{}, srv...), args...), "--state-dir", state)
	}

	step(t, 0, on("ob", "apply", "TZEN=0xC3", "--confirm", "apply")...)
	step(t, 0, "da", "make-password", "--part", "H533", "--out", creds)
	step(t, 2, "da", "make-password", "--part", "H533", "--out", creds) // never overwrites credentials
	pw, obk := filepath.Join(creds, dacred.PasswordFile), filepath.Join(creds, dacred.PasswordOBKFile)

	step(t, 2, on("da", "provision", "--obk", obk)...) // H523 or H533?
	risk, phrase, override, _ := daPlanOf(t, step(t, 0, on("da", "provision", "--obk", obk, "--part", "H533", "--json")...))
	if risk != "caution" || override || !strings.HasPrefix(phrase, "provision H533 ") {
		t.Fatalf("provision plan: %s %q %v", risk, phrase, override)
	}
	step(t, 1, on("da", "provision", "--obk", obk, "--part", "H533", "--confirm", "provision")...)
	step(t, 0, on("da", "provision", "--obk", obk, "--part", "H533", "--confirm", phrase)...)
	if out := step(t, 0, append(srv, "da", "check-obk", obk, "--part", "H533")...); !strings.Contains(out, "OK: the file fits") {
		t.Errorf("check-obk: %s", out)
	}

	// Closing: brick without the proof, irreversible with it.
	if risk, _, override, _ := daPlanOf(t, step(t, 0, on("ob", "plan", "PRODUCT_STATE=0x72", "--json")...)); risk != "brick" || !override {
		t.Fatalf("close without the proof: %s", risk)
	}
	proof := []string{"--password", pw, "--obk", obk, "--part", "H533"}
	risk, phrase, override, wb := daPlanOf(t, step(t, 0, on(append([]string{"ob", "plan", "PRODUCT_STATE=0x72", "--json"}, proof...)...)...))
	if risk != "irreversible" || override || !wb.Proven() || phrase != "irreversible PRODUCT_STATE=0x72" {
		t.Fatalf("close with the proof: %s %v %+v", risk, override, wb)
	}
	step(t, 0, on(append([]string{"ob", "apply", "PRODUCT_STATE=0x72", "--confirm", phrase}, proof...)...)...)

	// The regression.
	risk, phrase, override, _ = daPlanOf(t, step(t, 0, on("da", "regress", "--password", pw, "--json")...))
	if risk != "caution" || override || !strings.HasPrefix(phrase, "regress full ") {
		t.Fatalf("regress plan: %s %q", risk, phrase)
	}
	out := step(t, 0, on("da", "regress", "--password", pw, "--confirm", phrase, "--json")...)
	var res struct {
		Result struct {
			Outcome string `json:"outcome"`
			Auth    struct {
				After da.After `json:"after"`
			} `json:"auth"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if a := res.Result.Auth.After; res.Result.Outcome != "ok" || !a.FlashErased || !a.OBKErased || !a.OBKChecked || a.FlashChecked == 0 {
		t.Errorf("regression: %s", out)
	}
	var ob obReadJSON
	if err := json.Unmarshal([]byte(step(t, 0, on("ob", "read", "--json")...)), &ob); err != nil {
		t.Fatal(err)
	}
	if ob.ProductState == nil || *ob.ProductState != targets.StateOpen || ob.TZEN.Raw != 0xC3 || ob.DA.Provisioned {
		t.Errorf("after the rescue: state %v TZEN 0x%X DA %v", ob.ProductState, ob.TZEN.Raw, ob.DA)
	}
	recs, err := statefile.ReadAudit(state)
	if err != nil {
		t.Fatal(err)
	}
	// The wrong phrase is recorded as a refusal, as for every guarded write.
	want := []string{"ok TZEN=0xC3", "refused DA provisioning H533", "ok DA provisioning H533", "ok PRODUCT_STATE=0x72", "ok DA regression full (password)"}
	if len(recs) != len(want) {
		t.Fatalf("audit log has %d lines: %+v", len(recs), recs)
	}
	for i, r := range recs {
		if got := r.Result + " " + strings.Join(r.Changes, ", "); !strings.HasPrefix(got, want[i]) {
			t.Errorf("audit line %d: %s, want %s", i+1, got, want[i])
		}
	}
}

// runOn runs a command line on an open bench the test looks into.
func runOn(t *testing.T, b *bench.Bench, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := newApp(Config{}, nil, &out, &errOut)
	a.bench, a.user = b, "tester"
	code := a.execute(context.Background(), append([]string{"--sim", b.Snapshot().Scenario}, args...))
	return code, out.String(), errOut.String()
}

// h533-closed-da regresses with the chain and key sim credentials hands
// out; a foreign key or a wrong password is refused UNAUTHORIZED and the
// chip is unchanged; LOCKED is refused; without NRST the error says so.
func TestCLIRegressBoards(t *testing.T) {
	dir := t.TempDir()
	closed, foreign, wrongPW := filepath.Join(dir, "closed"), filepath.Join(dir, "foreign"), filepath.Join(dir, "pw")
	step(t, 0, "sim", "credentials", "h533-closed-da", "--out", closed)
	step(t, 2, "sim", "credentials", "h533-open", "--out", dir)
	step(t, 0, "da", "make-certs", "--part", "H533", "--out", foreign)
	step(t, 0, "da", "make-password", "--part", "H533", "--out", wrongPW, "--password-text", "not-the-password")
	chain := func(d string) []string {
		return []string{"--key", filepath.Join(d, dacred.LeafKeyFile), "--cert", filepath.Join(d, dacred.ChainFile)}
	}

	for _, tc := range []struct {
		scenario string
		creds    []string
	}{
		{"h533-closed-da", chain(foreign)},
		{"h533-provisioning-da", []string{"--password", filepath.Join(wrongPW, dacred.PasswordFile)}},
	} {
		b := simBench(t, tc.scenario, nil)
		m := scenario.Model(b.Simulated())
		st := m.ProductState()
		args := append([]string{"da", "regress", "--state-dir", t.TempDir()}, tc.creds...)
		code, out, errOut := runOn(t, b, append(args, "--json")...)
		if code != 0 {
			t.Fatalf("%s plan: %d %s", tc.scenario, code, errOut)
		}
		_, phrase, _, _ := daPlanOf(t, out)
		code, _, errOut = runOn(t, b, append(args, "--confirm", phrase)...)
		if code != 1 || !strings.Contains(errOut, "UNAUTHORIZED") {
			t.Errorf("%s: exit %d: %s", tc.scenario, code, errOut)
		}
		if m.ProductState() != st || m.FlashErased() || m.DAProvisioned() == stm32h5.DANone {
			t.Errorf("%s: the chip changed after a refusal", tc.scenario)
		}
	}

	b := simBench(t, "h533-closed-da", nil)
	args := append([]string{"da", "regress", "--state-dir", t.TempDir()}, chain(closed)...)
	code, out, errOut := runOn(t, b, args...)
	i := strings.Index(out, "confirmation phrase: ")
	if code != 0 || i < 0 {
		t.Fatalf("plan: %d %s %s", code, out, errOut)
	}
	phrase := strings.TrimSpace(strings.SplitN(out[i+len("confirmation phrase: "):], "\n", 2)[0])
	code, out, errOut = runOn(t, b, append(args, "--confirm", phrase)...)
	if code != 0 || !strings.Contains(out, "DA regress: OK") || !strings.Contains(out, "chip now: OPEN") {
		t.Fatalf("regress with the chain: %d %s %s", code, out, errOut)
	}
	if m := scenario.Model(b.Simulated()); m.ProductState() != targets.StateOpen || !m.FlashErased() {
		t.Errorf("after: %v", m.ProductState())
	}

	if code, _, errOut := runDA(append([]string{"--sim", "h533-locked", "da", "regress"}, chain(closed)...)...); code != 1 || !strings.Contains(errOut, "LOCKED") {
		t.Errorf("h533-locked: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runDA("--sim", "no-nrst", "da", "regress", "--password", filepath.Join(wrongPW, dacred.PasswordFile)); code != 1 || !strings.Contains(errOut, "NRST must be wired to the probe for Debug Authentication") {
		t.Errorf("no-nrst: exit %d: %s", code, errOut)
	}
	if code, _, _ := runDA("--sim", "h533-closed-da", "da", "regress"); code != 2 {
		t.Errorf("no credentials: exit %d", code)
	}
	if code, _, _ := runDA("--sim", "h533-closed-da", "da", "regress", "--password", "x", "--key", "y"); code != 2 {
		t.Errorf("both methods: exit %d", code)
	}
}

// wayBackFlags are the ob plan|apply flags that prove the way back of the
// simulated board scenario (its sim credentials).
func wayBackFlags(t *testing.T, name string) []string {
	t.Helper()
	dir := t.TempDir()
	step(t, 0, "sim", "credentials", name, "--out", dir)
	return []string{"--password", filepath.Join(dir, dacred.PasswordFile), "--obk", filepath.Join(dir, dacred.PasswordOBKFile), "--part", "H533"}
}

// The regression saves the user flash first where AP1 reads it, with its
// progress on stderr; a debug opening leaves the chip closed but AP1 open.
func TestCLISaveFlashAndOpenDebug(t *testing.T) {
	dir := t.TempDir()
	step(t, 0, "sim", "credentials", "h533-provisioning-da", "--out", filepath.Join(dir, "pw"))
	b := simBench(t, "h533-provisioning-da", nil)
	args := []string{"da", "regress", "--password", filepath.Join(dir, "pw", dacred.PasswordFile), "--state-dir", dir}
	code, out, errOut := runOn(t, b, append(args, "--json")...)
	if code != 0 {
		t.Fatalf("plan: %s", errOut)
	}
	_, phrase, _, _ := daPlanOf(t, out)
	flash := filepath.Join(dir, "flash.bin")
	code, out, errOut = runOn(t, b, append(args, "--save-flash", flash, "--confirm", phrase)...)
	if code != 0 || !strings.Contains(out, "user flash saved: "+flash) || !strings.Contains(errOut, "[100%] save-flash") {
		t.Fatalf("regress: exit %d\n%s\n%s", code, out, errOut)
	}
	if st, err := os.Stat(flash); err != nil || st.Size() != 512<<10 {
		t.Errorf("saved flash: %v %v", st, err)
	}

	step(t, 0, "sim", "credentials", "h533-closed-da", "--out", filepath.Join(dir, "cert"))
	b = simBench(t, "h533-closed-da", nil)
	args = []string{"da", "open-debug", "--key", filepath.Join(dir, "cert", dacred.LeafKeyFile), "--cert", filepath.Join(dir, "cert", dacred.ChainFile), "--state-dir", dir}
	code, out, _ = runOn(t, b, append(args, "--json")...)
	risk, phrase, _, _ := daPlanOf(t, out)
	if code != 0 || risk != "safe" {
		t.Fatalf("open-debug plan: %d %s", code, out)
	}
	code, out, errOut = runOn(t, b, append(args, "--confirm", phrase)...)
	m := scenario.Model(b.Simulated())
	if code != 0 || !strings.Contains(out, "AP1 open: true") || m.ProductState() != targets.StateClosed || !m.AP1Enabled() {
		t.Fatalf("open-debug: exit %d\n%s\n%s", code, out, errOut)
	}
}

// check-obk names each mismatch with its fix and exits 1; the board's own
// file passes.
func TestCLICheckOBK(t *testing.T) {
	dir := t.TempDir()
	step(t, 0, "sim", "credentials", "h533-provisioning-da", "--out", filepath.Join(dir, "good"))
	step(t, 0, "da", "make-password", "--part", "H563", "--out", filepath.Join(dir, "plain"))
	good := filepath.Join(dir, "good", dacred.PasswordOBKFile)
	plain := filepath.Join(dir, "plain", dacred.PasswordOBKFile)
	out := step(t, 0, "--sim", "h533-provisioning-da", "da", "check-obk", good, "--part", "H533")
	if !strings.Contains(out, "OK: the file fits the part and the chip") || !strings.Contains(out, "record read back: true") {
		t.Errorf("good file: %s", out)
	}
	out = step(t, 1, "--sim", "h533-provisioning-da", "da", "check-obk", plain, "--part", "H533")
	if !strings.Contains(out, "MISMATCH obk-encryption") || !strings.Contains(out, "fix: make the file again") || !strings.Contains(out, "MISMATCH chip-record") {
		t.Errorf("unencrypted file for another part: %s", out)
	}
	var res bench.OBKCheck
	if err := json.Unmarshal([]byte(step(t, 1, "--sim", "h533-provisioning-da", "da", "check-obk", plain, "--part", "H533", "--json")), &res); err != nil || len(res.Mismatches) == 0 {
		t.Errorf("JSON: %v %+v", err, res)
	}
	step(t, 2, "--sim", "h533-provisioning-da", "da", "check-obk", good) // H523 or H533?
	step(t, 2, "--sim", "h533-provisioning-da", "da", "check-obk")
}

// --log-level trace (or debug) shows the provisioning call in full: the
// halt, the SRAM3 writes, the run and r0; a board that will not halt in
// PROVISIONING exits 1 with the next step.
func TestCLIProvisionTrace(t *testing.T) {
	creds := t.TempDir()
	step(t, 0, "da", "make-password", "--part", "H533", "--out", creds)
	obk := filepath.Join(creds, dacred.PasswordOBKFile)
	_, phrase, _, _ := daPlanOf(t, step(t, 0, "--sim", "h533-provisioning-da", "da", "provision", "--obk", obk, "--part", "H533", "--json"))
	code, _, errOut := runDA("--sim", "h533-provisioning-da", "--log-level", "trace", "da", "provision", "--obk", obk, "--part", "H533", "--confirm", phrase, "--state-dir", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"(DHCSR: C_HALT)", "S_HALT true", "(config.Crc)", "(SRAM3 data)", "(DHCSR: run)", "returned r0 = 0xEAEAEAEA"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("trace lacks %q", want)
		}
	}
	code, _, errOut = runDA("--sim", "h533-provisioning-no-halt", "da", "provision", "--obk", obk, "--part", "H533", "--confirm", phrase, "--state-dir", t.TempDir())
	if code != 1 || !strings.Contains(errOut, "will not halt in PROVISIONING") || !strings.Contains(errOut, "power-cycle") {
		t.Errorf("no-halt board: exit %d: %s", code, errOut)
	}
}
