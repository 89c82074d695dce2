package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/targets"
)

// MemRequest is a memory transfer: Len bytes from Addr through an access
// port (AutoAP: the identified chip's core port, AP1 on an STM32H5).
type MemRequest struct {
	AP           uint8
	AutoAP       bool
	Addr         uint32
	Len          int
	FrequencyKHz int // SWD clock wanted; 0 keeps the probe's current clock
}

// MaxMemRead bounds one memory read (16 MiB): more is a mistake, not a dump.
const MaxMemRead = 16 << 20

// ReadMemory connects Hot Plug (nothing written to the core) and reads
// r.Len bytes from r.Addr. Long reads report their progress as
// ProbeProgress events.
func (b *Bench) ReadMemory(ctx context.Context, t Token, r MemRequest) ([]byte, error) {
	if r.Len <= 0 || r.Len > MaxMemRead {
		return nil, fmt.Errorf("read of %d bytes: want 1 to %d", r.Len, MaxMemRead)
	}
	var out []byte
	err := b.run(ctx, t, "mem read", memLimit(r.Len), func(ctx context.Context) error {
		ap, _, err := b.attach(ctx, r)
		if err != nil {
			return err
		}
		buf := make([]byte, r.Len)
		if err := transfer(ctx, b.link, false, ap, r.Addr, buf); err != nil {
			return fmt.Errorf("reading %d bytes at 0x%08X through AP%d: %w", r.Len, r.Addr, ap, err)
		}
		out = buf
		return probe.Disconnect(ctx, b.link)
	})
	return out, err
}

// ErrNotRAM refuses a memory write outside the chip's SRAM.
var ErrNotRAM = errors.New("memory write refused")

// WriteMemory connects Hot Plug, identifies the chip and writes data at
// r.Addr — only into the chip's SRAM: flash takes its own erase and
// program sequence, and a plain write elsewhere (peripherals, option
// registers) could change the chip behind the guards.
func (b *Bench) WriteMemory(ctx context.Context, t Token, r MemRequest, data []byte) error {
	if err := b.checkWritable("mem write"); err != nil {
		return err
	}
	if len(data) == 0 || len(data) > MaxMemRead {
		return fmt.Errorf("write of %d bytes: want 1 to %d", len(data), MaxMemRead)
	}
	r.Len = len(data)
	return b.run(ctx, t, "mem write", memLimit(r.Len), func(ctx context.Context) error {
		ap, chip, err := b.attach(ctx, r)
		if err != nil {
			return err
		}
		if chip == nil {
			return fmt.Errorf("%w: the chip is not identified, so stprobe cannot tell its RAM from its flash", ErrNotRAM)
		}
		reg, err := chip.Line.RegionOf(r.Addr, r.Len)
		switch {
		case err != nil:
			return fmt.Errorf("%w: %v", ErrNotRAM, err)
		case reg.Kind == targets.RegionFlash:
			return fmt.Errorf("%w: 0x%08X is %s flash; flash is written by its erase-and-program sequence, which stprobe does not run (use the option-byte commands for option bytes)", ErrNotRAM, r.Addr, chip.Line.Name)
		case reg.Kind != targets.RegionSRAM:
			return fmt.Errorf("%w: 0x%08X is not in the SRAM of %s (0x%08X, %d KiB); only RAM is written", ErrNotRAM, r.Addr, chip.Line.Name, targets.SRAMBase, chip.Line.SRAMKB)
		}
		if err := transfer(ctx, b.link, true, ap, r.Addr, data); err != nil {
			return fmt.Errorf("writing %d bytes at 0x%08X through AP%d: %w", r.Len, r.Addr, ap, err)
		}
		b.log.WithFields(map[string]any{"addr": fmt.Sprintf("0x%08X", r.Addr), "bytes": r.Len, "ap": ap}).Info("memory written")
		return probe.Disconnect(ctx, b.link)
	})
}

// memLimit bounds a transfer: a few seconds, and time for 16 KiB/s.
func memLimit(n int) time.Duration { return limitShort + time.Duration(n/16)*time.Millisecond }

