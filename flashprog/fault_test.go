package flashprog

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/flashimage"
	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// TestFaultAtEachPhase cuts the link at one access of each phase of a write
// over four sectors that hold old data, and checks that the journal left
// behind says exactly what each sector holds — and that the chip agrees.
func TestFaultAtEachPhase(t *testing.T) {
	const (
		regs = targets.H5FlashRegs
		base = targets.FlashMemBase
	)
	isSTRT := func(k int) func(bool, uint32, uint32) bool {
		return func(w bool, a, v uint32) bool {
			return w && a == regs+targets.FlashNSCR && v&targets.NSCRStart != 0 && int(v>>targets.NSCRSNBShift&targets.NSCRSNBMask) == k
		}
	}
	// afterSTRT fails the first NSSR read after sector k's erase started:
	// the erase ran, the host never saw it end.
	afterSTRT := func(k int) func(bool, uint32, uint32) bool {
		started := false
		return func(w bool, a, v uint32) bool {
			if isSTRT(k)(w, a, v) {
				started = true
				return false
			}
			return started && !w && a == regs+targets.FlashNSSR
		}
	}
	// flashWrite fails the n-th write into sector k.
	flashWrite := func(k, n int) func(bool, uint32, uint32) bool {
		seen := 0
		return func(w bool, a, v uint32) bool {
			if w && a >= base+uint32(k)*0x2000 && a < base+uint32(k+1)*0x2000 {
				seen++
				return seen == n
			}
			return false
		}
	}
	afterLock := func() func(bool, uint32, uint32) bool {
		locked := false
		return func(w bool, a, v uint32) bool {
			if w && a == regs+targets.FlashNSCR && v == targets.NSCRLock {
				locked = true
				return false
			}
			return locked && !w && a >= base && a < base+0x10000
		}
	}
	const (
		old = SectorOld
		ers = SectorErasing
		erd = SectorErased
		prg = SectorProgramming
		pgd = SectorProgrammed
	)
	tests := []struct {
		name  string
		fail  func(bool, uint32, uint32) bool
		phase string
		holds [4]string
	}{
		{name: "unlock", fail: func(w bool, a, _ uint32) bool { return w && a == regs+targets.FlashNSKEYR }, phase: "unlock", holds: [4]string{old, old, old, old}},
		{name: "erase of sector 0, STRT lost", fail: isSTRT(0), phase: "erase", holds: [4]string{ers, old, old, old}},
		{name: "erase of sector 2, STRT lost", fail: isSTRT(2), phase: "erase", holds: [4]string{erd, erd, ers, old}},
		{name: "erase of sector 1 ran, end not seen", fail: afterSTRT(1), phase: "erase", holds: [4]string{erd, ers, old, old}},
		{name: "program of sector 0, first write", fail: flashWrite(0, 1), phase: "program", holds: [4]string{prg, erd, erd, erd}},
		{name: "program of sector 2, midway", fail: flashWrite(2, 300), phase: "program", holds: [4]string{pgd, pgd, prg, erd}},
		{name: "program of sector 3, last write", fail: flashWrite(3, 4), phase: "program", holds: [4]string{pgd, pgd, pgd, prg}},
		{name: "lock", fail: func(w bool, a, v uint32) bool { return w && a == regs+targets.FlashNSCR && v == targets.NSCRLock }, phase: "lock", holds: [4]string{pgd, pgd, pgd, pgd}},
		{name: "verify", fail: afterLock(), phase: "verify", holds: [4]string{pgd, pgd, pgd, pgd}},
	}
	oldData := pattern(4*0x2000, 0x40)
	image := pattern(3*0x2000+16, 0x11)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bd := newBoard(t, stm32h5.Config{Line: stm32h5.LineH503})
			if err := bd.m.LoadFlash(base, oldData); err != nil {
				t.Fatal(err)
			}
			im, _ := flashimage.ParseBIN(image, base)
			bd.t.failWhen = tc.fail
			_, _, err := bd.write(im, Options{Verify: true})
			var we *WriteError
			if !errors.As(err, &we) || !errors.Is(err, errUnplugged) {
				t.Fatalf("err = %v, want a *WriteError from the unplugged link", err)
			}
			if we.Phase != tc.phase {
				t.Errorf("phase %q, want %q", we.Phase, tc.phase)
			}
			j, err := ReadJournal(bd.dir, "UID1")
			if err != nil || j == nil {
				t.Fatalf("journal: %v, %v", j, err)
			}
			if j.Phase != tc.phase || j.Error == "" || j.ImageSHA256 == "" {
				t.Errorf("journal phase %q error %q sha %q", j.Phase, j.Error, j.ImageSHA256)
			}
			for i, want := range tc.holds {
				if got := j.Sectors[i].Holds; got != want {
					t.Errorf("sector %d: journal says %q, want %q", i, got, want)
				}
				// What the chip holds must be one of the things the
				// journal allows.
				got := bd.m.FlashBytes(base+uint32(i)*0x2000, 0x2000)
				if !chipAgrees(want, got, oldData[i*0x2000:(i+1)*0x2000], im.Bytes(base+uint32(i)*0x2000, 0x2000, 0xFF)) {
					t.Errorf("sector %d: the chip does not hold what the journal says (%q)", i, want)
				}
			}
			if s := j.String(); !bytes.Contains([]byte(s), []byte("0x08000000")) {
				t.Errorf("journal text: %s", s)
			}
			recs, err := statefile.ReadAudit(bd.dir)
			if err != nil || len(recs) != 1 {
				t.Fatalf("audit: %v, %v", recs, err)
			}
			if r := recs[0]; r.Result != "failed" || r.Journal == "" || !strings.HasPrefix(r.Outcome, "sectors: ") || !strings.Contains(strings.Join(r.Changes, " "), j.ImageSHA256) {
				t.Errorf("audit line %+v", r)
			}
		})
	}
}

