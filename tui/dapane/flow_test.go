package dapane

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32h5/dacred"
	"github.com/stprobe/stprobe/tui/credform"
	"github.com/stprobe/stprobe/tui/writeflow"
)

// mustContain fails unless the screen shows every text.
func mustContain(t *testing.T, s string, texts ...string) {
	t.Helper()
	for _, x := range texts {
		if !strings.Contains(s, x) {
			t.Errorf("screen lacks %q:\n%s", x, s)
		}
	}
}

// TestRegressFromKeys: h533-closed-da regresses with the chain and key the
// simulator hands out, found by the form in the search directory; the plan
// shows every check ✔ and what the regression erases; the guard wants the
// phrase; the outcome shows the chip OPEN, flash and OBK erased, the
// backup and the audit line.
func TestRegressFromKeys(t *testing.T) {
	creds, state := t.TempDir(), t.TempDir()
	if err := scenario.Credentials("h533-closed-da", filepath.Join(creds, "board")); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, "h533-closed-da", true, writeflow.WithStateDir(state), writeflow.WithSearchDirs(creds))
	e.m.SetSize(100, 60)
	e.Keys("d", "R")
	if e.m.Screen != screenForm {
		t.Fatalf("R did not open the form: %s\n%s", e.LastStatus(), e.Screen())
	}
	if got := e.m.form.Value(0); got != "" {
		t.Errorf("password pre-filled with %q on a certificate board", got)
	}
	mustContain(t, e.Screen(), filepath.Join(creds, "board", dacred.LeafKeyFile), filepath.Join(creds, "board", dacred.ChainFile))
	e.Keys("enter")
	s := e.Screen()
	mustContain(t, s, "DA plan: Regression (full)", "✔ credentials read: key", "✔ the product state allows it: the ROM reports CLOSED",
		"✔ DA data provisioned", "✔ the credentials are a certificate; the chip offers the certificate method", "✔ the permission word",
		"ERASES: all user flash", "OBK area", "! caution", "a opens the guard")
	if strings.Contains(s, "✖") {
		t.Errorf("a check failed:\n%s", s)
	}
	phrase := e.m.plan.Phrase
	if !strings.HasPrefix(phrase, "regress full ") {
		t.Fatalf("phrase %q", phrase)
	}
	// A wrong phrase writes nothing.
	e.Keys("a", "type:regress", "enter")
	mustContain(t, e.Screen(), "the phrase does not match", "‼ REGRESSION of", "erases: all user flash")
	if m := scenario.Model(e.B.Simulated()); m.ProductState() != targets.StateClosed {
		t.Fatalf("a wrong phrase changed the chip: %v", m.ProductState())
	}
	e.Keys("ctrl+u", "type:"+phrase, "enter")
	s = e.Screen()
	mustContain(t, s, "✓ DA regress: OK", "reconnected: the chip is OPEN", "user flash erased: yes", "OBK DA record erased: yes",
		"audit: ", "ok STM32H523/H533 by tester: DA regression full (certificate)", "authenticate", "verified",
		"next: 5 put the firmware back")
	if m := scenario.Model(e.B.Simulated()); m.ProductState() != targets.StateOpen {
		t.Errorf("after the regression the chip is %v", m.ProductState())
	}
	recs, err := statefile.ReadAudit(state)
	if err != nil || len(recs) != 1 || recs[0].Result != "ok" {
		t.Errorf("audit: %v %+v", err, recs)
	}
	// Back on the main screen the chip is OPEN: nothing to regress.
	e.Keys("esc")
	mustContain(t, e.Screen(), "✖ R Regression", "the chip is OPEN", "Last DA write", "regress full: OK")
}

// TestWrongPasswordUnauthorized: a password that is not the board's is
// refused by the chip (UNAUTHORIZED); the chip is unchanged.
func TestWrongPasswordUnauthorized(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	fs, err := dacred.MakePassword(stm32h5.ModelPart(0x478), dacred.MakeOptions{Password: []byte("not-the-password")})
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Write(dir); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, "h533-provisioning-da", true, writeflow.WithStateDir(state), writeflow.WithSearchDirs(dir))
	e.m.SetSize(100, 60)
	before := scenario.Model(e.B.Simulated()).ProductState()
	e.Keys("d", "R", "enter")
	mustContain(t, e.Screen(), "✔ credentials read: password file", "✔ the credentials are a password")
	e.Keys("a", "type:"+e.m.plan.Phrase, "enter")
	s := e.Screen()
	mustContain(t, s, "REFUSED by the chip: it is unchanged", "UNAUTHORIZED")
	if after := scenario.Model(e.B.Simulated()).ProductState(); after != before {
		t.Errorf("the chip went from %v to %v", before, after)
	}
	if !strings.Contains(e.LastStatus(), "failed or was refused") {
		t.Errorf("status %q", e.LastStatus())
	}
}

