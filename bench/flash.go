package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stprobe/stprobe/flashimage"
	"github.com/stprobe/stprobe/flashprog"
	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/safefile"
	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets"
)

// ErrFlashRefused wraps every refusal of a flash plan: nothing was erased.
var ErrFlashRefused = flashprog.ErrRefused

// FlashSectors is "1 sector" or "N sectors", as the plans say it.
func FlashSectors(n int) string { return flashprog.Sectors(n) }

// FlashImageFormat names a firmware file format ("bin", "hex", "elf").
type FlashImageFormat = flashimage.Format

// EncodeHEX renders data read at addr as Intel HEX.
func EncodeHEX(addr uint32, data []byte) []byte {
	return flashimage.EncodeHEX([]flashimage.Segment{{Addr: addr, Data: data}}, 0, false)
}

// MaxFlashImageFile bounds a firmware file read from disk (Intel HEX is
// about 2.8 times the bytes it holds).
const MaxFlashImageFile = 64 << 20

// ReadFlashImage reads a firmware file (a regular file of bounded size)
// and decodes it, for the faces that may not read files themselves.
func ReadFlashImage(path string, o FlashImageOptions) (*FlashImage, error) {
	data, err := safefile.Read(path, "firmware file", MaxFlashImageFile)
	if err != nil {
		return nil, err
	}
	return flashimage.Parse(path, data, o)
}

// ParseFlashImage decodes a firmware file (BIN with an address, Intel HEX,
// ELF) without touching the probe, so a malformed file is refused first.
func ParseFlashImage(name string, data []byte, o FlashImageOptions) (*FlashImage, error) {
	return flashimage.Parse(name, data, o)
}

// FlashStep is one step of a flash write or erase (save, unlock, erase,
// program, verify, audit); Done and Total count sectors for the erase and
// bytes otherwise.
type FlashStep struct {
	EventMeta
	Step WriteEvent
}

func flashStep(m EventMeta, e guarded.Event) Event { return FlashStep{EventMeta: m, Step: e} }

// FlashRequest is a flash write (Image set) or erase (Erase set).
type FlashRequest struct {
	// Name is the image file's name, for the plan and the audit line.
	Name  string
	Image *FlashImage
	Erase *FlashErase
	// Verify reads the image back after programming; ResetRun resets the
	// chip after a clean write and lets it run.
	Verify, ResetRun bool
	// SaveFlash is a file to save the sectors that hold data to, as Intel
	// HEX, before they are erased ("" for none). It must not exist.
	SaveFlash string
	// Confirm is the phrase typed; Seen says the user saw the plan (a
	// console dialog: a caution plan then needs no typing).
	Confirm string
	Seen    bool
	// StateDir holds the journal and the audit log (default
	// statefile.DefaultStateDir).
	StateDir string
	// FrequencyKHz is the SWD clock (0: the probe's current one).
	FrequencyKHz int
	// QuadWordsPerPoll: see flashprog.ControllerOptions (default 1).
	QuadWordsPerPoll int
	// BurstBytes, when set, writes that many bytes per memory command and
	// reads the status once after them, whatever the chip's program unit
	// (flashprog.ControllerOptions.BytesPerPoll).
	BurstBytes int
	// RegisterByRegister keeps the host driving the flash controller where
	// a flash loader would run on the halted core (the STM32H5; see
	// flashprog.ControllerOptions).
	RegisterByRegister bool
}

// FlashOutcome is a flash write or erase carried out: the plan, what it
// did, and whether the chip was reset to run.
type FlashOutcome struct {
	Plan   *FlashPlan
	Result *FlashResult
	// Header is the plan as every guarded write shows it.
	Header *guarded.Plan
	// Audit is the audit line written (nil when none).
	Audit *AuditRecord
	// Halted is true when the core was halted for the write; Running when
	// ResetRun then reset the chip and let it run.
	Halted, Running bool
}

// coreTarget is flashprog's view of the link: the core's access port.
type coreTarget struct {
	l  *probe.Link
	ap uint8
}

func (c coreTarget) Read32(ctx context.Context, addr uint32) (uint32, error) {
	return c.l.Read32(ctx, c.ap, addr)
}

func (c coreTarget) Write32(ctx context.Context, addr, v uint32) error {
	return c.l.Write32(ctx, c.ap, addr, v)
}

func (c coreTarget) ReadMem(ctx context.Context, addr uint32, buf []byte) error {
	return transfer(ctx, c.l, false, c.ap, addr, buf)
}

func (c coreTarget) WriteMem(ctx context.Context, addr uint32, data []byte) error {
	return transfer(ctx, c.l, true, c.ap, addr, data)
}

