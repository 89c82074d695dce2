package uart_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stprobe/stprobe/boot"
	"github.com/stprobe/stprobe/boot/uart"
)

// Paths that are no serial port are said to be so, not "probed": nothing
// answered, no loopback or wiring advice.
func TestProbePortThatIsNoSerialPort(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, []byte("hello"), 0o600)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want error
		text string
	}{
		{"/dev/null", uart.ErrNotSerial, "a character device that is not a terminal"},
		{plain, uart.ErrNotSerial, "a regular file"},
		{dir, uart.ErrNotSerial, "a directory"},
		{fifo, uart.ErrNotSerial, "a FIFO"},
		{filepath.Join(dir, "ttyUSB9"), uart.ErrNoDevice, "no such device"},
	} {
		_, err := uart.Open(c.path, uart.Options{})
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("Open(%s): %v, want %v saying %q", c.path, err, c.want, c.text)
		}
		r := uart.ProbePort(context.Background(), c.path, uart.Options{})
		if r.Outcome != boot.Failed || !r.PortUnusable {
			t.Errorf("ProbePort(%s): outcome %v, port unusable %v", c.path, r.Outcome, r.PortUnusable)
		}
		fs := boot.Diagnose(boot.SWD{}, boot.LevelUnknown, []boot.Result{r})
		all := ""
		for _, f := range fs {
			all += f.Title + " " + f.Text + " " + strings.Join(f.Checks, " ") + "\n"
		}
		for _, bad := range []string{"something answered", "looped", "dialout"} {
			if strings.Contains(all, bad) {
				t.Errorf("%s: the findings say %q:\n%s", c.path, bad, all)
			}
		}
		if !strings.Contains(all, c.text) || !strings.Contains(all, "could not be used") {
			t.Errorf("%s: the findings do not say %q:\n%s", c.path, c.text, all)
		}
	}
}