// TestProvisionAndBadFile: the seed board takes the password file
// make-password writes for the H533; the H523's file (no encryption) is
// refused with the check named and its fix.
func TestProvisionAndBadFile(t *testing.T) {
	good, bad, state := t.TempDir(), t.TempDir(), t.TempDir()
	for dir, part := range map[string]string{good: "H533", bad: "H523"} {
		p, _ := stm32h5.LookupPart(part)
		fs, err := dacred.MakePassword(p, dacred.MakeOptions{Seed: []byte(part)})
		if err != nil {
			t.Fatal(err)
		}
		if err := fs.Write(dir); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnv(t, "h533-provisioning", true, writeflow.WithStateDir(state), writeflow.WithSearchDirs(bad))
	e.m.SetSize(100, 60)
	e.Keys("d", "p")
	e.m.form.Set(4, "H533")
	e.Keys("enter")
	s := e.Screen()
	mustContain(t, s, "REFUSED before any write", "✖ its encryption flag fits the part", "fix:", "apply unavailable")
	e.Keys("a")
	if e.m.Guard != nil {
		t.Fatal("the guard opened on a refused plan")
	}
	e.Keys("esc", "p")
	e.m.form.Set(3, filepath.Join(good, dacred.PasswordOBKFile))
	e.Keys("enter")
	mustContain(t, e.Screen(), "✔ its encryption flag fits the part", "✔ the chip is in PROVISIONING", "part H533")
	e.Keys("a", "type:"+e.m.plan.Phrase, "enter")
	mustContain(t, e.Screen(), "✓ DA provision: OK", "record read back: yes", "backup of the option bytes: ", "DA provisioning H533")
	if _, err := os.Stat(filepath.Join(state, statefile.AuditFile)); err != nil {
		t.Error(err)
	}
}

// TestFormChecksFiles: the form names the field that is wrong and plans
// nothing.
func TestFormChecksFiles(t *testing.T) {
	e := newEnv(t, "h533-closed-da", true)
	e.Keys("d", "R", "enter")
	mustContain(t, e.Screen(), "✖ give a password file, or the leaf key and the certificate chain")
	e.m.form.Set(1, "/nonexistent/key.pem")
	e.Keys("enter")
	mustContain(t, e.Screen(), "✖ give the certificate chain that goes with the key")
	if e.Ended(planned{}) != 0 || e.m.Screen != screenForm {
		t.Error("a plan ran from a bad form")
	}
	e.Keys("esc")
	if e.m.Screen != writeflow.Main || !strings.Contains(e.LastStatus(), "nothing was planned") {
		t.Errorf("esc: %v %q", e.m.Screen, e.LastStatus())
	}
}

// TestRegressSavesFlash: on a chip in PROVISIONING AP1 reads the flash,
// so the regression saves it to the file named in the form first.
func TestRegressSavesFlash(t *testing.T) {
	creds, state := t.TempDir(), t.TempDir()
	if err := scenario.Credentials("h533-provisioning-da", creds); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, "h533-provisioning-da", true, writeflow.WithStateDir(state), writeflow.WithSearchDirs(creds))
	e.m.SetSize(100, 60)
	save := filepath.Join(t.TempDir(), "flash.bin")
	e.Keys("d", "R")
	e.m.form.Set(6, save)
	e.Keys("enter")
	mustContain(t, e.Screen(), "✔ the user flash is saved to "+save+" first")
	e.Keys("a", "type:"+e.m.plan.Phrase, "enter")
	mustContain(t, e.Screen(), "✓ DA regress: OK", "user flash saved: "+save, "reconnected: the chip is OPEN",
		"5 put the firmware back", "@0x08000000)")
	if st, err := os.Stat(save); err != nil || st.Size() != 512*1024 {
		t.Errorf("flash file: %v %v", st, err)
	}
	// The file exists now: the form refuses to overwrite it.
	e.Keys("esc", "R")
	if e.m.Screen == screenForm {
		t.Error("the regression form opened on an OPEN chip")
	}
}

