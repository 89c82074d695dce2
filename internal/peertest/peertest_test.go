package peertest

import (
	"context"
	"strings"
	"testing"
)

func TestNeedFindsAnInstalledTool(t *testing.T) {
	if p := Need(t, "sh", "dash"); p == "" {
		t.Errorf("sh not found")
	}
}

func TestMissingFailsInCI(t *testing.T) {
	t.Setenv("CI", "true")
	ft := &fakeT{TB: t}
	func() {
		defer func() { recover() }()
		Missing(ft, "gone")
	}()
	if !ft.failed || ft.skipped {
		t.Errorf("in CI a missing peer must fail, not skip: failed %v, skipped %v", ft.failed, ft.skipped)
	}
	t.Setenv("CI", "")
	ft = &fakeT{TB: t}
	func() {
		defer func() { recover() }()
		Missing(ft, "gone")
	}()
	if ft.failed || !ft.skipped {
		t.Errorf("outside CI a missing peer skips: failed %v, skipped %v", ft.failed, ft.skipped)
	}
}

// fakeT records Fatalf and Skip instead of ending the test.
type fakeT struct {
	testing.TB
	failed, skipped bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Fatalf(string, ...any) { f.failed = true; panic("fatal") }
func (f *fakeT) Skip(...any)           { f.skipped = true; panic("skip") }

func TestOpenOCDArgs(t *testing.T) {
	o := OpenOCD{Path: "openocd", Port: "7184", Target: "target/stm32f1x.cfg", Pre: []string{"set WORKAREASIZE 0"}}
	got := strings.Join(o.Args("init", "shutdown"), " ")
	want := "-f interface/stlink-dap.cfg -c st-link backend tcp 7184 -c transport select dapdirect_swd" +
		" -c gdb_port disabled -c tcl_port disabled -c telnet_port disabled" +
		" -c set WORKAREASIZE 0 -f target/stm32f1x.cfg -c init -c shutdown"
	if got != want {
		t.Errorf("Args:\n got %s\nwant %s", got, want)
	}
}

func TestOpenOCDRunNamesTheCommandLine(t *testing.T) {
	o := OpenOCD{Path: Need(t, "false", "coreutils"), Port: "1", Target: "x.cfg"}
	if _, err := o.Run(context.Background(), "init"); err == nil || !strings.Contains(err.Error(), "st-link backend tcp 1") {
		t.Errorf("Run of a failing openocd: %v", err)
	}
}
