package flashprog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/stprobe/stprobe/flashimage"
	"github.com/stprobe/stprobe/statefile"
)

// ErrVerify: the flash read back differs from the image.
var ErrVerify = errors.New("flash read back differs from the image")

// Event is one progress step of Apply, for a UI to render.
type Event struct {
	// Phase is "save", "erase", "program" or "verify".
	Phase string
	// Done and Total count bytes in that phase.
	Done, Total int
	Message     string
}

// Options are the confirmation, places and hooks of Apply.
type Options struct {
	// Confirm must equal Plan.Phrase.
	Confirm string
	// StateDir holds the journal, the lock and the audit log.
	StateDir string
	// User and ProbeSerial go into the journal and the audit line.
	User, ProbeSerial string
	// Verify reads the flash back and compares it with the image (and the
	// CRC-32 of both) after programming.
	Verify bool
	// SaveFlash, when set, receives an Intel HEX copy of the sectors that
	// hold data, before anything is erased; an error stops the write.
	SaveFlash func(hexFile []byte) error
	// Events receives progress; nil discards it.
	Events func(Event)
	// Now stamps records (default time.Now).
	Now func() time.Time
}

// Result is what Apply did.
type Result struct {
	Plan       *Plan  `json:"plan"`
	Erased     int    `json:"erased_sectors"`
	Programmed int    `json:"programmed_bytes"`
	Verified   bool   `json:"verified"`
	CRC32      uint32 `json:"crc32,omitempty"`
	Saved      int    `json:"saved_bytes,omitempty"`
	// Journal is the journal left behind ("" when the write ended cleanly).
	Journal string `json:"journal,omitempty"`
	Audited bool   `json:"audited"`
}

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

// Apply runs the plan: lock the chip's records, save the sectors that hold
// data when asked, write the journal, unlock, erase sector by sector,
// program the image sector by sector, lock, verify, audit. Every step
// before the first erase that fails leaves the chip untouched.
func Apply(ctx context.Context, c Controller, t Target, p *Plan, o Options) (*Result, error) {
	if o.Confirm != p.Phrase {
		return nil, fmt.Errorf("%w: type %q", ErrNotConfirmed, p.Phrase)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	emit := func(e Event) {
		if o.Events != nil {
			o.Events(e)
		}
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
	audit := func(result string, werr error, journal string) {
		rec := statefile.AuditRecord{
			Time: o.Now(), User: o.User, ProbeSerial: o.ProbeSerial, ChipUID: p.UID, Line: p.Line,
			Changes: []string{fmt.Sprintf("%s: %d sectors erased", kind, len(p.Erase))}, Risk: p.Risk, Result: result, Journal: journal,
		}
		if p.Image != nil {
			rec.Changes = append(rec.Changes, fmt.Sprintf("image %s (%s, %d bytes) SHA-256 %s", p.Image.Name, p.Image.Format, p.Image.Bytes, p.Image.SHA256))
		}
		if werr != nil {
			rec.Error = werr.Error()
		}
		if statefile.AppendAudit(o.StateDir, rec) == nil {
			res.Audited = true
		}
	}

	if o.SaveFlash != nil && p.NotEmpty > 0 {
		n, err := saveSectors(ctx, t, p, o.SaveFlash, emit)
		if err != nil {
			audit("refused", err, "")
			return res, fmt.Errorf("saving the flash before erasing it (nothing was erased): %w", err)
		}
		res.Saved = n
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
		audit("refused", err, "")
		return res, fmt.Errorf("%w (nothing was erased)", err)
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
		// Lock the controller again on a fresh context: the run's may be
		// cancelled.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = c.Lock(lctx)
		cancel()
		result := "failed"
		if ctx.Err() != nil {
			result = "cancelled"
		}
		audit(result, err, path)
		return res, &WriteError{Phase: phase, Sector: sector, Journal: path, Holds: j, Err: err}
	}

	if err := c.Unlock(ctx); err != nil {
		return fail("unlock", "", err)
	}
	total := len(p.Erase)
	for i, s := range p.Erase {
		emit(Event{Phase: "erase", Done: i, Total: total, Message: "erasing " + s.Name})
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
	emit(Event{Phase: "erase", Done: total, Total: total, Message: fmt.Sprintf("%d sectors erased", total)})

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
				emit(Event{Phase: "program", Done: base + n, Total: total, Message: "programming " + s.Name})
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
	if err := c.Lock(ctx); err != nil {
		return fail("lock", "", err)
	}

	if p.image != nil && o.Verify {
		crc, err := verify(ctx, t, p.image, emit)
		if err != nil {
			return fail("verify", "", err)
		}
		res.Verified, res.CRC32 = true, crc
		for i, s := range p.Erase {
			if p.hasData(s) {
				j.Sectors[i].Holds = SectorVerified
			}
		}
	}
	if err := statefile.RemoveDurable(path); err != nil {
		audit("ok", fmt.Errorf("the write ended but its journal stays: %w", err), path)
		return res, nil
	}
	res.Journal = ""
	audit("ok", nil, "")
	return res, nil
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

// verify reads every segment back and compares it; it returns the CRC-32
// (IEEE) of the image's bytes in address order, equal to the one of the
// bytes read.
func verify(ctx context.Context, t Target, im *flashimage.Image, emit func(Event)) (uint32, error) {
	total, done := im.Size(), 0
	want, got := crc32.NewIEEE(), crc32.NewIEEE()
	for _, s := range im.Segments {
		lo := s.Addr &^ 3
		hi := (s.End() + 3) &^ 3
		buf := make([]byte, hi-uint64(lo))
		for off := 0; off < len(buf); off += 64 << 10 {
			end := min(off+64<<10, len(buf))
			if err := t.ReadMem(ctx, lo+uint32(off), buf[off:end]); err != nil {
				return 0, fmt.Errorf("target: reading back 0x%08X: %w", lo+uint32(off), err)
			}
			emit(Event{Phase: "verify", Done: done + min(end, len(s.Data)), Total: total, Message: "reading back"})
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
// difference, or the CRC-32 of the image when all match.
func Verify(ctx context.Context, t Target, im *flashimage.Image, events func(Event)) (uint32, error) {
	if events == nil {
		events = func(Event) {}
	}
	return verify(ctx, t, im, events)
}

// saveSectors reads the sectors that hold data and hands them over as
// Intel HEX.
func saveSectors(ctx context.Context, t Target, p *Plan, save func([]byte) error, emit func(Event)) (int, error) {
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
		if err := t.ReadMem(ctx, s.Addr, b); err != nil {
			return 0, fmt.Errorf("target: reading %s at 0x%08X: %w", s.Name, s.Addr, err)
		}
		segs = append(segs, flashimage.Segment{Addr: s.Addr, Data: b})
		done += int(s.Size)
		emit(Event{Phase: "save", Done: done, Total: total, Message: "saving " + s.Name})
	}
	if err := save(flashimage.EncodeHEX(segs, 0, false)); err != nil {
		return 0, err
	}
	return done, nil
}
