package cli

import (
	"context"
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/probe/sim/scenario"
)

// simCommand is `stprobe sim`: the simulated bench. Its sub-commands open
// no bench: they build the scenario's probe themselves.
func (a *app) simCommand() *cobra.Command {
	c := newCommand("sim", "[--sim SCENARIO] sim list|serve|usb-relay|credentials",
		"the simulated bench: list scenarios, serve a simulated probe",
		"",
		nil)
	return groupCommand(c, "list, serve or usb-relay", "",
		a.simListCommand(), a.simServeCommand(), a.simUSBRelayCommand(), a.simBootCommand(), a.simCredentialsCommand(), a.simCaptureCommand())
}

// selectedScenario is the simulated board --sim names, or the default one.
func (a *app) selectedScenario() (scenario.Scenario, error) {
	if a.sel.Twin != "" {
		tw, err := bench.TwinScenario(context.Background(), a.sel.Twin)
		if err != nil {
			return scenario.Scenario{}, fmt.Errorf("--twin: %w", err)
		}
		if a.stderr != nil {
			fmt.Fprintf(a.stderr, "stprobe: %s\n", tw.Notice())
		}
		return tw.Scenario, nil
	}
	if a.sel.Sim == "" {
		return scenario.Lookup(scenario.DefaultName)
	}
	return scenario.Lookup(a.sel.Sim)
}

// simServeCommand is `stprobe sim serve`: a simulated ST-LINK served as
// stlink-server does, until ctx ends.
func (a *app) simServeCommand() *cobra.Command {
	var listen, firmware string
	var cost costFlags
	c := newCommand("serve", "[--sim SCENARIO] sim serve [--listen ADDR] [--firmware VERSION] [--cost-log FILE] [--pace]",
		"serve a simulated probe as an stlink-server",
		"Serves a simulated ST-LINK as stlink-server does, for OpenOCD (st-link backend tcp PORT) and stprobe --server. Each client's cost (commands, USB transfers, SWD bits, modelled time) is summed up on stderr when it leaves. Stop with ctrl-c.",
		a.noArgs)
	c.Flags().StringVar(&listen, "listen", fmt.Sprintf("127.0.0.1:%d", 7184), "TCP ADDR to listen on (OpenOCD only connects to 127.0.0.1)")
	c.Flags().StringVar(&firmware, "firmware", "", "present this firmware VERSION instead of the scenario's, e.g. V2J40M27, V2J46S7, V3J7M3")
	cost.register(c)
	c.RunE = func(c *cobra.Command, _ []string) error {
		return a.simServe(c, listen, firmware, cost)
	}
	return c
}

func (a *app) simServe(c *cobra.Command, listen, firmware string, cost costFlags) (err error) {
	ctx, stdout := c.Context(), a.stdout
	sc, err := a.selectedScenario()
	if err != nil {
		return err
	}
	p, err := sc.Build()
	if err != nil {
		return err
	}
	if firmware != "" {
		v, err := sim.FirmwareForServe(firmware)
		if err != nil {
			return usage(c, err)
		}
		cfg := p.Config()
		cfg.Firmware = v
		p = sim.New(cfg)
	}
	opts, closeLog, err := cost.options(a.stderr)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := closeLog(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", listen, err)
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
	if err := sim.ServeWith(ctx, l, opts, p); err != nil {
		return fmt.Errorf("serving %s: %w", l.Addr(), err)
	}
	fmt.Fprintln(stdout, "stopped")
	return nil
}
