package probe_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stprobe/stprobe/adi"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/proto"
)

// fastRetry keeps WAIT backoff tiny in tests.
var fastRetry = probe.WithWaitRetry(probe.DefaultWaitTries, time.Microsecond, 10*time.Microsecond)

func openFake(t *testing.T, fw string, opts ...probe.Option) (*probe.Link, *fakeProbe) {
	t.Helper()
	f := newFake(fw)
	l, err := probe.NewLink(context.Background(), f, append([]probe.Option{fastRetry}, opts...)...)
	if err != nil {
		t.Fatalf("NewLink(%s): %v", fw, err)
	}
	return l, f
}

func TestNewLinkLeavesMode(t *testing.T) {
	tests := []struct {
		mode proto.Mode
		want [2]byte // command sent to leave it; zero when none
	}{
		{proto.ModeMass, [2]byte{}},
		{proto.ModeDFU, [2]byte{proto.CmdDFU, proto.DFUExit}},
		{proto.ModeSWIM, [2]byte{proto.CmdSWIM, proto.SWIMExit}},
		{proto.ModeDebug, [2]byte{proto.CmdDebug, proto.DebugExit}},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			f := newFake("V2J46S7")
			f.mode = tt.mode
			l, err := probe.NewLink(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			if got := l.Version().String(); got != "V2J46S7" {
				t.Errorf("version %s, want V2J46S7", got)
			}
			var sent [][2]byte
			for _, c := range f.cmds {
				sent = append(sent, [2]byte{c[0], c[1]})
			}
			if tt.want == ([2]byte{}) {
				if len(f.cmds) != 2 {
					t.Errorf("commands % x, want GET_VERSION and GET_CURRENT_MODE only", sent)
				}
			} else if !slices.Contains(sent, tt.want) {
				t.Errorf("commands % x do not leave %s with % x", sent, tt.mode, tt.want)
			}
			if f.mode != proto.ModeMass {
				t.Errorf("probe left in %s", f.mode)
			}
		})
	}
}

func TestNewLinkV3(t *testing.T) {
	l, f := openFake(t, "V3J7M3B5S1")
	if got := l.Version().String(); got != "V3J7M3B5S1" {
		t.Errorf("version %s", got)
	}
	if f.cmds[1][0] != proto.CmdGetVersionExt {
		t.Errorf("second command % x, want GET_VERSION_EXT", f.cmds[1][:2])
	}
	if got := l.SWDFrequencies(); !slices.Equal(got, proto.V3SWDTable) {
		t.Errorf("frequencies %v, want %v", got, proto.V3SWDTable)
	}
	if got := l.SWDFrequency(); got != 1000 {
		t.Errorf("current frequency %d, want 1000 as reported", got)
	}
}

func TestSetSWDFrequency(t *testing.T) {
	tests := []struct {
		fw      string
		want    int
		got     int
		divisor int // V2 only; -1 for V3
	}{
		{"V2J46S7", 4000, 4000, 0},
		{"V2J46S7", 1000, 950, 3},
		{"V2J46S7", 100, 100, 40},
		{"V2J46S7", 1, 5, 798},
		{"V3J7M3", 4000, 3300, -1},
		{"V3J7M3", 24000, 24000, -1},
		{"V3J7M3", 2, 5, -1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.fw, tt.want), func(t *testing.T) {
			l, f := openFake(t, tt.fw)
			got, err := l.SetSWDFrequency(context.Background(), tt.want)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.got || l.SWDFrequency() != tt.got {
				t.Errorf("set %d kHz: got %d (current %d), want %d", tt.want, got, l.SWDFrequency(), tt.got)
			}
			last := f.cmds[len(f.cmds)-1]
			if tt.divisor >= 0 {
				if last[1] != proto.DebugSWDSetFreq || int(binary.LittleEndian.Uint16(last[2:4])) != tt.divisor {
					t.Errorf("command % x, want SWD_SET_FREQ divisor %d", last[:4], tt.divisor)
				}
			} else if last[1] != proto.DebugSetComFreq || int(binary.LittleEndian.Uint32(last[4:8])) != tt.got {
				t.Errorf("command % x, want SET_COM_FREQ %d", last[:8], tt.got)
			}
		})
	}
	l, _ := openFake(t, "V2J46S7")
	if _, err := l.SetSWDFrequency(context.Background(), 0); err == nil {
		t.Error("0 kHz accepted")
	}
}

