package obytes

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// errLinkDropped is what the harness returns after the chip reset until the
// test reconnects, like a real link whose DP lost its power-up state.
var errLinkDropped = errors.New("link dropped: the chip reset")

// chipTarget is a Target straight onto the STM32H5 chip model, without the
// probe layer: each access lets 10 µs of modelled time pass, and a reset
// that drops the link makes every access fail until Reconnect.
type chipTarget struct {
	chip  *stm32h5.Model
	epoch uint64
	// flashWrites counts AP1 writes into the FLASH register block.
	flashWrites int
	// failAfterStart makes every access fail once OPTSTRT was written
	// (an unplugged cable mid-sequence).
	failAfterStart bool
	started        bool
	// tamperAtStart rewrites OPTSR_PRG just before OPTSTRT reaches the chip
	// (as if firmware had written it), to provoke OPTCHANGEERR.
	tamperAtStart func(c *stm32h5.Model, t *chipTarget)
}

func newChip(t *testing.T, cfg stm32h5.Config) *chipTarget {
	t.Helper()
	m, err := stm32h5.New(cfg)
	if err != nil {
		t.Fatalf("stm32h5.New: %v", err)
	}
	return &chipTarget{chip: m, epoch: m.LinkEpoch()}
}

func (c *chipTarget) access(ap uint8) (chipsim.AP, error) {
	c.chip.Advance(10 * time.Microsecond)
	if c.failAfterStart && c.started {
		return nil, errors.New("USB: device unplugged")
	}
	if c.chip.LinkEpoch() != c.epoch {
		return nil, errLinkDropped
	}
	a := c.chip.AP(ap)
	if a == nil {
		return nil, fmt.Errorf("AP%d: no such access port", ap)
	}
	if !a.Enabled() {
		return nil, fmt.Errorf("AP%d locked: %w", ap, chipsim.ErrBusFault)
	}
	return a, nil
}

func (c *chipTarget) Read32(ctx context.Context, ap uint8, addr uint32) (uint32, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	a, err := c.access(ap)
	if err != nil {
		return 0, err
	}
	return a.Read(addr, chipsim.Word, 0)
}

func (c *chipTarget) Write32(ctx context.Context, ap uint8, addr uint32, v uint32) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a, err := c.access(ap)
	if err != nil {
		return err
	}
	if ap == CoreAP && addr >= FlashBase && addr < FlashBase+0x400 {
		c.flashWrites++
		if addr == FlashBase+targets.FlashOPTCR && v&targets.OPTCROptStart != 0 {
			if c.tamperAtStart != nil {
				c.tamperAtStart(c.chip, c)
			}
			c.started = true
		}
	}
	return a.Write(addr, chipsim.Word, v, 0)
}

// reconnect is the Reconnect hook: it accepts the new link epoch and says
// whether AP1 came back.
func (c *chipTarget) reconnect(ctx context.Context) error {
	if c.failAfterStart && c.started {
		return errors.New("USB: device unplugged")
	}
	c.epoch = c.chip.LinkEpoch()
	if !c.chip.AP1Enabled() {
		return fmt.Errorf("hot plug on AP1: %w", ErrCoreAPClosed)
	}
	return nil
}

// setup reads what ob plan needs: layout, snapshot, UID, DA status.
func (c *chipTarget) setup(t *testing.T) PlanInput {
	t.Helper()
	ctx := context.Background()
	chip, err := targets.Identify(ctx, c, targets.H5DPIDR)
	if err != nil {
		t.Fatalf("Identify: %v", err)
	}
	l, err := ForLine(chip.Line)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := ReadSnapshot(ctx, c, l)
	if err != nil {
		t.Fatalf("ReadSnapshot: %v", err)
	}
	return PlanInput{Layout: l, UID: chip.UIDString(), Before: snap, DA: targets.ReadDAStatus(ctx, c, chip, targets.TZENOf(snap.Cur["OPTSR2"]))}
}

// plan parses args and makes a plan.
func plan(t *testing.T, in PlanInput, args ...string) (*Plan, error) {
	t.Helper()
	as, err := in.Layout.ParseAssignments(args)
	if err != nil {
		t.Fatalf("ParseAssignments(%v): %v", args, err)
	}
	return MakePlan(in, as)
}
