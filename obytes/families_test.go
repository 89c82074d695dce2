package obytes

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/targets"
)

// familyDevIDs is every line of the RDP families with an option-byte table.
var familyDevIDs = func() []uint16 {
	var out []uint16
	for _, ls := range []Lines{f1Lines, f4Lines, g0Lines, g4Lines, l4Lines} {
		out = append(out, ls...)
	}
	return out
}()

// factory is the option-register image of a chip at its factory defaults
// (RM0008 §3.3.3 FLASH_OBR, RM0090 §3.9.10 FLASH_OPTCR = 0x0FFFAAED, RM0444
// §3.7.8 FLASH_OPTR = 0xFFFFFEAA, RM0351 §3.7.8 and RM0440 FLASH_OPTR =
// 0xFFEFF8AA; write-protected areas with start > end).
func factory(l *Layout) map[string]uint32 {
	cur := map[string]uint32{}
	for _, r := range l.Registers {
		switch {
		case r.Name == "OBR":
			cur[r.Name] = 0x03FFFFFC
		case r.Name == "WRPR":
			cur[r.Name] = 0xFFFFFFFF
		case r.Name == "OPTCR":
			cur[r.Name] = 0x0FFFAAED
		case r.Name == "OPTCR1":
			cur[r.Name] = 0x0FFF0000
		case r.Name == "OPTR" && l.Family == "STM32G0":
			cur[r.Name] = 0xFFFFFEAA
		case r.Name == "OPTR":
			cur[r.Name] = 0xFFEFF8AA
		default:
			cur[r.Name] = 0xFF00FFFF
		}
	}
	return cur
}