// TestObserverSeesTheWrite: another session's DA write reaches an
// observer: the steps while it runs, then the last write and its plan.
func TestObserverSeesTheWrite(t *testing.T) {
	creds := t.TempDir()
	if err := scenario.Credentials("h533-closed-da", creds); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, "h533-closed-da", false)
	e.m.SetSize(100, 60)
	alice, err := e.B.Acquire(bench.Holder{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := da.LoadCertificate(filepath.Join(creds, dacred.LeafKeyFile), filepath.Join(creds, dacred.ChainFile))
	if err != nil {
		t.Fatal(err)
	}
	req := bench.DARequest{Action: bench.DARegress, Credentials: c}
	p, err := e.B.PlanDA(context.Background(), alice, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.B.ApplyDA(context.Background(), alice, bench.DAApplyRequest{DARequest: req, Confirm: p.Phrase, StateDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	e.Pump()
	mustContain(t, e.Screen(), "Last DA write", "regress full: OK", "reconnected: the chip is OPEN",
		"unavailable: another session holds the probe: alice")
	// the end of the watched write is a message: in the footer only
	if !strings.Contains(e.LastStatus(), "the DA write by alice is done") || strings.Contains(e.Screen(), "the DA write by alice is done") {
		t.Errorf("footer %q; the pane:\n%s", e.LastStatus(), e.Screen())
	}
	e.Keys("v")
	mustContain(t, e.Screen(), "DA plan: Regression (full)", "the bench's last plan", "ERASES: all user flash", "apply unavailable: this is the bench's last plan")
	e.Keys("a")
	if e.m.Guard != nil {
		t.Error("an observer opened the guard")
	}
}

// TestClosedDARefusals: on h533-closed-da a password is refused by the
// plan (the chip offers the certificate method, named in the checklist),
// and a foreign chain and key by the chip (UNAUTHORIZED); the chip stays
// CLOSED.
func TestClosedDARefusals(t *testing.T) {
	pwDir, foreign := t.TempDir(), t.TempDir()
	part := stm32h5.ModelPart(0x478)
	for dir, make := range map[string]func() (dacred.Files, error){
		pwDir: func() (dacred.Files, error) {
			return dacred.MakePassword(part, dacred.MakeOptions{Password: []byte("pw")})
		},
		foreign: func() (dacred.Files, error) {
			return dacred.MakeCerts(part, dacred.MakeOptions{Seed: []byte("foreign")})
		},
	} {
		fs, err := make()
		if err != nil {
			t.Fatal(err)
		}
		if err := fs.Write(dir); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnv(t, "h533-closed-da", true, writeflow.WithStateDir(t.TempDir()), writeflow.WithSearchDirs(pwDir))
	e.m.SetSize(100, 60)
	e.Keys("d", "R", "enter")
	mustContain(t, e.Screen(), "REFUSED before any write", "✖ the credentials are a password; the chip offers the certificate method", "fix: TrustZone decides")
	e.Keys("a")
	if e.m.Guard != nil {
		t.Fatal("the guard opened on a refused plan")
	}
	e.Keys("esc", "R")
	e.m.form.Set(0, "")
	e.m.form.Set(1, filepath.Join(foreign, dacred.LeafKeyFile))
	e.m.form.Set(2, filepath.Join(foreign, dacred.ChainFile))
	e.Keys("enter")
	if e.m.plan == nil {
		t.Fatalf("no plan:\n%s", e.Screen())
	}
	e.Keys("a", "type:"+e.m.plan.Phrase, "enter")
	mustContain(t, e.Screen(), "REFUSED by the chip: it is unchanged", "UNAUTHORIZED")
	if st := scenario.Model(e.B.Simulated()).ProductState(); st != targets.StateClosed {
		t.Errorf("the chip is %v", st)
	}
}

// TestMakeCredentialsThenProvision: on the seed board, c makes a password
// and its .obk file in a directory typed with tab completion; the files
// are listed, and p's form is pre-filled with the .obk file just made; an
// existing file is never overwritten.
func TestMakeCredentialsThenProvision(t *testing.T) {
	state := t.TempDir()
	work := t.TempDir()
	if err := os.Mkdir(filepath.Join(work, "keys-for-h533"), 0o755); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, "h533-provisioning", true, writeflow.WithStateDir(state), writeflow.WithSearchDirs())
	e.m.SetSize(100, 40)
	e.Keys("d", "c")
	if e.m.Screen != screenForm || e.m.action != actionMake {
		t.Fatalf("c did not open the credentials form: %s\n%s", e.LastStatus(), e.Screen())
	}
	mustContain(t, e.Screen(), "Make credentials", "[password]", "write into")
	e.m.form.Set(credform.Part, "H533") // the part (the seed's line has two)
	// the directory, completed from a prefix with tab
	e.m.form.Set(credform.Dir, filepath.Join(work, "keys-f"))
	e.Keys("down", "down")
	e.Keys("tab")
	want := filepath.Join(work, "keys-for-h533") + string(filepath.Separator)
	if got := e.m.form.Value(credform.Dir); got != want {
		t.Fatalf("tab completed the directory to %q, want %q", got, want)
	}
	e.Keys("enter")
	if e.m.Screen != writeflow.Main {
		t.Fatalf("the credentials were not made: %s\n%s", e.LastStatus(), e.Screen())
	}
	for _, n := range []string{dacred.PasswordFile, dacred.PasswordOBKFile} {
		if _, err := os.Stat(filepath.Join(want, n)); err != nil {
			t.Errorf("%s not written: %v", n, err)
		}
	}
	mustContain(t, e.Screen(), "Credentials made", dacred.PasswordFile, "secret: keep it", dacred.PasswordOBKFile, "to provision (p)")
	e.Keys("p")
	if got := e.m.form.Value(credform.OBK); got != filepath.Join(want, dacred.PasswordOBKFile) {
		t.Errorf("the provisioning form's .obk file: %q", got)
	}
	e.Keys("esc", "c")
	e.m.form.Set(credform.Part, "H533")
	e.m.form.Set(credform.Dir, want)
	e.Keys("enter")
	if !strings.Contains(e.LastStatus(), "credential files exist") {
		t.Errorf("made again into the same directory: %s", e.LastStatus())
	}
}
