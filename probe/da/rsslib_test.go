package da

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32h5/dacred"
)

// corruptPort flips one bit of the first SRAM3 data word written.
type corruptPort struct {
	Port
	at   uint32
	done bool
}

func (p *corruptPort) Write32(ctx context.Context, ap uint8, addr, v uint32) error {
	if addr == p.at && !p.done {
		p.done, v = true, v^1
	}
	return p.Port.Write32(ctx, ap, addr, v)
}

// Provisioning the ST way, logged: the debug log shows the entry point
// read, the reset and halt, every SRAM3 word, the run and r0; the chip
// holds the record and the core ran the ROM function once.
func TestProvisionLogsTheCall(t *testing.T) {
	l, sp := openScenario(t, "h533-provisioning")
	m := scenario.Model(sp)
	obApply(t, l, "TZEN=0xC3")
	part, _ := stm32h5.LookupPart("H533")
	fs, err := dacred.MakePassword(part, dacred.MakeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var log []string
	h := NewHost(LinkPort(l), Options{Debug: func(f string, a ...any) { log = append(log, fmt.Sprintf(f, a...)) }})
	pr, err := h.Provision(context.Background(), part, fs.Get(dacred.PasswordOBKFile))
	if err != nil || !pr.ReadBack || m.OBKProvisionCalls() != 1 || m.DAProvisioned() != stm32h5.DAPassword {
		t.Fatalf("%v %+v calls %d DA %v", err, pr, m.OBKProvisionCalls(), m.DAProvisioned())
	}
	all := strings.Join(log, "\n")
	for _, want := range []string{
		"read  0x0BF9FB68 (RSSLIB_PFUNC->NSC.DataProvisioning) = 0x0BF9A4C1",
		"(AIRCR: SYSRESETREQ)", "(DHCSR: C_HALT)",
		"write 0x20034018 (SRAM3 data)", "write 0x20034004 (config.pSource) = 0x20034018",
		"(config.pDestination) = 0x0FFD0100", "(config.Size) = 0x00000060", "(config.DoEncryption) = 0xF5F5A0AA",
		"(FP_COMP0: breakpoint at the return address) = 0x20034001", "(DHCSR: run)",
		"returned r0 = 0xEAEAEAEA", "at PC 0x20034000",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("debug log lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(all)
	}
}

// Bad inputs are clear errors and provision nothing: a destination not
// 16-byte aligned and RAM outside SRAM3 are refused before the chip is
// touched; a word corrupted on its way to SRAM3 (the CRC would not match)
// stops the call before the run; a core that will not halt in
// PROVISIONING says so with the next step.
func TestProvisionBadInputsWriteNothing(t *testing.T) {
	part, _ := stm32h5.LookupPart("H533")
	fs, err := dacred.MakePassword(part, dacred.MakeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	good := fs.Get(dacred.PasswordOBKFile)
	unaligned := bytes.Clone(good)
	binary.LittleEndian.PutUint32(unaligned, stm32h5.OBKDAAddr+8)
	cases := []struct {
		name, scenario string
		file           []byte
		opts           Options
		corrupt        bool
		want           error
		says           string
	}{
		{"unaligned destination", "h533-provisioning", unaligned, Options{}, false, ErrProvision, "0x0FFD0108"},
		{"source outside SRAM3", "h533-provisioning", good, Options{ProvisionRAM: 0x20000000}, false, ErrProvision, "not inside SRAM3"},
		{"corrupted on the way (CRC)", "h533-provisioning", good, Options{}, true, ErrProvision, "was not run"},
		{"will not halt", "h533-provisioning-no-halt", good, Options{}, false, ErrWillNotHalt, "STM32CubeProgrammer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, sp := openScenario(t, tc.scenario)
			m := scenario.Model(sp)
			var p Port = LinkPort(l)
			if tc.corrupt {
				p = &corruptPort{Port: p, at: 0x20034000 + stm32h5.ProvDataOffset}
			}
			_, err := NewHost(p, tc.opts).Provision(context.Background(), part, tc.file)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("err %v, want %v saying %q", err, tc.want, tc.says)
			}
			if m.OBKProvisionCalls() != 0 || m.DAProvisioned() != stm32h5.DANone {
				t.Errorf("%d calls, DA %v", m.OBKProvisionCalls(), m.DAProvisioned())
			}
			if st := m.Core().Status(); st.Halted || st.BreakpointsArmed != 0 {
				t.Errorf("left halted %v, breakpoints armed %d", st.Halted, st.BreakpointsArmed)
			}
		})
	}
}

// The .obk layout stprobe writes is ST's: make-password for the sample
// password "0123456789012345" and ST's default permission word 0x00005077
// gives byte for byte the DA_ConfigWithPassword.obk files STM32CubeH5
// ships (Projects/NUCLEO-H533RE/ROT_Provisioning/DA/Binary: DoEncryption 1;
// Projects/NUCLEO-H563ZI/...: DoEncryption 0), pinned by their SHA-256;
// their 12-byte header is destination 0x0FFD0100, size 0x60, the flag.
func TestOBKLayoutIsST(t *testing.T) {
	for _, c := range []struct {
		part, sum string
		flag      uint32
	}{
		{"H533", "8e2c4952b9e1d5618a0e42349065be1127a006cf970dd18c993282d03146f769", 1},
		{"H563", "f4d40b1b669a635e15719eaf0f6fd9f7b5494e3616a6337d2c350eca7f2d4547", 0},
	} {
		p, _ := stm32h5.LookupPart(c.part)
		fs, err := dacred.MakePassword(p, dacred.MakeOptions{Password: []byte("0123456789012345")})
		if err != nil {
			t.Fatal(err)
		}
		b := fs.Get(dacred.PasswordOBKFile)
		hdr := []uint32{binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:]), binary.LittleEndian.Uint32(b[8:])}
		if len(b) != 108 || hdr[0] != 0x0FFD0100 || hdr[1] != 0x60 || hdr[2] != c.flag {
			t.Errorf("%s: %d bytes, header %#x", c.part, len(b), hdr)
		}
		if got := fmt.Sprintf("%x", sha256.Sum256(b)); got != c.sum {
			t.Errorf("%s: SHA-256 %s, ST's file %s", c.part, got, c.sum)
		}
		if f, err := dacred.DecodeOBK(b); err != nil || f.Dest != 0x0FFD0100 || f.Size != 96 || f.Encrypt != c.flag {
			t.Errorf("%s: DecodeOBK %+v %v", c.part, f, err)
		}
	}
}
