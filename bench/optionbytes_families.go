package bench

import (
	"context"
	"fmt"

	"github.com/stprobe/stprobe/obytes"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/targets"
)

// familyHooks are the apply's Reconnect and Reopen hooks on a family
// protected by RDP levels (F1, F4, G0, G4, L4): after the reset that loads
// the option bytes the core port, AP0 on these chips, is reached again Hot
// Plug (the STM32H5's hooks go to AP1).
func (b *Bench) familyHooks(ap uint8) (func(context.Context) error, func(context.Context) (obytes.Target, error)) {
	reconnect := func(ctx context.Context) error {
		opts := probe.ConnectOptions{Mode: probe.ModeHotPlug, AP: ap, FrequencyKHz: HotPlugAP1.FrequencyKHz}
		rep, err := probe.Connect(ctx, b.link, opts)
		if err != nil {
			return fmt.Errorf("reconnecting Hot Plug on AP%d: %w", ap, err)
		}
		if !rep.OK() {
			return fmt.Errorf("reconnecting Hot Plug on AP%d: step %q: %w", ap, rep.FailedStep, rep.Err)
		}
		return nil
	}
	reopen := func(ctx context.Context) (obytes.Target, error) {
		l, err := b.reopen(ctx)
		if err != nil {
			return nil, err
		}
		return l, reconnect(ctx)
	}
	return reconnect, reopen
}

// refreshProtection reads the RDP level of a family chip again after an
// apply, so that the snapshot (the console's header, the next plan) shows
// the level the write left and not the one before it.
func (b *Bench) refreshProtection(ctx context.Context, chip *targets.Chip) {
	if chip == nil || chip.Family.RDP == nil {
		return
	}
	p, err := targets.ReadRDP(ctx, b.link, chip)
	if err != nil {
		return // the snapshot keeps what it had; the next read says more
	}
	c := *chip
	c.Protection, c.HasProtection = p, true
	b.update(func(s *Snapshot) {
		if s.Chip == chip {
			s.Chip = &c
		}
		if s.OptionBytes != nil && s.OptionBytes.Chip == chip {
			ob := *s.OptionBytes
			ob.Chip = &c
			s.OptionBytes = &ob
		}
	})
}
