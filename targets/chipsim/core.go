package chipsim

import (
	"sync"
	"time"

	"github.com/stprobe/stprobe/adi"
)

// CPUIDCortexM33r0p4 is the CPUID of a Cortex-M33 r0p4 (STM32H5).
const CPUIDCortexM33r0p4 = 0x410FD214

// CoreConfig sets up a Core.
type CoreConfig struct {
	// CPUID is the value of 0xE000ED00, e.g. CPUIDCortexM33r0p4.
	CPUID uint32
	// CanHalt reports whether debug may halt the core now (false while a
	// boot ROM runs with debug closed, or when the product state forbids
	// it). nil means always.
	CanHalt func() bool
	// HaltGate, when set, decides instead of CanHalt: vectorCatch is true
	// for a reset vector catch, attached reports whether a debugger has
	// held DHCSR.C_DEBUGEN without a break since the core's last reset
	// ended. It is called under the core's lock.
	HaltGate func(vectorCatch, attached bool) bool
	// Call, when set, is code the model runs in place of instructions: when
	// the core resumes from debug state with EPSR.T set and no breakpoint
	// at the PC, Call gets the PC and r0-r3; if it handles that PC it
	// returns the new r0 and true, and the core returns to LR (PC = LR with
	// bit 0 cleared), where an enabled FPB comparator halts it again
	// (DFSR.BKPT); without one it runs on. It is called under the core's
	// lock and must not call back into the core.
	Call func(pc uint32, r [4]uint32) (r0 uint32, handled bool)
	// OnSysResetRequest is called (outside the core's lock) when the
	// debugger writes AIRCR.SYSRESETREQ; the chip resets itself, which
	// normally includes Core.Reset. nil means the core just calls Reset.
	OnSysResetRequest func()
	// SecureDebug reports DHCSR.S_SDE (secure debug enabled); nil means false.
	SecureDebug func() bool
	// ResetPC and ResetSP are the PC and SP after a reset when VectorTable
	// is nil (defaults 0x08000000 and 0x20010000).
	ResetPC, ResetSP uint32
	// VectorTable returns, at each reset, the address of the vector table
	// the core boots from and its first two words (initial SP, reset
	// vector); the core then starts as an Armv8-M core does: SP and MSP
	// from word 0 (bits [1:0] cleared), PC from word 1 with bit 0 cleared
	// and bit 0 as EPSR.T, VTOR at the table. nil uses ResetPC and ResetSP.
	// It is called under the core's lock and must not call back into it.
	VectorTable func() (addr, sp, pc uint32)
	// BootSecure reports, at each reset of a core with the Security
	// Extension, whether it starts in the Secure state (DSCSR.CDS set, the
	// initial SP also in MSP_S) or the Non-secure one (MSP_NS). nil means
	// Secure, as Armv8-M resets. Called under the core's lock.
	BootSecure func() bool
	// Security says whether the core implements the Armv8-M Security
	// Extension: ID_PFR1.Security reads 1 and the secure banked registers
	// exist.
	Security bool
	// DAuthStatus returns DAUTHSTATUS (0xE000EFB8); nil reads
	// DAuthNoSecurity or DAuthSecureOpen per Security. It is called under
	// the core's lock and must not call back into it.
	DAuthStatus func() uint32
	// Memory is the bus the core's own instructions use; with Interprets
	// it turns on the Thumb interpreter (thumb.go). Its accesses must not
	// call back into the core (the PPB is refused to the interpreter).
	Memory CoreMemory
	// NonSecureCSW is what the core's accesses carry in csw while it
	// executes in the Non-secure state (DSCSR.CDS clear).
	NonSecureCSW uint32
	// Interprets reports whether a resume from debug state at pc starts
	// the interpreter: code a debugger placed there (an SRAM loader). A
	// resume anywhere else lets the modelled firmware run as before,
	// without executing instructions. nil means never.
	Interprets func(pc uint32) bool
	// ClockHz is the core clock that turns modelled time into cycles
	// (default DefaultCoreClockHz).
	ClockHz uint64
}

