package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/bench"
)

func TestGlobalSelectorMistakes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"unknown scenario", []string{"--sim", "nosuch", "info"}, 2, `no simulated scenario "nosuch"`},
		{"unknown scenario before ob", []string{"--sim", "nosuch", "ob", "read"}, 2, "valid names"},
		{"sim and server", []string{"--sim", "h533-open", "--server", "127.0.0.1:1", "info"}, 2, "give one of them"},
		{"probe serial not the simulated one", []string{"--sim", "h533-open", "--probe", "NOSUCH", "info"}, 1, "has one probe, serial"},
		{"unknown command", []string{"--sim", "h533-open", "frob"}, 2, `unknown command "frob"`},
		{"bad global flag", []string{"--simm", "h533-open", "info"}, 2, "unknown flag: --simm"},
		{"unreachable server", []string{"--server", "127.0.0.1:1", "info"}, 1, "check that stlink-server is running there"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errOut, tt.code, tt.want)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
	// The simulated probe's own serial, in any case, is accepted.
	if code, _, errOut := runCmd(t, "--sim", "h533-open", "--probe", "55ff6b065177495619420887", "info"); code != 0 {
		t.Errorf("matching --probe: exit %d: %s", code, errOut)
	}
}

func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"info", "-h"}, {"ob", "-h"}, {"ob", "plan", "-h"}, {"da", "-h"}, {"sweep", "-h"}, {"sim", "-h"}} {
		code, out, errOut := runCmd(t, args...)
		if code != 0 || errOut != "" || !strings.Contains(strings.ToLower(out), "usage") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 0 and the help on stdout", args, code, out, errOut)
		}
	}
}

func TestErrorsOnOneLine(t *testing.T) {
	// A generic Cortex-M33 has no DBGMCU: identification fails on every AP
	// and the joined error must still be one stderr line naming the command.
	code, _, errOut := runCmd(t, "--sim", "generic-m33", "ob", "read", "--state-dir", t.TempDir())
	if code != 1 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.HasPrefix(errOut, "stprobe ob: ") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "STM32H5 only") {
		t.Errorf("stderr does not say the ob commands need an STM32H5:\n%s", errOut)
	}
}

func TestUnexpectedArgumentIsNamed(t *testing.T) {
	for _, args := range [][]string{{"list", "foo"}, {"sim", "list", "foo"}, {"info", "foo"}, {"sweep", "foo"}, {"da", "discover", "foo"}, {"da", "foo"}} {
		code, out, errOut := runCmd(t, append([]string{"--sim", "h533-open"}, args...)...)
		if code != 2 || out != "" || !strings.Contains(errOut, `"foo"`) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 naming \"foo\"", args, code, out, errOut)
		}
	}
}

