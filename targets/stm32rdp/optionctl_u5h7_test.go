package stm32rdp

import (
	"bytes"
	"testing"

	"github.com/stprobe/stprobe/targets"
)

const u5 = targets.U5FlashRegs

// u5Unlock clears NSCR.LOCK and OPTLOCK with the two key pairs.
func (b bus) u5Unlock() {
	b.t.Helper()
	b.w32(u5+u5NSKEYR, targets.FlashKey1)
	b.w32(u5+u5NSKEYR, targets.FlashKey2)
	b.w32(u5+u5OPTKEYR, targets.OptKey1)
	b.w32(u5+u5OPTKEYR, targets.OptKey2)
	if cr := b.r32(u5 + u5NSCR); cr&(u5CRLock|u5CROptLock) != 0 {
		b.t.Fatalf("NSCR 0x%08X still locked after the keys", cr)
	}
}

func u5Chip(t *testing.T, rdp uint8, tzen bool) *Model {
	t.Helper()
	m, err := New(Config{Family: targets.STM32U5(), DevID: targets.DevIDU57x, RDP: rdp, TZEN: tzen, SecurePages: 2,
		NRSTWired: true, Image: bytes.Repeat([]byte{0x12, 0x34}, 16<<10)})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestU5OptionProgramming(t *testing.T) {
	const page = targets.U5PageSize
	tests := []struct {
		name string
		rdp  uint8
		tzen bool
		// optr gives the new FLASH_OPTR from the old one.
		optr func(uint32) uint32
		// level is the level after OBL_LAUNCH; refused whether OPTWERR
		// is set and nothing changed; erased the pages erased (from, to).
		level   targets.RDPLevel
		refused bool
		erased  [2]uint32
	}{
		{"level 1 to 0: mass erase", targets.RDPByteLevel1, false, func(v uint32) uint32 { return v&^0xFF | 0xAA },
			targets.RDPLevel0, false, [2]uint32{0, 4}},
		{"level 0 to 1: nothing erased", targets.RDPByteLevel0, false, func(v uint32) uint32 { return v&^0xFF | 0xBB },
			targets.RDPLevel1, false, [2]uint32{}},
		{"level 0.5 to 0 with TrustZone off: mass erase", targets.RDPByteLevel05, true, func(v uint32) uint32 { return v&^0xFF&^targets.U5TZEN | 0xAA },
			targets.RDPLevel0, false, [2]uint32{0, 4}},
		{"level 1 to 0.5: non-secure pages erased", targets.RDPByteLevel1, true, func(v uint32) uint32 { return v&^0xFF | 0x55 },
			targets.RDPLevel05, false, [2]uint32{2, 4}},
		{"TrustZone off without a regression: OPTWERR", targets.RDPByteLevel0, true, func(v uint32) uint32 { return v &^ targets.U5TZEN },
			targets.RDPLevel0, true, [2]uint32{}},
		{"TrustZone on at level 1: OPTWERR", targets.RDPByteLevel1, false, func(v uint32) uint32 { return v | targets.U5TZEN },
			targets.RDPLevel1, true, [2]uint32{}},
		{"level 2: frozen, OPTWERR", targets.RDPByteLevel2, false, func(v uint32) uint32 { return v&^0xFF | 0xAA },
			targets.RDPLevel2, true, [2]uint32{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := u5Chip(t, tc.rdp, tc.tzen)
			b := bus{t, m}
			before := b.r32(u5 + u5OPTR)
			b.u5Unlock()
			b.w32(u5+u5OPTR, tc.optr(before))
			b.w32(u5+u5NSCR, u5CROptStart)
			sr := b.r32(u5 + u5NSSR)
			if got := sr&u5SROPTWERR != 0; got != tc.refused {
				t.Errorf("NSSR 0x%08X: OPTWERR %v, want %v", sr, got, tc.refused)
			}
			if m.Level() != u5LevelOf(before) {
				t.Errorf("level %v before OBL_LAUNCH, want %v (the option bytes load at OBL_LAUNCH)", m.Level(), u5LevelOf(before))
			}
			epoch := m.LinkEpoch()
			b.w32(u5+u5NSCR, u5CROBLLaunch)
			if m.LinkEpoch() != epoch+1 {
				t.Error("OBL_LAUNCH did not reset the chip")
			}
			if m.Level() != tc.level {
				t.Errorf("level %v after OBL_LAUNCH, want %v", m.Level(), tc.level)
			}
			m.mu.Lock()
			optr := m.ob.regs[u5OPTR]
			m.mu.Unlock()
			if tc.refused && optr != before {
				t.Errorf("OPTR 0x%08X after a refused change, want 0x%08X", optr, before)
			}
			if !tc.refused && optr != tc.optr(before) {
				t.Errorf("OPTR 0x%08X after OBL_LAUNCH, want 0x%08X", optr, tc.optr(before))
			}
			for p := uint32(0); p < 4; p++ {
				erased := bytes.Equal(m.Flash(p*page, page), bytes.Repeat([]byte{0xFF}, page))
				if want := p >= tc.erased[0] && p < tc.erased[1]; erased != want {
					t.Errorf("page %d erased %v, want %v", p, erased, want)
				}
			}
		})
	}
}

func TestU5OptionLocks(t *testing.T) {
	m := u5Chip(t, targets.RDPByteLevel1, false)
	b := bus{t, m}
	before := b.r32(u5 + u5OPTR)
	b.w32(u5+u5OPTR, before&^0xFF|0xAA) // locked: ignored
	b.w32(u5+u5NSCR, u5CROptStart)      // locked: ignored
	if got := b.r32(u5 + u5OPTR); got != before || m.MassErases() != 0 {
		t.Fatalf("locked interface took OPTR 0x%08X (%d mass erases)", got, m.MassErases())
	}
	if err := b.w(u5+u5NSKEYR, 4, 0x12345678); err == nil {
		t.Error("a wrong key did not fault")
	}
	_ = b.w(u5+u5NSKEYR, 4, targets.FlashKey1) // faults: locked until reset
	_ = b.w(u5+u5NSKEYR, 4, targets.FlashKey2)
	if b.r32(u5+u5NSCR)&u5CRLock == 0 {
		t.Error("the keys after a wrong one unlocked NSCR: it stays locked until reset")
	}
	// A system reset forgets the wrong key and does not load the option
	// bytes.
	b.w32(0xE000ED0C, 0x05FA0004)
	b.u5Unlock()
	b.w32(u5+u5OPTR, before&^0xFF|0xAA)
	b.w32(u5+u5NSCR, u5CROptStart)
	b.w32(0xE000ED0C, 0x05FA0004)
	if m.Level() != targets.RDPLevel1 {
		t.Errorf("level %v after OPTSTRT and a system reset: only OBL_LAUNCH or power loads the option bytes", m.Level())
	}
	m.PowerCycle()
	if m.Level() != targets.RDPLevel0 {
		t.Errorf("level %v after the power cycle, want 0", m.Level())
	}
}

func TestH7OptionProgramming(t *testing.T) {
	const optsrPrg = h7OPTSR + h7PrgOffset
	tests := []struct {
		name    string
		rdp     uint8
		newRDP  uint32
		level   targets.RDPLevel
		refused bool
		erases  int
	}{
		{"level 1 to 0: both banks erased", targets.RDPByteLevel1, 0xAA, targets.RDPLevel0, false, 1},
		{"level 0 to 1", targets.RDPByteLevel0, 0xBB, targets.RDPLevel1, false, 0},
		{"level 2: OPTCHANGEERR", targets.RDPByteLevel2, 0xAA, targets.RDPLevel2, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := chip(t, targets.STM32H7(), targets.DevIDH74x, tc.rdp)
			b := bus{t, m}
			cur := b.r32(h7 + h7OPTSR)
			if b.r32(h7+optsrPrg) != cur {
				t.Fatalf("OPTSR_PRG 0x%08X after reset, want OPTSR_CUR 0x%08X", b.r32(h7+optsrPrg), cur)
			}
			b.w32(h7+optsrPrg, cur&^0xFF00|tc.newRDP<<8) // locked: ignored
			if b.r32(h7+optsrPrg) != cur {
				t.Fatal("OPTSR_PRG took a value while OPTLOCK was set")
			}
			b.w32(h7+h7OPTKEYR, targets.OptKey1)
			b.w32(h7+h7OPTKEYR, targets.OptKey2)
			if b.r32(h7+h7OPTCR)&h7OPTLock != 0 {
				t.Fatal("OPTLOCK still set after the option keys")
			}
			b.w32(h7+optsrPrg, cur&^0xFF00|tc.newRDP<<8)
			b.w32(h7+h7OPTCCR, h7OPTChangeErr)
			b.w32(h7+h7OPTCR, h7OPTStart)
			after := b.r32(h7 + h7OPTSR)
			if got := after&h7OPTChangeErr != 0; got != tc.refused {
				t.Errorf("OPTSR_CUR 0x%08X: OPTCHANGEERR %v, want %v", after, got, tc.refused)
			}
			if after&1 != 0 {
				t.Error("OPT_BUSY still set")
			}
			b.w32(h7+h7OPTCR, h7OPTLock)
			if m.Level() != tc.level || m.MassErases() != tc.erases {
				t.Errorf("level %v, %d mass erases; want %v, %d", m.Level(), m.MassErases(), tc.level, tc.erases)
			}
			if !tc.refused && after>>8&0xFF != tc.newRDP {
				t.Errorf("OPTSR_CUR 0x%08X does not hold RDP 0x%02X", after, tc.newRDP)
			}
			if tc.erases == 1 && !bytes.Equal(m.Flash(0, 64), bytes.Repeat([]byte{0xFF}, 64)) {
				t.Error("flash not erased by the regression")
			}
			if b.r32(h7+h7OPTCR)&h7OPTLock == 0 {
				t.Error("OPTLOCK written 1 did not lock")
			}
			// A reset takes OPTSR_PRG back to the option bytes in force.
			b.w32(0xE000ED0C, 0x05FA0004)
			for _, c := range h7OptionPairs {
				if prg, cur := b.r32(h7+c+h7PrgOffset), b.r32(h7+c); prg != cur&^h7OPTChangeErr {
					t.Errorf("after a reset the _PRG twin of 0x%03X reads 0x%08X, _CUR 0x%08X", c, prg, cur)
				}
			}
		})
	}
}

