package targets

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// fakeMem is a MemReader over a map of (ap, addr) words; missing words fault.
type fakeMem struct {
	words map[[2]uint32]uint32
	reads []string
}

var (
	errFault    = errors.New("fault")
	errNoDBGMCU = errors.New("marker: IDCODE reads as no DBGMCU")
)

func (m *fakeMem) Read32(ctx context.Context, ap uint8, addr uint32) (uint32, error) {
	m.reads = append(m.reads, fmt.Sprintf("AP%d:%08X", ap, addr))
	v, ok := m.words[[2]uint32{uint32(ap), addr}]
	if !ok {
		return 0, errFault
	}
	return v, nil
}

func (m *fakeMem) set(ap uint8, addr, v uint32) { m.words[[2]uint32{uint32(ap), addr}] = v }

// board builds a fake H5 with the given IDCODE visible through AP0 and/or AP1.
func board(idcode uint32, ap0, ap1 bool) *fakeMem {
	m := &fakeMem{words: map[[2]uint32]uint32{}}
	if ap0 {
		m.set(0, H5DBGMCUAP0, idcode)
		m.set(0, H5DBGMCUAP0+DBGMCUSR, 0x00030003)
	}
	if ap1 {
		m.set(1, H5DBGMCUAP1, idcode)
		m.set(1, H5UID, 0x00450021)
		m.set(1, H5UID+4, 0x3133510A)
		m.set(1, H5UID+8, 0x36383530)
		m.set(1, H5FlashSize, 0x0000<<16|0x0200) // 512 KiB, LQFP64
		m.set(1, H5FlashRegs+FlashOPTSRCur, 0xB41D17F8)
		m.set(1, H5FlashRegs+FlashOPTSR2Cur, 0xB4000018)
	}
	return m
}

func TestIdentify(t *testing.T) {
	tests := []struct {
		name       string
		idcode     uint32
		ap0, ap1   bool
		wantLine   string
		wantRev    string
		wantAP     uint8
		wantUID    bool
		wantErr    error
		wantFlashK uint16
	}{
		{"H503 rev Y via AP0", 0x10030474, true, true, "STM32H503", "Y", 0, true, nil, 512},
		{"H533 rev A via AP0", 0x10000478, true, true, "STM32H523/H533", "A", 0, true, nil, 512},
		{"H563 rev X via AP0", 0x10070484, true, true, "STM32H562/H563/H573", "X", 0, true, nil, 512},
		{"H563 rev W", 0x100F0484, true, false, "STM32H562/H563/H573", "W", 0, false, nil, 0},
		{"closed: AP0 only", 0x10000478, true, false, "STM32H523/H533", "A", 0, false, nil, 0},
		{"AP0 broken, AP1 answers", 0x10000484, false, true, "STM32H562/H563/H573", "A", 1, true, nil, 512},
		{"unknown revision", 0x20000478, true, false, "STM32H523/H533", "rev 0x2000", 0, false, nil, 0},
		{"unknown DEV_ID", 0x10000415, true, true, "", "", 0, false, ErrUnknownChip, 0},
		{"nothing answers", 0, false, false, "", "", 0, false, errFault, 0},
		{"IDCODE reads zero (no DBGMCU)", 0, true, false, "", "", 0, false, errNoDBGMCU, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := board(tt.idcode, tt.ap0, tt.ap1)
			c, err := Identify(context.Background(), m, H5DPIDR)
			if tt.wantErr == errNoDBGMCU {
				if err == nil || errors.Is(err, ErrUnknownChip) || !strings.Contains(err.Error(), "no DBGMCU") {
					t.Fatalf("err = %v, want a no-DBGMCU error", err)
				}
				return
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Line.Name != tt.wantLine || c.Revision != tt.wantRev || c.IDCodeAP != tt.wantAP {
				t.Errorf("got %s rev %s via AP%d, want %s rev %s via AP%d", c.Line.Name, c.Revision, c.IDCodeAP, tt.wantLine, tt.wantRev, tt.wantAP)
			}
			if c.HasUID != tt.wantUID || c.HasFlashSize != tt.wantUID || c.HasPackage != tt.wantUID {
				t.Errorf("engineering area read = %v/%v/%v, want %v (err %v)", c.HasUID, c.HasFlashSize, c.HasPackage, tt.wantUID, c.EngineeringAreaErr)
			}
			if tt.wantUID {
				if c.FlashKB != tt.wantFlashK || c.Package != "LQFP64" || c.UIDString() != "363835303133510A00450021" {
					t.Errorf("engineering area: %d KiB, %s, UID %s", c.FlashKB, c.Package, c.UIDString())
				}
			} else if c.EngineeringAreaErr == nil {
				t.Error("EngineeringAreaErr is nil although AP1 is closed")
			}
			if !c.DPIDRKnownForFamily {
				t.Error("DPIDR 0x6BA02477 not recognised")
			}
			if !strings.Contains(c.String(), tt.wantLine) {
				t.Errorf("String() = %q", c.String())
			}
		})
	}
}

