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
	"github.com/stprobe/stprobe/targets/flashreg"
	"github.com/stprobe/stprobe/targets/stm32rdp"
)

// withOld returns cfg with old data (0x5A) in 1 KiB at each offset.
func withOld(cfg stm32rdp.Config, offs ...uint32) stm32rdp.Config {
	img := bytes.Repeat([]byte{0xFF}, int(cfg.FlashKB)<<10)
	for _, off := range offs {
		copy(img[off:off+0x400], bytes.Repeat([]byte{0x5A}, 0x400))
	}
	cfg.Image = img
	return cfg
}

// TestFamilyRoundTrip writes BIN, HEX and ELF images on every open family
// board over flash that holds other data, verifies, and reads back.
func TestFamilyRoundTrip(t *testing.T) {
	for _, fb := range flashBoards() {
		size := uint32(fb.cfg.FlashKB) << 10
		inside, far := uint32(0x4000), size/4*3
		for _, format := range []string{"bin", "hex", "elf"} {
			t.Run(fb.name+"/"+format, func(t *testing.T) {
				bd := newRDPBoard(t, withOld(fb.cfg, inside, far))
				im := images(t, size/2)[format]
				p, res, err := bd.write(im, Options{Verify: true})
				if err != nil {
					t.Fatal(err)
				}
				if !res.Verified || res.Journal != "" {
					t.Errorf("result %+v", res)
				}
				if p.NotEmpty != 1 {
					t.Errorf("plan: %d sectors hold data, want 1 (the one at 0x%X)", p.NotEmpty, inside)
				}
				bd.checkImage(t, im)
				if got := bd.m.Flash(far, 0x400); !bytes.Equal(got, bytes.Repeat([]byte{0x5A}, 0x400)) {
					t.Errorf("the sector at 0x%X, outside the image, lost its data", far)
				}
				bd.checkWritten(t, p, im)
			})
		}
	}
}

// TestFamilyRDP1Refused: at read-out protection level 1 a write and an
// erase are refused at the plan, naming the way out, and nothing is
// erased.
func TestFamilyRDP1Refused(t *testing.T) {
	for _, fb := range flashBoards() {
		t.Run(fb.name, func(t *testing.T) {
			cfg := fb.cfg
			cfg.RDP = fb.rdp1
			cfg.Image = pattern(6<<10, 3)
			bd := newRDPBoard(t, cfg)
			im, _ := flashimage.ParseBIN(pattern(4<<10, 7), targets.FlashMemBase)
			_, _, err := bd.write(im, Options{Verify: true})
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "ob apply RDP=0xAA") || !strings.Contains(err.Error(), "level 1") {
				t.Errorf("write: %v; want a refusal naming RDP level 1 and `ob apply RDP=0xAA`", err)
			}
			_, _, err = bd.run(func(ctx context.Context) (*Plan, error) {
				return PlanErase(ctx, bd.c, bd.t, "UID1", EraseRequest{All: true})
			}, Options{}, "erase 1 sector")
			if !errors.Is(err, ErrRefused) {
				t.Errorf("erase --all: %v; want refused", err)
			}
			if n := bd.m.MassErases(); n != 0 {
				t.Errorf("%d mass erases", n)
			}
			if n := bd.m.RefusedFlashReads(); n != 0 {
				t.Errorf("%d flash reads tried at level 1; the plan should refuse before reading", n)
			}
			checkUntouched(t, bd, cfg.Image)
		})
	}
}

