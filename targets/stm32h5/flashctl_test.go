package stm32h5

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// flashBench drives the FLASH registers and the flash through AP1 as a
// debugger does, letting 10 µs pass per access.
type flashBench struct {
	t *testing.T
	m *Model
}

// field is the bits of an option register a test sets.
type field struct{ v, mask uint32 }

// newFlashBench builds a board whose option registers have the fields set
// over their factory values.
func newFlashBench(t *testing.T, cfg Config, fields map[string]field) *flashBench {
	t.Helper()
	if fields != nil {
		base, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Captured = map[string][2]uint32{}
		for name, f := range fields {
			cur, _, _ := base.OptionRegister(name)
			v := cur&^f.mask | f.v
			cfg.Captured[name] = [2]uint32{v, v}
		}
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &flashBench{t: t, m: m}
}

func (f *flashBench) write(addr, v uint32) {
	f.t.Helper()
	f.m.Advance(10 * time.Microsecond)
	if err := f.m.AP(1).Write(addr, chipsim.Word, v, cswNonSecure); err != nil {
		f.t.Fatalf("write 0x%08X: %v", addr, err)
	}
}

func (f *flashBench) writeByte(addr uint32, v byte) {
	f.t.Helper()
	if err := f.m.AP(1).Write(addr, chipsim.Byte, uint32(v), cswNonSecure); err != nil {
		f.t.Fatalf("write 0x%08X: %v", addr, err)
	}
}

func (f *flashBench) read(addr uint32) uint32 {
	f.t.Helper()
	f.m.Advance(10 * time.Microsecond)
	v, err := f.m.AP(1).Read(addr, chipsim.Word, cswNonSecure)
	if err != nil {
		f.t.Fatalf("read 0x%08X: %v", addr, err)
	}
	return v
}

func (f *flashBench) unlock() {
	f.write(targets.H5FlashRegs+targets.FlashNSKEYR, targets.FlashKey1)
	f.write(targets.H5FlashRegs+targets.FlashNSKEYR, targets.FlashKey2)
}

func (f *flashBench) cr(v uint32) { f.write(targets.H5FlashRegs+targets.FlashNSCR, v) }

func (f *flashBench) sr() uint32 { return f.read(targets.H5FlashRegs + targets.FlashNSSR) }

// wait polls NSSR until BSY drops.
func (f *flashBench) wait() uint32 {
	f.t.Helper()
	for i := 0; i < 100000; i++ {
		if v := f.sr(); v&targets.NSSRBusy == 0 {
			return v
		}
	}
	f.t.Fatal("BSY never dropped")
	return 0
}

func (f *flashBench) quad(addr uint32, words ...uint32) {
	for i, w := range words {
		f.write(addr+uint32(4*i), w)
	}
}

const errFlags = targets.NSSRWRPErr | targets.NSSRPGSErr | targets.NSSRStrobeErr | targets.NSSRIncErr

func TestFlashProgram(t *testing.T) {
	const a = targets.FlashMemBase + 0x2000
	tests := []struct {
		name    string
		run     func(f *flashBench)
		wantErr uint32 // NSSR error flags after
		want    []byte // at a
	}{
		{name: "locked: PGSERR", run: func(f *flashBench) { f.quad(a, 1, 2, 3, 4) }, wantErr: targets.NSSRPGSErr, want: bytes.Repeat([]byte{0xFF}, 16)},
		{name: "no PG: PGSERR", run: func(f *flashBench) { f.unlock(); f.quad(a, 1, 2, 3, 4) }, wantErr: targets.NSSRPGSErr, want: bytes.Repeat([]byte{0xFF}, 16)},
		{name: "quad-word", run: func(f *flashBench) {
			f.unlock()
			f.cr(targets.NSCRPG)
			f.quad(a, 0x03020100, 0x07060504, 0x0B0A0908, 0x0F0E0D0C)
		},
			want: []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}},
		{name: "twice: PGSERR, first kept", run: func(f *flashBench) {
			f.unlock()
			f.cr(targets.NSCRPG)
			f.quad(a, 0, 0, 0, 0)
			f.wait()
			f.quad(a, 1, 1, 1, 1)
		}, wantErr: targets.NSSRPGSErr, want: make([]byte, 16)},
		{name: "FW flushes a partial buffer with 1s", run: func(f *flashBench) {
			f.unlock()
			f.cr(targets.NSCRPG)
			f.quad(a, 0x11111111)
			if f.sr()&targets.NSSRWriteBuf == 0 {
				f.t.Error("WBNE not set with 4 bytes in the buffer")
			}
			f.cr(targets.NSCRPG | targets.NSCRFW)
		}, want: append([]byte{0x11, 0x11, 0x11, 0x11}, bytes.Repeat([]byte{0xFF}, 12)...)},
		{name: "another quad-word: INCERR", run: func(f *flashBench) {
			f.unlock()
			f.cr(targets.NSCRPG)
			f.quad(a, 1)
			f.quad(a+16, 2)
		}, wantErr: targets.NSSRIncErr, want: bytes.Repeat([]byte{0xFF}, 16)},
		{name: "same byte twice: STRBERR", run: func(f *flashBench) {
			f.unlock()
			f.cr(targets.NSCRPG)
			f.writeByte(a, 1)
			f.writeByte(a, 2)
		}, wantErr: targets.NSSRStrobeErr, want: bytes.Repeat([]byte{0xFF}, 16)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFlashBench(t, Config{Line: LineH533}, nil)
			tc.run(f)
			sr := f.wait()
			if sr&errFlags != tc.wantErr {
				t.Errorf("NSSR errors 0x%08X, want 0x%08X", sr&errFlags, tc.wantErr)
			}
			if got := f.m.FlashBytes(a, 16); !bytes.Equal(got, tc.want) {
				t.Errorf("flash % X, want % X", got, tc.want)
			}
			f.write(targets.H5FlashRegs+targets.FlashNSCCR, errFlags|targets.NSSREndOfOp)
			if v := f.sr(); v&(errFlags|targets.NSSREndOfOp) != 0 {
				t.Errorf("NSCCR left NSSR 0x%08X", v)
			}
		})
	}
}

