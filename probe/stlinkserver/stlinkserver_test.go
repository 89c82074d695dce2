package stlinkserver

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The requests OpenOCD 0.12 sends, as bytes (protocol notes §6.6).
var goldenRequests = []struct {
	name string
	hex  string
	want Request
}{
	{"server version", "06 01 00 00", Request{Op: OpGetServerVersion, ClientAPI: 1}},
	{"refresh", "00 00", Request{Op: OpRefreshDeviceList}},
	{"count", "01", Request{Op: OpGetNbDev}},
	{"dev info", "02 00 00 00 29 00 00 00", Request{Op: OpGetDevInfo, InfoSize: 41}},
	{"open", "03 00 00 00 34 12 00 00", Request{Op: OpOpenDev, DeviceID: 0x1234}},
	{"close", "04 00 00 00 01 00 de c0", Request{Op: OpCloseDev, ConnectID: 0xC0DE0001}},
	{"clients", "07 00 00 00 34 12 00 00", Request{Op: OpGetNbOfDevClients, DeviceID: 0x1234}},
	{"usb read", "05 000000 0100dec0 f1" + strings.Repeat("00", 15) + " 01 000000 06000000",
		Request{Op: OpSendUSBCmd, ConnectID: 0xC0DE0001, USB: USBCommand{Cmd: [16]byte{0xF1}, Type: USBRead, Length: 6}}},
	{"usb write", "05 000000 0100dec0 f2 08 f0ed00e0 0400 00 0000a2 00000000 00 000000 04000000 01 00 5f a0",
		Request{Op: OpSendUSBCmd, ConnectID: 0xC0DE0001, USB: USBCommand{
			Cmd:  [16]byte{0xF2, 0x08, 0xF0, 0xED, 0x00, 0xE0, 0x04, 0x00, 0x00, 0x00, 0x00, 0xA2},
			Type: USBWrite, Length: 4, Data: []byte{0x01, 0x00, 0x5F, 0xA0}}}},
}

func TestDecodeGoldenRequests(t *testing.T) {
	for _, tc := range goldenRequests {
		b := mustHex(t, tc.hex)
		got, n, err := DecodeRequest(b)
		if err != nil || n != len(b) || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: DecodeRequest = %+v, %d, %v; want %+v, %d", tc.name, got, n, err, tc.want, len(b))
		}
		if enc := tc.want.Encode(); !bytes.Equal(enc, b) {
			t.Errorf("%s: Encode = % X, want % X", tc.name, enc, b)
		}
		r, err := ReadRequest(bytes.NewReader(b))
		if err != nil || !reflect.DeepEqual(r, tc.want) {
			t.Errorf("%s: ReadRequest = %+v, %v", tc.name, r, err)
		}
		// every strict prefix is short
		for i := 0; i < len(b); i++ {
			if _, _, err := DecodeRequest(b[:i]); !errors.Is(err, ErrShort) {
				t.Errorf("%s: prefix %d: %v, want ErrShort", tc.name, i, err)
				break
			}
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name string
		hex  string
	}{
		{"unknown opcode", "08 00 00 00"},
		{"bad usb type", "05 000000 01000000" + strings.Repeat("00", 16) + "02 000000 00000000"},
		{"huge write", "05 000000 01000000" + strings.Repeat("00", 16) + "00 000000 00000100"},
		{"huge read", "05 000000 01000000" + strings.Repeat("00", 16) + "01 000000 00000100"},
	}
	for _, tc := range tests {
		b := mustHex(t, tc.hex)
		if _, _, err := DecodeRequest(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: DecodeRequest: %v, want ErrMalformed", tc.name, err)
		}
		if _, err := ReadRequest(bytes.NewReader(b)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: ReadRequest: %v, want ErrMalformed", tc.name, err)
		}
	}
}

