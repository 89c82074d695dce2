package stm32h5

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/stprobe/stprobe/adi"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
)

const (
	flash      = targets.H5FlashRegs
	flashSec   = targets.H5FlashRegsSec
	csSecure   = 0x03000052 // AHB5-AP CSW with a secure transfer
	csNonSecur = 0x43000052 // same with HNONSEC
)

// apReader reads a model's access ports directly (a targets.MemReader).
type apReader struct{ m *Model }

func (r apReader) Read32(ctx context.Context, ap uint8, addr uint32) (uint32, error) {
	p := r.m.AP(ap)
	if p == nil {
		return 0, errors.New("no such AP")
	}
	return p.Read(addr, chipsim.Word, csSecure)
}

func newModel(t *testing.T, cfg Config) *Model {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func rd(t *testing.T, m *Model, ap uint8, addr uint32) uint32 {
	t.Helper()
	v, err := m.AP(ap).Read(addr, chipsim.Word, csSecure)
	if err != nil {
		t.Fatalf("read AP%d 0x%08X: %v", ap, addr, err)
	}
	return v
}

func wr(t *testing.T, m *Model, ap uint8, addr, v uint32) {
	t.Helper()
	if err := m.AP(ap).Write(addr, chipsim.Word, v, csSecure); err != nil {
		t.Fatalf("write AP%d 0x%08X: %v", ap, addr, err)
	}
}

// unlockOB writes the two OPTKEYR keys and checks OPTLOCK cleared.
func unlockOB(t *testing.T, m *Model) {
	t.Helper()
	wr(t, m, 1, flash+targets.FlashOPTKEYR, targets.OptKey1)
	wr(t, m, 1, flash+targets.FlashOPTKEYR, targets.OptKey2)
	if rd(t, m, 1, flash+targets.FlashOPTCR)&targets.OPTCROptLock != 0 {
		t.Fatal("OPTLOCK still set after the keys")
	}
}

// program writes OPTSR_PRG's product state (and optionally OPTSR2_PRG),
// sets OPTSTRT and polls BSY with modelled time, like a host.
func program(t *testing.T, m *Model, state targets.ProductState, optsr2 *uint32) (polls int) {
	t.Helper()
	unlockOB(t, m)
	cur := rd(t, m, 1, flash+targets.FlashOPTSRCur)
	wr(t, m, 1, flash+targets.FlashOPTSRPrg, cur&^0xFF00|uint32(state)<<8)
	if optsr2 != nil {
		wr(t, m, 1, flash+targets.FlashOPTSR2Prg, *optsr2)
	}
	epoch := m.LinkEpoch()
	wr(t, m, 1, flash+targets.FlashOPTCR, targets.OPTCROptStart)
	for {
		m.Advance(100 * time.Microsecond)
		if m.LinkEpoch() != epoch {
			return polls // the chip reset: link gone
		}
		if rd(t, m, 1, flash+targets.FlashNSSR)&targets.NSSRBusy == 0 {
			return polls
		}
		polls++
		if polls > 1000 {
			t.Fatal("BSY never cleared")
		}
	}
}

func TestIdentifyEachLine(t *testing.T) {
	tests := []struct {
		line     uint16
		rev      uint16
		state    targets.ProductState
		wantName string
		wantRev  string
		wantAP   uint8
		wantUID  bool
		wantKB   uint16
	}{
		{LineH503, 0x1003, targets.StateOpen, "STM32H503", "Y", 0, true, 128},
		{LineH533, 0x1000, targets.StateOpen, "STM32H523/H533", "A", 0, true, 512},
		{LineH563, 0x1007, targets.StateOpen, "STM32H562/H563/H573", "X", 0, true, 2048},
		{LineH533, 0x1000, targets.StateClosed, "STM32H523/H533", "A", 0, false, 0},
		{LineH563, 0x100F, targets.StateLocked, "STM32H562/H563/H573", "W", 0, false, 0},
	}
	for _, tt := range tests {
		m := newModel(t, Config{Line: tt.line, RevID: tt.rev, ProductState: tt.state, NRSTWired: true})
		c, err := targets.Identify(context.Background(), apReader{m}, m.DPIDR())
		if err != nil {
			t.Fatalf("%s: %v", tt.wantName, err)
		}
		if c.Line.Name != tt.wantName || c.Revision != tt.wantRev || c.IDCodeAP != tt.wantAP || c.HasUID != tt.wantUID {
			t.Errorf("%v: got %s", tt.state, c)
		}
		if tt.wantUID && (c.FlashKB != tt.wantKB || c.Package != m.family.PackageName(m.line.DefaultPackage) || c.UID != m.cfg.UID) {
			t.Errorf("engineering area: %s", c)
		}
		// The same IDCODE through AP1 at 0x44024000 when AP1 is open.
		if tt.wantUID {
			if v := rd(t, m, 1, targets.H5DBGMCUAP1); v != uint32(tt.rev)<<16|uint32(tt.line) {
				t.Errorf("AP1 IDCODE 0x%08X", v)
			}
		}
	}
}

func TestOptionByteSequence(t *testing.T) {
	m := newModel(t, Config{Line: LineH533, NRSTWired: true})
	if rd(t, m, 1, flash+targets.FlashOPTCR)&targets.OPTCROptLock == 0 {
		t.Fatal("OPTLOCK clear at reset")
	}
	// A locked _PRG ignores writes.
	wr(t, m, 1, flash+targets.FlashOPTSRPrg, 0x1700)
	if _, prg, _ := m.OptionRegister("OPTSR"); targets.ProductStateOf(prg) != targets.StateOpen {
		t.Fatal("locked OPTSR_PRG accepted a write")
	}
	polls := program(t, m, targets.StateProvisioning, nil)
	if polls < 5 {
		t.Errorf("BSY cleared after %d polls of 100 µs; want the 20 ms busy time modelled", polls)
	}
	if m.ProductState() != targets.StateProvisioning || m.LinkEpoch() != 1 {
		t.Errorf("state %v epoch %d, want PROVISIONING after one link drop", m.ProductState(), m.LinkEpoch())
	}
	if rd(t, m, 1, flash+targets.FlashOPTCR)&targets.OPTCROptLock == 0 {
		t.Error("OPTLOCK not set again after the reset")
	}
	if v := rd(t, m, 1, flash+targets.FlashOPTSRPrg); targets.ProductStateOf(v) != targets.StateProvisioning {
		t.Errorf("OPTSR_PRG 0x%08X not reloaded from CUR", v)
	}
}

func TestOptionNoResetForOrdinaryChange(t *testing.T) {
	m := newModel(t, Config{Line: LineH563, NRSTWired: true})
	unlockOB(t, m)
	wr(t, m, 1, flash+0x0EC, 0xFFFFFFFE) // WRP1R_PRG: protect group 0
	wr(t, m, 1, flash+targets.FlashOPTCR, targets.OPTCROptStart)
	m.Advance(25 * time.Millisecond)
	if cur, _, _ := m.OptionRegister("WRP1R"); cur != 0xFFFFFFFE {
		t.Errorf("WRP1R_CUR 0x%08X", cur)
	}
	if m.LinkEpoch() != 0 || rd(t, m, 1, flash+targets.FlashNSSR) != 0 {
		t.Error("an ordinary option change reset the chip or flagged an error")
	}
	wr(t, m, 1, flash+targets.FlashOPTCR, targets.OPTCROptLock)
	if rd(t, m, 1, flash+targets.FlashOPTCR)&targets.OPTCROptLock == 0 {
		t.Error("OPTLOCK write did not lock")
	}
}

func TestWrongKeyLocksUntilReset(t *testing.T) {
	m := newModel(t, Config{Line: LineH533, NRSTWired: true})
	wr(t, m, 1, flash+targets.FlashOPTKEYR, targets.OptKey2) // wrong order
	if err := m.AP(1).Write(flash+targets.FlashOPTKEYR, chipsim.Word, targets.OptKey1, csSecure); !errors.Is(err, chipsim.ErrBusFault) {
		t.Fatalf("OPTKEYR after a wrong key: %v, want a bus fault", err)
	}
	if rd(t, m, 1, flash+targets.FlashOPTCR)&targets.OPTCROptLock == 0 {
		t.Fatal("unlocked by a wrong sequence")
	}
	m.SetNRST(true)
	m.SetNRST(false)
	unlockOB(t, m)
}

func TestRefusedChanges(t *testing.T) {
	tz := func(v targets.TZEN) *uint32 { x := uint32(v)<<24 | 0x15C; return &x }
	tests := []struct {
		name   string
		cfg    Config
		to     targets.ProductState
		optsr2 *uint32
	}{
		{"backward PROVISIONING→OPEN (the seed's attempt 1)", Config{Line: LineH533, ProductState: 0x17, TZEN: 0xB4}, targets.StateOpen, nil},
		{"TZ_CLOSED on H503", Config{Line: LineH503, ProductState: 0x17}, targets.StateTZClosed, nil},
		{"invalid code", Config{Line: LineH533}, targets.ProductState(0x42), nil},
		{"regression request by debugger", Config{Line: LineH533, ProductState: 0x17}, targets.RequestRegression, nil},
		{"TZEN invalid", Config{Line: LineH533}, targets.StateOpen, tz(0x11)},
		{"TZEN in iROT_PROVISIONED", Config{Line: LineH533, ProductState: 0x2E, TZEN: 0xB4, NSDebugApp: true}, targets.StateIROTProvisioned, tz(0xC3)},
		{"skip from OPEN when configured", Config{Line: LineH533, TZEN: 0xB4, OpenOnlyToProvisioning: true}, targets.StateClosed, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.NRSTWired = true
			m := newModel(t, tt.cfg)
			before, _, _ := m.OptionRegister("OPTSR")
			before2, _, _ := m.OptionRegister("OPTSR2")
			program(t, m, tt.to, tt.optsr2)
			nssr := rd(t, m, 1, flash+targets.FlashNSSR)
			if nssr&targets.NSSROptChangeErr == 0 {
				t.Fatalf("NSSR 0x%08X: OPTCHANGEERR not set", nssr)
			}
			cur, _, _ := m.OptionRegister("OPTSR")
			cur2, _, _ := m.OptionRegister("OPTSR2")
			if cur != before || cur2 != before2 || m.LinkEpoch() != 0 || m.Status().LastRefusal == nil {
				t.Fatalf("CUR changed (0x%08X→0x%08X) or link dropped", before, cur)
			}
			// OPTSTRT is refused until the flag is cleared through NSCCR.
			wr(t, m, 1, flash+targets.FlashOPTCR, targets.OPTCROptStart)
			if rd(t, m, 1, flash+targets.FlashNSSR)&targets.NSSRBusy != 0 {
				t.Fatal("OPTSTRT started although OPTCHANGEERR is set")
			}
			wr(t, m, 1, flash+targets.FlashNSCCR, targets.NSSROptChangeErr)
			if rd(t, m, 1, flash+targets.FlashNSSR)&targets.NSSROptChangeErr != 0 {
				t.Fatal("NSCCR did not clear OPTCHANGEERR")
			}
			wr(t, m, 1, flash+targets.FlashOPTCR, targets.OPTCROptStart)
			if rd(t, m, 1, flash+targets.FlashNSSR)&targets.NSSRBusy == 0 {
				t.Fatal("OPTSTRT refused after the flag was cleared")
			}
		})
	}
}

