package probe_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/adi"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/targets/chipsim"
)

const simSerial = "066DFF303435554157121234"

// simFirmware parses fw and sets the ST VID and a PID that fits it.
func simFirmware(t testing.TB, fw string) proto.Version {
	t.Helper()
	v, err := proto.ParseVersion(fw)
	if err != nil {
		t.Fatal(err)
	}
	v.VID, v.PID = proto.VendorST, 0x3748
	if v.Hardware >= 3 {
		v.PID = 0x374E
	}
	return v
}

// newSim returns a simulated probe with chip wired and a Link to it.
func newSim(t testing.TB, fw string, chip chipsim.Chip) (*sim.Probe, *probe.Link) {
	t.Helper()
	p := sim.New(sim.Config{Firmware: simFirmware(t, fw), Serial: simSerial, TargetMillivolts: 3290, Chip: chip})
	l, err := probe.NewLink(context.Background(), p, fastRetry)
	if err != nil {
		t.Fatalf("NewLink on simulated %s: %v", fw, err)
	}
	return p, l
}

// entered is newSim followed by ENTER SWD and debug power-up.
func entered(t testing.TB, fw string, chip chipsim.Chip) (*sim.Probe, *probe.Link) {
	t.Helper()
	p, l := newSim(t, fw, chip)
	ctx := context.Background()
	if err := l.EnterSWD(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := l.PowerUpDebug(ctx); err != nil {
		t.Fatal(err)
	}
	return p, l
}

// quiet is a chip whose SWD pins can be switched off after ENTER.
type quiet struct {
	*chipsim.Generic
	off bool
}

func (q *quiet) SWDResponds() bool { return !q.off }

// noNRST is a chip whose NRST pin is not wired to the probe.
type noNRST struct{ *chipsim.Generic }

func (noNRST) SetNRST(bool) {}

// noHalt is a chip whose core never halts on request: the debugger's
// C_HALT is dropped from every DHCSR write.
type noHalt struct{ *chipsim.Generic }

func (c noHalt) AP(n uint8) chipsim.AP {
	if ap := c.Generic.AP(n); ap != nil {
		return noHaltAP{ap}
	}
	return nil
}

type noHaltAP struct{ chipsim.AP }

func (a noHaltAP) Write(addr uint32, size chipsim.Size, v, csw uint32) error {
	if addr == adi.RegDHCSR {
		v &^= adi.DHCSRCHalt
	}
	return a.AP.Write(addr, size, v, csw)
}

func TestSimCommands(t *testing.T) {
	for _, fw := range []string{"V2J46S7", "V2J40M27", "V3J7M3"} {
		t.Run(fw, func(t *testing.T) {
			ctx := context.Background()
			chip := chipsim.NewGeneric(1)
			p, l := newSim(t, fw, chip)
			if got := l.Version().String(); !strings.HasPrefix(got, fw[:4]) {
				t.Errorf("version %s", got)
			}
			if m, err := l.Mode(ctx); err != nil || m == proto.ModeDebug {
				t.Errorf("mode after NewLink: %v %v", m, err)
			}
			v, err := l.TargetVoltage(ctx)
			if err != nil || v < 3.28 || v > 3.30 {
				t.Errorf("voltage %.3f %v, want 3.29", v, err)
			}
			khz, err := l.SetSWDFrequency(ctx, 4000)
			if err != nil || khz > 4000 || khz < 3000 {
				t.Errorf("SetSWDFrequency(4000) = %d, %v", khz, err)
			}
			if err := l.EnterSWD(ctx); err != nil {
				t.Fatal(err)
			}
			if m, _ := l.Mode(ctx); m != proto.ModeDebug {
				t.Errorf("mode after ENTER: %v", m)
			}
			if id, err := l.ReadIDCode(ctx); err != nil || id != 0x6BA02477 {
				t.Errorf("DPIDR %#x %v", id, err)
			}
			cs, err := l.PowerUpDebug(ctx)
			if err != nil || cs&adi.CtrlPowerUpAcks != adi.CtrlPowerUpAcks {
				t.Errorf("power-up CTRL/STAT %#x %v", cs, err)
			}
			if id, err := l.ReadDP(ctx, adi.DPIDR); err != nil || id != 0x6BA02477 {
				t.Errorf("DP 0x0 %#x %v", id, err)
			}
			if err := l.WriteDP(ctx, adi.DPSelect, 0); err != nil {
				t.Errorf("write SELECT: %v", err)
			}
			if err := l.ClearErrors(ctx); err != nil {
				t.Errorf("ClearErrors: %v", err)
			}
			if err := l.OpenAP(ctx, 1); err != nil {
				t.Fatal(err)
			}
			if idr, err := l.ReadAPReg(ctx, 1, adi.APIDR); err != nil || idr == 0 {
				t.Errorf("AP1 IDR %#x %v", idr, err)
			}
			if err := l.WriteAPReg(ctx, 1, adi.APTAR, 0x20000100); err != nil {
				t.Errorf("write TAR: %v", err)
			}
			if tar, err := l.ReadAPReg(ctx, 1, adi.APTAR); err != nil || tar != 0x20000100 {
				t.Errorf("TAR %#x %v", tar, err)
			}
			if cpuid, err := l.Read32(ctx, 1, adi.RegCPUID); err != nil || !probe.IsCortexM(cpuid) {
				t.Errorf("CPUID %#x %v", cpuid, err)
			}
			for _, width := range []int{1, 2, 4} {
				data := make([]byte, 300*4)
				for i := range data {
					data[i] = byte(i*31 + width)
				}
				addr := uint32(0x20000000 + 0x1F0*width)
				if err := l.WriteMem(ctx, 1, addr, width, data); err != nil {
					t.Fatalf("write %d-bit: %v", width*8, err)
				}
				got := make([]byte, len(data))
				if err := l.ReadMem(ctx, 1, addr, width, got); err != nil {
					t.Fatalf("read %d-bit: %v", width*8, err)
				}
				if !bytes.Equal(got, data) {
					t.Errorf("%d-bit round trip differs", width*8)
				}
			}
			one := []byte{0}
			if err := l.ReadMem(ctx, 1, 0x200001F1, 1, one); err != nil || one[0] != 1*31+1 {
				t.Errorf("1-byte read %#x %v", one[0], err)
			}
			for _, a := range []byte{proto.NRSTLow, proto.NRSTHigh, proto.NRSTPulse} {
				if err := l.DriveNRST(ctx, a); err != nil {
					t.Errorf("DriveNRST(%d): %v", a, err)
				}
				if chip.NRSTLow() != (a == proto.NRSTLow) {
					t.Errorf("after DriveNRST(%d) NRST low = %v", a, chip.NRSTLow())
				}
			}
			if err := l.CloseAP(ctx, 1); err != nil {
				t.Errorf("CloseAP: %v", err)
			}
			if err := l.ExitDebug(ctx); err != nil {
				t.Fatal(err)
			}
			if m, _ := l.Mode(ctx); m == proto.ModeDebug {
				t.Errorf("still in debug mode")
			}
			if err := l.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if !p.Unplugged() {
				t.Errorf("Close left the transport open")
			}
		})
	}
}

func TestSimStatusCodes(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		setup  func(t *testing.T) (*sim.Probe, *probe.Link)
		do     func(p *sim.Probe, l *probe.Link) error
		target error
		layer  probe.Layer
	}{
		{"no target on ENTER", func(t *testing.T) (*sim.Probe, *probe.Link) { return newSim(t, "V2J46S7", nil) },
			func(p *sim.Probe, l *probe.Link) error { return l.EnterSWD(ctx) }, probe.ErrGetIDCode, probe.LayerTarget},
		{"debug command outside debug mode", func(t *testing.T) (*sim.Probe, *probe.Link) {
			return newSim(t, "V2J46S7", chipsim.NewGenericM33(0))
		}, func(p *sim.Probe, l *probe.Link) error { _, err := l.ReadIDCode(ctx); return err }, probe.ErrCmd, probe.LayerProbe},
		{"AP fault", func(t *testing.T) (*sim.Probe, *probe.Link) { return entered(t, "V2J46S7", chipsim.NewGenericM33(0)) },
			func(p *sim.Probe, l *probe.Link) error { _, err := l.Read32(ctx, 0, 0x30000000); return err }, probe.ErrSWDAPFault, probe.LayerAP},
		{"DP WAIT exhausted", func(t *testing.T) (*sim.Probe, *probe.Link) { return entered(t, "V2J46S7", chipsim.NewGenericM33(0)) },
			func(p *sim.Probe, l *probe.Link) error {
				p.Inject(sim.Fault{Kind: sim.FaultWait, Count: 100})
				_, err := l.ReadDP(ctx, adi.DPCtrlStat)
				return err
			}, probe.ErrSWDDPWait, probe.LayerDP},
		{"AP WAIT exhausted", func(t *testing.T) (*sim.Probe, *probe.Link) { return entered(t, "V2J46S7", chipsim.NewGenericM33(0)) },
			func(p *sim.Probe, l *probe.Link) error {
				if err := l.OpenAP(ctx, 0); err != nil {
					return err
				}
				p.Inject(sim.Fault{Kind: sim.FaultWait, Count: 100})
				_, err := l.ReadAPReg(ctx, 0, adi.APCSW)
				return err
			}, probe.ErrSWDAPWait, probe.LayerAP},
		{"bad AP", func(t *testing.T) (*sim.Probe, *probe.Link) { return entered(t, "V2J46S7", chipsim.NewGenericM33(0)) },
			func(p *sim.Probe, l *probe.Link) error { return l.CloseAP(ctx, 5) }, probe.ErrBadAP, probe.LayerProbe},
		{"DP no response", func(t *testing.T) (*sim.Probe, *probe.Link) {
			q := &quiet{Generic: chipsim.NewGeneric(0)}
			p, l := entered(t, "V2J46S7", q)
			q.off = true
			return p, l
		}, func(p *sim.Probe, l *probe.Link) error { _, err := l.ReadDP(ctx, adi.DPCtrlStat); return err }, probe.ErrSWDDPError, probe.LayerDP},
		{"AP no response", func(t *testing.T) (*sim.Probe, *probe.Link) {
			q := &quiet{Generic: chipsim.NewGeneric(0)}
			p, l := entered(t, "V2J46S7", q)
			if err := l.OpenAP(ctx, 0); err != nil {
				t.Fatal(err)
			}
			q.off = true
			return p, l
		}, func(p *sim.Probe, l *probe.Link) error { _, err := l.ReadAPReg(ctx, 0, adi.APCSW); return err }, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, l := tt.setup(t)
			err := tt.do(p, l)
			if err == nil {
				t.Fatal("no error")
			}
			var se *probe.StatusError
			if !errors.As(err, &se) {
				t.Fatalf("err %v is not a StatusError", err)
			}
			if tt.target != nil && !errors.Is(err, tt.target) {
				t.Errorf("err %v is not %v", err, tt.target)
			}
			if tt.layer != "" && probe.LayerOf(err) != tt.layer {
				t.Errorf("layer %q, want %q", probe.LayerOf(err), tt.layer)
			}
			if tt.layer == "" && probe.LayerOf(err) != probe.LayerAP && probe.LayerOf(err) != probe.LayerDP {
				t.Errorf("no-response layer %q, want AP or DP", probe.LayerOf(err))
			}
			t.Logf("%v", err)
		})
	}
}

