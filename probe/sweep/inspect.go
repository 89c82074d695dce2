package sweep

import (
	"context"
	"errors"
	"fmt"

	"github.com/stprobe/stprobe/targets"
)

// errOtherAP is what the cell-bound reader answers for another AP: a cell
// only looks through its own port, so that cells stay independent.
var errOtherAP = errors.New("not this cell's access port")

// cellReader restricts a memory reader to one access port.
type cellReader struct {
	r  targets.MemReader
	ap uint8
}

func (c cellReader) Read32(ctx context.Context, ap uint8, addr uint32) (uint32, error) {
	if ap != c.ap {
		return 0, fmt.Errorf("AP%d: %w", ap, errOtherAP)
	}
	return c.r.Read32(ctx, ap, addr)
}

// earlier is what earlier cells of a sweep read that a cell may take instead
// of reading it again: nil fields are read.
type earlier struct {
	// Chip is the chip an earlier cell identified, through any port that
	// this one could identify it through too: its identity is a constant.
	Chip *targets.Chip
	// State is an earlier cell on the same port whose product state or
	// protection this cell takes: no cell writes option bytes.
	State *Cell
	// APStatus is an earlier cell on the same debug port, under reset
	// when this one is, whose DBGMCU_SR this cell takes (the firmware may
	// open ports once it runs, so a cell under reset reads its own).
	APStatus *Cell
}

// inspect identifies the chip through the cell's access port and reads
// what that port can tell about the product state: FLASH_OPTSR through the
// core AP, DBGMCU_SR (which ports are enabled) through the debug AP. It
// reads only these few registers (no engineering area), one to three
// words per cell, and on an RDP family what inspectFirmware reads; what
// known holds it takes instead of reading.
func inspect(ctx context.Context, r targets.MemReader, c *Cell, known earlier) (*targets.Chip, error) {
	cr := cellReader{r: r, ap: c.AP}
	chip := known.Chip
	if chip == nil {
		var err error
		if chip, err = targets.IdentifyAP(ctx, cr, c.AP, c.DPIDR); err != nil || chip == nil {
			return chip, err
		}
	}
	c.IDCode, c.Chip = chip.IDCode, chip.Name()
	f := chip.Family
	var errs []error
	switch {
	case c.AP != f.CoreAP:
	case known.State != nil:
		c.State, c.TZEN = known.State.State, known.State.TZEN
		c.Protection, c.FlashReadErr = known.State.Protection, known.State.FlashReadErr
	case f.RDP != nil:
		// An RDP family: the level, and whether flash reads (level 1
		// closes flash to a debugger).
		p, err := targets.ReadRDP(ctx, cr, chip)
		if err != nil {
			errs = append(errs, err)
		} else {
			c.Protection = &p
		}
		if _, err := cr.Read32(ctx, c.AP, targets.FlashMemBase); err != nil {
			if ctx.Err() != nil {
				return chip, ctx.Err()
			}
			c.FlashReadErr = err.Error()
		}
		errs = append(errs, inspectFirmware(ctx, cr, chip, c))
	default:
		state, tzen, err := targets.ReadProductState(ctx, cr, chip)
		if err != nil {
			errs = append(errs, err)
		}
		if state != 0 {
			c.State, c.TZEN = state, tzen
		}
	}
	switch {
	case c.AP != f.DebugAP:
	case known.APStatus != nil:
		c.APPresent, c.APEnabled, c.HasAPStatus = known.APStatus.APPresent, known.APStatus.APEnabled, known.APStatus.HasAPStatus
	default:
		present, enabled, err := targets.ReadAPStatus(ctx, cr)
		if err != nil {
			errs = append(errs, err)
		} else {
			c.APPresent, c.APEnabled, c.HasAPStatus = present, enabled, true
		}
	}
	return chip, errors.Join(errs...)
}

// checkDA reads whether debug-authentication data is provisioned (the OBK
// record, or the OTP hash on STM32H503) through the core AP, and keeps what
// it finds in c.DA. It costs a few dozen word reads, so a sweep does it
// once.
func checkDA(ctx context.Context, r targets.MemReader, c *Cell) error {
	devID, _ := targets.DecodeIDCode(c.IDCode)
	fam, line, ok := targets.LookupDevID(devID)
	if !ok {
		return fmt.Errorf("checking DA provisioning: DEV_ID 0x%03X: %w", devID, targets.ErrUnknownChip)
	}
	chip := &targets.Chip{Family: fam, Line: line, IDCode: c.IDCode, DevID: devID}
	st := targets.ReadDAStatus(ctx, cellReader{r: r, ap: c.AP}, chip, c.TZEN)
	c.DA = &st
	return nil
}