func TestForwardChangesAndTZEN(t *testing.T) {
	// The seed: OPEN → PROVISIONING → TZ_CLOSED with TZEN=0xB4 and no DA.
	m := newModel(t, Config{Line: LineH533, TZEN: 0xB4, NRSTWired: true})
	program(t, m, targets.StateProvisioning, nil)
	program(t, m, targets.StateTZClosed, nil)
	if m.ProductState() != targets.StateTZClosed || m.LinkEpoch() != 2 {
		t.Fatalf("state %v epoch %d", m.ProductState(), m.LinkEpoch())
	}
	if m.AP1Enabled() {
		t.Error("AP1 open in TZ_CLOSED without a non-secure application")
	}
	if _, err := m.AP(1).Read(flash+targets.FlashOPTSRCur, chipsim.Word, csSecure); !errors.Is(err, chipsim.ErrBusFault) {
		t.Errorf("AP1 read in TZ_CLOSED: %v", err)
	}
	if sr := rd(t, m, 0, targets.H5DBGMCUAP0+targets.DBGMCUSR); sr != 0x00010003 {
		t.Errorf("DBGMCU_SR 0x%08X, want AP1 present but not enabled", sr)
	}

	// TZEN change in OPEN resets the chip.
	m = newModel(t, Config{Line: LineH533, NRSTWired: true})
	on := uint32(0xB400015C)
	program(t, m, targets.StateOpen, &on)
	if m.TZEN() != targets.TZENEnabled || m.LinkEpoch() != 1 {
		t.Errorf("TZEN %v epoch %d", m.TZEN(), m.LinkEpoch())
	}
}