// DefaultCoreClockHz is the core clock after reset of an STM32H5: HSI
// 64 MHz divided by HSIDIV, whose reset value is /2 (RM0481, RCC_CR
// HSIDIV; Zephyr's STM32H5 SoC init, soc/st/stm32/stm32h5x/soc.c, sets
// SystemCoreClock to 32 MHz for that reason). A register file generated
// from ST's H563 SVD gives RCC_CR a reset value with HSIDIV 00 (64 MHz);
// the model takes /2, the slower, more cautious figure for loader timing.
const DefaultCoreClockHz = 32_000_000

// DAUTHSTATUS values (Armv8-M: NSID [1:0], NSNID [3:2], SID [5:4], SNID
// [7:6]; 0b11 implemented and allowed, 0b10 implemented and not allowed,
// 0b00 for SID/SNID: no Security Extension).
const (
	DAuthNoSecurity    = 0x0000000F // non-secure debug allowed, no Security Extension
	DAuthSecureOpen    = 0x000000FF // secure and non-secure debug allowed
	DAuthSecureClosed  = 0x000000AF // non-secure debug allowed, secure debug not
	DAuthAllClosed     = 0x000000AA // Security Extension, no debug allowed
	DAuthNoSecNSClosed = 0x0000000A // no Security Extension, non-secure debug not allowed
)

// ID_PFR1 values (Armv8-M: Security [7:4], MProgMod [11:8] = 0b0010).
const (
	IDPFR1NoSecurity = 0x00000200
	IDPFR1Security   = 0x00000210
)

// Breakpoint and watchpoint units of the modelled Cortex-M33: an FPBv2 with
// eight instruction comparators and no literal comparators, a DWT with four
// comparators. The comparators are programmable and read back. A
// breakpoint fires on the instruction the core resumes at (its first
// fetch), which halts it again at once with DFSR.BKPT, as on silicon, and
// on every instruction the interpreter (thumb.go) is about to execute;
// the modelled firmware executes none, so elsewhere breakpoints are just
// recorded. Watchpoints never fire.
const (
	NumFPBCode = 8
	NumDWTComp = 4

	regIDPFR1   = 0xE000ED44
	regSelMSPNS = 0x18 // DCRSR REGSEL of MSP_NS
	regSelMSPS  = 0x1A // DCRSR REGSEL of MSP_S
	regFPComp0  = 0xE0002008
	regDWTComp0 = 0xE0001020
	// FP_CTRL: REV [31:28] = 1 (FPBv2), NUM_CODE[6:4] [14:12],
	// NUM_LIT [11:8], NUM_CODE[3:0] [7:4], KEY [1], ENABLE [0].
	fpCtrlFixed = 1<<28 | (NumFPBCode>>4)<<12 | (NumFPBCode&0xF)<<4
	// DWT_CTRL: NUMCOMP [31:28]; the low control bits are read/write.
	dwtCtrlFixed    = NumDWTComp << 28
	dwtCtrlWritable = 0x00FFFFFF
	// DWT_FUNCTIONn: ID [31:27] (what comparator n can match; even
	// comparators instruction and data address, odd ones also data value
	// and the cycle counter, as Cortex-M33 parts are commonly reported),
	// MATCHED [24] (never set here), DATAVSIZE [11:10], ACTION [5:4],
	// MATCH [3:0].
	dwtFuncIDEven     = 0x58000000
	dwtFuncIDOdd      = 0xF0000000
	dwtFuncWritable   = 0x00000C3F
	fpCompWritable    = 0xFFFFFFFF
	dwtCycCnt         = 0xE0001004
	dwtCompStride     = 16
	dwtFunctionOffset = 8
)

