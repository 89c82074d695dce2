package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// runCmd runs stprobe with args and returns exit code, stdout and stderr.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), Config{}, args, nil, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestInfoJSON(t *testing.T) {
	tests := []struct {
		scenario string
		mode     string
		code     int
		ok       bool
		ap       uint8
		state    string
		failed   string
	}{
		{"h533-open", "normal", 0, true, 1, "halted", ""},
		{"h533-open", "hotplug", 0, true, 1, "running", ""},
		{"h533-open", "under-reset", 0, true, 1, "halted", ""},
		{"h533-provisioning", "normal", 1, false, 1, "running", "wait for halt"},
		{"h533-provisioning", "hotplug", 0, true, 1, "running", ""},
		{"h533-tz-closed-no-da", "hotplug", 1, false, 1, "unknown", "read CPUID"},
		{"no-target", "hotplug", 1, false, 0, "unknown", "enter SWD"},
	}
	for _, tt := range tests {
		t.Run(tt.scenario+"/"+tt.mode, func(t *testing.T) {
			code, out, errOut := runCmd(t, "--sim", tt.scenario, "info", "--json", "--mode", tt.mode, "--freq", "4000")
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.code, errOut)
			}
			var got infoJSON
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out)
			}
			c := got.Connect
			if c.OK != tt.ok || c.AP != tt.ap || c.CoreState != tt.state || c.FailedStep != tt.failed || c.Mode != tt.mode {
				t.Errorf("connect %+v", c)
			}
			if c.FrequencyKHz != 4000 || c.RequestedKHz != 4000 {
				t.Errorf("frequency %d (asked %d)", c.FrequencyKHz, c.RequestedKHz)
			}
			if got.Probe.Firmware != "V2J46S7" || got.Probe.Backend != "sim" || got.Probe.USBID != "0483:3748" || len(got.Probe.Serial) != 24 {
				t.Errorf("probe %+v", got.Probe)
			}
			if got.Voltage == nil || *got.Voltage < 3.28 || *got.Voltage > 3.30 {
				t.Errorf("voltage %v", got.Voltage)
			}
			if tt.scenario != "no-target" && (got.Chip == nil || got.Chip.Family != "STM32H5" || got.Chip.CoreAP != 1) {
				t.Errorf("chip %+v (%s)", got.Chip, got.ChipError)
			}
			if !tt.ok && (c.Error == "" || c.ErrorLayer == "" || !strings.Contains(errOut, "failed at")) {
				t.Errorf("failure not explained: %+v; stderr %q", c, errOut)
			}
			if len(c.Steps) == 0 {
				t.Errorf("no steps")
			}
		})
	}
}

func TestInfoText(t *testing.T) {
	code, out, _ := runCmd(t, "--sim", "h533-open", "info", "--mode", "normal", "--ap", "1")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"V2J46S7", "3.29 V", "Cortex-M33 r0p4", "Normal on AP1", "halted", "0x6BA02477", "STM32H5"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// the value column is aligned
	col := -1
	for _, line := range strings.Split(out, "\n") {
		if line == "" || strings.HasPrefix(line, " ") || strings.HasPrefix(line, "Steps") {
			continue
		}
		i := strings.Index(line, "  ")
		for i >= 0 && i+1 < len(line) && line[i+1] == ' ' {
			i++
		}
		if col < 0 {
			col = i
		} else if i != col {
			t.Errorf("value column at %d, want %d: %q", i, col, line)
		}
	}
}

// TestInfoProductState: info reads the product state through an open core
// port and says nothing about it when the port is closed.
func TestInfoProductState(t *testing.T) {
	tests := []struct{ scenario, want string }{
		{"h533-provisioning", "Product state   PROVISIONING (0x17), TrustZone enabled (0xB4)"},
		{"h533-open", "Product state   OPEN (0xED), TrustZone disabled (0xC3)"},
		{"h503-open", "Product state   OPEN (0xED)\n"},
		{"h533-tz-closed-no-da", ""},
	}
	for _, tt := range tests {
		_, out, _ := runCmd(t, "--sim", tt.scenario, "info")
		if tt.want == "" {
			if strings.Contains(out, "Product state") {
				t.Errorf("%s: product state shown through a closed port:\n%s", tt.scenario, out)
			}
			continue
		}
		if !strings.Contains(out, tt.want) {
			t.Errorf("%s: output lacks %q:\n%s", tt.scenario, tt.want, out)
		}
	}
}

