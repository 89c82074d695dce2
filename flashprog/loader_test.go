package flashprog

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/adi"
	"github.com/stprobe/stprobe/flashimage"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// haltedBoard is a board whose core the host halted, so that Program runs
// the flash loader.
func haltedBoard(t *testing.T, cfg stm32h5.Config) *board[*stm32h5.Model] {
	t.Helper()
	bd := newBoard(t, cfg)
	halted, err := HaltCore(context.Background(), bd.t)
	if err != nil || !halted {
		t.Fatalf("HaltCore: %v, %v", halted, err)
	}
	return bd
}

// TestLoaderRoundTrip writes BIN, HEX and ELF images through the flash
// loader on every simulated STM32H5 line (with TrustZone on the H563: its
// secure sectors, if any, go register by register) and reads them back.
func TestLoaderRoundTrip(t *testing.T) {
	lines := []struct {
		name string
		line uint16
		tz   targets.TZEN
	}{{"H503", stm32h5.LineH503, 0}, {"H533", stm32h5.LineH533, 0}, {"H563", stm32h5.LineH563, 0}, {"H563 TrustZone", stm32h5.LineH563, targets.TZENEnabled}}
	for _, ln := range lines {
		for _, format := range []string{"bin", "hex", "elf"} {
			t.Run(ln.name+"/"+format, func(t *testing.T) {
				bd := haltedBoard(t, stm32h5.Config{Line: ln.line, TZEN: ln.tz})
				im := images(t, uint32(bd.chip.Line.MaxFlashKB)<<9)[format]
				_, res, err := bd.write(im, Options{Verify: true})
				if err != nil {
					t.Fatal(err)
				}
				if !res.Verified {
					t.Errorf("result %+v", res)
				}
				bd.checkImage(t, im)
				if n := bd.c.(*H5).LoaderSectors(); n == 0 {
					t.Error("no sector went through the flash loader")
				}
				if st := bd.m.Core().Status(); st.Cycles == 0 || st.Instructions == 0 || st.LockupReason != "" {
					t.Errorf("the core ran %d cycles, %d instructions, lockup %q", st.Cycles, st.Instructions, st.LockupReason)
				}
				if !bd.m.Core().Halted() {
					t.Error("the core is not halted after the loader")
				}
			})
		}
	}
}

// TestLoaderNotHalted: a core that runs (not halted) is programmed register
// by register; so with RegisterByRegister.
func TestLoaderNotHalted(t *testing.T) {
	im, _ := flashimage.ParseBIN(pattern(0x2000, 5), targets.FlashMemBase)
	bd := newBoard(t, stm32h5.Config{Line: stm32h5.LineH503})
	if _, _, err := bd.write(im, Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	if n := bd.c.(*H5).LoaderSectors(); n != 0 {
		t.Errorf("%d sectors through the loader with the core running", n)
	}
	bd = haltedBoard(t, stm32h5.Config{Line: stm32h5.LineH503})
	bd.c = NewH5(bd.chip, bd.t, ControllerOptions{RegisterByRegister: true})
	if _, _, err := bd.write(im, Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	if n := bd.c.(*H5).LoaderSectors(); n != 0 {
		t.Errorf("%d sectors through the loader with RegisterByRegister", n)
	}
	if c := bd.m.Core().Status().Cycles; c != 0 {
		t.Errorf("the core ran %d cycles", c)
	}
}

// TestLoaderFlagErrors: the loader stops at the quad-word the controller
// refused and reports its NSSR flags in r0; the host names them, says the
// loader was programming, and clears them.
func TestLoaderFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  stm32h5.Config
		old  []byte // loaded at the flash base first: not erased
		flag string
	}{
		{name: "WRPERR", cfg: stm32h5.Config{Line: stm32h5.LineH503, Captured: map[string][2]uint32{"WRP1R": {0xFE, 0xFE}}}, flag: "WRPERR"},
		{name: "PGSERR", cfg: stm32h5.Config{Line: stm32h5.LineH503}, old: pattern(64, 1), flag: "PGSERR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bd := haltedBoard(t, tc.cfg)
			if tc.old != nil {
				if err := bd.m.LoadFlash(targets.FlashMemBase+0x20, tc.old); err != nil {
					t.Fatal(err)
				}
			}
			ctx := context.Background()
			if _, err := bd.c.Layout(ctx); err != nil {
				t.Fatal(err)
			}
			if err := bd.c.Unlock(ctx); err != nil {
				t.Fatal(err)
			}
			// Programming bypasses the plan (which refuses both cases).
			err := bd.c.Program(ctx, targets.FlashMemBase, pattern(0x100, 7), nil)
			var fe *FlagError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.flag) || !strings.Contains(fe.Op, "flash loader") {
				t.Fatalf("err = %v, want the loader's %s", err, tc.flag)
			}
			wantAt := "0x08000000"
			if tc.old != nil {
				wantAt = "0x08000020" // the first quad-word not erased
			}
			if !strings.Contains(fe.Op, wantAt) {
				t.Errorf("op %q, want the quad-word at %s", fe.Op, wantAt)
			}
			sr, _ := bd.m.AP(targets.H5CoreAP).Read(targets.H5FlashRegs+targets.FlashNSSR, chipsim.Word, 0)
			if sr&targets.NSSRErrors != 0 {
				t.Errorf("FLASH_NSSR 0x%08X: flags not cleared", sr)
			}
			if bd.c.(*H5).LoaderSectors() != 1 {
				t.Error("the loader did not run")
			}
		})
	}
}

