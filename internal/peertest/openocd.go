package peertest

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// OpenOCD is how a test runs OpenOCD against an stlink-server on this host
// (the simulated one, or stprobe share): the ST-LINK in DAP direct SWD
// through the server's TCP backend, OpenOCD's own gdb, tcl and telnet
// servers off.
type OpenOCD struct {
	// Path is the openocd binary, as Need found it.
	Path string
	// Port is the stlink-server's TCP port.
	Port string
	// Target is the target config: "target/stm32f1x.cfg", or a file.
	Target string
	// Pre are commands run before the target config, such as
	// "set WORKAREASIZE 0".
	Pre []string
}

// Args are OpenOCD's arguments for running cmds after the target config.
func (o OpenOCD) Args(cmds ...string) []string {
	args := []string{"-f", "interface/stlink-dap.cfg", "-c", "st-link backend tcp " + o.Port,
		"-c", "transport select dapdirect_swd",
		"-c", "gdb_port disabled", "-c", "tcl_port disabled", "-c", "telnet_port disabled"}
	for _, c := range o.Pre {
		args = append(args, "-c", c)
	}
	args = append(args, "-f", o.Target)
	for _, c := range cmds {
		args = append(args, "-c", c)
	}
	return args
}

// Run runs OpenOCD with cmds until it exits or ctx ends, and returns all
// it printed; the error names the command line.
func (o OpenOCD) Run(ctx context.Context, cmds ...string) (string, error) {
	args := o.Args(cmds...)
	out, err := exec.CommandContext(ctx, o.Path, args...).CombinedOutput()
	if err != nil {
		err = fmt.Errorf("openocd %s: %w", strings.Join(args, " "), err)
	}
	return string(out), err
}