func TestInfoUsage(t *testing.T) {
	for _, args := range [][]string{
		{"info", "--mode", "sideways"}, {"info", "--ap", "300"}, {"info", "--freq", "-5"}, {"info", "extra"},
	} {
		if code, _, errOut := runCmd(t, append([]string{"--sim", "h533-open"}, args...)...); code != 2 || !strings.Contains(errOut, "usage: stprobe info") {
			t.Errorf("%q: exit %d, stderr %q", args, code, errOut)
		}
	}
}

func TestInfoArgumentMistakes(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--ap", "300"}, "from 0 to 255"},
		{[]string{"--ap", "-1"}, "from 0 to 255"},
		{[]string{"--freq", "-1"}, "want a positive number of kHz"},
		{[]string{"--mode", "sideways"}, "sideways"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		code, out, errOut := runCmd(t, append([]string{"--sim", "h533-open", "info"}, tt.args...)...)
		if code != 2 || out != "" || !strings.Contains(errOut, tt.want) {
			t.Errorf("info %v: exit %d, stdout %q, stderr %q; want exit 2 and %q", tt.args, code, out, errOut, tt.want)
		}
		if strings.Contains(errOut, "(default -1)") {
			t.Errorf("info %v: usage shows the internal default -1:\n%s", tt.args, errOut)
		}
	}
}

func TestInfoShowsRequestedClock(t *testing.T) {
	// 7 kHz is not on the ST-LINK/V2 ladder: the probe sets 5 kHz, and the
	// report says both.
	code, out, errOut := runCmd(t, "--sim", "h533-open", "info", "--ap", "1", "--freq", "7")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "at 5 kHz (asked 7 kHz") {
		t.Errorf("connect line does not show the requested clock:\n%s", out)
	}
}

// TestInfoReportsTheClockUsed: without --freq the report names the SWD
// clock the connect really ran at, never 0. An ST-LINK/V2 cannot say which
// clock it runs, so info sets its power-on default (1.8 MHz) and says so;
// a clock already set on the bench is kept and reported.
func TestInfoReportsTheClockUsed(t *testing.T) {
	b := simBench(t, "h533-provisioning", nil)
	run := func(args ...string) connectJSON {
		t.Helper()
		var out, errOut bytes.Buffer
		a := newApp(Config{}, nil, &out, &errOut)
		a.bench = b
		if code := a.execute(context.Background(), append([]string{"--sim", "h533-provisioning", "info", "--json"}, args...)); code != 0 {
			t.Fatalf("info %v: exit %d: %s", args, code, errOut.String())
		}
		var got infoJSON
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("info %v: %v\n%s", args, err, out.String())
		}
		return got.Connect
	}
	c := run()
	if c.FrequencyKHz != 1800 || c.RequestedKHz != 0 {
		t.Errorf("no --freq on a V2: frequency_khz %d, requested_khz %d; want 1800 and 0", c.FrequencyKHz, c.RequestedKHz)
	}
	if len(c.Steps) == 0 || c.Steps[0].Name != "set SWD frequency" || !c.Steps[0].OK {
		t.Errorf("the clock was not set: steps %+v", c.Steps)
	}
	if c := run("--freq", "4000"); c.FrequencyKHz != 4000 {
		t.Errorf("--freq 4000: frequency_khz %d", c.FrequencyKHz)
	}
	c = run()
	if c.FrequencyKHz != 4000 {
		t.Errorf("after --freq 4000, no --freq: frequency_khz %d, want the 4000 the probe now runs", c.FrequencyKHz)
	}
	for _, s := range c.Steps {
		if s.Name == "set SWD frequency" {
			t.Errorf("a known clock was set again: steps %+v", c.Steps)
		}
	}
	_, text, _ := runCmd(t, "--sim", "h533-provisioning", "info")
	if !strings.Contains(text, "Hot Plug on AP1 at 1800 kHz: ok") {
		t.Errorf("text does not name the clock:\n%s", text)
	}
}
