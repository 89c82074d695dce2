package stm32rdp

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
	"github.com/stprobe/stprobe/targets/flashreg"
)

const h7 = targets.H7FlashRegs

// h7Unlock unlocks bank (0 or 1) and sets CR to cr.
func (b bus) h7Unlock(bank int, cr uint32) {
	b.t.Helper()
	regs := h7 + uint32(bank)*flashreg.H7Bank2Regs
	b.w32(regs+flashreg.H7KEYR, targets.FlashKey1)
	b.w32(regs+flashreg.H7KEYR, targets.FlashKey2)
	if b.r32(regs+flashreg.H7CR)&flashreg.H7CRLock != 0 {
		b.t.Fatalf("bank %d still locked after KEY1, KEY2", bank+1)
	}
	b.w32(regs+flashreg.H7CR, cr)
}

// flashWord writes one 32-byte flash word at addr, a word at a time.
func (b bus) flashWord(addr uint32, data []byte) {
	b.t.Helper()
	for i := 0; i < len(data); i += 4 {
		v := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		b.w32(addr+uint32(i), v)
	}
}

func TestH7Controller(t *testing.T) {
	word := bytes.Repeat([]byte{0xA5, 0x5A, 0x00, 0xC3}, 8)
	tests := []struct {
		name string
		run  func(b bus)
		// want is what the first flash word holds afterwards, sr what bank
		// 1's SR reads (the flags tested).
		want []byte
		sr   uint32
	}{
		{"locked: nothing programmed", func(b bus) { b.flashWord(flash, word) },
			bytes.Repeat([]byte{0x12, 0x34}, 16), flashreg.H7SRPGSErr},
		{"PG clear: sequence error", func(b bus) { b.h7Unlock(0, 0); b.flashWord(flash, word) },
			bytes.Repeat([]byte{0x12, 0x34}, 16), flashreg.H7SRPGSErr},
		{"sector erase then program", func(b bus) {
			b.h7Unlock(0, flashreg.H7CRSER)
			b.w32(h7+flashreg.H7CR, flashreg.H7CRSER|flashreg.H7CRStart)
			b.w32(h7+flashreg.H7CR, flashreg.H7CRPG)
			b.flashWord(flash, word)
		}, word, flashreg.H7SREOP},
		{"half a flash word: still in the buffer", func(b bus) {
			b.h7Unlock(0, flashreg.H7CRSER|flashreg.H7CRStart)
			b.w32(h7+flashreg.H7CR, flashreg.H7CRPG)
			b.flashWord(flash, word[:16])
		}, bytes.Repeat([]byte{0xFF}, 32), flashreg.H7SREOP | flashreg.H7SRWBNE},
		{"FW forces a partial flash word", func(b bus) {
			b.h7Unlock(0, flashreg.H7CRSER|flashreg.H7CRStart)
			b.w32(h7+flashreg.H7CR, flashreg.H7CRPG)
			b.flashWord(flash, word[:16])
			b.w32(h7+flashreg.H7CR, flashreg.H7CRPG|flashreg.H7CRFW)
		}, append(append([]byte(nil), word[:16]...), bytes.Repeat([]byte{0xFF}, 16)...), flashreg.H7SREOP},
		{"another flash word before the buffer is full", func(b bus) {
			b.h7Unlock(0, flashreg.H7CRSER|flashreg.H7CRStart)
			b.w32(h7+flashreg.H7CR, flashreg.H7CRPG)
			b.flashWord(flash, word[:8])
			b.flashWord(flash+flashreg.H7FlashWord, word[:4])
		}, bytes.Repeat([]byte{0xFF}, 32), flashreg.H7SREOP | flashreg.H7SRIncErr},
		{"bank 2's erase leaves bank 1", func(b bus) {
			b.h7Unlock(1, flashreg.H7CRBER|flashreg.H7CRStart)
		}, bytes.Repeat([]byte{0x12, 0x34}, 16), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := chip(t, targets.STM32H7(), targets.DevIDH74x, targets.RDPByteLevel0)
			b := bus{t, m}
			tc.run(b)
			if got := m.Flash(0, flashreg.H7FlashWord); !bytes.Equal(got, tc.want) {
				t.Errorf("flash word 0: % X, want % X", got, tc.want)
			}
			if sr := b.r32(h7 + flashreg.H7SR); sr&(flashreg.H7SREOP|flashreg.H7SRWBNE|flashreg.H7SRPGSErr|flashreg.H7SRIncErr) != tc.sr {
				t.Errorf("SR1 0x%08X, want flags 0x%08X", sr, tc.sr)
			}
		})
	}
}

func TestH7ControllerBanksAndReset(t *testing.T) {
	m := chip(t, targets.STM32H7(), targets.DevIDH74x, targets.RDPByteLevel0)
	b := bus{t, m}
	b.h7Unlock(1, flashreg.H7CRPG)
	b.flashWord(flash+flashreg.H7BankSize, bytes.Repeat([]byte{0x0F}, 32))
	if got := m.Flash(flashreg.H7BankSize, 4); !bytes.Equal(got, []byte{0x0F, 0x0F, 0x0F, 0x0F}) {
		t.Fatalf("bank 2 programmed % X", got)
	}
	if b.r32(h7+flashreg.H7CR)&flashreg.H7CRLock == 0 {
		t.Error("unlocking bank 2 unlocked bank 1")
	}
	b.w32(h7+flashreg.H7Bank2Regs+flashreg.H7CCR, flashreg.H7SREOP)
	if sr := b.r32(h7 + flashreg.H7Bank2Regs + flashreg.H7SR); sr&flashreg.H7SREOP != 0 {
		t.Errorf("CCR2 did not clear EOP: SR2 0x%08X", sr)
	}
	// KEY2 first: locked until the next reset.
	if err := b.w(h7+flashreg.H7KEYR, chipsim.Word, targets.FlashKey2); !errors.Is(err, chipsim.ErrBusFault) {
		t.Fatalf("wrong key sequence: %v, want a bus fault", err)
	}
	if err := b.w(h7+flashreg.H7KEYR, chipsim.Word, targets.FlashKey1); !errors.Is(err, chipsim.ErrBusFault) {
		t.Fatalf("KEY1 after a wrong sequence: %v, want a bus fault", err)
	}
	m.sysReset()
	if cr := b.r32(h7 + flashreg.H7Bank2Regs + flashreg.H7CR); cr != flashreg.H7CRReset {
		t.Errorf("CR2 after reset 0x%08X, want 0x%08X", cr, flashreg.H7CRReset)
	}
	b.h7Unlock(0, flashreg.H7CRPG) // the reset lifted the key lock
}

func TestH7ControllerRDP1(t *testing.T) {
	m := chip(t, targets.STM32H7(), targets.DevIDH74x, targets.RDPByteLevel1)
	b := bus{t, m}
	b.h7Unlock(0, flashreg.H7CRSER|flashreg.H7CRStart)
	b.w32(h7+flashreg.H7CR, flashreg.H7CRPG)
	b.flashWord(flash, bytes.Repeat([]byte{0}, 32))
	if got := m.Flash(0, 4); !bytes.Equal(got, []byte{0x12, 0x34, 0x12, 0x34}) {
		t.Errorf("level 1 flash changed: % X", got)
	}
	if sr := b.r32(h7 + flashreg.H7SR); sr&flashreg.H7SRRDPErr == 0 {
		t.Errorf("SR1 0x%08X lacks RDPERR", sr)
	}
}