func TestResponses(t *testing.T) {
	// GET_DEV_INFO of the golden transcript
	want := mustHex(t, "01000000 34120000"+hex.EncodeToString([]byte("0123456789ABCDEF01234567"))+strings.Repeat("00", 8)+"8304 4b37 00")
	info := DeviceInfo{ID: 0x1234, Serial: "0123456789ABCDEF01234567", VID: 0x0483, PID: 0x374B}
	got := EncodeDeviceInfo(StatusOK, info, DevInfoSize)
	if !bytes.Equal(got, want) {
		t.Errorf("EncodeDeviceInfo\n got % X\nwant % X", got, want)
	}
	st, d, err := DecodeDeviceInfo(got)
	if err != nil || st != StatusOK || d != info {
		t.Errorf("DecodeDeviceInfo = %v %+v %v", st, d, err)
	}
	info.Used = true
	if _, d, _ := DecodeDeviceInfo(EncodeDeviceInfo(StatusOK, info, DevInfoSize)); !d.Used {
		t.Error("Used flag lost")
	}
	if b := EncodeOpen(StatusOK, 0xC0DE0001); !bytes.Equal(b, mustHex(t, "01000000 0100dec0")) {
		t.Errorf("EncodeOpen % X", b)
	}
	if st, id, err := DecodeOpen(mustHex(t, "01000000 0100dec0")); st != StatusOK || id != 0xC0DE0001 || err != nil {
		t.Errorf("DecodeOpen %v %X %v", st, id, err)
	}
	v := ServerVersion{API: 2, Major: 2, Minor: 1, Build: 0}
	if b := EncodeServerVersion(v); !bytes.Equal(b, mustHex(t, "02000000 02000000 01000000 00000000")) {
		t.Errorf("EncodeServerVersion % X", b)
	}
	if got, err := DecodeServerVersion(EncodeServerVersion(v)); got != v || err != nil {
		t.Errorf("DecodeServerVersion %+v %v", got, err)
	}
	r := EncodeUSBReply(StatusOK, []byte{0x2A, 0x1B, 0x83, 0x04, 0x4B, 0x37}, 6)
	if st, data, err := DecodeUSBReply(r, 6); st != StatusOK || err != nil || !bytes.Equal(data, []byte{0x2A, 0x1B, 0x83, 0x04, 0x4B, 0x37}) {
		t.Errorf("DecodeUSBReply %v % X %v", st, data, err)
	}
	if r := EncodeUSBReply(StatusTimeout, nil, 3); !bytes.Equal(r, mustHex(t, "01100000 000000")) {
		t.Errorf("padded reply % X", r)
	}
	if n, err := DecodeCount(EncodeCount(2)); n != 2 || err != nil {
		t.Errorf("count %d %v", n, err)
	}
	if s, err := DecodeStatus(EncodeStatus(StatusTCPBusy)); s != StatusTCPBusy || err != nil || s.String() != "TCP busy" {
		t.Errorf("status %v %v", s, err)
	}
	for _, short := range [][]byte{nil, {1, 0, 0}} {
		if _, err := DecodeStatus(short); !errors.Is(err, ErrShort) {
			t.Errorf("DecodeStatus(% X): %v", short, err)
		}
		if _, _, err := DecodeDeviceInfo(short); !errors.Is(err, ErrShort) {
			t.Errorf("DecodeDeviceInfo short: %v", err)
		}
	}
}

func TestResponseSize(t *testing.T) {
	tests := []struct {
		req  Request
		want int
	}{
		{Request{Op: OpGetDevInfo, InfoSize: 41}, 45},
		{Request{Op: OpOpenDev}, 8},
		{Request{Op: OpGetServerVersion}, 16},
		{Request{Op: OpGetNbDev}, 4},
		{Request{Op: OpSendUSBCmd, USB: USBCommand{Type: USBRead, Length: 12}}, 16},
		{Request{Op: OpSendUSBCmd, USB: USBCommand{Type: USBWrite, Length: 12}}, 4},
	}
	for _, tc := range tests {
		if got := ResponseSize(tc.req); got != tc.want {
			t.Errorf("ResponseSize(%+v) = %d, want %d", tc.req, got, tc.want)
		}
	}
}

// FuzzDecodeRequest: any bytes decode without panicking, and what decodes
// re-encodes to the same bytes.
func FuzzDecodeRequest(f *testing.F) {
	for _, tc := range goldenRequests {
		f.Add(mustHex(f, tc.hex))
	}
	f.Add([]byte{})
	f.Add([]byte{0x05})
	f.Add([]byte{0xFF, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, err := DecodeRequest(b)
		if err != nil {
			return
		}
		if n > len(b) {
			t.Fatalf("used %d of %d bytes", n, len(b))
		}
		enc := r.Encode()
		r2, n2, err := DecodeRequest(enc)
		if err != nil || n2 != len(enc) || !reflect.DeepEqual(r, r2) {
			t.Fatalf("re-decode of % X: %+v %d %v, want %+v", enc, r2, n2, err, r)
		}
		if _, err := ReadRequest(bytes.NewReader(b)); err != nil {
			t.Fatalf("ReadRequest fails where DecodeRequest succeeds: %v", err)
		}
	})
}

// FuzzDecodeReplies: reply decoders never panic on arbitrary bytes.
func FuzzDecodeReplies(f *testing.F) {
	f.Add(EncodeDeviceInfo(StatusOK, DeviceInfo{ID: 1, Serial: "0123456789ABCDEF01234567", VID: 0x483, PID: 0x3748}, DevInfoSize), 6)
	f.Add(EncodeOpen(StatusOK, 7), 0)
	f.Add(EncodeServerVersion(ServerVersion{3, 2, 1, 0}), 12)
	f.Add([]byte{}, -1)
	f.Add([]byte{1, 0, 0, 0}, math.MaxInt-3) // 4+n overflowed and the slice panicked
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		DecodeDeviceInfo(b)
		DecodeOpen(b)
		DecodeServerVersion(b)
		DecodeStatus(b)
		DecodeCount(b)
		if _, data, err := DecodeUSBReply(b, n); err == nil && len(data) != n {
			t.Fatalf("DecodeUSBReply gave %d bytes for length %d", len(data), n)
		}
	})
}