func TestSimFirmwareGates(t *testing.T) {
	ctx := context.Background()
	p, l := entered(t, "V2J27S7", chipsim.NewGenericM33(1))
	before := p.Stats().Commands
	err := l.OpenAP(ctx, 1)
	want := "needs ST-LINK firmware V2J28 or later for AP1; this probe has V2J27S7: update the firmware"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("V2J27 AP1: %v", err)
	}
	if _, err := l.Read32(ctx, 1, adi.RegCPUID); !errors.Is(err, probe.ErrFirmwareTooOld) {
		t.Errorf("V2J27 memory on AP1: %v", err)
	}
	if p.Stats().Commands != before {
		t.Errorf("refused commands reached the probe")
	}
	_, l = entered(t, "V2J46S7", chipsim.NewGenericM33(1))
	if err := l.OpenAP(ctx, 1); err != nil {
		t.Fatalf("V2J46S7 AP1: %v", err)
	}
	if cpuid, err := l.Read32(ctx, 1, adi.RegCPUID); err != nil || probe.CoreName(cpuid) == "" {
		t.Errorf("V2J46S7 CPUID on AP1: %#x %v", cpuid, err)
	}
}

func TestSimChunking(t *testing.T) {
	tests := []struct {
		fw     string
		width  int
		n      int
		chunks int
	}{
		{"V2J46S7", 4, 4096, 1},
		{"V2J46S7", 4, 6144, 1},
		{"V2J46S7", 4, 65536, 11},
		{"V2J40M27", 4, 65536, 11},
		{"V2J46S7", 2, 2048, 1},
		{"V2J46S7", 2, 8192, 2},
		{"V3J7M3", 4, 65536, 11},
		{"V2J46S7", 1, 200, 4},
		{"V3J7M3", 1, 1500, 3},
		{"V3J7M3", 4, 1024, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d-bit/%d", tt.fw, tt.width*8, tt.n), func(t *testing.T) {
			p, l := entered(t, tt.fw, chipsim.NewGenericM33(0))
			ctx := context.Background()
			if err := l.OpenAP(ctx, 0); err != nil {
				t.Fatal(err)
			}
			p.ResetStats()
			if err := l.ReadMem(ctx, 0, 0x20000000, tt.width, make([]byte, tt.n)); err != nil {
				t.Fatal(err)
			}
			if got := p.Stats().Commands; got != 2*tt.chunks {
				t.Errorf("%d commands, want %d chunks + %d status reads", got, tt.chunks, tt.chunks)
			}
			p.ResetStats()
			if err := l.WriteMem(ctx, 0, 0x20000000, tt.width, make([]byte, tt.n)); err != nil {
				t.Fatal(err)
			}
			if got := p.Stats().Commands; got != 2*tt.chunks {
				t.Errorf("write: %d commands, want %d", got, 2*tt.chunks)
			}
		})
	}
}