// Core is the debug view of a Cortex-M33: the System Control Space
// registers a debugger uses (DHCSR, DCRSR/DCRDR, DEMCR, AIRCR, CPUID, DFSR,
// DSCSR) and a register file. The modelled firmware executes no
// instructions (a running core marks S_RETIRE_ST when time passes); the
// native code of CoreConfig.Call and, with CoreConfig.Memory and
// Interprets, Thumb code a debugger placed and resumed at (thumb.go) do.
// It is safe for concurrent use.
type Core struct {
	cfg CoreConfig

	mu          sync.Mutex
	ctrl        uint32 // DHCSR control bits [5:0]
	halted      bool
	held        bool // NRST low: the core is in reset
	resetSticky bool
	retire      bool
	regs        [128]uint32
	dcrdr       uint32
	demcr       uint32
	dfsr        uint32
	prigroup    uint32
	dscsr       uint32
	vtor        uint32
	fpEnable    bool // FP_CTRL.ENABLE
	fpComp      [NumFPBCode]uint32
	dwtCtrl     uint32 // writable bits of DWT_CTRL
	dwtCycCnt   uint32
	dwtComp     [NumDWTComp]uint32
	dwtFunc     [NumDWTComp]uint32 // writable bits of DWT_FUNCTIONn
	bpArmed     int                // FP_COMPn writes that set BE on a clear comparator
	attached    bool               // C_DEBUGEN held since the last reset ended
	calls       int                // Call invocations that were handled
	wpArmed     int                // DWT_FUNCTIONn writes that set MATCH on a clear one
	executing   bool               // the interpreter runs the code at the PC
	lockup      bool               // the interpreter stopped on something it cannot do
	lockupWhy   string
	cycles      uint64 // cycles the interpreter ran since power-on
	partialNS   int64  // modelled time not yet turned into whole cycles
	retired     uint64 // instructions the interpreter completed since power-on
	resets      uint64 // resets since power-on: a run that spans one is dropped
}

// NewCore returns a core that has just been powered on: running, debug
// disabled, S_RESET_ST set.
func NewCore(cfg CoreConfig) *Core {
	if cfg.ResetPC == 0 {
		cfg.ResetPC = 0x08000000
	}
	if cfg.ResetSP == 0 {
		cfg.ResetSP = 0x20010000
	}
	if cfg.ClockHz == 0 {
		cfg.ClockHz = DefaultCoreClockHz
	}
	c := &Core{cfg: cfg, resetSticky: true}
	c.resetRegsLocked()
	return c
}

func (c *Core) resetRegsLocked() {
	for i := range c.regs {
		c.regs[i] = 0
	}
	table, sp, pc := uint32(0), c.cfg.ResetSP, c.cfg.ResetPC|1
	if c.cfg.VectorTable != nil {
		table, sp, pc = c.cfg.VectorTable()
	}
	sp &^= 3
	c.regs[adi.RegSelSP] = sp
	c.regs[adi.RegSelMSP] = sp
	c.regs[adi.RegSelLR] = 0xFFFFFFFF
	c.regs[adi.RegSelPC] = pc &^ 1
	c.regs[adi.RegSelXPSR] = (pc & 1) << 24 // EPSR.T from the reset vector
	if c.cfg.Security {
		if c.cfg.BootSecure == nil || c.cfg.BootSecure() {
			c.regs[regSelMSPS] = sp
			c.dscsr |= adi.DSCSRCDS
		} else {
			c.regs[regSelMSPNS] = sp
			c.dscsr &^= adi.DSCSRCDS
		}
	}
	c.prigroup = 0
	c.vtor = table &^ 0x7F
}

func (c *Core) canHalt() bool { return c.gate(false) }

// gate asks HaltGate (or CanHalt) whether the core may halt now.
func (c *Core) gate(vectorCatch bool) bool {
	if c.cfg.HaltGate != nil {
		return c.cfg.HaltGate(vectorCatch, c.attached)
	}
	return c.cfg.CanHalt == nil || c.cfg.CanHalt()
}

// Reset is a system reset (SYSRESETREQ, NRST pulse, power-on of the core
// domain): registers go back to their reset values, S_RESET_ST is set and,
// if C_DEBUGEN and DEMCR.VC_CORERESET are set and CanHalt allows it, the core
// stops at the reset vector (halted, DFSR.VCATCH); otherwise it runs. A
// pending C_HALT is dropped by the reset. While the core is held in reset
// (SetHeldInReset) the reset only takes effect on release.
func (c *Core) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.resetLocked()
}

func (c *Core) resetLocked() {
	c.resetRegsLocked()
	c.executing, c.lockup, c.lockupWhy = false, false, ""
	c.resets++
	c.resetSticky = true
	c.halted = false
	c.ctrl &^= adi.DHCSRCHalt | adi.DHCSRCStep
	if c.held {
		return
	}
	c.attached = c.ctrl&adi.DHCSRCDebugEn != 0
	if c.ctrl&adi.DHCSRCDebugEn != 0 && c.demcr&adi.DEMCRVCCoreReset != 0 && c.gate(true) {
		c.halted = true
		c.ctrl |= adi.DHCSRCHalt
		c.dfsr |= adi.DFSRVCatch
	}
}