func TestTargetVoltage(t *testing.T) {
	l, _ := openFake(t, "V2J46S7")
	v, err := l.TargetVoltage(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v < 3.248 || v > 3.250 {
		t.Errorf("voltage %.4f, want 3.249", v)
	}
}

func TestMemoryChunking(t *testing.T) {
	tests := []struct {
		name   string
		fw     string
		width  int
		addr   uint32
		n      int
		chunks []int
	}{
		{"32-bit 4 KiB", "V2J46S7", 4, 0x20000000, 4096, []int{4096}},
		{"32-bit 16 KiB", "V2J46S7", 4, 0x20000000, 16384, []int{6144, 6144, 4096}},
		{"32-bit V3 16 KiB", "V3J7M3", 4, 0x20000004, 16384, []int{6144, 6144, 4096}},
		{"32-bit V2-1 across 1 KiB", "V2J40M27", 4, 0x200003F0, 64, []int{64}},
		{"32-bit one word", "V2J46S7", 4, 0x20000010, 4, []int{4}},
		{"16-bit", "V2J46S7", 2, 0x200003FE, 6, []int{6}},
		{"16-bit 8 KiB", "V2J46S7", 2, 0x20000002, 8192, []int{6144, 2048}},
		{"8-bit V2 64 B", "V2J46S7", 1, 0x20000000, 200, []int{64, 64, 64, 8}},
		{"8-bit V3J6 512 B", "V3J7M3", 1, 0x20000000, 1500, []int{512, 512, 476}},
		{"8-bit V3J5 64 B", "V3J5M3", 1, 0x20000000, 130, []int{64, 64, 2}},
		{"8-bit across 1 KiB", "V3J7M3", 1, 0x200003FF, 3, []int{3}},
		{"8-bit one byte", "V2J46S7", 1, 0x20000001, 1, []int{1}},
	}
	for _, tt := range tests {
		for _, write := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/write=%v", tt.name, write), func(t *testing.T) {
				l, f := openFake(t, tt.fw)
				before := f.count(proto.DebugGetLastRWStatus2)
				data := make([]byte, tt.n)
				for i := range data {
					data[i] = byte(i * 7)
				}
				ctx := context.Background()
				var err error
				if write {
					err = l.WriteMem(ctx, 0, tt.addr, tt.width, data)
				} else {
					for i, b := range data {
						f.mem[tt.addr+uint32(i)] = b
					}
					got := make([]byte, tt.n)
					err = l.ReadMem(ctx, 0, tt.addr, tt.width, got)
					if !bytes.Equal(got, data) {
						t.Errorf("read back differs")
					}
				}
				if err != nil {
					t.Fatal(err)
				}
				addrs, lens, inLens := f.memCmds()
				if !slices.Equal(lens, tt.chunks) {
					t.Errorf("chunks %v, want %v", lens, tt.chunks)
				}
				next := tt.addr
				for i, a := range addrs {
					if a != next {
						t.Errorf("chunk %d at 0x%08X, want 0x%08X", i, a, next)
					}
					want := lens[i]
					if write {
						want = 0
					} else if lens[i] == 1 {
						want = 2
					}
					if inLens[i] != want {
						t.Errorf("chunk %d reads %d bytes, want %d", i, inLens[i], want)
					}
					next += uint32(lens[i])
				}
				if got := f.count(proto.DebugGetLastRWStatus2) - before; got != len(tt.chunks) {
					t.Errorf("%d GETLASTRWSTATUS2 for %d chunks", got, len(tt.chunks))
				}
				if !write {
					return
				}
				for i, b := range data {
					if f.mem[tt.addr+uint32(i)] != b {
						t.Fatalf("byte %d not written", i)
					}
				}
			})
		}
	}
}

func TestMemoryArguments(t *testing.T) {
	l, f := openFake(t, "V2J46S7")
	ctx := context.Background()
	for _, tt := range []struct {
		addr  uint32
		width int
		n     int
	}{
		{0x20000002, 4, 4}, {0x20000000, 4, 6}, {0x20000001, 2, 2}, {0x20000000, 3, 3}, {0xFFFFFFFC, 4, 8},
	} {
		if err := l.ReadMem(ctx, 0, tt.addr, tt.width, make([]byte, tt.n)); err == nil {
			t.Errorf("read %d bytes at 0x%08X width %d accepted", tt.n, tt.addr, tt.width)
		}
	}
	if err := l.ReadMem(ctx, 0, 0x20000000, 4, nil); err != nil {
		t.Errorf("empty read: %v", err)
	}
	if addrs, _, _ := f.memCmds(); len(addrs) != 0 {
		t.Errorf("%d memory commands sent for refused reads", len(addrs))
	}
}