func TestAP1PerState(t *testing.T) {
	tests := []struct {
		state targets.ProductState
		tzen  targets.TZEN
		nsApp bool
		want  bool
	}{
		{targets.StateOpen, 0xC3, false, true},
		{targets.StateProvisioning, 0xB4, false, true},
		{targets.StateIROTProvisioned, 0xB4, false, false},
		{targets.StateIROTProvisioned, 0xB4, true, true},
		{targets.StateTZClosed, 0xB4, false, false},
		{targets.StateTZClosed, 0xB4, true, true},
		{targets.StateClosed, 0xB4, true, false},
		{targets.StateLocked, 0xC3, true, false},
	}
	for _, tt := range tests {
		m := newModel(t, Config{Line: LineH533, ProductState: tt.state, TZEN: tt.tzen, NSDebugApp: tt.nsApp, NRSTWired: true})
		if m.AP1Enabled() != tt.want {
			t.Errorf("%v (NS app %v): AP1 enabled %v, want %v", tt.state, tt.nsApp, m.AP1Enabled(), tt.want)
		}
		sr := rd(t, m, 0, targets.H5DBGMCUAP0+targets.DBGMCUSR)
		present, enabled := targets.DecodeAPStatus(sr)
		if present != 3 || enabled&1 == 0 || (enabled&2 != 0) != tt.want {
			t.Errorf("%v: DBGMCU_SR 0x%08X", tt.state, sr)
		}
		if rd(t, m, 0, targets.H5DBGMCUAP0)&0xFFF != uint32(LineH533) {
			t.Errorf("%v: AP0 IDCODE unreadable", tt.state)
		}
		_, err := m.AP(1).Read(flash+targets.FlashOPTSRCur, chipsim.Word, csNonSecur)
		if (err == nil) != tt.want {
			t.Errorf("%v: AP1 non-secure read err %v", tt.state, err)
		}
		// Secure aliases: only in OPEN/PROVISIONING with TrustZone.
		_, err = m.AP(1).Read(flashSec+targets.FlashOPTSRCur, chipsim.Word, csSecure)
		wantSec := tt.tzen == 0xB4 && (tt.state == targets.StateOpen || tt.state == targets.StateProvisioning)
		if (err == nil) != wantSec {
			t.Errorf("%v: secure alias read err %v, want ok=%v", tt.state, err, wantSec)
		}
	}
	// A non-secure transfer to a secure alias faults even in OPEN.
	m := newModel(t, Config{Line: LineH533, TZEN: 0xB4})
	if _, err := m.AP(1).Read(flashSec, chipsim.Word, csNonSecur); !errors.Is(err, chipsim.ErrBusFault) {
		t.Errorf("non-secure transfer to the secure alias: %v", err)
	}
	if _, err := New(Config{Line: LineH503, ProductState: targets.StateTZClosed}); err == nil {
		t.Error("H503 built in TZ_CLOSED")
	}
}