// attach connects Hot Plug on the request's port and identifies the chip.
func (b *Bench) attach(ctx context.Context, r MemRequest) (uint8, *targets.Chip, error) {
	ap := r.AP
	o := probe.ConnectOptions{Mode: probe.ModeHotPlug, AP: ap, FrequencyKHz: r.FrequencyKHz}
	rep, err := probe.Connect(ctx, b.link, o)
	if err != nil {
		return 0, nil, fmt.Errorf("connecting Hot Plug on AP%d: %w", ap, err)
	}
	if !rep.DPOK {
		return 0, nil, fmt.Errorf("connecting Hot Plug on AP%d: the debug port does not answer (step %q): %w", ap, rep.FailedStep, rep.Err)
	}
	chip, _ := targets.Identify(ctx, b.link, rep.DPIDR)
	if r.AutoAP && chip != nil && chip.Family.CoreAP != ap {
		ap = chip.Family.CoreAP
		o.AP, o.FrequencyKHz = ap, 0 // the clock is set already
		if rep, err = probe.Connect(ctx, b.link, o); err != nil {
			return 0, nil, fmt.Errorf("connecting Hot Plug on AP%d: %w", ap, err)
		}
	}
	if !rep.APOK {
		return 0, nil, fmt.Errorf("AP%d gives no memory access (step %q): %w", ap, rep.FailedStep, rep.Err)
	}
	b.update(func(s *Snapshot) {
		s.Connection = connectionText(rep)
		if chip != nil {
			s.Chip = chip
		}
	})
	return ap, chip, nil
}

// transfer moves buf at addr with 32-bit accesses, and byte accesses for an
// unaligned head and tail.
func transfer(ctx context.Context, l *probe.Link, write bool, ap uint8, addr uint32, buf []byte) error {
	do := func(a uint32, width int, p []byte) error {
		if len(p) == 0 {
			return nil
		}
		if write {
			return l.WriteMem(ctx, ap, a, width, p)
		}
		return l.ReadMem(ctx, ap, a, width, p)
	}
	head := int((4 - addr%4) % 4)
	head = min(head, len(buf))
	body := (len(buf) - head) &^ 3
	if err := do(addr, 1, buf[:head]); err != nil {
		return err
	}
	if err := do(addr+uint32(head), 4, buf[head:head+body]); err != nil {
		return err
	}
	return do(addr+uint32(head+body), 1, buf[head+body:])
}

// saveFlashChunk is the read size of the flash save (one progress step).
const saveFlashChunk = 16 << 10

// saveFlash reads the whole user flash Hot Plug on AP1 into a new file,
// reporting its progress as events ("save-flash", bytes done of total),
// and returns how many bytes it saved.
func (b *Bench) saveFlash(ctx context.Context, path string, chip *targets.Chip, emit guarded.Emit) (int, error) {
	total := int(chip.FlashKB) * 1024
	if total <= 0 || total > MaxMemRead {
		return 0, fmt.Errorf("flash size %d KiB unknown or too large", chip.FlashKB)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("file: %w (give a new file name)", err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(path)
		}
	}()
	rep, err := probe.Connect(ctx, b.link, HotPlugAP1)
	if err != nil {
		return 0, fmt.Errorf("connecting Hot Plug on AP1: %w", err)
	}
	if !rep.OK() {
		return 0, fmt.Errorf("AP1 does not answer (step %q): %w", rep.FailedStep, rep.Err)
	}
	buf := make([]byte, saveFlashChunk)
	start := time.Now()
	for off := 0; off < total; off += len(buf) {
		n := min(len(buf), total-off)
		emit.Send(guarded.Event{Step: "save-flash", Done: off, Total: total, Message: fmt.Sprintf("saving the user flash: %d of %d KiB", off/1024, total/1024)})
		if err := transfer(ctx, b.link, false, 1, targets.FlashMemBase+uint32(off), buf[:n]); err != nil {
			return 0, fmt.Errorf("reading flash at 0x%08X: %w", targets.FlashMemBase+uint32(off), err)
		}
		if _, err := f.Write(buf[:n]); err != nil {
			return 0, fmt.Errorf("file: writing %s: %w", path, err)
		}
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("file: syncing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("file: closing %s: %w", path, err)
	}
	ok = true
	emit.Send(guarded.Event{Step: "save-flash", Done: total, Total: total, Message: fmt.Sprintf("saved %d KiB of user flash to %s in %v", total/1024, path, time.Since(start).Round(time.Millisecond))})
	return total, probe.Disconnect(ctx, b.link)
}
