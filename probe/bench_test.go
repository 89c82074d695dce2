package probe_test

import (
	"context"
	"testing"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// BenchmarkReadRAM reads 16 KiB of RAM per iteration at a 4 MHz SWD clock
// and reports the throughput the simulator models (USB round trips plus
// SWD bits) next to the limit of the SWD wire alone.
func BenchmarkReadRAM(b *testing.B) {
	for _, fw := range []string{"V2J46S7", "V3J7M3"} {
		b.Run(fw, func(b *testing.B) {
			ctx := context.Background()
			p, l := entered(b, fw, chipsim.NewGenericM33(0))
			khz, err := l.SetSWDFrequency(ctx, 4000)
			if err != nil {
				b.Fatal(err)
			}
			if err := l.OpenAP(ctx, 0); err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 16<<10)
			p.ResetStats()
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				if err := l.ReadMem(ctx, 0, 0x20000000, 4, buf); err != nil {
					b.Fatal(err)
				}
			}
			st := p.Stats()
			total := float64(len(buf)) * float64(b.N)
			if st.Wire > 0 {
				b.ReportMetric(total/st.Wire.Seconds(), "B/s-modelled")
			}
			if st.SWDBits > 0 {
				swdSeconds := float64(st.SWDBits) / (float64(khz) * 1000)
				b.ReportMetric(total/swdSeconds, "B/s-swd-limit")
				b.ReportMetric(100*swdSeconds/st.Wire.Seconds(), "%-wire-busy")
			}
			b.ReportMetric(float64(st.USBTransfers)/float64(b.N), "usb-xfers/op")
		})
	}
}

// BenchmarkConnect reports the USB transactions and modelled time one
// connect costs, per mode, on the generic Cortex-M33 board.
func BenchmarkConnect(b *testing.B) {
	for _, mode := range probe.ConnectModes {
		b.Run(mode.String(), func(b *testing.B) {
			ctx := context.Background()
			p, l := newSim(b, "V2J46S7", chipsim.NewGenericM33(0))
			var xfers, cmds int
			var wire float64
			for b.Loop() {
				p.ResetStats()
				rep, err := probe.Connect(ctx, l, probe.ConnectOptions{Mode: mode, FrequencyKHz: 4000})
				if err != nil || !rep.OK() {
					b.Fatalf("connect: %v %v", err, rep.Err)
				}
				st := p.Stats()
				xfers += st.USBTransfers
				cmds += st.Commands
				wire += st.Wire.Seconds()
				if err := probe.Disconnect(ctx, l); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(xfers)/float64(b.N), "usb-xfers/connect")
			b.ReportMetric(float64(cmds)/float64(b.N), "commands/connect")
			b.ReportMetric(1000*wire/float64(b.N), "ms-modelled/connect")
		})
	}
}
