package flashprog

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/flashimage"
	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32rdp"
)

// errUnplugged is what an injected fault returns.
var errUnplugged = errors.New("USB: device unplugged")

// cswDefault is the CSW the ST-LINK firmware uses by default (its bit 30 clear:
// secure transfers where the chip allows them), as the simulated probe.
const cswDefault = 0xA2000000

// simTarget is a Target straight onto access port port of a chip model,
// without the probe layer: every access lets 10 µs of modelled time pass.
// failWhen, when set, makes the access it returns true for fail and every
// one after it (an unplugged cable). writes counts the writes that reached
// the chip.
type simTarget struct {
	m        chipsim.Chip
	port     uint8
	failWhen func(write bool, addr, v uint32) bool
	failed   bool
	writes   int
}

func (s *simTarget) ap(ctx context.Context, write bool, addr, v uint32) (chipsim.AP, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.m.Advance(10 * time.Microsecond)
	if s.failed || (s.failWhen != nil && s.failWhen(write, addr, v)) {
		s.failed = true
		return nil, errUnplugged
	}
	a := s.m.AP(s.port)
	if a == nil {
		return nil, fmt.Errorf("no AP%d", s.port)
	}
	return a, nil
}

func (s *simTarget) write(ctx context.Context, addr uint32, size chipsim.Size, v uint32) error {
	a, err := s.ap(ctx, true, addr, v)
	if err != nil {
		return err
	}
	s.writes++
	return a.Write(addr, size, v, cswDefault)
}

func (s *simTarget) Read32(ctx context.Context, addr uint32) (uint32, error) {
	a, err := s.ap(ctx, false, addr, 0)
	if err != nil {
		return 0, err
	}
	return a.Read(addr, chipsim.Word, cswDefault)
}

func (s *simTarget) Write32(ctx context.Context, addr, v uint32) error {
	return s.write(ctx, addr, chipsim.Word, v)
}

func (s *simTarget) ReadMem(ctx context.Context, addr uint32, buf []byte) error {
	for i := 0; i < len(buf); i += 4 {
		v, err := s.Read32(ctx, addr+uint32(i))
		if err != nil {
			return err
		}
		binary.LittleEndian.PutUint32(buf[i:], v)
	}
	return nil
}

func (s *simTarget) WriteMem(ctx context.Context, addr uint32, data []byte) error {
	for i := 0; i < len(data); i += 4 {
		if err := s.Write32(ctx, addr+uint32(i), binary.LittleEndian.Uint32(data[i:])); err != nil {
			return err
		}
	}
	return nil
}

// WriteMem16 makes simTarget a HalfWordWriter, as the F1 and F4 at x16 need.
func (s *simTarget) WriteMem16(ctx context.Context, addr uint32, data []byte) error {
	for i := 0; i < len(data); i += 2 {
		if err := s.write(ctx, addr+uint32(i), chipsim.Halfword, uint32(binary.LittleEndian.Uint16(data[i:]))); err != nil {
			return err
		}
	}
	return nil
}

// apReader lets targets.Identify read through any AP of the model.
type apReader struct{ m chipsim.Chip }

func (r apReader) Read32(_ context.Context, ap uint8, addr uint32) (uint32, error) {
	a := r.m.AP(ap)
	if a == nil {
		return 0, fmt.Errorf("no AP%d", ap)
	}
	return a.Read(addr, chipsim.Word, cswDefault)
}

// board is a simulated chip (an STM32H5 or an RDP-family model) ready for
// flashprog: identified, with its controller on a simTarget. flash reads
// n bytes of the main flash at addr from the model itself.
type board[M chipsim.Chip] struct {
	m     M
	t     *simTarget
	chip  *targets.Chip
	c     Controller
	dir   string
	flash func(addr uint32, n int) []byte
}

