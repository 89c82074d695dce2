package scenario

import (
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32rdp"
)

// diagnosisBoards are open boards whose firmware, or its absence, gets in
// the way of debugging: the situations the matrix's cross-family rules
// diagnose (a watchdog that resets the halted core, BOOT0 high, an empty
// flash).
func diagnosisBoards() []Scenario {
	boot0 := blackPill().board(targets.RDPByteLevel0, stm32rdp.FirmwareIdle)
	boot0.Boot0 = true
	return []Scenario{
		rdpScenario("g474-watchdog",
			"a Nucleo-G474RE whose firmware starts the independent watchdog (about 2 ms): a core halted without DBGMCU DBG_IWDG_STOP is reset under the debugger",
			g474().board(targets.RDPByteLevel0, stm32rdp.FirmwareWatchdog), ap0Only()),
		rdpScenario("l476-empty",
			"a Nucleo-L476RG with nothing programmed: main flash erased, the vector table reads 0xFFFFFFFF; debug works, nothing runs",
			l476().board(targets.RDPByteLevel0, stm32rdp.FirmwareEmpty), ap0Only()),
		rdpScenario("f411-boot0",
			"a Black Pill with BOOT0 held high (button or jumper): the ROM bootloader runs instead of the firmware in flash",
			boot0, ap0Only()),
	}
}
