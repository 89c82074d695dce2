package chipsim

import (
	"errors"
	"testing"
	"time"

	"github.com/stprobe/stprobe/adi"
)

func mustRead(t *testing.T, ap AP, addr uint32) uint32 {
	t.Helper()
	v, err := ap.Read(addr, Word, 0)
	if err != nil {
		t.Fatalf("read 0x%08X: %v", addr, err)
	}
	return v
}

func mustWrite(t *testing.T, ap AP, addr, v uint32) {
	t.Helper()
	if err := ap.Write(addr, Word, v, 0); err != nil {
		t.Fatalf("write 0x%08X: %v", addr, err)
	}
}

func TestRAMLanes(t *testing.T) {
	m := NewRAM(0x20000000, 16)
	if err := m.Write(0x20000000, Word, 0x44332211, 0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr uint32
		size Size
		want uint32
	}{
		{0x20000000, Byte, 0x11},
		{0x20000001, Byte, 0x22},
		{0x20000003, Byte, 0x44},
		{0x20000002, Halfword, 0x4433},
		{0x20000000, Word, 0x44332211},
	}
	for _, tc := range tests {
		got, err := m.Read(tc.addr, tc.size, 0)
		if err != nil || got != tc.want {
			t.Errorf("Read(0x%X, %d) = 0x%X, %v; want 0x%X", tc.addr, tc.size, got, err, tc.want)
		}
	}
	_ = m.Write(0x20000001, Byte, 0xAA, 0)
	if got, _ := m.Read(0x20000000, Word, 0); got != 0x4433AA11 {
		t.Errorf("after byte write word = 0x%08X", got)
	}
}

func TestBusFaults(t *testing.T) {
	var b Bus
	b.Map(NewRAM(0x1000, 0x100))
	if _, err := b.Read(0x2000, Word, 0); !errors.Is(err, ErrBusFault) {
		t.Errorf("unmapped read: %v, want ErrBusFault", err)
	}
	if err := b.Write(0x1002, Word, 0, 0); !errors.Is(err, ErrBusFault) {
		t.Errorf("unaligned write: %v, want ErrBusFault", err)
	}
	if _, err := b.Read(0x10FC, Word, 0); err != nil {
		t.Errorf("last word: %v", err)
	}
}

func TestRegistersNarrowWrite(t *testing.T) {
	var reg uint32 = 0x11223344
	r := &Registers{Base: 0x4000, Size: 4,
		ReadFn:  func(off uint32) (uint32, error) { return reg, nil },
		WriteFn: func(off, v uint32) error { reg = v; return nil },
	}
	if err := r.Write(0x4001, Byte, 0xAB, 0); err != nil {
		t.Fatal(err)
	}
	if reg != 0x1122AB44 {
		t.Errorf("reg = 0x%08X, want 0x1122AB44", reg)
	}
	if v, _ := r.Read(0x4002, Halfword, 0); v != 0x1122 {
		t.Errorf("halfword = 0x%X", v)
	}
}

func TestGenericIdentity(t *testing.T) {
	g := NewGeneric(1)
	if g.DPIDR() != 0x6BA02477 {
		t.Errorf("DPIDR 0x%08X", g.DPIDR())
	}
	if g.AP(2) != nil {
		t.Error("AP2 should not exist")
	}
	if g.AP(0).IDR() != IDRAPBAP || g.AP(1).IDR() != IDRAHB5AP {
		t.Errorf("IDRs 0x%08X 0x%08X", g.AP(0).IDR(), g.AP(1).IDR())
	}
	cpu := g.AP(1)
	if v := mustRead(t, cpu, adi.RegCPUID); v != CPUIDCortexM33r0p4 {
		t.Errorf("CPUID 0x%08X", v)
	}
	if v := mustRead(t, cpu, 0xE000EFF4); v != 0x90 {
		t.Errorf("SCS CIDR1 0x%X, want 0x90", v)
	}
	if v := mustRead(t, cpu, adi.ROMTableBase); v != 0xFFF0F003 {
		t.Errorf("ROM entry 0 = 0x%08X", v)
	}
	if v := mustRead(t, cpu, adi.RegDWTCtrl); v != 0x40000000 {
		t.Errorf("DWT_CTRL = 0x%08X, want NUMCOMP 4", v)
	}
	if _, err := g.AP(0).Read(0x20000000, Word, 0); !errors.Is(err, ErrBusFault) {
		t.Errorf("AP0 does not reach RAM: %v", err)
	}
}