// PowerOn resets the debug logic too (DHCSR, DEMCR, DFSR, the FPB and DWT
// comparators): the core domain was powered down and up. A system reset
// (Reset) leaves the debug logic alone, as on Armv8-M.
func (c *Core) PowerOn() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ctrl, c.demcr, c.dfsr, c.dcrdr, c.dscsr = 0, 0, 0, 0, 0
	c.retire = false
	c.fpEnable, c.fpComp = false, [NumFPBCode]uint32{}
	c.dwtCtrl, c.dwtCycCnt = 0, 0
	c.dwtComp, c.dwtFunc = [NumDWTComp]uint32{}, [NumDWTComp]uint32{}
	c.bpArmed, c.wpArmed = 0, 0
	c.resetLocked()
}

// SetHeldInReset holds the core in reset (NRST low) or releases it. Held,
// the core neither runs nor halts and DHCSR reads S_RESET_ST, but DHCSR and
// DEMCR stay writable. Release is a reset exit: see Reset.
func (c *Core) SetHeldInReset(held bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if held == c.held {
		return
	}
	c.held = held
	if held {
		c.halted = false
		c.resetSticky = true
		return
	}
	c.resetLocked()
}

// CoreStatus is what an observer (a test, a scenario) reads of a core at
// one instant: its debug state and what the debugger and the interpreter
// did to it since power-on.
type CoreStatus struct {
	HeldInReset  bool // NRST holds the core in reset
	Halted       bool // in debug state
	DebugEnabled bool // DHCSR.C_DEBUGEN
	// Executing is true while the interpreter runs code: resumed at a PC
	// CoreConfig.Interprets accepts, not halted, not held, not locked up.
	Executing bool
	// LockupReason says why the interpreter locked the core up ("" when
	// it did not): an instruction it does not model, or a fault.
	LockupReason string
	// Cycles and Instructions are what the interpreter ran since the core
	// was made.
	Cycles, Instructions uint64
	// BreakpointsArmed and WatchpointsArmed count, since power-on, how
	// many times a debugger enabled an FPB comparator and a DWT
	// comparator. Debuggers remove breakpoints and watchpoints whenever
	// the core stops, so these are the record that they were set.
	BreakpointsArmed, WatchpointsArmed int
	// Calls counts the times CoreConfig.Call ran code.
	Calls int
	// AttachedSinceReset is true when a debugger has held C_DEBUGEN since
	// the core's last reset ended (see CoreConfig.HaltGate).
	AttachedSinceReset bool
}

// Status returns the core's status, read under one lock so that its
// fields agree with each other.
func (c *Core) Status() CoreStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CoreStatus{
		HeldInReset:        c.held,
		Halted:             c.halted,
		DebugEnabled:       c.ctrl&adi.DHCSRCDebugEn != 0,
		Executing:          c.executingLocked(),
		LockupReason:       c.lockupWhy,
		Cycles:             c.cycles,
		Instructions:       c.retired,
		BreakpointsArmed:   c.bpArmed,
		WatchpointsArmed:   c.wpArmed,
		Calls:              c.calls,
		AttachedSinceReset: c.attached,
	}
}

// Halted reports whether the core is in debug state: Status().Halted
// alone, for the chip models that ask at every step of modelled time.
func (c *Core) Halted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.halted
}

// SetSecureState sets DSCSR.CDS: whether the core executes in the secure state.
func (c *Core) SetSecureState(secure bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if secure {
		c.dscsr |= adi.DSCSRCDS
	} else {
		c.dscsr &^= adi.DSCSRCDS
	}
}

// Reg returns core register regsel (DCRSR numbering).
func (c *Core) Reg(regsel int) uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.regs[regsel&0x7F]
}

// SetReg sets core register regsel (DCRSR numbering).
func (c *Core) SetReg(regsel int, v uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.regs[regsel&0x7F] = v
}

