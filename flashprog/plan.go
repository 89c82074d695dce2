package flashprog

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/stprobe/stprobe/flashimage"
	"github.com/stprobe/stprobe/guarded"
)

// Errors of planning: nothing was erased when they are returned.
var (
	// ErrRefused wraps every reason a plan refuses an image or a range.
	ErrRefused = errors.New("flash write refused before anything was erased")
)

// Plan is what a flash write or erase will do.
type Plan struct {
	// UID identifies the chip (journal, lock, audit); Line names it.
	UID    string  `json:"uid"`
	Line   string  `json:"line"`
	Layout *Layout `json:"layout"`
	// Erase are the sectors the write erases, in address order, each
	// saying whether it held data when the plan was made.
	Erase []Sector `json:"erase"`
	// NotEmpty counts the sectors of Erase that hold data: a copy
	// (--save-flash) is offered first.
	NotEmpty int `json:"not_empty"`
	// Image is what a write programs (nil for an erase).
	Image *ImageInfo `json:"image,omitempty"`
	// Risk is guarded.Caution: erasing loses what the sectors held, but
	// it neither locks nor bricks the chip. Phrase is what the user types
	// to confirm.
	Risk   guarded.Risk `json:"risk"`
	Phrase string       `json:"phrase"`
	Notes  []string     `json:"notes,omitempty"`

	image *flashimage.Image
}

// ImageInfo describes the image of a write plan.
type ImageInfo struct {
	Name     string            `json:"name"`
	Format   flashimage.Format `json:"format"`
	Bytes    int               `json:"bytes"`
	SHA256   string            `json:"sha256"`
	Segments []SegmentInfo     `json:"segments"`
	Entry    uint32            `json:"entry,omitempty"`
}

// SegmentInfo is one segment of an image: its address and length.
type SegmentInfo struct {
	Addr uint32 `json:"addr"`
	Len  int    `json:"len"`
}

// PlanWrite plans programming im (read from the file name) on the chip
// with this UID: the image must lie in the flash and touch no sector the
// current state forbids; the sectors it touches are read to tell whether
// they hold data. Refusals wrap ErrRefused.
func PlanWrite(ctx context.Context, c Controller, t Target, uid, name string, im *flashimage.Image) (*Plan, error) {
	l, err := c.Layout(ctx)
	if err != nil {
		return nil, err
	}
	var notes []string
	if im, notes, err = toNonSecureAlias(im, l); err != nil {
		return nil, err
	}
	if size := im.Size(); size > int(l.Size) {
		return nil, fmt.Errorf("%w: the image holds %d bytes, more than the %d KiB flash of this %s", ErrRefused, size, l.Size>>10, l.Line)
	}
	if err := im.Within(flashimage.Range{Start: l.Base, End: uint64(l.Base) + uint64(l.Size)}); err != nil {
		where := fmt.Sprintf("0x%08X..0x%08X", l.Base, uint64(l.Base)+uint64(l.Size)-1)
		if l.SecureBase != 0 {
			where += fmt.Sprintf(", or its secure alias 0x%08X..0x%08X", l.SecureBase, uint64(l.SecureBase)+uint64(l.Size)-1)
		}
		return nil, fmt.Errorf("%w: %v (the flash of this %s is %s)", ErrRefused, err, l.Line, where)
	}
	var touched []Sector
	for _, s := range l.Sectors {
		for _, seg := range im.Segments {
			if uint64(seg.Addr) < s.End() && seg.End() > uint64(s.Addr) {
				touched = append(touched, s)
				break
			}
		}
	}
	for _, s := range touched {
		if s.Protected != "" {
			return nil, fmt.Errorf("%w: the image covers %s (0x%08X): %s", ErrRefused, s.Name, s.Addr, s.Protected)
		}
	}
	p := &Plan{UID: uid, Line: l.Line, Layout: l, Risk: guarded.Caution, image: im, Notes: notes}
	sum := im.SHA256
	p.Image = &ImageInfo{Name: name, Format: im.Format, Bytes: im.Size(), SHA256: hex.EncodeToString(sum[:]), Entry: im.Entry}
	for _, s := range im.Segments {
		p.Image.Segments = append(p.Image.Segments, SegmentInfo{Addr: s.Addr, Len: len(s.Data)})
	}
	if err := p.fill(ctx, t, touched); err != nil {
		return nil, err
	}
	p.Phrase = erasePhrase(len(p.Erase))
	if p.Image.Entry != 0 && len(im.Segments) > 0 && p.Image.Entry >= l.Base && uint64(p.Image.Entry) < uint64(l.Base)+uint64(l.Size) {
		p.Notes = append(p.Notes, fmt.Sprintf("the image's entry point is 0x%08X", p.Image.Entry))
	}
	return p, nil
}

// EraseRequest says what to erase: All, a sector range by index in the
// layout (First..Last), or the sectors covering Addr..Addr+Len.
type EraseRequest struct {
	All         bool
	First, Last int
	Sectors     bool
	Addr        uint32
	Len         uint32
}