// haltCore enables debug and asks for a halt, as Normal mode does.
func haltCore(t *testing.T, m *Model) {
	wr(t, m, 1, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn|adi.DHCSRCHalt)
	m.Advance(time.Millisecond)
}

// underReset arms vector catch with NRST low and releases it.
func underReset(t *testing.T, m *Model) {
	m.SetNRST(true)
	wr(t, m, 1, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn)
	wr(t, m, 1, adi.RegDEMCR, adi.DEMCRVCCoreReset)
	m.SetNRST(false)
	m.Advance(time.Millisecond)
}

func TestHalting(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		normal, ur bool
	}{
		{"OPEN", Config{Line: LineH533, NRSTWired: true}, true, true},
		{"PROVISIONING", Config{Line: LineH533, ProductState: 0x17, TZEN: 0xB4, NRSTWired: true}, false, false},
		{"no NRST", Config{Line: LineH533}, true, false},
	}
	for _, tt := range tests {
		m := newModel(t, tt.cfg)
		haltCore(t, m)
		if m.Core().Halted() != tt.normal {
			t.Errorf("%s: halted by C_HALT = %v, want %v", tt.name, m.Core().Halted(), tt.normal)
		}
		m = newModel(t, tt.cfg)
		underReset(t, m)
		if m.Core().Halted() != tt.ur {
			t.Errorf("%s: caught at reset vector = %v, want %v", tt.name, m.Core().Halted(), tt.ur)
		}
		// Hot Plug works everywhere AP1 is open: read the state without halting.
		m = newModel(t, tt.cfg)
		if s := targets.ProductStateOf(rd(t, m, 1, flash+targets.FlashOPTSRCur)); s != tt.cfg.ProductState && tt.cfg.ProductState != 0 {
			t.Errorf("%s: hot-plug read %v", tt.name, s)
		}
	}
}