// A U5 whose OEM1 key is provisioned shows OEM1LOCK and refuses a
// regression to level 0 without the key; closing is accepted.
func TestU5OEM1Locked(t *testing.T) {
	for _, tc := range []struct {
		rdp     uint8
		newRDP  uint32
		refused bool
	}{
		{targets.RDPByteLevel1, 0xAA, true},
		{targets.RDPByteLevel0, 0xBB, false},
	} {
		m, err := New(Config{Family: targets.STM32U5(), DevID: targets.DevIDU57x, RDP: tc.rdp, OEM1Locked: true, NRSTWired: true, Image: []byte{1, 2, 3, 4}})
		if err != nil {
			t.Fatal(err)
		}
		b := bus{t, m}
		if b.r32(u5+u5NSSR)&u5SROEM1Lock == 0 {
			t.Fatal("NSSR does not show OEM1LOCK")
		}
		before := b.r32(u5 + u5OPTR)
		b.u5Unlock()
		b.w32(u5+u5OPTR, before&^0xFF|tc.newRDP)
		b.w32(u5+u5NSCR, u5CROptStart)
		if got := b.r32(u5+u5NSSR)&u5SROPTWERR != 0; got != tc.refused || (m.MassErases() != 0) {
			t.Errorf("RDP 0x%02X → 0x%02X: OPTWERR %v, want %v; %d mass erases", tc.rdp, tc.newRDP, got, tc.refused, m.MassErases())
		}
	}
}