func TestSimWaitRetry(t *testing.T) {
	ctx := context.Background()
	p, l := entered(t, "V2J46S7", chipsim.NewGenericM33(0))
	p.ResetStats()
	p.Inject(sim.Fault{Kind: sim.FaultWait, Count: 3})
	cs, err := l.ReadDP(ctx, adi.DPCtrlStat)
	if err != nil || cs&adi.CtrlPowerUpAcks != adi.CtrlPowerUpAcks {
		t.Fatalf("after 3 WAITs: %#x %v", cs, err)
	}
	if got := p.Stats().Commands; got != 4 {
		t.Errorf("%d commands for 3 WAITs, want 4", got)
	}
	// memory: a WAIT on the data phase retries the chunk
	if err := l.Write32(ctx, 0, 0x20000010, 0xCAFEF00D); err != nil {
		t.Fatal(err)
	}
	p.Inject(sim.Fault{Kind: sim.FaultWait, Count: 2})
	if v, err := l.Read32(ctx, 0, 0x20000010); err != nil || v != 0xCAFEF00D {
		t.Errorf("read after WAITs: %#x %v", v, err)
	}
	// too many: bounded
	p.ResetStats()
	p.Inject(sim.Fault{Kind: sim.FaultWait, Count: 1000})
	if _, err := l.ReadDP(ctx, adi.DPCtrlStat); !errors.Is(err, probe.ErrSWDDPWait) {
		t.Errorf("endless WAIT: %v", err)
	}
	if got := p.Stats().Commands; got > probe.DefaultWaitTries+1 {
		t.Errorf("%d commands for an endless WAIT, want at most %d", got, probe.DefaultWaitTries+1)
	}
}

