package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// The read-only DA jobs: checking a file against the chip, reading what the
// chip holds of DA.

// OBKCheckRequest is an .obk file (the H503: its OTP image) to check
// against the connected chip.
type OBKCheckRequest struct {
	File []byte
	// Part names the part where the chip's line has several.
	Part string
	// Need are the permissions the file must grant (none: full regression).
	Need []da.Permission
	DA   da.Options
}

// OBKCheck is the outcome of CheckOBK: every mismatch between the file,
// the part and the chip, in plain words with the fix; none means the file
// fits the chip.
type OBKCheck struct {
	Part string `json:"part"`
	// Discovery is the chip's (nil when it failed: DiscoveryErr says why).
	Discovery    *da.Discovery `json:"discovery,omitempty"`
	DiscoveryErr string        `json:"discovery_error,omitempty"`
	// RecordRead is true when the DA record could be read from the chip
	// and compared.
	RecordRead bool          `json:"record_read"`
	Mismatches []da.Mismatch `json:"mismatches"`
}

// CheckOBK decodes an .obk file and checks it against the connected chip:
// the file against the part, the chip's discovery, and the DA record read
// back where AP1 reads it. Read-only (the discovery pulses NRST).
func (b *Bench) CheckOBK(ctx context.Context, t Token, r OBKCheckRequest) (*OBKCheck, error) {
	var res *OBKCheck
	err := b.run(ctx, t, "da check-obk", time.Minute, func(ctx context.Context) error {
		o, err := b.readOB(ctx, OBRequest{})
		if err != nil {
			return err
		}
		_ = probe.Disconnect(ctx, b.link)
		parts := stm32h5.PartsOf(o.Chip.DevID)
		if len(parts) == 0 {
			return fmt.Errorf("%s is not an STM32H5 part with debug authentication", o.Chip.Line.Name)
		}
		part, err := da.ChoosePart(parts, r.Part, true)
		if err != nil {
			return err
		}
		res = &OBKCheck{Part: part.Name, Mismatches: []da.Mismatch{}}
		d, rec, derr := b.readDA(ctx, part, o.Closed == nil, r.DA)
		res.Discovery, res.RecordRead = d, rec != nil
		if derr != nil {
			res.DiscoveryErr = derr.Error()
		}
		if ms := da.CheckOBKChip(r.File, part, d, rec, r.Need...); len(ms) > 0 {
			res.Mismatches = ms
		}
		return nil
	})
	return res, err
}

// readDA reads what the chip holds of DA: the record through AP1 (when
// open), then a discovery, after which the chip boots again.
func (b *Bench) readDA(ctx context.Context, part stm32h5.Part, ap1 bool, o da.Options) (*da.Discovery, []byte, error) {
	h := da.NewHost(da.LinkPort(b.link), b.daOptions(o))
	var rec []byte
	if ap1 {
		rec, _ = h.ReadDARecord(ctx, part)
	}
	d, err := h.Discover(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, rec, ctx.Err()
		}
		return nil, rec, err
	}
	b.update(func(s *Snapshot) { s.setDiscovery(d, b.now()) })
	if err := h.Reboot(ctx); err != nil {
		return d, rec, err
	}
	return d, rec, nil
}
