package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/probe/sim/usbrelay"
)

// cmdSimUSBRelay runs a program against the simulated bench over a simulated
// USB bus: any libusb program (stprobe itself, st-info, OpenOCD) sees the
// scenario's ST-LINK as if it were plugged in. It also serves as a
// `go test -exec` wrapper.
func cmdSimUSBRelay(ctx context.Context, g *globalFlags, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim usb-relay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kind := fs.String("probe-kind", "", "simulate this ST-LINK instead of the scenario's: `v2`, v2-1 or v3")
	raw := fs.Bool("raw-serial", false, "report the serial as 12 raw bytes, like early ST-LINK/V2 firmware")
	verbose := fs.Bool("v", false, "say on stderr which probe is on the bus")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: stprobe [--sim SCENARIO] sim usb-relay [flags] -- PROGRAM [ARGS...]")
		fmt.Fprintln(stderr, "\nRuns PROGRAM with the scenario's simulated ST-LINK on a simulated USB bus")
		fmt.Fprintln(stderr, "(umockdev), so that libusb programs such as st-info or openocd reach it unmodified.")
		fmt.Fprintln(stderr, "Also usable as: go test -exec 'stprobe sim usb-relay --' ./...")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	argv := fs.Args()
	if len(argv) == 0 {
		fs.Usage()
		return errUsage
	}
	sc, err := selectedScenario(g)
	if err != nil {
		return err
	}
	if *kind != "" {
		k, err := scenario.ParseProbeKind(*kind)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return errUsage
		}
		sc = sc.WithProbe(k)
	}
	p, err := sc.Build()
	if err != nil {
		return err
	}
	relay, err := usbrelay.Start(ctx, usbrelay.Device{Probe: p, RawSerial: *raw})
	if err != nil {
		return fmt.Errorf("starting the USB relay: %w", err)
	}
	if *verbose {
		cfg := p.Config()
		fmt.Fprintf(stderr, "stprobe: %s %s (serial %s, scenario %s) on the simulated USB bus\n",
			p.Model().Name, cfg.Firmware, cfg.Serial, sc.Name)
	}
	cmd := relay.Command(ctx, argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	runErr := cmd.Run()
	closeErr := relay.Close()
	if runErr != nil {
		return fmt.Errorf("%s: %w", argv[0], runErr)
	}
	return closeErr
}