func TestSimFaultAddress(t *testing.T) {
	ctx := context.Background()
	_, l := entered(t, "V2J46S7", chipsim.NewGenericM33(0))
	// RAM ends at 0x20010000: the read crosses into unmapped space
	err := l.ReadMem(ctx, 0, 0x2000FFF0, 4, make([]byte, 32))
	var se *probe.StatusError
	if !errors.As(err, &se) || !errors.Is(err, probe.ErrSWDAPFault) {
		t.Fatalf("err %v, want an AP fault", err)
	}
	if !se.HasAddr || se.FaultAddr < 0x20010000 || se.FaultAddr >= 0x20010010 {
		t.Errorf("fault address %#x (has %v), want 0x20010000..", se.FaultAddr, se.HasAddr)
	}
	// sticky errors were cleared: the next access works
	if err := l.Write32(ctx, 0, 0x20000000, 1); err != nil {
		t.Errorf("access after a fault: %v", err)
	}
	cs, err := l.ReadDP(ctx, adi.DPCtrlStat)
	if err != nil || cs&adi.CtrlStickyErr != 0 {
		t.Errorf("CTRL/STAT %#x after the fault (%v): sticky error not cleared", cs, err)
	}
}

func TestSimTransportFaults(t *testing.T) {
	ctx := context.Background()
	t.Run("unplug", func(t *testing.T) {
		p, l := entered(t, "V2J46S7", chipsim.NewGenericM33(0))
		p.Inject(sim.Fault{Kind: sim.FaultUnplug})
		_, err := l.Read32(ctx, 0, 0x20000000)
		if !errors.Is(err, probe.ErrDisconnected) || probe.LayerOf(err) != probe.LayerUSB {
			t.Fatalf("err %v, want ErrDisconnected at USB", err)
		}
		if _, err := l.TargetVoltage(ctx); !errors.Is(err, probe.ErrDisconnected) {
			t.Errorf("after unplug: %v", err)
		}
		if rep, err := probe.Connect(ctx, l, probe.ConnectOptions{Mode: probe.ModeNormal}); !errors.Is(err, probe.ErrDisconnected) || rep == nil {
			t.Errorf("Connect after unplug: %v", err)
		}
		if err := probe.Disconnect(ctx, l); !errors.Is(err, probe.ErrDisconnected) {
			t.Errorf("Disconnect after unplug: %v", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		p, l := entered(t, "V2J46S7", chipsim.NewGenericM33(0))
		p.Inject(sim.Fault{Kind: sim.FaultTimeout})
		_, err := l.ReadIDCode(ctx)
		if !errors.Is(err, probe.ErrTimeout) || probe.LayerOf(err) != probe.LayerUSB {
			t.Fatalf("err %v, want ErrTimeout at USB", err)
		}
		if id, err := l.ReadIDCode(ctx); err != nil || id != 0x6BA02477 {
			t.Errorf("after a timeout: %#x %v", id, err)
		}
	})
	t.Run("garbled", func(t *testing.T) {
		p, l := entered(t, "V2J46S7", chipsim.NewGenericM33(0))
		p.Inject(sim.Fault{Kind: sim.FaultGarbledReply})
		_, err := l.ReadIDCode(ctx)
		if !errors.Is(err, probe.ErrMalformedReply) || probe.LayerOf(err) != probe.LayerProbe {
			t.Fatalf("err %v, want a malformed reply at probe", err)
		}
	})
	t.Run("short", func(t *testing.T) {
		p, l := entered(t, "V2J46S7", chipsim.NewGenericM33(0))
		p.Inject(sim.Fault{Kind: sim.FaultShortReply})
		_, err := l.ReadIDCode(ctx)
		if err == nil || probe.LayerOf(err) != probe.LayerUSB || !errors.Is(err, sim.ErrReplyLength) {
			t.Fatalf("err %v (layer %q), want a USB transfer error", err, probe.LayerOf(err))
		}
	})
}

// TestSimLargeTransfers moves 60 KiB through every access width on V2, V2-1
// and V3 against the simulator, which refuses a block above the firmware's
// limits and models the MEM-AP's TAR wrap: the data read back must be what
// was written, at an address that is not 1 KiB aligned.
func TestSimLargeTransfers(t *testing.T) {
	for _, fw := range []string{"V2J46S7", "V2J40M27", "V3J7M3"} {
		for _, width := range []int{1, 2, 4} {
			t.Run(fmt.Sprintf("%s/%d-bit", fw, 8*width), func(t *testing.T) {
				_, l := entered(t, fw, chipsim.NewGenericM33(0))
				ctx := context.Background()
				data := make([]byte, 60<<10)
				for i := range data {
					data[i] = byte(i) ^ byte(i>>8)*0x5B
				}
				const addr = 0x20000404
				if err := l.WriteMem(ctx, 0, addr, width, data); err != nil {
					t.Fatal(err)
				}
				got := make([]byte, len(data))
				if err := l.ReadMem(ctx, 0, addr, width, got); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, data) {
					t.Error("read back differs from what was written")
				}
			})
		}
	}
}
