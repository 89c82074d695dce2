package stm32rdp

import (
	"sync"
	"time"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// What the simulated firmware leaves for a debugger to find: the vector
// table at the start of main flash (erased on an empty chip), the boot
// memory aliased at 0x00000000 (the system-memory bootloader when BOOT0 is
// high), and a watchdog that resets the chip while the core is halted
// unless DBGMCU freezes it. The register addresses and bits are those of
// targets.Family.Debug (ST's CMSIS device headers).

// Vector-table words of the simulated programs. They are chosen for the
// model, not taken from a real firmware or from ST's ROM: an initial stack
// pointer at the top of SRAM and a Thumb reset handler near the start of
// the image.
const (
	appResetOffset = 0x1C1 // reset handler, Thumb bit set
	romSP          = 0x20001000
	romResetOffset = 0x201 // the bootloader's reset handler, Thumb bit set
	erased         = 0xFFFFFFFF
)

// silencesSWD reports whether the program takes the debug port away once
// it runs (SWD pins as GPIO, or Stop mode without DBG_STOP).
func (f Firmware) silencesSWD() bool {
	return f == FirmwareSWDAsGPIO || f == FirmwareSleepy
}

// watchdogTimeout is how long the watchdog of FirmwareWatchdog lets the
// core stay halted before it resets the chip: the firmware programs the
// IWDG for about 2 ms (prescaler 4, reload 16 at the 32 kHz LSI; chosen).
const watchdogTimeout = 2 * time.Millisecond

// firmwareState is what FirmwareWatchdog changes: the time the core has
// been halted with the watchdog running, and the reset-cause flags.
type firmwareState struct {
	mu     sync.Mutex
	halted time.Duration
	flags  uint32 // the reset-cause register's watchdog flags
}

// flashWord is what main flash holds at off: the program's vector table
// in its first two words, erased everywhere else and on an empty chip.
func (m *Model) flashWord(off uint32) uint32 {
	if m.cfg.Firmware == FirmwareEmpty {
		return erased
	}
	switch off {
	case 0:
		return targets.SRAMBase + uint32(m.line.SRAMKB)<<10
	case 4:
		return targets.FlashMemBase + appResetOffset
	}
	return erased
}

// mapFirmware maps the boot alias at 0x00000000, the system memory and the
// reset-cause register, ahead of the common regions.
func (m *Model) mapFirmware(bus *chipsim.Bus) {
	d, ok := m.cfg.Family.Debug()
	if !ok {
		return
	}
	rom := func(off uint32) (uint32, error) {
		switch off {
		case 0:
			return romSP, nil
		case 4:
			return d.SystemMemory + romResetOffset, nil
		}
		return erased, nil
	}
	if d.BootAlias {
		bus.Map(&chipsim.Registers{Base: 0, Size: uint32(m.cfg.FlashKB) << 10, ReadFn: func(off uint32) (uint32, error) {
			if m.cfg.Boot0 {
				return rom(off)
			}
			return m.readFlash(off)
		}})
	}
	// Only the bootloader's vector table: on the F1 the engineering area
	// (flash size, UID) lies 2 KiB further on, in the same page.
	bus.Map(&chipsim.Registers{Base: d.SystemMemory, Size: 0x100, ReadFn: rom})
	bus.Map(&chipsim.Registers{Base: d.Reset, Size: 4, ReadFn: func(uint32) (uint32, error) {
		m.fw.mu.Lock()
		defer m.fw.mu.Unlock()
		return m.fw.flags, nil
	}})
}

// watchdogFrozen reports whether the debugger has set the DBGMCU bit that
// stops the independent watchdog while the core is halted.
func (m *Model) watchdogFrozen() bool {
	d, ok := m.cfg.Family.Debug()
	if !ok {
		return false
	}
	base := m.cfg.Family.APs[0].DBGMCU
	m.mu.Lock()
	defer m.mu.Unlock()
	switch d.IWDGFreeze {
	case base + targets.DBGMCUCR:
		return m.dbgCR&d.IWDGFreezeBit != 0
	case base + 0x008:
		return m.freeze[0]&d.IWDGFreezeBit != 0
	}
	return false // the H7's freeze registers: no watchdog board there
}

// tickWatchdog runs the watchdog of FirmwareWatchdog for d: while the core
// runs the firmware refreshes it; while the core is halted and the
// watchdog not frozen it counts, and at watchdogTimeout resets the chip
// and sets the reset-cause register's IWDG flag. NRST held low stops it.
func (m *Model) tickWatchdog(d time.Duration) {
	if m.cfg.Firmware != FirmwareWatchdog {
		return
	}
	m.mu.Lock()
	held := m.nrst.Low()
	m.mu.Unlock()
	counting := !held && m.core.Halted() && !m.watchdogFrozen()
	m.fw.mu.Lock()
	if !counting {
		m.fw.halted = 0
		m.fw.mu.Unlock()
		return
	}
	m.fw.halted += d
	fire := m.fw.halted >= watchdogTimeout
	if fire {
		m.fw.halted = 0
		if dbg, ok := m.cfg.Family.Debug(); ok {
			m.fw.flags |= dbg.IWDGReset
		}
	}
	m.fw.mu.Unlock()
	if fire {
		m.sysReset()
	}
}

// WatchdogResets reports whether the watchdog has reset the chip.
func (m *Model) WatchdogResets() bool {
	m.fw.mu.Lock()
	defer m.fw.mu.Unlock()
	return m.fw.flags != 0
}