// PlanErase plans erasing the sectors r names.
func PlanErase(ctx context.Context, c Controller, t Target, uid string, r EraseRequest) (*Plan, error) {
	l, err := c.Layout(ctx)
	if err != nil {
		return nil, err
	}
	var pick []Sector
	switch {
	case r.All:
		pick = l.Sectors
	case r.Sectors:
		if r.First < 0 || r.Last < r.First || r.Last >= len(l.Sectors) {
			return nil, fmt.Errorf("%w: sectors %d-%d: this %s has sectors 0-%d (in address order)", ErrRefused, r.First, r.Last, l.Line, len(l.Sectors)-1)
		}
		pick = l.Sectors[r.First : r.Last+1]
	default:
		end := uint64(r.Addr) + uint64(r.Len)
		if r.Len == 0 || r.Addr < l.Base || end > uint64(l.Base)+uint64(l.Size) {
			return nil, fmt.Errorf("%w: 0x%08X + %d bytes is not inside the flash 0x%08X..0x%08X", ErrRefused, r.Addr, r.Len, l.Base, uint64(l.Base)+uint64(l.Size)-1)
		}
		for _, s := range l.Sectors {
			if uint64(r.Addr) < s.End() && end > uint64(s.Addr) {
				pick = append(pick, s)
			}
		}
	}
	for _, s := range pick {
		if s.Protected != "" {
			return nil, fmt.Errorf("%w: %s (0x%08X): %s", ErrRefused, s.Name, s.Addr, s.Protected)
		}
	}
	p := &Plan{UID: uid, Line: l.Line, Layout: l, Risk: guarded.Caution}
	if err := p.fill(ctx, t, pick); err != nil {
		return nil, err
	}
	p.noteMassErase(c)
	p.Phrase = erasePhrase(len(p.Erase))
	return p, nil
}

// fill reads the sectors to erase and notes which hold data.
func (p *Plan) fill(ctx context.Context, t Target, sectors []Sector) error {
	buf := make([]byte, 0)
	for _, s := range sectors {
		if cap(buf) < int(s.Size) {
			buf = make([]byte, s.Size)
		}
		b := buf[:s.Size]
		if err := p.Layout.readMem(ctx, t, s.Addr, b); err != nil {
			return fmt.Errorf("target: reading %s at 0x%08X to see whether it holds data: %w", s.Name, s.Addr, err)
		}
		s.Empty = allFF(b)
		if !s.Empty {
			p.NotEmpty++
		}
		p.Erase = append(p.Erase, s)
	}
	if p.NotEmpty > 0 {
		p.Notes = append(p.Notes, fmt.Sprintf("%d of the %s to erase hold data: keep a copy first (--save-flash FILE) if it matters", p.NotEmpty, Sectors(len(p.Erase))))
	}
	return nil
}

// imageBytes returns what the image puts in s (0xFF where it puts
// nothing).
func (p *Plan) imageBytes(s Sector) []byte {
	return p.image.Bytes(s.Addr, int(s.Size), 0xFF)
}

// hasData reports whether the image puts anything in s.
func (p *Plan) hasData(s Sector) bool {
	if p.image == nil {
		return false
	}
	for _, seg := range p.image.Segments {
		if uint64(seg.Addr) < s.End() && seg.End() > uint64(s.Addr) {
			return true
		}
	}
	return false
}

// erasePhrase is the confirmation phrase of a plan erasing n sectors.
func erasePhrase(n int) string { return "erase " + Sectors(n) }

// Sectors is "1 sector" or "N sectors".
func Sectors(n int) string {
	if n == 1 {
		return "1 sector"
	}
	return fmt.Sprintf("%d sectors", n)
}

// toNonSecureAlias moves the segments an image places in the flash's
// secure alias to the same flash through the non-secure alias (each sector
// is then written through the side its security needs), with a note.
func toNonSecureAlias(im *flashimage.Image, l *Layout) (*flashimage.Image, []string, error) {
	if l.SecureBase == 0 {
		return im, nil, nil
	}
	secure := flashimage.Range{Start: l.SecureBase, End: uint64(l.SecureBase) + uint64(l.Size)}
	moved := false
	segs := make([]flashimage.Segment, len(im.Segments))
	for i, s := range im.Segments {
		segs[i] = s
		if secure.Contains(s) {
			segs[i].Addr = s.Addr - l.SecureBase + l.Base
			moved = true
		}
	}
	if !moved {
		return im, nil, nil
	}
	out, err := flashimage.FromSegments(im.Format, segs, im.SHA256, im.Entry, im.HasEntry)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: through both aliases the image writes the same flash twice: %v", ErrRefused, err)
	}
	return out, []string{fmt.Sprintf("the image addresses the secure alias 0x%08X: the same flash from 0x%08X", l.SecureBase, l.Base)}, nil
}