// protectFirst write-protects the flash's first erase unit through the
// option registers, as `ob apply` would (the sequences of
// targets/stm32rdp's controllers).
func protectFirst(t *testing.T, fb familyBoard, m *stm32rdp.Model) {
	t.Helper()
	ap := m.AP(0)
	w := func(addr, v uint32, size chipsim.Size) {
		t.Helper()
		if err := ap.Write(addr, size, v, cswDefault); err != nil {
			t.Fatal(err)
		}
	}
	r := func(addr uint32) uint32 {
		v, err := ap.Read(addr, chipsim.Word, cswDefault)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	regs := fb.regs
	w(regs+fb.keyrOff, targets.FlashKey1, chipsim.Word)
	w(regs+fb.keyrOff, targets.FlashKey2, chipsim.Word)
	switch fb.cfg.Family.Name {
	case "STM32F1":
		// PM0075 §2.4: OPTKEYR keys, option erase, then WRP0 = 0xFE.
		w(regs+0x08, targets.FlashKey1, chipsim.Word)
		w(regs+0x08, targets.FlashKey2, chipsim.Word)
		const optwre, opter, optpg = 1 << 9, 1 << 5, 1 << 4
		w(regs+flashreg.F1CR, optwre|opter, chipsim.Word)
		w(regs+flashreg.F1CR, optwre|opter|flashreg.F1CRSTRT, chipsim.Word)
		w(regs+flashreg.F1CR, optwre|optpg, chipsim.Word)
		w(stm32rdp.F1OptionBytes, targets.F1RDPKey, chipsim.Halfword)
		w(stm32rdp.F1OptionBytes+8, 0xFE, chipsim.Halfword)
		w(regs+flashreg.F1CR, flashreg.F1CRLock, chipsim.Word)
		m.SetNRST(true) // the option bytes load at reset
		m.SetNRST(false)
	case "STM32F4":
		w(regs+0x08, targets.OptKey1, chipsim.Word)
		w(regs+0x08, targets.OptKey2, chipsim.Word)
		w(regs+flashreg.F4OPTCR, r(regs+flashreg.F4OPTCR)&^(1<<16|1), chipsim.Word)
	default:
		w(regs+0x0C, targets.OptKey1, chipsim.Word)
		w(regs+0x0C, targets.OptKey2, chipsim.Word)
		w(regs+flashreg.L4WRP1AR, 0x00000000, chipsim.Word) // pages 0-0
	}
}

// TestFamilyWRPRefused: an image over a write-protected page or sector is
// refused at the plan with nothing erased; the controller's own WRPERR is
// read, reported and cleared when the plan is bypassed.
func TestFamilyWRPRefused(t *testing.T) {
	for _, fb := range familyBoards() {
		t.Run(fb.name, func(t *testing.T) {
			cfg := withOld(fb.cfg, 0)
			bd := newRDPBoard(t, cfg)
			protectFirst(t, fb, bd.m)
			im, _ := flashimage.ParseBIN(pattern(3<<10, 7), targets.FlashMemBase)
			_, _, err := bd.write(im, Options{Verify: true})
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "write-protected") {
				t.Fatalf("write: %v; want refused as write-protected", err)
			}
			checkUntouched(t, bd, cfg.Image)
			ctx := context.Background()
			l, err := bd.c.Layout(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// One F1 WRP bit protects 4 KiB: four 1 KiB pages.
			free := 1
			if fb.cfg.Family.Name == "STM32F1" {
				free = 4
			}
			for i, s := range l.Sectors[:free+1] {
				if got := s.Protected != ""; got != (i < free) {
					t.Errorf("%s: protected %v (%q), want %v", s.Name, got, s.Protected, i < free)
				}
			}
			if err := bd.c.Unlock(ctx); err != nil {
				t.Fatal(err)
			}
			err = bd.c.Erase(ctx, l.Sectors[0])
			var fe *FlagError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), "WRP") {
				t.Errorf("erase of a protected %s bypassing the plan: %v; want the controller's WRP error flag", l.Sectors[0].Name, err)
			}
			if err := bd.c.Erase(ctx, l.Sectors[free]); err != nil {
				t.Errorf("erase of %s after the flag: %v (the flag was not cleared?)", l.Sectors[free].Name, err)
			}
			if err := bd.c.Lock(ctx); err != nil {
				t.Fatal(err)
			}
			if got := bd.m.Flash(0, 0x400); !bytes.Equal(got, cfg.Image[:0x400]) {
				t.Error("the protected unit changed")
			}
		})
	}
}

// TestFamilyMassErase: `flash erase --all` runs one mass erase (MER) and
// the journal is gone after it.
func TestFamilyMassErase(t *testing.T) {
	for _, fb := range familyBoards() {
		t.Run(fb.name, func(t *testing.T) {
			size := uint32(fb.cfg.FlashKB) << 10
			bd := newRDPBoard(t, withOld(fb.cfg, 0, size-0x400))
			plan := func(ctx context.Context) (*Plan, error) {
				return PlanErase(ctx, bd.c, bd.t, "UID1", EraseRequest{All: true})
			}
			p, res, err := bd.run(plan, Options{}, "")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.Join(p.Notes, " "), "one mass erase") {
				t.Errorf("plan notes %q do not say it is a mass erase", p.Notes)
			}
			if n := bd.m.MassErases(); n != 1 || res.Erased != len(p.Erase) {
				t.Errorf("%d mass erases, %d of %d sectors erased; want 1 and all", n, res.Erased, len(p.Erase))
			}
			if got := bd.m.Flash(0, size); !bytes.Equal(got, bytes.Repeat([]byte{0xFF}, int(size))) {
				t.Error("the flash is not erased")
			}
			if j, err := ReadJournal(bd.dir, "UID1"); j != nil || err != nil {
				t.Errorf("journal left: %v %v", j, err)
			}
		})
	}
}

