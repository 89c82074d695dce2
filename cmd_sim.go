package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/probe/sim"
)

// cmdSim dispatches the simulated-bench sub-commands: list and serve.
func cmdSim(ctx context.Context, g *globalFlags, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		simUsage(stderr)
		return errUsage
	}
	switch args[0] {
	case "list":
		return cmdSimList(ctx, g, args[1:], stdout, stderr)
	case "serve":
		return cmdSimServe(ctx, g, args[1:], stdout, stderr)
	case "usb-relay":
		return cmdSimUSBRelay(ctx, g, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		simUsage(stderr)
		return flag.ErrHelp
	}
	fmt.Fprintf(stderr, "stprobe sim: unknown sub-command %q\n", args[0])
	simUsage(stderr)
	return errUsage
}

func simUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: stprobe [--sim SCENARIO] sim list [--json]")
	fmt.Fprintln(w, "       stprobe [--sim SCENARIO] sim serve [--listen ADDR] [--firmware VERSION]")
	fmt.Fprintln(w, "       stprobe [--sim SCENARIO] sim usb-relay [--probe-kind v2|v2-1|v3] -- PROGRAM [ARGS...]")
}

// cmdSimServe serves the selected scenario's simulated ST-LINK with the
// stlink-server TCP protocol until ctx is cancelled (ctrl-c).
func cmdSimServe(ctx context.Context, g *globalFlags, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", fmt.Sprintf("127.0.0.1:%d", 7184), "TCP `ADDR` to listen on (OpenOCD only connects to 127.0.0.1)")
	firmware := fs.String("firmware", "", "present this firmware `VERSION` instead of the scenario's, e.g. V2J40M27, V2J46S7, V3J7M3")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: stprobe [--sim SCENARIO] sim serve [--listen ADDR] [--firmware VERSION]")
		fmt.Fprintln(stderr, "\nServes a simulated ST-LINK as stlink-server does, for OpenOCD (st-link backend tcp PORT)")
		fmt.Fprintln(stderr, "and stprobe --server. Stop with ctrl-c.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fs, stderr, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	sc, err := selectedScenario(g)
	if err != nil {
		return err
	}
	p, err := sc.Build()
	if err != nil {
		return err
	}
	if *firmware != "" {
		v, err := firmwareForServe(*firmware)
		if err != nil {
			fmt.Fprintf(stderr, "stprobe sim serve: %v\n", err)
			return errUsage
		}
		cfg := p.Config()
		cfg.Firmware = v
		p = sim.New(cfg)
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *listen, err)
	}
	v := p.Config().Firmware
	model := p.Model().Name
	fmt.Fprintf(stdout, "serving simulated %s %s (VID:PID %04X:%04X, serial %s), scenario %s, on %s\n",
		model, v, v.VID, v.PID, p.Config().Serial, sc.Name, l.Addr())
	if port := l.Addr().(*net.TCPAddr).Port; port != 0 {
		fmt.Fprintf(stdout, "OpenOCD: openocd -f interface/stlink-dap.cfg -c \"st-link backend tcp %d\" -c \"transport select dapdirect_swd\" -f TARGET.cfg\n", port)
		fmt.Fprintf(stdout, "         (TARGET.cfg: testdata/stm32h5-openocd.cfg in the stprobe sources for an STM32H5)\n")
		fmt.Fprintf(stdout, "stprobe: stprobe --server 127.0.0.1:%d info\n", port)
	}
	if err := sim.Serve(ctx, l, p); err != nil {
		return fmt.Errorf("serving %s: %w", l.Addr(), err)
	}
	fmt.Fprintln(stdout, "stopped")
	return nil
}

// firmwareForServe parses a firmware version and gives it the USB identity
// of the matching probe: V3 → STLINK-V3E (0x374E), V2 with an MSD number →
// V2-1 (0x374B), other V2 → ST-LINK/V2 (0x3748).
func firmwareForServe(s string) (proto.Version, error) {
	v, err := proto.ParseVersion(s)
	if err != nil {
		return v, err
	}
	v.VID = proto.VendorST
	switch {
	case v.Hardware == 4:
		return v, fmt.Errorf("firmware %s: STLINK-V3PWR is unknown to OpenOCD 0.12; use a V2 or V3 version", strings.ToUpper(s))
	case v.Hardware == 3:
		v.PID = 0x374E
	case v.MSD != 0:
		v.PID = 0x374B
	default:
		v.PID = 0x3748
	}
	if !v.HasDAPRegister() {
		return v, fmt.Errorf("firmware %s lacks the DAP register commands (V2J24+): OpenOCD's st-link driver refuses it", v)
	}
	return v, nil
}
