package probe_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/adi"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/targets/chipsim"
)

func stepNames(r *probe.ConnectReport) []string {
	var out []string
	for _, s := range r.Steps {
		out = append(out, s.Name)
	}
	return out
}

func TestConnectModesGenericM33(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		mode     probe.ConnectMode
		cpuAP    uint8
		ap       uint8
		ok       bool
		apOK     bool
		core     bool
		state    probe.CoreState
		failed   string
		haltedAt bool // the core is halted in the model afterwards
	}{
		{probe.ModeNormal, 0, 0, true, true, true, probe.CoreHalted, "", true},
		{probe.ModeHotPlug, 0, 0, true, true, true, probe.CoreRunning, "", false},
		{probe.ModeUnderReset, 0, 0, true, true, true, probe.CoreHalted, "", true},
		{probe.ModeNormal, 1, 1, true, true, true, probe.CoreHalted, "", true},
		{probe.ModeHotPlug, 1, 1, true, true, true, probe.CoreRunning, "", false},
		{probe.ModeUnderReset, 1, 1, true, true, true, probe.CoreHalted, "", true},
		// AP0 of a board whose core is on AP1: the port answers, no core there
		{probe.ModeNormal, 1, 0, false, true, false, probe.CoreUnknown, probe.StepNoCore, false},
		{probe.ModeHotPlug, 1, 0, true, true, false, probe.CoreUnknown, "", false},
		{probe.ModeUnderReset, 1, 0, false, true, false, probe.CoreUnknown, probe.StepNoCore, false},
		// no AP at all at 2
		{probe.ModeHotPlug, 1, 2, false, false, false, probe.CoreUnknown, probe.StepReadAPIDR, false},
	}
	for _, tt := range tests {
		name := tt.mode.String() + "/cpu-AP" + string('0'+tt.cpuAP) + "/AP" + string('0'+tt.ap)
		t.Run(name, func(t *testing.T) {
			chip := chipsim.NewGeneric(tt.cpuAP)
			_, l := newSim(t, "V2J46S7", chip)
			dhcsrWrites := 0
			_ = dhcsrWrites
			rep, err := probe.Connect(ctx, l, probe.ConnectOptions{Mode: tt.mode, AP: tt.ap, FrequencyKHz: 4000})
			if err != nil {
				t.Fatalf("transport error %v", err)
			}
			t.Logf("steps %v; failed %q: %v", stepNames(rep), rep.FailedStep, rep.Err)
			if rep.OK() != tt.ok || rep.FailedStep != tt.failed {
				t.Errorf("ok %v failed %q (%v), want ok %v failed %q", rep.OK(), rep.FailedStep, rep.Err, tt.ok, tt.failed)
			}
			if !rep.DPOK || rep.DPIDR != 0x6BA02477 || rep.CtrlStat&adi.CtrlPowerUpAcks != adi.CtrlPowerUpAcks {
				t.Errorf("DP: ok %v DPIDR %#x CTRL/STAT %#x", rep.DPOK, rep.DPIDR, rep.CtrlStat)
			}
			if rep.APOK != tt.apOK || rep.CoreFound != tt.core || rep.Core != tt.state {
				t.Errorf("APOK %v CoreFound %v Core %v, want %v %v %v", rep.APOK, rep.CoreFound, rep.Core, tt.apOK, tt.core, tt.state)
			}
			if tt.core && probe.CoreName(rep.CPUID) != "Cortex-M33 r0p4" {
				t.Errorf("CPUID %#x", rep.CPUID)
			}
			if rep.FrequencyKHz != 4000 || rep.RequestedKHz != 4000 {
				t.Errorf("frequency %d (asked %d)", rep.FrequencyKHz, rep.RequestedKHz)
			}
			if chip.Core().Halted() != tt.haltedAt {
				t.Errorf("model core halted = %v, want %v", chip.Core().Halted(), tt.haltedAt)
			}
			if tt.mode == probe.ModeUnderReset && tt.ok {
				demcr, err := l.Read32(ctx, tt.ap, adi.RegDEMCR)
				if err != nil || demcr&adi.DEMCRVCCoreReset != 0 {
					t.Errorf("DEMCR %#x after Under Reset (%v): vector catch left armed", demcr, err)
				}
				if chip.NRSTLow() {
					t.Errorf("NRST still low after Under Reset")
				}
			}
			if rep.Err != nil && probe.LayerOf(rep.Err) == "" {
				t.Errorf("failure %v names no layer", rep.Err)
			}
			if err := probe.Disconnect(ctx, l); err != nil {
				t.Errorf("Disconnect: %v", err)
			}
			if m, _ := l.Mode(ctx); m == proto.ModeDebug {
				t.Errorf("Disconnect left debug mode on")
			}
			if len(l.OpenedAPs()) != 0 || chip.NRSTLow() {
				t.Errorf("Disconnect left APs %v open or NRST low", l.OpenedAPs())
			}
		})
	}
}