// Advance lets d of modelled time pass: a running core retires
// instructions (S_RETIRE_ST) and a pending halt request is honoured once
// CanHalt allows it. While the interpreter runs (a resume at a PC
// CoreConfig.Interprets accepts), d becomes cycles at ClockHz and the core
// executes instructions until they are spent, a BKPT or an FPB breakpoint
// halts it (DFSR.BKPT), or it locks up (S_LOCKUP, Status().LockupReason). The
// core's lock is not held while instructions run, so a chip must not
// advance the core from inside a bus access.
func (c *Core) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held || c.halted {
		return
	}
	if c.ctrl&adi.DHCSRCDebugEn != 0 && c.ctrl&adi.DHCSRCHalt != 0 && c.canHalt() {
		c.halted = true
		c.dfsr |= adi.DFSRHalted
		c.executing, c.lockup = false, false
		return
	}
	if d > 0 {
		c.retire = true
	}
	if !c.executing || c.lockup || d <= 0 {
		return
	}
	ns := c.partialNS + int64(d)
	budget := uint64(ns) * c.cfg.ClockHz / uint64(time.Second)
	c.partialNS = ns - int64(budget*uint64(time.Second)/c.cfg.ClockHz)
	if budget == 0 {
		return
	}
	p := c.cpuLocked()
	resets := c.resets
	c.mu.Unlock()
	stop := p.run(budget, false)
	c.mu.Lock()
	if c.held || c.resets != resets {
		return // reset meanwhile: the registers are the reset's
	}
	c.storeCPULocked(p) // a halt meanwhile came after these instructions
	if c.halted {
		return
	}
	switch stop {
	case stopBKPT, stopBreakpoint:
		c.executing = false
		c.halted = true
		c.ctrl |= adi.DHCSRCHalt
		c.dfsr |= adi.DFSRBkpt
	case stopLockup:
		c.lockup, c.lockupWhy = true, p.reason
	}
}

// cpuLocked copies the register file into an interpreter.
func (c *Core) cpuLocked() *thumbCPU {
	p := &thumbCPU{mem: c.cfg.Memory}
	copy(p.r[:], c.regs[:16])
	psr := c.regs[adi.RegSelXPSR]
	p.n, p.z, p.c, p.v = psr>>31&1 != 0, psr>>30&1 != 0, psr>>29&1 != 0, psr>>28&1 != 0
	if c.cfg.Security && c.dscsr&adi.DSCSRCDS == 0 {
		p.csw = c.cfg.NonSecureCSW
	}
	if c.fpEnable {
		for _, v := range c.fpComp {
			if v&1 != 0 {
				p.bkpts = append(p.bkpts, v&^1)
			}
		}
	}
	return p
}

// storeCPULocked writes an interpreter's registers back: r0-r15, the
// APSR flags, and SP into the main stack pointer in use (the model has no
// thread mode, so CONTROL.SPSEL is 0).
func (c *Core) storeCPULocked(p *thumbCPU) {
	copy(c.regs[:16], p.r[:])
	psr := c.regs[adi.RegSelXPSR] &^ 0xF0000000
	for i, f := range []bool{p.v, p.c, p.z, p.n} {
		if f {
			psr |= 1 << (28 + i)
		}
	}
	c.regs[adi.RegSelXPSR] = psr
	c.regs[adi.RegSelMSP] = p.r[13]
	if c.cfg.Security {
		if c.dscsr&adi.DSCSRCDS != 0 {
			c.regs[regSelMSPS] = p.r[13]
		} else {
			c.regs[regSelMSPNS] = p.r[13]
		}
	}
	if p.cycles > 0 {
		c.retire = true
	}
	c.cycles += p.cycles
	c.retired += p.retired
	if c.dwtCtrl&1 != 0 { // DWT_CTRL.CYCCNTENA
		c.dwtCycCnt += uint32(p.cycles)
	}
}

// Executing reports Status().Executing alone, for the chip models that
// let modelled time pass while the interpreter runs.
func (c *Core) Executing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.executingLocked()
}

func (c *Core) executingLocked() bool {
	return c.executing && !c.halted && !c.held && !c.lockup
}

// Region returns the System Control Space window 0xE000E000-0xE000EFFF.
func (c *Core) Region() Region {
	return &Registers{Base: 0xE000E000, Size: 0x1000, ReadFn: c.readSCS, WriteFn: c.writeSCS}
}

