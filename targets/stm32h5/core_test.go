package stm32h5

import (
	"encoding/binary"
	"testing"

	"github.com/stprobe/stprobe/adi"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
)

func TestDBGMCUCoreSightIDs(t *testing.T) {
	for _, line := range []uint16{LineH503, LineH533, LineH563} {
		m := newModel(t, Config{Line: line})
		for _, ap := range []uint8{0, 1} {
			base := uint32(targets.H5DBGMCUAP0)
			if ap == 1 {
				base = targets.H5DBGMCUAP1
			}
			var cidr, pidr uint32
			for i := uint32(0); i < 4; i++ {
				cidr |= (rd(t, m, ap, base+0xFF0+4*i) & 0xFF) << (8 * i)
				pidr |= (rd(t, m, ap, base+0xFE0+4*i) & 0xFF) << (8 * i)
			}
			pidr4 := rd(t, m, ap, base+0xFD0)
			if cidr != 0xB105F00D {
				t.Errorf("%03X AP%d: CIDR 0x%08X, want 0xB105F00D", line, ap, cidr)
			}
			part := pidr & 0xFFF
			designer := (pidr>>12)&0x7F | (pidr4&0xF)<<7
			if part != uint32(line) || designer != 0x20 || pidr&(1<<19) == 0 {
				t.Errorf("%03X AP%d: PIDR 0x%08X PIDR4 0x%X: part 0x%X designer 0x%X", line, ap, pidr, pidr4, part, designer)
			}
			if rd(t, m, ap, base)&0xFFF != uint32(line) {
				t.Errorf("%03X AP%d: IDCODE lost", line, ap)
			}
		}
	}
}

func TestDAuthStatusAndPFR1(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		pfr1  uint32
		dauth uint32
	}{
		{"H503", Config{Line: LineH503}, chipsim.IDPFR1NoSecurity, chipsim.DAuthNoSecurity},
		{"H533 TZ enabled OPEN", Config{Line: LineH533, TZEN: targets.TZENEnabled}, chipsim.IDPFR1Security, chipsim.DAuthSecureOpen},
		{"H563 TZ enabled PROVISIONING", Config{Line: LineH563, TZEN: targets.TZENEnabled, ProductState: targets.StateProvisioning}, chipsim.IDPFR1Security, chipsim.DAuthSecureOpen},
		{"H533 TZ disabled OPEN", Config{Line: LineH533, TZEN: targets.TZENDisabled}, chipsim.IDPFR1Security, chipsim.DAuthSecureClosed},
		{"H563 TZ_CLOSED, NS debug by the app", Config{Line: LineH563, TZEN: targets.TZENEnabled, ProductState: targets.StateTZClosed, NSDebugApp: true}, chipsim.IDPFR1Security, chipsim.DAuthSecureClosed},
	}
	for _, tc := range tests {
		m := newModel(t, tc.cfg)
		if v := rd(t, m, 1, 0xE000ED44); v != tc.pfr1 {
			t.Errorf("%s: ID_PFR1 0x%08X, want 0x%08X", tc.name, v, tc.pfr1)
		}
		if v := rd(t, m, 1, adi.RegDAUTHSTATUS); v != tc.dauth {
			t.Errorf("%s: DAUTHSTATUS 0x%08X, want 0x%08X", tc.name, v, tc.dauth)
		}
	}
	if got := dauthStatus(true, false, false); got != chipsim.DAuthAllClosed {
		t.Errorf("all closed: 0x%02X", got)
	}
	if got := dauthStatus(false, false, false); got != chipsim.DAuthNoSecNSClosed {
		t.Errorf("no security, closed: 0x%02X", got)
	}
}

func vectors(sp, pc uint32) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint32(b, sp)
	binary.LittleEndian.PutUint32(b[4:], pc)
	return b
}