// newBoardOn identifies m and puts a controller on its access port port.
func newBoardOn[M chipsim.Chip](t *testing.T, m M, port uint8, flash func(addr uint32, n int) []byte) *board[M] {
	t.Helper()
	chip, err := targets.Identify(context.Background(), apReader{m}, m.DPIDR())
	if err != nil {
		t.Fatal(err)
	}
	st := &simTarget{m: m, port: port}
	c, err := ControllerFor(chip, st, ControllerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &board[M]{m: m, t: st, chip: chip, c: c, dir: t.TempDir(), flash: flash}
}

// newBoard is an STM32H5 board, its controller on the core's AP1.
func newBoard(t *testing.T, cfg stm32h5.Config) *board[*stm32h5.Model] {
	t.Helper()
	m, err := stm32h5.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return newBoardOn(t, m, targets.H5CoreAP, m.FlashBytes)
}

// newRDPBoard is an RDP-family board, its controller on AP0.
func newRDPBoard(t *testing.T, cfg stm32rdp.Config) *board[*stm32rdp.Model] {
	t.Helper()
	m, err := stm32rdp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return newBoardOn(t, m, 0, func(addr uint32, n int) []byte {
		return m.Flash(addr-targets.FlashMemBase, uint32(n))
	})
}

// write runs the guarded write of im with the plan's own phrase.
func (b *board[M]) write(im *flashimage.Image, o Options) (*Plan, *Result, error) {
	return b.run(func(ctx context.Context) (*Plan, error) {
		return PlanWrite(ctx, b.c, b.t, "UID1", "app", im)
	}, o, "")
}

// run runs a guarded flash job on the board; confirm "" types the phrase
// of a plan made (read-only) just before.
func (b *board[M]) run(plan func(context.Context) (*Plan, error), o Options, confirm string) (*Plan, *Result, error) {
	return b.runCtx(context.Background(), plan, o, confirm)
}

// runCtx is run on ctx.
func (b *board[M]) runCtx(ctx context.Context, plan func(context.Context) (*Plan, error), o Options, confirm string) (*Plan, *Result, error) {
	if confirm == "" {
		if p, err := plan(context.Background()); err == nil {
			confirm = p.Phrase
		}
	}
	o.StateDir, o.User = b.dir, "tester"
	j := &Job{Controller: b.c, Target: b.t, Options: o, Plan: plan}
	_, err := guarded.Run(ctx, j.Write(), guarded.Confirmation{Phrase: confirm}, guarded.Recorder{Dir: b.dir, User: "tester"}, nil)
	return j.Planned, j.Result, err
}

// checkImage checks that the board's flash holds every segment of im.
func (b *board[M]) checkImage(t *testing.T, im *flashimage.Image) {
	t.Helper()
	for _, s := range im.Segments {
		if got := b.flash(s.Addr, len(s.Data)); !bytes.Equal(got, s.Data) {
			t.Errorf("flash at 0x%08X differs from the image", s.Addr)
		}
	}
}

// chipAgrees says whether got, what an erase unit of the chip holds after a
// cut write, is one of the things the journal's word for it allows: old,
// the unit's bytes before the write; programmed, the image's bytes there.
func chipAgrees(holds string, got, old, programmed []byte) bool {
	wasOld := bytes.Equal(got, old)
	erased := bytes.Equal(got, bytes.Repeat([]byte{0xFF}, len(got)))
	switch holds {
	case SectorOld:
		return wasOld
	case SectorErasing:
		return wasOld || erased
	case SectorErased:
		return erased
	case SectorProgramming:
		return !wasOld
	case SectorProgrammed:
		return bytes.Equal(got, programmed)
	}
	return false
}

// checkWritten checks what a write that succeeded leaves behind: one audit
// line "ok" naming the image's SHA-256, no journal, and a Verify of im that
// agrees. It returns the audit line for the caller's own checks.
func (b *board[M]) checkWritten(t *testing.T, p *Plan, im *flashimage.Image) statefile.AuditRecord {
	t.Helper()
	if j, err := ReadJournal(b.dir, "UID1"); j != nil || err != nil {
		t.Errorf("journal left: %v %v", j, err)
	}
	if _, err := Verify(context.Background(), b.c, b.t, im, nil); err != nil {
		t.Errorf("verify alone: %v", err)
	}
	recs, err := statefile.ReadAudit(b.dir)
	if err != nil || len(recs) != 1 || recs[0].Result != "ok" || !strings.Contains(strings.Join(recs[0].Changes, " "), p.Image.SHA256) {
		t.Fatalf("audit %+v, %v", recs, err)
	}
	return recs[0]
}

// checkUntouched checks what a refused job leaves: the family board's
// flash still holds image from its base, and no journal was written.
func checkUntouched(t *testing.T, bd *board[*stm32rdp.Model], image []byte) {
	t.Helper()
	if got := bd.m.Flash(0, uint32(len(image))); !bytes.Equal(got, image) {
		t.Error("the flash changed")
	}
	if j, _ := ReadJournal(bd.dir, "UID1"); j != nil {
		t.Errorf("journal written: %v", j)
	}
}