// PPB returns the whole private peripheral bus 0xE0000000-0xE00FFFFF as a
// debugger sees it on a Cortex-M33: the SCS, a ROM table at 0xE00FF000
// listing SCS, DWT, FPB and ITM, identification registers, the FPB with
// NumFPBCode instruction comparators and the DWT with NumDWTComp
// comparators (programmable, read back, never firing), and everything else
// reading as zero and ignoring writes.
// Map chip registers that live in this window (DBGMCU at 0xE0044000) before it.
func (c *Core) PPB() Region {
	scs := c.Region()
	return &Registers{Base: 0xE0000000, Size: 0x100000,
		ReadFn: func(off uint32) (uint32, error) {
			addr := 0xE0000000 + off
			if scs.Contains(addr) {
				return scs.Read(addr, Word, 0)
			}
			if v, ok := c.readUnits(addr); ok {
				return v, nil
			}
			return ppbRead(addr), nil
		},
		WriteFn: func(off, v uint32) error {
			addr := 0xE0000000 + off
			if scs.Contains(addr) {
				return scs.Write(addr, Word, v, 0)
			}
			c.writeUnits(addr, v)
			return nil
		},
	}
}

// readUnits reads the FPB and DWT registers; ok is false for other addresses.
func (c *Core) readUnits(addr uint32) (v uint32, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case addr == adi.RegFPCtrl:
		v = fpCtrlFixed
		if c.fpEnable {
			v |= 1
		}
		return v, true
	case addr >= regFPComp0 && addr < regFPComp0+4*NumFPBCode:
		return c.fpComp[(addr-regFPComp0)/4], true
	case addr == adi.RegDWTCtrl:
		return dwtCtrlFixed | c.dwtCtrl, true
	case addr == dwtCycCnt:
		return c.dwtCycCnt, true
	case addr >= regDWTComp0 && addr < regDWTComp0+dwtCompStride*NumDWTComp:
		n, off := (addr-regDWTComp0)/dwtCompStride, (addr-regDWTComp0)%dwtCompStride
		switch off {
		case 0:
			return c.dwtComp[n], true
		case dwtFunctionOffset:
			id := uint32(dwtFuncIDEven)
			if n%2 == 1 {
				id = dwtFuncIDOdd
			}
			return id | c.dwtFunc[n], true
		}
		return 0, true // Armv8-M has no DWT_MASKn
	}
	return 0, false
}

// writeUnits writes the FPB and DWT registers and ignores other addresses.
func (c *Core) writeUnits(addr, v uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case addr == adi.RegFPCtrl:
		if v&2 != 0 { // KEY bit set: ENABLE is written
			c.fpEnable = v&1 != 0
		}
	case addr >= regFPComp0 && addr < regFPComp0+4*NumFPBCode:
		n := (addr - regFPComp0) / 4
		if c.fpComp[n]&1 == 0 && v&1 != 0 {
			c.bpArmed++
		}
		c.fpComp[n] = v & fpCompWritable
	case addr == adi.RegDWTCtrl:
		c.dwtCtrl = v & dwtCtrlWritable
	case addr == dwtCycCnt:
		c.dwtCycCnt = v
	case addr >= regDWTComp0 && addr < regDWTComp0+dwtCompStride*NumDWTComp:
		n, off := (addr-regDWTComp0)/dwtCompStride, (addr-regDWTComp0)%dwtCompStride
		switch off {
		case 0:
			c.dwtComp[n] = v
		case dwtFunctionOffset:
			if c.dwtFunc[n]&0xF == 0 && v&0xF != 0 {
				c.wpArmed++
			}
			c.dwtFunc[n] = v & dwtFuncWritable
		}
	}
}

// Breakpoints returns the instruction addresses of the enabled FPB
// comparators (FP_COMPn.BE set) while FP_CTRL.ENABLE is set. One fires at
// the PC the core resumes at, returns to from CoreConfig.Call, or that
// interpreted code reaches.
func (c *Core) Breakpoints() []uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.fpEnable {
		return nil
	}
	var out []uint32
	for _, v := range c.fpComp {
		if v&1 != 0 {
			out = append(out, v&^1)
		}
	}
	return out
}

// Watchpoint is one DWT comparator a debugger armed: the address it
// compares and the DWT_FUNCTION bits it wrote (ACTION, MATCH, DATAVSIZE).
type Watchpoint struct {
	Addr     uint32
	Function uint32
}

// Watchpoints returns the DWT comparators with a MATCH field other than
// zero (disabled). They never fire (not modelled).
func (c *Core) Watchpoints() []Watchpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Watchpoint
	for i, f := range c.dwtFunc {
		if f&0xF != 0 {
			out = append(out, Watchpoint{Addr: c.dwtComp[i], Function: f})
		}
	}
	return out
}

