// Package stm32rdp is the executable model of the STM32 families protected
// by read-out protection levels (F1, F4, G0, L4; G4 shares the L4 model's
// flash interface; U5 and H7 in u5h7.go): one Cortex-M core behind AP0
// (the H7 adds its D3 and debug-APB ports), DBGMCU, the engineering area
// (flash size, unique ID, package), the flash interface's option registers,
// what each RDP level does to a debugger, and what the user program does to
// debug (firmware.go). The facts come from package targets; docs/families.md
// cites them. The F1, F4, G0, G4 and L4 flash interfaces are modelled with
// their programming sequences (flashctl*.go): main flash programs and
// erases, the option bytes program and load, and leaving RDP level 1
// mass-erases the flash. The H7's main flash programs and erases as a
// debugger drives it (flashctl_h7.go); the U5's ignores writes. The U5's
// and H7's option bytes program, load and regress as a debugger drives
// them (optionctl_u5.go, optionctl_h7.go).
package stm32rdp

import (
	"fmt"
	"sync"
	"time"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// Firmware is what the simulated user program does.
type Firmware int

// Firmware behaviours.
const (
	// FirmwareIdle loops and leaves the debug pins alone.
	FirmwareIdle Firmware = iota
	// FirmwareSWDAsGPIO reconfigures PA13/PA14 (SWDIO/SWCLK) as GPIO
	// shortly after it starts: only a connect that holds NRST catches it.
	FirmwareSWDAsGPIO
	// FirmwareSleepy enters Stop mode shortly after it starts, without the
	// DBGMCU_CR low-power debug bits: the debug port goes silent until a
	// reset (only Under Reset catches it).
	FirmwareSleepy
	// FirmwareEmpty is no program at all: main flash is erased, its vector
	// table reads 0xFFFFFFFF, so the core locks up in a fault at reset.
	FirmwareEmpty
	// FirmwareWatchdog starts the independent watchdog and refreshes it
	// while it runs: a core halted by a debugger longer than the
	// watchdog's period is reset, unless DBGMCU freezes the watchdog
	// (firmware.go).
	FirmwareWatchdog
)

// defaultSWDOff is how long the firmware keeps SWD after it starts (chosen,
// like the STM32H5 model's sleepy board).
const defaultSWDOff = 500 * time.Microsecond

// Config is one simulated chip.
type Config struct {
	// Family is the family table (targets.STM32F1() …); DevID the line.
	Family targets.Family
	DevID  uint16
	RevID  uint16
	// FlashKB is what the flash-size register reads (the line's maximum
	// when 0); Package the package code on families that have one.
	FlashKB uint16
	Package uint16
	// RDP is the RDP option byte (targets.RDPByteLevel0 … ; on the F1
	// targets.F1RDPKey for level 0, anything else level 1).
	RDP uint8
	// Firmware is what the user program does; SWDOffAfter how long it keeps
	// SWD (default 500 µs).
	Firmware    Firmware
	SWDOffAfter time.Duration
	// NRSTWired is false for a 4-wire cable.
	NRSTWired bool
	// UID is the 96-bit unique ID.
	UID [3]uint32
	// TZEN sets the U5's FLASH_OPTR.TZEN (TrustZone); SecurePages is then
	// how many flash pages from the start of bank 1 the secure watermark
	// covers (u5h7.go).
	TZEN        bool
	SecurePages int
	// OEM1Locked is a U5 whose OEM1 key is provisioned (FLASH_NSSR
	// OEM1LOCK reads 1): the model accepts no key, so it refuses every
	// regression to level 0 (optionctl_u5.go).
	OEM1Locked bool
	// Boot0 is the BOOT0 pin held high: on the families that alias the
	// boot memory at 0x00000000 the system-memory bootloader runs instead
	// of the program (firmware.go).
	Boot0 bool
	// Image is what main flash holds from 0x08000000 (the rest erased).
	Image []byte
}

// Model is a simulated RDP-family chip. It implements chipsim.Chip.
type Model struct {
	cfg  Config
	line targets.Line
	core *chipsim.Core
	ram  *chipsim.RAM
	ap0  *chipsim.MemAP
	more []chipsim.AP // the access ports above AP0 (H7)
	fw   firmwareState

	mu        sync.Mutex
	now       time.Duration
	runSince  time.Duration
	nrst      chipsim.NRST
	wasHalted bool
	dbgCR     uint32 // DBGMCU_CR
	freeze    [2]uint32
	flashRead int // flash reads refused under RDP 1
	fc        flashCtl
	h7        h7Flash     // the H7's bank registers (flashctl_h7.go)
	ob        u5h7Options // the U5's and H7's option interface (optionctl_u5h7.go)
	in        loaded      // the U5's and H7's option bytes in force
	epoch     uint64      // resets that dropped the debug link
}

// New builds a chip from cfg.
func New(cfg Config) (*Model, error) {
	if cfg.Family.RDP == nil {
		return nil, fmt.Errorf("stm32rdp: %s has no RDP scheme (use the STM32H5 model)", cfg.Family.Name)
	}
	if !familyModel(cfg.Family.Name) {
		return nil, fmt.Errorf("stm32rdp: no executable model of %s yet (identification only)", cfg.Family.Name)
	}
	l, ok := cfg.Family.Line(cfg.DevID)
	if !ok {
		return nil, fmt.Errorf("stm32rdp: DEV_ID 0x%03X is not an %s line", cfg.DevID, cfg.Family.Name)
	}
	if cfg.FlashKB == 0 {
		cfg.FlashKB = uint16(l.MaxFlashKB)
	}
	if cfg.SWDOffAfter == 0 {
		cfg.SWDOffAfter = defaultSWDOff
	}
	m := &Model{cfg: cfg, line: l, nrst: chipsim.NRST{Wired: cfg.NRSTWired}}
	m.core = chipsim.NewCore(m.coreConfig())
	m.ram = chipsim.NewRAM(targets.SRAMBase, uint32(l.SRAMKB)<<10)
	bus := &chipsim.Bus{}
	m.mapFamilyFirst(bus)
	m.mapFirmware(bus)
	bus.Map(m.dbgmcu())
	bus.Map(m.ram)
	m.initFlash()
	if cfg.Family.Name == "STM32U5" || cfg.Family.Name == "STM32H7" {
		m.initOptions()
	}
	bus.Map(flashRegion{m})
	if cfg.Family.Name == "STM32F1" {
		bus.Map(f1OptionRegion{m}) // inside the engineering page: mapped first
	}
	bus.Map(m.engineering())
	bus.Map(m.flashRegs())
	bus.Map(&chipsim.Registers{Base: 0x40000000, Size: 0x20000000}) // other peripherals: read as zero
	bus.Map(m.core.PPB())
	m.ap0 = &chipsim.MemAP{IDRValue: apIDR(cfg.Family), BASEValue: chipsim.BASEM33ROM, Bus: bus}
	return m, nil
}

// cpuid is the family's Cortex-M CPUID.
func cpuid(f targets.Family) uint32 {
	switch f.Core {
	case "Cortex-M0+":
		return targets.CPUIDCortexM0Plus
	case "Cortex-M3":
		return targets.CPUIDCortexM3
	case "Cortex-M7":
		return targets.CPUIDCortexM7
	case "Cortex-M33":
		return targets.CPUIDCortexM33
	}
	return targets.CPUIDCortexM4
}

// apIDR is the AHB-AP IDR of the core (ARM CoreSight: AHB-AP of
// Cortex-M3/M4 0x24770011, AHB-AP of Cortex-M0+ 0x04770031).
func apIDR(f targets.Family) uint32 {
	if f.Core == "Cortex-M0+" {
		return 0x04770031
	}
	return 0x24770011
}

// F1OptionBytes is the F1's option-byte block in the information area
// (RM0008 §2.5: RDP, USER, Data0, Data1, WRP0..3, each a byte and its
// complement).
const F1OptionBytes = 0x1FFFF800

// protection is the RDP level in force. The caller holds m.mu: the F1,
// F4, G0, G4 and L4 keep it in their flash controller (flashctl.go); the
// U5 and H7 in the option bytes in force (optionctl_u5h7.go).
func (m *Model) protection() targets.RDPLevel {
	switch m.cfg.Family.Name {
	case "STM32U5", "STM32H7":
		return m.u5h7Level() // optionctl_u5h7.go
	}
	return m.fc.level
}

// Level is the read-out protection level the chip applies.
func (m *Model) Level() targets.RDPLevel {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.protection()
}

// RefusedFlashReads counts flash reads refused under RDP level 1.
func (m *Model) RefusedFlashReads() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.flashRead
}

