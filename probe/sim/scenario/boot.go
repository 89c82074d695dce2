package scenario

import (
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// WithBoot0 returns a copy of s with the BOOT0 pin at high.
func (s Scenario) WithBoot0(high bool) Scenario {
	s.Boot0 = high
	return s
}

// Bootloader returns the ROM bootloader of the STM32H5 that p hosts, with
// BOOT0 as s sets it; nil when p hosts no STM32H5. Serve its NewUART on a
// pty (probe/sim/bootuart) and its NewDFU on the USB relay
// (usbrelay.StartBus).
func (s Scenario) Bootloader(p *sim.Probe) *stm32h5.ROMBootloader {
	m := Model(p)
	if m == nil {
		return nil
	}
	return m.ROMBootloader(s.Boot0)
}
