package targets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
)

func FuzzDecodeOBKDA(f *testing.F) {
	h := sha256.Sum256([]byte("0123456789012345"))
	rec := make([]byte, OBKDASize)
	copy(rec[32:], h[:])
	rec[64] = 0x77
	rec[65] = 0x50
	sum := sha256.Sum256(rec[32:])
	copy(rec, sum[:])
	f.Add(rec)
	f.Add(bytes.Repeat([]byte{0xFF}, OBKDASize))
	f.Add(make([]byte, 10))
	f.Fuzz(func(t *testing.T, b []byte) {
		st := DecodeOBKDA(b)
		if st.Provisioned {
			s := sha256.Sum256(b[32:])
			if len(b) != OBKDASize || !bytes.Equal(s[:], b[:32]) {
				t.Fatalf("provisioned without a valid hash: %x", b)
			}
		}
		if st.Source == "" {
			t.Fatal("no source")
		}
		_ = fmt.Sprint(st)
	})
}

func TestDecodeOBKDASample(t *testing.T) {
	h := sha256.Sum256([]byte("0123456789012345"))
	rec := make([]byte, OBKDASize)
	copy(rec[32:], h[:])
	sum := sha256.Sum256(rec[32:])
	copy(rec, sum[:])
	if st := DecodeOBKDA(rec); !st.Provisioned || st.Method != DAPassword {
		t.Errorf("sample password record: %v", st)
	}
	rec[40] ^= 1
	if st := DecodeOBKDA(rec); st.Provisioned || !st.Checked {
		t.Errorf("corrupt record: %v", st)
	}
	other := make([]byte, OBKDASize)
	other[33] = 1
	sum = sha256.Sum256(other[32:])
	copy(other, sum[:])
	if st := DecodeOBKDA(other); !st.Provisioned || st.Method != DAMethodUnknown {
		t.Errorf("other key record: %v", st)
	}
}

// The DA method the ROM accepts follows TZEN on TrustZone lines and is
// always the password on STM32H503.
func TestDAMethodFor(t *testing.T) {
	_, h503, _ := LookupDevID(DevIDH503)
	_, h563, _ := LookupDevID(DevIDH56x)
	tests := []struct {
		line Line
		tzen TZEN
		want DAMethod
		ok   bool
	}{
		{h503, TZENAbsent, DAPassword, true},
		{h563, TZENDisabled, DAPassword, true},
		{h563, TZENEnabled, DACertificate, true},
		{h563, TZENAbsent, DAMethodUnknown, false},
		{h563, 0x42, DAMethodUnknown, false},
	}
	for _, tc := range tests {
		if m, ok := tc.line.DAMethodFor(tc.tzen); m != tc.want || ok != tc.ok {
			t.Errorf("%s TZEN %v: %v, %v; want %v, %v", tc.line.Name, tc.tzen, m, ok, tc.want, tc.ok)
		}
	}
	for _, s := range []string{"password", "certificate", "unknown"} {
		m, err := ParseDAMethod(s)
		if err != nil || m.String() != s {
			t.Errorf("ParseDAMethod(%q) = %v, %v", s, m, err)
		}
	}
	if _, err := ParseDAMethod("token"); err == nil {
		t.Error("ParseDAMethod accepted a bad name")
	}
}

// ReadDAStatus reads the OBK record behind the alias TZEN selects, falls
// back to the other one, and reads the OTP hash and its lock on STM32H503.
func TestReadDAStatus(t *testing.T) {
	h := sha256.Sum256([]byte("0123456789012345"))
	rec := make([]byte, OBKDASize)
	copy(rec[32:], h[:])
	sum := sha256.Sum256(rec[32:])
	copy(rec, sum[:])
	put := func(m *fakeMem, base uint32) {
		for i := 0; i < OBKDASize; i += 4 {
			m.set(1, base+uint32(i), binary.LittleEndian.Uint32(rec[i:]))
		}
	}
	chip := func(dev uint16) *Chip {
		f, l, _ := LookupDevID(dev)
		return &Chip{Family: f, Line: l, DevID: dev}
	}
	ctx := context.Background()

	secure := &fakeMem{words: map[[2]uint32]uint32{}}
	put(secure, H5OBKDA)
	if st := ReadDAStatus(ctx, secure, chip(DevIDH56x), TZENEnabled); !st.Provisioned || st.Method != DAPassword || len(secure.reads) != OBKDASize/4 {
		t.Errorf("secure alias: %v after %d reads", st, len(secure.reads))
	}
	ns := &fakeMem{words: map[[2]uint32]uint32{}}
	put(ns, H5OBKDANS)
	if st := ReadDAStatus(ctx, ns, chip(DevIDH52x), TZENEnabled); !st.Provisioned {
		t.Errorf("non-secure alias after a secure fault: %v", st)
	}
	none := &fakeMem{words: map[[2]uint32]uint32{}}
	if st := ReadDAStatus(ctx, none, chip(DevIDH52x), TZENDisabled); st.Checked || !strings.Contains(st.Source, "unreadable through AP1") {
		t.Errorf("unreadable: %v", st)
	}

	otp := &fakeMem{words: map[[2]uint32]uint32{}}
	for i := uint32(0); i < 32; i += 4 {
		otp.set(1, H5OTP+i, 0xFFFFFFFF)
	}
	otp.set(1, H5FlashRegs+FlashOTPBLRCur, 0)
	if st := ReadDAStatus(ctx, otp, chip(DevIDH503), TZENAbsent); !st.Checked || st.Provisioned {
		t.Errorf("blank OTP: %v", st)
	}
	otp.set(1, H5OTP, 0x12345678)
	if st := ReadDAStatus(ctx, otp, chip(DevIDH503), TZENAbsent); !st.Provisioned || st.Method != DAPassword || !strings.Contains(st.Source, "not locked") {
		t.Errorf("written, unlocked OTP: %v", st)
	}
	otp.set(1, H5FlashRegs+FlashOTPBLRCur, 1)
	if st := ReadDAStatus(ctx, otp, chip(DevIDH503), TZENAbsent); !strings.HasSuffix(st.Source, "and locked") {
		t.Errorf("locked OTP: %v", st)
	}
}
