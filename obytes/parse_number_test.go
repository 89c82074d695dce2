package obytes

import (
	"errors"
	"strings"
	"testing"
)

// One number syntax: 0x hexadecimal or plain decimal. Values wider than the
// field say so, whatever their size.
func TestNumberSyntax(t *testing.T) {
	l, _ := ForDevID(DevH56x)
	cases := []struct {
		arg     string
		want    uint32
		mention string // "" means accepted
	}{
		{"NSBOOTADD=0x80000", 0x80000, ""},
		{"NSBOOTADD=0X80000", 0x80000, ""},
		{"WRPSGn1=255", 255, ""},
		{"WRPSGn1=0", 0, ""},
		{"NSBOOTADD=0x1FFFFFFFF", 0, "too wide for the field"},
		{"NSBOOTADD=0xFFFFFFFFFFFFFFFFFFFF", 0, "too wide for the field"},
		{"HDP1_STRT=0x80", 0, "too wide for the field"},
		{"WRPSGn1=99999999999999999999999", 0, "too wide for the field"},
		{"WRPSGn1=017", 0, "leading 0"},
		{"WRPSGn1=0b101", 0, "0x-prefixed hexadecimal"},
		{"WRPSGn1=1_0", 0, "0x-prefixed hexadecimal"},
		{"WRPSGn1=0o17", 0, "0x-prefixed hexadecimal"},
		{"WRPSGn1=-1", 0, "0x-prefixed hexadecimal"},
		{"WRPSGn1=+1", 0, "0x-prefixed hexadecimal"},
		{"WRPSGn1=0x", 0, "0x-prefixed hexadecimal"},
		{"WRPSGn1=0xg", 0, "0x-prefixed hexadecimal"},
	}
	for _, c := range cases {
		a, err := l.ParseAssignment(c.arg)
		if c.mention == "" {
			if err != nil || a.Value != c.want {
				t.Errorf("%s: %v %v, want 0x%X", c.arg, a.Value, err, c.want)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), c.mention) {
			t.Errorf("%s: %v, want an invalid value mentioning %q", c.arg, err, c.mention)
		}
		if err != nil && strings.Contains(c.mention, "too wide") && strings.Contains(err.Error(), "neither") {
			t.Errorf("%s: %v", c.arg, err)
		}
	}
}
