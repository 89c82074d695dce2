// Command peerbench measures stprobe against OpenOCD and pyOCD on one
// modelled clock: every tool talks to the same simulated ST-LINK and
// STM32H5 (stprobe sim serve, or stprobe sim usb-relay for libusb tools),
// whose cost log says what each client session cost on real hardware —
// commands, USB transfers, SWD bits, the SWD clock the client set, and
// modelled time. It runs:
//
//	(a) a 30-cell connection matrix (3 modes × 2 APs × 5 clocks): `stprobe
//	    sweep` (default, and --full) against the fewest-command floor of
//	    the same cells (a raw client of the server, see floor.go) and 30
//	    OpenOCD runs (init, read an ID, shutdown);
//	(b) 64 KiB RAM read and write on the V2 at 4 MHz and on a V3 at 24 MHz:
//	    stprobe's transfer (its session less a 4-byte one) against the
//	    probe's floor; OpenOCD `dump_image` end to end and transfer-only
//	    (less an init-only session);
//	(c) the read through pyOCD (pyocd-tool savemem) over the USB relay,
//	    against `stprobe mem read` over the same relay, both at 4 MHz;
//	(d) 16 KiB of flash programmed and verified on a simulated STM32L476
//	    (l476-open): `stprobe flash write --verify` (and --burst) against
//	    OpenOCD's `program FILE 0x08000000 verify` with its stm32l4x driver.
//
// Every figure is printed with the SWD clock the tool really set, read
// from the cost log. A tool that is not installed is reported and its
// rows skipped. Run it from the repository root after building stprobe
// (make bench does both).
//
// It imports nothing of the project: it drives the stprobe binary and
// reads the cost log, as a user would, and the floor client speaks the
// stlink-server protocol itself.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.stprobe, "stprobe", "bin/stprobe", "the stprobe `binary` to measure")
	flag.StringVar(&o.cfg, "openocd-cfg", "testdata/stm32h5-openocd.cfg", "OpenOCD target `cfg` for the simulated STM32H5")
	flag.StringVar(&o.scenario, "sim", "h533-open", "simulated `scenario` to serve")
	flag.IntVar(&o.khz, "khz", 4000, "SWD clock in `kHz` for the memory transfers on the V2 (every tool is set to it)")
	flag.IntVar(&o.khzV3, "khz-v3", 24000, "SWD clock in `kHz` for the memory transfers on the V3")
	flag.BoolVar(&o.pace, "pace", false, "serve every reply after its modelled time, so that wall-clock time follows real hardware")
	flag.DurationVar(&o.timeout, "timeout", 3*time.Minute, "give up after `duration`")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "peerbench: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "peerbench: %v\n", err)
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	stprobe, cfg, scenario string
	khz, khzV3             int
	pace                   bool
	timeout                time.Duration
}

// Matrix of part (a): the sweep's three modes, both access ports of an
// STM32H5 and five clocks of the ST-LINK/V2 ladder (the sweep's default
// rungs for this probe).
var (
	modes  = []string{"normal", "hotplug", "under-reset"}
	aps    = []int{0, 1}
	clocks = []int{4000, 1800, 480, 100, 5}
)

// ramAddr and ramLen are the read of parts (b) and (c).
const (
	ramAddr = 0x20000000
	ramLen  = 64 << 10
)

// cost is one session line of stprobe's cost log (the fields used here).
type cost struct {
	Session      int           `json:"session"`
	Commands     int           `json:"commands"`
	USBTransfers int           `json:"usb_transfers"`
	SWDBits      int64         `json:"swd_bits"`
	Modelled     time.Duration `json:"modelled_ns"`
	SWDKHz       int           `json:"swd_khz"`
	SWDKHzSet    []int         `json:"swd_khz_set"`
}

// add sums c and d.
func (c cost) add(d cost) cost {
	c.Commands += d.Commands
	c.USBTransfers += d.USBTransfers
	c.SWDBits += d.SWDBits
	c.Modelled += d.Modelled
	if d.SWDKHz != 0 {
		c.SWDKHz = d.SWDKHz
	}
	c.SWDKHzSet = append(append([]int(nil), c.SWDKHzSet...), d.SWDKHzSet...)
	return c
}

