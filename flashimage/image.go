// Package flashimage reads the firmware files users hand to `stprobe flash`:
// raw binaries (with the address they go to), Intel HEX and ELF. Every
// format comes out the same way: the bytes to program as sorted,
// non-overlapping segments, adjacent ones merged.
//
// The decoders take untrusted bytes: they return errors (with the line or
// the segment at fault), never panic, and refuse data that would write a
// byte twice.
package flashimage

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// Format names what a file was read as.
type Format string

// The formats the package reads.
const (
	FormatBIN Format = "bin"
	FormatHEX Format = "hex"
	FormatELF Format = "elf"
)

// MaxImage bounds the bytes an image may hold (64 MiB, far more than any
// STM32's flash): a file claiming more is a mistake or an attack.
const MaxImage = 64 << 20

// Segment is a run of bytes to place at Addr.
type Segment struct {
	Addr uint32
	Data []byte
}

// End is the address after the segment's last byte (as uint64: a segment
// may end at 4 GiB).
func (s Segment) End() uint64 { return uint64(s.Addr) + uint64(len(s.Data)) }

// Image is a decoded firmware file.
type Image struct {
	Format Format
	// Segments are sorted by address, never overlap, and adjacent ones are
	// merged.
	Segments []Segment
	// Entry is the start address a HEX (record 03 or 05) or ELF file names;
	// HasEntry says whether it named one.
	Entry    uint32
	HasEntry bool
	// SHA256 is the digest of the file as read, for the audit log.
	SHA256 [32]byte
}

// Size is the number of bytes the image holds.
func (im *Image) Size() int {
	n := 0
	for _, s := range im.Segments {
		n += len(s.Data)
	}
	return n
}

// Span returns the first address and the address after the last byte; ok
// is false for an empty image.
func (im *Image) Span() (lo uint32, hi uint64, ok bool) {
	if len(im.Segments) == 0 {
		return 0, 0, false
	}
	return im.Segments[0].Addr, im.Segments[len(im.Segments)-1].End(), true
}

// Range is an address range [Start, End).
type Range struct {
	Start uint32
	End   uint64
}

// Contains reports whether the segment lies wholly inside r.
func (r Range) Contains(s Segment) bool {
	return s.Addr >= r.Start && s.End() <= r.End
}

// ErrOutside is wrapped when a segment lies outside the ranges allowed.
var ErrOutside = errors.New("image outside the chip's flash")

// Within refuses an image with a segment that does not lie wholly in one of
// the ranges (the chip's flash), naming the first such segment.
func (im *Image) Within(rs ...Range) error {
	for _, s := range im.Segments {
		in := false
		for _, r := range rs {
			if r.Contains(s) {
				in = true
				break
			}
		}
		if !in {
			return fmt.Errorf("%w: %d bytes at 0x%08X..0x%08X are not in %s", ErrOutside, len(s.Data), s.Addr, s.End()-1, rangesText(rs))
		}
	}
	return nil
}

func rangesText(rs []Range) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("0x%08X..0x%08X", r.Start, r.End-1)
	}
	return strings.Join(parts, " or ")
}

// Bytes returns the image's bytes from addr for n bytes, with fill where
// the image has none.
func (im *Image) Bytes(addr uint32, n int, fill byte) []byte {
	out := bytes.Repeat([]byte{fill}, n)
	end := uint64(addr) + uint64(n)
	for _, s := range im.Segments {
		if s.End() <= uint64(addr) || uint64(s.Addr) >= end {
			continue
		}
		lo := max(uint64(s.Addr), uint64(addr))
		hi := min(s.End(), end)
		copy(out[lo-uint64(addr):hi-uint64(addr)], s.Data[lo-uint64(s.Addr):hi-uint64(s.Addr)])
	}
	return out
}

// Options say how to read a file.
type Options struct {
	// Addr is where a raw binary goes; HasAddr says it was given. A HEX or
	// ELF file carries its addresses and refuses one.
	Addr    uint32
	HasAddr bool
	// Format forces a format; empty picks it from the content and the name.
	Format Format
}

