package obytes

import (
	"errors"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/targets"
)

// u5h7DevIDs is every U5 and H7 line.
var u5h7DevIDs = append(append(Lines{}, u5Lines...), h7Lines...)

// u5h7Factory is the option-register image the simulated U5 and H7 boards
// read at level 0 (targets/stm32rdp u5h7.go): FLASH_OPTR 0x1FEFF8AA with
// TrustZone off, FLASH_OPTSR_CUR 0x0006AAF0, no watermark, no
// write-protected area, no OEM key.
func u5h7Factory(l *Layout) map[string]uint32 {
	cur := map[string]uint32{}
	for _, r := range l.Registers {
		switch r.Name {
		case "OPTR":
			cur[r.Name] = 0x1FEFF8AA
		case "NSBOOTADD0R":
			cur[r.Name] = 0x08000000
		case "NSBOOTADD1R":
			cur[r.Name] = 0x0BF90000
		case "SECBOOTADD0R":
			cur[r.Name] = 0x0C000000
		case "SECWM1R2", "SECWM2R2", "NSSR":
			cur[r.Name] = 0
		case "WRP1AR", "WRP1BR", "WRP2AR", "WRP2BR":
			cur[r.Name] = 0x8000007F
		case "OPTSR_CUR":
			cur[r.Name] = 0x0006AAF0
		case "PRAR_CUR1", "SCAR_CUR1", "PRAR_CUR2", "SCAR_CUR2":
			cur[r.Name] = 0x000000FF
		case "WPSN_CUR1", "WPSN_CUR2":
			cur[r.Name] = 0xFF
		case "BOOT_CUR":
			cur[r.Name] = 0x1FF00800
		default:
			cur[r.Name] = 0x0000007F
		}
	}
	return cur
}

// TestU5H7Layouts: every line has a table read through AP0 from the
// family's flash registers, with non-overlapping fields that mean
// something, and a refusal naming the peer's commands.
func TestU5H7Layouts(t *testing.T) {
	for _, dev := range u5h7DevIDs {
		l := familyLayoutOf(t, dev)
		if l.RDP == nil || l.AP != 0 {
			t.Fatalf("0x%03X: %+v", dev, l)
		}
		used := map[string]uint32{}
		for i := range l.Fields {
			f := &l.Fields[i]
			r, ok := l.Register(f.Register)
			if !ok || r.Base != l.RDP.FlashRegs || r.Prg != r.Cur {
				t.Errorf("%s: field %s register %s (%v) base 0x%08X", l.LineName, f.Name, f.Register, ok, r.Base)
			}
			if used[f.Register]&f.Mask() != 0 {
				t.Errorf("%s: field %s %s overlaps", l.LineName, f.Name, f.Bits())
			}
			used[f.Register] |= f.Mask()
			if f.Meaning == "" {
				t.Errorf("%s: %s has no meaning", l.LineName, f.Name)
			}
		}
		want := map[string]string{"STM32U5": "OBL_LAUNCH", "STM32H7": "OPTSTART"}[l.Family]
		if l.ApplyRefusal() != "" || !strings.Contains(l.WriteNote(), want) {
			t.Errorf("%s: refusal %q, write note %q lacks %q", l.LineName, l.ApplyRefusal(), l.WriteNote(), want)
		}
	}
}

