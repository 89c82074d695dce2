package scenario

import (
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32rdp"
)

// nucleo is a Nucleo's or a Blue Pill's target voltage.
const nucleo = 3300

// rdpBoard is a board of an RDP family with NRST wired.
func rdpBoard(f targets.Family, devID, revID, flashKB uint16, rdp uint8, fw stm32rdp.Firmware) *stm32rdp.Config {
	return &stm32rdp.Config{Family: f, DevID: devID, RevID: revID, FlashKB: flashKB, RDP: rdp, Firmware: fw, NRSTWired: true,
		UID: [3]uint32{0x0031FF36, 0x3231470F, 0x43172231 ^ uint32(devID)}}
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

// coreOnAP0 is what a board of an RDP family shows: its core and DBGMCU
// are behind AP0, there is no AP1.
func coreOnAP0() Expect {
	return Expect{NormalAP1: Fails, HotPlugAP1: Fails, UnderResetAP1: Fails, AP0: OK}
}

// swdLost is a board whose firmware silences SWD: only a connect holding
// NRST reaches the DP, and AP1 does not exist.
func swdLost() Expect {
	return Expect{NormalAP1: NoACK, HotPlugAP1: NoACK, UnderResetAP1: Fails, AP0: OK, AP0UnderResetOnly: true}
}

// familyBoards are the boards of the families beyond the STM32H5.
func familyBoards() []Scenario {
	f1, f4, g0, g4, l4 := targets.STM32F1(), targets.STM32F4(), targets.STM32G0(), targets.STM32G4(), targets.STM32L4()
	const idle = stm32rdp.FirmwareIdle
	return []Scenario{
		{
			Name:        "f103-open",
			Description: "a Blue Pill: STM32F103C8 (DEV_ID 0x410, 64 KiB), read-out protection off (RDP 0xA5); everything on AP0 connects",
			RDPChip:     rdpBoard(f1, targets.DevIDF1MD, 0x2003, 64, targets.F1RDPKey, idle),
			Millivolts:  nucleo, Expect: coreOnAP0(),
		},
		{
			Name:        "f103-rdp1",
			Description: "a Blue Pill locked at RDP level 1 (RDP 0x00): the core and SRAM answer, flash reads fail; unlocking mass-erases",
			RDPChip:     locked(rdpBoard(f1, targets.DevIDF1MD, 0x2003, 64, 0x00, idle)),
			Millivolts:  nucleo, Expect: coreOnAP0(),
		},
		{
			Name:        "f411-open",
			Description: "a Black Pill: STM32F411CE (DEV_ID 0x431, 512 KiB), RDP level 0 (0xAA)",
			RDPChip:     rdpBoard(f4, targets.DevIDF411, 0x1000, 512, targets.RDPByteLevel0, idle),
			Millivolts:  nucleo, Expect: coreOnAP0(),
		},
		{
			Name:        "f411-rdp1",
			Description: "a Black Pill locked at RDP level 1 (0xBB): the core and SRAM answer, flash reads fail; unlocking mass-erases",
			RDPChip:     locked(rdpBoard(f4, targets.DevIDF411, 0x1000, 512, targets.RDPByteLevel1, idle)),
			Millivolts:  nucleo, Expect: coreOnAP0(),
		},
		{
			Name:        "f411-sleepy",
			Description: "a Black Pill whose firmware enters Stop mode without DBGMCU DBG_STOP soon after reset: only Under Reset connects",
			RDPChip:     rdpBoard(f4, targets.DevIDF411, 0x1000, 512, targets.RDPByteLevel0, stm32rdp.FirmwareSleepy),
			Millivolts:  nucleo, Expect: swdLost(),
		},
		{
			Name:        "g071-open",
			Description: "a Nucleo-G071RB: STM32G071 (DEV_ID 0x460, 128 KiB, Cortex-M0+), RDP level 0 (0xAA)",
			RDPChip:     rdpBoard(g0, targets.DevIDG07x, 0x2000, 128, targets.RDPByteLevel0, idle),
			Millivolts:  nucleo, Expect: coreOnAP0(),
		},
		{
			Name:        "g071-rdp1",
			Description: "a Nucleo-G071RB locked at RDP level 1 (0xBB): flash reads fail; unlocking mass-erases at the option-byte load",
			RDPChip:     locked(rdpBoard(g0, targets.DevIDG07x, 0x2000, 128, targets.RDPByteLevel1, idle)),
			Millivolts:  nucleo, Expect: coreOnAP0(),
		},
		{
			Name:        "g071-swd-as-gpio",
			Description: "a Nucleo-G071RB whose firmware turns PA13/PA14 (SWDIO/SWCLK) into GPIO soon after reset: only Under Reset connects",
			RDPChip:     rdpBoard(g0, targets.DevIDG07x, 0x2000, 128, targets.RDPByteLevel0, stm32rdp.FirmwareSWDAsGPIO),
			Millivolts:  nucleo, Expect: swdLost(),
		},
		{
			Name:        "g474-open",
			Description: "a Nucleo-G474RE: STM32G474 (DEV_ID 0x469, 512 KiB), RDP level 0 (0xAA)",
			RDPChip:     rdpBoard(g4, targets.DevIDG47x, 0x2000, 512, targets.RDPByteLevel0, idle),
			Millivolts:  nucleo, Expect: coreOnAP0(),
		},
		{
			Name:        "l476-open",
			Description: "a Nucleo-L476RG: STM32L476 (DEV_ID 0x415, 1 MiB), RDP level 0 (0xAA)",
			RDPChip:     rdpBoard(l4, targets.DevIDL47x, 0x1007, 1024, targets.RDPByteLevel0, idle),
			Millivolts:  nucleo, Expect: coreOnAP0(),
		},
		{
			Name:        "l476-rdp1",
			Description: "a Nucleo-L476RG locked at RDP level 1 (0xBB): flash reads fail; unlocking mass-erases at the option-byte load",
			RDPChip:     locked(rdpBoard(l4, targets.DevIDL47x, 0x1007, 1024, targets.RDPByteLevel1, idle)),
			Millivolts:  nucleo, Expect: coreOnAP0(),
		},
		{
			Name:        "l476-rdp2",
			Description: "a Nucleo-L476RG set to RDP level 2 (0xCC): powered (3.30 V) yet the debug port never answers again",
			RDPChip:     rdpBoard(l4, targets.DevIDL47x, 0x1007, 1024, targets.RDPByteLevel2, idle),
			Millivolts:  nucleo,
			Expect:      Expect{NormalAP1: NoACK, HotPlugAP1: NoACK, UnderResetAP1: NoACK, AP0: NoACK},
		},
	}
}
