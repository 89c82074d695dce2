package targets

import (
	"context"
	"testing"
)

// TestIssueDevIDs: every DEV_ID of the issue's list is in its family, and
// identifies through the DBGMCU address that family uses, and through no
// other.
func TestIssueDevIDs(t *testing.T) {
	want := map[string]struct {
		dbgmcu uint32
		ids    []uint16
	}{
		"STM32F1": {0xE0042000, []uint16{0x410, 0x412, 0x414, 0x418, 0x420, 0x428, 0x430}},
		"STM32F4": {0xE0042000, []uint16{0x413, 0x419, 0x421, 0x423, 0x431, 0x433, 0x434, 0x441, 0x458, 0x463}},
		"STM32G0": {0x40015800, []uint16{0x460, 0x466, 0x467, 0x456}},
		"STM32G4": {0xE0042000, []uint16{0x468, 0x469, 0x479}},
		"STM32L4": {0xE0042000, []uint16{0x415, 0x435, 0x462, 0x464, 0x461, 0x470, 0x471}},
		"STM32U5": {0xE0044000, []uint16{0x482, 0x481, 0x455, 0x476}},
		"STM32H7": {0x5C001000, []uint16{0x450, 0x480, 0x483}},
	}
	ctx := context.Background()
	for fam, w := range want {
		for _, id := range w.ids {
			f, l, ok := LookupDevID(id)
			if !ok || f.Name != fam || l.DevID != id || l.MaxFlashKB == 0 || l.RefManual == "" {
				t.Errorf("DEV_ID 0x%03X: %s %+v (found %v), want %s", id, f.Name, l, ok, fam)
				continue
			}
			if f.RDP == nil || f.FlashSizeAddrOf(l) == 0 || f.UIDAddr == 0 {
				t.Errorf("%s: RDP scheme or engineering area missing", fam)
			}
			for _, addr := range []uint32{0xE0042000, 0x40015800, 0xE0044000, 0x5C001000} {
				m := &fakeMem{words: map[[2]uint32]uint32{{0, addr}: 0x10000000 | uint32(id)}}
				c, err := IdentifyAP(ctx, m, 0, 0)
				if got := err == nil && c != nil && c.DevID == id; got != (addr == w.dbgmcu) {
					t.Errorf("DEV_ID 0x%03X at 0x%08X: identified %v (%v)", id, addr, got, err)
				}
			}
		}
	}
	seen := map[uint16]string{}
	for _, f := range Families() {
		for _, l := range f.Lines {
			if other, dup := seen[l.DevID]; dup {
				t.Errorf("DEV_ID 0x%03X in %s and %s", l.DevID, other, f.Name)
			}
			seen[l.DevID] = f.Name
		}
	}
}

func TestRDPLevels(t *testing.T) {
	tests := []struct {
		family Family
		reg    uint32
		level  RDPLevel
		raw    uint8
	}{
		{STM32F1(), 0x03FFFFFC, RDPLevel0, 0xA5},
		{STM32F1(), 0x03FFFFFE, RDPLevel1, 0x00},
		{STM32F4(), 0x0FFFAAED, RDPLevel0, 0xAA},
		{STM32F4(), 0x0FFF00ED, RDPLevel1, 0x00},
		{STM32F4(), 0x0FFFCCED, RDPLevel2, 0xCC},
		{STM32F4(), 0x0FFF55ED, RDPLevel1, 0x55}, // no level 0.5 without TrustZone
		{STM32G0(), 0xFFFFFEAA, RDPLevel0, 0xAA},
		{STM32G0(), 0xFFFFFEBB, RDPLevel1, 0xBB},
		{STM32L4(), 0xFFEFF8CC, RDPLevel2, 0xCC},
		{STM32U5(), 0x9FEFF855, RDPLevel05, 0x55},
		{STM32U5(), 0x1FEFF855, RDPLevel1, 0x55}, // 0x55 without TZEN is level 1
		{STM32U5(), 0x1FEFF8CC, RDPLevel2, 0xCC},
		{STM32H7(), 0x1FFFAAF0, RDPLevel0, 0xAA},
		{STM32H7(), 0x1FFF00F0, RDPLevel1, 0x00},
	}
	for _, tt := range tests {
		lvl, raw := tt.family.RDP.Level(tt.reg)
		if lvl != tt.level || raw != tt.raw {
			t.Errorf("%s %s=0x%08X: %v 0x%02X, want %v 0x%02X", tt.family.Name, tt.family.RDP.RegName, tt.reg, lvl, raw, tt.level, tt.raw)
		}
	}
}

func TestReadRDPAndProductState(t *testing.T) {
	ctx := context.Background()
	f := STM32L4()
	l, _ := f.Line(DevIDL47x)
	c := &Chip{Family: f, Line: l}
	m := &fakeMem{words: map[[2]uint32]uint32{{0, 0x40022020}: 0xFFEFF8BB}}
	p, err := ReadRDP(ctx, m, c)
	if err != nil || p.Level != RDPLevel1 || p.String() != "RDP level 1 (0xBB)" {
		t.Errorf("ReadRDP: %v %v", p, err)
	}
	if _, _, err := ReadProductState(ctx, m, c); err == nil {
		t.Error("ReadProductState on an STM32L4 succeeded")
	}
	if _, err := ReadRDP(ctx, m, &Chip{Family: STM32H5()}); err == nil {
		t.Error("ReadRDP on an STM32H5 succeeded")
	}
}

// FuzzRDPLevel: every register value decodes to one of the family's
// levels, and the RDP byte round-trips through LevelOfByte.
func FuzzRDPLevel(f *testing.F) {
	for _, v := range []uint32{0, 0xFFFFFFFF, 0x03FFFFFC, 0x0FFFAAED, 0xFFEFF8CC, 0x1FEFF855, 0x9FEFF855, 0x1FFF00F0} {
		f.Add(v)
	}
	fams := []Family{STM32F1(), STM32F4(), STM32G0(), STM32G4(), STM32L4(), STM32U5(), STM32H7()}
	f.Fuzz(func(t *testing.T, reg uint32) {
		for _, fam := range fams {
			s := fam.RDP
			lvl, raw := s.Level(reg)
			switch {
			case lvl == RDPLevel2 && !s.Level2, lvl == RDPLevel05 && !s.Level05:
				t.Fatalf("%s: level %v it does not have", fam.Name, lvl)
			case lvl < RDPLevel0 || lvl > RDPLevel2:
				t.Fatalf("%s: level %v", fam.Name, lvl)
			}
			// 0x55 without TZEN is the one byte whose level the rest of the
			// register decides (U5: level 1, not 0.5).
			tzOff := s.Level05 && raw == RDPByteLevel05 && reg&U5TZEN == 0
			if !s.Bit && !tzOff && LevelOfByte(raw, s.Level05, s.Level2) != lvl {
				t.Fatalf("%s: 0x%02X decodes two ways", fam.Name, raw)
			}
		}
	})
}
