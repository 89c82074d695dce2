package flashprog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"time"

	"github.com/stprobe/stprobe/flashimage"
	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/statefile"
)

// ErrVerify: the flash read back differs from the image.
var ErrVerify = errors.New("flash read back differs from the image")

// Options are the places and choices of a flash write.
type Options struct {
	// StateDir holds the journal, the lock and the audit log.
	StateDir string
	// User and ProbeSerial go into the journal.
	User, ProbeSerial string
	// Verify reads the flash back and compares it with the image (and the
	// CRC-32 of both) after programming.
	Verify bool
	// SaveFlash, when set, receives an Intel HEX copy of the sectors that
	// hold data, before anything is erased, and returns where it put it;
	// an error stops the write before the erase.
	SaveFlash func(hexFile []byte) (string, error)
	// Now stamps the journal (default time.Now).
	Now func() time.Time
}

// Result is what a flash write did.
type Result struct {
	Plan       *Plan  `json:"plan"`
	Erased     int    `json:"erased_sectors"`
	Programmed int    `json:"programmed_bytes"`
	Verified   bool   `json:"verified"`
	CRC32      uint32 `json:"crc32,omitempty"`
	// Saved is where the copy of the sectors went ("" when none was made).
	Saved string `json:"saved,omitempty"`
	// Journal is the journal left behind ("" when the write ended cleanly).
	Journal string `json:"journal,omitempty"`
	// Holds is the journal's record of what each sector holds, after a
	// write that did not end cleanly.
	Holds *Journal `json:"holds,omitempty"`
	// LoaderSectors counts the sectors a flash loader on the target
	// programmed (the others went register by register).
	LoaderSectors int `json:"loader_sectors,omitempty"`
}

// loaderCounter is a controller that can program with a flash loader.
type loaderCounter interface{ LoaderSectors() int }

// WriteError is a write that failed or was interrupted after the journal
// was written: the journal says what each sector holds.
type WriteError struct {
	Phase   string
	Sector  string
	Journal string
	Holds   *Journal
	Err     error
}

// Error says where it stopped and where the journal is.
func (e *WriteError) Error() string {
	msg := fmt.Sprintf("flash %s stopped", e.Phase)
	if e.Sector != "" {
		msg += " at " + e.Sector
	}
	msg += fmt.Sprintf(": %v", e.Err)
	if e.Journal != "" {
		msg += fmt.Sprintf("; the journal %s says which sectors hold what; write the image again to finish", e.Journal)
	}
	return msg
}

// Unwrap returns the cause.
func (e *WriteError) Unwrap() error { return e.Err }

// Job is one flash write or erase as a guarded write: Plan makes its plan
// on the chip as it is; Write gives guarded.Run its parts. Result holds
// what the execution did once it ran.
type Job struct {
	Controller Controller
	Target     Target
	// Plan plans the write (PlanWrite or PlanErase on the same controller).
	Plan    func(ctx context.Context) (*Plan, error)
	Options Options

	// Planned is the plan the last Plan call made; Result the execution's.
	Planned *Plan
	Result  *Result
}

// Write is the job as guarded.Run takes it: the plan's header, the copy
// of the sectors that hold data as the backup (when SaveFlash is set), and
// the execution.
func (j *Job) Write() guarded.Write {
	w := guarded.Write{
		Plan: func(ctx context.Context) (*guarded.Plan, error) {
			p, err := j.Plan(ctx)
			j.Planned = p
			if err != nil {
				return nil, err
			}
			return p.Header(), nil
		},
		Execute: func(ctx context.Context, emit guarded.Emit) (*guarded.Done, error) {
			res, err := Execute(ctx, j.Controller, j.Target, j.Planned, j.Options, emit)
			if res == nil {
				return nil, err
			}
			if j.Result != nil && j.Result.Saved != "" {
				res.Saved = j.Result.Saved
			}
			j.Result = res
			return res.done(err), err
		},
	}
	if j.Options.SaveFlash != nil {
		w.Backup = func(ctx context.Context, emit guarded.Emit) (string, error) {
			if j.Planned.NotEmpty == 0 {
				return "", nil
			}
			data, err := saveSectors(ctx, j.Target, j.Planned, emit)
			if err != nil {
				return "", fmt.Errorf("saving the sectors that hold data (nothing was erased): %w", err)
			}
			where, err := j.Options.SaveFlash(data)
			if err != nil {
				return "", err
			}
			j.Result = &Result{Saved: where}
			return where, nil
		}
	}
	return w
}

