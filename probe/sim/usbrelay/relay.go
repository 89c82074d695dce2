// Package usbrelay puts simulated ST-LINKs on a fake USB bus that any libusb
// program can use unmodified: stprobe's own USB transport, stlink-tools,
// OpenOCD. It runs umockdev (a library preloaded into the program that
// redirects /sys, /dev and usbdevfs ioctls into a test bed) with a small
// Python script that relays every usbdevfs request to this package, where the
// simulated probe's firmware answers it. Faults injected into a sim.Probe
// (no answer, unplug, short reply) show on the bus as a real probe's would.
//
// Three ways to use it:
//
//   - Run (or Start and Relay.Command) runs another program against the
//     simulated probes, e.g. st-info --probe.
//   - `stprobe sim usb-relay -- PROGRAM` does the same from the command line;
//     as `go test -exec 'stprobe sim usb-relay --'` it runs test binaries
//     against the default scenario.
//   - A process started with PreloadEnv in its environment (a test that
//     re-runs its own binary) can Start a relay itself and set UMOCKDEV_DIR
//     to Relay.Root before it first uses libusb; it then owns the simulated
//     probes and can inject faults while it talks to them.
//
// StartWith also accounts for each client session (claim to release of a
// probe's interface) on the probe's modelled clock and can pace replies to
// it; see sim.CostOptions.
package usbrelay

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

//go:embed relay.py
var relayScript string

// preloadLibrary is umockdev's preload library, found by the dynamic loader.
const preloadLibrary = "libumockdev-preload.so.0"

// startTimeout bounds how long the relay script may take to build its test
// bed when the caller's context has no deadline.
const startTimeout = 20 * time.Second

// Relay is a running umockdev test bed with simulated probes on bus 1.
type Relay struct {
	root    string
	devices []busDevice
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	conn    net.Conn
	stderr  *limitedBuffer
	served  chan error // the serve loop's end
	exited  chan error // the script's end

	closeOnce sync.Once
	closeErr  error
}

// start launches the relay script for devs and serves its requests.
func start(ctx context.Context, devs []busDevice) (*Relay, error) {
	if len(devs) == 0 {
		return nil, errors.New("usbrelay: no probe to put on the bus")
	}
	if len(devs) > 120 {
		return nil, fmt.Errorf("usbrelay: %d probes do not fit on one simulated bus", len(devs))
	}
	if _, err := exec.LookPath("umockdev-run"); err != nil {
		return nil, errors.New("usbrelay: umockdev is not installed (package umockdev)")
	}
	python, err := findPython()
	if err != nil {
		return nil, fmt.Errorf("usbrelay: %w", err)
	}
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("usbrelay: socket pair: %w", err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "relay"), os.NewFile(uintptr(fds[1]), "relay-script")
	defer theirs.Close()
	conn, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		return nil, fmt.Errorf("usbrelay: socket: %w", err)
	}

	r := &Relay{devices: devs, conn: conn, stderr: &limitedBuffer{max: 64 << 10},
		served: make(chan error, 1), exited: make(chan error, 1)}
	r.cmd = exec.Command(python, "-c", relayScript)
	r.cmd.Env = cleanEnv(os.Environ())
	r.cmd.ExtraFiles = []*os.File{theirs}
	r.cmd.Stderr = r.stderr
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("usbrelay: %w", err)
	}
	if r.stdin, err = r.cmd.StdinPipe(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("usbrelay: %w", err)
	}
	if err := r.cmd.Start(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("usbrelay: starting the relay script: %w", err)
	}
	go func() { r.exited <- r.cmd.Wait() }()
	go func() { r.served <- r.serve() }()

	if err := r.handshake(ctx, stdout); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// handshake sends the device descriptions and waits for the test bed root.
func (r *Relay) handshake(ctx context.Context, stdout io.Reader) error {
	type devSetup struct {
		Node        string `json:"node"`
		Description string `json:"description"`
	}
	var setup struct {
		Devices []devSetup `json:"devices"`
	}
	for _, d := range r.devices {
		setup.Devices = append(setup.Devices, devSetup{d.node(), d.description()})
	}
	line, err := json.Marshal(setup)
	if err != nil {
		return fmt.Errorf("usbrelay: %w", err)
	}
	if _, err := r.stdin.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("usbrelay: sending the device descriptions: %w%s", err, r.scriptErrors())
	}
	ready := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- strings.TrimSpace(s)
		io.Copy(io.Discard, stdout)
	}()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, startTimeout)
		defer cancel()
	}
	select {
	case s := <-ready:
		root, ok := strings.CutPrefix(s, "READY ")
		if !ok || root == "" {
			return fmt.Errorf("usbrelay: the relay script did not start%s", r.scriptErrors())
		}
		r.root = root
		return nil
	case <-ctx.Done():
		return fmt.Errorf("usbrelay: waiting for the relay script: %w", ctx.Err())
	}
}

// serve answers the script's requests until the socket closes.
func (r *Relay) serve() error {
	for {
		body, err := readFrame(r.conn)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("usbrelay: reading a request: %w", err)
		}
		var rep reply
		req, err := decodeRequest(body)
		switch {
		case err != nil:
			rep = reply{Errno: errnoEINVAL}
		case int(req.Device) >= len(r.devices):
			rep = reply{Errno: errnoENODEV}
		default:
			dev := r.devices[req.Device]
			rep = dev.serve(req)
			if st, ok := dev.(*device); ok {
				if owed := st.takeOwed(); owed > 0 {
					st.acct.Pace(owed) // outside the device's lock
				}
			}
		}
		if err := writeFrame(r.conn, encodeReply(rep)); err != nil {
			return fmt.Errorf("usbrelay: writing a reply: %w", err)
		}
	}
}

