package probe

import (
	"errors"
	"math"
	"testing"

	"github.com/stprobe/stprobe/probe/proto"
)

// Every decoder of probe replies must turn any byte string into a value or
// a typed error, never panic, and never return a value together with a
// malformed-reply error.

// replyErr reports whether err is one of the typed decode errors.
func replyErr(err error) bool {
	var se *StatusError
	return errors.Is(err, ErrMalformedReply) || errors.As(err, &se)
}

func FuzzDecodeVersion(f *testing.F) {
	f.Add([]byte{0x2B, 0x87, 0x83, 0x04, 0x48, 0x37}, []byte{})                                               // V2J46S7
	f.Add([]byte{0x2A, 0x1B, 0x83, 0x04, 0x4B, 0x37}, []byte{})                                               // V2J40M27
	f.Add([]byte{0x30, 0x00, 0x83, 0x04, 0x4E, 0x37}, []byte{3, 1, 7, 3, 5, 0, 0, 0, 0x83, 0x04, 0x4E, 0x37}) // V3J7M3B5S1
	f.Add([]byte{0x10, 0x00, 0x83, 0x04, 0x44, 0x37}, []byte{})                                               // V1: refused
	f.Add([]byte{0x30, 0x00}, []byte{9})                                                                      // short
	f.Fuzz(func(t *testing.T, b, ext []byte) {
		v, err := decodeVersion(b, ext)
		if err != nil {
			if !replyErr(err) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if v.Hardware < 2 || v.Hardware > 4 {
			t.Fatalf("accepted hardware %d", v.Hardware)
		}
		_ = v.String()
	})
}

func FuzzDecodeVoltage(f *testing.F) {
	f.Add([]byte{0xF1, 0x05, 0, 0, 0x0B, 0x08, 0, 0})
	f.Add([]byte{0, 0, 0, 0, 1, 0, 0, 0})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeVoltage(b)
		if err != nil {
			if !replyErr(err) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			t.Fatalf("voltage %v", v)
		}
	})
}

func FuzzDecodeIDCodes(f *testing.F) {
	f.Add([]byte{0x80, 0, 0, 0, 0x77, 0x24, 0xA0, 0x6B, 0, 0, 0, 0})
	f.Add([]byte{0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := decodeStatusWord("read DPIDR", b, replyIDCodes)
		if err != nil {
			if !replyErr(err) {
				t.Fatalf("untyped error %v", err)
			}
			if id != 0 {
				t.Fatalf("value %#x with error", id)
			}
			return
		}
		if len(b) < replyIDCodes || b[0] != 0x80 {
			t.Fatalf("accepted % x", b)
		}
	})
}

func FuzzDecodeLastRW(f *testing.F) {
	f.Add([]byte{0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, true)
	f.Add([]byte{0x11, 0, 0, 0, 0x00, 0x00, 0x00, 0x30, 0, 0, 0, 0}, true)
	f.Add([]byte{0x10, 0}, false)
	f.Add([]byte{0x42}, false)
	f.Fuzz(func(t *testing.T, b []byte, v2 bool) {
		err := decodeLastRW("read memory", b, v2)
		if err == nil {
			if b[0] != 0x80 {
				t.Fatalf("accepted status %#x", b[0])
			}
			return
		}
		if !replyErr(err) {
			t.Fatalf("untyped error %v", err)
		}
		var se *StatusError
		if errors.As(err, &se) {
			if se.HasAddr != v2 {
				t.Fatalf("HasAddr %v with v2 %v", se.HasAddr, v2)
			}
			if se.Layer() == "" || se.Error() == "" {
				t.Fatal("status error without layer or text")
			}
		}
	})
}

func FuzzDecodeComFreq(f *testing.F) {
	seed := make([]byte, replyGetComFreq)
	seed[0] = 0x80
	seed[4] = 0xE8
	seed[5] = 0x03
	seed[8] = byte(len(proto.V3SWDTable))
	for i, k := range proto.V3SWDTable {
		seed[12+4*i] = byte(k)
		seed[13+4*i] = byte(k >> 8)
	}
	f.Add(seed)
	bad := append([]byte(nil), seed...)
	bad[8] = 11
	f.Add(bad)
	f.Add([]byte{0x80, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		cur, list, err := decodeComFreq(b)
		if err != nil {
			if !replyErr(err) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(list) == 0 || len(list) > maxComFreqs {
			t.Fatalf("list of %d", len(list))
		}
		for i := 1; i < len(list); i++ {
			if list[i] > list[i-1] {
				t.Fatalf("not fastest first: %v", list)
			}
		}
		_ = cur
	})
}

func FuzzDecodeDAPRead(f *testing.F) {
	f.Add([]byte{0x80, 0, 0, 0, 0x77, 0x24, 0xA0, 0x6B})
	f.Add([]byte{0x14, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x1D, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := decodeStatusWord("read DP", b, replyDAPRead)
		if err != nil && !replyErr(err) {
			t.Fatalf("untyped error %v", err)
		}
		if err == nil && (len(b) < replyDAPRead || b[0] != 0x80) {
			t.Fatalf("accepted % x", b)
		}
	})
}

func FuzzDecodeMode(f *testing.F) {
	f.Add([]byte{0x02, 0x00})
	f.Add([]byte{0x07, 0x00})
	f.Add([]byte{0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMode(b)
		if err != nil && !replyErr(err) {
			t.Fatalf("untyped error %v", err)
		}
		if err == nil && m > proto.ModeBootloader {
			t.Fatalf("accepted mode %d", m)
		}
	})
}
