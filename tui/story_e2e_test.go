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

// headerOf is the header of a screen: the lines above the tab bar.
func headerOf(screen string) string {
	var out []string
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "1 Matrix") || strings.HasPrefix(strings.TrimSpace(l), "▸1 Matrix") {
			break
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// waitHeader waits until the header shows the product state and TZEN
// (the words the header draws: "◐ PROVISIONING", "enabled (0xB4)"), and
// says which when it never does.
func (tm *terminal) waitHeader(step, state, tzen string) {
	tm.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		h := headerOf(tm.screen())
		flat := strings.Join(strings.Fields(h), " ")
		if strings.Contains(flat, "state "+state) && strings.Contains(flat, "TZEN "+tzen) {
			return
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("after %s the header never showed state %s, TZEN %s:\n%s", step, state, tzen, h)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSeedBoardRescuedOnTerminal is the story of the debug-authentication
// issue in the real binary, in one console session on the seed board,
// at 80×24 and 160×48 (each --sim run starts the board afresh), with the
// header's product state and TZEN checked after every step: the sweep
// finds PROVISIONING and the rescue; TZEN=0xC3 is planned and applied;
// the password and its .obk file are made in the DA pane (c, the
// directory completed with tab) and provisioned; closing without the
// proof is brick and writes nothing without the override; with the proof
// the close is irreversible and runs (the header says CLOSED, learned
// through AP0); the full regression brings the chip back OPEN with TZEN
// 0xC3; the Flash pane puts the firmware back; and the audit log tells the
// story.
func TestSeedBoardRescuedOnTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs the whole story")
	}
	tmux := needTmux(t)
	bin := buildStprobe(t)
	for _, sz := range []struct{ w, h int }{{80, 24}, {160, 48}} {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) { seedStory(t, tmux, bin, sz.w, sz.h) })
	}
}

