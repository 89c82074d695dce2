package scenario

import (
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32rdp"
)

// u585SecurePages is the secure watermark of the TrustZone board: the
// first 512 KiB of bank 1 (64 pages of 8 KiB) hold the secure firmware,
// the rest is the non-secure application's (a common split; chosen).
const u585SecurePages = 64

// u5h7Boards are the STM32U5 and STM32H7 boards: an open board of each
// family, a U5 with TrustZone at RDP level 0.5 and an H7 at level 1. An
// H7's core and DBGMCU are behind AP0; its AP1 is the D3 domain's AHB-AP, a
// memory port without a core, so only Hot Plug (which does not halt)
// connects there.
func u5h7Boards() []Scenario {
	const idle = stm32rdp.FirmwareIdle
	tz := u585().board(targets.RDPByteLevel05, idle)
	tz.TZEN, tz.SecurePages = true, u585SecurePages
	return []Scenario{
		rdpScenario("u585-open",
			"a B-U585I-IOT02A: STM32U585 (DEV_ID 0x482, 2 MiB), TrustZone off (TZEN 0), RDP level 0 (0xAA); everything on AP0 connects",
			u585().board(targets.RDPByteLevel0, idle), ap0Only()),
		rdpScenario("u585-rdp05-tz",
			"an STM32U585 with TrustZone on (TZEN 1) at RDP level 0.5 (0x55): non-secure debug open, the secure half of bank 1 closed; Under Reset fails (the core starts secure)",
			tz, ap0Only()),
		rdpScenario("h743-open",
			"a Nucleo-H743ZI: STM32H743 (DEV_ID 0x450, 2 MiB, Cortex-M7), RDP level 0 (0xAA); the core on AP0, the D3 bus on AP1, DBGMCU on AP2",
			h743().board(targets.RDPByteLevel0, idle), hotPlugOnly()),
		rdpScenario("h743-rdp1",
			"a Nucleo-H743ZI at RDP level 1 (0xBB): the core and SRAM answer, flash reads fail; going back to level 0 mass-erases",
			h743().board(0xBB, idle), hotPlugOnly()),
	}
}
