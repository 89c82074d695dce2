package proto

import (
	"bytes"
	"testing"
)

func TestVersionRoundTrip(t *testing.T) {
	tests := []struct {
		text string
		pid  uint16
		want string // String() after encode/decode
		ext  bool   // V3: the J/M numbers travel in GET_VERSION_EXT
	}{
		{"V2J46S7", 0x3748, "V2J46S7", false},
		{"V2J40M27", 0x374B, "V2J40M27", false},
		{"V2J28S7", 0x3748, "V2J28S7", false},
		{"V3J7M3", 0x374E, "V3J7M3", true},
		{"V3J7M3B5S1", 0x3753, "V3J7M3B5S1", true},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			v, err := ParseVersion(tc.text)
			if err != nil {
				t.Fatal(err)
			}
			v.VID, v.PID = VendorST, tc.pid
			got, err := DecodeVersion(EncodeVersion(v))
			if err != nil {
				t.Fatal(err)
			}
			if tc.ext {
				if got.JTAG != 0 {
					t.Fatalf("V3 GET_VERSION must carry J0, got J%d", got.JTAG)
				}
				got, err = DecodeVersionExt(EncodeVersionExt(v))
				if err != nil {
					t.Fatal(err)
				}
			}
			if got.String() != tc.want || got.PID != tc.pid || got.VID != VendorST {
				t.Fatalf("round trip of %s gave %s %04x:%04x", tc.text, got, got.VID, got.PID)
			}
		})
	}
}

func TestDecodeVersionKnownBytes(t *testing.T) {
	// An ST-LINK/V2-1 reporting V2J40M27 on 0483:374B, as OpenOCD logs it.
	v, err := DecodeVersion([]byte{0x2a, 0x1b, 0x83, 0x04, 0x4b, 0x37})
	if err != nil {
		t.Fatal(err)
	}
	if v.String() != "V2J40M27" || v.PID != 0x374B {
		t.Fatalf("got %s pid %04x", v, v.PID)
	}
	if _, err := DecodeVersion([]byte{0x2a}); err == nil {
		t.Fatal("short reply accepted")
	}
	if _, err := DecodeVersion([]byte{0x1a, 0x1b, 0x83, 0x04, 0x4b, 0x37}); err == nil {
		t.Fatal("hardware V1 accepted")
	}
}

func TestParseVersionErrors(t *testing.T) {
	for _, s := range []string{"", "J46S7", "V2J", "V2JJ46", "V9J1", "V2J46X1", "V2J4J5"} {
		if _, err := ParseVersion(s); err == nil {
			t.Errorf("ParseVersion(%q) accepted", s)
		}
	}
}

func TestFeatureGates(t *testing.T) {
	tests := []struct {
		v                      string
		multiAP, banked, mem16 bool
		maxAP, max8            int
	}{
		{"V2J27S7", false, false, true, 0, 64},
		{"V2J28S7", true, false, true, 3, 64},
		{"V2J46S7", true, true, true, 8, 64},
		{"V3J2M1", true, true, true, 255, 64},
		{"V3J7M3", true, true, true, 255, 512},
	}
	for _, tc := range tests {
		v, err := ParseVersion(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		if v.HasMultiAP() != tc.multiAP || v.HasBankedDP() != tc.banked || v.HasMem16() != tc.mem16 ||
			v.MaxAP() != tc.maxAP || v.MaxMem8() != tc.max8 {
			t.Errorf("%s: multiAP %v banked %v mem16 %v maxAP %d max8 %d", tc.v,
				v.HasMultiAP(), v.HasBankedDP(), v.HasMem16(), v.MaxAP(), v.MaxMem8())
		}
	}
}

func TestNearestKHz(t *testing.T) {
	v2 := V2KHzList()
	for _, tc := range []struct{ want, got int }{{4000, 4000}, {5000, 4000}, {1000, 950}, {100, 100}, {99, 50}, {1, 5}} {
		if g := NearestKHz(v2, tc.want); g != tc.got {
			t.Errorf("NearestKHz(%d) = %d, want %d", tc.want, g, tc.got)
		}
	}
	if V2DivisorKHz(798) != 5 || V2DivisorKHz(1) != 1800 || V2DivisorKHz(0) != 4000 {
		t.Fatal("divisor lookup broken")
	}
}

func TestModels(t *testing.T) {
	m, ok := ModelByPID(0x3748)
	if !ok || m.EPOut != 0x02 || m.EPIn != 0x81 || m.EPTrace != 0x83 || m.HighSpeed {
		t.Fatalf("V2 model wrong: %+v", m)
	}
	m, ok = ModelByPID(0x374E)
	if !ok || m.EPOut != 0x01 || !m.HighSpeed {
		t.Fatalf("V3E model wrong: %+v", m)
	}
	if _, ok := ModelByPID(0x1234); ok {
		t.Fatal("unknown PID found")
	}
}

func FuzzDecodeVersion(f *testing.F) {
	f.Add([]byte{0x2a, 0x1b, 0x83, 0x04, 0x4b, 0x37})
	f.Add([]byte{0x30, 0x00, 0x83, 0x04, 0x4e, 0x37})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeVersion(b)
		if err != nil {
			return
		}
		if v.Hardware < 2 || v.Hardware > 4 {
			t.Fatalf("accepted hardware %d", v.Hardware)
		}
		if v.Hardware == 2 && !bytes.Equal(EncodeVersion(v)[:6], b[:6]) {
			t.Fatalf("V2 re-encode differs: % x vs % x", EncodeVersion(v), b[:6])
		}
	})
}