func TestConnectHotPlugWritesNothingToTheCore(t *testing.T) {
	ctx := context.Background()
	chip := chipsim.NewGeneric(0)
	p, _ := newSim(t, "V2J46S7", chip)
	// record every memory write command the link sends
	rec := &recorder{Transport: p}
	l, err := probe.NewLink(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := probe.Connect(ctx, l, probe.ConnectOptions{Mode: probe.ModeHotPlug})
	if err != nil || !rep.OK() {
		t.Fatalf("%v %v", err, rep.Err)
	}
	if rec.memWrites != 0 {
		t.Errorf("Hot Plug sent %d memory writes", rec.memWrites)
	}
	if st := chip.Core().Status(); st.Halted || st.DebugEnabled {
		t.Errorf("Hot Plug changed the core (halted %v, debug %v)", st.Halted, st.DebugEnabled)
	}
}

// recorder counts memory write commands passing through a transport.
type recorder struct {
	probe.Transport
	memWrites int
}

func (r *recorder) Xfer(ctx context.Context, cmd [16]byte, out, in []byte) error {
	if cmd[0] == proto.CmdDebug {
		switch cmd[1] {
		case proto.DebugWriteMem8, proto.DebugWriteMem16, proto.DebugWriteMem32:
			r.memWrites++
		}
	}
	return r.Transport.Xfer(ctx, cmd, out, in)
}

func TestConnectFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("no target", func(t *testing.T) {
		_, l := newSim(t, "V2J46S7", nil)
		for _, m := range probe.ConnectModes {
			rep, err := probe.Connect(ctx, l, probe.ConnectOptions{Mode: m})
			if err != nil {
				t.Fatal(err)
			}
			if rep.FailedStep != probe.StepEnterSWD || !errors.Is(rep.Err, probe.ErrGetIDCode) || probe.LayerOf(rep.Err) != probe.LayerTarget || rep.DPOK {
				t.Errorf("%s: failed %q %v", m, rep.FailedStep, rep.Err)
			}
			if err := probe.Disconnect(ctx, l); err != nil {
				t.Errorf("Disconnect: %v", err)
			}
		}
	})
	t.Run("NRST not wired", func(t *testing.T) {
		chip := noNRST{chipsim.NewGeneric(0)}
		_, l := newSim(t, "V2J46S7", chip)
		rep, err := probe.Connect(ctx, l, probe.ConnectOptions{Mode: probe.ModeUnderReset})
		if err != nil {
			t.Fatal(err)
		}
		if rep.FailedStep != probe.StepConfirmHalt || !strings.Contains(rep.Err.Error(), "NRST") {
			t.Errorf("failed %q: %v", rep.FailedStep, rep.Err)
		}
		if last := rep.Steps[len(rep.Steps)-1]; last.Name != probe.StepRestoreDEMCR || last.Err != nil {
			t.Errorf("DEMCR not restored after the failure: %+v", last)
		}
	})
	t.Run("core never halts", func(t *testing.T) {
		_, l := newSim(t, "V2J46S7", noHalt{chipsim.NewGeneric(0)})
		rep, err := probe.Connect(ctx, l, probe.ConnectOptions{Mode: probe.ModeNormal})
		if err != nil {
			t.Fatal(err)
		}
		if rep.FailedStep != probe.StepWaitHalt || !strings.Contains(rep.Err.Error(), "core did not halt (DHCSR 0x") || probe.LayerOf(rep.Err) != probe.LayerTarget {
			t.Errorf("failed %q: %v", rep.FailedStep, rep.Err)
		}
		if rep.Core != probe.CoreRunning {
			t.Errorf("core %v, want the last DHCSR read's %v", rep.Core, probe.CoreRunning)
		}
	})
	t.Run("V2J27 AP1", func(t *testing.T) {
		_, l := newSim(t, "V2J27S7", chipsim.NewGenericM33(1))
		rep, err := probe.Connect(ctx, l, probe.ConnectOptions{Mode: probe.ModeHotPlug, AP: 1})
		if err != nil {
			t.Fatal(err)
		}
		if rep.FailedStep != probe.StepOpenAP || !errors.Is(rep.Err, probe.ErrFirmwareTooOld) || !rep.DPOK {
			t.Errorf("failed %q: %v", rep.FailedStep, rep.Err)
		}
	})
	t.Run("unplug mid-connect", func(t *testing.T) {
		p, l := newSim(t, "V2J46S7", chipsim.NewGenericM33(0))
		var seen int
		l2, err := probe.NewLink(ctx, p, probe.WithEvents(func(e probe.Event) {
			seen++
			if seen == 3 {
				p.Inject(sim.Fault{Kind: sim.FaultUnplug})
			}
		}))
		if err != nil {
			t.Fatal(err)
		}
		_ = l
		rep, err := probe.Connect(ctx, l2, probe.ConnectOptions{Mode: probe.ModeUnderReset})
		if !errors.Is(err, probe.ErrDisconnected) || rep == nil || rep.Err == nil {
			t.Fatalf("err %v, want ErrDisconnected with a report", err)
		}
		if err := probe.Disconnect(ctx, l2); !errors.Is(err, probe.ErrDisconnected) {
			t.Errorf("Disconnect: %v", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		_, l := newSim(t, "V2J46S7", chipsim.NewGenericM33(0))
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := probe.Connect(cctx, l, probe.ConnectOptions{Mode: probe.ModeNormal})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err %v, want context.Canceled", err)
		}
	})
}

func TestConnectEvents(t *testing.T) {
	ctx := context.Background()
	p := sim.New(sim.Config{Firmware: simFirmware(t, "V2J46S7"), Serial: simSerial, TargetMillivolts: 3290, Chip: chipsim.NewGenericM33(0)})
	var events []probe.Event
	l, err := probe.NewLink(ctx, p, probe.WithEvents(func(e probe.Event) { events = append(events, e) }))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := probe.Connect(ctx, l, probe.ConnectOptions{Mode: probe.ModeNormal})
	if err != nil || !rep.OK() {
		t.Fatal(err, rep.Err)
	}
	if len(events) == 0 || events[0].Op != "connect" || !strings.Contains(events[0].Message, probe.StepEnterSWD) {
		t.Errorf("events %+v", events)
	}
}

func TestConnectAcrossFirmware(t *testing.T) {
	ctx := context.Background()
	for _, fw := range []string{"V2J28S7", "V2J40M27", "V2J46S7", "V3J7M3"} {
		for _, mode := range probe.ConnectModes {
			t.Run(fw+"/"+mode.String(), func(t *testing.T) {
				_, l := newSim(t, fw, chipsim.NewGenericM33(1))
				rep, err := probe.Connect(ctx, l, probe.ConnectOptions{Mode: mode, AP: 1, FrequencyKHz: 1000})
				if err != nil || !rep.OK() || !rep.CoreFound {
					t.Fatalf("%v; failed %q: %v", err, rep.FailedStep, rep.Err)
				}
				if want := proto.NearestKHz(l.SWDFrequencies(), 1000); rep.FrequencyKHz != want {
					t.Errorf("frequency %d, want %d", rep.FrequencyKHz, want)
				}
				if err := probe.Disconnect(ctx, l); err != nil {
					t.Errorf("Disconnect: %v", err)
				}
			})
		}
	}
}

// A connect given what an earlier one learned (Known) skips the reads whose
// answer cannot have changed — the SWD clock already set, DPIDR and the
// power-up check after ENTER, the AP's IDR, the core's CPUID (the mode's
// first core access proves the port still reaches it) — and reports the same findings
// with fewer commands. Without Known every connect reads everything.
func TestConnectKnownSkipsRepeatedReads(t *testing.T) {
	ctx := context.Background()
	for _, mode := range probe.ConnectModes {
		t.Run(mode.String(), func(t *testing.T) {
			p, l := newSim(t, "V2J46S7", chipsim.NewGeneric(1))
			connect := func(k *probe.Known) (*probe.ConnectReport, int) {
				t.Helper()
				before := p.Stats().Commands
				rep, err := probe.Connect(ctx, l, probe.ConnectOptions{Mode: mode, AP: 1, FrequencyKHz: 4000, Known: k})
				if err != nil || !rep.OK() {
					t.Fatalf("connect: %v, %v (steps %v)", err, rep.Err, stepNames(rep))
				}
				if err := probe.Disconnect(ctx, l); err != nil {
					t.Fatal(err)
				}
				return rep, p.Stats().Commands - before
			}
			var known probe.Known
			first, n1 := connect(&known)
			if known.DPIDR != first.DPIDR || known.APIDR[1] != first.APIDR || first.APIDR == 0 || known.CPUID[1] != first.CPUID || first.CPUID == 0 {
				t.Fatalf("learned DPIDR %#x APIDR %v CPUID %v from DPIDR %#x APIDR %#x CPUID %#x", known.DPIDR, known.APIDR, known.CPUID, first.DPIDR, first.APIDR, first.CPUID)
			}
			again, n2 := connect(&known)
			for _, s := range stepNames(again) {
				switch s {
				case probe.StepSetFrequency, probe.StepReadDPIDR, probe.StepPowerUp, probe.StepReadAPIDR, probe.StepReadCPUID:
					t.Errorf("step %q repeated with Known (steps %v)", s, stepNames(again))
				}
			}
			if again.DPIDR != first.DPIDR || again.APIDR != first.APIDR || again.CPUID != first.CPUID ||
				again.Core != first.Core || again.FrequencyKHz != first.FrequencyKHz || !again.DPOK || !again.APOK {
				t.Errorf("with Known: %+v\nwithout: %+v", again, first)
			}
			// SET_FREQ, READ_IDCODES, the CTRL/STAT read, the IDR read, the
			// CPUID read and its status.
			if n1-n2 != 6 {
				t.Errorf("with Known %d commands, without %d: want 6 fewer", n2, n1)
			}
			plain, _ := connect(nil)
			if !slices.Contains(stepNames(plain), probe.StepReadDPIDR) || !slices.Contains(stepNames(plain), probe.StepReadAPIDR) {
				t.Errorf("without Known the connect skipped reads: %v", stepNames(plain))
			}
		})
	}
}

// A port an earlier connect found without a core (its CPUID read failed
// while CSW permits transfers) is not asked for CPUID again: the later
// connect reads CSW alone and reports the same finding.
func TestConnectKnownPortWithoutCore(t *testing.T) {
	ctx := context.Background()
	for _, mode := range probe.ConnectModes {
		t.Run(mode.String(), func(t *testing.T) {
			p, l := newSim(t, "V2J46S7", chipsim.NewGeneric(1))
			var known probe.Known
			connect := func() (*probe.ConnectReport, int) {
				t.Helper()
				before := p.Stats().Commands
				rep, err := probe.Connect(ctx, l, probe.ConnectOptions{Mode: mode, AP: 0, FrequencyKHz: 4000, Known: &known})
				if err != nil {
					t.Fatal(err)
				}
				if err := probe.Disconnect(ctx, l); err != nil {
					t.Fatal(err)
				}
				return rep, p.Stats().Commands - before
			}
			first, _ := connect()
			if known.NoCore[0] == nil || first.CoreFound || !first.APOK {
				t.Fatalf("first connect: NoCore %v, core %v, AP ok %v", known.NoCore, first.CoreFound, first.APOK)
			}
			again, n := connect()
			if slices.Contains(stepNames(again), probe.StepReadCPUID) || !slices.Contains(stepNames(again), probe.StepReadCSW) {
				t.Errorf("steps %v: want CSW read, no CPUID read", stepNames(again))
			}
			if again.FailedStep != first.FailedStep || fmt.Sprint(again.Err) != fmt.Sprint(first.Err) || again.CoreFound || !again.APOK {
				t.Errorf("again: failed %q %v, core %v, AP ok %v; first: failed %q %v", again.FailedStep, again.Err, again.CoreFound, again.APOK, first.FailedStep, first.Err)
			}
			if n > 5+2*btoi(mode == probe.ModeUnderReset) {
				t.Errorf("%d commands for a port known without core", n)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