func familyLayoutOf(t *testing.T, dev uint16) *Layout {
	t.Helper()
	l, err := ForDevID(dev)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestFamilyLayouts(t *testing.T) {
	for _, dev := range familyDevIDs {
		l := familyLayoutOf(t, dev)
		if l.RDP == nil || l.Family == "" || l.Family == "STM32H5" {
			t.Fatalf("0x%03X: layout %+v is not an RDP family's", dev, l)
		}
		if l.AP != 0 {
			t.Errorf("%s: option registers read through AP%d, want the core port AP0", l.LineName, l.AP)
		}
		if _, ok := l.Field("RDP"); !ok {
			t.Errorf("%s: no RDP field", l.LineName)
		}
		used := map[string]uint32{}
		for i := range l.Fields {
			f := &l.Fields[i]
			r, ok := l.Register(f.Register)
			if !ok {
				t.Errorf("%s: field %s in unknown register %s", l.LineName, f.Name, f.Register)
				continue
			}
			if r.Base != l.RDP.FlashRegs || r.Prg != r.Cur {
				t.Errorf("%s: register %s base 0x%08X prg 0x%X, want 0x%08X and no _PRG copy", l.LineName, r.Name, r.Base, r.Prg, l.RDP.FlashRegs)
			}
			if used[f.Register]&f.Mask() != 0 {
				t.Errorf("%s: field %s %s overlaps another field of %s", l.LineName, f.Name, f.Bits(), f.Register)
			}
			used[f.Register] |= f.Mask()
			if f.Meaning == "" {
				t.Errorf("%s: field %s has no meaning", l.LineName, f.Name)
			}
		}
		switch l.Family {
		case "STM32F1", "STM32F4", "STM32G0", "STM32G4", "STM32L4", "STM32U5", "STM32H7":
			if why := l.ApplyRefusal(); why != "" {
				t.Errorf("%s: apply refused (%s): these families have their programming sequence", l.LineName, why)
			}
			if !strings.HasPrefix(l.WriteNote(), "stprobe ob apply") {
				t.Errorf("%s: write note %q does not say how stprobe writes", l.LineName, l.WriteNote())
			}
		default:
			if l.ApplyRefusal() == "" || l.WriteNote() != l.ApplyRefusal() {
				t.Errorf("%s: %s has no programming sequence here, yet apply is not refused", l.LineName, l.Family)
			}
		}
	}
	h5, err := ForDevID(DevH56x)
	if err != nil || h5.ApplyRefusal() != "" || h5.RDP != nil || h5.AP != CoreAP {
		t.Fatalf("STM32H5 layout changed: %v %+v", err, h5)
	}
}

// The factory images decode to the defaults the reference manuals name.
func TestFamilyDecodeFactory(t *testing.T) {
	cases := []struct {
		dev   uint16
		field string
		want  string // FieldValue.Text() or the start of its meaning
	}{
		{targets.DevIDF1MD, "RDP", "LEVEL0 (0x0)"},
		{targets.DevIDF1MD, "WDG_SW", "SOFTWARE (0x1)"},
		{targets.DevIDF1MD, "nRST_STOP", "NO_RESET (0x1)"},
		{targets.DevIDF1MD, "Data0", "0xFF"},
		{targets.DevIDF1MD, "Data1", "0xFF"},
		{targets.DevIDF1MD, "WRP", "nothing write-protected"},
		{targets.DevIDF1XL, "BFB2", "BANK1 (0x1)"},
		{targets.DevIDF411, "RDP", "level 0"},
		{targets.DevIDF411, "BOR_LEV", "OFF (0x3)"},
		{targets.DevIDF411, "WDG_SW", "SOFTWARE (0x1)"},
		{targets.DevIDF411, "nWRP", "nothing write-protected"},
		{targets.DevIDF411, "SPRMOD", "WRITE_PROTECT (0x0)"},
		{targets.DevIDF42x, "BFB2", "BANK1 (0x0)"},
		{targets.DevIDF42x, "nWRP2", "nothing write-protected"},
		{targets.DevIDG07x, "RDP", "level 0"},
		{targets.DevIDG07x, "BOREN", "DISABLED (0x0)"},
		{targets.DevIDG07x, "NRST_MODE", "BIDIRECTIONAL (0x3)"},
		{targets.DevIDG07x, "nBOOT_SEL", "nBOOT0_BIT (0x1)"},
		{targets.DevIDG07x, "nBOOT0", "FLASH (0x1)"},
		{targets.DevIDG07x, "WRP1A_STRT", "page 63; after END (0)"},
		{targets.DevIDL47x, "BOR_LEV", "LEVEL0 (0x0)"},
		{targets.DevIDL47x, "BFB2", "BANK1 (0x0)"},
		{targets.DevIDL47x, "DUALBANK", "DUAL (0x1)"},
		{targets.DevIDL47x, "SRAM2_RST", "KEPT (0x1)"},
		{targets.DevIDL43x, "nSWBOOT0", "BOOT0_PIN (0x1)"},
		{targets.DevIDG47x, "NRST_MODE", "BIDIRECTIONAL (0x3)"},
		{targets.DevIDG47x, "CCMSRAM_RST", "KEPT (0x1)"},
		{targets.DevIDG47x, "DBANK", "DUAL (0x1)"},
	}
	for _, c := range cases {
		l := familyLayoutOf(t, c.dev)
		cur := factory(l)
		f, ok := l.Field(c.field)
		if !ok {
			t.Errorf("%s: no field %s", l.LineName, c.field)
			continue
		}
		v := l.DecodeField(f, cur[f.Register])
		if !v.Valid || v.Text() != c.want && !strings.HasPrefix(v.Meaning, c.want) {
			t.Errorf("%s %s = %s (%s), want %s", l.LineName, c.field, v.Text(), v.Meaning, c.want)
		}
	}
	// Fields a line does not have are absent, not decoded as zero.
	for _, c := range []struct {
		dev   uint16
		field string
	}{{targets.DevIDF1MD, "BFB2"}, {targets.DevIDF40x, "SPRMOD"}, {targets.DevIDF411, "nWRP2"}, {targets.DevIDL47x, "nSWBOOT0"}, {targets.DevIDG07x, "DUAL_BANK"}, {targets.DevIDG43x, "WRP2AR"}} {
		if _, ok := familyLayoutOf(t, c.dev).Field(c.field); ok {
			t.Errorf("0x%03X has a field %s it should not", c.dev, c.field)
		}
	}
}

// rdpInput is a plan input for a family line at an RDP value (on the F1 the
// RDPRT bit).
func rdpInput(t *testing.T, dev uint16, rdp uint32) PlanInput {
	t.Helper()
	l := familyLayoutOf(t, dev)
	cur := factory(l)
	f, _ := l.Field("RDP")
	cur[f.Register] = f.Set(cur[f.Register], rdp)
	return PlanInput{Layout: l, UID: "431726213231470F0031FF36", Before: &Snapshot{DevID: dev, LineName: l.LineName, Cur: cur, Prg: cur}}
}

// Every RDP transition of every family: level 2 is brick wherever it
// exists, leaving level 1 and entering it are irreversible (the way back
// mass-erases), level 2 refuses every change.
func TestFamilyRDPTransitions(t *testing.T) {
	const refused, nochange = guarded.Risk(-1), guarded.Risk(-2)
	type row struct {
		from, to uint32
		want     guarded.Risk
		reason   string
	}
	byteRows := []row{
		{0xAA, 0xBB, guarded.Irreversible, "mass-erases"},
		{0xAA, 0x00, guarded.Irreversible, "mass-erases"},
		{0xAA, 0xCC, guarded.Brick, "permanent"},
		{0xAA, 0xAA, nochange, ""},
		{0xBB, 0xAA, guarded.Irreversible, "Save first"},
		{0x00, 0xAA, guarded.Irreversible, "mass-erases the whole main flash"},
		{0xBB, 0x00, guarded.Safe, "stays at RDP level 1"},
		{0xBB, 0x55, guarded.Safe, "stays at RDP level 1"},
		{0xBB, 0xCC, guarded.Brick, "permanent"},
		{0xCC, 0xAA, refused, "level 2"},
		{0xCC, 0xBB, refused, "level 2"},
	}
	f1Rows := []row{
		{0, 1, guarded.Irreversible, "mass-erases"},
		{1, 0, guarded.Irreversible, "Save first"},
		{0, 0, nochange, ""},
		{1, 1, nochange, ""},
	}
	fams := []struct {
		dev  uint16
		rows []row
	}{
		{targets.DevIDF1MD, f1Rows}, {targets.DevIDF1XL, f1Rows},
		{targets.DevIDF411, byteRows}, {targets.DevIDF42x, byteRows},
		{targets.DevIDG07x, byteRows}, {targets.DevIDG0Bx, byteRows},
		{targets.DevIDG47x, byteRows},
		{targets.DevIDL47x, byteRows}, {targets.DevIDL4Rx, byteRows},
	}
	for _, fam := range fams {
		for _, c := range fam.rows {
			in := rdpInput(t, fam.dev, c.from)
			as, err := in.Layout.ParseAssignments([]string{"RDP=" + hex(c.to)})
			if err != nil {
				t.Fatal(err)
			}
			p, err := MakePlan(in, as)
			name := in.Layout.LineName + " RDP " + hex(c.from) + "→" + hex(c.to)
			var re *RefusedError
			switch {
			case c.want == nochange:
				if !errors.Is(err, ErrNoChange) {
					t.Errorf("%s: %v, want no change", name, err)
				}
			case c.want == refused:
				if !errors.As(err, &re) || !strings.Contains(re.Error(), c.reason) {
					t.Errorf("%s: %v, want refused (%s)", name, err, c.reason)
				}
			case err != nil:
				t.Errorf("%s: %v", name, err)
			default:
				if p.Risk != c.want || !strings.Contains(p.Changes[0].Why, c.reason) {
					t.Errorf("%s: %v (%s), want %v (%s)", name, p.Risk, p.Changes[0].Why, c.want, c.reason)
				}
				if p.NotWritable != "" || p.NeedsOverride != (c.want == guarded.Brick) {
					t.Errorf("%s: not_writable %q override %v", name, p.NotWritable, p.NeedsOverride)
				}
			}
		}
	}
}

func hex(v uint32) string { return fmt.Sprintf("0x%X", v) }

// Watchdog, brown-out, boot and NRST options are caution, with the reason;
// user data is safe.
func TestFamilyOptionRules(t *testing.T) {
	cases := []struct {
		dev    uint16
		arg    string
		want   guarded.Risk
		reason string
	}{
		{targets.DevIDF1MD, "WDG_SW=HARDWARE", guarded.Caution, "resets the core under the debugger"},
		{targets.DevIDF1MD, "Data0=0x12", guarded.Safe, "write the old value back"},
		{targets.DevIDF411, "WDG_SW=0", guarded.Caution, "DBGMCU freeze"},
		{targets.DevIDF411, "BOR_LEV=LEVEL3", guarded.Caution, "brown-out threshold"},
		{targets.DevIDF411, "nWRP=0xFFE", guarded.Safe, "write the old value back"},
		{targets.DevIDF42x, "BFB2=1", guarded.Caution, "boots"},
		{targets.DevIDG07x, "NRST_MODE=GPIO", guarded.Caution, "Under Reset"},
		{targets.DevIDG07x, "nBOOT_SEL=0", guarded.Caution, "boots"},
		{targets.DevIDG07x, "BOREN=1", guarded.Caution, "brown-out"},
		{targets.DevIDG07x, "IWDG_SW=0", guarded.Caution, "watchdog"},
		{targets.DevIDG07x, "WWDG_SW=0", guarded.Caution, "watchdog"},
		{targets.DevIDL47x, "IWDG_STOP=0", guarded.Caution, "low-power"},
		{targets.DevIDL47x, "DUALBANK=0", guarded.Caution, "flash organisation"},
		{targets.DevIDL43x, "nBOOT0=0", guarded.Caution, "boots"},
		{targets.DevIDL47x, "WRP1A_STRT=0", guarded.Safe, "write the old value back"},
		{targets.DevIDG47x, "nSWBOOT0=0", guarded.Caution, "boots"},
		{targets.DevIDG47x, "CCMSRAM_RST=0", guarded.Caution, "SRAM"},
	}
	for _, c := range cases {
		in := rdpInput(t, c.dev, func() uint32 {
			if c.dev == targets.DevIDF1MD {
				return 0
			}
			return 0xAA
		}())
		as, err := in.Layout.ParseAssignments([]string{c.arg})
		if err != nil {
			t.Fatalf("%s %s: %v", in.Layout.LineName, c.arg, err)
		}
		p, err := MakePlan(in, as)
		if err != nil {
			t.Fatalf("%s %s: %v", in.Layout.LineName, c.arg, err)
		}
		if p.Risk != c.want || !strings.Contains(p.Changes[0].Why, c.reason) {
			t.Errorf("%s %s: %v (%s), want %v (%s)", in.Layout.LineName, c.arg, p.Risk, p.Changes[0].Why, c.want, c.reason)
		}
	}
	// NRST_MODE's reserved encoding is never written.
	l := familyLayoutOf(t, targets.DevIDG07x)
	if _, err := l.ParseAssignments([]string{"NRST_MODE=0"}); !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("NRST_MODE=0: %v, want refused", err)
	}
}