func TestLastRWStatusV1(t *testing.T) {
	l, f := openFake(t, "V2J14S0")
	f.faultLo, f.faultHi = 0x30000000, 0x30000004
	ctx := context.Background()
	if _, err := l.Read32(ctx, 0, 0x20000000); err != nil {
		t.Fatal(err)
	}
	if f.count(proto.DebugGetLastRWStatus) != 1 || f.count(proto.DebugGetLastRWStatus2) != 0 {
		t.Errorf("V2J14 used GETLASTRWSTATUS2")
	}
	_, err := l.Read32(ctx, 0, 0x30000000)
	var se *probe.StatusError
	if !errors.As(err, &se) || se.Status != proto.StatusSWDAPFault || se.HasAddr {
		t.Errorf("fault on V2J14: %v, want an AP fault without address", err)
	}
}

func TestMemoryFault(t *testing.T) {
	l, f := openFake(t, "V2J46S7")
	f.faultLo, f.faultHi = 0x20003800, 0x20003900
	buf := make([]byte, 16384)
	err := l.ReadMem(context.Background(), 0, 0x20000000, 4, buf)
	var se *probe.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("error %v, want a StatusError", err)
	}
	if !errors.Is(err, probe.ErrSWDAPFault) || errors.Is(err, probe.ErrSWDDPFault) {
		t.Errorf("errors.Is mismatch for %v", err)
	}
	if !se.HasAddr || se.FaultAddr != 0x20003800 {
		t.Errorf("fault address %#x (has %v), want 0x20003800", se.FaultAddr, se.HasAddr)
	}
	if probe.LayerOf(err) != probe.LayerAP {
		t.Errorf("layer %q, want AP", probe.LayerOf(err))
	}
	if !strings.Contains(err.Error(), "0x20003800") || !strings.Contains(err.Error(), "status 0x11") {
		t.Errorf("message %q lacks address or status", err)
	}
	// the third chunk (from 0x20003000) faulted: no fourth, and ABORT 0x1E was written
	if addrs, _, _ := f.memCmds(); len(addrs) != 3 {
		t.Errorf("%d chunks sent, want 3", len(addrs))
	}
	last := f.cmds[len(f.cmds)-1]
	if last[1] != proto.DebugWriteDAPReg || binary.LittleEndian.Uint16(last[2:4]) != proto.DAPPortDP ||
		binary.LittleEndian.Uint16(last[4:6]) != 0 || binary.LittleEndian.Uint32(last[6:10]) != 0x1E {
		t.Errorf("last command % x, want ABORT = 0x1E", last[:10])
	}
}

func TestWaitRetry(t *testing.T) {
	tests := []struct {
		waits     int
		wantTries int
		ok        bool
	}{
		{0, 1, true}, {1, 2, true}, {7, 8, true}, {8, 8, false}, {50, 8, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.waits), func(t *testing.T) {
			l, f := openFake(t, "V2J46S7")
			f.waits = tt.waits
			err := l.DriveNRST(context.Background(), proto.NRSTPulse)
			if tries := f.count(proto.DebugDriveNRST); tries != tt.wantTries {
				t.Errorf("%d tries, want %d", tries, tt.wantTries)
			}
			if tt.ok != (err == nil) {
				t.Fatalf("err %v, want ok=%v", err, tt.ok)
			}
			if !tt.ok && (!errors.Is(err, probe.ErrSWDDPWait) || probe.LayerOf(err) != probe.LayerDP) {
				t.Errorf("err %v (layer %s), want DP WAIT", err, probe.LayerOf(err))
			}
		})
	}
}

