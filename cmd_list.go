package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/stprobe/stprobe/probe"
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

func toProbeJSON(i probe.Info) probeJSON {
	return probeJSON{
		Backend: i.Backend, Serial: i.Serial, Model: i.Model, VID: i.VID, PID: i.PID,
		USBID: fmt.Sprintf("%04X:%04X", i.VID, i.PID), Firmware: i.Firmware, Address: i.Address,
	}
}

// cmdList prints the ST-LINK probes found: on USB, behind stlink-server when
// --server is given, and the simulated bench when --sim is given.
func cmdList(ctx context.Context, g *globalFlags, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print a JSON array")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: stprobe [--server HOST:PORT] [--sim SCENARIO] list [--json]")
		fmt.Fprintln(stderr, "\nLists ST-LINK probes on USB, behind stlink-server (--server) and the simulated bench (--sim).")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fs, stderr, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}

	var found []probe.Info
	var errs []error
	usb, err := probe.ListUSB(ctx)
	found = append(found, usb...)
	if err != nil {
		errs = append(errs, fmt.Errorf("USB: %w", err))
	}
	if g.server != "" {
		srv, err := probe.ListServer(ctx, g.server)
		found = append(found, srv...)
		if err != nil {
			errs = append(errs, fmt.Errorf("stlink-server %s: %w", g.server, err))
		}
	}
	if g.sim != "" {
		b, err := openSim(ctx, g.sim)
		if err != nil {
			errs = append(errs, fmt.Errorf("simulated bench: %w", err))
		} else {
			found = append(found, b.Info)
			b.Close()
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
	if g.serial != "" {
		all := found
		found = nil
		for _, i := range all {
			if strings.EqualFold(i.Serial, g.serial) {
				found = append(found, i)
			}
		}
		if len(found) == 0 && len(all) > 0 {
			var serials []string
			for _, i := range all {
				serials = append(serials, dash(i.Serial))
			}
			return fmt.Errorf("no probe with serial %s among those found (%s)", g.serial, strings.Join(serials, ", "))
		}
	}

	if *asJSON {
		out := make([]probeJSON, 0, len(found))
		for _, i := range found {
			out = append(out, toProbeJSON(i))
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
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

// dash shows "-" for an empty field.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