// Header is the plan as every guarded write is planned.
func (p *Plan) Header() *guarded.Plan {
	if p == nil {
		return nil
	}
	h := &guarded.Plan{Kind: guarded.Flash, Line: p.Line, UID: p.UID, Risk: guarded.Caution, Phrase: p.Phrase, Notes: append([]string(nil), p.Notes...)}
	if len(p.Erase) > 0 {
		first, last := p.Erase[0], p.Erase[len(p.Erase)-1]
		h.Changes = append(h.Changes, fmt.Sprintf("erase %s 0x%08X..0x%08X (%s … %s), %d holding data", Sectors(len(p.Erase)), first.Addr, last.End()-1, first.Name, last.Name, p.NotEmpty))
		h.Erases = fmt.Sprintf("%s, %d of them holding data", Sectors(len(p.Erase)), p.NotEmpty)
	}
	if p.Image != nil {
		h.Changes = append(h.Changes, fmt.Sprintf("program %s (%s, %d bytes, SHA-256 %s)", p.Image.Name, p.Image.Format, p.Image.Bytes, p.Image.SHA256))
	}
	h.Reasons = []string{"caution: erasing loses what the sectors hold (keep a copy with --save-flash); the write neither locks nor bricks the chip"}
	h.Steps = []string{"unlock the flash controller", "erase sector by sector", "lock"}
	if p.Image != nil {
		h.Steps = []string{"unlock the flash controller", "erase sector by sector", programStep(p.Layout), "lock", "verify by read-back and CRC-32 (when asked)"}
	}
	return h
}

// done is the execution's report for guarded.Run.
func (r *Result) done(err error) *guarded.Done {
	d := &guarded.Done{Journal: r.Journal, Changes: r.Plan.Header().Changes}
	d.End.Started = r.Erased > 0 || err != nil && r.Journal != ""
	if r.Verified {
		d.Changes = append(d.Changes, fmt.Sprintf("verified: read back equal, CRC-32 0x%08X", r.CRC32))
	}
	if r.Saved != "" {
		d.Changes = append(d.Changes, "the sectors' data saved to "+r.Saved)
	}
	if r.Holds != nil {
		d.End.Holds = r.Holds.Summary()
	}
	return d
}