// ppbRead returns the fixed values of the PPB outside the SCS.
func ppbRead(addr uint32) uint32 {
	switch addr {
	case adi.ROMTableBase + 0x000:
		return 0xFFF0F003 // SCS
	case adi.ROMTableBase + 0x004:
		return 0xFFF02003 // DWT
	case adi.ROMTableBase + 0x008:
		return 0xFFF03003 // FPB
	case adi.ROMTableBase + 0x00C:
		return 0xFFF01003 // ITM
	case adi.ROMTableBase + 0xFCC:
		return 1 // MEMTYPE: system memory present
	case 0xE0001FBC:
		return 0x47701A02 // DWT DEVARCH
	case 0xE0002FBC:
		return 0x47701A03 // FPB DEVARCH
	case 0xE0000FBC:
		return 0x47701A01 // ITM DEVARCH
	}
	base := addr &^ 0xFFF
	switch off := addr & 0xFFF; {
	case off >= 0xFD0:
		return coresightID(base, off)
	}
	return 0
}

// coresightID returns PIDR/CIDR bytes (offsets 0xFD0-0xFFC) of the
// component at base.
func coresightID(base, off uint32) uint32 {
	class := uint32(0x90) // CoreSight component
	part := uint32(0xD21) // Cortex-M33 parts
	switch base {
	case adi.ROMTableBase:
		class, part = 0x10, 0x4C9
	case 0xE000E000, 0xE0001000, 0xE0002000, 0xE0000000:
	default:
		return 0
	}
	switch off {
	case 0xFD0: // PIDR4
		return 0x04
	case 0xFE0: // PIDR0
		return part & 0xFF
	case 0xFE4: // PIDR1: part[11:8], JEP106 id[3:0] (ARM 0x3B)
		return (part>>8)&0xF | 0xB0
	case 0xFE8: // PIDR2: revision 0, JEDEC, id[6:4]
		return 0x0B
	case 0xFF0:
		return 0x0D
	case 0xFF4:
		return class
	case 0xFF8:
		return 0x05
	case 0xFFC:
		return 0xB1
	}
	return 0
}

func (c *Core) readSCS(off uint32) (uint32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch 0xE000E000 + off {
	case adi.RegCPUID:
		return c.cfg.CPUID, nil
	case 0xE000ED08:
		return c.vtor, nil
	case adi.RegAIRCR:
		return adi.AIRCRVectKeyStat | c.prigroup<<8, nil
	case adi.RegDFSR:
		return c.dfsr, nil
	case adi.RegDHCSR:
		v := c.ctrl
		if c.halted {
			v |= adi.DHCSRSHalt | adi.DHCSRSRegRdy
		}
		if c.cfg.SecureDebug != nil && c.cfg.SecureDebug() {
			v |= adi.DHCSRSSDE
		}
		if c.retire {
			v |= adi.DHCSRSRetireSt
		}
		if c.lockup && !c.halted {
			v |= adi.DHCSRSLockup
		}
		if c.resetSticky || c.held {
			v |= adi.DHCSRSResetSt
		}
		c.retire, c.resetSticky = false, false
		return v, nil
	case adi.RegDCRDR:
		return c.dcrdr, nil
	case adi.RegDEMCR:
		return c.demcr, nil
	case adi.RegDSCSR:
		return c.dscsr, nil
	case regIDPFR1:
		if c.cfg.Security {
			return IDPFR1Security, nil
		}
		return IDPFR1NoSecurity, nil
	case adi.RegDAUTHSTATUS:
		switch {
		case c.cfg.DAuthStatus != nil:
			return c.cfg.DAuthStatus(), nil
		case c.cfg.Security:
			return DAuthSecureOpen, nil
		}
		return DAuthNoSecurity, nil
	case adi.RegMVFR0:
		return 0x10110021, nil // single precision FPU
	case adi.RegMVFR1:
		return 0x11000011, nil
	case adi.RegMVFR0 + 8: // MVFR2
		return 0x00000040, nil
	case 0xE000EFBC: // DEVARCH
		return 0x47702A04, nil
	}
	if off >= 0xFD0 {
		return coresightID(0xE000E000, off), nil
	}
	return 0, nil
}

