package usbrelay

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/stprobe/stprobe/probe/proto"
)

// A request whose OUT bytes outnumber its URB buffer is refused: the relay
// reads them from that buffer, and a device completing the URB would place
// data past its end (the fuzzer found a 0-byte control URB answered at
// offset 8).
func TestRequestDataBeyondURBRefused(t *testing.T) {
	r := controlIn(1, 0x80, reqGetDescriptor, descString<<8|strSerial, langEnglishUS, 0)
	r.Length = 0
	if _, err := decodeRequest(encodeRequest(r)); err == nil {
		t.Error("8 setup bytes for a 0-byte URB were accepted")
	}
	r.Length = setupPacketSize
	got, err := decodeRequest(encodeRequest(r))
	if err != nil {
		t.Fatal(err)
	}
	d, _ := newTestDevice(t, 0x3748)
	rep := d.serve(got)
	if len(rep.Completions) != 1 || rep.Completions[0].Actual != 0 || len(rep.Completions[0].Data) != 0 {
		t.Errorf("control URB with no data stage: %+v, want an empty completion", rep)
	}
}

// FuzzDecodeRelayRequest: any request body decodes without panicking, only
// known kinds are accepted, and what decodes encodes back to the same bytes.
func FuzzDecodeRelayRequest(f *testing.F) {
	f.Add(encodeRequest(bulkOut(1, 0x02, command(proto.CmdGetVersion))))
	f.Add(encodeRequest(bulkIn(2, 0x81, 6)))
	f.Add(encodeRequest(controlIn(3, 0x80, reqGetDescriptor, descDevice<<8, 0, 18)))
	f.Add(encodeRequest(request{Kind: kindIoctl, Ioctl: ioctlGetCapabilities}))
	f.Add(encodeRequest(request{Kind: kindPoll}))
	f.Add(encodeRequest(request{Kind: 9}))
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRequest(b)
		if err != nil {
			return
		}
		if len(b) < requestHeader || r.Kind < kindSubmit || r.Kind > kindPoll || uint64(len(r.Data)) > uint64(r.Length) {
			t.Fatalf("accepted % x as %+v", b, r)
		}
		if enc := encodeRequest(r); !bytes.Equal(enc, b) {
			t.Fatalf("re-encoded % x, read % x", enc, b)
		}
		again, err := decodeRequest(encodeRequest(r))
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("second decode %+v %v, want %+v", again, err, r)
		}
	})
}

// FuzzReadFrame: reading frames from any byte stream never panics, never
// returns a frame larger than maxFrame or one whose body was not all
// there, and consumes exactly its prefix and body; writeFrame output reads
// back unchanged.
func FuzzReadFrame(f *testing.F) {
	var stream bytes.Buffer
	_ = writeFrame(&stream, encodeRequest(bulkIn(2, 0x81, 6)))
	_ = writeFrame(&stream, nil)
	f.Add(stream.Bytes())
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0x7F, 1, 2, 3})
	f.Add([]byte{0x00, 0x00, 0x10, 0x00}) // exactly maxFrame announced, nothing sent
	f.Add([]byte{5, 0, 0, 0, 'h', 'e', 'l', 'l', 'o', 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for {
			off := len(b) - r.Len()
			body, err := readFrame(r)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && len(b)-off >= 4 &&
					binary.LittleEndian.Uint32(b[off:]) <= maxFrame {
					t.Fatalf("frame at %d: %v", off, err)
				}
				break
			}
			if len(body) > maxFrame {
				t.Fatalf("frame of %d bytes", len(body))
			}
			used := len(b) - r.Len() - off
			if used != 4+len(body) || !bytes.Equal(body, b[off+4:off+used]) {
				t.Fatalf("frame at %d used %d bytes for a %d-byte body", off, used, len(body))
			}
			var w bytes.Buffer
			if err := writeFrame(&w, body); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(w.Bytes(), b[off:off+used]) {
				t.Fatalf("frame re-encodes as % x, read % x", w.Bytes(), b[off:off+used])
			}
		}
	})
}