func FuzzDecodeVersionExt(f *testing.F) {
	f.Add(EncodeVersionExt(Version{Hardware: 3, JTAG: 7, MSD: 3, VID: VendorST, PID: 0x374E}))
	f.Add([]byte{4, 0, 5, 0, 1, 5, 0, 0, 0x83, 0x04, 0x57, 0x37})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeVersionExt(b)
		if err != nil {
			return
		}
		re := EncodeVersionExt(v)
		if !bytes.Equal(re[:5], b[:5]) || !bytes.Equal(re[8:12], b[8:12]) {
			t.Fatalf("re-encode differs: % x vs % x", re, b[:12])
		}
	})
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"V2J46S7", "V3J7M3B5S1", "v2j40m27", "V"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err != nil {
			return
		}
		again, err := ParseVersion(v.String())
		if err != nil {
			t.Fatalf("String() of a parsed version does not parse: %q: %v", v.String(), err)
		}
		if again.Hardware != v.Hardware || again.JTAG != v.JTAG {
			t.Fatalf("%q -> %s -> %s", s, v, again)
		}
	})
}

func TestAPNeed(t *testing.T) {
	tests := []struct {
		fw   string
		ap   uint8
		ok   bool
		need string
	}{
		{"V2J27S7", 0, true, ""},
		{"V2J27S7", 1, false, "V2J28S0"},
		{"V2J28S7", 3, true, ""},
		{"V2J28S7", 4, false, "V2J32S0"},
		{"V2J46S7", 8, true, ""},
		{"V2J46S7", 9, false, "V3J1"},
		{"V3J7M3", 255, true, ""},
	}
	for _, tc := range tests {
		v, err := ParseVersion(tc.fw)
		if err != nil {
			t.Fatal(err)
		}
		need, ok := v.APNeed(tc.ap)
		if ok != tc.ok || (!ok && need.String() != tc.need) {
			t.Errorf("%s AP%d: need %v, ok %v; want %s, %v", tc.fw, tc.ap, need, ok, tc.need, tc.ok)
		}
	}
}

func TestClockGates(t *testing.T) {
	for _, tc := range []struct {
		v                  Version
		comFreq, swd, jtag bool
		fastest, start     int
	}{
		{Version{Hardware: 2, JTAG: 21}, false, false, false, 4000, 1800},
		{Version{Hardware: 2, JTAG: 22}, false, true, false, 4000, 1800},
		{Version{Hardware: 2, JTAG: 24}, false, true, true, 4000, 1800},
		{Version{Hardware: 3, JTAG: 7}, true, false, false, 24000, 1000},
		{Version{Hardware: 4, JTAG: 1}, true, false, false, 24000, 1000},
	} {
		v := tc.v
		if v.HasComFreq() != tc.comFreq || v.HasSWDSetFreq() != tc.swd || v.HasJTAGSetFreq() != tc.jtag {
			t.Errorf("%v: com %v swd %v jtag %v", v, v.HasComFreq(), v.HasSWDSetFreq(), v.HasJTAGSetFreq())
		}
		l := v.SWDLadder()
		if len(l) == 0 || l[0] != tc.fastest || StartKHz(l) != tc.start {
			t.Errorf("%v: ladder %v, start %d", v, l, StartKHz(l))
		}
		l[0] = 1 // a copy: the tables stay as they are
		if v.SWDLadder()[0] != tc.fastest {
			t.Errorf("%v: SWDLadder hands out its table", v)
		}
	}
}
