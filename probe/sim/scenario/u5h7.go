package scenario

import (
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32rdp"
)

// u585SecurePages is the secure watermark of the TrustZone board: the
// first 512 KiB of bank 1 (64 pages of 8 KiB) hold the secure firmware,
// the rest is the non-secure application's (a common split; chosen).
const u585SecurePages = 64

// h7Ports is what an H7 shows: the core and DBGMCU behind AP0; AP1 is the
// D3 domain's AHB-AP, a memory port without a core, so only Hot Plug (which
// does not halt) connects there.
func h7Ports() Expect {
	return Expect{NormalAP1: Fails, HotPlugAP1: OK, UnderResetAP1: Fails, AP0: OK}
}

// u5h7Boards are the STM32U5 and STM32H7 boards: an open board of each
// family, a U5 with TrustZone at RDP level 0.5 and an H7 at level 1.
func u5h7Boards() []Scenario {
	u5, h7 := targets.STM32U5(), targets.STM32H7()
	const idle = stm32rdp.FirmwareIdle
	tz := rdpBoard(u5, targets.DevIDU57x, 0x2000, 2048, targets.RDPByteLevel05, idle)
	tz.TZEN, tz.SecurePages = true, u585SecurePages
	return []Scenario{
		{
			Name:        "u585-open",
			Description: "a B-U585I-IOT02A: STM32U585 (DEV_ID 0x482, 2 MiB), TrustZone off (TZEN 0), RDP level 0 (0xAA); everything on AP0 connects",
			RDPChip:     rdpBoard(u5, targets.DevIDU57x, 0x2000, 2048, targets.RDPByteLevel0, idle),
			Millivolts:  nucleo, Expect: coreOnAP0(),
		},
		{
			Name:        "u585-rdp05-tz",
			Description: "an STM32U585 with TrustZone on (TZEN 1) at RDP level 0.5 (0x55): non-secure debug open, the secure half of bank 1 closed; Under Reset fails (the core starts secure)",
			RDPChip:     tz,
			Millivolts:  nucleo,
			Expect:      Expect{NormalAP1: Fails, HotPlugAP1: Fails, UnderResetAP1: Fails, AP0: OK},
		},
		{
			Name:        "h743-open",
			Description: "a Nucleo-H743ZI: STM32H743 (DEV_ID 0x450, 2 MiB, Cortex-M7), RDP level 0 (0xAA); the core on AP0, the D3 bus on AP1, DBGMCU on AP2",
			RDPChip:     rdpBoard(h7, targets.DevIDH74x, 0x2003, 2048, targets.RDPByteLevel0, idle),
			Millivolts:  nucleo, Expect: h7Ports(),
		},
		{
			Name:        "h743-rdp1",
			Description: "a Nucleo-H743ZI at RDP level 1 (0xBB): the core and SRAM answer, flash reads fail; going back to level 0 mass-erases",
			RDPChip:     rdpBoard(h7, targets.DevIDH74x, 0x2003, 2048, 0xBB, idle),
			Millivolts:  nucleo, Expect: h7Ports(),
		},
	}
}
