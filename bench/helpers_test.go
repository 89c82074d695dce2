package bench

import "github.com/stprobe/stprobe/probe/sim"

func simUnplug() sim.Fault { return sim.Fault{Kind: sim.FaultUnplug} }
