package adi

import "testing"

// TestEncodings pins the composite values hosts and models rely on to the
// numbers the architecture manuals give.
func TestEncodings(t *testing.T) {
	tests := []struct {
		name string
		got  uint32
		want uint32
	}{
		{"ABORT clear all sticky flags", AbortClearAll, 0x1E},
		{"CTRL/STAT power-up requests", CtrlPowerUpReqs, 0x50000000},
		{"CTRL/STAT power-up acks", CtrlPowerUpAcks, 0xA0000000},
		{"DHCSR debug enable and halt", DHCSRDebugKey | DHCSRCDebugEn | DHCSRCHalt, 0xA05F0003},
		{"AIRCR system reset request", AIRCRVectKey | AIRCRSysResetReq, 0x05FA0004},
		{"DHCSR address", RegDHCSR, 0xE000EDF0},
		{"MEM-AP IDR address", APIDR, 0xFC},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = 0x%08X, want 0x%08X", tt.name, tt.got, tt.want)
		}
	}
}
