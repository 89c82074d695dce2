package probe_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/probe/stlinkserver"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// serveSim serves simulated probes as an stlink-server on a free local port.
func serveSim(t *testing.T, probes ...*sim.Probe) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Serve(ctx, ln, probes...) }()
	t.Cleanup(func() {
		cancel()
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}

func TestServerListAndOpen(t *testing.T) {
	ctx := context.Background()
	chip := chipsim.NewGeneric(1)
	p := sim.New(sim.Config{Firmware: simFirmware(t, "V2J46S7"), Serial: simSerial, TargetMillivolts: 3290, Chip: chip})
	other := sim.New(sim.Config{Firmware: simFirmware(t, "V3J7M3"), Serial: "0123456789ABCDEF01234567", TargetMillivolts: 1800})
	addr := serveSim(t, p, other)

	infos, err := probe.ListServer(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 || infos[0].Serial != simSerial || infos[0].Backend != probe.BackendServer ||
		infos[0].PID != 0x3748 || infos[0].Model != "ST-LINK/V2" || infos[0].Address != addr {
		t.Fatalf("listing %+v", infos)
	}

	tr, info, err := probe.OpenServer(ctx, addr, "0123456789abcdef01234567")
	if err != nil {
		t.Fatal(err)
	}
	if info.PID != 0x374E {
		t.Errorf("opened %+v, want the V3", info)
	}
	tr.Close()

	tr, info, err = probe.OpenServer(ctx, addr, simSerial)
	if err != nil {
		t.Fatal(err)
	}
	l, err := probe.NewLink(ctx, tr, fastRetry)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.Version().String() != "V2J46S7" {
		t.Errorf("version %s over TCP", l.Version())
	}
	rep, err := probe.Connect(ctx, l, probe.ConnectOptions{Mode: probe.ModeNormal, AP: 1, FrequencyKHz: 4000})
	if err != nil || !rep.OK() || rep.Core != probe.CoreHalted {
		t.Fatalf("connect over TCP: %v %+v", err, rep)
	}
	data := make([]byte, 3000)
	for i := range data {
		data[i] = byte(i)
	}
	if err := l.WriteMem(ctx, 1, 0x20000000, 4, data[:2048]); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 2048)
	if err := l.ReadMem(ctx, 1, 0x20000000, 4, got); err != nil || got[2047] != data[2047] {
		t.Errorf("memory over TCP: %v", err)
	}
	if err := probe.Disconnect(ctx, l); err != nil {
		t.Errorf("Disconnect: %v", err)
	}

	if _, _, err := probe.OpenServer(ctx, addr, "NOSUCHSERIAL"); err == nil {
		t.Error("opened a missing serial")
	}
}

func TestServerNotRunning(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = probe.ListServer(context.Background(), addr)
	if err == nil || probe.LayerOf(err) != probe.LayerUSB || !errors.Is(err, probe.ErrDisconnected) {
		t.Fatalf("err %v (layer %q), want a USB-layer disconnect", err, probe.LayerOf(err))
	}
	// worded for the server, not for a USB cable
	if msg := err.Error(); !strings.Contains(msg, "stlink-server at "+addr) || !strings.Contains(msg, "is the address right") || strings.Contains(msg, "replug") {
		t.Errorf("message %q", msg)
	}
}

// scriptedServer answers the listing and OPEN_DEV, then handles
// SEND_USB_CMD with onUSB (which may close the connection or stay silent);
// the connection ends when onUSB returns false.
func scriptedServer(t *testing.T, onUSB func(c net.Conn, req stlinkserver.Request) bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		for {
			req, err := stlinkserver.ReadRequest(c)
			if err != nil {
				return
			}
			var resp []byte
			switch req.Op {
			case stlinkserver.OpGetServerVersion:
				resp = stlinkserver.EncodeServerVersion(stlinkserver.ServerVersion{API: 2, Major: 2, Minor: 1})
			case stlinkserver.OpGetNbDev:
				resp = stlinkserver.EncodeCount(1)
			case stlinkserver.OpGetDevInfo:
				resp = stlinkserver.EncodeDeviceInfo(stlinkserver.StatusOK, stlinkserver.DeviceInfo{ID: 7, Serial: simSerial, VID: 0x0483, PID: 0x3748}, int(req.InfoSize))
			case stlinkserver.OpOpenDev:
				resp = stlinkserver.EncodeOpen(stlinkserver.StatusOK, 0xC0DE0001)
			case stlinkserver.OpSendUSBCmd:
				if !onUSB(c, req) {
					return
				}
				continue
			default:
				resp = stlinkserver.EncodeStatus(stlinkserver.StatusOK)
			}
			if _, err := c.Write(resp); err != nil {
				return
			}
		}
	}()
	return ln.Addr().String()
}

func TestServerDropAndTimeout(t *testing.T) {
	t.Run("drop", func(t *testing.T) {
		addr := scriptedServer(t, func(c net.Conn, _ stlinkserver.Request) bool { c.Close(); return false })
		tr, _, err := probe.OpenServer(context.Background(), addr, "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = probe.NewLink(context.Background(), tr)
		if !errors.Is(err, probe.ErrDisconnected) {
			t.Fatalf("err %v, want ErrDisconnected", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		hold := make(chan struct{})
		t.Cleanup(func() { close(hold) })
		addr := scriptedServer(t, func(c net.Conn, _ stlinkserver.Request) bool { <-hold; return false })
		tr, _, err := probe.OpenServer(context.Background(), addr, "")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err = probe.NewLink(ctx, tr)
		if !errors.Is(err, probe.ErrTimeout) || probe.LayerOf(err) != probe.LayerUSB {
			t.Fatalf("err %v, want ErrTimeout", err)
		}
		if msg := err.Error(); !strings.Contains(msg, "stlink-server at "+addr+": no answer in time") || strings.Contains(msg, "USB cable") {
			t.Errorf("message %q", msg)
		}
		// the connection is out of step afterwards: dropped
		err = tr.Xfer(context.Background(), [16]byte{0xF1}, nil, make([]byte, 6))
		if !errors.Is(err, probe.ErrDisconnected) {
			t.Errorf("after a timeout: %v, want ErrDisconnected", err)
		}
	})
}

func TestServerStatus(t *testing.T) {
	script := make(chan stlinkserver.Status, 3)
	script <- stlinkserver.StatusTCPBusy
	script <- stlinkserver.StatusTCPBusy
	script <- stlinkserver.StatusTransferError
	addr := scriptedServer(t, func(c net.Conn, req stlinkserver.Request) bool {
		_, err := c.Write(stlinkserver.EncodeUSBReply(<-script, nil, int(req.USB.Length)))
		return err == nil && len(script) > 0
	})
	tr, _, err := probe.OpenServer(context.Background(), addr, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = probe.NewLink(context.Background(), tr)
	var se *probe.ServerStatusError
	if !errors.As(err, &se) || se.Status != stlinkserver.StatusTransferError || probe.LayerOf(err) != probe.LayerUSB {
		t.Fatalf("err %v, want the transfer error after two busy answers", err)
	}
	if len(script) != 0 {
		t.Errorf("busy answers were not retried")
	}
}
