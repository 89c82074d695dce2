package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/probe/sim/usbrelay"
)

// simUSBRelayCommand is `stprobe sim usb-relay`: it runs a program against
// the simulated bench over a simulated USB bus: any libusb program (stprobe itself, st-info, OpenOCD) sees the
// scenario's ST-LINK as if it were plugged in. It also serves as a
// `go test -exec` wrapper.
func (a *app) simUSBRelayCommand() *cobra.Command {
	var (
		kind         string
		raw, verbose bool
		cost         costFlags
	)
	c := newCommand("usb-relay -- PROGRAM [ARGS...]", "[--sim SCENARIO] sim usb-relay [--probe-kind v2|v2-1|v3] [--raw-serial] [-v] [--cost-log FILE] [--pace] -- PROGRAM [ARGS...]",
		"run a libusb program against a simulated probe",
		"Runs PROGRAM with the scenario's simulated ST-LINK on a simulated USB bus (umockdev), so that libusb programs such as st-info or openocd reach it unmodified. With -v or --cost-log, each session's cost (from the program claiming the probe to releasing it) is summed up on stderr. Also usable as: go test -exec 'stprobe sim usb-relay --' ./...",
		cobra.ArbitraryArgs)
	// PROGRAM's own flags are its own: flags stop at the first argument.
	c.Flags().SetInterspersed(false)
	c.Flags().StringVar(&kind, "probe-kind", "", "simulate this ST-LINK instead of the scenario's: v2, v2-1 or v3")
	c.Flags().BoolVar(&raw, "raw-serial", false, "report the serial as 12 raw bytes, like early ST-LINK/V2 firmware")
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "say on stderr which probe is on the bus, and what each session cost")
	cost.register(c)
	c.RunE = func(c *cobra.Command, argv []string) error {
		return a.simUSBRelay(c, argv, kind, raw, verbose, cost)
	}
	return c
}

func (a *app) simUSBRelay(c *cobra.Command, argv []string, kind string, raw, verbose bool, cost costFlags) (err error) {
	ctx, stdout, stderr := c.Context(), a.stdout, a.stderr
	if len(argv) == 0 {
		return usage(c, errors.New("give the PROGRAM to run"))
	}
	sc, err := a.selectedScenario()
	if err != nil {
		return err
	}
	if kind != "" {
		k, err := scenario.ParseProbeKind(kind)
		if err != nil {
			return usage(c, err)
		}
		sc = sc.WithProbe(k)
	}
	p, err := sc.Build()
	if err != nil {
		return err
	}
	// The program's stderr is the relay's: the summaries join it only when
	// asked for.
	var summary io.Writer
	if verbose || cost.logFile != "" {
		summary = stderr
	}
	opts, closeLog, err := cost.options(summary)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := closeLog(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	relay, err := usbrelay.StartWith(ctx, opts, usbrelay.Device{Probe: p, RawSerial: raw})
	if err != nil {
		return fmt.Errorf("starting the USB relay: %w", err)
	}
	if verbose {
		cfg := p.Config()
		fmt.Fprintf(stderr, "stprobe: %s %s (serial %s, scenario %s) on the simulated USB bus\n",
			p.Model().Name, cfg.Firmware, cfg.Serial, sc.Name)
	}
	cmd := relay.Command(ctx, argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = a.stdin, stdout, stderr
	runErr := cmd.Run()
	closeErr := relay.Close()
	if runErr != nil {
		return fmt.Errorf("%s: %w", argv[0], runErr)
	}
	return closeErr
}
