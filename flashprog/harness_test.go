package flashprog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// errUnplugged is what an injected fault returns.
var errUnplugged = errors.New("USB: device unplugged")

// simTarget is a Target straight onto the STM32H5 model's AP1, without the
// probe layer: every access lets 10 µs of modelled time pass. failWhen,
// when set, makes the access it returns true for fail and every one after
// it (an unplugged cable).
type simTarget struct {
	m        *stm32h5.Model
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
	return s.m.AP(targets.H5CoreAP), nil
}

// cswDefault is the CSW the ST-LINK firmware uses by default (its bit 30 clear:
// secure transfers where the chip allows them), as the simulated probe.
const cswDefault = 0xA2000000

func (s *simTarget) Read32(ctx context.Context, addr uint32) (uint32, error) {
	a, err := s.ap(ctx, false, addr, 0)
	if err != nil {
		return 0, err
	}
	return a.Read(addr, chipsim.Word, cswDefault)
}

func (s *simTarget) Write32(ctx context.Context, addr, v uint32) error {
	a, err := s.ap(ctx, true, addr, v)
	if err != nil {
		return err
	}
	s.writes++
	return a.Write(addr, chipsim.Word, v, cswDefault)
}

func (s *simTarget) ReadMem(ctx context.Context, addr uint32, buf []byte) error {
	return readWords(ctx, s.Read32, addr, buf)
}

func (s *simTarget) WriteMem(ctx context.Context, addr uint32, data []byte) error {
	return writeWords(ctx, s.Write32, addr, data)
}

// apReader lets targets.Identify read through any AP of the model.
type apReader struct{ m *stm32h5.Model }

func (r apReader) Read32(ctx context.Context, ap uint8, addr uint32) (uint32, error) {
	a := r.m.AP(ap)
	if a == nil {
		return 0, fmt.Errorf("no AP%d", ap)
	}
	return a.Read(addr, chipsim.Word, cswDefault)
}

// board is a simulated chip ready for flashprog.
type board struct {
	m    *stm32h5.Model
	t    *simTarget
	chip *targets.Chip
	c    Controller
	dir  string
}

func newBoard(t *testing.T, cfg stm32h5.Config) *board {
	t.Helper()
	m, err := stm32h5.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	chip, err := targets.Identify(context.Background(), apReader{m}, targets.H5DPIDR)
	if err != nil {
		t.Fatal(err)
	}
	st := &simTarget{m: m}
	c, err := ControllerFor(chip, st, ControllerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &board{m: m, t: st, chip: chip, c: c, dir: t.TempDir()}
}

// readWords fills buf with the words read32 reads from addr on.
func readWords(ctx context.Context, read32 func(context.Context, uint32) (uint32, error), addr uint32, buf []byte) error {
	for i := 0; i < len(buf); i += 4 {
		v, err := read32(ctx, addr+uint32(i))
		if err != nil {
			return err
		}
		binary.LittleEndian.PutUint32(buf[i:], v)
	}
	return nil
}

// writeWords writes data to addr on, a word at a time through write32.
func writeWords(ctx context.Context, write32 func(context.Context, uint32, uint32) error, addr uint32, data []byte) error {
	for i := 0; i < len(data); i += 4 {
		if err := write32(ctx, addr+uint32(i), binary.LittleEndian.Uint32(data[i:])); err != nil {
			return err
		}
	}
	return nil
}
