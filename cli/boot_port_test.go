package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/probe/sim/scenario"
)

// `boot probe --uart` on a path that is no serial port says so, without
// the advice for a port that answered wrongly.
func TestCmdBootProbeNotASerialPort(t *testing.T) {
	sc, err := scenario.Lookup("h533-open")
	if err != nil {
		t.Fatal(err)
	}
	p := sc.NewProbe()
	addr := serveProbe(t, sim.CostOptions{}, p)
	dir := t.TempDir()
	for _, c := range []struct{ path, want string }{
		{"/dev/null", "is not a serial port (a character device that is not a terminal)"},
		{dir, "is not a serial port (it is a directory)"},
		{filepath.Join(dir, "ttyUSB7"), "no such device"},
	} {
		code, out, errOut := runCLI(t, "--server", addr, "--probe", p.Config().Serial, "boot", "probe", "--uart", c.path)
		all := out + errOut
		if code != 1 || !strings.Contains(all, c.want) || !strings.Contains(errOut, "nothing probed") {
			t.Errorf("%s: exit %d, output:\n%s", c.path, code, all)
		}
		for _, bad := range []string{"something answered", "TX looped", "dialout"} {
			if strings.Contains(all, bad) {
				t.Errorf("%s: says %q:\n%s", c.path, bad, all)
			}
		}
	}
}
