package da

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"testing"
)

func TestEncodeRequest(t *testing.T) {
	tests := []struct {
		cmd     Command
		payload []byte
		bytes   bool
		want    []uint32
	}{
		{CmdDiscovery, nil, false, []uint32{0x00010000, 0}},
		{CmdAuthStart, nil, true, []uint32{0x00020000, 0}},
		{CmdAuthResponse, []byte{1, 2, 3, 4, 5}, false, []uint32{0x00030000, 2, 0x04030201, 0x00000005}},
		{CmdAuthResponse, []byte{1, 2, 3, 4, 5}, true, []uint32{0x00030000, 8, 0x04030201, 0x00000005}},
	}
	for _, tt := range tests {
		if got := EncodeRequest(tt.cmd, tt.payload, tt.bytes); !slices.Equal(got, tt.want) {
			t.Errorf("EncodeRequest(%v, % X, %v) = %08X, want %08X", tt.cmd, tt.payload, tt.bytes, got, tt.want)
		}
	}
}

func TestDecodeResponse(t *testing.T) {
	tests := []struct {
		name   string
		words  []uint32
		bytes  bool
		status Status
		n      int
		bad    bool
	}{
		{"header only", []uint32{0x00030000, 0}, false, StatusUnsupported, 0, false},
		{"payload", []uint32{0, 2, 1, 2}, false, StatusSuccess, 8, false},
		{"bytes", []uint32{0, 8, 1, 2}, true, StatusSuccess, 8, false},
		{"odd bytes", []uint32{0, 7, 1, 2}, true, 0, 0, true},
		{"reserved set", []uint32{0x00000001, 0}, false, 0, 0, true},
		{"too long", []uint32{0, maxResponseWords + 1}, false, 0, 0, true},
		{"short", []uint32{0, 3, 1}, false, 0, 0, true},
		{"no header", []uint32{0}, false, 0, 0, true},
	}
	for _, tt := range tests {
		st, p, err := DecodeResponse(tt.words, tt.bytes)
		if tt.bad {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: err %v, want ErrMalformed", tt.name, err)
			}
			continue
		}
		if err != nil || st != tt.status || len(p) != tt.n {
			t.Errorf("%s: %v, %d bytes, %v", tt.name, st, len(p), err)
		}
	}
}

// sampleTLVs is a discovery answer like the N6 sample's, with values of
// every alignment.
func sampleTLVs() []TLV {
	return []TLV{
		{Type: TypeAuthVersion, Value: []byte{1, 0}},
		{Type: TypeVendorID, Value: []byte{0x20, 0}},
		{Type: TypeSoCClass, Value: []byte{0x78, 0x04, 0, 0}},
		{Type: TypeSoCID, Value: bytes.Repeat([]byte{0xA5}, 16)},
		{Type: TypePSALifecycle, Value: []byte{0xC6, 0x20}},
		{Type: TypeSDAID, Value: []byte{2, 4, 0}},
		{Type: TypeCryptosystems, Value: []byte{CryptoECDSAP256}},
		{Type: TypeSTPassword, Value: []byte{0xF5, 0xF5, 0xF5, 0xF5}},
		{Type: 0x1234},
	}
}

// packTLVs encodes without padding (the N6 sample's layout).
func packTLVs(ts []TLV) []byte {
	var b []byte
	for _, t := range ts {
		b = binary.LittleEndian.AppendUint16(b, 0)
		b = binary.LittleEndian.AppendUint16(b, t.Type)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(t.Value)))
		b = append(b, t.Value...)
	}
	return b
}

func TestTLVRoundTrip(t *testing.T) {
	want := sampleTLVs()
	var padded []byte
	for _, tl := range want {
		padded = append(padded, EncodeTLV(tl)...)
	}
	packed := packTLVs(want)
	for name, b := range map[string][]byte{
		"padded": padded, "packed": packed,
		"packed+word padding": append(packed, make([]byte, (4-len(packed)%4)%4)...),
	} {
		got, err := DecodeTLVs(b)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d TLVs, want %d", name, len(got), len(want))
			continue
		}
		for i := range want {
			if got[i].Type != want[i].Type || !bytes.Equal(got[i].Value, want[i].Value) {
				t.Errorf("%s: TLV %d = %04X % X, want %04X % X", name, i, got[i].Type, got[i].Value, want[i].Type, want[i].Value)
			}
		}
		d, err := DecodeDiscovery(b)
		if err != nil || d.SoCClass != 0x478 || d.Lifecycle != 0x20C6 || d.Provisioned() || !d.HasIntegrity ||
			d.Method() != "certificate" || d.SDAVersion != "2.4.0" {
			t.Errorf("%s: discovery %+v, %v", name, d, err)
		}
	}
}

func TestDecodeTLVsMalformed(t *testing.T) {
	good := EncodeTLV(TLV{Type: TypeSoCClass, Value: []byte{1, 2, 3, 4}})
	tests := map[string][]byte{
		"truncated header": good[:6],
		"length past end":  append(append([]byte{}, good[:4]...), 0xFF, 0, 0, 0),
		"reserved set":     append([]byte{1, 0}, good[2:]...),
	}
	for name, b := range tests {
		if _, err := DecodeTLVs(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", name, err)
		}
	}
	if _, err := DecodeDiscovery(EncodeTLV(TLV{Type: TypeSoCClass, Value: []byte{1}})); !errors.Is(err, ErrMalformed) {
		t.Errorf("short SoC class: %v", err)
	}
}

func TestLifecycleTable(t *testing.T) {
	for _, l := range lifecycles {
		if s, ok := StateOfLifecycle(l.Code); !ok || s != l.State {
			t.Errorf("0x%04X → %v", l.Code, s)
		}
		if c, ok := LifecycleOfState(l.State); !ok || c != l.Code {
			t.Errorf("%v → 0x%04X", l.State, c)
		}
	}
	if _, ok := StateOfLifecycle(0x3000); ok {
		t.Error("0x3000 mapped")
	}
}

// Decoders of device bytes never panic and keep their bounds.
func FuzzDecodeTLVs(f *testing.F) {
	var padded []byte
	for _, tl := range sampleTLVs() {
		padded = append(padded, EncodeTLV(tl)...)
	}
	f.Add(padded)
	f.Add(packTLVs(sampleTLVs()))
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0x80, 0xFF, 0xFF, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := DecodeTLVs(b)
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
		if len(ts) > maxTLVs {
			t.Fatalf("%d TLVs", len(ts))
		}
		if d, err := DecodeDiscovery(b); err == nil && d == nil {
			t.Fatal("nil discovery without error")
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	f.Add(uint32(0), uint32(2), []byte{1, 2, 3, 4, 5, 6, 7, 8}, false)
	f.Add(uint32(0x00030000), uint32(0), []byte{}, false)
	f.Add(uint32(0), uint32(0xFFFFFFFF), []byte{}, true)
	f.Fuzz(func(t *testing.T, w0, w1 uint32, rest []byte, inBytes bool) {
		ws := []uint32{w0, w1}
		for i := 0; i+4 <= len(rest); i += 4 {
			ws = append(ws, binary.LittleEndian.Uint32(rest[i:]))
		}
		st, p, err := DecodeResponse(ws, inBytes)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if len(p) != 4*(len(ws)-2) || Status(w0>>16) != st {
			t.Fatalf("status %v, %d bytes from %d words", st, len(p), len(ws))
		}
	})
}