func TestIdentifyTriesAP0First(t *testing.T) {
	m := board(0x10000478, true, true)
	if _, err := Identify(context.Background(), m, H5DPIDR); err != nil {
		t.Fatal(err)
	}
	if m.reads[0] != "AP0:E0044000" {
		t.Errorf("first read %s, want AP0:E0044000", m.reads[0])
	}
	for _, r := range m.reads {
		if r == "AP1:44024000" {
			t.Error("read IDCODE through AP1 although AP0 answered")
		}
	}
}

// IdentifyAP reads one IDCODE, through the given port only, and never the
// engineering area.
func TestIdentifyAP(t *testing.T) {
	ctx := context.Background()
	m := board(0x10016484, true, true)
	c, err := IdentifyAP(ctx, m, 1, H5DPIDR)
	if err != nil || c == nil || c.IDCodeAP != 1 || c.Line.DevID != DevIDH56x || c.HasUID {
		t.Fatalf("AP1: %+v, %v", c, err)
	}
	if len(m.reads) != 1 || m.reads[0] != fmt.Sprintf("AP1:%08X", H5DBGMCUAP1) {
		t.Errorf("reads %v", m.reads)
	}
	if c, err := IdentifyAP(ctx, m, 7, H5DPIDR); c != nil || err != nil {
		t.Errorf("AP7 (no DBGMCU behind it): %+v, %v", c, err)
	}
	closed := board(0x10016484, true, false)
	if _, err := IdentifyAP(ctx, closed, 1, H5DPIDR); err == nil {
		t.Error("AP1 closed: no error")
	}
	unknown := board(0x10000999, true, false)
	if _, err := IdentifyAP(ctx, unknown, 0, H5DPIDR); !errors.Is(err, ErrUnknownChip) {
		t.Errorf("unknown DEV_ID: %v", err)
	}
}

func TestIdentifyCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := &fakeMem{words: map[[2]uint32]uint32{}}
	if _, err := Identify(ctx, m, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestReadProductState(t *testing.T) {
	for _, tt := range []struct {
		idcode    uint32
		wantState ProductState
		wantTZ    TZEN
	}{
		{0x10000478, StateProvisioning, TZENEnabled},
		{0x10000474, StateProvisioning, TZENAbsent},
	} {
		m := board(tt.idcode, true, true)
		c, err := Identify(context.Background(), m, H5DPIDR)
		if err != nil {
			t.Fatal(err)
		}
		s, tz, err := ReadProductState(context.Background(), m, c)
		if err != nil || s != tt.wantState || tz != tt.wantTZ {
			t.Errorf("%s: got %v %v %v, want %v %v", c.Line.Name, s, tz, err, tt.wantState, tt.wantTZ)
		}
	}
	m := board(0x10000478, true, false)
	c, err := Identify(context.Background(), m, H5DPIDR)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadProductState(context.Background(), m, c); !errors.Is(err, errFault) || !strings.Contains(err.Error(), "AP1") {
		t.Errorf("closed AP1: err = %v", err)
	}
}

func TestReadAPStatus(t *testing.T) {
	m := board(0x10000478, true, false)
	m.set(0, H5DBGMCUAP0+DBGMCUSR, 0x00010003)
	p, e, err := ReadAPStatus(context.Background(), m)
	if err != nil || p != 3 || e != 1 {
		t.Errorf("got present %#x enabled %#x err %v, want 3, 1", p, e, err)
	}
}

func TestProductStates(t *testing.T) {
	f := STM32H5()
	want := []ProductState{0xED, 0x17, 0x2E, 0xC6, 0x72, 0x5C}
	if len(f.States) != len(want) {
		t.Fatalf("%d states", len(f.States))
	}
	for i, s := range want {
		if f.States[i].State != s || s.Rank() != i || !s.Valid() || f.States[i].Name != s.String() {
			t.Errorf("state %d: table %v name %q, rank %d", i, f.States[i].State, f.States[i].Name, s.Rank())
		}
		if f.States[i].AP0 != ReachYes {
			t.Errorf("%v: AP0 must answer in every state", s)
		}
	}
	for _, s := range []ProductState{0x00, 0xFF, RequestRegression, RequestNSRegression} {
		if s.Valid() {
			t.Errorf("%v valid", s)
		}
	}
	h503, _ := f.Line(0x474)
	h533, _ := f.Line(0x478)
	if f.HasState(h503, StateTZClosed) || !f.HasState(h533, StateTZClosed) || !f.HasState(h503, StateClosed) {
		t.Error("TZ_CLOSED must exist on TrustZone lines only")
	}
	if info, _ := f.State(StateProvisioning); info.UserCodeRuns {
		t.Error("PROVISIONING must not run user code")
	}
	if info, _ := f.State(StateClosed); info.AP1NonSecure != ReachWithDA {
		t.Error("CLOSED AP1 must need DA")
	}
}

func TestTransition(t *testing.T) {
	f := STM32H5()
	h503, _ := f.Line(0x474)
	h533, _ := f.Line(0x478)
	tests := []struct {
		line     Line
		from, to ProductState
		tz       TZEN
		ok       bool
	}{
		{h533, StateOpen, StateProvisioning, TZENDisabled, true},
		{h533, StateProvisioning, StateProvisioning, TZENDisabled, true},
		{h533, StateProvisioning, StateOpen, TZENEnabled, false},
		{h533, StateProvisioning, StateTZClosed, TZENEnabled, true},
		{h533, StateProvisioning, StateTZClosed, TZENDisabled, true}, // chosen: accepted, behaves like CLOSED
		{h503, StateProvisioning, StateTZClosed, TZENAbsent, false},
		{h503, StateProvisioning, StateClosed, TZENAbsent, true},
		{h533, StateClosed, StateLocked, TZENEnabled, true},
		{h533, StateLocked, StateClosed, TZENEnabled, false},
		{h533, StateOpen, RequestRegression, TZENEnabled, false},
		{h533, ProductState(0x42), StateLocked, TZENEnabled, false},
	}
	for _, tt := range tests {
		err := tt.line.Transition(tt.from, tt.to)
		if (err == nil) != tt.ok {
			t.Errorf("%s %v→%v (TZEN %v): err %v, want ok=%v", tt.line.Name, tt.from, tt.to, tt.tz, err, tt.ok)
		}
	}
}

func TestStrings(t *testing.T) {
	if s := ProductState(0x42).String(); s != "INVALID(0x42)" {
		t.Error(s)
	}
	if s := TZEN(0x11).String(); !strings.Contains(s, "0x11") {
		t.Error(s)
	}
	f := STM32H5()
	if f.PackageName(0x04) != "LQFP144" || f.PackageName(0x77) != "package 0x77" {
		t.Error("package names")
	}
	if ProductStateOf(0x0000C600) != StateTZClosed || TZENOf(0xC3000000) != TZENDisabled {
		t.Error("field extraction")
	}
}

// FuzzIdentify feeds arbitrary memory contents to Identify: it must never
// panic, and a chip it returns must carry a DEV_ID from the family tables.
func FuzzIdentify(f *testing.F) {
	seed := func(id0, id1, uid, size uint32) []byte {
		b := make([]byte, 16)
		binary.LittleEndian.PutUint32(b[0:], id0)
		binary.LittleEndian.PutUint32(b[4:], id1)
		binary.LittleEndian.PutUint32(b[8:], uid)
		binary.LittleEndian.PutUint32(b[12:], size)
		return b
	}
	f.Add(seed(0x10000478, 0x10000478, 0x12345678, 0x00000200))
	f.Add(seed(0x10030474, 0, 1, 0x00050080))
	f.Add(seed(0xFFFFFFFF, 0x100F0484, 0, 0x00040800))
	f.Add(seed(0, 0, 0, 0))
	f.Add([]byte{0x78, 0x04})
	f.Fuzz(func(t *testing.T, b []byte) {
		m := &fakeMem{words: map[[2]uint32]uint32{}}
		addrs := []struct {
			ap   uint8
			addr uint32
		}{{0, H5DBGMCUAP0}, {1, H5DBGMCUAP1}, {1, H5UID}, {1, H5FlashSize}}
		for i, a := range addrs {
			if len(b) >= 4*(i+1) {
				m.set(a.ap, a.addr, binary.LittleEndian.Uint32(b[4*i:]))
			}
		}
		c, err := Identify(context.Background(), m, H5DPIDR)
		if err != nil {
			return
		}
		if _, l, ok := LookupDevID(c.DevID); !ok || l.DevID != c.Line.DevID {
			t.Fatalf("chip with unknown DEV_ID 0x%03X", c.DevID)
		}
		_ = c.String()
	})
}

// FuzzDecodeIDCode checks the IDCODE and OPTSR field decoders against their
// definitions for arbitrary words.
func FuzzDecodeIDCode(f *testing.F) {
	f.Add(uint32(0x10000478))
	f.Add(uint32(0x100F0484))
	f.Add(uint32(0xB41D17F8))
	f.Add(uint32(0xFFFFFFFF))
	f.Fuzz(func(t *testing.T, v uint32) {
		dev, rev := DecodeIDCode(v)
		if uint32(dev) != v&0xFFF || uint32(rev) != v>>16 {
			t.Fatalf("DecodeIDCode(%#x) = %#x, %#x", v, dev, rev)
		}
		if got := EncodeIDCode(dev, rev); got != v&^0xF000 {
			t.Fatalf("EncodeIDCode(%#x, %#x) = %#x, want %#x (bits 15:12 reserved)", dev, rev, got, v&^0xF000)
		}
		if uint32(ProductStateOf(v)) != (v>>8)&0xFF || uint32(TZENOf(v)) != v>>24 {
			t.Fatalf("OPTSR fields of %#x", v)
		}
		p, e := DecodeAPStatus(v)
		if uint32(p)|uint32(e)<<16 != v {
			t.Fatalf("DecodeAPStatus(%#x)", v)
		}
		s := ProductStateOf(v)
		if s.Valid() != (s.Rank() >= 0) || s.String() == "" || TZENOf(v).String() == "" {
			t.Fatalf("state %#x", uint8(s))
		}
	})
}

func TestReachString(t *testing.T) {
	for _, c := range []struct {
		r    Reach
		want string
	}{
		{ReachNo, "closed"},
		{ReachYes, "open"},
		{ReachAfterBoot, "open once the application opens debug"},
		{ReachWithDA, "closed; debug authentication can open it"},
		{Reach(-1), "Reach(-1)"},
		{Reach(4), "Reach(4)"},
	} {
		if got := c.r.String(); got != c.want {
			t.Errorf("Reach(%d).String() = %q, want %q", int(c.r), got, c.want)
		}
	}
}

func TestRDPLevelString(t *testing.T) {
	for _, c := range []struct {
		l    RDPLevel
		want string
	}{
		{RDPLevel0, "level 0"}, {RDPLevel05, "level 0.5"}, {RDPLevel1, "level 1"}, {RDPLevel2, "level 2"},
		{RDPLevel(-1), "RDPLevel(-1)"}, {RDPLevel(4), "RDPLevel(4)"},
	} {
		if got := c.l.String(); got != c.want {
			t.Errorf("RDPLevel(%d).String() = %q, want %q", int(c.l), got, c.want)
		}
	}
}
