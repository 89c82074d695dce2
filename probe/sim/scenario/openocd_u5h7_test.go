package scenario

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/targets"
)

// TestOpenOCDU5H7Drivers holds the STM32U5 and STM32H7 boards to OpenOCD
// 0.12's own flash drivers with the stock target configs
// (target/stm32u5x.cfg, whose flash driver is stm32l4x, and
// target/stm32h7x.cfg): they identify the chip and its flash, and read
// the option register that holds RDP as the model holds it; stprobe, on a
// fresh copy of the board, agrees.
func TestOpenOCDU5H7Drivers(t *testing.T) {
	tests := []struct {
		scenario, cfg string
		cmds          []string
		want          []string
	}{
		{"u585-open", "stm32u5x.cfg", []string{"stm32l4x option_read 0 0x40"},
			[]string{"STM32U57/U58xx", "flash size = 2048 KiB", "TZEN = 0", "RDP level 0 (0xAA)", "<0x40022040> = 0x1feff8aa"}},
		{"u585-rdp05-tz", "stm32u5x.cfg", []string{"stm32l4x option_read 0 0x40"},
			[]string{"STM32U57/U58xx", "flash size = 2048 KiB", "TZEN = 1", "RDP level 0.5 (0x55)", "<0x40022040> = 0x9feff855"}},
		{"h743-open", "stm32h7x.cfg", []string{"stm32h7x option_read 0 0x1c"},
			[]string{"Device: STM32H74x/75x", "STM32H74x/75x - Rev: V", "flash size probed value 2048k", "<0x5200201c> = 0x6aaf0"}},
		{"h743-rdp1", "stm32h7x.cfg", []string{"stm32h7x option_read 0 0x1c"},
			[]string{"Device: STM32H74x/75x", "flash size probed value 2048k", "<0x5200201c> = 0x6bbf0"}},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			cmds := append([]string{"init", "flash probe 0", "flash info 0"}, tt.cmds...)
			out, c := openocdAndStprobe(t, tt.scenario, tt.cfg, append(cmds, "shutdown")...)
			// The peer prints the flash size and the option register its own
			// way on each driver (stm32l4x.c "flash size = %d KiB", "0x%08x";
			// stm32h7x.c "flash size probed value %dk", "0x%x").
			mine := []string{fmt.Sprintf("flash size = %d KiB", c.FlashKB), fmt.Sprintf("= 0x%08x", c.Protection.Reg),
				fmt.Sprintf("RDP level %s (0x%02X)", map[targets.RDPLevel]string{targets.RDPLevel0: "0", targets.RDPLevel05: "0.5"}[c.Protection.Level], c.Protection.Raw)}
			if c.Family.Name == "STM32H7" {
				mine = []string{fmt.Sprintf("flash size probed value %dk", c.FlashKB), fmt.Sprintf("= 0x%x", c.Protection.Reg)}
			}
			tt.want = append(tt.want, mine...)
			low := strings.ToLower(out)
			for _, w := range tt.want {
				if !strings.Contains(low, strings.ToLower(w)) {
					t.Errorf("OpenOCD output lacks %q", w)
				}
			}
			if t.Failed() {
				t.Logf("OpenOCD output:\n%s", out)
			}
			if testing.Verbose() {
				t.Log(out)
			}
		})
	}
}

// TestOpenOCDFreezesWatchdog holds the watchdog board to OpenOCD's stock
// target/stm32g4x.cfg, whose examine-end handler sets DBGMCU_APB1FZR1
// DBG_IWDG_STOP|DBG_WWDG_STOP (0xE0042008 |= 0x1800): with those bits the
// model's watchdog stops while OpenOCD keeps the core halted through many
// reads, and RCC_CSR shows no watchdog reset; with them cleared OpenOCD
// itself reports the reset ("external reset detected") and RCC_CSR holds
// IWDGRSTF, as does a halt on the model alone.
func TestOpenOCDFreezesWatchdog(t *testing.T) {
	cmds := []string{"init", "halt"}
	for i := 0; i < 8; i++ {
		cmds = append(cmds, "mdw 0x20000000 256")
	}
	out := openocdOn(t, "g474-watchdog", "stm32g4x.cfg", append(cmds, "mdw 0xE0042008", "mdw 0x40021094", "shutdown")...)
	for _, w := range []string{"0xe0042008: 00001800", "0x40021094: 00000000"} {
		if !strings.Contains(strings.ToLower(out), w) {
			t.Errorf("OpenOCD output lacks %q:\n%s", w, out)
		}
	}

	// OpenOCD clearing the freeze bits once the core is halted sees the
	// watchdog reset it.
	cmds = append([]string{"init", "halt", "mww 0xE0042008 0"}, cmds[2:]...)
	out = openocdOn(t, "g474-watchdog", "stm32g4x.cfg", append(cmds, "mdw 0x40021094", "shutdown")...)
	if !strings.Contains(strings.ToLower(out), "0x40021094: 20000000") || !strings.Contains(out, "external reset detected") {
		t.Errorf("without the freeze bits, RCC_CSR shows no IWDG reset:\n%s", out)
	}

	// The model alone: without the freeze bits a halt ends in a watchdog reset.
	s, _ := Lookup("g474-watchdog")
	chip, err := s.NewChip()
	if err != nil {
		t.Fatal(err)
	}
	if !halts(t, chip, false) {
		t.Fatal("the core did not halt")
	}
	chip.Advance(10 * time.Millisecond)
	m := chip.(interface{ WatchdogResets() bool })
	if !m.WatchdogResets() {
		t.Error("a core halted 10 ms without DBG_IWDG_STOP was not reset by the watchdog")
	}
}
