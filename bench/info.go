package bench

import (
	"context"
	"errors"
	"fmt"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/targets"
)

// InfoRequest is how the info job connects. With AutoAP the job connects on
// the identified chip's core port (AP1 on an STM32H5) rather than AP.
type InfoRequest struct {
	Mode   probe.ConnectMode
	AP     uint8
	AutoAP bool
	// FrequencyKHz is the SWD clock to ask for; 0: the probe's current
	// clock when the probe says which (a V3 does), else the fastest rung
	// of its ladder at or below the V2 power-on default, set explicitly so
	// that the report names the clock the connect really used.
	FrequencyKHz int
}

// InfoResult is what the info job found: the probe, the target voltage, the
// chip and its product state, and the report of the connect it made.
type InfoResult struct {
	Probe      probe.Info
	Voltage    float64
	HasVoltage bool
	VoltageErr error
	Chip       *targets.Chip
	ChipErr    error
	State      targets.ProductState
	TZEN       targets.TZEN
	StateErr   error // why the state could not be read (core port not open ...)
	// OptionsUnlocked is set when FLASH_OPTCR.OPTLOCK read 0 (read with
	// the state; see targets.ReadOptionsUnlocked).
	OptionsUnlocked bool
	Connect         *probe.ConnectReport
}

// Info measures the target voltage, connects as r asks, identifies the
// chip, reads its product state through the core port when it is open, and
// disconnects. A connect that fails at some step is a result (its report
// names the step), not an error; errors are the probe going away or ctx.
func (b *Bench) Info(ctx context.Context, t Token, r InfoRequest) (*InfoResult, error) {
	return do(b, ctx, t, "info", limitShort, func(ctx context.Context) (*InfoResult, error) {
		return b.info(ctx, r)
	})
}

func (b *Bench) info(ctx context.Context, r InfoRequest) (*InfoResult, error) {
	l := b.link
	out := &InfoResult{Probe: b.Snapshot().Probe}
	if err := b.readVoltage(ctx, &out.Voltage, &out.HasVoltage, &out.VoltageErr); err != nil {
		return nil, err
	}
	o := probe.ConnectOptions{Mode: r.Mode, AP: r.AP, FrequencyKHz: r.FrequencyKHz}
	if o.FrequencyKHz == 0 && l.SWDFrequency() == 0 {
		// A V2 cannot report its SWD clock: another tool may have changed
		// it since power-on. 1.8 MHz is its power-on default (OpenOCD,
		// src/jtag/drivers/stlink_usb.c, stlink_khz_to_speed_map_swd).
		o.FrequencyKHz = proto.StartKHz(l.SWDFrequencies())
	}
	rep, err := probe.Connect(ctx, l, o)
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	rep.RequestedKHz = r.FrequencyKHz
	if rep.DPOK {
		chip, idErr := targets.Identify(ctx, l, rep.DPIDR)
		if idErr != nil && (ctx.Err() != nil || errors.Is(idErr, probe.ErrDisconnected)) {
			return nil, idErr
		}
		out.Chip, out.ChipErr = chip, idErr
	}
	if r.AutoAP && out.Chip != nil && out.Chip.Family.CoreAP != r.AP {
		if err := probe.Disconnect(ctx, l); err != nil && errors.Is(err, probe.ErrDisconnected) {
			return nil, err
		}
		o.AP = out.Chip.Family.CoreAP
		if rep, err = probe.Connect(ctx, l, o); err != nil {
			return nil, fmt.Errorf("connecting: %w", err)
		}
		rep.RequestedKHz = r.FrequencyKHz
	}
	out.Connect = rep
	out.StateErr = errors.New("core port not open")
	if out.Chip != nil && rep.APOK && rep.AP == out.Chip.Family.CoreAP {
		out.State, out.TZEN, out.StateErr = targets.ReadProductState(ctx, l, out.Chip)
		if out.StateErr == nil {
			// Best effort: an unreadable OPTCR leaves the flag clear.
			out.OptionsUnlocked, _ = targets.ReadOptionsUnlocked(ctx, l, out.Chip)
		}
	}
	if err := probe.Disconnect(ctx, l); err != nil && errors.Is(err, probe.ErrDisconnected) {
		return nil, err
	}
	b.update(func(s *Snapshot) {
		s.Voltage, s.HasVoltage = out.Voltage, out.HasVoltage
		s.Connection = connectionText(rep)
		if out.Chip != nil {
			s.Chip = out.Chip
		}
		if out.StateErr == nil {
			s.setState(out.State, out.TZEN, true, fmt.Sprintf("read through AP%d", rep.AP), b.now())
			s.OptionsUnlocked = out.OptionsUnlocked
		} else if rep.DPOK {
			s.markStale(fmt.Sprintf("not read by the last connect (%v)", out.StateErr))
		}
	})
	return out, nil
}

// readVoltage measures the target voltage. A probe that cannot measure is a
// result (verr); the probe going away or ctx is the error.
func (b *Bench) readVoltage(ctx context.Context, v *float64, ok *bool, verr *error) error {
	got, err := b.link.TargetVoltage(ctx)
	if err != nil {
		if errors.Is(err, probe.ErrDisconnected) || ctx.Err() != nil {
			return fmt.Errorf("reading the target voltage: %w", err)
		}
		*verr = err
		return nil
	}
	*v, *ok = got, true
	return nil
}

// connectionText says how a connect went, for the header.
func connectionText(r *probe.ConnectReport) string {
	s := fmt.Sprintf("%s on AP%d at %d kHz", r.Mode.Title(), r.AP, r.FrequencyKHz)
	if r.Err != nil {
		s += fmt.Sprintf(": failed at %q", r.FailedStep)
	}
	return s
}

// Disconnect leaves debug mode and releases NRST.
func (b *Bench) Disconnect(ctx context.Context, t Token) error {
	return b.run(ctx, t, "disconnect", limitShort, func(ctx context.Context) error {
		return probe.Disconnect(ctx, b.link)
	})
}
