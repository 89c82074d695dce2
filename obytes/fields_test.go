package obytes

import (
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

var allDevIDs = []uint16{DevH503, DevH52x, DevH56x}

func layouts(t testing.TB) []*Layout {
	var out []*Layout
	for _, d := range allDevIDs {
		l, err := ForDevID(d)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

func TestForDevIDUnknown(t *testing.T) {
	if _, err := ForDevID(0x495); err == nil || !strings.Contains(err.Error(), "0x495") { // an STM32WB55: in no family table
		t.Errorf("unknown DEV_ID: %v", err)
	}
}

// The names STM32CubeProgrammer uses (security reference §2.9), per line.
func TestFieldNamesPerLine(t *testing.T) {
	common := []string{"PRODUCT_STATE", "BOR_LEV", "BORH_EN", "IWDG_SW", "WWDG_SW", "NRST_STOP", "NRST_STDBY",
		"IO_VDD_HSLV", "IO_VDDIO2_HSLV", "IWDG_STOP", "IWDG_STDBY", "SWAP_BANK", "SRAM2_RST", "BKPRAM_ECC", "SRAM2_ECC",
		"NSBOOTADD", "NSBOOT_LOCK", "NSPRIV", "LOCKBL", "WRPSGn1", "WRPSGn2", "HDP1_STRT", "HDP1_END", "HDP2_STRT", "HDP2_END"}
	tz := []string{"TZEN", "BOOT_UBE", "SECBOOTADD", "SECBOOT_LOCK", "SPRIV", "SRAM1_3_RST", "USBPD_DIS",
		"SECWM1_STRT", "SECWM1_END", "SECWM2_STRT", "SECWM2_END", "EDATA1_EN", "EDATA1_STRT", "EDATA2_EN", "EDATA2_STRT"}
	cases := []struct {
		dev     uint16
		has     []string
		hasNot  []string
		widths  map[string]uint
		regs    []string
		notRegs []string
	}{
		{DevH503, append(common, "SRAM1_RST", "SRAM1_ECC"), append(tz, "SRAM3_ECC"),
			map[string]uint{"WRPSGn1": 8, "HDP1_STRT": 3, "HDP2_END": 3},
			[]string{"OPTSR", "OPTSR2", "NSBOOTR", "PRIVCFGR", "OTPBLR", "WRP1R", "WRP2R", "HDP1R", "HDP2R"},
			[]string{"SECBOOTR", "SECWM1R", "SECWM2R", "EDATA1R", "EDATA2R"}},
		{DevH52x, append(common, tz...), []string{"SRAM1_RST", "SRAM1_ECC", "SRAM3_ECC"},
			map[string]uint{"WRPSGn1": 8, "HDP1_STRT": 5, "SECWM1_END": 5},
			[]string{"SECBOOTR", "SECWM1R", "SECWM2R", "EDATA1R", "EDATA2R"}, nil},
		{DevH56x, append(append(common, tz...), "SRAM3_ECC"), []string{"SRAM1_RST", "SRAM1_ECC"},
			map[string]uint{"WRPSGn1": 32, "WRPSGn2": 32, "HDP1_STRT": 7, "SECWM2_STRT": 7},
			[]string{"SECBOOTR", "SECWM1R", "SECWM2R", "EDATA1R", "EDATA2R"}, nil},
	}
	for _, c := range cases {
		l, _ := ForDevID(c.dev)
		for _, n := range c.has {
			if _, ok := l.Field(n); !ok {
				t.Errorf("%s lacks %s", l.LineName, n)
			}
		}
		for _, n := range c.hasNot {
			if _, ok := l.Field(n); ok {
				t.Errorf("%s has %s", l.LineName, n)
			}
		}
		for n, w := range c.widths {
			if f, _ := l.Field(n); f == nil || f.Width != w {
				t.Errorf("%s %s width %v, want %d", l.LineName, n, f, w)
			}
		}
		for _, r := range c.regs {
			if _, ok := l.Register(r); !ok {
				t.Errorf("%s lacks register %s", l.LineName, r)
			}
		}
		for _, r := range c.notRegs {
			if _, ok := l.Register(r); ok {
				t.Errorf("%s has register %s", l.LineName, r)
			}
		}
	}
}

// Fields of one register never overlap, names are unique, and every field
// belongs to a register of its line.
func TestLayoutConsistent(t *testing.T) {
	for _, l := range layouts(t) {
		names := map[string]bool{}
		used := map[string]uint32{}
		offs := map[uint32]string{}
		for _, r := range l.Registers {
			for _, o := range []uint32{r.Cur, r.Prg} {
				if prev, dup := offs[o]; dup && prev != r.Name {
					t.Errorf("%s: offset 0x%X used by %s and %s", l.LineName, o, prev, r.Name)
				}
				offs[o] = r.Name
			}
		}
		for i := range l.Fields {
			f := &l.Fields[i]
			if names[f.Name] {
				t.Errorf("%s: field %s twice", l.LineName, f.Name)
			}
			names[f.Name] = true
			if _, ok := l.Register(f.Register); !ok {
				t.Errorf("%s: %s in unknown register %s", l.LineName, f.Name, f.Register)
			}
			if f.Shift+f.Width > 32 || f.Width == 0 {
				t.Errorf("%s: %s bits %s", l.LineName, f.Name, f.Bits())
			}
			if used[f.Register]&f.Mask() != 0 {
				t.Errorf("%s: %s overlaps another field of %s", l.LineName, f.Name, f.Register)
			}
			used[f.Register] |= f.Mask()
			if f.Meaning == "" {
				t.Errorf("%s: %s has no meaning", l.LineName, f.Name)
			}
			for _, v := range f.Values {
				if v.Raw > f.Max() || v.Name == "" || v.Meaning == "" {
					t.Errorf("%s: %s value %+v", l.LineName, f.Name, v)
				}
			}
		}
	}
}

// sampleValues lists values worth trying for a field: every enum value a
// plan may write, or 0, 1, max and a middle value.
func sampleValues(l *Layout, f *Field) []uint32 {
	if f.Kind == KindEnum {
		var out []uint32
		for _, v := range f.Values {
			if (v.Lines == nil || v.Lines.Has(l.DevID)) && v.Refused == "" {
				out = append(out, v.Raw)
			}
		}
		return out
	}
	return []uint32{0, 1, f.Max(), f.Max() / 2}
}

// Every value of every field of every line: parse(text) → encode → decode
// gives the value back, its name and meaning, and leaves other bits alone.
func TestRoundTripEveryField(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, l := range layouts(t) {
		for i := range l.Fields {
			f := &l.Fields[i]
			for _, v := range sampleValues(l, f) {
				for _, text := range valueTexts(l, f, v) {
					a, err := l.ParseAssignment(f.Name + "=" + text)
					if err != nil {
						t.Errorf("%s: %s=%s: %v", l.LineName, f.Name, text, err)
						continue
					}
					if a.Value != v {
						t.Errorf("%s: %s=%s parsed as 0x%X", l.LineName, f.Name, text, a.Value)
					}
					base := rng.Uint32()
					regs := l.Encode(map[string]uint32{f.Register: base}, []Assignment{a})
					got := l.DecodeField(f, regs[f.Register])
					if got.Raw != v || !got.Valid || got.Meaning == "" {
						t.Errorf("%s: %s=0x%X decodes as %+v", l.LineName, f.Name, v, got)
					}
					if regs[f.Register]&^f.Mask() != base&^f.Mask() {
						t.Errorf("%s: %s changed other bits", l.LineName, f.Name)
					}
					if d := l.Diff(map[string]uint32{f.Register: base}, regs); f.Get(base) != v && (len(d) != 1 || d[0].Field != f.Name) {
						t.Errorf("%s: diff for %s: %+v", l.LineName, f.Name, d)
					}
				}
			}
		}
	}
}

// valueTexts lists the ways a user may write v: hex, decimal, and the name.
func valueTexts(l *Layout, f *Field, v uint32) []string {
	out := []string{fmt.Sprintf("0x%X", v), fmt.Sprintf("%d", v)}
	if fv := l.DecodeField(f, f.Set(0, v)); fv.Name != "" {
		out = append(out, fv.Name, strings.ToLower(fv.Name))
	}
	return out
}

func TestParseRefusals(t *testing.T) {
	l, _ := ForDevID(DevH52x)
	h503, _ := ForDevID(DevH503)
	cases := []struct {
		l       *Layout
		arg     string
		wantErr error
		mention string
	}{
		{l, "PRODUCT_STATE=0x00", ErrInvalidValue, "OPEN (0xED)"},
		{l, "PRODUCT_STATE=0x1ED", ErrInvalidValue, "8 bits"},
		{l, "PRODUCT_STATE=open_ish", ErrInvalidValue, "PROVISIONING (0x17)"},
		{l, "TZEN=0xB5", ErrInvalidValue, "ENABLED (0xB4), DISABLED (0xC3)"},
		{l, "HDP1_STRT=32", ErrInvalidValue, "0x0 … 0x1F"},
		{l, "WRPSGn1=0x100", ErrInvalidValue, "0x0 … 0xFF"},
		{l, "NOPE=1", ErrUnknownField, "PRODUCT_STATE"},
		{l, "PRODUCT_STATE", ErrInvalidValue, "FIELD=VALUE"},
		{l, "=1", ErrInvalidValue, "FIELD=VALUE"},
		{l, "IWDG_SW=", ErrInvalidValue, "HARDWARE (0x0)"},
		{h503, "PRODUCT_STATE=TZ_CLOSED", ErrInvalidValue, "does not exist on STM32H503"},
		{h503, "TZEN=0xB4", ErrUnknownField, "STM32H503"},
	}
	for _, c := range cases {
		_, err := c.l.ParseAssignment(c.arg)
		if !errors.Is(err, c.wantErr) || !strings.Contains(err.Error(), c.mention) {
			t.Errorf("%s %q: %v, want %v mentioning %q", c.l.LineName, c.arg, err, c.wantErr, c.mention)
		}
	}
	if _, err := l.ParseAssignments([]string{"IWDG_SW=1", "iwdg_sw=0"}); err == nil {
		t.Error("a field given twice was accepted")
	}
}

func TestDecodeInvalidEnum(t *testing.T) {
	l, _ := ForDevID(DevH56x)
	f, _ := l.Field("PRODUCT_STATE")
	v := l.DecodeField(f, 0x1200)
	if v.Valid || v.Name != "INVALID" || !strings.Contains(v.Meaning, "OPEN (0xED)") {
		t.Errorf("%+v", v)
	}
	f, _ = l.Field("NSBOOTADD")
	if v := l.DecodeField(f, 0x080000C3); v.Meaning != "boots at 0x08000000" {
		t.Errorf("%+v", v)
	}
	f, _ = l.Field("HDP1_END")
	if v := l.DecodeField(f, 0x0000007F); !strings.Contains(v.Meaning, "no hidden area") {
		t.Errorf("%+v", v)
	}
	if v := l.DecodeField(f, 0x00050002); !strings.Contains(v.Meaning, "sectors 2…5") {
		t.Errorf("%+v", v)
	}
}

func TestAssignmentsTo(t *testing.T) {
	l, _ := ForDevID(DevH52x)
	cur := map[string]uint32{"OPTSR": 0x2D3017D8, "WRP1R": 0xFF, "HDP1R": 0x1F}
	want := map[string]uint32{"OPTSR": 0x2D3017D0, "WRP1R": 0xFE, "HDP1R": 0x1F}
	as := l.AssignmentsTo(cur, want)
	var got []string
	for _, a := range as {
		got = append(got, a.String())
	}
	if strings.Join(got, " ") != "IWDG_SW=0x0 WRPSGn1=0xFE" {
		t.Errorf("assignments %v", got)
	}
	if after := l.Encode(cur, as); after["OPTSR"] != want["OPTSR"] || after["WRP1R"] != want["WRP1R"] {
		t.Errorf("encode %v", after)
	}
}

func TestKindNames(t *testing.T) {
	for _, tc := range []struct {
		k    Kind
		want string
	}{
		{KindEnum, "enum"}, {KindNumber, "number"}, {KindMask, "mask"}, {Kind(-1), "Kind(-1)"}, {Kind(3), "Kind(3)"},
	} {
		if got := tc.k.String(); got != tc.want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(tc.k), got, tc.want)
		}
	}
}
