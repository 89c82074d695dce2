package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/stprobe/stprobe/bench"
)

// probeJSON is one probe in `stprobe list --json` and `stprobe info --json`.
type probeJSON struct {
	Backend  string `json:"backend"`
	Serial   string `json:"serial"`
	Model    string `json:"model"`
	VID      uint16 `json:"vid"`
	PID      uint16 `json:"pid"`
	USBID    string `json:"usb_id"`
	Firmware string `json:"firmware,omitempty"`
	Address  string `json:"address,omitempty"`
}

func toProbeJSON(i bench.ProbeInfo) probeJSON {
	return probeJSON{
		Backend: i.Backend, Serial: i.Serial, Model: i.Model, VID: i.VID, PID: i.PID,
		USBID: fmt.Sprintf("%04X:%04X", i.VID, i.PID), Firmware: i.Firmware, Address: i.Address,
	}
}

// listCommand is `stprobe list`: the ST-LINK probes found on USB, behind
// stlink-server when --server is given, and the simulated bench when --sim
// is given. It opens no bench.
func (a *app) listCommand() *cobra.Command {
	c := newCommand("list", "[--server HOST:PORT] [--sim SCENARIO] list [--json]",
		"the ST-LINK probes found: USB, stlink-server, simulated",
		"Lists ST-LINK probes on USB, behind stlink-server (--server) and the simulated bench (--sim); list is the one command that takes --sim and --server together.",
		a.noArgs)
	asJSON := jsonFlag(c, "print a JSON array")
	c.RunE = func(c *cobra.Command, _ []string) error {
		return a.list(c.Context(), *asJSON)
	}
	return c
}

// list finds and prints the probes.
func (a *app) list(ctx context.Context, asJSON bool) error {
	g, stdout, stderr := a.sel, a.stdout, a.stderr
	var found []bench.ProbeInfo
	var errs []error
	for _, src := range bench.List(ctx, g, a.benchOptions()) {
		found = append(found, src.Probes...)
		if src.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", src.Name, src.Err))
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	// Nothing found and a source failed: that is the error. Otherwise a
	// failed source is a warning on stderr and the listing shows the rest.
	if len(found) == 0 && len(errs) > 0 {
		return fmt.Errorf("no probe listed: %w", errors.Join(errs...))
	}
	for _, e := range errs {
		fmt.Fprintf(stderr, "stprobe list: warning: %v\n", e)
	}
	if g.Serial != "" {
		all := found
		found = nil
		for _, i := range all {
			if strings.EqualFold(i.Serial, g.Serial) {
				found = append(found, i)
			}
		}
		if len(found) == 0 && len(all) > 0 {
			var serials []string
			for _, i := range all {
				serials = append(serials, dash(i.Serial))
			}
			return fmt.Errorf("no probe with serial %s among those found (%s)", g.Serial, strings.Join(serials, ", "))
		}
	}

	if asJSON {
		out := make([]probeJSON, 0, len(found))
		for _, i := range found {
			out = append(out, toProbeJSON(i))
		}
		if err := writeJSON(stdout, out); err != nil {
			return fmt.Errorf("writing probe list: %w", err)
		}
	} else if len(found) > 0 {
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "BACKEND\tSERIAL\tMODEL\tUSB ID\tFIRMWARE\tADDRESS")
		for _, i := range found {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%04X:%04X\t%s\t%s\n", i.Backend, dash(i.Serial), dash(i.Model), i.VID, i.PID, dash(i.Firmware), dash(i.Address))
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("writing probe list: %w", err)
		}
	} else {
		fmt.Fprintln(stdout, "no ST-LINK found: plug one in, or use --server HOST:PORT or --sim SCENARIO (see: stprobe sim list)")
	}
	return nil
}