func seedStory(t *testing.T, tmux, bin string, w, h int) {
	work, state := t.TempDir(), t.TempDir()
	if err := os.Mkdir(filepath.Join(work, "creds"), 0o755); err != nil {
		t.Fatal(err)
	}
	app := make([]byte, 20<<10) // the firmware put back at the end
	for i := range app {
		app[i] = byte(i*7 + 3)
	}
	if err := os.WriteFile(filepath.Join(work, "app.bin"), app, 0o644); err != nil {
		t.Fatal(err)
	}
	tm := &terminal{t: t, tmux: tmux, sock: fmt.Sprintf("stprobe-story-%d-%d", os.Getpid(), w)}
	t.Cleanup(func() { tm.run("kill-server") })
	cmdline := fmt.Sprintf("STPROBE_STATE_DIR=%s TERM=xterm-256color %s --sim h533-provisioning; echo exit=$?; sleep 30", state, bin)
	if out, err := tm.run("new-session", "-d", "-s", "console", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), "-c", work, cmdline); err != nil {
		t.Fatalf("starting tmux: %v: %s", err, out)
	}
	tm.waitFor("SIMULATED h533-provisioning", "you hold the probe")
	tm.waitHeader("the start", "◐ PROVISIONING", "enabled (0xB4)")

	// The sweep and its findings: PROVISIONING, and the rescue path.
	tm.key("s")
	tm.waitFor("sweep done")
	tm.waitHeader("the sweep", "◐ PROVISIONING", "enabled (0xB4)")
	tm.key("f")
	tm.waitFor("PROVISIONING, no DA provisioned: still recoverable", "Never write PRODUCT_STATE 0xC6", "Plan TZEN=0xC3")

	// TrustZone off (the password method needs TZEN=0xC3).
	tm.key("Enter")
	tm.waitFor("change: TZEN=0xC3", "caution")
	tm.key("a")
	tm.waitFor("applied and verified") // the run screen keeps it; the footer message lasts a few seconds
	tm.waitHeader("TZEN=0xC3", "◐ PROVISIONING", "disabled (0xC3)")

	// Make the password in the DA pane: the directory typed and completed
	// with tab.
	tm.key("3")
	tm.waitFor("Debug authentication", "c Make credentials", "unavailable: DA data is not provisioned")
	tm.key("c")
	tm.waitFor("Make credentials", "[password]", "write into")
	tm.key("Down")
	tm.typeText("H533")
	tm.key("Down")
	tm.key("C-u")
	tm.typeText("cr")
	tm.key("Tab")
	tm.waitFor("creds/")
	tm.key("Enter")
	tm.waitFor("Credentials made", "password.bin", "DA_ConfigWithPassword.obk")
	for _, n := range []string{"password.bin", "DA_ConfigWithPassword.obk"} {
		if _, err := os.Stat(filepath.Join(work, "creds", n)); err != nil {
			t.Fatalf("the console did not write %s: %v", n, err)
		}
	}
	tm.waitHeader("making the password", "◐ PROVISIONING", "disabled (0xC3)")

	// Provision it.
	tm.key("p")
	tm.waitFor("creds/DA_ConfigWithPassword.obk")
	tm.key("Tab")
	tm.typeText("H533")
	tm.key("Enter")
	tm.waitFor("DA plan: Provision an .obk file")
	phrase := tm.phrase(`provision H533 [0-9A-F]{8}`)
	tm.key("a")
	tm.typeText(phrase)
	tm.key("Enter")
	tm.waitFor("✓ DA provision: OK") // the run screen keeps it
	tm.waitHeader("provisioning", "◐ PROVISIONING", "disabled (0xC3)")

	// Closing without the proof: brick; the guard writes nothing without
	// the override.
	tm.key("2")
	tm.key("Escape")
	tm.key("g")
	tm.waitFor("▸ PRODUCT_STATE")
	tm.key("Enter")
	tm.waitFor("CLOSED (0x72)")
	for range 3 {
		tm.key("Down")
	}
	tm.key("Enter")
	tm.key("p")
	tm.waitFor("change: PRODUCT_STATE=0x72", "BRICK")
	brick := tm.phrase(`brick [0-9A-F]{8} PRODUCT_STATE=0x72`)
	tm.key("a")
	tm.typeText(brick)
	tm.key("Enter")
	tm.waitFor("tick the override")
	tm.key("Escape")
	tm.key("Escape")
	tm.key("r")
	tm.waitFor("option bytes read")
	tm.waitHeader("the refused brick close", "◐ PROVISIONING", "disabled (0xC3)")

	// With the proof: irreversible, and it runs.
	tm.key("p")
	tm.waitFor("BRICK")
	tm.key("w")
	tm.waitFor("Prove the way back", "password.bin")
	tm.key("Enter")
	tm.waitFor("IRREVERSIBLE", "proven")
	closing := tm.phrase(`irreversible PRODUCT_STATE=0x72`)
	tm.key("a")
	tm.typeText(closing)
	tm.key("Enter")
	tm.waitFor("debug is closed now")
	tm.waitHeader("the close", "● CLOSED", "disabled (0xC3)")
	// read again: AP1 is closed, the header keeps CLOSED and says as of when
	tm.key("Escape")
	tm.key("r")
	tm.waitFor("as of")
	tm.waitHeader("a read of the closed chip", "● CLOSED", "disabled (0xC3)")

	// The full regression from the DA pane.
	tm.key("3")
	tm.key("Escape")
	tm.key("R")
	tm.waitFor("Regression: the credentials", "password.bin")
	tm.key("Enter")
	tm.waitFor("DA plan: Regression (full)")
	regress := tm.phrase(`regress full [0-9A-F]{8}`)
	tm.waitHeader("the regression's discovery", "● CLOSED", "disabled (0xC3)")
	tm.key("a")
	tm.waitFor("REGRESSION of")
	tm.typeText(regress)
	tm.key("Enter")
	tm.waitFor("✓ DA regress: OK")
	tm.waitHeader("the regression", "○ OPEN", "disabled (0xC3)")
	if h >= 48 { // at 80×24 the outcome's last lines are below the fold
		tm.waitFor("5 put the firmware back")
	}

	// The option bytes show OPEN again.
	tm.key("2")
	tm.key("Escape")
	tm.key("r")
	tm.waitFor("OPEN (0xED)")
	tm.waitHeader("reading the option bytes", "○ OPEN", "disabled (0xC3)")

	// The regression erased the user flash: the Flash pane puts the
	// firmware back (a BIN at the flash's start), verified, and runs it.
	tm.key("5")
	tm.key("e")
	tm.typeText("app.bin@0x08000000")
	tm.key("Enter")
	scr := tm.waitFor("sectors to erase (3)", "phrase: erase 3 sectors")
	if !strings.Contains(scr, "empty") || strings.Contains(scr, "holds data") {
		t.Errorf("after the regression the flash plan finds data:\n%s", scr)
	}
	tm.key("w")
	tm.waitFor("CAUTION")
	tm.typeText("erase 3 sectors")
	tm.key("Enter")
	tm.waitFor("✓ erased 3 sectors, programmed 20480 bytes, verified", "runs the new program")
	tm.waitHeader("the firmware put back", "○ OPEN", "disabled (0xC3)")
	tm.key("q")
	tm.waitFor("exit=0")

	recs, err := statefile.ReadAudit(state)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"TZEN=0xC3", "DA provisioning H533", "PRODUCT_STATE=0x72", "DA regression full (password)", "erase 3 sectors 0x08000000..0x08005FFF"}
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
