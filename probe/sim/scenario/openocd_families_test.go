package scenario

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/targets"
)

// openocdOn serves the scenario's board as an stlink-server and runs
// Debian's OpenOCD on it with its stock target config and cmds.
func openocdOn(t *testing.T, name, cfg string, cmds ...string) string {
	t.Helper()
	s, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return openocdWith(t, s.NewProbe(), cfg, nil, cmds...)
}

// openocdAndStprobe runs OpenOCD with cmds on the scenario's board, and
// stprobe identifies a fresh copy of the board: the two answers a driver
// test holds to each other.
func openocdAndStprobe(t *testing.T, name, cfg string, cmds ...string) (string, *targets.Chip) {
	t.Helper()
	out := openocdOn(t, name, cfg, cmds...)
	s, _ := Lookup(name)
	return out, identifyOn(t, hotPlugLink(t, s))
}

// TestOpenOCDFamilyDrivers holds the family boards to OpenOCD's own flash
// drivers (stm32f1x, stm32f2x, stm32l4x): they identify the chip and its
// flash size, and read the option bytes as the model holds them.
func TestOpenOCDFamilyDrivers(t *testing.T) {
	tests := []struct {
		scenario, cfg string
		cmds          []string
		want          []string
	}{
		{"f103-open", "stm32f1x.cfg", []string{"stm32f1x options_read 0"},
			[]string{"device id = 0x20030410", "flash size = 64 KiB", "STM32F10x (Medium Density) - Rev: Y",
				"option byte register = 0x3fffffc", "read protection: off", "watchdog: software", "user data = 0xffff"}},
		{"f103-rdp1", "stm32f1x.cfg", []string{"stm32f1x options_read 0"},
			[]string{"device id = 0x20030410", "flash size = 64 KiB", "option byte register = 0x3fffffe", "read protection: on"}},
		{"f411-open", "stm32f4x.cfg", []string{"stm32f2x options_read 0"},
			[]string{"device id = 0x10000431", "flash size = 512 KiB", "STM32F4xx (Low Power) - Rev: A",
				// OpenOCD 0.12 prints FLASH_OPTCR & 0xFC: 0x0FFFAAED → 0xEC
				"user_options 0xEC"}},
		{"g071-open", "stm32g0x.cfg", []string{"stm32l4x option_read 0 0x20"},
			[]string{"STM32G07/G08xx", "flash size = 128 KiB", "RDP level 0 (0xAA)", "0xfffffeaa"}},
		{"l476-open", "stm32l4x.cfg", []string{"stm32l4x option_read 0 0x20"},
			[]string{"STM32L47/L48xx", "flash size = 1024 KiB", "RDP level 0 (0xAA)", "0xffeff8aa"}},
		{"g474-open", "stm32g4x.cfg", []string{"stm32l4x option_read 0 0x20"},
			[]string{"STM32G47/G48xx", "flash size = 512 KiB", "RDP level 0 (0xAA)"}},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			cmds := append([]string{"init", "halt", "flash probe 0", "flash info 0"}, tt.cmds...)
			// stprobe, on a fresh copy of the same board, agrees with the peer.
			out, c := openocdAndStprobe(t, tt.scenario, tt.cfg, append(cmds, "shutdown")...)
			mine := []string{fmt.Sprintf("flash size = %d KiB", c.FlashKB), fmt.Sprintf("0x%08x", c.IDCode)}
			if c.Family.Name == "STM32F1" {
				mine = append(mine, map[bool]string{true: "read protection: on", false: "read protection: off"}[c.Protection.Level == targets.RDPLevel1])
			} else if c.Family.Name != "STM32F4" {
				// stm32l4x.c prints "0", "0.5", or "1" for any other value.
				lvl := map[targets.RDPLevel]string{targets.RDPLevel0: "0", targets.RDPLevel05: "0.5"}[c.Protection.Level]
				if lvl == "" {
					lvl = "1"
				}
				mine = append(mine, fmt.Sprintf("RDP level %s (0x%02X)", lvl, c.Protection.Raw))
			}
			tt.want = append(tt.want, mine...)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("OpenOCD output lacks %q", w)
				}
			}
			if t.Failed() {
				t.Logf("OpenOCD output:\n%s", out)
			}
		})
	}
}