// TestFamilyFaultAtEachPhase cuts the link at one access of each phase of
// a write over four erase units that hold old data, on every family, and
// checks that the journal says exactly what each unit holds — and that the
// chip agrees.
func TestFamilyFaultAtEachPhase(t *testing.T) {
	const base = targets.FlashMemBase
	const (
		old = SectorOld
		ers = SectorErasing
		erd = SectorErased
		prg = SectorProgramming
		pgd = SectorProgrammed
	)
	for _, fb := range flashBoards() {
		u := fb.sector
		isCR := func(w bool, a uint32) bool { return w && a == fb.regs+fb.crOff }
		// strt fails the k-th (from 0) write that sets STRT.
		strt := func(k int) func(bool, uint32, uint32) bool {
			n := 0
			return func(w bool, a, v uint32) bool {
				if isCR(w, a) && v&fb.strt != 0 {
					n++
					return n == k+1
				}
				return false
			}
		}
		// afterSTRT fails the first read after the k-th erase started: the
		// erase ran, the host never saw it end.
		afterSTRT := func(k int) func(bool, uint32, uint32) bool {
			n, started := 0, false
			return func(w bool, a, v uint32) bool {
				if isCR(w, a) && v&fb.strt != 0 {
					n++
					started = n == k+1
					return false
				}
				return started && !w
			}
		}
		flashWrite := func(k, n int) func(bool, uint32, uint32) bool {
			seen := 0
			return func(w bool, a, _ uint32) bool {
				if w && a >= base+uint32(k)*u && a < base+uint32(k+1)*u {
					seen++
					return seen == n
				}
				return false
			}
		}
		afterLock := func() func(bool, uint32, uint32) bool {
			locked := false
			return func(w bool, a, v uint32) bool {
				if isCR(w, a) && v == fb.lock {
					locked = true
					return false
				}
				return locked && !w && a >= base && a < base+4*u
			}
		}
		tests := []struct {
			name  string
			fail  func(bool, uint32, uint32) bool
			phase string
			holds [4]string
		}{
			{"unlock", func(w bool, a, _ uint32) bool { return w && a == fb.regs+fb.keyrOff }, "unlock", [4]string{old, old, old, old}},
			{"erase of unit 0, STRT lost", strt(0), "erase", [4]string{ers, old, old, old}},
			{"erase of unit 2, STRT lost", strt(2), "erase", [4]string{erd, erd, ers, old}},
			{"erase of unit 1 ran, end not seen", afterSTRT(1), "erase", [4]string{erd, ers, old, old}},
			{"program of unit 0, first write", flashWrite(0, 1), "program", [4]string{prg, erd, erd, erd}},
			{"program of unit 2, midway", flashWrite(2, 300), "program", [4]string{pgd, pgd, prg, erd}},
			{"program of unit 3, last write", flashWrite(3, 4), "program", [4]string{pgd, pgd, pgd, prg}},
			{"lock", func(w bool, a, v uint32) bool { return isCR(w, a) && v == fb.lock }, "lock", [4]string{pgd, pgd, pgd, pgd}},
			{"verify", afterLock(), "verify", [4]string{pgd, pgd, pgd, pgd}},
		}
		oldData := pattern(int(4*u), 0x40)
		image := pattern(int(3*u+16), 0x11)
		for _, tc := range tests {
			t.Run(fb.name+"/"+tc.name, func(t *testing.T) {
				cfg := fb.cfg
				cfg.Image = oldData
				bd := newRDPBoard(t, cfg)
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
				if len(j.Sectors) != 4 {
					t.Fatalf("journal names %d units, want 4", len(j.Sectors))
				}
				for i, want := range tc.holds {
					if got := j.Sectors[i].Holds; got != want {
						t.Errorf("unit %d: journal says %q, want %q", i, got, want)
					}
					got := bd.m.Flash(uint32(i)*u, u)
					if !chipAgrees(want, got, oldData[uint32(i)*u:uint32(i+1)*u], im.Bytes(base+uint32(i)*u, int(u), 0xFF)) {
						t.Errorf("unit %d: the chip does not hold what the journal says (%q)", i, want)
					}
				}
				recs, err := statefile.ReadAudit(bd.dir)
				if err != nil || len(recs) != 1 || recs[0].Result != "failed" || !strings.HasPrefix(recs[0].Outcome, "sectors: ") {
					t.Errorf("audit %+v, %v", recs, err)
				}
			})
		}
	}
}

