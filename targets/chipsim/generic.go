package chipsim

import (
	"fmt"
	"sync"
	"time"
)

// Identification values of the usual ARM access ports and debug ports.
const (
	DPIDRSTM32H5   = 0x6BA02477 // SW-DP v2 of STM32H5 (and other Cortex-M33 STM32)
	IDRAHB5AP      = 0x84770001 // AHB5-AP of a Cortex-M33
	IDRAPBAP       = 0x54770002 // APB-AP
	BASEM33ROM     = 0xE00FF003 // BASE pointing at the Cortex-M33 ROM table, present
	BASENotPresent = 0x00000002 // BASE: legacy format, no debug entries
)

// MemAP is a MEM-AP whose bus is a Bus. It implements AP.
type MemAP struct {
	IDRValue, BASEValue, CFGValue uint32
	Bus                           *Bus
	// EnabledFn reports whether the port is usable; nil means always.
	EnabledFn func() bool
}

// IDR returns the identification register.
func (a *MemAP) IDR() uint32 { return a.IDRValue }

// BASE returns the debug base address register.
func (a *MemAP) BASE() uint32 { return a.BASEValue }

// CFG returns the configuration register.
func (a *MemAP) CFG() uint32 { return a.CFGValue }

// Enabled reports whether accesses through the port are allowed.
func (a *MemAP) Enabled() bool { return a.EnabledFn == nil || a.EnabledFn() }

// Read reads through the port; a disabled port or missing bus faults.
func (a *MemAP) Read(addr uint32, size Size, csw uint32) (uint32, error) {
	if !a.Enabled() || a.Bus == nil {
		return 0, fmt.Errorf("read of 0x%08X: access port disabled: %w", addr, ErrBusFault)
	}
	return a.Bus.Read(addr, size, csw)
}

// Write writes through the port; a disabled port or missing bus faults.
func (a *MemAP) Write(addr uint32, size Size, v uint32, csw uint32) error {
	if !a.Enabled() || a.Bus == nil {
		return fmt.Errorf("write of 0x%08X: access port disabled: %w", addr, ErrBusFault)
	}
	return a.Bus.Write(addr, size, v, csw)
}

// Generic is a generic Cortex-M33 board: SW-DP DPIDR 0x6BA02477, the CPU's
// AHB5-AP at one AP number, plain APB-APs at every lower number (each with
// only a read-as-zero register block at 0xE0044000, where an STM32 has
// DBGMCU), 64 KiB of RAM at 0x20000000, NRST wired. It never drops the
// debug link.
type Generic struct {
	cpuAP uint8
	core  *Core
	ram   *RAM
	aps   []AP

	mu      sync.Mutex
	nrstLow bool
	elapsed time.Duration
}

// NewGenericM33 returns a generic Cortex-M33 board with the CPU behind AP cpuAP.
func NewGenericM33(cpuAP uint8) Chip {
	return NewGeneric(cpuAP)
}

// NewGeneric is NewGenericM33 returning the concrete type, for tests that
// reach into the RAM or the core.
func NewGeneric(cpuAP uint8) *Generic {
	g := &Generic{cpuAP: cpuAP, ram: NewRAM(0x20000000, 64<<10)}
	g.core = NewCore(CoreConfig{CPUID: CPUIDCortexM33r0p4, OnSysResetRequest: g.sysReset})
	bus := &Bus{}
	bus.Map(g.ram)
	bus.Map(g.core.PPB())
	g.aps = make([]AP, int(cpuAP)+1)
	for i := 0; i < int(cpuAP); i++ {
		apb := &Bus{}
		apb.Map(&Registers{Base: 0xE0044000, Size: 0x400}) // DBGMCU-like block, reads as zero
		g.aps[i] = &MemAP{IDRValue: IDRAPBAP, BASEValue: BASENotPresent, Bus: apb}
	}
	g.aps[cpuAP] = &MemAP{IDRValue: IDRAHB5AP, BASEValue: BASEM33ROM, Bus: bus}
	return g
}

func (g *Generic) sysReset() { g.core.Reset() }

// SWDResponds is always true.
func (g *Generic) SWDResponds() bool { return true }

// DPIDR returns 0x6BA02477.
func (g *Generic) DPIDR() uint32 { return DPIDRSTM32H5 }

// AP returns access port n or nil.
func (g *Generic) AP(n uint8) AP {
	if int(n) >= len(g.aps) {
		return nil
	}
	return g.aps[n]
}

// SetNRST holds the core in reset while low; release resets it.
func (g *Generic) SetNRST(low bool) {
	g.mu.Lock()
	g.nrstLow = low
	g.mu.Unlock()
	g.core.SetHeldInReset(low)
}

// Advance lets the core run for d.
func (g *Generic) Advance(d time.Duration) {
	g.mu.Lock()
	g.elapsed += d
	g.mu.Unlock()
	g.core.Advance(d)
}

// LinkEpoch is always 0: the generic board never drops the debug link.
func (g *Generic) LinkEpoch() uint64 { return 0 }

// Core returns the Cortex-M33 core.
func (g *Generic) Core() *Core { return g.core }

// RAM returns the 64 KiB SRAM at 0x20000000.
func (g *Generic) RAM() *RAM { return g.ram }

// NRSTLow reports whether NRST is driven low.
func (g *Generic) NRSTLow() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.nrstLow
}

// Elapsed returns the modelled time the board has run.
func (g *Generic) Elapsed() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.elapsed
}
