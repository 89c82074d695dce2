package dacred

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// tlvSample has values of every alignment.
var tlvSample = []TLV{
	{Type: TypePassword, Value: []byte("abcde")},
	{Type: TypeCert, Value: []byte{1, 2, 3, 4}},
	{Type: 0x0001, Value: []byte{9}},
	{Type: 0x0102, Value: []byte{}},
	{Type: TypeToken, Value: []byte{7, 7}},
}

func appendAll(ts []TLV, pad bool) []byte {
	var b []byte
	for _, t := range ts {
		b = AppendTLV(b, t.Type, t.Value, pad)
	}
	return b
}

func sameTLVs(a, b []TLV) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Type != b[i].Type || !bytes.Equal(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

var errTest = errors.New("test sentinel")

// Both layouts decode to the same list, in a file and in a mailbox payload.
func TestTLVListLayouts(t *testing.T) {
	packed := appendAll(tlvSample, false)
	for name, b := range map[string][]byte{
		"padded":            appendAll(tlvSample, true),
		"packed":            packed,
		"packed, last word": append(append([]byte{}, packed...), make([]byte, (4-len(packed)%4)%4)...),
	} {
		for _, l := range []TLVList{{Max: 16}, {Max: 16, WordPadded: true, Err: errTest}} {
			got, err := l.Decode(b)
			if err != nil || !sameTLVs(got, tlvSample) {
				t.Errorf("%s, word padded %v: %v, %v; want %v", name, l.WordPadded, got, err, tlvSample)
			}
		}
	}
}

// Only a word-padded list (a mailbox payload) ends with zero bytes that
// are not a TLV's padding: the last value's padding (2 bytes here) and a
// zero word are 6 bytes, fewer than a header.
func TestTLVListTrailingZeros(t *testing.T) {
	b := append(appendAll(tlvSample, true), 0, 0, 0, 0)
	if got, err := (TLVList{Max: 16, WordPadded: true}).Decode(b); err != nil || !sameTLVs(got, tlvSample) {
		t.Errorf("word padded: %v, %v", got, err)
	}
	if _, err := (TLVList{Max: 16}).Decode(b); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "truncated (6 bytes left)") {
		t.Errorf("file: %v, want a truncated header wrapping ErrFormat", err)
	}
	b = append(appendAll(tlvSample, true), 0, 0, 0, 0, 0, 0, 0, 0)
	want := append(append([]TLV{}, tlvSample...), TLV{Type: 0, Value: []byte{}})
	if got, err := (TLVList{Max: 16, WordPadded: true}).Decode(b); err != nil || !sameTLVs(got, want) {
		t.Errorf("word padded: %v, %v; want a whole zero header taken as an empty TLV, not padding", got, err)
	}
}

// Every malformed list is an error wrapping the list's sentinel (ErrFormat
// when it names none), with the TLVs before the fault.
func TestTLVListMalformed(t *testing.T) {
	good := AppendTLV(nil, TypeCert, []byte{1, 2, 3, 4}, true)
	tests := []struct {
		name   string
		b      []byte
		before int
		text   string
	}{
		{"truncated header", good[:6], 0, "TLV header at byte 0 truncated (6 bytes left)"},
		{"reserved set", append([]byte{1, 0}, good[2:]...), 0, "reserved field 0x0001 not zero"},
		{"length past end", append(append([]byte{}, good...), 0, 0, 0x01, 0x02, 9, 0, 0, 0), 1, "TLV 0x0201 at byte 12: length 9 runs past the end (0 bytes left)"},
		{"too many", bytes.Repeat(good, 4), 3, "more than 3 TLVs"},
	}
	for _, tc := range tests {
		for _, l := range []TLVList{{Max: 3}, {Max: 3, WordPadded: true, Err: errTest}} {
			want := l.Err
			if want == nil {
				want = ErrFormat
			}
			got, err := l.Decode(tc.b)
			if !errors.Is(err, want) || !strings.Contains(err.Error(), tc.text) || len(got) != tc.before {
				t.Errorf("%s, word padded %v: %d TLVs, %v; want %d and %q wrapping %v", tc.name, l.WordPadded, len(got), err, tc.before, tc.text, want)
			}
		}
	}
}

// FuzzTLVListDecode: the decoder of untrusted bytes never panics, keeps
// its bound, wraps its sentinel, hands out copies, and what it decodes
// encodes (padded) back to a list that decodes the same.
func FuzzTLVListDecode(f *testing.F) {
	f.Add(appendAll(tlvSample, true))
	f.Add(appendAll(tlvSample, false))
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 0x80, 0xFF, 0xFF, 0xFF, 0xFF})
	f.Add(bytes.Repeat([]byte{0, 0, 1, 0, 0, 0, 0, 0}, 5))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, l := range []TLVList{{Max: 4}, {Max: 4, WordPadded: true, Err: errTest}} {
			in := append([]byte(nil), b...)
			got, err := l.Decode(in)
			if err != nil && !errors.Is(err, ErrFormat) && !errors.Is(err, errTest) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			if len(got) > l.Max {
				t.Fatalf("%d TLVs, at most %d", len(got), l.Max)
			}
			kept := make([]TLV, len(got))
			for i, tl := range got {
				kept[i] = TLV{Type: tl.Type, Value: append([]byte(nil), tl.Value...)}
			}
			for i := range in {
				in[i] ^= 0xFF
			}
			if !sameTLVs(got, kept) {
				t.Fatal("a value aliases the input")
			}
			if err != nil {
				continue
			}
			back, err := l.Decode(appendAll(got, true))
			if err != nil || !sameTLVs(back, got) {
				t.Fatalf("round trip: %v, %v; want %v", back, err, got)
			}
		}
	})
}