// sub is c less d (a session less its set-up alone).
func (c cost) sub(d cost) cost {
	c.Commands -= d.Commands
	c.USBTransfers -= d.USBTransfers
	c.SWDBits -= d.SWDBits
	c.Modelled -= d.Modelled
	return c
}

// result is what one side of a comparison cost.
type result struct {
	tool     string
	sessions int
	cost     cost
	wall     time.Duration
	skipped  string // why the side did not run
}

func run(ctx context.Context, o options, out io.Writer) error {
	bin, err := filepath.Abs(o.stprobe)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("stprobe binary: %w (build it first: make build)", err)
	}
	o.stprobe = bin
	if o.cfg, err = filepath.Abs(o.cfg); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "peerbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	start := time.Now()
	srv, err := startServer(ctx, o, "", filepath.Join(dir, "server-cost.jsonl"))
	if err != nil {
		return err
	}
	defer srv.stop()
	var rep benchReport
	if rep.matrix, err = benchMatrix(ctx, o, srv); err != nil {
		return fmt.Errorf("(a) connection matrix: %w", err)
	}
	v2, err := benchMemory(ctx, o, srv, dir, "ST-LINK/V2 (V2J46S7)", o.khz, false, true)
	if err != nil {
		return fmt.Errorf("(b) 64 KiB on the V2: %w", err)
	}
	if err := srv.stop(); err != nil {
		return err
	}
	srv3, err := startServer(ctx, o, "V3J7M3", filepath.Join(dir, "server3-cost.jsonl"))
	if err != nil {
		return err
	}
	defer srv3.stop()
	v3, err := benchMemory(ctx, o, srv3, dir, "STLINK-V3 (V3J7M3)", o.khzV3, true, false)
	if err != nil {
		return fmt.Errorf("(b) 64 KiB on the V3: %w", err)
	}
	if err := srv3.stop(); err != nil {
		return err
	}
	rep.memory = []memBench{v2, v3}
	if rep.relay, err = benchRelayRead(ctx, o, dir); err != nil {
		return fmt.Errorf("(c) 64 KiB read over USB: %w", err)
	}
	if rep.flash, err = benchFlash(ctx, o, dir); err != nil {
		return fmt.Errorf("(d) flash on %s: %w", flashBoard, err)
	}
	rep.total = time.Since(start)
	rep.write(out, o)
	return nil
}

// server is a running `stprobe sim serve --cost-log`.
type server struct {
	addr, port string
	log        *costLog
	cmd        *exec.Cmd
	stderr     bytes.Buffer
	done       chan error
	stopped    bool
}

func startServer(ctx context.Context, o options, firmware, logPath string) (*server, error) {
	args := []string{"--sim", o.scenario, "sim", "serve", "--listen", "127.0.0.1:0", "--cost-log", logPath}
	if firmware != "" {
		args = append(args, "--firmware", firmware)
	}
	if o.pace {
		args = append(args, "--pace")
	}
	s := &server{log: &costLog{path: logPath}, done: make(chan error, 1)}
	s.cmd = exec.CommandContext(ctx, o.stprobe, args...)
	s.cmd.Stderr = &s.stderr
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting sim serve: %w", err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("sim serve printed no address: %v: %s", err, s.stderr.String())
	}
	go io.Copy(io.Discard, stdout)
	i := strings.LastIndex(line, " on 127.0.0.1:")
	if i < 0 {
		s.stop()
		return nil, fmt.Errorf("sim serve: unexpected first line %q", line)
	}
	s.addr = strings.TrimSpace(line[i+4:])
	s.port = s.addr[strings.LastIndex(s.addr, ":")+1:]
	return s, nil
}

// stop interrupts the server (it logs every session before it exits).
func (s *server) stop() error {
	if s.stopped {
		return nil
	}
	s.stopped = true
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-s.done:
		if err != nil {
			return fmt.Errorf("sim serve: %v: %s", err, s.stderr.String())
		}
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		return errors.New("sim serve did not stop")
	}
	return nil
}

