package probe_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/internal/peertest"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/probe/sim/usbrelay"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// The USB transport is tested against simulated probes on a umockdev bus.
// umockdev's preload library must be in the process from its start, so the
// test runs itself again in a child process that has it (the child then
// creates the bus and points UMOCKDEV_DIR at it before libusb starts).

const (
	usbSerialV2    = "0670FF485550755187121723"
	usbSerialV3    = "003A00193438510B34313939"
	usbSerialOldV2 = "55FF6B065177495619420887"
	usbSerialV3PWR = "004D00413133510F37363734"
)

func usbSimVersion(t *testing.T, s string, pid uint16) proto.Version {
	t.Helper()
	v, err := proto.ParseVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	v.VID, v.PID = proto.VendorST, pid
	return v
}

// usbRunUnderPreload re-runs the current test in a child process with
// umockdev's preload library and reports the child's outcome. It returns
// false in the child, which then does the work.
func usbRunUnderPreload(t *testing.T) bool {
	t.Helper()
	if err := usbrelay.Available(); err != nil {
		peertest.Missing(t, fmt.Sprintf("cannot simulate USB probes: %v", err))
	}
	if usbrelay.Preloaded() {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), usbrelay.PreloadEnv()...)
	out, err := cmd.CombinedOutput()
	t.Logf("test run under umockdev:\n%s", out)
	if err != nil {
		t.Fatalf("the test under umockdev failed: %v", err)
	}
	if !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("the test under umockdev did not pass")
	}
	return true
}