// TestLoaderFaultMidRun cuts the link while the loader programs sector 1:
// the journal says sector 0 programmed, 1 programming, 2 erased.
func TestLoaderFaultMidRun(t *testing.T) {
	const base = targets.FlashMemBase
	bd := haltedBoard(t, stm32h5.Config{Line: stm32h5.LineH503})
	im, _ := flashimage.ParseBIN(pattern(3*0x2000, 0x33), base)
	resumes, polls := 0, 0
	bd.t.failWhen = func(w bool, a, v uint32) bool {
		if w && a == adi.RegDHCSR && v&adi.DHCSRCHalt == 0 && v&adi.DHCSRCDebugEn != 0 {
			resumes++ // sector 0 takes two runs (6 KiB + 2 KiB)
		}
		if !w && a == adi.RegDHCSR && resumes == 3 {
			polls++
			return polls == 20
		}
		return false
	}
	_, _, err := bd.write(im, Options{Verify: true})
	var we *WriteError
	if !errors.As(err, &we) || !errors.Is(err, errUnplugged) || we.Phase != "program" || we.Sector != "bank 1 sector 1" {
		t.Fatalf("err = %v", err)
	}
	j, err := ReadJournal(bd.dir, "UID1")
	if err != nil || j == nil {
		t.Fatal(j, err)
	}
	for i, want := range []string{SectorProgrammed, SectorProgramming, SectorErased} {
		if got := j.Sectors[i].Holds; got != want {
			t.Errorf("sector %d: journal %q, want %q", i, got, want)
		}
	}
	if !bytes.Equal(bd.m.FlashBytes(base, 0x2000), pattern(0x2000, 0x33)) {
		t.Error("sector 0 does not hold the image")
	}
}

// TestLoaderBytesMatchSource: the loader's bytes frame as its assembly
// source says (ADR r7 to params first, BKPT #0 just before params, six
// zero words of params): a guard against the byte slice, h5LoaderParams
// and flashprog/loader/stm32h5.asm drifting apart.
func TestLoaderBytesMatchSource(t *testing.T) {
	hw := func(off int) uint16 { return uint16(h5Loader[off]) | uint16(h5Loader[off+1])<<8 }
	if len(h5Loader) != h5LoaderParams+24 || h5LoaderParams%4 != 0 {
		t.Fatalf("loader is %d bytes with params at 0x%X: want params (24 bytes, word aligned) last", len(h5Loader), h5LoaderParams)
	}
	// ADR r7 (T1 0xA7xx): Align(PC+4, 4) + imm8*4 is params.
	if first := hw(0); first>>8 != 0xA7 || 4+int(first&0xFF)*4 != h5LoaderParams {
		t.Errorf("first instruction 0x%04X is not ADR r7, params", first)
	}
	if bkpt := hw(h5LoaderParams - 2); bkpt != 0xBE00 {
		t.Errorf("instruction before params 0x%04X is not BKPT #0", bkpt)
	}
	if !bytes.Equal(h5Loader[h5LoaderParams:], make([]byte, 24)) {
		t.Error("params are not zero words")
	}
}