// A read length the reply cannot hold is ErrShort, however large: the
// bound check must not overflow.
func TestDecodeUSBReplyLengths(t *testing.T) {
	reply := EncodeUSBReply(StatusOK, []byte{1, 2}, 2)
	for _, n := range []int{-1, 3, 1 << 40, math.MaxInt - 3, math.MaxInt} {
		if _, _, err := DecodeUSBReply(reply, n); !errors.Is(err, ErrShort) {
			t.Errorf("length %d: %v, want ErrShort", n, err)
		}
	}
	if st, data, err := DecodeUSBReply(reply, 2); err != nil || st != StatusOK || !bytes.Equal(data, []byte{1, 2}) {
		t.Errorf("length 2: %v % x %v", st, data, err)
	}
}

// FuzzReplyRoundTrip: every reply the encoders build decodes back to the
// values it was built from.
func FuzzReplyRoundTrip(f *testing.F) {
	f.Add(uint32(StatusOK), uint32(0x1234), "0123456789ABCDEF01234567", uint16(0x483), uint16(0x3748), true, []byte{0x80, 0}, 2)
	f.Add(uint32(StatusNoDevice), uint32(0), "", uint16(0), uint16(0), false, []byte{}, 0)
	f.Add(uint32(StatusTruncatedData), uint32(7), "short\x00tail", uint16(1), uint16(2), false, []byte{1, 2, 3}, 8)
	f.Fuzz(func(t *testing.T, st, id uint32, serial string, vid, pid uint16, used bool, data []byte, length int) {
		s := Status(st)
		d := DeviceInfo{ID: id, Serial: serial, VID: vid, PID: pid, Used: used}
		gs, gd, err := DecodeDeviceInfo(EncodeDeviceInfo(s, d, DevInfoSize))
		if err != nil {
			t.Fatalf("device info: %v", err)
		}
		// the record holds the serial up to its first NUL, at most SerialSize bytes
		want := d
		want.Serial = serial[:min(len(serial), SerialSize)]
		if i := strings.IndexByte(want.Serial, 0); i >= 0 {
			want.Serial = want.Serial[:i]
		}
		if gs != s || gd != want {
			t.Fatalf("device info %v %+v, want %v %+v", gs, gd, s, want)
		}
		if gs, gid, err := DecodeOpen(EncodeOpen(s, id)); err != nil || gs != s || gid != id {
			t.Fatalf("open: %v %d %v", gs, gid, err)
		}
		v := ServerVersion{API: st, Major: id, Minor: uint32(vid), Build: uint32(pid)}
		if gv, err := DecodeServerVersion(EncodeServerVersion(v)); err != nil || gv != v {
			t.Fatalf("server version %+v %v, want %+v", gv, err, v)
		}
		if n, err := DecodeCount(EncodeCount(id)); err != nil || n != id {
			t.Fatalf("count %d %v", n, err)
		}
		if gs, err := DecodeStatus(EncodeStatus(s)); err != nil || gs != s {
			t.Fatalf("status %v %v", gs, err)
		}
		length %= MaxUSBRead + 1 // the largest read a request may ask for
		if length < 0 {
			length = -length
		}
		gs, got, err := DecodeUSBReply(EncodeUSBReply(s, data, length), length)
		if err != nil || gs != s || len(got) != length {
			t.Fatalf("USB reply of %d bytes: %v, %d bytes, %v", length, gs, len(got), err)
		}
		n := min(len(data), length)
		if !bytes.Equal(got[:n], data[:n]) || !allZero(got[n:]) {
			t.Fatalf("USB reply data % x, sent % x", got, data)
		}
	})
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// FuzzReadRequest: reading requests one by one from a byte stream never
// panics, never reads past the request it returns, and agrees with
// DecodeRequest on what each request is.
func FuzzReadRequest(f *testing.F) {
	var all []byte
	for _, tc := range goldenRequests {
		all = append(all, mustHex(f, tc.hex)...)
	}
	f.Add(all)
	f.Add(mustHex(f, "05 000000 01000000"+strings.Repeat("00", 16)+"00 000000 ffffffff"))
	f.Add(mustHex(f, "05 000000 01000000"+strings.Repeat("00", 16)+"07 000000 00000000"))
	f.Add([]byte{0x02, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for i := 0; ; i++ {
			off := len(b) - r.Len()
			req, err := ReadRequest(r)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrMalformed) {
					t.Fatalf("request %d: untyped error %v", i, err)
				}
				return
			}
			used := len(b) - r.Len() - off
			dec, n, err := DecodeRequest(b[off:])
			if err != nil || n != used || !reflect.DeepEqual(dec, req) {
				t.Fatalf("request %d: read %+v (%d bytes), decoded %+v (%d bytes, %v)", i, req, used, dec, n, err)
			}
			if size := ResponseSize(req); size < 4 || size > 4+MaxUSBRead && req.Op != OpGetDevInfo {
				t.Fatalf("request %+v: response of %d bytes", req, size)
			}
		}
	})
}