func TestDHCSR(t *testing.T) {
	g := NewGeneric(1)
	cpu := g.AP(1)
	// power-on: S_RESET_ST sticky until read
	if v := mustRead(t, cpu, adi.RegDHCSR); v&adi.DHCSRSResetSt == 0 {
		t.Errorf("first DHCSR 0x%08X lacks S_RESET_ST", v)
	}
	if v := mustRead(t, cpu, adi.RegDHCSR); v&adi.DHCSRSResetSt != 0 {
		t.Errorf("second DHCSR 0x%08X still has S_RESET_ST", v)
	}
	g.Advance(time.Millisecond)
	if v := mustRead(t, cpu, adi.RegDHCSR); v&adi.DHCSRSRetireSt == 0 {
		t.Errorf("running core: DHCSR 0x%08X lacks S_RETIRE_ST", v)
	}
	// without the key nothing happens
	mustWrite(t, cpu, adi.RegDHCSR, adi.DHCSRCDebugEn|adi.DHCSRCHalt)
	if g.Core().Halted() {
		t.Fatal("halted without DBGKEY")
	}
	// halt needs C_DEBUGEN
	mustWrite(t, cpu, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCHalt)
	if g.Core().Halted() {
		t.Fatal("halted without C_DEBUGEN")
	}
	mustWrite(t, cpu, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn|adi.DHCSRCHalt)
	v := mustRead(t, cpu, adi.RegDHCSR)
	if v&(adi.DHCSRSHalt|adi.DHCSRSRegRdy) != adi.DHCSRSHalt|adi.DHCSRSRegRdy {
		t.Errorf("halted DHCSR 0x%08X", v)
	}
	if mustRead(t, cpu, adi.RegDFSR)&adi.DFSRHalted == 0 {
		t.Error("DFSR.HALTED not set")
	}
	// register transfer
	mustWrite(t, cpu, adi.RegDCRSR, adi.RegSelPC)
	if pc := mustRead(t, cpu, adi.RegDCRDR); pc != 0x08000000 {
		t.Errorf("PC 0x%08X", pc)
	}
	mustWrite(t, cpu, adi.RegDCRDR, 0x08001234)
	mustWrite(t, cpu, adi.RegDCRSR, adi.DCRSRRegWnR|adi.RegSelPC)
	if g.Core().Reg(adi.RegSelPC) != 0x08001234 {
		t.Errorf("PC after write 0x%08X", g.Core().Reg(adi.RegSelPC))
	}
	// resume
	mustWrite(t, cpu, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn)
	if g.Core().Halted() {
		t.Error("still halted after clearing C_HALT")
	}
}

func TestVectorCatchOnSysReset(t *testing.T) {
	g := NewGeneric(1)
	cpu := g.AP(1)
	mustWrite(t, cpu, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn)
	// multi-word write spanning DCRDR and DEMCR, as OpenOCD does
	mustWrite(t, cpu, adi.RegDCRDR, 0)
	mustWrite(t, cpu, adi.RegDEMCR, adi.DEMCRTrcEna|adi.DEMCRVCCoreReset)
	mustRead(t, cpu, adi.RegDHCSR)
	// AIRCR without key: ignored
	mustWrite(t, cpu, adi.RegAIRCR, adi.AIRCRSysResetReq)
	if g.Core().Halted() {
		t.Fatal("reset without VECTKEY")
	}
	mustWrite(t, cpu, adi.RegAIRCR, adi.AIRCRVectKey|adi.AIRCRSysResetReq)
	v := mustRead(t, cpu, adi.RegDHCSR)
	if v&adi.DHCSRSHalt == 0 || v&adi.DHCSRSResetSt == 0 {
		t.Errorf("after SYSRESETREQ DHCSR 0x%08X, want S_HALT|S_RESET_ST", v)
	}
	if mustRead(t, cpu, adi.RegDFSR)&adi.DFSRVCatch == 0 {
		t.Error("DFSR.VCATCH not set")
	}
	if r := mustRead(t, cpu, adi.RegAIRCR); r>>16 != 0xFA05 {
		t.Errorf("AIRCR reads 0x%08X", r)
	}
}