// WriteMem16 writes data in 16-bit accesses: the STM32F1 programs flash
// only so (flashprog.HalfWordWriter).
func (c coreTarget) WriteMem16(ctx context.Context, addr uint32, data []byte) error {
	return c.l.WriteMem(ctx, c.ap, addr, 2, data)
}

// flashAttach connects Hot Plug on the core's port and finds the chip's
// flash controller.
func (b *Bench) flashAttach(ctx context.Context, r FlashRequest) (flashprog.Controller, coreTarget, *targets.Chip, error) {
	ap, chip, err := b.attach(ctx, MemRequest{AutoAP: true, FrequencyKHz: r.FrequencyKHz})
	if err != nil {
		return nil, coreTarget{}, nil, err
	}
	t := coreTarget{l: b.link, ap: ap}
	o := flashprog.ControllerOptions{QuadWordsPerPoll: r.QuadWordsPerPoll, BytesPerPoll: r.BurstBytes, RegisterByRegister: r.RegisterByRegister}
	// The STM32F4 programs with the parallelism its supply allows; a probe
	// that cannot measure it leaves 0 (taken as 3.3 V).
	if v, err := b.link.TargetVoltage(ctx); err == nil && v > 0 {
		o.TargetMillivolts = int(v*1000 + 0.5)
	}
	c, err := flashprog.ControllerFor(chip, t, o)
	if err != nil {
		return nil, t, chip, fmt.Errorf("%w: %v", ErrFlashRefused, err)
	}
	return c, t, chip, nil
}

// flashPlan plans r on the attached chip; a journal an earlier write of
// this chip left is named in the plan's notes.
func flashPlan(ctx context.Context, c flashprog.Controller, t coreTarget, chip *targets.Chip, r FlashRequest) (*FlashPlan, error) {
	uid := chip.UIDString()
	var (
		p   *FlashPlan
		err error
	)
	switch {
	case r.Image != nil:
		p, err = flashprog.PlanWrite(ctx, c, t, uid, r.Name, r.Image)
	case r.Erase != nil:
		p, err = flashprog.PlanErase(ctx, c, t, uid, *r.Erase)
	default:
		return nil, errors.New("bench: a flash request names neither an image nor an erase")
	}
	if err != nil {
		return p, err
	}
	if r.StateDir != "" {
		if j, jerr := flashprog.ReadJournal(r.StateDir, uid); jerr != nil {
			p.Notes = append(p.Notes, jerr.Error())
		} else if j != nil {
			p.Notes = append(p.Notes, fmt.Sprintf("an earlier %s of this chip was cut short (journal %s: %s); this one replaces its journal", j.Kind, flashprog.JournalPath(r.StateDir, uid), j.Summary()))
		}
	}
	return p, nil
}

// PlanFlash plans a flash write or erase without writing anything: the
// sectors, what they hold, the phrase. A refusal wraps ErrFlashRefused.
func (b *Bench) PlanFlash(ctx context.Context, t Token, r FlashRequest) (*FlashPlan, error) {
	if r.StateDir == "" {
		r.StateDir, _ = statefile.DefaultStateDir()
	}
	var p *FlashPlan
	err := b.run(ctx, t, "flash plan", flashLimit(r), func(ctx context.Context) error {
		c, tg, chip, err := b.flashAttach(ctx, r)
		if err != nil {
			return err
		}
		if p, err = flashPlan(ctx, c, tg, chip, r); err != nil {
			return err
		}
		return probe.Disconnect(ctx, b.link)
	})
	return p, err
}

