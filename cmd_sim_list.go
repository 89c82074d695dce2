package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/stprobe/stprobe/probe/sim/scenario"
)

// simListEntry is one scenario in `stprobe sim list --json`.
type simListEntry struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Default     bool              `json:"default"`
	Probe       string            `json:"probe"`
	TargetVolts float64           `json:"target_volts"`
	Expect      map[string]string `json:"expect"`
}

// cmdSimList prints the simulated bench scenarios, one line each (or a JSON
// array with --json).
func cmdSimList(ctx context.Context, g *globalFlags, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print a JSON array")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: stprobe sim list [--json]")
		fmt.Fprintln(stderr, "\nLists the simulated bench scenarios; use one with --sim NAME.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fs, stderr, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	list := scenario.List()
	if *asJSON {
		out := make([]simListEntry, 0, len(list))
		for _, s := range list {
			e := s.Expect
			ap0 := e.AP0.String()
			if e.AP0UnderResetOnly {
				ap0 += " (under reset only)"
			}
			out = append(out, simListEntry{
				Name: s.Name, Description: s.Description, Default: s.Name == scenario.DefaultName,
				Probe: s.Probe.String(), TargetVolts: float64(s.Millivolts) / 1000,
				Expect: map[string]string{
					"normal_ap1": e.NormalAP1.String(), "hotplug_ap1": e.HotPlugAP1.String(),
					"under_reset_ap1": e.UnderResetAP1.String(), "ap0": ap0,
				},
			})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return fmt.Errorf("writing scenario list: %w", err)
		}
		return nil
	}
	width := 0
	for _, s := range list {
		width = max(width, len(s.Name))
	}
	for _, s := range list {
		mark := ""
		if s.Name == scenario.DefaultName {
			mark = " (default)"
		}
		if _, err := fmt.Fprintf(stdout, "%-*s  %s%s\n", width, s.Name, s.Description, mark); err != nil {
			return fmt.Errorf("writing scenario list: %w", err)
		}
	}
	return nil
}