func TestNRSTHeldThenCaught(t *testing.T) {
	g := NewGeneric(1)
	cpu := g.AP(1)
	g.SetNRST(true)
	mustWrite(t, cpu, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn|adi.DHCSRCHalt)
	mustWrite(t, cpu, adi.RegDEMCR, adi.DEMCRVCCoreReset)
	if g.Core().Halted() {
		t.Fatal("halted while held in reset")
	}
	for i := 0; i < 2; i++ {
		if v := mustRead(t, cpu, adi.RegDHCSR); v&adi.DHCSRSResetSt == 0 {
			t.Errorf("held in reset: DHCSR 0x%08X lacks S_RESET_ST", v)
		}
	}
	if mustRead(t, cpu, adi.RegDEMCR) != adi.DEMCRVCCoreReset {
		t.Error("DEMCR not writable while held in reset")
	}
	g.SetNRST(false)
	if !g.Core().Halted() {
		t.Fatal("not caught at reset vector on NRST release")
	}
}

func TestNRSTReleaseWithoutCatchRuns(t *testing.T) {
	g := NewGeneric(1)
	cpu := g.AP(1)
	mustWrite(t, cpu, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn|adi.DHCSRCHalt)
	if !g.Core().Halted() {
		t.Fatal("not halted")
	}
	g.SetNRST(true)
	g.SetNRST(false)
	if g.Core().Halted() {
		t.Error("halted after reset without VC_CORERESET")
	}
}

func TestPendingHaltWaitsForCanHalt(t *testing.T) {
	allowed := false
	c := NewCore(CoreConfig{CPUID: CPUIDCortexM33r0p4, CanHalt: func() bool { return allowed }})
	r := c.Region()
	_ = r.Write(adi.RegDHCSR, Word, adi.DHCSRDebugKey|adi.DHCSRCDebugEn|adi.DHCSRCHalt, 0)
	if c.Halted() {
		t.Fatal("halted although CanHalt is false")
	}
	allowed = true
	c.Advance(time.Microsecond)
	if !c.Halted() {
		t.Error("pending halt not honoured once allowed")
	}
}

func TestDSCSR(t *testing.T) {
	g := NewGeneric(1)
	g.Core().SetSecureState(true)
	if v := mustRead(t, g.AP(1), adi.RegDSCSR); v&adi.DSCSRCDS == 0 {
		t.Errorf("DSCSR 0x%08X lacks CDS", v)
	}
}

func TestFPCtrlEnable(t *testing.T) {
	g := NewGeneric(1)
	cpu := g.AP(1)
	mustWrite(t, cpu, adi.RegFPCtrl, 1) // without KEY: ignored
	if v := mustRead(t, cpu, adi.RegFPCtrl); v&1 != 0 {
		t.Errorf("FP_CTRL 0x%08X enabled without KEY", v)
	}
	mustWrite(t, cpu, adi.RegFPCtrl, 3)
	if v := mustRead(t, cpu, adi.RegFPCtrl); v != 0x10000081 {
		t.Errorf("FP_CTRL 0x%08X, want 0x10000081", v)
	}
	if v := mustRead(t, g.AP(0), 0xE0044000); v != 0 {
		t.Errorf("AP0 DBGMCU block reads 0x%08X", v)
	}
}