func TestNoNRSTIgnoresReset(t *testing.T) {
	m := newModel(t, Config{Line: LineH533})
	m.SetNRST(true)
	if m.Core().Status().HeldInReset {
		t.Fatal("unwired NRST held the core in reset")
	}
}

func TestSleepyFirmware(t *testing.T) {
	m := newModel(t, Config{Line: LineH533, Firmware: FirmwareSleepy, NRSTWired: true})
	if m.SWDResponds() {
		t.Fatal("sleepy firmware answers SWD at start")
	}
	m.SetNRST(true)
	if !m.SWDResponds() {
		t.Fatal("no SWD with NRST low")
	}
	wr(t, m, 1, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn)
	wr(t, m, 1, adi.RegDEMCR, adi.DEMCRVCCoreReset)
	m.SetNRST(false)
	m.Advance(10 * time.Millisecond)
	if !m.Core().Halted() || !m.SWDResponds() {
		t.Fatal("not halted at the reset vector, or SWD gone while halted")
	}
	wr(t, m, 1, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn) // resume
	m.Advance(100 * time.Microsecond)
	if !m.SWDResponds() {
		t.Fatal("SWD gone at once after resume")
	}
	m.Advance(time.Millisecond)
	if m.SWDResponds() {
		t.Fatal("SWD still answers after the firmware slept")
	}
	// A plain reset pulse gives a short window, then silence.
	m.SetNRST(true)
	wr(t, m, 1, adi.RegDEMCR, 0)
	m.SetNRST(false)
	if !m.SWDResponds() {
		t.Fatal("no window after reset release")
	}
	m.Advance(time.Millisecond)
	if m.SWDResponds() {
		t.Fatal("SWD still answers long after reset release")
	}
}

