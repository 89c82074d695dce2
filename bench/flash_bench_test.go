package bench

import (
	"context"
	"testing"
	"time"

	"github.com/stprobe/stprobe/flashimage"
)

// BenchmarkFlashWrite64K programs 64 KiB (8 sectors erased, then
// programmed, then verified) on the simulated h533-open board at 4 MHz SWD
// and reports KiB/s on the modelled clock (USB round trips, SWD wire time,
// the chip's erase and program times, the loader's cycles at the core's
// reset clock). Sub-benchmarks: register by register with quad-words per
// NSSR poll (1: every quad-word checked, as OpenOCD without its loader;
// 64: 1 KiB per memory write, relying on the bus stall), the flash loader
// run on the halted core (6 KiB blocks), and the SWD floor: the same bytes
// written to SRAM.
func BenchmarkFlashWrite64K(b *testing.B) {
	data, im := benchImage(b, 64<<10)
	for _, tc := range []struct {
		name   string
		per    int
		loader bool
	}{{"poll-every-quad-word", 1, false}, {"poll-every-1KiB", 64, false}, {"loader", 1, true}} {
		b.Run(tc.name, func(b *testing.B) {
			bn, tok := benchMem(b)
			ctx := context.Background()
			req := FlashRequest{Name: "bench.bin", Image: im, Verify: true, StateDir: b.TempDir(), QuadWordsPerPoll: tc.per, Confirm: "erase 8 sectors", RegisterByRegister: !tc.loader}
			bn.Simulated().ResetStats()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := bn.Flash(ctx, tok, req); err != nil {
					b.Fatal(err)
				}
			}
			reportKiBs(b, bn, len(data))
		})
	}
	b.Run("swd-floor-sram-write", func(b *testing.B) { benchSRAMFloor(b, "h533-open", data) })
}

// benchImage is n bytes of a pattern and their image at the flash base.
func benchImage(b *testing.B, n int) ([]byte, *flashimage.Image) {
	b.Helper()
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i*7 + 1)
	}
	im, err := flashimage.ParseBIN(data, 0x08000000)
	if err != nil {
		b.Fatal(err)
	}
	return data, im
}

// benchSRAMFloor writes data to the SRAM of the simulated board: the SWD
// floor a flash write's KiB/s stands beside.
func benchSRAMFloor(b *testing.B, board string, data []byte) {
	bn, tok := benchOn(b, board)
	ctx := context.Background()
	bn.Simulated().ResetStats()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := bn.WriteMemory(ctx, tok, MemRequest{AutoAP: true, Addr: 0x20000000}, data); err != nil {
			b.Fatal(err)
		}
	}
	reportKiBs(b, bn, len(data))
}

// reportKiBs reports the simulated probe's counts and the KiB/s of n bytes
// per operation on its modelled clock.
func reportKiBs(b *testing.B, bn *Bench, n int) {
	reportSim(b, bn)
	per := bn.Simulated().Stats().Wire / time.Duration(b.N)
	if per > 0 {
		b.ReportMetric(float64(n)/1024/per.Seconds(), "modelled-KiB/s")
	}
}

// BenchmarkFlashWriteFamilies programs 16 KiB (erase, program, verify) on
// one open board of each family at 4 MHz SWD, FLASH_SR read after every
// program unit (as OpenOCD without its loader) or after every 1 KiB
// (relying on the bus stall), and reports KiB/s on the modelled clock (USB round trips and SWD wire time; the family model
// completes an erase or a program within the write that starts it, so the
// chip's own times are not in it), beside the SWD floor of each board: the
// same bytes written to SRAM.
func BenchmarkFlashWriteFamilies(b *testing.B) {
	data, im := benchImage(b, 16<<10)
	for _, board := range []string{"f103-open", "f411-open", "g071-open", "g474-open", "l476-open", "h743-open"} {
		for _, per := range []struct {
			name  string
			burst int
		}{{"poll-every-unit", 0}, {"poll-every-1KiB", 1024}} {
			b.Run(board+"/"+per.name, func(b *testing.B) {
				bn, tok := benchOn(b, board)
				ctx := context.Background()
				req := FlashRequest{Name: "bench.bin", Image: im, Verify: true, StateDir: b.TempDir(), BurstBytes: per.burst}
				p, err := bn.PlanFlash(ctx, tok, req)
				if err != nil {
					b.Fatal(err)
				}
				req.Confirm = p.Phrase
				bn.Simulated().ResetStats()
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					if _, err := bn.Flash(ctx, tok, req); err != nil {
						b.Fatal(err)
					}
				}
				reportKiBs(b, bn, len(data))
			})
		}
		b.Run(board+"/swd-floor-sram-write", func(b *testing.B) { benchSRAMFloor(b, board, data) })
	}
}