func TestBreakpointAndWatchpointUnits(t *testing.T) {
	g := NewGeneric(1)
	cpu := g.AP(1)
	// FP_CTRL: FPBv2, NUM_CODE 8 (bits [14:12] and [7:4]), NUM_LIT 0
	v := mustRead(t, cpu, adi.RegFPCtrl)
	if rev, code, lit := v>>28, (v>>12&7)<<4|v>>4&0xF, v>>8&0xF; rev != 1 || code != 8 || lit != 0 {
		t.Errorf("FP_CTRL 0x%08X: REV %d NUM_CODE %d NUM_LIT %d, want 1 8 0", v, rev, code, lit)
	}
	mustWrite(t, cpu, adi.RegFPCtrl, 3)
	for i := uint32(0); i < NumFPBCode; i++ {
		mustWrite(t, cpu, 0xE0002008+4*i, 0x08000100+8*i|1)
	}
	for i := uint32(0); i < NumFPBCode; i++ {
		if got := mustRead(t, cpu, 0xE0002008+4*i); got != 0x08000100+8*i|1 {
			t.Errorf("FP_COMP%d = 0x%08X", i, got)
		}
	}
	if bp := g.Core().Breakpoints(); len(bp) != NumFPBCode || bp[0] != 0x08000100 {
		t.Errorf("Breakpoints() = %#x", bp)
	}
	if mustRead(t, cpu, 0xE0002008+4*NumFPBCode) != 0 {
		t.Error("a ninth comparator reads back")
	}

	// DWT: NUMCOMP 4, COMPn and FUNCTIONn read back, ID fields fixed
	if n := mustRead(t, cpu, adi.RegDWTCtrl) >> 28; n != NumDWTComp {
		t.Errorf("DWT_CTRL.NUMCOMP = %d", n)
	}
	mustWrite(t, cpu, 0xE0001020+16*2, 0x20000040)
	mustWrite(t, cpu, 0xE0001028+16*2, 0xFFFFFFFF&^(1<<24)|0x815) // ID and MATCHED are read-only
	if got := mustRead(t, cpu, 0xE0001020+16*2); got != 0x20000040 {
		t.Errorf("DWT_COMP2 = 0x%08X", got)
	}
	if got := mustRead(t, cpu, 0xE0001028+16*2); got != dwtFuncIDEven|0xC3F {
		t.Errorf("DWT_FUNCTION2 = 0x%08X", got)
	}
	if got := mustRead(t, cpu, 0xE0001028+16*1); got != dwtFuncIDOdd {
		t.Errorf("DWT_FUNCTION1 = 0x%08X", got)
	}
	wp := g.Core().Watchpoints()
	if len(wp) != 1 || wp[0].Addr != 0x20000040 {
		t.Errorf("Watchpoints() = %+v", wp)
	}
	if st := g.Core().Status(); st.BreakpointsArmed != NumFPBCode || st.WatchpointsArmed != 1 {
		t.Errorf("armed %d breakpoints, %d watchpoints; want %d, 1", st.BreakpointsArmed, st.WatchpointsArmed, NumFPBCode)
	}
	// a system reset keeps them, a power-on clears them
	g.Core().Reset()
	if len(g.Core().Breakpoints()) != NumFPBCode || len(g.Core().Watchpoints()) != 1 {
		t.Error("a system reset cleared the comparators")
	}
	g.Core().PowerOn()
	if len(g.Core().Breakpoints()) != 0 || len(g.Core().Watchpoints()) != 0 {
		t.Error("power-on kept the comparators")
	}
}

func TestSecurityIdentification(t *testing.T) {
	tests := []struct {
		name      string
		cfg       CoreConfig
		pfr1, dau uint32
	}{
		{"no Security Extension", CoreConfig{}, IDPFR1NoSecurity, DAuthNoSecurity},
		{"Security Extension", CoreConfig{Security: true}, IDPFR1Security, DAuthSecureOpen},
		{"secure debug closed", CoreConfig{Security: true, DAuthStatus: func() uint32 { return DAuthSecureClosed }}, IDPFR1Security, DAuthSecureClosed},
	}
	for _, tc := range tests {
		c := NewCore(tc.cfg)
		r := c.Region()
		if v, _ := r.Read(0xE000ED44, Word, 0); v != tc.pfr1 {
			t.Errorf("%s: ID_PFR1 0x%08X, want 0x%08X", tc.name, v, tc.pfr1)
		}
		if v, _ := r.Read(adi.RegDAUTHSTATUS, Word, 0); v != tc.dau {
			t.Errorf("%s: DAUTHSTATUS 0x%08X, want 0x%08X", tc.name, v, tc.dau)
		}
	}
}

func TestResetLoadsVectorTable(t *testing.T) {
	table := [2]uint32{0x2000FFFF, 0x08000401} // SP with low bits set, Thumb reset handler
	c := NewCore(CoreConfig{VectorTable: func() (uint32, uint32, uint32) { return 0x08000000, table[0], table[1] }})
	check := func(when string, sp, pc, xpsr uint32) {
		t.Helper()
		if got := c.Reg(adi.RegSelSP); got != sp {
			t.Errorf("%s: SP 0x%08X, want 0x%08X", when, got, sp)
		}
		if got := c.Reg(adi.RegSelMSP); got != sp {
			t.Errorf("%s: MSP 0x%08X, want 0x%08X", when, got, sp)
		}
		if got := c.Reg(adi.RegSelPC); got != pc {
			t.Errorf("%s: PC 0x%08X, want 0x%08X", when, got, pc)
		}
		if got := c.Reg(adi.RegSelXPSR); got != xpsr {
			t.Errorf("%s: xPSR 0x%08X, want 0x%08X", when, got, xpsr)
		}
	}
	check("power-on", 0x2000FFFC, 0x08000400, 1<<24)
	table = [2]uint32{0x20001000, 0x08000800}
	c.Reset()
	check("reset", 0x20001000, 0x08000800, 0) // bit 0 clear: EPSR.T clear
	if v, _ := c.Region().Read(0xE000ED08, Word, 0); v != 0x08000000 {
		t.Errorf("VTOR 0x%08X", v)
	}
	// erased flash: the values a blank chip shows
	table = [2]uint32{0xFFFFFFFF, 0xFFFFFFFF}
	c.Reset()
	check("erased", 0xFFFFFFFC, 0xFFFFFFFE, 1<<24)
}

