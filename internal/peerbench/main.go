// Command peerbench measures stprobe against OpenOCD and pyOCD on one
// modelled clock: every tool talks to the same simulated ST-LINK and
// STM32H5 (stprobe sim serve, or stprobe sim usb-relay for libusb tools),
// whose cost log says what each client session cost on real hardware —
// commands, USB transfers, SWD bits and modelled time. It runs:
//
//	(a) a 30-cell connection matrix (3 modes × 2 APs × 5 clocks): one
//	    `stprobe sweep` against 30 OpenOCD runs (init, read an ID, shutdown);
//	(b) a 64 KiB RAM read: `stprobe mem read` against OpenOCD `dump_image`;
//	(c) the same read through pyOCD (pyocd-tool savemem) over the USB relay,
//	    against `stprobe mem read` over the same relay.
//
// It prints, for each, the modelled time and USB transfers of both sides,
// their ratio, and the wall-clock time. A tool that is not installed is
// reported and its rows skipped. Run it from the repository root after
// building stprobe (make bench does both).
//
// It imports nothing of the project: it drives the stprobe binary and
// reads the cost log, as a user would.
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
	"text/tabwriter"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.stprobe, "stprobe", "bin/stprobe", "the stprobe `binary` to measure")
	flag.StringVar(&o.cfg, "openocd-cfg", "testdata/stm32h5-openocd.cfg", "OpenOCD target `cfg` for the simulated STM32H5")
	flag.StringVar(&o.scenario, "sim", "h533-open", "simulated `scenario` to serve")
	flag.IntVar(&o.khz, "khz", 4000, "SWD clock in `kHz` for the memory reads (every tool is set to it)")
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
	khz                    int
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
}