// The simulated boards' registers decode to the defaults RM0456 and
// RM0433 name; 0x55 is level 0.5 only with TZEN.
func TestU5H7Decode(t *testing.T) {
	cases := []struct {
		dev   uint16
		reg   string
		v     uint32 // 0: the factory image
		field string
		want  string
	}{
		{targets.DevIDU57x, "", 0, "RDP", "level 0"},
		{targets.DevIDU57x, "", 0, "TZEN", "DISABLED (0x0)"},
		{targets.DevIDU57x, "", 0, "nSWBOOT0", "BOOT0_PIN (0x1)"},
		{targets.DevIDU57x, "", 0, "nBOOT0", "ADD0 (0x1)"},
		{targets.DevIDU57x, "", 0, "DUALBANK", "DUAL (0x1)"},
		{targets.DevIDU57x, "", 0, "NSBOOTADD1", "boots at 0x0BF90000"},
		{targets.DevIDU57x, "", 0, "SECWM1_P_STRT", "page 127; after END (0)"},
		{targets.DevIDU57x, "", 0, "OEM1LOCK", "NO_KEY (0x0)"},
		{targets.DevIDU57x, "", 0, "WRP1A_UNLOCK", "UNLOCKED (0x1)"},
		{targets.DevIDU57x, "OPTR", 0x9FEFF855, "RDP", "level 0.5"},
		{targets.DevIDU57x, "OPTR", 0x1FEFF855, "RDP", "level 1"},
		{targets.DevIDU57x, "OPTR", 0x9FEFF855, "TZEN", "ENABLED (0x1)"},
		{targets.DevIDU57x, "SECWM1R1", 0x003F0000, "SECWM1_P_END", "secure area is pages 0…63"},
		{targets.DevIDU57x, "NSSR", 1 << 18, "OEM1LOCK", "KEY_LOCKED (0x1)"},
		{targets.DevIDH74x, "", 0, "RDP", "level 0"},
		{targets.DevIDH74x, "", 0, "IWDG1_SW", "SOFTWARE (0x1)"},
		{targets.DevIDH74x, "", 0, "BOR_LEV", "OFF (0x0)"},
		{targets.DevIDH74x, "", 0, "BOOT_ADD1", "boots at 0x1FF00000 with BOOT high"},
		{targets.DevIDH74x, "", 0, "WRPSN1", "nothing write-protected"},
		{targets.DevIDH74x, "", 0, "PROT_AREA1_START", "block 255; after END (0)"},
		{targets.DevIDH74x, "OPTSR_CUR", 0x0006BBF0, "RDP", "level 1"},
		{targets.DevIDH74x, "OPTSR_CUR", 0x0006CCF0, "RDP", "level 2"},
	}
	for _, c := range cases {
		l := familyLayoutOf(t, c.dev)
		cur := u5h7Factory(l)
		if c.reg != "" {
			cur[c.reg] = c.v
		}
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
	// The H72x/H73x have one bank.
	if _, ok := familyLayoutOf(t, targets.DevIDH72x).Field("SWAP_BANK_OPT"); ok {
		t.Error("H72x has a SWAP_BANK_OPT field")
	}
}

// u5Input is a plan input for a U5 at an OPTR and NSSR value.
func u5Input(t *testing.T, optr, nssr uint32, proof *WayBackProof) PlanInput {
	t.Helper()
	l := familyLayoutOf(t, targets.DevIDU57x)
	cur := u5h7Factory(l)
	cur["OPTR"], cur["NSSR"] = optr, nssr
	return PlanInput{Layout: l, UID: "43172231A23231470F0031FF36", Before: &Snapshot{DevID: l.DevID, LineName: l.LineName, Cur: cur, Prg: cur}, WayBack: proof}
}

// Every RDP and TrustZone transition of the U5, with and without an OEM1
// key provisioned, and the H7's.
func TestU5H7Transitions(t *testing.T) {
	const refused, nochange = guarded.Risk(-1), guarded.Risk(-2)
	const (
		tzOff0  = 0x1FEFF8AA // level 0, TrustZone off
		tzOn0   = 0x9FEFF8AA // level 0, TrustZone on
		tzOn05  = 0x9FEFF855 // level 0.5
		tzOn1   = 0x9FEFF8BB // level 1, TrustZone on
		tzOff1  = 0x1FEFF8BB // level 1, TrustZone off
		oem1    = 1 << 18
		oem2    = 1 << 19
		noKey   = 0
		tzOff2  = 0x1FEFF8CC
		withKey = true
	)
	proof := &WayBackProof{Method: OEMKeyMethod, Checked: []string{"the OEM1 key"}}
	cases := []struct {
		optr, nssr uint32
		key        bool
		args       []string
		want       guarded.Risk
		reason     string
	}{
		{tzOff0, noKey, false, []string{"RDP=0xBB"}, guarded.Irreversible, "erases it, secure and non-secure"},
		{tzOff0, noKey, false, []string{"RDP=0xCC"}, guarded.Brick, "no OEM2 key is provisioned"},
		{tzOff0, oem2, false, []string{"RDP=0xCC"}, guarded.Brick, "cannot check that key"},
		{tzOff0, oem1, false, []string{"RDP=0xBB"}, guarded.Brick, "OEM1 key is provisioned"},
		{tzOff0, oem1, withKey, []string{"RDP=0xBB"}, guarded.Irreversible, "closes the flash"},
		{tzOn0, noKey, false, []string{"RDP=0x55"}, guarded.Irreversible, "closes the secure side"},
		{tzOn0, oem1, false, []string{"RDP=0x55"}, guarded.Brick, "OEM1 key is provisioned"},
		{tzOn05, noKey, false, []string{"RDP=0xAA"}, guarded.Irreversible, "erases the whole flash, secure and non-secure"},
		{tzOn05, noKey, false, []string{"RDP=0xBB"}, guarded.Irreversible, "closes the flash"},
		{tzOn1, noKey, false, []string{"RDP=0xAA"}, guarded.Irreversible, "Save first"},
		{tzOn1, oem1, false, []string{"RDP=0xAA"}, refused, "refuses a regression to level 0 without it"},
		{tzOn1, oem1, withKey, []string{"RDP=0xAA"}, guarded.Irreversible, "erases the whole flash"},
		{tzOn1, noKey, false, []string{"RDP=0x55"}, guarded.Irreversible, "partial regression"},
		{tzOff1, noKey, false, []string{"RDP=0x55"}, guarded.Safe, "stays at RDP level 1"}, // 0x55 without TZEN is still level 1
		{tzOn1, noKey, false, []string{"TZEN=0"}, refused, "only together with an RDP regression"},
		{tzOn1, noKey, false, []string{"RDP=0xAA", "TZEN=0"}, guarded.Irreversible, ""},
		{tzOff0, noKey, false, []string{"TZEN=1"}, guarded.Irreversible, "turning it off again is possible only while regressing"},
		{tzOff1, noKey, false, []string{"TZEN=1"}, refused, "at RDP level 0 only"},
		{tzOff0, noKey, false, []string{"OEM1LOCK=1"}, refused, "status bit"},
		{tzOff2, noKey, false, []string{"RDP=0xAA"}, refused, "level 2"},
		{tzOff0, noKey, false, []string{"IWDG_SW=0"}, guarded.Caution, "DBGMCU freeze"},
		{tzOff0, noKey, false, []string{"nBOOT0=0"}, guarded.Caution, "boots"},
		{tzOff0, noKey, false, []string{"NSBOOTADD0=0x100400"}, guarded.Caution, "where the chip boots"},
	}
	for _, c := range cases {
		var wb *WayBackProof
		if c.key {
			wb = proof
		}
		in := u5Input(t, c.optr, c.nssr, wb)
		name := strings.Join(c.args, " ")
		as, err := in.Layout.ParseAssignments(c.args)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p, err := MakePlan(in, as)
		var re *RefusedError
		switch {
		case c.want == nochange:
			if !errors.Is(err, ErrNoChange) {
				t.Errorf("0x%08X %s: %v, want no change", c.optr, name, err)
			}
		case c.want == refused:
			if !errors.As(err, &re) || !strings.Contains(re.Error(), c.reason) {
				t.Errorf("0x%08X %s: %v, want refused (%s)", c.optr, name, err, c.reason)
			}
		case err != nil:
			t.Errorf("0x%08X %s: %v", c.optr, name, err)
		default:
			why := ""
			for _, ch := range p.Changes {
				why += ch.Why + " "
			}
			if p.Risk != c.want || !strings.Contains(why, c.reason) {
				t.Errorf("0x%08X nssr 0x%X %s: %v (%s), want %v (%s)", c.optr, c.nssr, name, p.Risk, why, c.want, c.reason)
			}
			if p.NotWritable != "" || p.NeedsOverride != (c.want == guarded.Brick) {
				t.Errorf("%s: not_writable %q override %v", name, p.NotWritable, p.NeedsOverride)
			}
		}
	}
}

// The H7's level transitions follow the byte-wide rule; its own options
// carry their reasons.
func TestH7Rules(t *testing.T) {
	cases := []struct {
		optsr  uint32
		arg    string
		want   guarded.Risk
		reason string
	}{
		{0x0006AAF0, "RDP=0xBB", guarded.Irreversible, "mass-erases"},
		{0x0006AAF0, "RDP=0xCC", guarded.Brick, "permanent"},
		{0x0006BBF0, "RDP=0xAA", guarded.Irreversible, "Save first"},
		{0x0006AAF0, "SECURITY=1", guarded.Irreversible, "root secure services"},
		{0x0006AAF0, "IWDG1_SW=0", guarded.Caution, "DBGMCU freezes it"},
		{0x0006AAF0, "BOOT_ADD0=0x0810", guarded.Caution, "boots"},
		{0x0006AAF0, "WRPSN1=0xFE", guarded.Safe, "write the old value back"},
	}
	for _, c := range cases {
		l := familyLayoutOf(t, targets.DevIDH74x)
		cur := u5h7Factory(l)
		cur["OPTSR_CUR"] = c.optsr
		in := PlanInput{Layout: l, UID: "0", Before: &Snapshot{DevID: l.DevID, LineName: l.LineName, Cur: cur, Prg: cur}}
		as, err := l.ParseAssignments([]string{c.arg})
		if err != nil {
			t.Fatalf("%s: %v", c.arg, err)
		}
		p, err := MakePlan(in, as)
		if err != nil {
			t.Fatalf("%s: %v", c.arg, err)
		}
		if p.Risk != c.want || !strings.Contains(p.Changes[0].Why, c.reason) {
			t.Errorf("%s: %v (%s), want %v (%s)", c.arg, p.Risk, p.Changes[0].Why, c.want, c.reason)
		}
	}
}

// FuzzDecodeU5H7Register decodes any value of any U5 or H7 option
// register: every field fits, means something, and the fields rebuild the
// bits they cover; RDP decodes to a level the family has.
func FuzzDecodeU5H7Register(f *testing.F) {
	for i := range u5h7DevIDs {
		for _, v := range []uint32{0, 0xFFFFFFFF, 0x1FEFF8AA, 0x9FEFF855, 0x1FEFF855, 0x0006AAF0, 0x0006CCF0, 0x003F0000, 0x1FF00800, 1 << 18} {
			f.Add(uint8(i), uint8(i), v)
		}
	}
	f.Fuzz(func(t *testing.T, line, reg uint8, v uint32) {
		l, err := ForDevID(u5h7DevIDs[int(line)%len(u5h7DevIDs)])
		if err != nil {
			t.Fatal(err)
		}
		r := l.Registers[int(reg)%len(l.Registers)]
		checkDecode(t, l, r.Name, v)
	})
}