func TestUSBTransportUnderUmockdev(t *testing.T) {
	if usbRunUnderPreload(t) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	v2 := sim.New(sim.Config{Firmware: usbSimVersion(t, "V2J46S7", 0x3748), Serial: usbSerialV2,
		TargetMillivolts: 3290, Chip: chipsim.NewGenericM33(1)})
	v3 := sim.New(sim.Config{Firmware: usbSimVersion(t, "V3J7M3", 0x374F), Serial: usbSerialV3,
		TargetMillivolts: 1800, Chip: chipsim.NewGenericM33(0)})
	oldV2 := sim.New(sim.Config{Firmware: usbSimVersion(t, "V2J25S4", 0x3748), Serial: usbSerialOldV2,
		TargetMillivolts: 3300})
	v3pwr := sim.New(sim.Config{Firmware: usbSimVersion(t, "V4J3M2B3", 0x3757), Serial: usbSerialV3PWR,
		TargetMillivolts: 3300})
	relay, err := usbrelay.Start(ctx, usbrelay.Device{Probe: v2}, usbrelay.Device{Probe: v3},
		usbrelay.Device{Probe: oldV2, RawSerial: true}, usbrelay.Device{Probe: v3pwr})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := relay.Close(); err != nil {
			t.Errorf("closing the relay: %v", err)
		}
	}()
	t.Setenv("UMOCKDEV_DIR", relay.Root())

	t.Run("list", func(t *testing.T) {
		infos, err := probe.ListUSB(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []probe.Info{
			{Backend: "usb", Serial: usbSerialV2, Model: "ST-LINK/V2", VID: 0x0483, PID: 0x3748, Address: "bus 001 device 002"},
			{Backend: "usb", Serial: usbSerialV3, Model: "STLINK-V3S/V3SET", VID: 0x0483, PID: 0x374F, Address: "bus 001 device 003"},
			{Backend: "usb", Serial: usbSerialOldV2, Model: "ST-LINK/V2", VID: 0x0483, PID: 0x3748, Address: "bus 001 device 004"},
			{Backend: "usb", Serial: usbSerialV3PWR, Model: "STLINK-V3PWR", VID: 0x0483, PID: 0x3757, Address: "bus 001 device 005"},
		}
		if len(infos) != len(want) {
			t.Fatalf("ListUSB found %d probes, want %d: %+v", len(infos), len(want), infos)
		}
		for i := range want {
			if infos[i] != want[i] {
				t.Errorf("probe %d: %+v, want %+v", i, infos[i], want[i])
			}
		}
	})

	t.Run("open unknown serial", func(t *testing.T) {
		_, _, err := probe.OpenUSB(ctx, "000000000000000000000000")
		if err == nil || probe.LayerOf(err) != probe.LayerUSB {
			t.Fatalf("OpenUSB of a missing serial: %v", err)
		}
	})

	t.Run("version voltage memory", func(t *testing.T) {
		tr, info, err := probe.OpenUSB(ctx, "") // the first probe
		if err != nil {
			t.Fatal(err)
		}
		if info.Serial != usbSerialV2 || info.PID != 0x3748 {
			t.Errorf("opened %+v, want the V2 %s", info, usbSerialV2)
		}
		l, err := probe.NewLink(ctx, tr)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if got := l.Version().String(); got != "V2J46S7" {
			t.Errorf("firmware %s, want V2J46S7", got)
		}
		volts, err := l.TargetVoltage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if volts < 3.2 || volts > 3.4 {
			t.Errorf("target voltage %.3f V, want 3.29 V", volts)
		}
		rep, err := probe.Connect(ctx, l, probe.ConnectOptions{Mode: probe.ModeHotPlug, AP: 1, FrequencyKHz: 1800})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Err != nil || rep.DPIDR != chipsim.DPIDRSTM32H5 {
			t.Fatalf("connect: DPIDR %#08x, failed step %q: %v", rep.DPIDR, rep.FailedStep, rep.Err)
		}
		pattern := make([]byte, 256)
		for i := range pattern {
			pattern[i] = byte(i*7 + 3)
		}
		if err := l.WriteMem(ctx, 1, 0x20000100, 4, pattern); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(pattern))
		if err := l.ReadMem(ctx, 1, 0x20000100, 4, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, pattern) {
			t.Errorf("read back % x, want % x", got[:16], pattern[:16])
		}
		cpuid, err := l.Read32(ctx, 1, 0xE000ED00)
		if err != nil || cpuid != rep.CPUID || !probe.IsCortexM(cpuid) {
			t.Errorf("CPUID %#08x, %v; connect read %#08x", cpuid, err, rep.CPUID)
		}
		if err := probe.Disconnect(ctx, l); err != nil {
			t.Errorf("disconnect: %v", err)
		}
	})

	t.Run("high-speed V3", func(t *testing.T) {
		tr, info, err := probe.OpenUSB(ctx, usbSerialV3)
		if err != nil {
			t.Fatal(err)
		}
		if info.PID != 0x374F {
			t.Errorf("opened PID %#04x, want 0x374F", info.PID)
		}
		l, err := probe.NewLink(ctx, tr)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if got := l.Version().String(); got != "V3J7M3" {
			t.Errorf("firmware %s, want V3J7M3", got)
		}
		if err := l.EnterSWD(ctx); err != nil {
			t.Fatal(err)
		}
		id, err := l.ReadIDCode(ctx)
		if err != nil || id != chipsim.DPIDRSTM32H5 {
			t.Errorf("DPIDR %#08x, %v", id, err)
		}
	})

	t.Run("V3PWR", func(t *testing.T) {
		tr, _, err := probe.OpenUSB(ctx, strings.ToLower(usbSerialV3PWR))
		if err != nil {
			t.Fatal(err)
		}
		l, err := probe.NewLink(ctx, tr)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if got := l.Version().String(); got != "V4J3M2B3" {
			t.Errorf("firmware %s, want V4J3M2B3", got)
		}
	})

	t.Run("stale reply flushed at open", func(t *testing.T) {
		// A previous program sent GET_VERSION and never read the reply.
		tr, _, err := probe.OpenUSB(ctx, usbSerialV2)
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Xfer(ctx, [16]byte{proto.CmdGetVersion}, nil, nil); err != nil {
			t.Fatal(err)
		}
		tr.Close()
		tr, _, err = probe.OpenUSB(ctx, usbSerialV2)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		in := make([]byte, 8)
		if err := tr.Xfer(ctx, [16]byte{proto.CmdGetTargetVoltage}, nil, in); err != nil {
			t.Fatalf("first command after open: %v (the stale reply was not flushed?)", err)
		}
	})

	t.Run("timeout then recovery", func(t *testing.T) {
		tr, _, err := probe.OpenUSB(ctx, usbSerialV2)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		version := [16]byte{proto.CmdGetVersion}
		in := make([]byte, 6)
		v2.Inject(sim.Fault{Kind: sim.FaultTimeout})
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		err = tr.Xfer(short, version, nil, in)
		cancel()
		if !errors.Is(err, probe.ErrTimeout) || probe.LayerOf(err) != probe.LayerUSB {
			t.Fatalf("unanswered command: %v, want ErrTimeout", err)
		}
		if err := tr.Xfer(ctx, version, nil, in); err != nil {
			t.Fatalf("command after the timeout: %v", err)
		}
		if !bytes.Equal(in, proto.EncodeVersion(v2.Config().Firmware)) {
			t.Errorf("GET_VERSION after the timeout = % x", in)
		}
	})

	t.Run("short reply", func(t *testing.T) {
		tr, _, err := probe.OpenUSB(ctx, usbSerialV2)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		v2.Inject(sim.Fault{Kind: sim.FaultShortReply})
		in := make([]byte, 6)
		err = tr.Xfer(ctx, [16]byte{proto.CmdGetVersion}, nil, in)
		if err == nil || errors.Is(err, probe.ErrTimeout) || errors.Is(err, probe.ErrDisconnected) ||
			probe.LayerOf(err) != probe.LayerUSB || !strings.Contains(err.Error(), "short reply: 3 of 6 bytes") {
			t.Fatalf("half a reply: %v, want a USB short-reply error", err)
		}
		if err := tr.Xfer(ctx, [16]byte{proto.CmdGetVersion}, nil, in); err != nil {
			t.Errorf("command after the short reply: %v", err)
		}
	})

	t.Run("unplug while waiting for a reply", func(t *testing.T) {
		tr, _, err := probe.OpenUSB(ctx, usbSerialV3)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		v3.Inject(sim.Fault{Kind: sim.FaultTimeout})
		long, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- tr.Xfer(long, [16]byte{proto.CmdGetVersion}, nil, make([]byte, 6)) }()
		if err := relay.WaitInFlight(long, 1, 1); err != nil {
			t.Fatal(err)
		}
		v3.Inject(sim.Fault{Kind: sim.FaultUnplug})
		err = <-done
		if !errors.Is(err, probe.ErrDisconnected) {
			t.Fatalf("transfer when the cable was pulled: %v, want ErrDisconnected", err)
		}
		if long.Err() != nil {
			t.Fatalf("the transfer ended only at its deadline")
		}
		if err := tr.Xfer(ctx, [16]byte{proto.CmdGetVersion}, nil, make([]byte, 6)); !errors.Is(err, probe.ErrDisconnected) {
			t.Errorf("next transfer: %v, want ErrDisconnected", err)
		}
	})

	t.Run("unplug between commands", func(t *testing.T) {
		tr, info, err := probe.OpenUSB(ctx, usbSerialOldV2)
		if err != nil {
			t.Fatal(err)
		}
		if info.Serial != usbSerialOldV2 {
			t.Errorf("raw serial read as %q", info.Serial)
		}
		in := make([]byte, 6)
		if err := tr.Xfer(ctx, [16]byte{proto.CmdGetVersion}, nil, in); err != nil {
			t.Fatal(err)
		}
		oldV2.Inject(sim.Fault{Kind: sim.FaultUnplug})
		err = tr.Xfer(ctx, [16]byte{proto.CmdGetVersion}, nil, in)
		if !errors.Is(err, probe.ErrDisconnected) || probe.LayerOf(err) != probe.LayerUSB {
			t.Errorf("transfer after unplug: %v, want ErrDisconnected", err)
		}
		if err := tr.Close(); err != nil {
			t.Errorf("closing an unplugged probe: %v", err)
		}
	})
}
