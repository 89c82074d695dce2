package probe

import (
	"context"
	"errors"
	"testing"

	"github.com/google/gousb"
)

func stringDescriptor(units ...uint16) []byte {
	b := []byte{byte(2 + 2*len(units)), usbDescString}
	for _, u := range units {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

func asciiUnits(s string) []uint16 {
	var u []uint16
	for _, c := range s {
		u = append(u, uint16(c))
	}
	return u
}

func TestDecodeSerialDescriptor(t *testing.T) {
	tests := []struct {
		name    string
		desc    []byte
		want    string
		wantErr bool
	}{
		{"text serial", stringDescriptor(asciiUnits("0670FF485550755187121723")...), "0670FF485550755187121723", false},
		{"V3 serial", stringDescriptor(asciiUnits("003A00193438510B34313939")...), "003A00193438510B34313939", false},
		{"early V2 raw bytes", stringDescriptor(0x06, 0x70, 0xFF, 0x48, 0x55, 0x50, 0x75, 0x51, 0x87, 0x12, 0x17, 0x23), "0670FF485550755187121723", false},
		{"raw bytes that happen to be printable", stringDescriptor(asciiUnits("ABCDEFGHIJKL")...), "4142434445464748494A4B4C", false},
		{"descriptor longer than bLength", append(stringDescriptor(asciiUnits("AB12")...), 0, 0, 0), "AB12", false},
		{"not a string descriptor", []byte{4, 1, 0x41, 0}, "", true},
		{"odd length", []byte{5, 3, 0x41, 0, 0x42}, "", true},
		{"control character", stringDescriptor(0x41, 0x07, 0x42), "", true},
		{"empty", nil, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeSerialDescriptor(tc.desc)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("decodeSerialDescriptor(% x) = %q, %v; want %q, error %v", tc.desc, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// FuzzDecodeSerialDescriptor: any bytes a device sends decode without
// panicking to a printable serial or an error.
func FuzzDecodeSerialDescriptor(f *testing.F) {
	f.Add(stringDescriptor(asciiUnits("0670FF485550755187121723")...))
	f.Add(stringDescriptor(0x06, 0x70, 0xFF, 0x48, 0x55, 0x50, 0x75, 0x51, 0x87, 0x12, 0x17, 0x23))
	f.Add([]byte{0xFF, 3, 0x41})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSerialDescriptor(b)
		if err != nil {
			return
		}
		for _, c := range []byte(s) {
			if c < 0x20 || c > 0x7E {
				t.Fatalf("serial %q has a non-printable byte", s)
			}
		}
	})
}

func TestLibusbErrorMapping(t *testing.T) {
	tests := []struct {
		name         string
		err          error
		ctx          func() context.Context
		disconnected bool
		timeout      bool
		canceled     bool
	}{
		{"no device on submit", gousb.ErrorNoDevice, context.Background, true, false, false},
		{"no device on completion", gousb.TransferNoDevice, context.Background, true, false, false},
		{"deadline", gousb.TransferCancelled, expiredContext, false, true, false},
		{"libusb timeout", gousb.TransferTimedOut, context.Background, false, true, false},
		{"caller cancelled", gousb.TransferCancelled, cancelledContext, false, false, true},
		{"i/o error", gousb.ErrorIO, context.Background, false, false, false},
		{"stall", gousb.TransferStall, context.Background, false, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := &usbTransport{}
			err := tr.fail(tc.ctx(), "reading the reply", tc.err)
			if got := errors.Is(err, ErrDisconnected); got != tc.disconnected {
				t.Errorf("%v: disconnected %v, want %v", err, got, tc.disconnected)
			}
			if got := errors.Is(err, ErrTimeout); got != tc.timeout {
				t.Errorf("%v: timeout %v, want %v", err, got, tc.timeout)
			}
			if got := errors.Is(err, context.Canceled); got != tc.canceled {
				t.Errorf("%v: canceled %v, want %v", err, got, tc.canceled)
			}
			if LayerOf(err) != LayerUSB {
				t.Errorf("%v: layer %q, want USB", err, LayerOf(err))
			}
			if tr.gone != tc.disconnected {
				t.Errorf("transport gone = %v after %v", tr.gone, err)
			}
			if tr.stale != (tc.timeout || tc.canceled) {
				t.Errorf("transport stale = %v after %v", tr.stale, err)
			}
		})
	}
}

func expiredContext() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 0)
	cancel()
	return ctx
}

func cancelledContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