func TestResetBootsFromFlashVectors(t *testing.T) {
	tests := []struct {
		name      string
		cfg       Config
		load      uint32 // where the vector table is written
		wantPC    uint32
		wantVTOR  uint32
		wantErase bool // nothing written at the boot address
	}{
		{"TrustZone disabled boots at NSBOOTADD", Config{Line: LineH563, TZEN: targets.TZENDisabled, NRSTWired: true}, 0x08000000, 0x080001C4, 0x08000000, false},
		{"H503 boots at NSBOOTADD", Config{Line: LineH503, NRSTWired: true}, 0x08000000, 0x080001C4, 0x08000000, false},
		{"TrustZone enabled boots at SECBOOTADD", Config{Line: LineH533, TZEN: targets.TZENEnabled, NRSTWired: true}, 0x0C000000, 0x0C0001C4, 0x0C000000, false},
		{"secure alias written, secure boot", Config{Line: LineH533, TZEN: targets.TZENEnabled, NRSTWired: true}, 0x08000000, 0x0C0001C4, 0x0C000000, false},
		{"blank flash", Config{Line: LineH563, NRSTWired: true}, 0, 0xFFFFFFFE, 0x08000000, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newModel(t, tc.cfg)
			sp, pc := uint32(0x20004000), tc.wantPC|1
			if tc.load != 0 {
				if err := m.LoadFlash(tc.load, vectors(sp, pc)); err != nil {
					t.Fatal(err)
				}
			}
			underReset(t, m)
			if !m.Core().Halted() {
				t.Fatal("not caught at the reset vector")
			}
			wantSP := sp
			if tc.wantErase {
				wantSP = 0xFFFFFFFC
			}
			if got := m.Core().Reg(adi.RegSelPC); got != tc.wantPC {
				t.Errorf("PC 0x%08X, want 0x%08X", got, tc.wantPC)
			}
			if got := m.Core().Reg(adi.RegSelMSP); got != wantSP {
				t.Errorf("MSP 0x%08X, want 0x%08X", got, wantSP)
			}
			if got := rd(t, m, 1, 0xE000ED08); got != tc.wantVTOR {
				t.Errorf("VTOR 0x%08X, want 0x%08X", got, tc.wantVTOR)
			}
			// SYSRESETREQ reloads them too
			m.Core().SetReg(adi.RegSelPC, 0x12345678)
			wr(t, m, 1, adi.RegAIRCR, adi.AIRCRVectKey|adi.AIRCRSysResetReq)
			if got := m.Core().Reg(adi.RegSelPC); got != tc.wantPC {
				t.Errorf("after SYSRESETREQ PC 0x%08X, want 0x%08X", got, tc.wantPC)
			}
		})
	}
}

func TestLoadFlash(t *testing.T) {
	m := newModel(t, Config{Line: LineH503})
	if err := m.LoadFlash(0x08000002, []byte{0x11, 0x22, 0x33}); err != nil {
		t.Fatal(err)
	}
	if v := rd(t, m, 1, 0x08000000); v != 0x2211FFFF {
		t.Errorf("word 0 = 0x%08X", v)
	}
	if v := rd(t, m, 1, 0x08000004); v != 0xFFFFFF33 {
		t.Errorf("word 1 = 0x%08X", v)
	}
	if err := m.LoadFlash(0x0C000000, []byte{1}); err == nil {
		t.Error("H503 loaded the secure alias it does not have")
	}
	if err := m.LoadFlash(0x08000000+128<<10-2, []byte{1, 2, 3}); err == nil {
		t.Error("a load past the end of flash succeeded")
	}
	if err := m.LoadFlash(0x20000000, []byte{1}); err == nil {
		t.Error("a load into SRAM succeeded")
	}
}

func TestBreakpointUnitsOnH5(t *testing.T) {
	m := newModel(t, Config{})
	if v := rd(t, m, 1, adi.RegFPCtrl); (v>>4)&0xF != 8 {
		t.Errorf("FP_CTRL 0x%08X: want 8 code comparators", v)
	}
	if v := rd(t, m, 1, adi.RegDWTCtrl); v>>28 != 4 {
		t.Errorf("DWT_CTRL 0x%08X: want 4 comparators", v)
	}
}

func TestResetSecurityState(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		secure bool
		bank   int // DCRSR REGSEL holding the initial SP too; 0: none
	}{
		{"TrustZone enabled", Config{Line: LineH563, TZEN: targets.TZENEnabled}, true, 0x1A},
		{"TrustZone disabled", Config{Line: LineH563, TZEN: targets.TZENDisabled}, false, 0x18},
		{"H503", Config{Line: LineH503}, false, 0},
	}
	for _, tc := range tests {
		m := newModel(t, tc.cfg)
		if err := m.LoadFlash(0x08000000, vectors(0x20002000, 0x08000101)); err != nil {
			t.Fatal(err)
		}
		m.Core().Reset()
		if cds := rd(t, m, 1, adi.RegDSCSR)&adi.DSCSRCDS != 0; cds != tc.secure {
			t.Errorf("%s: DSCSR.CDS %v, want %v", tc.name, cds, tc.secure)
		}
		if tc.bank != 0 && m.Core().Reg(tc.bank) != 0x20002000 {
			t.Errorf("%s: banked SP 0x%02X = 0x%08X", tc.name, tc.bank, m.Core().Reg(tc.bank))
		}
	}
}