func TestOTPWriteOnce(t *testing.T) {
	m := newModel(t, Config{Line: LineH503, ProductState: 0x17, NRSTWired: true})
	otp := uint32(targets.H5OTP)
	if v := rd(t, m, 1, otp); v != 0xFFFFFFFF {
		t.Fatalf("blank OTP reads 0x%08X", v)
	}
	// Without NSKEYR unlock and PG: refused with PGSERR.
	wr(t, m, 1, otp, 0x12345678)
	if rd(t, m, 1, otp) != 0xFFFFFFFF || rd(t, m, 1, flash+targets.FlashNSSR)&targets.NSSRPGSErr == 0 {
		t.Fatal("OTP programmed without PG")
	}
	wr(t, m, 1, flash+targets.FlashNSCCR, 0x00FF0000)
	wr(t, m, 1, flash+0x004, targets.FlashKey1)
	wr(t, m, 1, flash+0x004, targets.FlashKey2)
	wr(t, m, 1, flash+0x028, targets.NSCRPG)
	wr16(t, m, otp, 0x5678)
	wr16(t, m, otp+2, 0x1234)
	if sr := rd(t, m, 1, flash+targets.FlashNSSR); sr&targets.NSSREndOfOp == 0 || sr&targets.NSSRErrors != 0 {
		t.Fatalf("NSSR 0x%08X after programming OTP, want EOP and no error", sr)
	}
	wr16(t, m, otp, 0x0000)
	if v := rd(t, m, 1, otp); v != 0x12345678 {
		t.Fatalf("OTP word 0x%08X after a second write, want the first value", v)
	}
	if rd(t, m, 1, flash+targets.FlashNSSR)&targets.NSSRWRPErr == 0 {
		t.Fatal("rewriting OTP did not set WRPERR")
	}
	// Lock block 1 (bytes 64..127) with OTPBLR; the lock cannot be undone.
	unlockOB(t, m)
	wr(t, m, 1, flash+0x094, 2)
	wr(t, m, 1, flash+targets.FlashOPTCR, targets.OPTCROptStart)
	m.Advance(25 * time.Millisecond)
	wr16(t, m, otp+64, 0x5555)
	if v := rd(t, m, 1, otp+64); v != 0xFFFFFFFF {
		t.Fatalf("locked OTP block programmed: 0x%08X", v)
	}
	wr(t, m, 1, flash+0x094, 0)
	wr(t, m, 1, flash+targets.FlashOPTCR, targets.OPTCROptStart)
	m.Advance(25 * time.Millisecond)
	if cur, _, _ := m.OptionRegister("OTPBLR"); cur&2 == 0 {
		t.Fatal("OTP lock removed")
	}
}

// wr16 stores a half-word through AP1.
func wr16(t *testing.T, m *Model, addr uint32, v uint16) {
	t.Helper()
	if err := m.AP(1).Write(addr, chipsim.Halfword, uint32(v), csSecure); err != nil {
		t.Fatalf("write16 0x%08X: %v", addr, err)
	}
}

// OTP is programmed by half-words, as ST's HAL does it: a word or a byte
// store programs nothing and raises PGSERR, even with PG set.
func TestOTPHalfWordsOnly(t *testing.T) {
	for _, tc := range []struct {
		name string
		size chipsim.Size
		v    uint32
		ok   bool
	}{
		{"byte", chipsim.Byte, 0x12, false},
		{"half-word", chipsim.Halfword, 0x1234, true},
		{"word", chipsim.Word, 0x12345678, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newModel(t, Config{Line: LineH503, ProductState: 0x17, NRSTWired: true})
			otp := uint32(targets.H5OTP)
			wr(t, m, 1, flash+0x004, targets.FlashKey1)
			wr(t, m, 1, flash+0x004, targets.FlashKey2)
			wr(t, m, 1, flash+0x028, targets.NSCRPG)
			if err := m.AP(1).Write(otp, tc.size, tc.v, csSecure); err != nil {
				t.Fatal(err)
			}
			sr := rd(t, m, 1, flash+targets.FlashNSSR)
			programmed := rd(t, m, 1, otp) != 0xFFFFFFFF
			if programmed != tc.ok || (sr&targets.NSSRPGSErr != 0) == tc.ok || (sr&targets.NSSREndOfOp != 0) != tc.ok {
				t.Fatalf("%s store: programmed %v, NSSR 0x%08X; want programmed %v", tc.name, programmed, sr, tc.ok)
			}
		})
	}
}

