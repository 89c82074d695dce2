package tui

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/statefile"
)

// buildStprobe builds the real stprobe binary into a temporary directory.
func buildStprobe(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build stprobe: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "stprobe")
	cmd := exec.Command(goCmd, "build", "-o", bin, "github.com/stprobe/stprobe")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building stprobe: %v\n%s", err, out)
	}
	return bin
}

// needTmux returns tmux's path, or skips (fails with CI=true).
func needTmux(t *testing.T) string {
	t.Helper()
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux is needed for the end-to-end test (Debian package tmux)")
		}
		t.Skip("tmux not installed")
	}
	return tmux
}

// key sends one key and lets the console read it alone (an escape
// followed at once by a letter reads as alt+letter).
func (tm *terminal) key(k string) {
	tm.t.Helper()
	tm.keys(k)
	time.Sleep(150 * time.Millisecond)
}

// typeText types text literally.
func (tm *terminal) typeText(text string) {
	tm.t.Helper()
	if out, err := tm.run("send-keys", "-t", "console", "-l", text); err != nil {
		tm.t.Fatalf("send-keys -l %q: %v: %s", text, err, out)
	}
	time.Sleep(150 * time.Millisecond)
}

// phrase finds the confirmation phrase the screen shows.
func (tm *terminal) phrase(re string) string {
	tm.t.Helper()
	s := tm.waitFor("a opens the guard")
	p := regexp.MustCompile(re).FindString(s)
	if p == "" {
		tm.t.Fatalf("no phrase matching %s on the screen:\n%s", re, s)
	}
	return p
}