// Flash runs a flash write or erase as a guarded write: plan, guard (the
// phrase), the copy of the sectors that hold data (SaveFlash), the
// execution with its journal, the audit line with the image's SHA-256;
// then, after a clean write with ResetRun, a reset that lets the chip run.
func (b *Bench) Flash(ctx context.Context, t Token, r FlashRequest) (*FlashOutcome, error) {
	if r.StateDir == "" {
		r.StateDir, _ = statefile.DefaultStateDir()
	}
	job := "flash erase"
	if r.Image != nil {
		job = "flash write"
	}
	fo := &FlashOutcome{}
	var fj *flashprog.Job
	out, err := b.guardedWrite(ctx, t, write{
		job: job, limit: flashLimit(r), step: flashStep,
		confirm:  guarded.Confirmation{Phrase: r.Confirm, Seen: r.Seen},
		stateDir: r.StateDir,
		build: func(rec guarded.Recorder) guarded.Write {
			fj = &flashprog.Job{Options: flashprog.Options{StateDir: r.StateDir, User: rec.User, ProbeSerial: rec.ProbeSerial, Verify: r.Verify, Now: b.now}}
			fj.Plan = func(ctx context.Context) (*FlashPlan, error) {
				c, tg, chip, err := b.flashAttach(ctx, r)
				if err != nil {
					return nil, err
				}
				fj.Controller, fj.Target = c, tg
				return flashPlan(ctx, c, tg, chip, r)
			}
			if r.SaveFlash != "" {
				fj.Options.SaveFlash = func(data []byte) (string, error) {
					if err := statefile.CreateDurable(r.SaveFlash, data); err != nil {
						return "", fmt.Errorf("file: saving the flash to %s: %w (nothing was erased; choose a file that does not exist)", r.SaveFlash, err)
					}
					return r.SaveFlash, nil
				}
			}
			w := fj.Write()
			execute := w.Execute
			w.Execute = func(ctx context.Context, emit guarded.Emit) (*guarded.Done, error) {
				fo.Halted = b.haltCore(ctx, fj.Target.(coreTarget), emit)
				return execute(ctx, emit)
			}
			return w
		},
		done: func(ctx context.Context, out *guarded.Outcome, err error) {
			if err == nil && r.ResetRun && fj != nil && fj.Target != nil {
				fo.Running = b.resetRun(ctx, fj.Target.(coreTarget)) == nil
			}
			_ = probe.Disconnect(ctx, b.link)
		},
	})
	if fj != nil {
		fo.Plan, fo.Result = fj.Planned, fj.Result
	}
	if out != nil {
		fo.Header, fo.Audit = out.Plan, out.Audit
	}
	if out == nil && fo.Plan == nil {
		return nil, err
	}
	return fo, err
}

// haltCore halts the core before the write (flashprog.HaltCore), says how
// that went and reports whether it halted.
func (b *Bench) haltCore(ctx context.Context, t coreTarget, emit guarded.Emit) bool {
	halted, err := flashprog.HaltCore(ctx, t)
	switch {
	case err != nil:
		emit.Send(guarded.Event{Step: "halt", Message: fmt.Sprintf("the core was not halted (%v); writing the flash with it running", err)})
	case halted:
		emit.Send(guarded.Event{Step: "halt", Message: "core halted"})
	default:
		emit.Send(guarded.Event{Step: "halt", Message: "the core did not halt (its product state may forbid it); writing the flash with it running"})
	}
	return halted && err == nil
}

// resetRun resets the chip so that it boots the new program and runs.
func (b *Bench) resetRun(ctx context.Context, t coreTarget) error {
	err := flashprog.ResetRun(ctx, t)
	b.publish(func(m EventMeta) Event {
		msg := "reset: the chip runs the new program"
		if err != nil {
			msg = fmt.Sprintf("reset failed: %v", err)
		}
		return FlashStep{EventMeta: m, Step: guarded.Event{Step: "reset", Message: msg}}
	})
	return err
}

// VerifyFlash compares the chip's flash with an image without writing: nil
// and the image's CRC-32 when every byte matches.
func (b *Bench) VerifyFlash(ctx context.Context, t Token, im *FlashImage, frequencyKHz int) (uint32, error) {
	var crc uint32
	r := FlashRequest{Image: im, FrequencyKHz: frequencyKHz}
	err := b.run(ctx, t, "flash verify", flashLimit(r), func(ctx context.Context) error {
		ap, chip, err := b.attach(ctx, MemRequest{AutoAP: true, FrequencyKHz: frequencyKHz})
		if err != nil {
			return err
		}
		tg := coreTarget{l: b.link, ap: ap}
		// A chip without a flash controller is compared as addressed.
		c, _ := flashprog.ControllerFor(chip, tg, flashprog.ControllerOptions{})
		emit := func(e guarded.Event) { b.publish(func(m EventMeta) Event { return flashStep(m, e) }) }
		if crc, err = flashprog.Verify(ctx, c, tg, im, emit); err != nil {
			return err
		}
		return probe.Disconnect(ctx, b.link)
	})
	return crc, err
}

// FlashJournalOf returns the flash journal an interrupted write left for
// the chip with this UID (nil when none).
func FlashJournalOf(stateDir, uid string) (*FlashJournal, error) {
	return flashprog.ReadJournal(stateDir, uid)
}

// flashLimit bounds a flash job: time for the erase of every sector and
// for 4 KiB/s of programming and reading back.
func flashLimit(r FlashRequest) time.Duration {
	n := 2 << 20
	if r.Image != nil {
		n = r.Image.Size()
	}
	return limitWrite + time.Duration(n/4096)*time.Second
}
