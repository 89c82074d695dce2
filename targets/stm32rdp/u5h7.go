package stm32rdp

import (
	"fmt"
	"sync"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// The STM32U5 and STM32H7 parts of the model: what sets them apart from
// the F1/F4/G0/G4/L4 chips the rest of the package models.
//
//   - STM32U5 (RM0456): TrustZone. With TZEN set, the flash pages inside
//     the secure watermark are secure: the debugger reaches them only with
//     a secure transfer (AHB-AP CSW bit 30 clear) and only while secure
//     debug is allowed, that is at RDP level 0; at level 0.5 non-secure
//     debug stays open and the secure side is closed (RM0456 §7.6.2). The
//     flash registers answer through their secure alias too.
//   - STM32H7 (RM0433): three access ports (targets.STM32H7 APs): AP0 the
//     Cortex-M7, AP1 the D3 domain's AHB-AP (SRAM4), AP2 the debug APB
//     with DBGMCU at 0xE00E1000 (OpenOCD target/stm32h7x.cfg).
//
// The option bytes program as a debugger drives them (optionctl_u5.go,
// optionctl_h7.go).

// Option-register values after reset of a U5 and an H7 whose option bytes
// hold their defaults except RDP, TZEN and the secure watermark.
const (
	// u5OPTRRest is FLASH_OPTR without RDP and TZEN: BOR_LEV 0,
	// nRST_STOP/STDBY/SHDW, SRAM_RST, IWDG_SW/STOP/STDBY, WWDG_SW,
	// DUALBANK, BKPRAM_ECC, SRAM3_ECC, SRAM2_ECC, SRAM2_RST, nSWBOOT0,
	// nBOOT0 and PA15_PUPEN set, bit 11 reserved reading 1 (RM0456, option bytes
	// option-byte defaults; the register then reads 0x1FEFF8AA at level
	// 0 with TrustZone off).
	u5OPTRRest = 0x1FEFF800
	// u5NSCRLocked is FLASH_NSCR after reset: LOCK (b31) and OPTLOCK (b30).
	u5NSCRLocked = 0xC0000000
	// u5NoArea is a watermark or WRP register whose start page is above its
	// end page: no area (RM0456 §7.9, FLASH_SECWMxR1 and FLASH_WRPxyR); u5NoWRP is a WRP
	// register with no area and UNLOCK (bit 31) set, so the area may still
	// be defined (stm32u585xx.h FLASH_WRP1AR_UNLOCK).
	u5NoArea = 0x0000007F
	u5NoWRP  = 0x8000007F
	// u5BootAdd0/1 are NSBOOTADD0R/1R: user flash and the system memory
	// bootloader (RM0456, option bytes defaults 0x0800_0000 and 0x0BF9_0000);
	// u5SecBootAdd is SECBOOTADD0R, the secure flash alias.
	u5BootAdd0   = 0x08000000
	u5BootAdd1   = 0x0BF90000
	u5SecBootAdd = 0x0C000000

	// h7OPTSRRest is FLASH_OPTSR_CUR without RDP: IWDG1_SW, NRST_STOP_D1,
	// NRST_STBY_D1, FZ_IWDG_STOP, FZ_IWDG_SDBY set, BOR_LEV 0, SECURITY 0
	// (RM0433 §4.9, FLASH_OPTSR_CUR option-byte defaults; reserved bit 5 set:
	// chosen).
	h7OPTSRRest = 0x000600F0
	// h7OPTCRLocked is FLASH_OPTCR after reset: OPTLOCK set.
	h7OPTCRLocked = 0x00000001
	// h7NoArea is a PRAR/SCAR register whose start is above its end (no
	// area); h7WPSNNone leaves every sector unprotected (RM0433 §4.9, FLASH_PRAR, FLASH_SCAR, FLASH_WPSN).
	h7NoArea   = 0x000000FF
	h7WPSNNone = 0x000000FF
	// h7BootCur is BOOT_CUR: BOOT_ADD0 0x0800 (user flash), BOOT_ADD1
	// 0x1FF0 (system memory) (RM0433 §4.9, FLASH_BOOT_CUR defaults).
	h7BootCur = 0x1FF00800

	// apIDRAPB is the APB-AP identification value (ARM IHI 0031 AP IDR:
	// class MEM-AP, type APB; revision chosen).
	apIDRAPB = 0x44770002
	// h7DebugROM is AP2's BASE: the debug APB's ROM table at 0xE00E0000,
	// present (ARM IHI 0031; the address from stm32h7x.cfg's APB-D map).
	h7DebugROM = 0xE00E0003
)

// familyModel says whether New has an executable model of the family.
func familyModel(name string) bool {
	switch name {
	case "STM32F1", "STM32F4", "STM32G0", "STM32G4", "STM32L4", "STM32U5", "STM32H7":
		return true
	}
	return false
}

// coreConfig is the core of the chip: the Cortex-M33 of a U5 has the
// Security Extension when TZEN is set, and secure debug closed at level
// 0.5.
func (m *Model) coreConfig() chipsim.CoreConfig {
	cfg := chipsim.CoreConfig{CPUID: cpuid(m.cfg.Family), OnSysResetRequest: m.sysReset}
	if m.cfg.Family.Name == "STM32U5" && m.cfg.TZEN {
		cfg.Security = true
		cfg.DAuthStatus = func() uint32 {
			if m.secureOpen() {
				return chipsim.DAuthSecureOpen
			}
			return chipsim.DAuthSecureClosed
		}
		cfg.SecureDebug = m.secureOpen
		// With TZEN the core leaves reset in the secure state: a reset
		// vector catch would halt secure code, which level 0.5 forbids
		// (Armv8-M: no halting debug in the secure state without secure
		// debug); a halt of the running chip catches the non-secure
		// application (RM0456 §7.6.2: non-secure debug stays open).
		cfg.HaltGate = func(vectorCatch, _ bool) bool { return !vectorCatch || m.secureOpen() }
	}
	return cfg
}

// mapFamilyFirst maps what a U5 or an H7 has that the other families do
// not, ahead of the common regions (the bus routes to the first match).
func (m *Model) mapFamilyFirst(bus *chipsim.Bus) {
	switch m.cfg.Family.Name {
	case "STM32U5":
		fl := &u5Flash{m: m}
		bus.Map(fl.alias(targets.FlashMemBase, false))
		bus.Map(fl.alias(targets.U5FlashSecure, true))
		bus.Map(m.u5FlashRegs(targets.U5FlashRegs))
		bus.Map(&secureOnly{m: m, r: m.u5FlashRegs(targets.U5FlashRegsSec)})
	case "STM32H7":
		bus.Map(&chipsim.Registers{Base: targets.H7FlashRegs, Size: 0x400,
			ReadFn: func(off uint32) (uint32, error) {
				if bank, reg, ok := h7BankReg(off); ok {
					m.mu.Lock()
					defer m.mu.Unlock()
					return m.h7ReadReg(bank, reg), nil
				}
				m.mu.Lock()
				defer m.mu.Unlock()
				return m.h7OptRead(off), nil // optionctl_h7.go
			},
			WriteFn: func(off, v uint32) error {
				if bank, reg, ok := h7BankReg(off); ok {
					m.mu.Lock()
					defer m.mu.Unlock()
					return m.h7WriteReg(bank, reg, v)
				}
				m.mu.Lock()
				defer m.mu.Unlock()
				return m.h7OptWrite(off, v)
			}})
		dbg := newH7DBGMCU(m)
		bus.Map(dbg.at(targets.DBGMCUH7))
		d3 := &chipsim.Bus{}
		d3.Map(chipsim.NewRAM(targets.H7SRAM4, targets.H7SRAM4Size))
		apb := &chipsim.Bus{}
		apb.Map(dbg.at(targets.H7DBGMCUAPB))
		apb.Map(&chipsim.Registers{Base: 0xE0000000, Size: 0x00100000}) // the rest of the debug APB: reads zero, writes ignored
		m.more = []chipsim.AP{
			&chipsim.MemAP{IDRValue: apIDR(m.cfg.Family), Bus: d3},
			&chipsim.MemAP{IDRValue: apIDRAPB, BASEValue: h7DebugROM, Bus: apb},
		}
	}
}

// u5FlashRegs is the U5's flash register block at base (the non-secure
// or the secure alias; the model serves both with the non-secure
// registers).
func (m *Model) u5FlashRegs(base uint32) *chipsim.Registers {
	return &chipsim.Registers{Base: base, Size: 0x400,
		ReadFn: func(off uint32) (uint32, error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			return m.u5ReadReg(off), nil // optionctl_u5.go
		},
		WriteFn: func(off, v uint32) error {
			m.mu.Lock()
			obl, err := m.u5WriteReg(off, v)
			if obl {
				m.u5Load()
				m.epoch++
			}
			m.mu.Unlock()
			if obl {
				m.sysReset() // OBL_LAUNCH resets the chip (RM0456 §7.9 FLASH_NSCR)
			}
			return err
		},
	}
}

// moreAP returns the access ports above AP0 (H7: AP1 and AP2), nil where
// the chip has none.
func (m *Model) moreAP(n uint8) chipsim.AP {
	if n == 0 || int(n) > len(m.more) {
		return nil
	}
	return m.more[n-1]
}

// u5OptionRegs is what the U5's flash registers read.
func (m *Model) u5OptionRegs() map[uint32]uint32 {
	optr := u5OPTRRest | uint32(m.cfg.RDP)
	secwm1 := uint32(u5NoArea)
	if m.cfg.TZEN {
		optr |= targets.U5TZEN
		if m.cfg.SecurePages > 0 {
			// PSTRT 0, PEND SecurePages-1: pages 0 … SecurePages-1.
			secwm1 = uint32(m.cfg.SecurePages-1) << 16
		}
	}
	return map[uint32]uint32{
		targets.U5FlashNSCR: u5NSCRLocked, targets.U5FlashOPTR: optr,
		targets.U5FlashNSBOOTADD0: u5BootAdd0, targets.U5FlashNSBOOTADD1: u5BootAdd1, targets.U5FlashSECBOOTADD: u5SecBootAdd,
		targets.U5FlashSECWM1R1: secwm1, targets.U5FlashSECWM2R1: u5NoArea,
		targets.U5FlashWRP1AR: u5NoWRP, targets.U5FlashWRP1BR: u5NoWRP, targets.U5FlashWRP2AR: u5NoWRP, targets.U5FlashWRP2BR: u5NoWRP,
		// OEM1KEYR1 … OEM2KEYR2 are write-only: absent here, they read 0.
	}
}

// h7OptionRegs is what the H7's flash registers read.
func (m *Model) h7OptionRegs() map[uint32]uint32 {
	optsr := h7OPTSRRest | uint32(m.cfg.RDP)<<8
	return map[uint32]uint32{
		targets.H7FlashOPTCR: h7OPTCRLocked, targets.H7FlashOPTSRCur: optsr, targets.H7FlashOPTSRPrg: optsr,
		targets.H7FlashPRAR1: h7NoArea, targets.H7FlashSCAR1: h7NoArea, targets.H7FlashWPSN1: h7WPSNNone,
		targets.H7FlashBOOTCur: h7BootCur,
		targets.H7FlashPRAR2:   h7NoArea, targets.H7FlashSCAR2: h7NoArea, targets.H7FlashWPSN2: h7WPSNNone,
	}
}

// cswNonSecure is the AHB5-AP CSW bit that makes a transfer non-secure
// (ARM IHI 0031 CSW.Prot bit 30, HNONSEC).
const cswNonSecure = 1 << 30

// secureOpen reports whether a secure debug access is allowed now: only at
// RDP level 0 (RM0456 §7.6.2: level 0.5 closes secure debug).
func (m *Model) secureOpen() bool { return m.protection() == targets.RDPLevel0 }

// secureOnly is a secure-alias region: it answers secure transfers while
// secure debug is open and faults otherwise.
type secureOnly struct {
	m *Model
	r chipsim.Region
}

func (s *secureOnly) Contains(addr uint32) bool { return s.r.Contains(addr) }

func (s *secureOnly) check(addr, csw uint32) error {
	if csw&cswNonSecure != 0 || !s.m.secureOpen() {
		return fmt.Errorf("secure address 0x%08X: secure debug closed (RDP %v) or non-secure transfer: %w", addr, s.m.protection(), chipsim.ErrBusFault)
	}
	return nil
}

func (s *secureOnly) Read(addr uint32, size chipsim.Size, csw uint32) (uint32, error) {
	if err := s.check(addr, csw); err != nil {
		return 0, err
	}
	return s.r.Read(addr, size, csw)
}

func (s *secureOnly) Write(addr uint32, size chipsim.Size, v, csw uint32) error {
	if err := s.check(addr, csw); err != nil {
		return err
	}
	return s.r.Write(addr, size, v, csw)
}

// u5Flash is the U5's main flash through its two aliases: the pages inside
// the secure watermark (Config.SecurePages, with TZEN) answer through the
// secure alias only, the others through the non-secure alias only.
type u5Flash struct{ m *Model }

func (f *u5Flash) alias(base uint32, secure bool) chipsim.Region {
	return &u5FlashAlias{f: f, base: base, secure: secure}
}

type u5FlashAlias struct {
	f      *u5Flash
	base   uint32
	secure bool
}

func (a *u5FlashAlias) Contains(addr uint32) bool {
	return addr >= a.base && addr-a.base < uint32(a.f.m.cfg.FlashKB)<<10
}

func (a *u5FlashAlias) check(addr, csw uint32) error {
	m := a.f.m
	off := addr - a.base
	page := off / targets.U5PageSize
	securePage := m.in.tzen.Load() && page < uint32(m.cfg.SecurePages)
	switch {
	case securePage != a.secure:
		return fmt.Errorf("flash 0x%08X: page %d is %s, not reachable through this alias: %w", addr, page, map[bool]string{true: "secure", false: "non-secure"}[securePage], chipsim.ErrBusFault)
	case a.secure && (csw&cswNonSecure != 0 || !m.secureOpen()):
		return fmt.Errorf("flash 0x%08X: secure page %d closed to the debugger (RDP %v): %w", addr, page, m.protection(), chipsim.ErrBusFault)
	}
	return nil
}

func (a *u5FlashAlias) Read(addr uint32, size chipsim.Size, csw uint32) (uint32, error) {
	if err := a.check(addr, csw); err != nil {
		return 0, err
	}
	w, err := a.f.m.readFlash(addr - a.base)
	if err != nil {
		return 0, err
	}
	return w >> (8 * (addr & 3)) & sizeMask(size), nil
}

// Write is ignored: the model has no U5 flash programming.
func (a *u5FlashAlias) Write(addr uint32, _ chipsim.Size, _, csw uint32) error {
	return a.check(addr, csw)
}

func sizeMask(s chipsim.Size) uint32 {
	switch s {
	case chipsim.Byte:
		return 0xFF
	case chipsim.Halfword:
		return 0xFFFF
	}
	return 0xFFFFFFFF
}

// h7DBGMCU is the H7's DBGMCU, the same registers at 0x5C001000 (through
// AP0) and 0xE00E1000 (through AP2): IDCODE, CR (kept in Model.dbgCR for
// the low-power checks) and the freeze registers (RM0433, DBGMCU registers).
type h7DBGMCU struct {
	m      *Model
	mu     sync.Mutex
	freeze map[uint32]uint32
}

func newH7DBGMCU(m *Model) *h7DBGMCU { return &h7DBGMCU{m: m, freeze: map[uint32]uint32{}} }

func (d *h7DBGMCU) at(base uint32) *chipsim.Registers {
	return &chipsim.Registers{Base: base, Size: 0x1000,
		ReadFn: func(off uint32) (uint32, error) {
			switch off {
			case targets.DBGMCUIDCode:
				return uint32(d.m.cfg.RevID)<<16 | uint32(d.m.cfg.DevID), nil
			case targets.DBGMCUCR:
				d.m.mu.Lock()
				defer d.m.mu.Unlock()
				return d.m.dbgCR, nil
			}
			d.mu.Lock()
			defer d.mu.Unlock()
			return d.freeze[off], nil
		},
		WriteFn: func(off, v uint32) error {
			switch off {
			case targets.DBGMCUIDCode:
			case targets.DBGMCUCR:
				d.m.mu.Lock()
				d.m.dbgCR = v
				d.m.mu.Unlock()
			default:
				d.mu.Lock()
				d.freeze[off] = v
				d.mu.Unlock()
			}
			return nil
		},
	}
}
