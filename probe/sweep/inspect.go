package sweep

import (
	"context"
	"errors"
	"fmt"

	"github.com/stprobe/stprobe/obytes"
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

// inspect identifies the chip through the cell's access port and reads
// what that port can tell about the product state: FLASH_OPTSR through the
// core AP, DBGMCU_SR (which ports are enabled) through the debug AP. It
// reads only these few registers (no engineering area), one to three
// words per cell.
func inspect(ctx context.Context, r targets.MemReader, c *Cell) error {
	cr := cellReader{r: r, ap: c.AP}
	chip, err := identify(ctx, cr, c)
	if err != nil || chip == nil {
		return err
	}
	c.IDCode, c.Chip = chip.IDCode, chip.Name()
	f := chip.Family
	var errs []error
	if c.AP == f.CoreAP {
		state, tzen, err := targets.ReadProductState(ctx, cr, chip)
		if err != nil {
			errs = append(errs, err)
		}
		if state != 0 {
			c.State, c.TZEN = state, tzen
		}
	}
	if c.AP == f.DebugAP {
		present, enabled, err := targets.ReadAPStatus(ctx, cr)
		if err != nil {
			errs = append(errs, err)
		} else {
			c.APPresent, c.APEnabled, c.HasAPStatus = present, enabled, true
		}
	}
	return errors.Join(errs...)
}

// identify reads DBGMCU_IDCODE where a known family puts it behind the
// cell's access port and looks the DEV_ID up. It returns nil, nil when no
// family has a DBGMCU behind this port.
func identify(ctx context.Context, r targets.MemReader, c *Cell) (*targets.Chip, error) {
	var errs []error
	for _, f := range targets.Families() {
		for _, role := range f.APs {
			if role.AP != c.AP || role.DBGMCU == 0 {
				continue
			}
			addr := role.DBGMCU + targets.DBGMCUIDCode
			v, err := r.Read32(ctx, c.AP, addr)
			if err != nil {
				errs = append(errs, fmt.Errorf("reading DBGMCU_IDCODE at 0x%08X through AP%d: %w", addr, c.AP, err))
				continue
			}
			devID, revID := targets.DecodeIDCode(v)
			fam, line, ok := targets.LookupDevID(devID)
			if !ok {
				errs = append(errs, fmt.Errorf("DBGMCU_IDCODE 0x%08X through AP%d: %w", v, c.AP, targets.ErrUnknownChip))
				continue
			}
			return &targets.Chip{Family: fam, Line: line, DPIDR: c.DPIDR, IDCode: v, DevID: devID, RevID: revID,
				Revision: line.RevisionName(revID), IDCodeAP: c.AP}, nil
		}
	}
	return nil, errors.Join(errs...)
}

// checkDA reads the option bytes and the debug-authentication data (the
// OBK record, or the OTP hash on STM32H503) through the core AP, and keeps
// what they say in c.DA. It costs a few dozen word reads, so a sweep does
// it once.
func checkDA(ctx context.Context, t obytes.Target, c *Cell) error {
	devID, _ := targets.DecodeIDCode(c.IDCode)
	l, err := obytes.ForDevID(devID)
	if err != nil {
		return fmt.Errorf("checking DA provisioning: %w", err)
	}
	snap, err := obytes.ReadSnapshot(ctx, t, l)
	if err != nil {
		return fmt.Errorf("checking DA provisioning: %w", err)
	}
	st := obytes.ReadDAStatus(ctx, t, l, snap)
	c.DA = &st
	return nil
}