// TestSeedBoardRescuedOnTerminal is the story of the debug-authentication
// issue in the real binary, in one console session on the seed board
// (each --sim run starts the board afresh): the sweep finds PROVISIONING
// and the rescue; TZEN=0xC3 is planned and applied; the password
// configuration made by da make-password is provisioned in the DA pane;
// closing without the proof is brick and writes nothing without the
// override; with the proof the close is irreversible and runs; the full
// regression brings the chip back; the option bytes show OPEN (0xED) with
// TZEN 0xC3, and the audit log tells the story.
func TestSeedBoardRescuedOnTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs the whole story")
	}
	tmux := needTmux(t)
	bin := buildStprobe(t)
	work, state := t.TempDir(), t.TempDir()
	creds := filepath.Join(work, "creds")
	if out, err := exec.Command(bin, "da", "make-password", "--part", "H533", "--out", creds).CombinedOutput(); err != nil {
		t.Fatalf("da make-password: %v\n%s", err, out)
	}

	tm := &terminal{t: t, tmux: tmux, sock: fmt.Sprintf("stprobe-story-%d", os.Getpid())}
	t.Cleanup(func() { tm.run("kill-server") })
	cmdline := fmt.Sprintf("STPROBE_STATE_DIR=%s TERM=xterm-256color %s --sim h533-provisioning", state, bin)
	if out, err := tm.run("new-session", "-d", "-s", "console", "-x", "100", "-y", "32", "-c", work, cmdline); err != nil {
		t.Fatalf("starting tmux: %v: %s", err, out)
	}
	tm.waitFor("SIMULATED h533-provisioning", "PROVISIONING", "you hold the probe")

	// The sweep and its findings: PROVISIONING, and the rescue path.
	tm.key("s")
	tm.waitFor("sweep done")
	tm.key("f")
	tm.waitFor("PROVISIONING, no DA provisioned: still recoverable", "set TZEN to 0xC3", "Plan TZEN=0xC3")

	// TrustZone off (the password method needs TZEN=0xC3).
	tm.key("Enter")
	tm.waitFor("change: TZEN=0xC3", "caution", "press a to apply")
	tm.key("a")
	tm.waitFor("applied and verified", "TZEN            now DISABLED (0xC3)")

	// Provision the password configuration in the DA pane.
	tm.key("3")
	tm.waitFor("Debug authentication", "✓ p Provision an .obk file", "unavailable: no DA data is provisioned")
	tm.key("p")
	tm.waitFor(filepath.Join(creds, "DA_ConfigWithPassword.obk"))
	tm.key("Tab")
	tm.typeText("H533")
	tm.key("Enter")
	tm.waitFor("DA plan: Provision an .obk file", "✔ its encryption flag fits the part", "✔ the chip is in PROVISIONING")
	phrase := tm.phrase(`provision H533 [0-9A-F]{8}`)
	tm.key("a")
	tm.typeText(phrase)
	tm.key("Enter")
	tm.waitFor("✓ DA provision: OK", "record read back: yes", "DA provisioning H533")

	// Closing without the proof: brick; the guard writes nothing without
	// the override.
	tm.key("2")
	tm.key("Escape")
	tm.key("g")
	tm.waitFor("▸ PRODUCT_STATE   PROVISIONING (0x17)")
	tm.key("Enter")
	tm.waitFor("CLOSED (0x72)")
	for range 3 {
		tm.key("Down")
	}
	tm.key("Enter")
	tm.key("p")
	tm.waitFor("change: PRODUCT_STATE=0x72", "✖ BRICK", "✖ not proven", "w attaches the proof")
	brick := tm.phrase(`brick [0-9A-F]{8} PRODUCT_STATE=0x72`)
	tm.key("a")
	tm.typeText(brick)
	tm.key("Enter")
	tm.waitFor("tick the override")
	tm.key("Escape")
	tm.key("Escape")
	tm.key("r")
	tm.waitFor("option bytes read", "▸*PRODUCT_STATE   PROVISIONING (0x17)", "edits: PRODUCT_STATE=0x72")

	// With the proof: irreversible, and it runs.
	tm.key("p")
	tm.waitFor("✖ BRICK", "w attaches the proof")
	tm.key("w")
	tm.waitFor("Prove the way back", filepath.Join(creds, "password.bin"), filepath.Join(creds, "DA_ConfigWithPassword.obk"))
	tm.key("Enter")
	tm.waitFor("‼ IRREVERSIBLE", "✔ the .obk file against the H533", "✔ the password against the file", "✓ proven")
	closing := tm.phrase(`irreversible PRODUCT_STATE=0x72`)
	tm.key("a")
	tm.typeText(closing)
	tm.key("Enter")
	tm.waitFor("debug is closed now")

	// The full regression from the DA pane.
	tm.key("3")
	tm.key("Escape")
	tm.key("R")
	tm.waitFor("Regression: the credentials", filepath.Join(creds, "password.bin"))
	tm.key("Enter")
	tm.waitFor("DA plan: Regression (full)", "✔ the product state allows it: the ROM reports CLOSED",
		"✔ the credentials are a password; the chip offers the password method", "ERASES: all user flash")
	regress := tm.phrase(`regress full [0-9A-F]{8}`)
	tm.key("a")
	tm.waitFor("REGRESSION of")
	tm.typeText(regress)
	tm.key("Enter")
	tm.waitFor("✓ DA regress: OK", "reconnected: the chip is OPEN, TZEN disabled (0xC3)", "user flash erased: yes",
		"OBK DA record erased: yes", "DA regression full (password)")

	// The option bytes show OPEN again.
	tm.key("2")
	tm.key("Escape")
	tm.key("r")
	tm.waitFor("OPEN (0xED)", "TZEN DISABLED (0xC3)", "DA not provisioned")
	tm.key("q")

	recs, err := statefile.ReadAudit(state)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"TZEN=0xC3", "DA provisioning H533", "PRODUCT_STATE=0x72", "DA regression full (password)"}
	var got []string
	for _, r := range recs {
		got = append(got, r.Result+" "+strings.Join(r.Changes, ", "))
	}
	if len(recs) != len(want) {
		t.Fatalf("audit log: %q, want %q", got, want)
	}
	for i, r := range recs {
		if r.Result != "ok" || !strings.HasPrefix(strings.Join(r.Changes, ", "), want[i]) {
			t.Errorf("audit line %d: %q, want ok %s", i+1, got[i], want[i])
		}
	}
}
