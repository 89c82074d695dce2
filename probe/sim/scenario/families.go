package scenario

import (
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32rdp"
)

// nucleo is a Nucleo's or a Blue Pill's target voltage.
const nucleo = 3300

// rdpPart is the chip on a board of an RDP family: its family, DBGMCU
// DEV_ID and REV_ID, and flash size.
type rdpPart struct {
	family              targets.Family
	devID, revID, flash uint16 // flash in KiB
}

// The parts of the boards of the RDP families.
func bluePill() rdpPart  { return rdpPart{targets.STM32F1(), targets.DevIDF1MD, 0x2003, 64} }
func blackPill() rdpPart { return rdpPart{targets.STM32F4(), targets.DevIDF411, 0x1000, 512} }
func g071() rdpPart      { return rdpPart{targets.STM32G0(), targets.DevIDG07x, 0x2000, 128} }
func g474() rdpPart      { return rdpPart{targets.STM32G4(), targets.DevIDG47x, 0x2000, 512} }
func l476() rdpPart      { return rdpPart{targets.STM32L4(), targets.DevIDL47x, 0x1007, 1024} }
func u585() rdpPart      { return rdpPart{targets.STM32U5(), targets.DevIDU57x, 0x2000, 2048} }
func h743() rdpPart      { return rdpPart{targets.STM32H7(), targets.DevIDH74x, 0x2003, 2048} }

// board is the part at RDP byte rdp running fw, with NRST wired.
func (p rdpPart) board(rdp uint8, fw stm32rdp.Firmware) *stm32rdp.Config {
	return &stm32rdp.Config{Family: p.family, DevID: p.devID, RevID: p.revID, FlashKB: p.flash, RDP: rdp, Firmware: fw, NRSTWired: true,
		UID: [3]uint32{0x0031FF36, 0x3231470F, 0x43172231 ^ uint32(p.devID)}}
}

// rdpScenario is a board of an RDP family on a Nucleo's supply.
func rdpScenario(name, description string, chip *stm32rdp.Config, e Expect) Scenario {
	return Scenario{Name: name, Description: description, RDPChip: chip, Millivolts: nucleo, Expect: e}
}

// locked is an RDP level 1 board: its flash holds a firmware (which level
// 1 hides from the debugger and a regression to level 0 erases).
func locked(c *stm32rdp.Config) *stm32rdp.Config {
	c.Image = demoFirmware(6 << 10)
	return c
}

// demoFirmware is n bytes of a made-up application: a vector table (initial
// SP at the top of 20 KiB of SRAM, reset handler at 0x08000101) and code
// bytes that are not the erased value.
func demoFirmware(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 0x11)
	}
	copy(b, []byte{0x00, 0x50, 0x00, 0x20, 0x01, 0x01, 0x00, 0x08})
	return b
}

// swdLost is a board whose firmware silences SWD: only a connect holding
// NRST reaches the DP, and AP1 does not exist.
func swdLost() Expect {
	return Expect{NormalAP1: NoACK, HotPlugAP1: NoACK, UnderResetAP1: Fails, AP0: OK, AP0UnderResetOnly: true}
}

// familyBoards are the boards of the families beyond the STM32H5.
func familyBoards() []Scenario {
	const idle = stm32rdp.FirmwareIdle
	return []Scenario{
		rdpScenario("f103-open",
			"a Blue Pill: STM32F103C8 (DEV_ID 0x410, 64 KiB), read-out protection off (RDP 0xA5); everything on AP0 connects",
			bluePill().board(targets.F1RDPKey, idle), ap0Only()),
		rdpScenario("f103-rdp1",
			"a Blue Pill locked at RDP level 1 (RDP 0x00): the core and SRAM answer, flash reads fail; unlocking mass-erases",
			locked(bluePill().board(0x00, idle)), ap0Only()),
		rdpScenario("f411-open",
			"a Black Pill: STM32F411CE (DEV_ID 0x431, 512 KiB), RDP level 0 (0xAA)",
			blackPill().board(targets.RDPByteLevel0, idle), ap0Only()),
		rdpScenario("f411-rdp1",
			"a Black Pill locked at RDP level 1 (0xBB): the core and SRAM answer, flash reads fail; unlocking mass-erases",
			locked(blackPill().board(targets.RDPByteLevel1, idle)), ap0Only()),
		rdpScenario("f411-sleepy",
			"a Black Pill whose firmware enters Stop mode without DBGMCU DBG_STOP soon after reset: only Under Reset connects",
			blackPill().board(targets.RDPByteLevel0, stm32rdp.FirmwareSleepy), swdLost()),
		rdpScenario("g071-open",
			"a Nucleo-G071RB: STM32G071 (DEV_ID 0x460, 128 KiB, Cortex-M0+), RDP level 0 (0xAA)",
			g071().board(targets.RDPByteLevel0, idle), ap0Only()),
		rdpScenario("g071-rdp1",
			"a Nucleo-G071RB locked at RDP level 1 (0xBB): flash reads fail; unlocking mass-erases at the option-byte load",
			locked(g071().board(targets.RDPByteLevel1, idle)), ap0Only()),
		rdpScenario("g071-swd-as-gpio",
			"a Nucleo-G071RB whose firmware turns PA13/PA14 (SWDIO/SWCLK) into GPIO soon after reset: only Under Reset connects",
			g071().board(targets.RDPByteLevel0, stm32rdp.FirmwareSWDAsGPIO), swdLost()),
		rdpScenario("g474-open",
			"a Nucleo-G474RE: STM32G474 (DEV_ID 0x469, 512 KiB), RDP level 0 (0xAA)",
			g474().board(targets.RDPByteLevel0, idle), ap0Only()),
		rdpScenario("l476-open",
			"a Nucleo-L476RG: STM32L476 (DEV_ID 0x415, 1 MiB), RDP level 0 (0xAA)",
			l476().board(targets.RDPByteLevel0, idle), ap0Only()),
		rdpScenario("l476-rdp1",
			"a Nucleo-L476RG locked at RDP level 1 (0xBB): flash reads fail; unlocking mass-erases at the option-byte load",
			locked(l476().board(targets.RDPByteLevel1, idle)), ap0Only()),
		rdpScenario("l476-rdp2",
			"a Nucleo-L476RG set to RDP level 2 (0xCC): powered (3.30 V) yet the debug port never answers again",
			l476().board(targets.RDPByteLevel2, idle), silent()),
	}
}