func (c *Core) writeSCS(off, v uint32) error {
	var resetReq func()
	c.mu.Lock()
	switch 0xE000E000 + off {
	case 0xE000ED08:
		c.vtor = v &^ 0x7F
	case adi.RegAIRCR:
		if v&0xFFFF0000 != adi.AIRCRVectKey {
			break
		}
		c.prigroup = (v >> 8) & 7
		if v&adi.AIRCRSysResetReq != 0 {
			resetReq = c.cfg.OnSysResetRequest
			if resetReq == nil {
				resetReq = c.Reset
			}
		}
	case adi.RegDFSR:
		c.dfsr &^= v // write one to clear
	case adi.RegDHCSR:
		c.writeDHCSRLocked(v)
	case adi.RegDCRSR:
		if c.halted {
			sel := v & 0x7F
			if v&adi.DCRSRRegWnR != 0 {
				c.regs[sel] = c.dcrdr
			} else {
				c.dcrdr = c.regs[sel]
			}
		}
	case adi.RegDCRDR:
		c.dcrdr = v
	case adi.RegDEMCR:
		c.demcr = v & 0x010F0FF1
	case adi.RegDSCSR:
		c.dscsr = c.dscsr&adi.DSCSRCDS | v&3
	}
	c.mu.Unlock()
	if resetReq != nil {
		resetReq()
	}
	return nil
}

func (c *Core) writeDHCSRLocked(v uint32) {
	if v&0xFFFF0000 != adi.DHCSRDebugKey {
		return // writes without DBGKEY are ignored
	}
	c.ctrl = v & 0x2F
	if c.ctrl&adi.DHCSRCDebugEn == 0 {
		c.halted = false
		c.attached = false
		return
	}
	if c.held {
		return
	}
	switch {
	case c.ctrl&adi.DHCSRCHalt != 0 && !c.halted:
		if c.canHalt() {
			c.halted = true
			c.dfsr |= adi.DFSRHalted
			c.executing, c.lockup = false, false
		}
	case c.ctrl&adi.DHCSRCHalt == 0 && c.halted:
		c.halted = false
		switch {
		case c.ctrl&adi.DHCSRCStep != 0:
			// one instruction, then back in debug state
			c.retire = true
			c.halted = true
			c.ctrl |= adi.DHCSRCHalt
			c.dfsr |= adi.DFSRHalted
		case c.breakpointAtPCLocked():
			// the first fetch matches a comparator: back in debug state
			c.halted = true
			c.ctrl |= adi.DHCSRCHalt
			c.dfsr |= adi.DFSRBkpt
		case c.callLocked():
			c.retire = true
			if c.breakpointAtPCLocked() {
				c.halted = true
				c.ctrl |= adi.DHCSRCHalt
				c.dfsr |= adi.DFSRBkpt
			}
		default:
			pc := c.regs[adi.RegSelPC] &^ 1
			c.executing = c.cfg.Memory != nil && c.cfg.Interprets != nil &&
				c.regs[adi.RegSelXPSR]&(1<<24) != 0 && c.cfg.Interprets(pc)
			c.lockup, c.lockupWhy = false, ""
		}
	}
}

// callLocked runs Call at the PC the core resumes at; it reports whether
// Call handled it (the core is then at the return address).
func (c *Core) callLocked() bool {
	if c.cfg.Call == nil || c.regs[adi.RegSelXPSR]&(1<<24) == 0 {
		return false // no EPSR.T: a real core faults at once
	}
	r0, ok := c.cfg.Call(c.regs[adi.RegSelPC]&^1, [4]uint32{c.regs[0], c.regs[1], c.regs[2], c.regs[3]})
	if !ok {
		return false
	}
	c.calls++
	c.regs[0] = r0
	lr := c.regs[adi.RegSelLR]
	c.regs[adi.RegSelPC] = lr &^ 1
	c.regs[adi.RegSelXPSR] = c.regs[adi.RegSelXPSR]&^(1<<24) | (lr&1)<<24
	return true
}

// breakpointAtPCLocked reports whether an enabled FPB comparator matches
// the instruction at the PC: the first fetch after a resume (the
// interpreter checks the ones after it).
func (c *Core) breakpointAtPCLocked() bool {
	if !c.fpEnable {
		return false
	}
	pc := c.regs[adi.RegSelPC] &^ 1
	for _, v := range c.fpComp {
		if v&1 != 0 && v&^1 == pc {
			return true
		}
	}
	return false
}