// FuzzDecodeFamilyRegister decodes any register value of any RDP family
// line: every field fits, means something, and the fields rebuild the bits
// they cover.
func FuzzDecodeFamilyRegister(f *testing.F) {
	seeds := []uint32{0, 0xFFFFFFFF, 0x03FFFFFC, 0x03FFFFFE, 0x0FFFAAED, 0x0FFFCCED, 0xFFFFFEAA, 0xFFEFF8AA, 0xFFEFF8CC, 0xFF00FFFF, 0x00050002, 0x0FFF0000}
	for i := range familyDevIDs {
		for _, v := range seeds {
			f.Add(uint8(i), uint8(i), v)
		}
	}
	f.Fuzz(func(t *testing.T, line, reg uint8, v uint32) {
		l, err := ForDevID(familyDevIDs[int(line)%len(familyDevIDs)])
		if err != nil {
			t.Fatal(err)
		}
		r := l.Registers[int(reg)%len(l.Registers)]
		checkDecode(t, l, r.Name, v)
		if f, _ := l.Field("RDP"); f.Register == r.Name {
			lvl := l.rdpLevelOf(f.Get(v))
			if l.RDP.Bit && lvl == targets.RDPLevel2 {
				t.Fatalf("%s: level 2 on a family without it", l.LineName)
			}
		}
	})
}
