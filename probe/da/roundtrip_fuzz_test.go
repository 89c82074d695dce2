package da

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// tlvsFromBytes builds a TLV list from arbitrary bytes: per TLV a u16 type,
// a length byte, then that many value bytes (fewer at the end of b).
func tlvsFromBytes(b []byte) []TLV {
	var out []TLV
	for len(b) >= 3 {
		typ := binary.LittleEndian.Uint16(b)
		n := min(int(b[2]), len(b)-3)
		out = append(out, TLV{Type: typ, Value: b[3 : 3+n]})
		b = b[3+n:]
	}
	return out
}

// FuzzTLVRoundTrip: a list EncodeTLV builds (values padded to words)
// decodes back to the same types and values, up to maxTLVs items; a longer
// list is refused with ErrMalformed, never truncated silently.
func FuzzTLVRoundTrip(f *testing.F) {
	var seed []byte
	for _, t := range sampleTLVs() {
		seed = binary.LittleEndian.AppendUint16(seed, t.Type)
		seed = append(seed, byte(len(t.Value)))
		seed = append(seed, t.Value...)
	}
	f.Add(seed)
	f.Add([]byte{0, 0, 0})                            // one empty TLV of type 0: eight zero bytes
	f.Add([]byte{0, 0, 1, 0, 0, 0, 2, 0})             // a zero value byte, then a short tail
	f.Add(bytes.Repeat([]byte{1, 0, 0}, maxTLVs+1))   // one TLV too many
	f.Add([]byte{0x00, 0x80, 5, 0, 0, 0, 0, 0, 0, 0}) // value of zeros, padded with zeros
	f.Fuzz(func(t *testing.T, b []byte) {
		want := tlvsFromBytes(b)
		var enc []byte
		for _, tl := range want {
			enc = append(enc, EncodeTLV(tl)...)
		}
		if len(enc)%4 != 0 {
			t.Fatalf("encoding of %d bytes is not whole words", len(enc))
		}
		got, err := DecodeTLVs(enc)
		if len(want) > maxTLVs {
			if !errors.Is(err, ErrMalformed) || len(got) != maxTLVs {
				t.Fatalf("%d TLVs: got %d, %v; want the first %d and ErrMalformed", len(want), len(got), err, maxTLVs)
			}
			return
		}
		if err != nil {
			t.Fatalf("decoding % x: %v", enc, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d TLVs decoded, %d encoded", len(got), len(want))
		}
		for i := range want {
			if got[i].Type != want[i].Type || !bytes.Equal(got[i].Value, want[i].Value) {
				t.Fatalf("TLV %d: %#04x % x, want %#04x % x", i, got[i].Type, got[i].Value, want[i].Type, want[i].Value)
			}
		}
		// The packed layout (no padding) may decode differently where it is
		// ambiguous, but it never panics and always stays within bounds.
		if ts, err := DecodeTLVs(packTLVs(want)); len(ts) > maxTLVs || err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("packed: %d TLVs, %v", len(ts), err)
		}
	})
}

// FuzzResponseOfRequest: the mailbox words EncodeRequest builds have the
// shape of a response, so DecodeResponse reads them back: the command in
// the status half, the payload zero-padded to whole words, the length in
// the unit asked for. Payloads longer than a response may be are refused.
func FuzzResponseOfRequest(f *testing.F) {
	f.Add(uint16(CmdDiscovery), []byte{}, false)
	f.Add(uint16(CmdAuthResponse), []byte{1, 2, 3, 4, 5}, true)
	f.Add(uint16(0xFFFF), bytes.Repeat([]byte{0xA5}, 4*maxResponseWords), false)
	f.Add(uint16(CmdLCSChange), bytes.Repeat([]byte{0x5A}, 4*maxResponseWords+1), true)
	f.Fuzz(func(t *testing.T, cmd uint16, payload []byte, inBytes bool) {
		ws := EncodeRequest(Command(cmd), payload, inBytes)
		words := (len(payload) + 3) / 4
		if len(ws) != headerWords+words {
			t.Fatalf("%d words for a %d-byte payload", len(ws), len(payload))
		}
		st, got, err := DecodeResponse(ws, inBytes)
		if words > maxResponseWords {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("%d-word payload accepted: %v", words, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("decoding %08X: %v", ws, err)
		}
		if st != Status(cmd) || len(got) != 4*words || !bytes.Equal(got[:len(payload)], payload) {
			t.Fatalf("status %v, % x; want %v, % x", st, got, Status(cmd), payload)
		}
		for _, c := range got[len(payload):] {
			if c != 0 {
				t.Fatalf("padding % x is not zero", got[len(payload):])
			}
		}
	})
}

// FuzzDecodeDiscovery: a DISCOVERY payload from the device never panics
// the decoder; errors wrap ErrMalformed.
func FuzzDecodeDiscovery(f *testing.F) {
	var b []byte
	for _, t := range sampleTLVs() {
		b = append(b, EncodeTLV(t)...)
	}
	f.Add(b)
	f.Add(EncodeTLV(TLV{Type: TypeSoCID, Value: []byte{1, 2}}))
	f.Add(EncodeTLV(TLV{Type: TypeSTPassword, Value: []byte{0xEA, 0xEA, 0xEA, 0xEA}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeDiscovery(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		_ = d.String()
		_ = d.Method()
		_ = d.PermissionWord()
	})
}
