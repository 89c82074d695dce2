package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stprobe/stprobe/boot"
	"github.com/stprobe/stprobe/probe/sim/bootsim"
	"github.com/stprobe/stprobe/probe/sim/usbrelay"
)

// uartEnv is the environment variable that gives PROGRAM the pty of the
// simulated board's bootloader UART.
const uartEnv = "STPROBE_UART"

// simBootCommand is `stprobe sim boot`: the simulated board's ROM
// bootloader paths for other programs, its UART on a pty and its USB DFU
// function on a simulated USB bus, so that stm32flash and dfu-util run
// against the simulator from a shell.
func (a *app) simBootCommand() *cobra.Command {
	var (
		boot0   string
		verbose bool
	)
	c := newCommand("boot [-- PROGRAM [ARGS...]]", "[--sim SCENARIO] sim boot [--boot0 high|low] [-v] [-- PROGRAM [ARGS...]]",
		"serve the simulated board's ROM bootloader: UART on a pty, USB DFU on a simulated bus",
		"Serves the simulated board's ROM bootloader as its product state and BOOT0 allow (OPEN with BOOT0 high, or PROVISIONING): "+
			"the UART on a pseudo-terminal, and with PROGRAM the USB DFU function on a simulated USB bus (umockdev) beside the board's ST-LINK. "+
			"Without PROGRAM it prints the pty's path and serves it until ctrl-c (for stm32flash -m 8n1: a pty cannot carry parity). "+
			"With PROGRAM it runs PROGRAM there, the pty's path in $"+uartEnv+", e.g.: stprobe --sim h533-provisioning sim boot -- dfu-util -l",
		cobra.ArbitraryArgs)
	// PROGRAM's own flags are its own: flags stop at the first argument.
	c.Flags().SetInterspersed(false)
	c.Flags().StringVar(&boot0, "boot0", "", "the simulated board's BOOT0 pin, high or low (default: the scenario's)")
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "say on stderr what is served where")
	complete(c, "boot0", "high", "low")
	c.RunE = func(c *cobra.Command, argv []string) error {
		return a.simBoot(c, argv, boot0, verbose)
	}
	return c
}

func (a *app) simBoot(c *cobra.Command, argv []string, boot0 string, verbose bool) error {
	ctx := c.Context()
	level, err := boot.ParseLevel(boot0)
	if err != nil {
		return usage(c, fmt.Errorf("--boot0 %q: want high or low", boot0))
	}
	sc, err := a.selectedScenario()
	if err != nil {
		return err
	}
	if level != boot.LevelUnknown {
		sc = sc.WithBoot0(level == boot.LevelHigh)
	}
	p, err := sc.Build()
	if err != nil {
		return err
	}
	bs, err := bootsim.Start(sc, p)
	if err != nil {
		return fmt.Errorf("the simulated board has no ROM bootloader to serve: %w", err)
	}
	defer bs.Close()
	pin := "low"
	if sc.Boot0 {
		pin = "high"
	}
	runs := "runs"
	if !bs.Present() {
		runs = "does not run (silent on both paths)"
	}
	if len(argv) == 0 {
		fmt.Fprintf(a.stdout, "scenario %s, BOOT0 %s: the ROM bootloader %s\n", sc.Name, pin, runs)
		fmt.Fprintf(a.stdout, "UART (bootloader protocol) on %s\n", bs.UARTPath())
		fmt.Fprintf(a.stdout, "stm32flash: stm32flash -m 8n1 -b 115200 %s\n", bs.UARTPath())
		fmt.Fprintln(a.stdout, "USB DFU: give a PROGRAM to run on the simulated bus, e.g. stprobe sim boot -- dfu-util -l")
		<-ctx.Done()
		fmt.Fprintln(a.stdout, "stopped")
		return nil
	}
	relay, err := usbrelay.StartBus(ctx, []usbrelay.Device{{Probe: p}}, []usbrelay.DFUFunction{bs.DFU()})
	if err != nil {
		return fmt.Errorf("starting the USB relay: %w", err)
	}
	if verbose {
		dfu := "and its ROM DFU function (0483:DF11)"
		if !bs.Present() {
			dfu = "only: the ROM bootloader does not run, so no DFU function"
		}
		fmt.Fprintf(a.stderr, "stprobe: scenario %s, BOOT0 %s: ST-LINK %s on the simulated USB bus; bootloader UART on %s ($%s)\n",
			sc.Name, pin, dfu, bs.UARTPath(), uartEnv)
	}
	cmd := relay.Command(ctx, argv[0], argv[1:]...)
	cmd.Env = append(cmd.Env, uartEnv+"="+bs.UARTPath())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = a.stdin, a.stdout, rawWriter(a.stderr)
	runErr := cmd.Run()
	closeErr := relay.Close()
	if runErr != nil {
		return fmt.Errorf("%s: %w", argv[0], runErr)
	}
	return closeErr
}