func TestFlashErase(t *testing.T) {
	bank2 := uint32(targets.FlashMemBase + 256<<10) // H533: 512 KiB, two banks
	tests := []struct {
		name     string
		captured map[string]field
		cr       uint32
		wantErr  uint32
		erased   []uint32 // addresses read erased after
		kept     []uint32 // addresses still programmed
	}{
		{name: "sector 1 of bank 1", cr: targets.NSCRSER | 1<<targets.NSCRSNBShift,
			erased: []uint32{targets.FlashMemBase + 0x2000}, kept: []uint32{targets.FlashMemBase, targets.FlashMemBase + 0x4000, bank2 + 0x2000}},
		{name: "sector 1 of bank 2", cr: targets.NSCRSER | targets.NSCRBKSEL | 1<<targets.NSCRSNBShift,
			erased: []uint32{bank2 + 0x2000}, kept: []uint32{targets.FlashMemBase + 0x2000}},
		{name: "bank 2", cr: targets.NSCRBER | targets.NSCRBKSEL,
			erased: []uint32{bank2, bank2 + 0x3FFF0}, kept: []uint32{targets.FlashMemBase}},
		{name: "mass", cr: targets.NSCRMER, erased: []uint32{targets.FlashMemBase, bank2}},
		{name: "SER and BER: PGSERR", cr: targets.NSCRSER | targets.NSCRBER, wantErr: targets.NSSRPGSErr, kept: []uint32{targets.FlashMemBase}},
		{name: "sector past the bank: PGSERR", cr: targets.NSCRSER | 32<<targets.NSCRSNBShift, wantErr: targets.NSSRPGSErr, kept: []uint32{targets.FlashMemBase}},
		{name: "swapped: BKSEL=1 is the bank at the base", captured: map[string]field{"OPTSR": {targets.OPTSRSwapBank, targets.OPTSRSwapBank}},
			cr: targets.NSCRSER | targets.NSCRBKSEL, erased: []uint32{targets.FlashMemBase}, kept: []uint32{bank2}},
		{name: "WRP group 0: sector erase refused", captured: map[string]field{"WRP1R": {0xFE, 0xFF}}, cr: targets.NSCRSER,
			wantErr: targets.NSSRWRPErr, kept: []uint32{targets.FlashMemBase}},
		{name: "WRP group 0: mass erase refused", captured: map[string]field{"WRP1R": {0xFE, 0xFF}}, cr: targets.NSCRMER,
			wantErr: targets.NSSRWRPErr, kept: []uint32{targets.FlashMemBase, bank2}},
		{name: "WRP group 0: sector 4 erased", captured: map[string]field{"WRP1R": {0xFE, 0xFF}}, cr: targets.NSCRSER | 4<<targets.NSCRSNBShift,
			erased: []uint32{targets.FlashMemBase + 0x8000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFlashBench(t, Config{Line: LineH533}, tc.captured)
			for _, a := range []uint32{targets.FlashMemBase, targets.FlashMemBase + 0x2000, targets.FlashMemBase + 0x4000, targets.FlashMemBase + 0x8000, bank2, bank2 + 0x2000, bank2 + 0x3FFF0} {
				if err := f.m.LoadFlash(a, []byte{0xAA}); err != nil {
					t.Fatal(err)
				}
			}
			f.unlock()
			f.cr(tc.cr | targets.NSCRStart)
			if tc.wantErr == 0 && f.sr()&targets.NSSRBusy == 0 {
				t.Error("BSY not set during the erase")
			}
			sr := f.wait()
			if sr&errFlags != tc.wantErr {
				t.Errorf("NSSR errors 0x%08X, want 0x%08X (refusal %v)", sr&errFlags, tc.wantErr, f.m.Status().LastFlashRefusal)
			}
			if f.read(targets.H5FlashRegs+targets.FlashNSCR)&targets.NSCRStart != 0 {
				t.Error("STRT still set")
			}
			for _, a := range tc.erased {
				if v := f.read(a); v != 0xFFFFFFFF {
					t.Errorf("0x%08X = 0x%08X, want erased", a, v)
				}
			}
			for _, a := range tc.kept {
				if v := f.read(a); v&0xFF != 0xAA {
					t.Errorf("0x%08X = 0x%08X, want kept", a, v)
				}
			}
		})
	}
}