// TestFamilyBurst: with BytesPerPoll the controllers write 1 KiB per
// memory write and read FLASH_SR once after it; the flash ends the same.
func TestFamilyBurst(t *testing.T) {
	for _, fb := range familyBoards() {
		t.Run(fb.name, func(t *testing.T) {
			bd := newRDPBoard(t, withOld(fb.cfg, 0x4000))
			c, err := ControllerFor(bd.chip, bd.t, ControllerOptions{BytesPerPoll: 1024})
			if err != nil {
				t.Fatal(err)
			}
			bd.c = c
			im := images(t, uint32(fb.cfg.FlashKB)<<9)["hex"]
			if _, res, err := bd.write(im, Options{Verify: true}); err != nil || !res.Verified {
				t.Fatalf("write: %v, %+v", err, res)
			}
			bd.checkImage(t, im)
		})
	}
}

// TestFamilyVerifyRDP1: a verify at read-out protection level 1 says why
// the flash cannot be read, rather than a bus fault.
func TestFamilyVerifyRDP1(t *testing.T) {
	fb := familyBoards()[3]
	cfg := fb.cfg
	cfg.RDP = fb.rdp1
	bd := newRDPBoard(t, cfg)
	im, _ := flashimage.ParseBIN(pattern(64, 1), targets.FlashMemBase)
	_, err := Verify(context.Background(), bd.c, bd.t, im, nil)
	if err == nil || !strings.Contains(err.Error(), "level 1") || bd.m.RefusedFlashReads() != 0 {
		t.Errorf("verify at RDP 1: %v, %d flash reads refused; want the reason and no read", err, bd.m.RefusedFlashReads())
	}
}

// TestFamilyGeometry: erase units of lines the boards above do not cover,
// from the manuals' tables.
func TestFamilyGeometry(t *testing.T) {
	if got := f4Sizes(512); len(got) != 8 || got[0] != 16<<10 || got[4] != 64<<10 || got[7] != 128<<10 {
		t.Errorf("F4 512 KiB: %v", got)
	}
	if got := f4Sizes(128); len(got) != 5 {
		t.Errorf("F410 128 KiB: %d sectors, want 5", len(got))
	}
	if got := f4Sizes(1536); len(got) != 16 {
		t.Errorf("F413 1.5 MiB: %d sectors, want 16", len(got))
	}
	if !f4Dual(targets.DevIDF42x, 2048) || f4Dual(targets.DevIDF42x, 1024) || f4Dual(targets.DevIDF40x, 1024) {
		t.Error("F4 dual bank: only the 2 MiB F42x/F469")
	}
	if flashreg.F1PageSize(targets.DevIDF1MD) != 1<<10 || flashreg.F1PageSize(targets.DevIDF1HD) != 2<<10 || flashreg.F1PageSize(targets.DevIDF1CL) != 2<<10 {
		t.Error("F1 page sizes")
	}
	for _, tc := range []struct {
		devID   uint16
		kb, max int
		optr    uint32
		page    uint32
		dual    bool
	}{
		{targets.DevIDL47x, 1024, 1024, 0, 2 << 10, true},
		{targets.DevIDL47x, 512, 1024, 0, 2 << 10, false},
		{targets.DevIDL47x, 512, 1024, flashreg.L4OPTRDualBank, 2 << 10, true},
		{targets.DevIDG47x, 512, 512, 0, 4 << 10, false},
		{targets.DevIDG47x, 512, 512, flashreg.L4OPTRDBank, 2 << 10, true},
		{targets.DevIDL4Rx, 2048, 2048, 0, 8 << 10, false},
		{targets.DevIDL4Rx, 2048, 2048, flashreg.L4OPTRDBank, 4 << 10, true},
		{targets.DevIDL4Rx, 1024, 2048, flashreg.L4OPTRDBank, 8 << 10, false},   // below the largest size DB1M decides
		{targets.DevIDL4Rx, 1024, 2048, flashreg.L4OPTRDualBank, 4 << 10, true}, // DB1M
		{targets.DevIDG0Bx, 512, 512, flashreg.L4OPTRDualBank, 2 << 10, true},
		{targets.DevIDG07x, 128, 128, 0, 2 << 10, false},
	} {
		page, dual := flashreg.L4Geometry(tc.devID, tc.kb, tc.max, tc.optr)
		if page != tc.page || dual != tc.dual {
			t.Errorf("DEV_ID 0x%03X %d KiB OPTR 0x%08X: %d-byte pages, dual %v; want %d, %v", tc.devID, tc.kb, tc.optr, page, dual, tc.page, tc.dual)
		}
	}
}