// scriptErrors is the relay script's error output, formatted to end a message.
func (r *Relay) scriptErrors() string {
	s := strings.TrimSpace(r.stderr.String())
	if s == "" {
		return ""
	}
	return ": " + s
}

// Root is the umockdev test bed directory (the value of UMOCKDEV_DIR).
func (r *Relay) Root() string { return r.root }

// Env is the environment a program needs to see the simulated probes:
// umockdev's preload library and the test bed directory.
func (r *Relay) Env() []string {
	return []string{"LD_PRELOAD=" + preloadLibrary, "UMOCKDEV_DIR=" + r.root}
}

// PreloadEnv is the environment that lets a process reach a test bed it
// creates itself later: umockdev's preload library, which stays inert until
// UMOCKDEV_DIR is set.
func PreloadEnv() []string {
	return []string{"LD_PRELOAD=" + preloadLibrary}
}

// Preloaded reports whether this process runs with umockdev's preload library.
func Preloaded() bool {
	return strings.Contains(os.Getenv("LD_PRELOAD"), "libumockdev-preload")
}

// Command returns a command that runs name with args against the simulated
// probes: the current environment plus Env.
func (r *Relay) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, name, args...)
	c.Env = append(cleanEnv(os.Environ()), r.Env()...)
	c.WaitDelay = 2 * time.Second
	return c
}

// InFlight is the number of transfers the host has submitted to the probe
// at index i and not got back yet (reads waiting for a reply).
func (r *Relay) InFlight(i int) int {
	n, _ := r.devices[i].inFlight()
	return n
}

// WaitInFlight blocks until the host has at least n transfers in flight to
// the probe at index i (for example a read waiting for a reply that will not
// come), or ctx ends.
func (r *Relay) WaitInFlight(ctx context.Context, i, n int) error {
	for {
		got, changed := r.devices[i].inFlight()
		if got >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("usbrelay: waiting for %d transfers in flight to probe %d (have %d): %w", n, i, got, ctx.Err())
		}
	}
}

// Close stops the relay script and removes the test bed. Programs using the
// simulated probes must have ended.
func (r *Relay) Close() error {
	r.closeOnce.Do(func() {
		r.stdin.Close()
		var err error
		select {
		case err = <-r.exited:
		case <-time.After(5 * time.Second):
			r.cmd.Process.Kill()
			err = <-r.exited
		}
		r.conn.Close()
		if serr := <-r.served; serr != nil && err == nil {
			err = serr
		}
		for _, d := range r.devices {
			if st, ok := d.(*device); ok {
				st.end() // a host that never released its interface
			}
		}
		if err != nil {
			r.closeErr = fmt.Errorf("usbrelay: relay script: %w%s", err, r.scriptErrors())
		}
	})
	return r.closeErr
}

// Available reports why the relay cannot run on this machine, naming the
// missing package, or nil when it can.
func Available() error {
	if _, err := exec.LookPath("umockdev-run"); err != nil {
		return errors.New("umockdev is not installed (package umockdev)")
	}
	_, err := findPython()
	return err
}

// pythonCheck imports what the relay script needs.
const pythonCheck = "import gi; gi.require_version('UMockdev', '1.0'); from gi.repository import UMockdev"

// findPython returns the interpreter for the relay script: $STPROBE_PYTHON,
// else the first python3 on PATH that has GObject introspection and
// umockdev's introspection data (a python3 from a version manager often lacks
// them while the distribution's has them). Executables are tried before
// wrapper scripts, which version managers use and which are slow to start.
func findPython() (string, error) {
	candidates := []string{os.Getenv("STPROBE_PYTHON")}
	if candidates[0] == "" {
		candidates = pythonCandidates()
	}
	if len(candidates) == 0 {
		return "", errors.New("python3 is not installed (packages python3 and python3-gi)")
	}
	var msg string
	for _, p := range candidates {
		check := exec.Command(p, "-c", pythonCheck)
		check.Env = cleanEnv(os.Environ())
		out, err := check.CombinedOutput()
		if err == nil {
			return p, nil
		}
		if msg == "" || !strings.Contains(string(out), "No module named 'gi'") {
			msg = string(bytes.TrimSpace(out))
		}
	}
	if strings.Contains(msg, "No module named 'gi'") {
		return "", errors.New("python3 has no GObject introspection (package python3-gi)")
	}
	return "", fmt.Errorf("umockdev's introspection data is missing (package gir1.2-umockdev-1.0): %s", lastLine(msg))
}

// pythonCandidates lists the distinct python3 files on PATH, executables
// (ELF) first, each group in PATH order.
func pythonCandidates() []string {
	var binaries, scripts, seen []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, "python3")
		real, err := filepath.EvalSymlinks(p)
		if err != nil || slices.Contains(seen, real) {
			continue
		}
		f, err := os.Open(real)
		if err != nil {
			continue
		}
		magic := make([]byte, 4)
		n, _ := io.ReadFull(f, magic)
		f.Close()
		seen = append(seen, real)
		if n == 4 && string(magic) == "\x7fELF" {
			binaries = append(binaries, p)
		} else {
			scripts = append(scripts, p)
		}
	}
	return append(binaries, scripts...)
}

// cleanEnv drops umockdev variables inherited from a parent relay.
func cleanEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "LD_PRELOAD=") || strings.HasPrefix(kv, "UMOCKDEV_DIR=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
