package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/targets"
)

// simListEntry is one scenario in `stprobe sim list --json`.
type simListEntry struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Family is the chip family on the wire ("STM32H5", "STM32F1", …);
	// "" for a generic core or no target.
	Family      string            `json:"family"`
	Default     bool              `json:"default"`
	Probe       string            `json:"probe"`
	TargetVolts float64           `json:"target_volts"`
	Expect      map[string]string `json:"expect"`
}

// simListCommand is `stprobe sim list`: the simulated bench scenarios,
// grouped by chip family, one line each (or a JSON array with --json, in
// the registry's order).
func (a *app) simListCommand() *cobra.Command {
	c := newCommand("list", "sim list [--json]",
		"the simulated boards",
		"Lists the simulated bench scenarios, grouped by chip family; use one with --sim NAME.",
		a.noArgs)
	asJSON := jsonFlag(c, "print a JSON array")
	c.RunE = func(*cobra.Command, []string) error {
		return simList(a.stdout, *asJSON)
	}
	return c
}

// simList prints the scenarios.
func simList(stdout io.Writer, asJSON bool) error {
	list := scenario.List()
	if asJSON {
		out := make([]simListEntry, 0, len(list))
		for _, s := range list {
			e := s.Expect
			ap0 := e.AP0.String()
			if e.AP0UnderResetOnly {
				ap0 += " (under reset only)"
			}
			out = append(out, simListEntry{
				Name: s.Name, Description: s.Description, Family: s.Family(), Default: s.Name == scenario.DefaultName,
				Probe: s.Probe.String(), TargetVolts: float64(s.Millivolts) / 1000,
				Expect: map[string]string{
					"normal_ap1": e.NormalAP1.String(), "hotplug_ap1": e.HotPlugAP1.String(),
					"under_reset_ap1": e.UnderResetAP1.String(), "ap0": ap0,
				},
			})
		}
		if err := writeJSON(stdout, out); err != nil {
			return fmt.Errorf("writing scenario list: %w", err)
		}
		return nil
	}
	width := 0
	for _, s := range list {
		width = max(width, len(s.Name))
	}
	for i, g := range groupByFamily(list) {
		head := g.family
		if head == "" {
			head = "no STM32: wiring, power, a generic core"
		}
		if i > 0 {
			head = "\n" + head
		}
		if _, err := fmt.Fprintln(stdout, head); err != nil {
			return fmt.Errorf("writing scenario list: %w", err)
		}
		for _, s := range g.boards {
			mark := ""
			if s.Name == scenario.DefaultName {
				mark = " (default)"
			}
			if _, err := fmt.Fprintf(stdout, "  %-*s  %s%s\n", width, s.Name, s.Description, mark); err != nil {
				return fmt.Errorf("writing scenario list: %w", err)
			}
		}
	}
	return nil
}

// familyGroup is the boards of one chip family.
type familyGroup struct {
	family string
	boards []scenario.Scenario
}

// groupByFamily groups the scenarios by family in the order of
// targets.Families (STM32H5 first), the boards without an STM32 last; within
// a family the registry's order holds.
func groupByFamily(list []scenario.Scenario) []familyGroup {
	order := []string{}
	for _, f := range targets.Families() {
		order = append(order, f.Name)
	}
	order = append(order, "")
	var out []familyGroup
	for _, name := range order {
		g := familyGroup{family: name}
		for _, s := range list {
			if s.Family() == name {
				g.boards = append(g.boards, s)
			}
		}
		if len(g.boards) > 0 {
			out = append(out, g)
		}
	}
	return out
}
