package cli

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/stprobe/stprobe/bench"
)

// DefaultShareAddr is where the bench's probe is shared by default: the
// stlink-server's own port, on loopback only.
const DefaultShareAddr = "127.0.0.1:7184"

// shareCommand is `stprobe share`: the bench's probe served as an
// stlink-server to the tools of the person at this machine.
func (a *app) shareCommand() *cobra.Command {
	var (
		listen    string
		stateDir  string
		leaseIdle time.Duration
	)
	c := newCommand("share", "share [--listen ADDR] [--state-dir DIR] [--lease-idle D]",
		"share the bench's probe as an stlink-server with OpenOCD and other tools",
		"Serves the bench's probe (USB, another stlink-server, or a simulated board named with --sim) over the stlink-server TCP protocol, "+
			"so that stock OpenOCD (st-link backend tcp PORT) and other stlink-server clients use it unchanged. Every command a tool sends runs as bench work "+
			"under your operator lease; a tool is refused while someone else holds the probe and cut after --lease-idle without a command. "+
			"When a tool leaves, the probe is left out of debug with NRST released, its writes to flash or option-byte registers go to the audit log, "+
			"and the option bytes are read again. Over SSH, use stprobe serve --stlink-server ADDR instead.",
		a.noArgs)
	fs := c.Flags()
	fs.StringVar(&listen, "listen", DefaultShareAddr, "serve the stlink-server protocol on ADDR (HOST:PORT); anyone who can reach it acts as you")
	fs.StringVar(&stateDir, "state-dir", "", "directory of the audit log of the tools' writes")
	fs.DurationVar(&leaseIdle, "lease-idle", bench.DefaultLeaseIdle, "cut a tool after D without a command (the operator lease lapses)")
	c.RunE = func(c *cobra.Command, _ []string) error {
		if leaseIdle <= 0 {
			return usage(c, errors.New("--lease-idle wants a positive duration"))
		}
		stateDir, err := stateDirOr(stateDir)
		if err != nil {
			return err
		}
		ctx := c.Context()
		b, err := a.openNoted(ctx, leaseIdle)
		if err != nil {
			return err
		}
		defer b.Close()
		l, err := net.Listen("tcp", listen)
		if err != nil {
			return fmt.Errorf("share: listening on %s: %w (is another stlink-server running? try --listen 127.0.0.1:7185)", listen, err)
		}
		fmt.Fprintf(a.stderr, "stprobe: sharing the probe as an stlink-server on %s for %s (ctrl-c stops); openocd -f interface/stlink-dap.cfg -c \"st-link backend tcp %d\"\n",
			l.Addr(), a.userName(), l.Addr().(*net.TCPAddr).Port)
		return b.ShareListener(ctx, l, bench.Holder{Name: a.userName(), Session: "share"}, bench.ShareOptions{StateDir: stateDir})
	}
	return c
}
