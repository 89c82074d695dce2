package bench

import (
	"context"
	"fmt"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/targets"
)

// familyCoreAP is the core port of the connected chip when it belongs to a
// family protected by RDP levels (F1, F4, G0, G4, L4): after the reset
// that loads its option bytes an apply reconnects there, not on the
// STM32H5's AP1.
func (b *Bench) familyCoreAP() (uint8, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.state.Chip
	if c == nil || c.Family.RDP == nil {
		return 0, false
	}
	return c.Family.CoreAP, true
}

// reconnectCore connects Hot Plug on access port ap again.
func (b *Bench) reconnectCore(ctx context.Context, ap uint8) error {
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

// setFamilyProtection records the RDP level the option bytes o hold, so
// that after an apply the snapshot (the console's header, the next plan)
// shows the level the write left, not the one before it. It decodes the
// RDP register of o's snapshot as targets.ReadRDP does.
func (s *Snapshot) setFamilyProtection(o *OptionBytes) {
	scheme := o.Chip.Family.RDP
	if o.Snap == nil || o.Layout == nil {
		return
	}
	for _, r := range o.Layout.Registers {
		reg, ok := o.Snap.Cur[r.Name]
		if !ok || r.CurAddr() != scheme.Addr() {
			continue
		}
		lvl, raw := scheme.Level(reg)
		c := *o.Chip
		c.Protection, c.HasProtection = targets.Protection{Level: lvl, Raw: raw, Reg: reg}, true
		if s.Chip == o.Chip {
			s.Chip = &c
		}
		o.Chip = &c
		return
	}
}
