package flashprog

import (
	"context"
	"testing"
	"time"

	"github.com/stprobe/stprobe/flashimage"
	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
	"github.com/stprobe/stprobe/targets/flashreg"
	"github.com/stprobe/stprobe/targets/stm32rdp"
)

// rdpTarget is a Target straight onto an RDP-family model's AP0, without
// the probe layer: every access lets 10 µs of modelled time pass.
// failWhen, when set, makes the access it returns true for fail and every
// one after it (an unplugged cable).
type rdpTarget struct {
	m        *stm32rdp.Model
	failWhen func(write bool, addr, v uint32) bool
	failed   bool
}

func (s *rdpTarget) ap(ctx context.Context, write bool, addr, v uint32) (chipsim.AP, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.m.Advance(10 * time.Microsecond)
	if s.failed || (s.failWhen != nil && s.failWhen(write, addr, v)) {
		s.failed = true
		return nil, errUnplugged
	}
	return s.m.AP(0), nil
}

func (s *rdpTarget) Read32(ctx context.Context, addr uint32) (uint32, error) {
	a, err := s.ap(ctx, false, addr, 0)
	if err != nil {
		return 0, err
	}
	return a.Read(addr, chipsim.Word, cswDefault)
}

func (s *rdpTarget) Write32(ctx context.Context, addr, v uint32) error {
	a, err := s.ap(ctx, true, addr, v)
	if err != nil {
		return err
	}
	return a.Write(addr, chipsim.Word, v, cswDefault)
}

func (s *rdpTarget) ReadMem(ctx context.Context, addr uint32, buf []byte) error {
	return readWords(ctx, s.Read32, addr, buf)
}

func (s *rdpTarget) WriteMem(ctx context.Context, addr uint32, data []byte) error {
	return writeWords(ctx, s.Write32, addr, data)
}

func (s *rdpTarget) WriteMem16(ctx context.Context, addr uint32, data []byte) error {
	for i := 0; i < len(data); i += 2 {
		a, err := s.ap(ctx, true, addr+uint32(i), 0)
		if err != nil {
			return err
		}
		if err := a.Write(addr+uint32(i), chipsim.Halfword, uint32(data[i])|uint32(data[i+1])<<8, cswDefault); err != nil {
			return err
		}
	}
	return nil
}

// rdpReader lets targets.Identify read through AP0 of the model.
type rdpReader struct{ m *stm32rdp.Model }

func (r rdpReader) Read32(_ context.Context, ap uint8, addr uint32) (uint32, error) {
	a := r.m.AP(ap)
	if a == nil {
		return 0, errUnplugged
	}
	return a.Read(addr, chipsim.Word, cswDefault)
}

// familyBoard is one open board of each family as the simulator serves
// them (the f103-open … l476-open scenarios), with sector k's address and
// size for the fault tests.
type familyBoard struct {
	name    string
	cfg     stm32rdp.Config
	rdp1    uint8  // the RDP byte of level 1
	sector  uint32 // the size of the first four erase units
	regs    uint32
	strt    uint32 // FLASH_CR.STRT
	crOff   uint32 // FLASH_CR offset
	keyrOff uint32
	lock    uint32
}

func familyBoards() []familyBoard {
	uid := [3]uint32{0x0031FF36, 0x3231470F, 0x43172231}
	b := func(f targets.Family, devID, revID, kb uint16, rdp uint8) stm32rdp.Config {
		return stm32rdp.Config{Family: f, DevID: devID, RevID: revID, FlashKB: kb, RDP: rdp, NRSTWired: true, UID: uid}
	}
	return []familyBoard{
		{"f103-open", b(targets.STM32F1(), targets.DevIDF1MD, 0x2003, 64, targets.F1RDPKey), 0x00, 1 << 10, targets.F1FlashRegs, flashreg.F1CRSTRT, flashreg.F1CR, flashreg.F1KEYR, flashreg.F1CRLock},
		{"f411-open", b(targets.STM32F4(), targets.DevIDF411, 0x1000, 512, targets.RDPByteLevel0), targets.RDPByteLevel1, 16 << 10, targets.F4FlashRegs, flashreg.F4CRSTRT, flashreg.F4CR, flashreg.F4KEYR, flashreg.F4CRLock},
		{"g071-open", b(targets.STM32G0(), targets.DevIDG07x, 0x2000, 128, targets.RDPByteLevel0), targets.RDPByteLevel1, 2 << 10, targets.L4FlashRegs, flashreg.L4CRSTRT, flashreg.L4CR, flashreg.L4KEYR, flashreg.L4CRLock},
		{"g474-open", b(targets.STM32G4(), targets.DevIDG47x, 0x2000, 512, targets.RDPByteLevel0), targets.RDPByteLevel1, 2 << 10, targets.L4FlashRegs, flashreg.L4CRSTRT, flashreg.L4CR, flashreg.L4KEYR, flashreg.L4CRLock},
		{"l476-open", b(targets.STM32L4(), targets.DevIDL47x, 0x1007, 1024, targets.RDPByteLevel0), targets.RDPByteLevel1, 2 << 10, targets.L4FlashRegs, flashreg.L4CRSTRT, flashreg.L4CR, flashreg.L4KEYR, flashreg.L4CRLock},
	}
}

// rdpBoard is a family board ready for flashprog.
type rdpBoard struct {
	m    *stm32rdp.Model
	t    *rdpTarget
	chip *targets.Chip
	c    Controller
	dir  string
}

func newRDPBoard(t *testing.T, cfg stm32rdp.Config) *rdpBoard {
	t.Helper()
	m, err := stm32rdp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	chip, err := targets.Identify(context.Background(), rdpReader{m}, m.DPIDR())
	if err != nil {
		t.Fatal(err)
	}
	st := &rdpTarget{m: m}
	c, err := ControllerFor(chip, st, ControllerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &rdpBoard{m: m, t: st, chip: chip, c: c, dir: t.TempDir()}
}

// run runs a guarded flash job on the board; confirm "" types the phrase
// of a plan made (read-only) just before.
func (b *rdpBoard) run(plan func(context.Context) (*Plan, error), o Options, confirm string) (*Plan, *Result, error) {
	if confirm == "" {
		if p, err := plan(context.Background()); err == nil {
			confirm = p.Phrase
		}
	}
	o.StateDir, o.User = b.dir, "tester"
	j := &Job{Controller: b.c, Target: b.t, Options: o, Plan: plan}
	_, err := guarded.Run(context.Background(), j.Write(), guarded.Confirmation{Phrase: confirm}, guarded.Recorder{Dir: b.dir, User: "tester"}, nil)
	return j.Planned, j.Result, err
}

// write runs the guarded write of im.
func (b *rdpBoard) write(im *flashimage.Image, o Options) (*Plan, *Result, error) {
	return b.run(func(ctx context.Context) (*Plan, error) {
		return PlanWrite(ctx, b.c, b.t, "UID1", "app", im)
	}, o, "")
}
