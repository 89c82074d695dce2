package uart_test

import (
	"testing"

	"github.com/stprobe/stprobe/boot/uart"
)

func TestKindString(t *testing.T) {
	for _, tc := range []struct {
		k    uart.Kind
		want string
	}{
		{uart.KindRead, "read"},
		{uart.KindWrite, "write"},
		{uart.KindErase, "erase"},
		{uart.KindProtect, "protect"},
		{uart.KindUnprotect, "unprotect"},
		{uart.KindGo, "go"},
		{uart.KindSpecial, "special"},
		{uart.KindSpecial + 1, "Kind(7)"},
		{-1, "Kind(-1)"},
	} {
		if got := tc.k.String(); got != tc.want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(tc.k), got, tc.want)
		}
	}
}
