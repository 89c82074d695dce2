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
	f4, g4, l4 := targets.STM32F4(), targets.STM32G4(), targets.STM32L4()
	boot0 := rdpBoard(f4, targets.DevIDF411, 0x1000, 512, targets.RDPByteLevel0, stm32rdp.FirmwareIdle)
	boot0.Boot0 = true
	return []Scenario{
		{
			Name:        "g474-watchdog",
			Description: "a Nucleo-G474RE whose firmware starts the independent watchdog (about 2 ms): a core halted without DBGMCU DBG_IWDG_STOP is reset under the debugger",
			RDPChip:     rdpBoard(g4, targets.DevIDG47x, 0x2000, 512, targets.RDPByteLevel0, stm32rdp.FirmwareWatchdog),
			Millivolts:  nucleo, Expect: coreOnAP0(),
		},
		{
			Name:        "l476-empty",
			Description: "a Nucleo-L476RG with nothing programmed: main flash erased, the vector table reads 0xFFFFFFFF; debug works, nothing runs",
			RDPChip:     rdpBoard(l4, targets.DevIDL47x, 0x1007, 1024, targets.RDPByteLevel0, stm32rdp.FirmwareEmpty),
			Millivolts:  nucleo, Expect: coreOnAP0(),
		},
		{
			Name:        "f411-boot0",
			Description: "a Black Pill with BOOT0 held high (button or jumper): the ROM bootloader runs instead of the firmware in flash",
			RDPChip:     boot0,
			Millivolts:  nucleo, Expect: coreOnAP0(),
		},
	}
}