func TestBreakpointAtResumePCFires(t *testing.T) {
	g := NewGeneric(1)
	cpu := g.AP(1)
	mustWrite(t, cpu, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn|adi.DHCSRCHalt)
	pc := g.Core().Reg(adi.RegSelPC)
	mustWrite(t, cpu, adi.RegFPCtrl, 3)
	mustWrite(t, cpu, 0xE0002008, pc+0x10|1) // elsewhere: does not fire
	mustWrite(t, cpu, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn)
	if g.Core().Halted() {
		t.Fatal("halted on a breakpoint away from the PC")
	}
	mustWrite(t, cpu, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn|adi.DHCSRCHalt)
	mustWrite(t, cpu, adi.RegDFSR, 0x1F)
	mustWrite(t, cpu, 0xE000200C, pc|1)
	mustWrite(t, cpu, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn)
	if !g.Core().Halted() {
		t.Fatal("a breakpoint at the resume PC did not halt the core")
	}
	if v := mustRead(t, cpu, adi.RegDFSR); v != adi.DFSRBkpt {
		t.Errorf("DFSR 0x%X, want BKPT", v)
	}
	if v := mustRead(t, cpu, adi.RegDHCSR); v&adi.DHCSRCHalt == 0 || v&adi.DHCSRSHalt == 0 {
		t.Errorf("DHCSR 0x%08X", v)
	}
	// FP_CTRL.ENABLE clear: nothing fires
	mustWrite(t, cpu, adi.RegFPCtrl, 2)
	mustWrite(t, cpu, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn)
	if g.Core().Halted() {
		t.Error("halted with the FPB disabled")
	}
}

// TestCoreStatus walks a core through the states Status reports and checks
// the whole snapshot after each step.
func TestCoreStatus(t *testing.T) {
	const callPC, returnPC = 0x0BF90000, 0x20000100
	c := NewCore(CoreConfig{
		CPUID: CPUIDCortexM33r0p4,
		Call: func(pc uint32, r [4]uint32) (uint32, bool) {
			return r[0] + 1, pc == callPC
		},
	})
	steps := []struct {
		name string
		do   func(t *testing.T)
		want CoreStatus
	}{
		{"power-on", func(*testing.T) {}, CoreStatus{}},
		{"debug halt", func(t *testing.T) {
			scsWrite(t, c, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn|adi.DHCSRCHalt)
		}, CoreStatus{Halted: true, DebugEnabled: true}},
		{"reset with debug held", func(t *testing.T) {
			c.Reset()
			scsWrite(t, c, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn|adi.DHCSRCHalt)
		}, CoreStatus{Halted: true, DebugEnabled: true, AttachedSinceReset: true}},
		{"resume into Call", func(t *testing.T) {
			c.SetReg(adi.RegSelPC, callPC)
			c.SetReg(adi.RegSelLR, returnPC|1)
			c.SetReg(adi.RegSelXPSR, 1<<24)
			scsWrite(t, c, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn)
		}, CoreStatus{DebugEnabled: true, Calls: 1, AttachedSinceReset: true}},
		{"debug off", func(t *testing.T) {
			scsWrite(t, c, adi.RegDHCSR, adi.DHCSRDebugKey)
		}, CoreStatus{Calls: 1}},
		{"held in reset", func(*testing.T) { c.SetHeldInReset(true) }, CoreStatus{HeldInReset: true, Calls: 1}},
	}
	for _, s := range steps {
		s.do(t)
		if got := c.Status(); got != s.want {
			t.Fatalf("after %s: status %+v, want %+v", s.name, got, s.want)
		}
	}
}
