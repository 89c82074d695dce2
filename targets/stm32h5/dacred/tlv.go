package dacred

import (
	"encoding/binary"
	"fmt"
)

// TLV is one PSA-ADAC type-length-value item, the form of the DA mailbox
// payloads and of the password and certificate files: {u16 reserved (zero),
// u16 type, u32 length of the value in bytes, value}, little-endian
// (psa-adac core/include/psa_adac.h, psa_tlv_t).
type TLV struct {
	Type  uint16 `json:"type"`
	Value []byte `json:"value"`
}

// AppendTLV appends one TLV {u16 0, u16 type, u32 length, value}; pad
// zero-pads the value to a 4-byte multiple (the mailbox form; ST's
// password file is not padded).
func AppendTLV(b []byte, typ uint16, v []byte, pad bool) []byte {
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint16(b, typ)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
	b = append(b, v...)
	for pad && len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// TLVList says how to read one kind of TLV list: a mailbox payload or a
// file.
type TLVList struct {
	// Max bounds the TLVs of one list: one more is an error.
	Max int
	// WordPadded says the list as a whole was padded with zeros to whole
	// words (a mailbox payload): fewer zero bytes than a TLV header at
	// its end are that padding, not a truncated TLV.
	WordPadded bool
	// Err is wrapped by every decoding error; ErrFormat when nil.
	Err error
}

// Decode splits b into TLVs, each value a copy. Values may be padded to a
// 4-byte multiple (ST's MP2 template, the mailbox) or packed (the N6
// sample): after each value, zero bytes up to the next word boundary are
// skipped when a plausible TLV header (or the end of b) follows them, so
// both layouts decode. On an error Decode also returns the TLVs before it.
func (l TLVList) Decode(b []byte) ([]TLV, error) {
	bad := l.Err
	if bad == nil {
		bad = ErrFormat
	}
	var out []TLV
	i := 0
	for i < len(b) {
		if l.WordPadded && len(b)-i < tlvHeaderSize && zeros(b[i:]) {
			break // padding of the last word
		}
		if len(out) == l.Max {
			return out, fmt.Errorf("more than %d TLVs: %w", l.Max, bad)
		}
		if len(b)-i < tlvHeaderSize {
			return out, fmt.Errorf("TLV header at byte %d truncated (%d bytes left): %w", i, len(b)-i, bad)
		}
		if r := binary.LittleEndian.Uint16(b[i:]); r != 0 {
			return out, fmt.Errorf("TLV at byte %d: reserved field 0x%04X not zero: %w", i, r, bad)
		}
		typ := binary.LittleEndian.Uint16(b[i+2:])
		n := binary.LittleEndian.Uint32(b[i+4:])
		start := i + tlvHeaderSize
		if uint64(n) > uint64(len(b)-start) {
			return out, fmt.Errorf("TLV 0x%04X at byte %d: length %d runs past the end (%d bytes left): %w", typ, i, n, len(b)-start, bad)
		}
		end := start + int(n)
		out = append(out, TLV{Type: typ, Value: append([]byte(nil), b[start:end]...)})
		i = end
		// Padded layout: zero bytes up to the word boundary, then a
		// plausible header (or the end). Otherwise the next TLV is packed.
		if pad := (4 - i%4) % 4; pad > 0 && i+pad <= len(b) && zeros(b[i:i+pad]) && plausibleAt(b, i+pad) {
			i += pad
		}
	}
	return out, nil
}

// plausibleAt reports whether b ends at i or a TLV header at i has a zero
// reserved field and a length that fits the data.
func plausibleAt(b []byte, i int) bool {
	if i == len(b) {
		return true
	}
	if len(b)-i < tlvHeaderSize || b[i] != 0 || b[i+1] != 0 {
		return false
	}
	return uint64(binary.LittleEndian.Uint32(b[i+4:])) <= uint64(len(b)-i-tlvHeaderSize)
}

func zeros(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