func TestWaitRetryMemory(t *testing.T) {
	l, f := openFake(t, "V2J46S7")
	f.mem[0x20000000] = 0x78
	if err := l.OpenAP(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	f.waits = 2 // the first two GETLASTRWSTATUS2 answer WAIT: the chunk is sent again
	v, err := l.Read32(context.Background(), 0, 0x20000000)
	if err != nil || v != 0x78 {
		t.Fatalf("read %#x, %v", v, err)
	}
	if addrs, _, _ := f.memCmds(); len(addrs) != 3 {
		t.Errorf("%d memory commands, want 3 (two WAITs)", len(addrs))
	}
}

func TestWaitBackoffHonoursContext(t *testing.T) {
	f := newFake("V2J46S7")
	l, err := probe.NewLink(context.Background(), f, probe.WithWaitRetry(8, time.Hour, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.waits = 5
	f.override = func(c [16]byte) []byte {
		cancel() // the caller gives up while the first WAIT is backed off
		return nil
	}
	err = l.EnterSWD(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if n := f.count(proto.DebugEnter); n != 1 {
		t.Errorf("%d ENTER commands, want 1", n)
	}
}

func TestDisconnectedSticks(t *testing.T) {
	l, f := openFake(t, "V2J46S7")
	f.unplug = true
	ctx := context.Background()
	err := l.EnterSWD(ctx)
	if !errors.Is(err, probe.ErrDisconnected) || probe.LayerOf(err) != probe.LayerUSB {
		t.Fatalf("err %v (layer %s), want ErrDisconnected at USB", err, probe.LayerOf(err))
	}
	f.unplug = false
	n := len(f.cmds)
	if _, err := l.ReadIDCode(ctx); !errors.Is(err, probe.ErrDisconnected) {
		t.Errorf("after unplug: %v, want ErrDisconnected", err)
	}
	if _, err := l.Read32(ctx, 0, 0x20000000); !errors.Is(err, probe.ErrDisconnected) {
		t.Errorf("after unplug: %v, want ErrDisconnected", err)
	}
	if len(f.cmds) != n {
		t.Errorf("commands sent after the unplug")
	}
	if !strings.Contains(probe.ErrDisconnected.Error(), "replug the ST-LINK") {
		t.Errorf("ErrDisconnected says %q", probe.ErrDisconnected)
	}
}

func TestTransportErrorMapping(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"deadline", context.DeadlineExceeded, probe.ErrTimeout},
		{"unplugged", unpluggedErr{}, probe.ErrDisconnected},
		{"other", errors.New("pipe stall"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, f := openFake(t, "V2J46S7")
			f.errNext = tt.err
			err := l.EnterSWD(context.Background())
			if probe.LayerOf(err) != probe.LayerUSB {
				t.Errorf("layer %q, want USB (%v)", probe.LayerOf(err), err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err %v, want %v", err, tt.want)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("err %v lost the transport error", err)
			}
		})
	}
}

func TestMalformedReplies(t *testing.T) {
	tests := []struct {
		name  string
		reply []byte
	}{
		{"unknown status", []byte{0xFF, 0}},
		{"zero status", []byte{0x00, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, f := openFake(t, "V2J46S7")
			f.override = func(c [16]byte) []byte {
				if c[1] == proto.DebugEnter {
					return tt.reply
				}
				return nil
			}
			err := l.EnterSWD(context.Background())
			if !errors.Is(err, probe.ErrMalformedReply) || probe.LayerOf(err) != probe.LayerProbe {
				t.Fatalf("err %v (layer %s), want a malformed reply at probe", err, probe.LayerOf(err))
			}
		})
	}
	// a zero voltage reference cannot be divided by
	l, f := openFake(t, "V2J46S7")
	f.override = func(c [16]byte) []byte {
		if c[0] == proto.CmdGetTargetVoltage {
			return make([]byte, 8)
		}
		return nil
	}
	if _, err := l.TargetVoltage(context.Background()); !errors.Is(err, probe.ErrMalformedReply) {
		t.Errorf("zero reference: %v", err)
	}
}

func TestFirmwareGates(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		fw   string
		name string
		do   func(l *probe.Link) error
		want string // "" = allowed
	}{
		{"V2J27S7", "AP1", func(l *probe.Link) error { return l.OpenAP(ctx, 1) },
			"needs ST-LINK firmware V2J28 or later for AP1; this probe has V2J27S7: update the firmware"},
		{"V2J27S7", "AP0", func(l *probe.Link) error { return l.OpenAP(ctx, 0) }, ""},
		{"V2J27S7", "mem AP1", func(l *probe.Link) error { _, err := l.Read32(ctx, 1, 0x20000000); return err }, "V2J28 or later for AP1"},
		{"V2J46S7", "AP1", func(l *probe.Link) error { return l.OpenAP(ctx, 1) }, ""},
		{"V2J29S7", "AP4", func(l *probe.Link) error { return l.OpenAP(ctx, 4) }, "V2J32 or later for AP4"},
		{"V2J29S7", "AP3", func(l *probe.Link) error { return l.OpenAP(ctx, 3) }, ""},
		{"V2J46S7", "AP8", func(l *probe.Link) error { return l.OpenAP(ctx, 8) }, ""},
		{"V2J46S7", "AP9", func(l *probe.Link) error { return l.OpenAP(ctx, 9) }, "STLINK-V3"},
		{"V3J7M3", "AP200", func(l *probe.Link) error { return l.OpenAP(ctx, 200) }, ""},
		{"V2J23S7", "DP register", func(l *probe.Link) error { _, err := l.ReadDP(ctx, adi.DPCtrlStat); return err }, "V2J24 or later"},
		{"V2J30S7", "banked DP", func(l *probe.Link) error { _, err := l.ReadDP(ctx, 0x24); return err }, "V2J32 or later"},
		{"V2J32S7", "banked DP", func(l *probe.Link) error { _, err := l.ReadDP(ctx, 0x24); return err }, ""},
		{"V3J2M1", "banked DP", func(l *probe.Link) error { _, err := l.ReadDP(ctx, 0x24); return err }, ""},
		{"V2J25S7", "16-bit", func(l *probe.Link) error { return l.ReadMem(ctx, 0, 0x20000000, 2, make([]byte, 2)) }, "V2J26 or later"},
		{"V2J12S0", "voltage", func(l *probe.Link) error { _, err := l.TargetVoltage(ctx); return err }, "V2J13 or later"},
		{"V2J21S4", "clock", func(l *probe.Link) error { _, err := l.SetSWDFrequency(ctx, 1000); return err }, "V2J22 or later"},
	}
	for _, tt := range tests {
		t.Run(tt.fw+"/"+tt.name, func(t *testing.T) {
			l, f := openFake(t, tt.fw)
			n := len(f.cmds)
			err := tt.do(l)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var fe *probe.FirmwareError
			if !errors.As(err, &fe) || !errors.Is(err, probe.ErrFirmwareTooOld) || probe.LayerOf(err) != probe.LayerProbe {
				t.Fatalf("err %v, want a FirmwareError at probe", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("message %q lacks %q", err, tt.want)
			}
			if len(f.cmds) != n {
				t.Errorf("a refused command was sent")
			}
		})
	}
}

func TestOpenCloseAP(t *testing.T) {
	l, f := openFake(t, "V2J46S7")
	ctx := context.Background()
	if _, err := l.ReadAPReg(ctx, 1, adi.APIDR); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Read32(ctx, 1, 0x20000000); err != nil {
		t.Fatal(err)
	}
	if n := f.count(proto.DebugInitAP); n != 1 {
		t.Errorf("%d INIT_AP for two AP1 accesses, want 1", n)
	}
	if got := l.OpenedAPs(); !slices.Equal(got, []uint8{1}) {
		t.Errorf("opened %v", got)
	}
	if err := l.CloseAP(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if len(l.OpenedAPs()) != 0 {
		t.Errorf("AP1 still open")
	}
	// before V2J29 the CLOSE_AP status is garbage and ignored
	l, f = openFake(t, "V2J28S7")
	f.override = func(c [16]byte) []byte {
		if c[1] == proto.DebugCloseAP {
			return []byte{0x1D, 0}
		}
		return nil
	}
	if err := l.CloseAP(ctx, 1); err != nil {
		t.Errorf("V2J28 CLOSE_AP: %v", err)
	}
}

func TestPowerUpDebug(t *testing.T) {
	l, _ := openFake(t, "V2J46S7")
	cs, err := l.PowerUpDebug(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cs&adi.CtrlPowerUpAcks != adi.CtrlPowerUpAcks {
		t.Errorf("CTRL/STAT %#x without ACKs", cs)
	}
	// a DP that never acknowledges: bounded poll, DP-layer error
	l, f := openFake(t, "V2J46S7")
	f.override = func(c [16]byte) []byte {
		if c[1] == proto.DebugReadDAPReg {
			return []byte{0x80, 0, 0, 0, 0, 0, 0, 0x50}
		}
		return nil
	}
	_, err = l.PowerUpDebug(context.Background())
	if probe.LayerOf(err) != probe.LayerDP {
		t.Fatalf("err %v, want a DP-layer error", err)
	}
	if n := f.count(proto.DebugReadDAPReg); n < 2 || n > 64 {
		t.Errorf("%d CTRL/STAT polls", n)
	}
}

func TestStatusErrors(t *testing.T) {
	tests := []struct {
		status proto.Status
		layer  probe.Layer
		target error
	}{
		{proto.StatusSWDAPWait, probe.LayerAP, probe.ErrSWDAPWait},
		{proto.StatusSWDAPFault, probe.LayerAP, probe.ErrSWDAPFault},
		{proto.StatusSWDAPError, probe.LayerAP, probe.ErrSWDAPError},
		{proto.StatusSWDAPParityError, probe.LayerAP, probe.ErrSWDAPParity},
		{proto.StatusSWDDPWait, probe.LayerDP, probe.ErrSWDDPWait},
		{proto.StatusSWDDPFault, probe.LayerDP, probe.ErrSWDDPFault},
		{proto.StatusSWDDPError, probe.LayerDP, probe.ErrSWDDPError},
		{proto.StatusSWDDPParityError, probe.LayerDP, probe.ErrSWDDPParity},
		{proto.StatusSWDAPWDataError, probe.LayerAP, probe.ErrSWDAPWData},
		{proto.StatusSWDAPStickyError, probe.LayerAP, probe.ErrSWDAPSticky},
		{proto.StatusSWDAPStickyOrunError, probe.LayerAP, probe.ErrSWDAPStickyOrun},
		{proto.StatusBadAP, probe.LayerProbe, probe.ErrBadAP},
		{proto.StatusNoDeviceConnected, probe.LayerTarget, probe.ErrNoDevice},
		{proto.StatusGetIDCodeError, probe.LayerTarget, probe.ErrGetIDCode},
		{proto.StatusUnknownCmd, probe.LayerProbe, probe.ErrUnknownCmd},
		{proto.StatusCmdError, probe.LayerProbe, probe.ErrCmd},
		{proto.StatusFault, probe.LayerProbe, probe.ErrProbeFault},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("0x%02X", uint8(tt.status)), func(t *testing.T) {
			l, f := openFake(t, "V2J46S7")
			f.override = func(c [16]byte) []byte {
				if c[1] == proto.DebugEnter {
					return []byte{byte(tt.status), 0}
				}
				return nil
			}
			err := l.EnterSWD(context.Background())
			if !errors.Is(err, tt.target) {
				t.Fatalf("err %v is not %v", err, tt.target)
			}
			for _, other := range []error{probe.ErrSWDAPFault, probe.ErrSWDDPError, probe.ErrBadAP} {
				if other != tt.target && errors.Is(err, other) {
					t.Errorf("err %v also matches %v", err, other)
				}
			}
			if got := probe.LayerOf(err); got != tt.layer {
				t.Errorf("layer %q, want %q", got, tt.layer)
			}
			msg := err.Error()
			if !strings.Contains(msg, fmt.Sprintf("status 0x%02X", uint8(tt.status))) || !strings.Contains(msg, "enter SWD") {
				t.Errorf("message %q lacks status or operation", msg)
			}
			if i := strings.LastIndex(msg, ": "); i < 0 || len(msg)-i < 10 {
				t.Errorf("message %q gives no next step", msg)
			}
		})
	}
	dp := (&probe.StatusError{Status: proto.StatusSWDDPError}).Error()
	if !strings.Contains(dp, "SWD DP no response") || !strings.Contains(dp, "check wiring, target power and voltage; try a lower SWD clock or Under Reset") {
		t.Errorf("DP no-response message %q", dp)
	}
}

func TestLoggingAndEvents(t *testing.T) {
	var buf bytes.Buffer
	lg := logrus.New()
	lg.SetOutput(&buf)
	lg.SetLevel(logrus.TraceLevel)
	var events []probe.Event
	l, _ := openFake(t, "V2J46S7", probe.WithLogger(lg), probe.WithEvents(func(e probe.Event) { events = append(events, e) }))
	ctx := context.Background()
	if err := l.EnterSWD(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "enter SWD") || !strings.Contains(buf.String(), "f2 30 a3") || !strings.Contains(buf.String(), "status=ok") {
		t.Errorf("trace log lacks the command or its status:\n%s", buf.String())
	}
	if err := l.ReadMem(ctx, 0, 0x20000000, 4, make([]byte, 16384)); err != nil {
		t.Fatal(err)
	}
	if len(events) != 3 {
		t.Fatalf("%d events for 3 chunks", len(events))
	}
	for i, e := range events {
		if e.Total != 16384 || e.Done != min(6144*(i+1), 16384) || e.Op != "read memory" {
			t.Errorf("event %d: %+v", i, e)
		}
	}
	events = nil
	if _, err := l.Read32(ctx, 0, 0x20000000); err != nil || len(events) != 0 {
		t.Errorf("short read emitted %d events (%v)", len(events), err)
	}
}

func TestParseConnectMode(t *testing.T) {
	for _, m := range probe.ConnectModes {
		got, err := probe.ParseConnectMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseConnectMode(%q) = %v, %v", m, got, err)
		}
	}
	for in, want := range map[string]probe.ConnectMode{"Hot Plug": probe.ModeHotPlug, "UNDER_RESET": probe.ModeUnderReset, " normal ": probe.ModeNormal} {
		if got, err := probe.ParseConnectMode(in); err != nil || got != want {
			t.Errorf("ParseConnectMode(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := probe.ParseConnectMode("reset"); err == nil {
		t.Error("ParseConnectMode(reset) accepted")
	}
}

func TestCoreName(t *testing.T) {
	for cpuid, want := range map[uint32]string{
		0x410FD214: "Cortex-M33 r0p4",
		0x410FC241: "Cortex-M4 r0p1",
		0x410CC601: "Cortex-M0+ r0p1",
		0:          "",
		0x4BA00477: "",
	} {
		if got := probe.CoreName(cpuid); got != want {
			t.Errorf("CoreName(%#x) = %q, want %q", cpuid, got, want)
		}
		if probe.IsCortexM(cpuid) != (want != "") {
			t.Errorf("IsCortexM(%#x) wrong", cpuid)
		}
	}
}

func TestNewLinkV3WithoutClockList(t *testing.T) {
	f := newFake("V3J7M3")
	f.override = func(c [16]byte) []byte {
		if c[0] == proto.CmdDebug && c[1] == proto.DebugGetComFreq {
			r := make([]byte, 52)
			r[0] = byte(proto.StatusUnknownCmd)
			return r
		}
		return nil
	}
	l, err := probe.NewLink(context.Background(), f)
	if err != nil {
		t.Fatalf("NewLink: %v", err)
	}
	if got := l.SWDFrequencies(); !slices.Equal(got, proto.V3SWDTable) {
		t.Errorf("frequencies %v, want the usual V3 list", got)
	}
}

func TestCloseLeavesProbeIdle(t *testing.T) {
	l, f := openFake(t, "V2J46S7")
	ctx := context.Background()
	if err := l.EnterSWD(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.DriveNRST(ctx, proto.NRSTLow); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	n := len(f.cmds)
	if f.cmds[n-2][1] != proto.DebugDriveNRST || f.cmds[n-2][2] != proto.NRSTHigh || f.cmds[n-1][1] != proto.DebugExit {
		t.Errorf("Close sent % x, % x; want NRST release then EXIT", f.cmds[n-2][:3], f.cmds[n-1][:2])
	}
	if !f.closed {
		t.Error("transport not closed")
	}
	if _, err := l.Mode(ctx); !errors.Is(err, probe.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func TestNames(t *testing.T) {
	for m, want := range map[probe.ConnectMode]string{probe.ModeNormal: "Normal", probe.ModeHotPlug: "Hot Plug", probe.ModeUnderReset: "Under Reset"} {
		if m.Title() != want {
			t.Errorf("%v.Title() = %q", m, m.Title())
		}
	}
	for s, want := range map[probe.CoreState]string{probe.CoreUnknown: "unknown", probe.CoreRunning: "running", probe.CoreHalted: "halted", probe.CoreInReset: "in reset", probe.CoreLocked: "locked up"} {
		if s.String() != want {
			t.Errorf("CoreState %d = %q", s, s)
		}
	}
}

func TestLeaveMode(t *testing.T) {
	l, f := openFake(t, "V2J46S7")
	f.mode = proto.ModeSWIM
	if err := l.LeaveMode(context.Background()); err != nil || f.mode != proto.ModeMass {
		t.Errorf("LeaveMode: %v, mode %s", err, f.mode)
	}
}
