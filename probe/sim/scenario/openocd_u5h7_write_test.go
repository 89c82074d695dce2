package scenario

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32rdp"
)

// TestOpenOCDReadsStprobeU5H7Writes applies option-byte changes with
// stprobe's U5 and H7 sequences and reads them back with OpenOCD 0.12's
// own drivers (stm32l4x option_read on target/stm32u5x.cfg, stm32h7x
// option_read on target/stm32h7x.cfg): both see the same register value.
func TestOpenOCDReadsStprobeU5H7Writes(t *testing.T) {
	tests := []optionWrite{
		{"u585-open", "stm32u5x.cfg", []string{"IWDG_STOP=0"}, "OPTR", "stm32l4x option_read 0 0x40", optionRegister(0x40022040)},
		{"u585-open", "stm32u5x.cfg", []string{"RDP=0xBB"}, "OPTR", "stm32l4x option_read 0 0x40", optionRegister(0x40022040)},
		{"u585-rdp05-tz", "stm32u5x.cfg", []string{"RDP=0xAA", "TZEN=0"}, "OPTR", "stm32l4x option_read 0 0x40", optionRegister(0x40022040)},
		{"h743-open", "stm32h7x.cfg", []string{"WRPSN1=0xFE"}, "WPSN_CUR1", "stm32h7x option_read 0 0x38", optionRegister(0x52002038)},
		{"h743-open", "stm32h7x.cfg", []string{"RDP=0xBB"}, "OPTSR_CUR", "stm32h7x option_read 0 0x1c", optionRegister(0x5200201C)},
	}
	for _, tt := range tests {
		t.Run(tt.scenario+" "+strings.Join(tt.args, " "), tt.check)
	}
}

// TestOpenOCDLockStprobeUnlockU5H7 chains the two tools on a U5 and an H7
// holding a firmware: OpenOCD locks the board (stm32l4x lock with
// option_load; stm32h7x lock), then stprobe unlocks it (stprobeUnlocks).
func TestOpenOCDLockStprobeUnlockU5H7(t *testing.T) {
	tests := []struct {
		name, cfg string
		chip      *stm32rdp.Config
		lock      []string
		read      string // OpenOCD's command that prints the level
		open      string // what it prints for level 0
	}{
		{"u585", "stm32u5x.cfg", locked(u585().board(targets.RDPByteLevel0, stm32rdp.FirmwareIdle)),
			[]string{"stm32l4x lock 0", "stm32l4x option_load 0"}, "flash info 0", "RDP level 0 (0xAA)"},
		{"h743", "stm32h7x.cfg", locked(h743().board(targets.RDPByteLevel0, stm32rdp.FirmwareIdle)),
			[]string{"stm32h7x lock 0"}, "stm32h7x option_read 0 0x1c", "<0x5200201c> = 0x6aaf0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Scenario{Name: tt.name, Millivolts: nucleo, RDPChip: tt.chip}
			p := s.NewProbe()
			m := RDPModel(p)
			img := m.Flash(0, 4096)
			out := openocdWith(t, p, tt.cfg, []string{noWorkArea}, append([]string{"init", "reset halt"}, append(tt.lock, "shutdown")...)...)
			defer logOnFailure(t, out)
			if m.MassErases() != 0 || bytes.Count(img, []byte{0xFF}) == len(img) {
				t.Fatalf("the board starts empty or OpenOCD's lock erased it (%d mass erases)", m.MassErases())
			}
			stprobeUnlocks(t, p, tt.cfg, tt.read, tt.open)
		})
	}
}