func TestDAProvisioning(t *testing.T) {
	m := newModel(t, Config{Line: LineH533, ProductState: 0x17, TZEN: 0xC3, DA: DAPassword})
	rec := m.OBKDARecord()
	if len(rec) != 96 {
		t.Fatalf("record %d bytes", len(rec))
	}
	pw := sha256.Sum256([]byte(DefaultPassword))
	sum := sha256.Sum256(rec[32:])
	if !bytes.Equal(rec[32:64], pw[:]) || !bytes.Equal(rec[:32], sum[:]) || rec[64] != 0x77 || rec[65] != 0x50 {
		t.Fatalf("record % x", rec)
	}
	if m.DAProvisioned() != DAPassword {
		t.Error("DAProvisioned")
	}
	if _, err := m.AP(1).Read(targets.H5OBKDA, chipsim.Word, csSecure); !errors.Is(err, chipsim.ErrBusFault) {
		t.Errorf("OBK read with TZEN=0xC3: %v, want a fault (no secure alias)", err)
	}
	// Certificate DA with TrustZone: readable through a secure AP1 access at
	// 0x0FFD0100 in PROVISIONING; closed in CLOSED.
	key := placeholderRootKey()
	kh := sha256.Sum256(key)
	m = newModel(t, Config{Line: LineH563, ProductState: 0x17, TZEN: 0xB4, DA: DACertificate})
	if v := rd(t, m, 1, targets.H5OBKDA+32); v != uint32(kh[0])|uint32(kh[1])<<8|uint32(kh[2])<<16|uint32(kh[3])<<24 {
		t.Errorf("OBK read 0x%08X", v)
	}
	if v := rd(t, m, 1, targets.H5OBKDA+64); v != DefaultPermissions {
		t.Errorf("OBK permissions 0x%08X", v)
	}
	if m := newModel(t, Config{Line: LineH533}); m.DAProvisioned() != DANone || m.OBKDARecord() != nil {
		t.Error("DA present on a blank chip")
	}

	h503 := newModel(t, Config{Line: LineH503, ProductState: 0x17, DA: DAPassword})
	if w, ok := h503.OTPWord(0); !ok || w != uint16(pw[0])|uint16(pw[1])<<8 {
		t.Errorf("H503 OTP word 0 = 0x%04X %v", w, ok)
	}
	if cur, _, _ := h503.OptionRegister("OTPBLR"); cur&1 == 0 {
		t.Error("H503 OTP block 0 not locked")
	}
	if _, err := New(Config{Line: LineH503, DA: DACertificate}); err == nil {
		t.Error("H503 accepted certificate DA")
	}
}

func TestPowerCycleDropsLink(t *testing.T) {
	m := newModel(t, Config{Line: LineH533})
	wr(t, m, 1, flash+targets.FlashOPTKEYR, 0) // wrong key
	m.PowerCycle()
	if m.LinkEpoch() != 1 {
		t.Errorf("epoch %d", m.LinkEpoch())
	}
	unlockOB(t, m)
}

// TestConcurrentUse drives the model from one goroutine while another reads
// its state, for the race detector.
func TestConcurrentUse(t *testing.T) {
	m := newModel(t, Config{Line: LineH533, NRSTWired: true})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			_ = m.ProductState()
			_ = m.TZEN()
			_, _, _ = m.OptionRegister("OPTSR")
			_ = m.SWDResponds()
			_ = m.AP1Enabled()
			_ = m.Status()
		}
	}()
	for i := 0; i < 50; i++ {
		m.SetNRST(true)
		m.SetNRST(false)
		haltCore(t, m)
		_ = rd(t, m, 0, targets.H5DBGMCUAP0+targets.DBGMCUSR)
		wr(t, m, 1, adi.RegAIRCR, adi.AIRCRVectKey|adi.AIRCRSysResetReq)
	}
	<-done
	if n := m.Status().Resets; n != 50 {
		t.Errorf("%d system resets, want 50", n)
	}
}

