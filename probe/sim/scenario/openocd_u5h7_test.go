package scenario

import (
	"context"
	"fmt"
	"strings"
	"testing"

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
			out := openocdOn(t, tt.scenario, tt.cfg, append(cmds, "shutdown")...)
			s, _ := Lookup(tt.scenario)
			l := hotPlugLink(t, s)
			dpidr, err := l.ReadIDCode(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			c, err := targets.Identify(context.Background(), l, dpidr)
			if err != nil {
				t.Fatal(err)
			}
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