// dbgmcu is the DBGMCU block: IDCODE, CR and the two freeze registers.
func (m *Model) dbgmcu() *chipsim.Registers {
	base := m.cfg.Family.APs[0].DBGMCU
	return &chipsim.Registers{Base: base, Size: 0x400,
		ReadFn: func(off uint32) (uint32, error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			switch off {
			case targets.DBGMCUIDCode:
				return uint32(m.cfg.RevID)<<16 | uint32(m.cfg.DevID), nil
			case targets.DBGMCUCR:
				return m.dbgCR, nil
			case 0x008, 0x00C:
				return m.freeze[off/4-2], nil
			}
			return 0, nil
		},
		WriteFn: func(off, v uint32) error {
			m.mu.Lock()
			defer m.mu.Unlock()
			switch off {
			case targets.DBGMCUCR:
				m.dbgCR = v
			case 0x008, 0x00C:
				m.freeze[off/4-2] = v
			}
			return nil
		},
	}
}

// engineering is the block holding the UID, the flash size and (G0, L4)
// the package code, one 4 KiB page around them.
func (m *Model) engineering() *chipsim.Registers {
	f := m.cfg.Family
	fsize := f.FlashSizeAddrOf(m.line)
	base := f.UIDAddr &^ 0xFFF
	return &chipsim.Registers{Base: base, Size: 0x1000,
		ReadFn: func(off uint32) (uint32, error) {
			addr := base + off
			var v uint32
			for i := uint32(0); i < 3; i++ {
				if addr == f.UIDAddr+4*i {
					v = m.cfg.UID[i]
				}
			}
			if addr == fsize&^3 {
				v = v&^(0xFFFF<<(8*(fsize&2))) | uint32(m.cfg.FlashKB)<<(8*(fsize&2))
			}
			if f.PackageAddr != 0 && addr == f.PackageAddr&^3 {
				v = v&^(0xFFFF<<(8*(f.PackageAddr&2))) | uint32(m.cfg.Package)<<(8*(f.PackageAddr&2))
			}
			return v, nil
		},
	}
}

