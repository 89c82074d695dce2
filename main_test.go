package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mainArgsEnv makes the test binary run main with these arguments.
const mainArgsEnv = "STPROBE_TEST_MAIN_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(mainArgsEnv); args != "" {
		os.Args = append([]string{"stprobe"}, strings.Fields(args)...)
		main()
		return
	}
	os.Exit(m.Run())
}

// Every one of SIGINT, SIGTERM, SIGHUP and SIGPIPE stops the running
// command cleanly: `sim serve` says it stopped and exits 0.
func TestSignalsStopTheCommand(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), mainArgsEnv+"=--sim h533-open sim serve --listen 127.0.0.1:0")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			r := bufio.NewReader(stdout)
			line, err := r.ReadString('\n')
			if err != nil || !strings.HasPrefix(line, "serving simulated") {
				cmd.Process.Kill()
				t.Fatalf("first line %q: %v", line, err)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			var rest []byte
			done := make(chan error, 1)
			go func() {
				rest, _ = io.ReadAll(r)
				done <- cmd.Wait()
			}()
			select {
			case err := <-done:
				if err != nil || !strings.Contains(string(rest), "stopped") {
					t.Errorf("after %v: %v, output %q", sig, err, rest)
				}
			case <-time.After(time.Minute):
				cmd.Process.Kill()
				t.Fatalf("still running a minute after %v", sig)
			}
		})
	}
}