// Detect picks the format of a file: ELF by its magic number, HEX by its
// name (.hex, .ihex, .ihx) or a first line that starts with ':', BIN
// otherwise.
func Detect(name string, data []byte) Format {
	if bytes.HasPrefix(data, []byte("\x7fELF")) {
		return FormatELF
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".hex", ".ihex", ".ihx":
		return FormatHEX
	}
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] == ':' && isText(data) {
		return FormatHEX
	}
	return FormatBIN
}

// isText reports whether the first KiB is printable ASCII (a HEX file).
func isText(data []byte) bool {
	for _, c := range data[:min(len(data), 1024)] {
		if c != '\n' && c != '\r' && c != '\t' && (c < 0x20 || c > 0x7E) {
			return false
		}
	}
	return true
}

// Parse decodes the file name (used for the format and in errors) with
// content data.
func Parse(name string, data []byte, o Options) (*Image, error) {
	f := o.Format
	if f == "" {
		f = Detect(name, data)
	}
	var (
		im  *Image
		err error
	)
	switch f {
	case FormatBIN:
		if !o.HasAddr {
			return nil, fmt.Errorf("%s: a raw binary has no addresses: give the address it goes to (--addr, e.g. 0x08000000)", name)
		}
		im, err = ParseBIN(data, o.Addr)
	case FormatHEX, FormatELF:
		if o.HasAddr {
			return nil, fmt.Errorf("%s: an %s file carries its own addresses; --addr is only for raw binaries", name, strings.ToUpper(string(f)))
		}
		if f == FormatHEX {
			im, err = ParseHEX(data)
		} else {
			im, err = ParseELF(data)
		}
	default:
		return nil, fmt.Errorf("%s: unknown format %q (want bin, hex or elf)", name, f)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return im, nil
}

// ParseBIN places data at addr.
func ParseBIN(data []byte, addr uint32) (*Image, error) {
	if len(data) == 0 {
		return nil, errors.New("raw binary: the file is empty")
	}
	if len(data) > MaxImage {
		return nil, fmt.Errorf("raw binary: %d bytes, more than the %d MiB an image may hold", len(data), MaxImage>>20)
	}
	if uint64(addr)+uint64(len(data)) > 1<<32 {
		return nil, fmt.Errorf("raw binary: %d bytes at 0x%08X run past the end of the address space", len(data), addr)
	}
	im := &Image{Format: FormatBIN, Segments: []Segment{{Addr: addr, Data: append([]byte(nil), data...)}}}
	im.SHA256 = sha256.Sum256(data)
	return im, nil
}

// normalize sorts segs, refuses overlaps (describe names a segment for
// the error) and merges adjacent segments.
func normalize(segs []Segment, describe func(i int) string) ([]Segment, error) {
	idx := make([]int, len(segs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return segs[idx[a]].Addr < segs[idx[b]].Addr })
	var out []Segment
	prev := -1
	for _, i := range idx {
		s := segs[i]
		if len(s.Data) == 0 {
			continue
		}
		if len(out) > 0 {
			last := &out[len(out)-1]
			switch {
			case uint64(s.Addr) < last.End():
				return nil, fmt.Errorf("%s overlaps %s at 0x%08X: a byte would be written twice", describe(i), describe(prev), s.Addr)
			case uint64(s.Addr) == last.End():
				last.Data = append(last.Data, s.Data...)
				prev = i
				continue
			}
		}
		out = append(out, Segment{Addr: s.Addr, Data: append([]byte(nil), s.Data...)})
		prev = i
	}
	if len(out) == 0 {
		return nil, errors.New("the file holds no data to program")
	}
	return out, nil
}

// FromSegments builds an image of format f from segs (sorted, checked for
// overlaps and merged like a decoded file's), with the digest and entry of
// the file they came from.
func FromSegments(f Format, segs []Segment, sum [32]byte, entry uint32, hasEntry bool) (*Image, error) {
	out, err := normalize(segs, func(i int) string {
		return fmt.Sprintf("the segment at 0x%08X (%d bytes)", segs[i].Addr, len(segs[i].Data))
	})
	if err != nil {
		return nil, err
	}
	return &Image{Format: f, Segments: out, SHA256: sum, Entry: entry, HasEntry: hasEntry}, nil
}