// ---- chipsim.Chip ----

// SWDResponds is false under RDP level 2 (the debug port is disabled for
// ever) and, with SWD-as-GPIO or sleepy firmware, once the program has run
// for SWDOffAfter without NRST held low or the core halted.
func (m *Model) SWDResponds() bool {
	halted := m.core.Halted()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.protection() == targets.RDPLevel2 {
		return false
	}
	if m.wasHalted && !halted {
		m.runSince = m.now
	}
	m.wasHalted = halted
	if !m.cfg.Firmware.silencesSWD() || m.nrst.Low() || halted {
		return true
	}
	if m.cfg.Firmware == FirmwareSleepy && m.dbgCR&lowPowerDebug(m.cfg.Family) != 0 {
		return true // DBG_STOP keeps the debug clock in Stop mode
	}
	return m.now-m.runSince < m.cfg.SWDOffAfter
}

// lowPowerDebug is the DBGMCU_CR bit keeping debug alive in Stop mode:
// DBG_STOP, bit 1 on every family here (RM0008 §31.16.3, RM0090 §38.16.3,
// RM0444 §40.9.3, RM0351 §48.16.3).
func lowPowerDebug(targets.Family) uint32 { return 1 << 1 }

// DPIDR is the family's SW-DP identification value.
func (m *Model) DPIDR() uint32 { return m.cfg.Family.DPIDRs[0] }

// AP returns AP0, the core's AHB-AP, and the ports above it where the
// family has them (H7: AP1, AP2); nil elsewhere.
func (m *Model) AP(n uint8) chipsim.AP {
	if n == 0 {
		return m.ap0
	}
	return m.moreAP(n)
}

// SetNRST drives the reset pin (ignored when not wired); release restarts
// the program.
func (m *Model) SetNRST(low bool) {
	m.mu.Lock()
	fell, rose := m.nrst.Drive(low)
	if rose {
		m.runSince = m.now
		m.dbgCR = 0 // DBGMCU_CR is reset by a power-on reset only on some lines; chosen: cleared
		m.resetFlash()
	}
	m.mu.Unlock()
	if fell || rose {
		m.core.SetHeldInReset(low)
	}
}

// sysReset is a system reset (AIRCR.SYSRESETREQ, OBL_LAUNCH): the
// program restarts and the flash interface resets.
func (m *Model) sysReset() {
	m.mu.Lock()
	m.runSince = m.now
	m.resetFlash()
	m.mu.Unlock()
	m.core.Reset()
}

// PowerCycle switches the board off and on: the option bytes load on every
// family, the debug link drops, DBGMCU_CR clears.
func (m *Model) PowerCycle() {
	m.mu.Lock()
	switch m.cfg.Family.Name {
	case "STM32F1", "STM32F4", "STM32H7":
	case "STM32U5":
		m.u5Load()
	default:
		m.l4Load()
	}
	m.dbgCR, m.freeze = 0, [2]uint32{}
	m.epoch++
	m.mu.Unlock()
	m.core.PowerOn()
	m.sysReset()
}

// Advance lets modelled time pass.
func (m *Model) Advance(d time.Duration) {
	m.mu.Lock()
	m.now += d
	m.mu.Unlock()
	m.core.Advance(d)
	m.tickWatchdog(d)
}

// LinkEpoch counts the resets that dropped the debug link (OBL_LAUNCH,
// power cycles).
func (m *Model) LinkEpoch() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.epoch
}

// Core returns the Cortex-M core.
func (m *Model) Core() *chipsim.Core { return m.core }

// Line is the simulated line.
func (m *Model) Line() targets.Line { return m.line }

// Config is the configuration the model was built from.
func (m *Model) Config() Config { return m.cfg }