// TestFamilyF4DualBank writes across both banks of a 2 MiB STM32F429: the
// second bank's sectors are erased with SNB bit 4.
func TestFamilyF4DualBank(t *testing.T) {
	cfg := stm32rdp.Config{Family: targets.STM32F4(), DevID: targets.DevIDF42x, RevID: 0x1000, FlashKB: 2048, RDP: targets.RDPByteLevel0, NRSTWired: true}
	bd := newRDPBoard(t, withOld(cfg, 1<<20))
	im := images(t, 1<<20)["hex"]
	p, res, err := bd.write(im, Options{Verify: true})
	if err != nil || !res.Verified {
		t.Fatalf("write: %v, %+v", err, res)
	}
	if last := p.Erase[len(p.Erase)-1]; last.Name != "sector 12" || last.Addr != targets.FlashMemBase+1<<20 {
		t.Errorf("last sector erased: %s at 0x%08X, want sector 12 at 0x08100000", last.Name, last.Addr)
	}
	bd.checkImage(t, im)
}

// TestFamilyMassEraseInterrupted: a link cut after the mass erase started
// leaves a journal saying every page may be erased or old.
func TestFamilyMassEraseInterrupted(t *testing.T) {
	for _, fb := range familyBoards()[:3] {
		t.Run(fb.name, func(t *testing.T) {
			size := uint32(fb.cfg.FlashKB) << 10
			cfg := withOld(fb.cfg, 0)
			bd := newRDPBoard(t, cfg)
			started := false
			bd.t.failWhen = func(w bool, a, v uint32) bool {
				if w && a == fb.regs+fb.crOff && v&fb.strt != 0 {
					started = true
					return false
				}
				return started
			}
			_, _, err := bd.run(func(ctx context.Context) (*Plan, error) {
				return PlanErase(ctx, bd.c, bd.t, "UID1", EraseRequest{All: true})
			}, Options{}, "")
			var we *WriteError
			if !errors.As(err, &we) || we.Phase != "erase" {
				t.Fatalf("err = %v, want a WriteError in the erase", err)
			}
			j, err := ReadJournal(bd.dir, "UID1")
			if err != nil || j == nil {
				t.Fatalf("journal: %v %v", j, err)
			}
			for _, s := range j.Sectors {
				if s.Holds != SectorErasing {
					t.Fatalf("%s: journal says %q, want %q", s.Name, s.Holds, SectorErasing)
				}
			}
			if got := bd.m.Flash(0, size); !bytes.Equal(got, bytes.Repeat([]byte{0xFF}, int(size))) && !bytes.Equal(got, cfg.Image) {
				t.Error("the flash is neither erased nor as it was")
			}
		})
	}
}

// TestFamilyF4Voltage: the F4 programs half-words (PSIZE x16) on a supply
// between 2.1 V and 2.7 V, and refuses below 2.1 V at the plan.
func TestFamilyF4Voltage(t *testing.T) {
	fb := familyBoards()[1]
	bd := newRDPBoard(t, fb.cfg)
	c, err := ControllerFor(bd.chip, bd.t, ControllerOptions{TargetMillivolts: 2400})
	if err != nil {
		t.Fatal(err)
	}
	bd.c = c
	im := images(t, 256<<10)["hex"]
	p, res, err := bd.write(im, Options{Verify: true})
	if err != nil || !res.Verified || p.Layout.ProgramUnit != 2 {
		t.Fatalf("write at 2.4 V: %v, %+v", err, res)
	}
	low, _ := ControllerFor(bd.chip, bd.t, ControllerOptions{TargetMillivolts: 1800})
	if _, err := PlanWrite(context.Background(), low, bd.t, "UID1", "app", im); err == nil || !strings.Contains(err.Error(), "2.1 V") {
		t.Errorf("plan at 1.8 V: %v; want refused, naming 2.1 V", err)
	}
}

// TestFamilyG4TrimmedDualBank: a G47x smaller than 512 KiB in dual-bank
// mode has a gap between its banks; stprobe refuses it at the layout.
func TestFamilyG4TrimmedDualBank(t *testing.T) {
	cfg := stm32rdp.Config{Family: targets.STM32G4(), DevID: targets.DevIDG47x, RevID: 0x2000, FlashKB: 256, RDP: targets.RDPByteLevel0, NRSTWired: true}
	bd := newRDPBoard(t, cfg)
	if _, err := bd.c.Layout(context.Background()); err == nil || !strings.Contains(err.Error(), "gap") {
		t.Errorf("layout of a 256 KiB dual-bank G47x: %v; want refused for the gap between banks", err)
	}
}
