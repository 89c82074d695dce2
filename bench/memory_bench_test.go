package bench

import (
	"context"
	"testing"
	"time"

	"github.com/stprobe/stprobe/probe"
)

// benchMem opens the simulated h533-open board with the probe at 4 MHz
// and returns it with the lease.
func benchMem(b *testing.B) (*Bench, Token) {
	b.Helper()
	return benchOn(b, "h533-open")
}

// benchOn is benchMem on another simulated board.
func benchOn(b *testing.B, board string) (*Bench, Token) {
	b.Helper()
	bn, tok := openSimBench(b, board, Options{})
	if _, err := bn.Info(context.Background(), tok, InfoRequest{Mode: probe.ModeHotPlug, AutoAP: true, FrequencyKHz: 4000}); err != nil {
		b.Fatal(err)
	}
	return bn, tok
}

// reportSim reports what the simulated probe counted per operation: its
// modelled time (USB round trips and SWD wire time), USB transfers and
// commands.
func reportSim(b *testing.B, bn *Bench) {
	st := bn.Simulated().Stats()
	n := float64(b.N)
	b.ReportMetric(float64(st.Wire)/float64(time.Millisecond)/n, "modelled-ms/op")
	b.ReportMetric(float64(st.USBTransfers)/n, "usb-transfers/op")
	b.ReportMetric(float64(st.Commands)/n, "commands/op")
}

// BenchmarkMemRead64K is `stprobe mem read 0x20000000 64K` as a bench job:
// a Hot Plug connect on the core's port, 64 KiB in the firmware's 6 KiB
// blocks, and the disconnect.
func BenchmarkMemRead64K(b *testing.B) {
	bn, tok := benchMem(b)
	ctx := context.Background()
	req := MemRequest{AutoAP: true, Addr: 0x20000000, Len: 64 << 10}
	bn.Simulated().ResetStats()
	b.SetBytes(int64(req.Len))
	for b.Loop() {
		if _, err := bn.ReadMemory(ctx, tok, req); err != nil {
			b.Fatal(err)
		}
	}
	reportSim(b, bn)
}

// BenchmarkMemWrite64K writes 64 KiB of RAM the same way.
func BenchmarkMemWrite64K(b *testing.B) {
	bn, tok := benchMem(b)
	ctx := context.Background()
	data := make([]byte, 64<<10)
	for i := range data {
		data[i] = byte(i)
	}
	req := MemRequest{AutoAP: true, Addr: 0x20000000}
	bn.Simulated().ResetStats()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := bn.WriteMemory(ctx, tok, req, data); err != nil {
			b.Fatal(err)
		}
	}
	reportSim(b, bn)
}