// add sums c and d.
func (c cost) add(d cost) cost {
	c.Commands += d.Commands
	c.USBTransfers += d.USBTransfers
	c.SWDBits += d.SWDBits
	c.Modelled += d.Modelled
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

// comparison is one workload done by stprobe and by a peer.
type comparison struct {
	name          string
	stprobe, peer result
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

	srv, err := startServer(ctx, o, filepath.Join(dir, "server-cost.jsonl"))
	if err != nil {
		return err
	}
	defer srv.stop()

	start := time.Now()
	var rows []comparison
	matrix, err := benchMatrix(ctx, o, srv)
	if err != nil {
		return fmt.Errorf("(a) connection matrix: %w", err)
	}
	rows = append(rows, matrix)
	read, err := benchRead(ctx, o, srv, dir)
	if err != nil {
		return fmt.Errorf("(b) 64 KiB read: %w", err)
	}
	rows = append(rows, read)
	relayed, err := benchRelayRead(ctx, o, dir)
	if err != nil {
		return fmt.Errorf("(c) 64 KiB read over USB: %w", err)
	}
	rows = append(rows, relayed)
	if err := srv.stop(); err != nil {
		return err
	}
	report(out, o, rows, time.Since(start))
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

func startServer(ctx context.Context, o options, logPath string) (*server, error) {
	args := []string{"--sim", o.scenario, "sim", "serve", "--listen", "127.0.0.1:0", "--cost-log", logPath}
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
	before, err := s.log.sessions()
	if err != nil {
		return result{}, err
	}
	wall, err := runTool(ctx, argv...)
	if err != nil {
		return result{}, err
	}
	got, err := s.log.settle(ctx, len(before))
	if err != nil {
		return result{}, fmt.Errorf("%s: %w", tool, err)
	}
	r := result{tool: tool, sessions: len(got), wall: wall}
	for _, c := range got {
		r.cost = r.cost.add(c)
	}
	return r, nil
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

// benchMatrix is part (a).
func benchMatrix(ctx context.Context, o options, s *server) (comparison, error) {
	c := comparison{name: "(a) connection matrix, 30 cells"}
	var freqs []string
	for _, k := range clocks {
		freqs = append(freqs, fmt.Sprint(k))
	}
	var err error
	c.stprobe, err = s.session(ctx, "stprobe sweep", o.stprobe, "--server", s.addr, "sweep",
		"--modes", strings.Join(modes, ","), "--aps", "0,1", "--freqs", strings.Join(freqs, ","), "--json")
	if err != nil {
		return c, err
	}
	c.peer.tool = "OpenOCD, 30 runs"
	if _, err := exec.LookPath("openocd"); err != nil {
		c.peer.skipped = "openocd is not installed (Debian package openocd)"
		return c, nil
	}
	for _, m := range modes {
		for _, ap := range aps {
			for _, k := range clocks {
				r, err := s.session(ctx, c.peer.tool, openocdCell(o, s.port, m, ap, k)...)
				if err != nil {
					return c, fmt.Errorf("OpenOCD %s AP%d %d kHz: %w", m, ap, k, err)
				}
				c.peer.sessions += r.sessions
				c.peer.cost = c.peer.cost.add(r.cost)
				c.peer.wall += r.wall
			}
		}
	}
	return c, nil
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

// setClock leaves the probe at o.khz (a session not counted): stprobe's
// memory commands use the probe's current clock.
func (s *server) setClock(ctx context.Context, o options) error {
	before, err := s.log.sessions()
	if err != nil {
		return err
	}
	if _, err := runTool(ctx, o.stprobe, "--server", s.addr, "info", "--freq", fmt.Sprint(o.khz)); err != nil {
		return err
	}
	_, err = s.log.settle(ctx, len(before))
	return err
}

// benchRead is part (b).
func benchRead(ctx context.Context, o options, s *server, dir string) (comparison, error) {
	c := comparison{name: "(b) 64 KiB RAM read"}
	want := pattern()
	img := filepath.Join(dir, "pattern.bin")
	if err := os.WriteFile(img, want, 0o644); err != nil {
		return c, err
	}
	// The clock is set and the pattern goes in first, outside the measured
	// sessions.
	if err := s.setClock(ctx, o); err != nil {
		return c, err
	}
	before, err := s.log.sessions()
	if err != nil {
		return c, err
	}
	if _, err := runTool(ctx, o.stprobe, "--server", s.addr, "mem", "write", fmt.Sprintf("0x%08X", ramAddr), img); err != nil {
		return c, err
	}
	if _, err := s.log.settle(ctx, len(before)); err != nil {
		return c, err
	}
	got := filepath.Join(dir, "stprobe.bin")
	c.stprobe, err = s.session(ctx, "stprobe mem read", o.stprobe, "--server", s.addr, "mem", "read",
		fmt.Sprintf("0x%08X", ramAddr), "64K", "-o", got)
	if err != nil {
		return c, err
	}
	if err := sameFile(got, want); err != nil {
		return c, fmt.Errorf("stprobe mem read: %w", err)
	}
	c.peer.tool = "OpenOCD dump_image"
	if _, err := exec.LookPath("openocd"); err != nil {
		c.peer.skipped = "openocd is not installed (Debian package openocd)"
		return c, nil
	}
	got = filepath.Join(dir, "openocd.bin")
	c.peer, err = s.session(ctx, c.peer.tool, openocdArgs(o, s.port, fmt.Sprintf("adapter speed %d", o.khz), "init",
		fmt.Sprintf("dump_image %s 0x%08X 0x%X", got, ramAddr, ramLen), "shutdown")...)
	if err != nil {
		return c, err
	}
	if err := sameFile(got, want); err != nil {
		return c, fmt.Errorf("OpenOCD dump_image: %w", err)
	}
	return c, nil
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
// RAM.
func benchRelayRead(ctx context.Context, o options, dir string) (comparison, error) {
	c := comparison{name: "(c) 64 KiB RAM read over USB", stprobe: result{tool: "stprobe mem read"}, peer: result{tool: "pyOCD savemem"}}
	if _, err := exec.LookPath("umockdev-run"); err != nil {
		c.stprobe.skipped = "umockdev is not installed (Debian packages umockdev, gir1.2-umockdev-1.0, python3-gi)"
		c.peer.skipped = c.stprobe.skipped
		return c, nil
	}
	zero := make([]byte, ramLen)
	got := filepath.Join(dir, "relay-stprobe.bin")
	// info sets the clock first; the shell times the read alone.
	wallFile := filepath.Join(dir, "relay-stprobe.wall")
	script := fmt.Sprintf("%q info --freq %d >/dev/null && s=$(date +%%s%%N) && %q mem read 0x%08X 64K -o %q && e=$(date +%%s%%N) && echo $((e-s)) >%q",
		o.stprobe, o.khz, o.stprobe, ramAddr, got, wallFile)
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
	if _, err := exec.LookPath("pyocd-tool"); err != nil {
		c.peer.skipped = "pyocd-tool is not installed (Debian package python3-pyocd)"
		return c, nil
	}
	got = filepath.Join(dir, "pyocd.bin")
	c.peer, err = relaySession(ctx, o, dir, "pyOCD savemem", "pyocd-tool", "-k", fmt.Sprint(o.khz), "-t", "cortex_m",
		"savemem", fmt.Sprintf("0x%08X", ramAddr), fmt.Sprint(ramLen), got)
	if err != nil {
		return c, err
	}
	return c, sameFile(got, zero)
}

// report prints the table.
func report(w io.Writer, o options, rows []comparison, total time.Duration) {
	paced := "unpaced: wall-clock time is host speed"
	if o.pace {
		paced = "paced: every reply waited its modelled time"
	}
	fmt.Fprintf(w, "stprobe against its peers on one modelled clock: simulated ST-LINK/V2 and STM32H533 (scenario %s), %s\n", o.scenario, paced)
	fmt.Fprintf(w, "matrix: %s x AP0,AP1 x %v kHz; reads: %d KiB at 0x%08X, SWD %d kHz\n\n", strings.Join(modes, ","), clocks, ramLen>>10, ramAddr, o.khz)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\ttool\tsessions\tcommands\tUSB transfers\tmodelled\twall-clock\t")
	for _, r := range rows {
		for _, side := range []result{r.stprobe, r.peer} {
			if side.skipped != "" {
				fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t-\t(skipped: %s)\n", r.name, side.tool, side.skipped)
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t\n", r.name, side.tool, side.sessions, side.cost.Commands,
				side.cost.USBTransfers, ms(side.cost.Modelled), ms(side.wall))
		}
		if r.stprobe.skipped == "" && r.peer.skipped == "" {
			s, p := r.stprobe, r.peer
			fmt.Fprintf(tw, "%s\t%s / stprobe\t\t%s\t%s\t%s\t%s\t\n", r.name, p.tool,
				ratio(float64(p.cost.Commands), float64(s.cost.Commands)),
				ratio(float64(p.cost.USBTransfers), float64(s.cost.USBTransfers)),
				ratio(float64(p.cost.Modelled), float64(s.cost.Modelled)),
				ratio(float64(p.wall), float64(s.wall)))
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\nmodelled: USB round trips and SWD wire time of the simulated probe; wall-clock: each tool's processes, start to exit. Benchmark ran %s.\n", total.Round(100*time.Millisecond))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b)
}
