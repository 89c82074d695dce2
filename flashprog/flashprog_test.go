package flashprog

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/flashimage"
	"github.com/stprobe/stprobe/flashimage/flashimagetest"
	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7) + byte(i>>8)
	}
	return b
}

// images returns the same two segments as BIN (one segment only), HEX and
// ELF files: 20 KiB from the flash base and 100 bytes at the start of
// bank 2 (bankOff), an unaligned tail included.
func images(t *testing.T, bankOff uint32) map[string]*flashimage.Image {
	t.Helper()
	a := pattern(20<<10+3, 1)
	b := pattern(100, 9)
	segs := []flashimage.Segment{{Addr: targets.FlashMemBase, Data: a}, {Addr: targets.FlashMemBase + bankOff, Data: b}}
	out := map[string]*flashimage.Image{}
	var err error
	if out["bin"], err = flashimage.ParseBIN(a, targets.FlashMemBase); err != nil {
		t.Fatal(err)
	}
	if out["hex"], err = flashimage.ParseHEX(flashimage.EncodeHEX(segs, targets.FlashMemBase+0x101, true)); err != nil {
		t.Fatal(err)
	}
	elfFile := flashimagetest.BuildELF(targets.FlashMemBase+0x101,
		flashimagetest.Prog{VAddr: targets.FlashMemBase, PAddr: targets.FlashMemBase, Data: a},
		flashimagetest.Prog{VAddr: targets.SRAMBase, PAddr: targets.FlashMemBase + bankOff, Data: b},
		flashimagetest.Prog{VAddr: targets.SRAMBase + 0x100, PAddr: targets.SRAMBase + 0x100, MemSize: 512})
	if out["elf"], err = flashimage.ParseELF(elfFile); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRoundTrip writes BIN, HEX and ELF images on every simulated H5 line
// over a board whose flash holds other data, verifies, and reads back.
func TestRoundTrip(t *testing.T) {
	lines := []struct {
		name string
		line uint16
		tz   targets.TZEN
	}{{"H503", stm32h5.LineH503, 0}, {"H533", stm32h5.LineH533, 0}, {"H563 TrustZone", stm32h5.LineH563, targets.TZENEnabled}}
	for _, ln := range lines {
		for _, format := range []string{"bin", "hex", "elf"} {
			t.Run(ln.name+"/"+format, func(t *testing.T) {
				bd := newBoard(t, stm32h5.Config{Line: ln.line, TZEN: ln.tz})
				bank := uint32(bd.chip.Line.MaxFlashKB) << 9
				if err := bd.m.LoadFlash(targets.FlashMemBase+0x4000, bytes.Repeat([]byte{0x5A}, 0x3000)); err != nil {
					t.Fatal(err)
				}
				im := images(t, bank)[format]
				p, res, err := bd.write(im, Options{Verify: true})
				if err != nil {
					t.Fatal(err)
				}
				if !res.Verified || res.Journal != "" {
					t.Errorf("result %+v", res)
				}
				if p.NotEmpty != 1 || !strings.Contains(strings.Join(p.Notes, " "), "--save-flash") {
					t.Errorf("plan: %d sectors not empty, notes %q; want 1 (sector 2) and the --save-flash offer", p.NotEmpty, p.Notes)
				}
				bd.checkImage(t, im)
				// The rest of the sectors it erased reads erased; the
				// sector after them kept nothing of the old data.
				end := im.Segments[0].End()
				tail := bd.m.FlashBytes(uint32(end), int(targets.FlashMemBase+0x6000-end))
				if !bytes.Equal(tail, bytes.Repeat([]byte{0xFF}, len(tail))) {
					t.Error("the erased sector's tail is not erased")
				}
				if got := bd.m.FlashBytes(targets.FlashMemBase+0x6000, 4); !bytes.Equal(got, []byte{0x5A, 0x5A, 0x5A, 0x5A}) {
					t.Errorf("the sector after the image lost its data: % X", got)
				}
				if rec := bd.checkWritten(t, p, im); rec.Risk != "caution" || !rec.Confirmed {
					t.Errorf("audit line %+v: want risk caution, confirmed", rec)
				}
			})
		}
	}
}

// TestRefusedBeforeErase: nothing is erased for a malformed or misplaced
// image; the flash keeps its data and no journal is written.
func TestRefusedBeforeErase(t *testing.T) {
	tests := []struct {
		name string
		cfg  stm32h5.Config
		im   func(t *testing.T) (*flashimage.Image, error)
		want string
	}{
		{name: "larger than the flash", cfg: stm32h5.Config{Line: stm32h5.LineH503},
			im: func(*testing.T) (*flashimage.Image, error) {
				return flashimage.ParseBIN(make([]byte, 129<<10), targets.FlashMemBase)
			},
			want: "more than the 128 KiB flash"},
		{name: "ELF segment in RAM", cfg: stm32h5.Config{Line: stm32h5.LineH533},
			im: func(*testing.T) (*flashimage.Image, error) {
				return flashimage.ParseELF(flashimagetest.BuildELF(0,
					flashimagetest.Prog{PAddr: targets.FlashMemBase, Data: pattern(64, 0)},
					flashimagetest.Prog{PAddr: targets.SRAMBase, Data: pattern(64, 0)}))
			},
			want: "64 bytes at 0x20000000..0x2000003F are not in 0x08000000..0x0807FFFF"},
		{name: "runs past the end", cfg: stm32h5.Config{Line: stm32h5.LineH503},
			im: func(*testing.T) (*flashimage.Image, error) {
				return flashimage.ParseBIN(make([]byte, 32), targets.FlashMemBase+128<<10-16)
			},
			want: "not in 0x08000000..0x0801FFFF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bd := newBoard(t, tc.cfg)
			if err := bd.m.LoadFlash(targets.FlashMemBase, []byte{1, 2, 3, 4}); err != nil {
				t.Fatal(err)
			}
			im, err := tc.im(t)
			if err != nil {
				t.Fatal(err)
			}
			writes := bd.t.writes
			_, _, err = bd.write(im, Options{})
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrRefused with %q", err, tc.want)
			}
			if bd.t.writes != writes || !bytes.Equal(bd.m.FlashBytes(targets.FlashMemBase, 4), []byte{1, 2, 3, 4}) {
				t.Error("the chip was written")
			}
		})
	}
}