func TestListFiltersBySerial(t *testing.T) {
	code, out, errOut := runCmd(t, "--sim", "h533-open", "--probe", "NOSUCH", "list")
	if code != 1 || out != "" || !strings.Contains(errOut, "no probe with serial NOSUCH") || !strings.Contains(errOut, "55FF6B065177495619420887") {
		t.Errorf("unknown serial: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runCmd(t, "--sim", "h533-open", "--probe", "55ff6b065177495619420887", "list")
	if code != 0 || !strings.Contains(out, "sim:h533-open") {
		t.Errorf("matching serial: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestVersion(t *testing.T) {
	code, out, errOut := runCmd(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "stprobe version ") || errOut != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// A build from a clone (a test binary is one) is "devel", never "unknown".
	if !strings.HasPrefix(out, "stprobe version devel") || strings.Contains(out, "unknown") {
		t.Errorf("--version of a build from source: %q, want \"devel\" and the commit if recorded", out)
	}
	var buf bytes.Buffer
	if code := Run(context.Background(), Config{Version: "v1.2.3"}, []string{"--version"}, nil, &buf, io.Discard); code != 0 || !strings.Contains(buf.String(), "v1.2.3") {
		t.Errorf("Config.Version: exit %d, stdout %q", code, buf.String())
	}
}

func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{
		"bash": "__start_stprobe",
		"zsh":  "#compdef stprobe",
		"fish": "complete -c stprobe",
	} {
		code, out, errOut := runCmd(t, "completion", shell)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("completion %s: exit %d, stderr %q, script lacks %q", shell, code, errOut, want)
		}
	}
	// What the scripts ask stprobe for: scenario names, connect modes.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "--sim", ""}, "h533-provisioning\n"},
		{[]string{"__complete", "info", "--mode", ""}, "under-reset\n"},
		{[]string{"__complete", "--log-level", ""}, "trace\n"},
		{[]string{"__complete", "o"}, "ob\t"},
	} {
		code, out, _ := runCmd(t, tt.args...)
		if code != 0 || !strings.Contains(out, tt.want) {
			t.Errorf("%v: exit %d, completions %q lack %q", tt.args, code, out, tt.want)
		}
	}
}

// manEnv makes the test binary act as `stprobe man` (which writes to the
// process's standard output).
const manEnv = "STPROBE_TEST_MAN"

func TestManPage(t *testing.T) {
	if os.Getenv(manEnv) != "" {
		os.Exit(Run(context.Background(), Config{}, []string{"man"}, nil, os.Stdout, os.Stderr))
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestManPage$")
	cmd.Env = append(os.Environ(), manEnv+"=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("stprobe man: %v\n%s", err, out)
	}
	for _, want := range []string{".TH STPROBE 1", ".SH NAME", "--sim", "--log-level", "sweep", "ob"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("man page lacks %q:\n%s", want, out)
		}
	}
}

func TestTraceLogShowsTransfers(t *testing.T) {
	code, out, errOut := runCmd(t, "--log-level", "trace", "--sim", "h533-open", "info")
	if code != 0 || !strings.Contains(out, "Connect") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// The first transfer of every session: GET_VERSION (0xF1), its six
	// reply bytes, its status.
	getVersion := regexp.MustCompile(`level=trace msg="get version" cmd="f1( 00){15}" reply="([0-9a-f]{2} ){5}[0-9a-f]{2}" status=ok`)
	if !getVersion.MatchString(errOut) {
		t.Errorf("trace log lacks the GET_VERSION transfer in hex:\n%s", errOut)
	}
	// A memory read: the command with its address, the data read.
	if !regexp.MustCompile(`level=trace msg="read memory: 4 bytes at 0x[0-9A-F]{8} on AP1" cmd="f2 07 [0-9a-f ]+" reply="([0-9a-f]{2} ){3}[0-9a-f]{2}" status=ok`).MatchString(errOut) {
		t.Errorf("trace log lacks a memory read with its data:\n%s", errOut)
	}
	// At the default level (warn) the log says nothing on a good run.
	code, _, errOut = runCmd(t, "--sim", "h533-open", "info")
	if code != 0 || errOut != "" {
		t.Errorf("default log level: exit %d, stderr %q", code, errOut)
	}
}

func TestLogFileAndLevel(t *testing.T) {
	file := filepath.Join(t.TempDir(), "stprobe.log")
	code, _, errOut := runCmd(t, "--sim", "h533-open", "info", "--log-level", "info", "--log-file", file)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q (the log belongs in the file)", code, errOut)
	}
	data, err := os.ReadFile(file)
	if err != nil || !strings.Contains(string(data), `msg="job started"`) || !strings.Contains(string(data), "job=info") || strings.Contains(string(data), "level=trace") {
		t.Errorf("log file (%v):\n%s", err, data)
	}
	for _, args := range [][]string{
		{"--log-level", "loud", "--sim", "h533-open", "info"},
		{"--log-level", "panic", "--sim", "h533-open", "info"},
	} {
		if code, out, errOut := runCmd(t, args...); code != 2 || out != "" || !strings.Contains(errOut, "--log-level") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	if code, _, errOut := runCmd(t, "--log-file", filepath.Join(t.TempDir(), "no", "such", "dir"), "sim", "list"); code != 1 || !strings.Contains(errOut, "--log-file") {
		t.Errorf("unwritable log file: exit %d, stderr %q", code, errOut)
	}
}

func TestNoCommand(t *testing.T) {
	// No console built in: the help, exit 0.
	code, out, errOut := runCmd(t)
	if code != 0 || !strings.Contains(out, "sweep") || errOut != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// With a console: it runs on the bench the selectors name, as the
	// user, and takes the lease itself.
	var seen bench.Snapshot
	var who bench.Holder
	cfg := Config{Console: func(ctx context.Context, b *bench.Bench, h bench.Holder, stdin io.Reader, stdout io.Writer) error {
		seen, who = b.Snapshot(), h
		fmt.Fprintln(stdout, "console")
		return errors.New("console gave up")
	}}
	var stdout, stderr bytes.Buffer
	code = Run(context.Background(), cfg, []string{"--sim", "h533-open"}, strings.NewReader(""), &stdout, &stderr)
	if code != 1 || stdout.String() != "console\n" || !strings.Contains(stderr.String(), "stprobe: console gave up") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	if seen.Scenario != "h533-open" || seen.Lease != nil || who.Session != "console" || who.Name == "" {
		t.Errorf("console saw scenario %q, lease %+v, holder %+v", seen.Scenario, seen.Lease, who)
	}
}

func TestGlobalFlagsAfterTheCommand(t *testing.T) {
	code, out, errOut := runCmd(t, "info", "--json", "--sim", "h503-open")
	if code != 0 || !strings.Contains(out, `"address": "sim:h503-open"`) {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
