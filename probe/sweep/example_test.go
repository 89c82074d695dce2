package sweep_test

import (
	"context"
	"fmt"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/probe/sweep"
)

// Sweep the seed thread's board on the simulated bench and print the
// matrix and the most important finding.
func ExampleRun() {
	ctx := context.Background()
	sc, _ := scenario.Lookup("h533-provisioning")
	sp := sc.NewProbe()
	l, err := probe.NewLink(ctx, sp)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()
	m, err := sweep.Run(ctx, l, sweep.Plan{FrequenciesKHz: []int{4000}}, sweep.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range m.Cells {
		fmt.Printf("%-11v AP%d  %v\n", c.Mode, c.AP, c.Outcome)
	}
	fmt.Println(sweep.Diagnose(m)[0].Title)
	// Output:
	// normal      AP0  ok
	// normal      AP1  mode-failed
	// hotplug     AP0  ok
	// hotplug     AP1  ok
	// under-reset AP0  ok
	// under-reset AP1  mode-failed
	// PROVISIONING, no DA provisioned: still recoverable, do this first
}