// Execute runs a plan whose confirmation guarded.Check accepted: lock the
// chip's records, write the journal, unlock, erase sector by sector,
// program the image sector by sector, lock, verify. A failure before the
// journal is written leaves the chip untouched (a nil Result); after it,
// the journal stays and says what each sector holds.
func Execute(ctx context.Context, c Controller, t Target, p *Plan, o Options, emit guarded.Emit) (*Result, error) {
	if p == nil {
		return nil, errors.New("flash: no plan to execute")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	lock, err := statefile.LockChip(o.StateDir, p.UID)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	res := &Result{Plan: p}
	kind := "flash erase"
	if p.image != nil {
		kind = "flash write"
	}
	j := &Journal{Kind: kind, ChipUID: p.UID, Line: p.Line, User: o.User, ProbeSerial: o.ProbeSerial, Started: o.Now(), Phase: "unlock"}
	if p.Image != nil {
		j.Image, j.ImageSHA256 = p.Image.Name, p.Image.SHA256
	}
	for _, s := range p.Erase {
		holds := SectorOld
		if s.Empty {
			holds = SectorErased
		}
		j.Sectors = append(j.Sectors, JournalSector{Name: s.Name, Addr: s.Addr, Size: s.Size, Holds: holds})
	}
	path, err := writeJournal(o.StateDir, j)
	if err != nil {
		return nil, fmt.Errorf("%w (nothing was erased)", err)
	}
	res.Journal = path
	// record updates the journal; a failure to write it stops the write.
	record := func(phase string, i int, holds string) error {
		j.Phase, j.Updated = phase, o.Now()
		if i >= 0 {
			j.Sectors[i].Holds = holds
		}
		_, err := writeJournal(o.StateDir, j)
		return err
	}
	fail := func(phase, sector string, err error) (*Result, error) {
		j.Error = err.Error()
		_ = record(phase, -1, "")
		// Lock the controller again on a context of its own: the run's
		// may be cancelled.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = c.Lock(lctx)
		cancel()
		res.Holds = j
		return res, &WriteError{Phase: phase, Sector: sector, Journal: path, Holds: j, Err: err}
	}

	emit.Send(guarded.Event{Step: "unlock", Message: "unlocking the flash controller"})
	if err := c.Unlock(ctx); err != nil {
		return fail("unlock", "", err)
	}
	total := len(p.Erase)
	if m, ok := c.(MassEraser); ok && p.erasesAll() {
		markAll := func(holds string) error {
			for i := range j.Sectors {
				j.Sectors[i].Holds = holds
			}
			return record("erase", -1, "")
		}
		if err := massErase(ctx, m, len(p.Erase), emit, markAll); err != nil {
			return fail("erase", "the whole flash (mass erase)", err)
		}
		res.Erased = total
	}
	for i, s := range p.Erase[res.Erased:] {
		emit.Send(guarded.Event{Step: "erase", Done: i, Total: total, Message: "erasing " + s.Name})
		if err := record("erase", i, SectorErasing); err != nil {
			return fail("erase", s.Name, err)
		}
		if err := c.Erase(ctx, s); err != nil {
			return fail("erase", s.Name, err)
		}
		if err := record("erase", i, SectorErased); err != nil {
			return fail("erase", s.Name, err)
		}
		res.Erased++
	}
	emit.Send(guarded.Event{Step: "erase", Done: total, Total: total, Message: Sectors(total) + " erased"})

	if p.image != nil {
		total := 0
		for _, s := range p.Erase {
			if p.hasData(s) {
				total += int(s.Size)
			}
		}
		done := 0
		for i, s := range p.Erase {
			if !p.hasData(s) {
				continue
			}
			if err := record("program", i, SectorProgramming); err != nil {
				return fail("program", s.Name, err)
			}
			base := done
			err := c.Program(ctx, s.Addr, p.imageBytes(s), func(n int) {
				emit.Send(guarded.Event{Step: "program", Done: base + n, Total: total, Message: "programming " + s.Name})
			})
			if err != nil {
				return fail("program", s.Name, err)
			}
			done += int(s.Size)
			res.Programmed += p.bytesIn(s)
			if err := record("program", i, SectorProgrammed); err != nil {
				return fail("program", s.Name, err)
			}
		}
	}
	if l, ok := c.(loaderCounter); ok {
		res.LoaderSectors = l.LoaderSectors()
	}
	if err := c.Lock(ctx); err != nil {
		return fail("lock", "", err)
	}

	if p.image != nil && o.Verify {
		crc, err := verify(ctx, t, p.Layout, p.image, emit)
		if err != nil {
			return fail("verify", "", err)
		}
		res.Verified, res.CRC32 = true, crc
	}
	if err := statefile.RemoveDurable(path); err != nil {
		return res, fmt.Errorf("the write ended but its journal %s stays: %w", path, err)
	}
	res.Journal = ""
	return res, nil
}

// Summary says in one line what the sectors hold, for the audit line.
func (j *Journal) Summary() string {
	counts := map[string]int{}
	var order []string
	for _, s := range j.Sectors {
		if counts[s.Holds] == 0 {
			order = append(order, s.Holds)
		}
		counts[s.Holds]++
	}
	parts := make([]string, len(order))
	for i, h := range order {
		parts[i] = fmt.Sprintf("%d %s", counts[h], h)
	}
	return "sectors: " + strings.Join(parts, "; ")
}

// bytesIn counts the image's bytes inside s.
func (p *Plan) bytesIn(s Sector) int {
	n := 0
	for _, seg := range p.image.Segments {
		lo := max(uint64(seg.Addr), uint64(s.Addr))
		hi := min(seg.End(), s.End())
		if hi > lo {
			n += int(hi - lo)
		}
	}
	return n
}

// verify reads every segment back (each sector of l through the alias its
// security needs; l nil: as addressed) and compares it; it returns the
// CRC-32 (IEEE) of the image's bytes in address order, equal to the one of
// the bytes read.
func verify(ctx context.Context, t Target, l *Layout, im *flashimage.Image, emit guarded.Emit) (uint32, error) {
	total, done := im.Size(), 0
	want, got := crc32.NewIEEE(), crc32.NewIEEE()
	for _, s := range im.Segments {
		lo := s.Addr &^ 3
		hi := (s.End() + 3) &^ 3
		buf := make([]byte, hi-uint64(lo))
		for off := 0; off < len(buf); off += 64 << 10 {
			end := min(off+64<<10, len(buf))
			if err := l.readMem(ctx, t, lo+uint32(off), buf[off:end]); err != nil {
				return 0, fmt.Errorf("target: reading back 0x%08X: %w", lo+uint32(off), err)
			}
			emit.Send(guarded.Event{Step: "verify", Done: done + min(end, len(s.Data)), Total: total, Message: "reading back"})
		}
		back := buf[s.Addr-lo : uint64(s.Addr-lo)+uint64(len(s.Data))]
		want.Write(s.Data)
		got.Write(back)
		if !bytes.Equal(back, s.Data) {
			for i := range back {
				if back[i] != s.Data[i] {
					return 0, fmt.Errorf("%w: first at 0x%08X (read 0x%02X, the image has 0x%02X)", ErrVerify, s.Addr+uint32(i), back[i], s.Data[i])
				}
			}
		}
		done += len(s.Data)
	}
	if want.Sum32() != got.Sum32() {
		return 0, fmt.Errorf("%w: CRC-32 0x%08X read, 0x%08X expected", ErrVerify, got.Sum32(), want.Sum32())
	}
	return want.Sum32(), nil
}

// Verify compares the flash with an image without writing: the first
// difference, or the CRC-32 of the image when all match. With the
// controller's layout, secure sectors are read through the secure alias
// and an image for the secure alias is compared with the same flash.
func Verify(ctx context.Context, c Controller, t Target, im *flashimage.Image, emit guarded.Emit) (uint32, error) {
	var l *Layout
	if c != nil {
		var err error
		if l, err = c.Layout(ctx); err != nil {
			return 0, err
		}
		if l.Unreadable != "" {
			return 0, fmt.Errorf("flash: cannot verify: %s", l.Unreadable)
		}
		if im, _, err = toNonSecureAlias(im, l); err != nil {
			return 0, err
		}
	}
	return verify(ctx, t, l, im, emit)
}

// saveSectors reads the sectors that hold data and returns them as Intel
// HEX.
func saveSectors(ctx context.Context, t Target, p *Plan, emit guarded.Emit) ([]byte, error) {
	var segs []flashimage.Segment
	total, done := 0, 0
	for _, s := range p.Erase {
		if !s.Empty {
			total += int(s.Size)
		}
	}
	for _, s := range p.Erase {
		if s.Empty {
			continue
		}
		b := make([]byte, s.Size)
		if err := p.Layout.readMem(ctx, t, s.Addr, b); err != nil {
			return nil, fmt.Errorf("target: reading %s at 0x%08X: %w", s.Name, s.Addr, err)
		}
		segs = append(segs, flashimage.Segment{Addr: s.Addr, Data: b})
		done += int(s.Size)
		emit.Send(guarded.Event{Step: "save", Done: done, Total: total, Message: "saving " + s.Name})
	}
	return flashimage.EncodeHEX(segs, 0, false), nil
}