// TestProtectedRefused: a WRP sector, or a secure sector with TrustZone,
// under the image is refused in the plan.
func TestProtectedRefused(t *testing.T) {
	tests := []struct {
		name string
		cfg  stm32h5.Config
		reg  string
		v    uint32
		want string
	}{
		{name: "WRP", cfg: stm32h5.Config{Line: stm32h5.LineH503}, reg: "WRP1R", v: 0xFE, want: "write-protected by WRP1R"},
		{name: "HDP outside OPEN", cfg: stm32h5.Config{Line: stm32h5.LineH503, ProductState: targets.StateProvisioning}, reg: "HDP1R", v: 0x00010000, want: "hide-protected area (HDP1R"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Captured = map[string][2]uint32{tc.reg: {tc.v, tc.v}}
			bd := newBoard(t, tc.cfg)
			im, _ := flashimage.ParseBIN(pattern(64, 0), targets.FlashMemBase)
			if _, _, err := bd.write(im, Options{}); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestSwapBank: with SWAP_BANK set the image at 0x08000000 lands in
// physical bank 2, whose sector the plan names and erases.
func TestSwapBank(t *testing.T) {
	bd := newBoard(t, stm32h5.Config{Line: stm32h5.LineH533, Captured: map[string][2]uint32{}})
	cur, _, _ := bd.m.OptionRegister("OPTSR")
	bd = newBoard(t, stm32h5.Config{Line: stm32h5.LineH533, Captured: map[string][2]uint32{"OPTSR": {cur | targets.OPTSRSwapBank, cur | targets.OPTSRSwapBank}}})
	im, _ := flashimage.ParseBIN(pattern(48, 3), targets.FlashMemBase)
	p, _, err := bd.write(im, Options{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.Erase[0].Name != "bank 2 sector 0" {
		t.Errorf("erased %s, want bank 2 sector 0", p.Erase[0].Name)
	}
	if !bytes.Equal(bd.m.FlashBytes(targets.FlashMemBase, 48), pattern(48, 3)) {
		t.Error("image not at the base")
	}
}

// TestNotConfirmed: a wrong phrase writes nothing and is recorded as a
// refusal.
func TestNotConfirmed(t *testing.T) {
	bd := newBoard(t, stm32h5.Config{Line: stm32h5.LineH503})
	if err := bd.m.LoadFlash(targets.FlashMemBase, []byte{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	im, _ := flashimage.ParseBIN(pattern(16, 0), targets.FlashMemBase)
	p, _, err := bd.run(func(ctx context.Context) (*Plan, error) {
		return PlanWrite(ctx, bd.c, bd.t, "UID1", "app", im)
	}, Options{}, "yes")
	if !errors.Is(err, guarded.ErrNotConfirmed) {
		t.Fatalf("err = %v", err)
	}
	if p.Phrase != "erase 1 sector" || p.Risk != guarded.Caution {
		t.Errorf("phrase %q risk %v", p.Phrase, p.Risk)
	}
	if !bytes.Equal(bd.m.FlashBytes(targets.FlashMemBase, 4), []byte{1, 2, 3, 4}) {
		t.Error("the chip was written")
	}
	recs, _ := statefile.ReadAudit(bd.dir)
	if len(recs) != 1 || recs[0].Result != guarded.ResultRefused || recs[0].Kind != string(guarded.Flash) {
		t.Errorf("audit %+v", recs)
	}
}

// TestSaveFlash: the copy holds the sectors' data before the erase.
func TestSaveFlash(t *testing.T) {
	bd := newBoard(t, stm32h5.Config{Line: stm32h5.LineH503})
	old := pattern(40, 0x30)
	if err := bd.m.LoadFlash(targets.FlashMemBase+0x2000, old); err != nil {
		t.Fatal(err)
	}
	im, _ := flashimage.ParseBIN(pattern(0x2010, 1), targets.FlashMemBase)
	var saved []byte
	_, res, err := bd.write(im, Options{SaveFlash: func(b []byte) (string, error) { saved = b; return "copy.hex", nil }})
	if err != nil {
		t.Fatal(err)
	}
	back, err := flashimage.ParseHEX(saved)
	if err != nil {
		t.Fatal(err)
	}
	if res.Saved != "copy.hex" || !bytes.Equal(back.Bytes(targets.FlashMemBase+0x2000, 40, 0), old) {
		t.Errorf("saved to %q: % X", res.Saved, back.Bytes(targets.FlashMemBase+0x2000, 40, 0))
	}
}

// TestErasePlans: --all, a sector range and an address range.
func TestErasePlans(t *testing.T) {
	tests := []struct {
		name  string
		r     EraseRequest
		n     int
		first string
		err   string
	}{
		{name: "all", r: EraseRequest{All: true}, n: 16, first: "bank 1 sector 0"},
		{name: "sectors 8-9", r: EraseRequest{Sectors: true, First: 8, Last: 9}, n: 2, first: "bank 2 sector 0"},
		{name: "range over a boundary", r: EraseRequest{Addr: targets.FlashMemBase + 0x1FF0, Len: 0x20}, n: 2, first: "bank 1 sector 0"},
		{name: "sectors past the end", r: EraseRequest{Sectors: true, First: 3, Last: 16}, err: "has sectors 0-15"},
		{name: "range outside", r: EraseRequest{Addr: targets.SRAMBase, Len: 4}, err: "not inside the flash"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bd := newBoard(t, stm32h5.Config{Line: stm32h5.LineH503})
			if err := bd.m.LoadFlash(targets.FlashMemBase, pattern(128<<10, 1)); err != nil {
				t.Fatal(err)
			}
			p, _, err := bd.run(func(ctx context.Context) (*Plan, error) {
				return PlanErase(ctx, bd.c, bd.t, "UID1", tc.r)
			}, Options{}, "")
			if tc.err != "" {
				if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Erase) != tc.n || p.Erase[0].Name != tc.first || p.NotEmpty != tc.n {
				t.Fatalf("plan erases %d from %s (%d not empty)", len(p.Erase), p.Erase[0].Name, p.NotEmpty)
			}
			for _, s := range p.Erase {
				if got := bd.m.FlashBytes(s.Addr, int(s.Size)); !bytes.Equal(got, bytes.Repeat([]byte{0xFF}, int(s.Size))) {
					t.Errorf("%s not erased", s.Name)
				}
			}
		})
	}
}

// TestSecureSectors: with TrustZone enabled, an image for the secure alias
// (a secure application's ELF) and one for the non-secure alias land in
// the same flash, each sector written through its own side: SECKEYR,
// SECCR and the 0x0C000000 alias for the sectors inside SECWM1R, NSCR for
// the others. The simulator refuses a sector through the wrong side, so
// the bytes read back prove the side.
func TestSecureSectors(t *testing.T) {
	cfg := stm32h5.Config{Line: stm32h5.LineH563, TZEN: targets.TZENEnabled}
	cfg.Captured = map[string][2]uint32{"SECWM1R": {0x00010000, 0x00010000}} // sectors 0-1 secure
	bd := newBoard(t, cfg)
	sec := pattern(0x2010, 5) // sector 0 and the start of sector 1, secure
	ns := pattern(0x100, 9)   // sector 2, non-secure
	elf := flashimagetest.BuildELF(targets.FlashMemBaseSecure+0x101,
		flashimagetest.Prog{PAddr: targets.FlashMemBaseSecure, Data: sec},
		flashimagetest.Prog{PAddr: targets.FlashMemBase + 0x4000, Data: ns})
	im, err := flashimage.ParseELF(elf)
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := bd.write(im, Options{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Erase[0].Secure || !p.Erase[1].Secure || p.Erase[2].Secure {
		t.Errorf("sectors' security: %+v", p.Erase)
	}
	if !bytes.Equal(bd.m.FlashBytes(targets.FlashMemBaseSecure, len(sec)), sec) || !bytes.Equal(bd.m.FlashBytes(targets.FlashMemBase+0x4000, len(ns)), ns) {
		t.Error("the flash does not hold the image")
	}
	if _, err := Verify(context.Background(), bd.c, bd.t, im, nil); err != nil {
		t.Error(err)
	}
}