// TestFlashProtections: a WRP sector and a secure sector refuse a program
// through the non-secure registers.
func TestFlashProtections(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		captured map[string]field
	}{
		{name: "WRP on H503 sector 0", cfg: Config{Line: LineH503}, captured: map[string]field{"WRP1R": {0xFE, 0xFF}}},
		{name: "secure watermark on H563", cfg: Config{Line: LineH563, TZEN: targets.TZENEnabled}, captured: map[string]field{"SECWM1R": {0x00030000, 0x007F007F}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFlashBench(t, tc.cfg, tc.captured)
			f.unlock()
			f.cr(targets.NSCRPG)
			f.quad(targets.FlashMemBase, 1, 2, 3, 4)
			if sr := f.wait(); sr&targets.NSSRWRPErr == 0 {
				t.Errorf("NSSR 0x%08X: no WRPERR", sr)
			}
			if f.read(targets.FlashMemBase) != 0xFFFFFFFF {
				t.Error("the protected quad-word was programmed")
			}
		})
	}
}

// TestFlashStall: a quad-word written while the previous one programs
// waits for it, and the wait is reported.
func TestFlashStall(t *testing.T) {
	f := newFlashBench(t, Config{Line: LineH533}, nil)
	f.unlock()
	f.cr(targets.NSCRPG)
	f.m.TakeStall()
	for i := uint32(0); i < 8; i++ {
		for j := uint32(0); j < 4; j++ {
			if err := f.m.AP(1).Write(targets.FlashMemBase+16*i+4*j, chipsim.Word, i, cswNonSecure); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got, want := f.m.TakeStall(), 7*quadWordProgramTime; got != want {
		t.Errorf("stall %v, want %v", got, want)
	}
	if f.wait()&errFlags != 0 || f.read(targets.FlashMemBase+16*7) != 7 {
		t.Error("the stalled writes did not program")
	}
}

// TestFlashSecure: with TrustZone enabled, a secure sector is programmed
// through SECKEYR, SECCR and the 0x0C000000 alias; a non-secure one
// through the secure side is refused (WRPERR in SECSR).
func TestFlashSecure(t *testing.T) {
	f := newFlashBench(t, Config{Line: LineH563, TZEN: targets.TZENEnabled}, map[string]field{"SECWM1R": {0x00030000, 0x007F007F}})
	sec := func(off, v uint32) {
		t.Helper()
		f.m.Advance(10 * time.Microsecond)
		if err := f.m.AP(1).Write(targets.H5FlashRegsSec+off, chipsim.Word, v, 0); err != nil {
			t.Fatalf("secure write 0x%03X: %v", off, err)
		}
	}
	secsr := func() uint32 {
		v, err := f.m.AP(1).Read(targets.H5FlashRegsSec+targets.FlashSECSR, chipsim.Word, 0)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	secQuad := func(addr uint32) {
		t.Helper()
		for i := uint32(0); i < 4; i++ {
			if err := f.m.AP(1).Write(addr+4*i, chipsim.Word, 0x11111111*(i+1), 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	sec(targets.FlashSECKEYR, targets.FlashKey1)
	sec(targets.FlashSECKEYR, targets.FlashKey2)
	sec(targets.FlashSECCR, targets.NSCRPG)
	secQuad(targets.FlashMemBaseSecure + 0x10)
	f.m.Advance(time.Millisecond)
	if v := secsr(); v&errFlags != 0 || v&targets.NSSREndOfOp == 0 {
		t.Fatalf("SECSR 0x%08X after a secure program", v)
	}
	if got := f.m.FlashBytes(targets.FlashMemBaseSecure+0x10, 4); !bytes.Equal(got, []byte{0x11, 0x11, 0x11, 0x11}) {
		t.Errorf("secure quad-word % X", got)
	}
	secQuad(targets.FlashMemBaseSecure + 4*0x2000) // sector 4: non-secure
	f.m.Advance(time.Millisecond)
	if v := secsr(); v&targets.NSSRWRPErr == 0 {
		t.Errorf("SECSR 0x%08X: a non-secure sector through the secure side was not refused", v)
	}
	if f.sr()&errFlags != 0 {
		t.Error("the secure side's error reached NSSR")
	}
}

func TestKeyLock(t *testing.T) {
	const k1, k2 = targets.FlashKey1, targets.FlashKey2
	for _, c := range []struct {
		name       string
		writes     []uint32
		wantLocked bool
		wantFault  bool // the last write faults
		wantUnlock bool // the last write completes the sequence
	}{
		{"keys in order", []uint32{k1, k2}, false, false, true},
		{"first key only", []uint32{k1}, true, false, false},
		{"keys swapped", []uint32{k2, k1}, true, true, false},
		{"after a wrong key", []uint32{0, k1}, true, true, false},
		{"the right keys after a wrong one", []uint32{k1, 0, k1, k2}, true, true, false},
		{"a write once unlocked", []uint32{k1, k2, 0}, false, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := newKeyLock("FLASH_NSKEYR", k1, k2)
			var unlocked bool
			var err error
			for _, v := range c.writes {
				unlocked, err = k.write(v)
			}
			if k.locked != c.wantLocked || unlocked != c.wantUnlock || (err != nil) != c.wantFault {
				t.Fatalf("locked %v, unlocked %v, err %v; want locked %v, unlocked %v, fault %v",
					k.locked, unlocked, err, c.wantLocked, c.wantUnlock, c.wantFault)
			}
			if err != nil && (!errors.Is(err, chipsim.ErrBusFault) || !strings.Contains(err.Error(), "FLASH_NSKEYR")) {
				t.Errorf("fault %v: want a bus fault naming FLASH_NSKEYR", err)
			}
			k.reset()
			if u, err := k.write(k1); u || err != nil || !k.locked {
				t.Errorf("after reset, key1: unlocked %v, err %v, locked %v; want locked, no fault", u, err, k.locked)
			}
		})
	}
}