// TestStatusClockAndResets checks the snapshot of a fresh model and that
// its clock and reset count follow modelled time and system resets.
func TestStatusClockAndResets(t *testing.T) {
	m := newModel(t, Config{Line: LineH533, NRSTWired: true})
	if st := m.Status(); st != (Status{}) {
		t.Fatalf("fresh model: status %+v, want all zero", st)
	}
	m.Advance(3 * time.Millisecond)
	wr(t, m, 1, adi.RegAIRCR, adi.AIRCRVectKey|adi.AIRCRSysResetReq)
	m.SetNRST(true)
	m.SetNRST(false) // a pin reset: not counted
	if st := m.Status(); st != (Status{Now: 3 * time.Millisecond, Resets: 1}) {
		t.Errorf("after 3 ms and one SYSRESETREQ: status %+v", st)
	}
}

func TestDBGMCUAndEngineeringArea(t *testing.T) {
	m := newModel(t, Config{Line: LineH563, ProductState: targets.StateClosed, TZEN: 0xB4, DA: DACertificate, Package: 0x07, FlashKB: 1024})
	// The DA mailbox answers through AP0 in CLOSED.
	wr(t, m, 0, targets.H5DBGMCUAP0+targets.DBGMCUAuthHost, 0x53544441)
	if v := rd(t, m, 0, targets.H5DBGMCUAP0+targets.DBGMCUAuthAck); v&1 == 0 {
		t.Errorf("DBG_AUTH_ACK 0x%08X: HOST_ACK not set by a host write", v)
	}
	if v := rd(t, m, 0, targets.H5DBGMCUAP0+targets.DBGMCUAuthHost); v != 0x53544441 {
		t.Errorf("DBG_AUTH_HOST 0x%08X", v)
	}
	wr(t, m, 0, targets.H5DBGMCUAP0+targets.DBGMCUCR, 6)
	if v := rd(t, m, 0, targets.H5DBGMCUAP0+targets.DBGMCUCR); v != 6 {
		t.Errorf("DBGMCU_CR 0x%08X", v)
	}
	if _, err := m.AP(0).Read(0x08FFF800, chipsim.Word, csSecure); !errors.Is(err, chipsim.ErrBusFault) {
		t.Errorf("AP0 reaches the engineering area: %v", err)
	}
	// Engineering area through AP1 on an open chip, with halfword reads.
	m = newModel(t, Config{Line: LineH563, Package: 0x07, FlashKB: 1024, UID: [3]uint32{1, 2, 3}})
	size, err := m.AP(1).Read(targets.H5FlashSize, chipsim.Halfword, csSecure)
	if err != nil || size != 1024 {
		t.Errorf("flash size %d %v", size, err)
	}
	pkg, err := m.AP(1).Read(targets.H5Package, chipsim.Halfword, csSecure)
	if err != nil || pkg != 0x07 {
		t.Errorf("package %#x %v", pkg, err)
	}
	if v := rd(t, m, 1, targets.H5UID+8); v != 3 {
		t.Errorf("UID word 2 = %d", v)
	}
	if err := m.AP(1).Write(targets.H5UID, chipsim.Word, 0, csSecure); !errors.Is(err, chipsim.ErrBusFault) {
		t.Errorf("engineering area writable: %v", err)
	}
	if v := rd(t, m, 1, 0x08000000); v != 0xFFFFFFFF {
		t.Errorf("erased flash reads 0x%08X", v)
	}
}

func TestDAString(t *testing.T) {
	for _, c := range []struct {
		d    DA
		want string
	}{
		{DANone, "none"}, {DAPassword, "password"}, {DACertificate, "certificate"}, {DA(-1), "DA(-1)"}, {DA(3), "DA(3)"},
	} {
		if got := c.d.String(); got != c.want {
			t.Errorf("DA(%d).String() = %q, want %q", int(c.d), got, c.want)
		}
	}
}
