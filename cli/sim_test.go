package cli

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/probe/stlinkserver"
)

func TestSimServe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		code := Run(ctx, Config{}, []string{"sim", "serve", "--listen", "127.0.0.1:0", "--firmware", "V2J40M27"}, nil, pw, io.Discard)
		pw.Close()
		done <- code
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the listen line: %v", err)
	}
	go io.Copy(io.Discard, pr)
	i := strings.LastIndex(line, " on ")
	if i < 0 || !strings.Contains(line, "V2J40M27") {
		t.Fatalf("listen line %q", line)
	}
	addr := strings.TrimSpace(line[i+4:])
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(stlinkserver.Request{Op: stlinkserver.OpGetDevInfo, InfoSize: stlinkserver.DevInfoSize}.Encode()); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4+stlinkserver.DevInfoSize)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	st, info, err := stlinkserver.DecodeDeviceInfo(b)
	if err != nil || st != stlinkserver.StatusOK || info.PID != 0x374B || info.VID != 0x0483 || len(info.Serial) != 24 {
		t.Errorf("GET_DEV_INFO: %v %v %+v", st, err, info)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("sim serve after cancel: exit %d", code)
	}
}

func TestSimServeUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"bogus"}, {"serve", "--firmware", "nonsense"}, {"serve", "extra"}} {
		if code, _, errOut := runCmd(t, append([]string{"sim"}, args...)...); code != 2 {
			t.Errorf("sim %q: exit %d, want 2: %s", args, code, errOut)
		}
	}
	if code, _, _ := runCmd(t, "--sim", "no-such-board", "sim", "serve"); code == 0 {
		t.Error("unknown scenario accepted")
	}
}
