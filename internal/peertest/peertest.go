// Package peertest is how the project's tests ask for what they run
// against: a real peer tool (OpenOCD, st-info, gdb, stm32flash, dfu-util,
// ssh, tmux) or the simulated USB bus. Where it is missing the test is
// skipped, except in CI (CI=true), where a missing peer fails the run.
package peertest

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run in CI, where nothing may be skipped.
func InCI() bool { return os.Getenv("CI") == "true" }

// Need returns the path of tool, or skips (fails in CI) the test when it is
// not installed; pkg is the Debian package that has it.
func Need(t testing.TB, tool, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		Missing(t, tool+" (Debian package "+pkg+") is not installed: "+err.Error())
	}
	return path
}

// Missing skips the test for why, or fails it in CI.
func Missing(t testing.TB, why string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s (CI=true: peers may not be skipped)", why)
	}
	t.Skip(why)
}