// TestCancelMidProgram: a cancel (SIGINT in the CLI, a session gone)
// during the program of sector 1 stops the write at the next access; the
// journal and the audit line say cancelled and what each sector holds, and
// the controller is locked again (on a context of its own).
func TestCancelMidProgram(t *testing.T) {
	const base = targets.FlashMemBase
	bd := newBoard(t, stm32h5.Config{Line: stm32h5.LineH503})
	im, _ := flashimage.ParseBIN(pattern(3*0x2000, 0x21), base)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := 0
	bd.t.failWhen = func(w bool, a, _ uint32) bool {
		if w && a >= base+0x2000 && a < base+0x4000 {
			if seen++; seen == 100 {
				cancel()
			}
		}
		return false
	}
	_, _, err := bd.runCtx(ctx, func(ctx context.Context) (*Plan, error) {
		return PlanWrite(ctx, bd.c, bd.t, "UID1", "app", im)
	}, Options{}, "erase 3 sectors")
	var we *WriteError
	if !errors.As(err, &we) || !errors.Is(err, context.Canceled) || we.Phase != "program" || we.Sector != "bank 1 sector 1" {
		t.Fatalf("err = %v", err)
	}
	holds := []string{SectorProgrammed, SectorProgramming, SectorErased}
	for i, want := range holds {
		if got := we.Holds.Sectors[i].Holds; got != want {
			t.Errorf("sector %d: %q, want %q", i, got, want)
		}
	}
	recs, _ := statefile.ReadAudit(bd.dir)
	if len(recs) != 1 || recs[0].Result != "cancelled" {
		t.Errorf("audit %+v", recs)
	}
	if cr, _ := bd.m.AP(targets.H5CoreAP).Read(targets.H5FlashRegs+targets.FlashNSCR, chipsim.Word, 0); cr&targets.NSCRLock == 0 {
		t.Errorf("FLASH_NSCR 0x%08X: not locked again after the cancel", cr)
	}
}