// costLog reads the session lines of a cost log.
type costLog struct {
	path string
}

// sessions returns every session logged so far.
func (l *costLog) sessions() ([]cost, error) {
	data, err := os.ReadFile(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []cost
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var c cost
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			return nil, fmt.Errorf("cost log %s: %w", l.path, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// settle waits until the log has more than before sessions and has not
// grown for a moment: the server logs a session when its client's
// connection closes, just after the client exits.
func (l *costLog) settle(ctx context.Context, before int) ([]cost, error) {
	deadline := time.Now().Add(10 * time.Second)
	last, since := -1, time.Now()
	for {
		all, err := l.sessions()
		if err != nil {
			return nil, err
		}
		if len(all) != last {
			last, since = len(all), time.Now()
		}
		if len(all) > before && time.Since(since) >= 150*time.Millisecond {
			return all[before:], nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the server logged no session for the client (%d sessions)", len(all))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// session runs one client of the server and returns its sessions' cost
// and wall-clock time.
func (s *server) session(ctx context.Context, tool string, argv ...string) (result, error) {
	r, _, err := s.sessionOutput(ctx, tool, argv...)
	return r, err
}

// sessionOutput is session that also returns what the tool printed on
// stdout; a failure carries the end of what it printed on stderr.
func (s *server) sessionOutput(ctx context.Context, tool string, argv ...string) (result, []byte, error) {
	before, err := s.log.sessions()
	if err != nil {
		return result{}, nil, err
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var errBuf strings.Builder
	cmd.Stderr = &errBuf
	start := time.Now()
	out, err := cmd.Output()
	wall := time.Since(start)
	if err != nil {
		return result{}, nil, fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, tail(errBuf.String(), 2000))
	}
	got, err := s.log.settle(ctx, len(before))
	if err != nil {
		return result{}, nil, fmt.Errorf("%s: %w", tool, err)
	}
	r := result{tool: tool, sessions: len(got), wall: wall}
	for _, c := range got {
		r.cost = r.cost.add(c)
	}
	return r, out, nil
}

// runTool runs argv to its end and returns how long it took; a failure
// carries the tool's output.
func runTool(ctx context.Context, argv ...string) (time.Duration, error) {
	var outBuf bytes.Buffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &outBuf, &outBuf
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return wall, fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, tail(outBuf.String(), 2000))
	}
	return wall, nil
}

// openocdMissing is why the OpenOCD rows are skipped when it is missing.
const openocdMissing = "openocd is not installed (Debian package openocd)"

// installed reports whether the program name is on the PATH.
func installed(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

// tail is the end of s, at most n bytes.
func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// openocdArgs is an OpenOCD run against the server with cmds after the
// target cfg.
func openocdArgs(o options, port string, cmds ...string) []string {
	args := []string{"openocd", "-f", "interface/stlink-dap.cfg", "-c", "st-link backend tcp " + port,
		"-c", "transport select dapdirect_swd", "-f", o.cfg}
	for _, c := range cmds {
		args = append(args, "-c", c)
	}
	return args
}

// openocdCell is one cell of the matrix as an OpenOCD run: the connect
// mode as OpenOCD does it (hotplug: init examines without halting; normal:
// init and halt; under-reset: NRST held through init, released by reset
// halt), then one ID read through the cell's AP — DBGMCU_IDCODE through
// AP0, the core's CPUID through AP1 — and shutdown.
func openocdCell(o options, port, mode string, ap, khz int) []string {
	cmds := []string{fmt.Sprintf("adapter speed %d", khz)}
	switch mode {
	case "normal":
		cmds = append(cmds, "init", "halt")
	case "hotplug":
		cmds = append(cmds, "init")
	case "under-reset":
		cmds = append(cmds, "reset_config srst_only srst_nogate connect_assert_srst", "init", "reset halt")
	}
	if ap == 0 {
		cmds = append(cmds, "stm32h5.ap0 mdw 0xE0044000")
	} else {
		cmds = append(cmds, "stm32h5.cpu mdw 0xE000ED00")
	}
	return openocdArgs(o, port, append(cmds, "shutdown")...)
}

// pattern is what parts (b) and (c) read back: a RAM image no byte of
// which is where another would land if a transfer wrapped.
func pattern() []byte {
	b := make([]byte, ramLen)
	for i := range b {
		b[i] = byte(i) ^ byte(i>>8) ^ byte(i>>16)*0x5B
	}
	return b
}

// sameFile checks that the file at path holds want.
func sameFile(path string, want []byte) error {
	got, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%s: %d bytes that differ from the %d in RAM", path, len(got), len(want))
	}
	return nil
}

// relaySession runs argv under `stprobe sim usb-relay --cost-log` on a
// fresh simulated board and returns the cost of its last session (the
// earlier ones, if any, set up).
func relaySession(ctx context.Context, o options, dir, tool string, argv ...string) (result, error) {
	logPath := filepath.Join(dir, strings.ReplaceAll(tool, " ", "-")+"-cost.jsonl")
	args := []string{o.stprobe, "--sim", o.scenario, "sim", "usb-relay", "--cost-log", logPath}
	if o.pace {
		args = append(args, "--pace")
	}
	wall, err := runTool(ctx, append(append(args, "--"), argv...)...)
	if err != nil {
		return result{}, err
	}
	all, err := (&costLog{path: logPath}).sessions()
	if err != nil {
		return result{}, err
	}
	if len(all) == 0 {
		return result{}, fmt.Errorf("%s reached no probe on the relay's bus", tool)
	}
	return result{tool: tool, sessions: 1, cost: all[len(all)-1], wall: wall}, nil
}

// benchRelayRead is part (c): both tools reach a simulated probe of their
// own through libusb on the umockdev relay; each board starts with zeroed
// RAM. pyOCD is asked for the figure its table gives the divisor that
// really is o.khz (pyOCDLabel); the cost log says what it set.
func benchRelayRead(ctx context.Context, o options, dir string) (relayBench, error) {
	c := relayBench{stprobe: result{tool: "stprobe mem read"}, pyocd: result{tool: "pyOCD savemem"}}
	if !installed("umockdev-run") {
		c.stprobe.skipped = "umockdev is not installed (Debian packages umockdev, gir1.2-umockdev-1.0, python3-gi)"
		c.pyocd.skipped = c.stprobe.skipped
		return c, nil
	}
	zero := make([]byte, ramLen)
	got := filepath.Join(dir, "relay-stprobe.bin")
	wallFile := filepath.Join(dir, "relay-stprobe.wall")
	script := fmt.Sprintf("s=$(date +%%s%%N) && %q mem read 0x%08X 64K --khz %d -o %q && e=$(date +%%s%%N) && echo $((e-s)) >%q",
		o.stprobe, ramAddr, o.khz, got, wallFile)
	var err error
	c.stprobe, err = relaySession(ctx, o, dir, "stprobe mem read", "sh", "-c", script)
	if err != nil {
		return c, err
	}
	ns, err := os.ReadFile(wallFile)
	if err != nil {
		return c, err
	}
	if _, err := fmt.Sscan(string(ns), &c.stprobe.wall); err != nil {
		return c, fmt.Errorf("timing the read: %w", err)
	}
	if err := sameFile(got, zero); err != nil {
		return c, err
	}
	if !installed("pyocd-tool") {
		c.pyocd.skipped = "pyocd-tool is not installed (Debian package python3-pyocd)"
		return c, nil
	}
	got = filepath.Join(dir, "pyocd.bin")
	c.pyocd, err = relaySession(ctx, o, dir, "pyOCD savemem", "pyocd-tool", "-k", fmt.Sprint(pyOCDLabel(o.khz)), "-t", "cortex_m",
		"savemem", fmt.Sprintf("0x%08X", ramAddr), fmt.Sprint(ramLen), got)
	if err != nil {
		return c, err
	}
	return c, sameFile(got, zero)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b)
}
