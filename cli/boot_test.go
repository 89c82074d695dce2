package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/boot"
	"github.com/stprobe/stprobe/boot/uart"
	"github.com/stprobe/stprobe/probe/sweep"
)

// bootJSON is what the tests read of `boot probe --json`.
type bootJSON struct {
	Results []struct {
		Path, Outcome string
		PID           uint16 `json:"pid"`
		HasPID        bool   `json:"has_pid"`
		State         struct {
			Name string `json:"name"`
		} `json:"product_state"`
	}
	Findings []struct {
		Title, Text string
		States      []string `json:"consistent_states"`
		Checks      []string
	}
}

// TestCmdBootProbe runs `boot probe` on each scenario of the issue: an
// answer carries the right chip ID and the product state read through the
// bootloader; a silence exits 1 with the finding that says what it means
// and what to check by hand.
func TestCmdBootProbe(t *testing.T) {
	tests := []struct {
		scenario string
		args     []string
		code     int
		outcome  string
		state    string
		want     []string // in the text report
	}{
		{"h533-open", []string{"--boot0", "high"}, 0, "answered", "OPEN",
			[]string{"usb-dfu: answered, PID 0x478 (STM32H523/H533)", "uart: answered, PID 0x478 (STM32H523/H533), bootloader V4.0", "state OPEN", "the product state is OPEN"}},
		{"h533-open", []string{"--boot0", "low"}, 1, "silent", "",
			[]string{"usb-dfu: silent", "check: BOOT0 really high"}},
		{"h533-provisioning", nil, 0, "answered", "PROVISIONING",
			[]string{"state PROVISIONING", "user code never runs"}},
		{"h533-provisioning", []string{"--boot0", "low"}, 0, "answered", "PROVISIONING",
			[]string{"state PROVISIONING", "user code never runs"}},
		{"h533-tz-closed-no-da", nil, 1, "silent", "",
			[]string{"the ROM bootloader is silent on usb-dfu and uart", "TZ_CLOSED, CLOSED or LOCKED: it boots its flash whatever BOOT0 says",
				"check: BOOT0 really high", "check: USB D+ pull-up", "check: UART pins of this package (STM32H523/H533): USART1 TX PA9 / RX PA10", "stprobe sweep --boot"}},
		{"h533-locked", []string{"--boot0", "high"}, 1, "silent", "",
			[]string{"the ROM bootloader is silent", "LOCKED: it boots its flash whatever BOOT0 says"}},
	}
	for _, tt := range tests {
		t.Run(tt.scenario+strings.Join(tt.args, ""), func(t *testing.T) {
			argv := append([]string{"--sim", tt.scenario, "boot", "probe"}, tt.args...)
			code, out, errOut := runCmd(t, argv...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %q\n%s", code, tt.code, errOut, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("text lacks %q:\n%s", w, out)
				}
			}
			if tt.code == 1 && !strings.Contains(errOut, "stprobe boot: no ROM bootloader answered on usb-dfu or uart") {
				t.Errorf("stderr %q", errOut)
			}

			code, out, _ = runCmd(t, append(argv, "--json")...)
			var doc bootJSON
			if err := json.Unmarshal([]byte(out), &doc); err != nil || code != tt.code {
				t.Fatalf("JSON (exit %d): %v\n%s", code, err, out)
			}
			if len(doc.Results) != 2 || doc.Results[0].Path != "usb-dfu" || doc.Results[1].Path != "uart" {
				t.Fatalf("results %+v", doc.Results)
			}
			for _, r := range doc.Results {
				if r.Outcome != tt.outcome || r.State.Name != tt.state || (tt.outcome == "answered") != (r.HasPID && r.PID == 0x478) {
					t.Errorf("result %+v", r)
				}
			}
			if len(doc.Findings) == 0 || len(doc.Findings[0].States) == 0 {
				t.Errorf("findings %+v", doc.Findings)
			}
			if tt.outcome == "silent" && len(doc.Findings[0].Checks) == 0 {
				t.Errorf("a silence without hand-checks: %+v", doc.Findings[0])
			}
		})
	}
}

func TestCmdBootUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--baud", "0"}, {"--parity", "mark"}, {"--boot0", "middle"}, {"--boot0-line", "cts", "--uart", "/dev/null"},
		{"--boot0-line", "dtr", "--nrst-line", "dtr", "--uart", "/dev/null"}, {"--nrst-line", "rts"}, {"extra"},
	} {
		code, _, errOut := runCmd(t, append([]string{"--sim", "h533-open", "boot", "probe"}, args...)...)
		if code != 2 || !strings.Contains(errOut, "usage: stprobe boot probe") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
	for _, args := range [][]string{{"boot"}, {"boot", "write"}} {
		if code, _, errOut := runCmd(t, append([]string{"--sim", "h533-open"}, args...)...); code != 2 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
	// --uart on the simulated bench: its own pty is probed, and it says so
	code, _, errOut := runCmd(t, "--sim", "h533-provisioning", "boot", "probe", "--uart", "/dev/ttyUSB9")
	if code != 0 || !strings.Contains(errOut, "--uart /dev/ttyUSB9 is not opened") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// TestCmdSweepBoot: the bootloader paths beside the SWD cells in every
// format, and the combined diagnosis.
func TestCmdSweepBoot(t *testing.T) {
	out, errOut, err := runSweep(t, "h533-tz-closed-no-da", "--boot", "--freqs", "100")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	for _, want := range []string{"usb-dfu      -    silent", "uart         -    silent",
		"[warning] The ROM bootloader is silent on usb-dfu and uart: consistent with TZ_CLOSED",
		"check: BOOT0 really high", "[critical] AP0 reports TZ_CLOSED"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}

	out, _, err = runSweep(t, "h533-open", "--boot0", "high", "--freqs", "100", "--json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := sweep.ReadJSON(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.OtherPaths) != 2 || m.OtherPaths[0].GridText() != "answered, OPEN" || m.OtherPaths[1].GridText() != "answered, OPEN" {
		t.Errorf("paths %+v", m.OtherPaths)
	}
	if len(m.PathFindings) == 0 || m.PathFindings[0].Rule != "boot-answers" {
		t.Errorf("path findings %+v", m.PathFindings)
	}

	out, _, err = runSweep(t, "h533-provisioning", "--usb", "--freqs", "100", "--md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| usb-dfu | — | answered, PROVISIONING |", "| uart | — | answered, PROVISIONING |", "INFO: The ROM bootloader answers on usb-dfu and uart: consistent with PROVISIONING"} {
		if !strings.Contains(out, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, out)
		}
	}

	out, _, err = runSweep(t, "h533-locked", "--boot", "--freqs", "100", "--csv")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "\nusb-dfu,,,,silent,") || !strings.Contains(out, "\nuart,,,,silent,") {
		t.Errorf("CSV lacks the path rows:\n%s", out)
	}

	// without --boot: SWD only
	out, _, err = runSweep(t, "h533-open", "--freqs", "100")
	if err != nil || strings.Contains(out, "usb-dfu") {
		t.Errorf("paths without asking (%v):\n%s", err, out)
	}
}

func TestCmdBootHelp(t *testing.T) {
	for _, args := range [][]string{{"boot", "-h"}, {"boot", "probe", "--help"}, {"sim", "boot", "-h"}} {
		code, out, errOut := runCmd(t, args...)
		if code != 0 || errOut != "" || !strings.Contains(strings.ToLower(out), "usage") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
	code, out, _ := runCmd(t, "__complete", "boot", "probe", "--parity", "")
	if code != 0 || !strings.Contains(out, "even\nnone\nodd") {
		t.Errorf("completion of --parity: %q", out)
	}
}

func TestBootFlagsRequest(t *testing.T) {
	f := bootFlags{uart: "/dev/ttyUSB0", baud: 57600, parity: "none", boot0: "high", boot0Line: "DTR", nrstLine: "rts"}
	r, err := f.request()
	if err != nil {
		t.Fatal(err)
	}
	o := r.Options.UARTOptions
	if r.UART != "/dev/ttyUSB0" || r.USB || r.Options.BOOT0 != boot.LevelHigh || o.Baud != 57600 || o.Parity != uart.ParityNone ||
		o.Wiring != (uart.Wiring{BOOT0: uart.SignalDTR, NRST: uart.SignalRTS}) {
		t.Errorf("request %+v", r)
	}
}
