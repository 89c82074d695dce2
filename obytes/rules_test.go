package obytes

import (
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/targets"
)

// snapshotOf builds a snapshot of a line in a product state with TZEN.
func snapshotOf(t *testing.T, dev uint16, state, tzen uint32) PlanInput {
	t.Helper()
	l, err := ForDevID(dev)
	if err != nil {
		t.Fatal(err)
	}
	cur := map[string]uint32{}
	for _, r := range l.Registers {
		cur[r.Name] = 0
	}
	cur["OPTSR"] = 0x003000D8 | state<<8
	cur["NSBOOTR"] = 0x080000C3
	cur["WRP1R"], cur["WRP2R"] = 0xFF, 0xFF
	if dev != DevH503 {
		cur["OPTSR2"] = tzen << 24
		cur["OPTSR"] |= 0xB4 << 22
		cur["SECBOOTR"] = 0x0C0000C3
	}
	prg := map[string]uint32{}
	for k, v := range cur {
		prg[k] = v
	}
	return PlanInput{Layout: l, UID: "0045049931335A0A36383530", Before: &Snapshot{DevID: dev, LineName: l.LineName, Cur: cur, Prg: prg}}
}

var (
	noDA   = targets.DAStatus{Checked: true, Source: "test"}
	unkDA  = targets.DAStatus{Checked: false, Source: "test: unreadable"}
	pwdDA  = targets.DAStatus{Checked: true, Provisioned: true, Method: targets.DAPassword, Source: "test"}
	certDA = targets.DAStatus{Checked: true, Provisioned: true, Method: targets.DACertificate, Source: "test"}
	anyDA  = targets.DAStatus{Checked: true, Provisioned: true, Method: targets.DAMethodUnknown, Source: "test"}
	proven = &WayBackProof{Method: "password", Checked: []string{"test"}}
)

// The rules table: each row is one planned change on one chip, and the
// class it gets (or the refusal, by a word of its reason).
func TestRulesTable(t *testing.T) {
	const refused = guarded.Risk(-1)
	cases := []struct {
		name   string
		dev    uint16
		state  uint32
		tzen   uint32
		da     targets.DAStatus
		args   []string
		want   guarded.Risk
		reason string // refusal reason (or change explanation) must contain it
	}{
		// Product state forward.
		{"open→prov", DevH52x, 0xED, 0xC3, noDA, []string{"PRODUCT_STATE=0x17"}, guarded.Irreversible, "full regression"},
		{"open→closed direct", DevH52x, 0xED, 0xC3, pwdDA, []string{"PRODUCT_STATE=0x72"}, refused, "PROVISIONING (0x17) first"},
		{"open→locked direct", DevH56x, 0xED, 0xC3, pwdDA, []string{"PRODUCT_STATE=LOCKED"}, refused, "PROVISIONING (0x17) first"},
		{"prov→tzclosed no DA", DevH52x, 0x17, 0xB4, noDA, []string{"PRODUCT_STATE=0xC6"}, guarded.Brick, "no DA data"},
		{"prov→tzclosed DA unknown", DevH52x, 0x17, 0xB4, unkDA, []string{"PRODUCT_STATE=0xC6"}, guarded.Brick, "could not be checked"},
		{"prov→tzclosed cert", DevH52x, 0x17, 0xB4, certDA, []string{"PRODUCT_STATE=0xC6"}, guarded.Irreversible, "certificate"},
		{"prov→tzclosed pwd+TZ", DevH52x, 0x17, 0xB4, pwdDA, []string{"PRODUCT_STATE=0xC6"}, guarded.Brick, "accepts a password only with TZEN=0xC3"},
		{"prov→tzclosed TZ off", DevH52x, 0x17, 0xC3, pwdDA, []string{"PRODUCT_STATE=0xC6"}, guarded.Irreversible, "password"},
		{"prov→closed pwd", DevH52x, 0x17, 0xC3, pwdDA, []string{"PRODUCT_STATE=0x72"}, guarded.Irreversible, "password"},
		{"prov→closed cert TZ off", DevH56x, 0x17, 0xC3, certDA, []string{"PRODUCT_STATE=0x72"}, guarded.Brick, "certificate only with TZEN=0xB4"},
		{"prov→closed method unknown", DevH56x, 0x17, 0xC3, anyDA, []string{"PRODUCT_STATE=0x72"}, guarded.Brick, "method is not known"},
		{"prov→closed + TZEN on, cert", DevH56x, 0x17, 0xC3, certDA, []string{"PRODUCT_STATE=0x72", "TZEN=0xB4"}, guarded.Irreversible, ""},
		{"prov→closed + TZEN on, pwd", DevH56x, 0x17, 0xC3, pwdDA, []string{"PRODUCT_STATE=0x72", "TZEN=0xB4"}, guarded.Brick, "password"},
		{"prov→irot pwd", DevH52x, 0x17, 0xC3, pwdDA, []string{"PRODUCT_STATE=0x2E"}, guarded.Irreversible, ""},
		{"prov→locked", DevH52x, 0x17, 0xC3, pwdDA, []string{"PRODUCT_STATE=0x5C"}, guarded.Brick, "permanent"},
		{"closed→locked", DevH52x, 0x72, 0xC3, pwdDA, []string{"PRODUCT_STATE=0x5C"}, guarded.Brick, "permanent"},
		{"h503 prov→closed OTP", DevH503, 0x17, 0, pwdDA, []string{"PRODUCT_STATE=0x72"}, guarded.Irreversible, ""},
		{"h503 prov→closed no OTP", DevH503, 0x17, 0, noDA, []string{"PRODUCT_STATE=0x72"}, guarded.Brick, "no DA data"},
		// Backward and request codes.
		{"prov→open", DevH52x, 0x17, 0xB4, noDA, []string{"PRODUCT_STATE=0xED"}, refused, "only moves forward"},
		{"closed→prov", DevH52x, 0x72, 0xB4, certDA, []string{"PRODUCT_STATE=0x17"}, refused, "full regression"},
		{"tzclosed→closed", DevH56x, 0xC6, 0xB4, certDA, []string{"PRODUCT_STATE=0x72"}, refused, "secure firmware"},
		{"regression code", DevH52x, 0x17, 0xC3, pwdDA, []string{"PRODUCT_STATE=0x9A"}, refused, "request code"},
		{"locked anything", DevH52x, 0x5C, 0xC3, pwdDA, []string{"IWDG_SW=0"}, refused, "LOCKED"},
		// TZEN.
		{"tzen in open", DevH52x, 0xED, 0xC3, noDA, []string{"TZEN=0xB4"}, guarded.Caution, "resets"},
		{"tzen in prov", DevH52x, 0x17, 0xB4, noDA, []string{"TZEN=0xC3"}, guarded.Caution, "resets"},
		{"tzen in closed", DevH52x, 0x72, 0xB4, certDA, []string{"TZEN=0xC3"}, refused, "only in OPEN or PROVISIONING"},
		{"tzen in irot", DevH56x, 0x2E, 0xB4, certDA, []string{"TZEN=0xC3"}, refused, "only in OPEN or PROVISIONING"},
		// Protections.
		{"wrp in open", DevH52x, 0xED, 0xC3, noDA, []string{"WRPSGn1=0xFE"}, guarded.Safe, ""},
		{"wrp in irot", DevH52x, 0x2E, 0xC3, pwdDA, []string{"WRPSGn1=0xFE"}, refused, "only in OPEN or PROVISIONING"},
		{"hdp in open", DevH56x, 0xED, 0xC3, noDA, []string{"HDP1_STRT=0", "HDP1_END=3"}, guarded.Safe, ""},
		{"secwm", DevH56x, 0xED, 0xB4, noDA, []string{"SECWM1_END=0x7F"}, guarded.Caution, "secure"},
		{"edata", DevH52x, 0xED, 0xC3, noDA, []string{"EDATA1_EN=1"}, guarded.Caution, "content is lost"},
		{"otp lock", DevH503, 0xED, 0, noDA, []string{"LOCKBL=0x1"}, guarded.Irreversible, "for ever"},
		{"nsboot lock", DevH52x, 0xED, 0xC3, noDA, []string{"NSBOOT_LOCK=0xB4"}, guarded.Irreversible, "regression"},
		{"sram erase", DevH503, 0xED, 0, noDA, []string{"SRAM1_RST=1"}, guarded.Caution, "erases"},
		{"iwdg hw", DevH56x, 0xED, 0xC3, noDA, []string{"IWDG_SW=0"}, guarded.Caution, "watchdog"},
		{"iwdg sw", DevH56x, 0xED, 0xC3, noDA, []string{"IWDG_STOP=0"}, guarded.Safe, ""},
		{"hslv", DevH56x, 0xED, 0xC3, noDA, []string{"IO_VDD_HSLV=1"}, guarded.Caution, "2.7 V"},
		{"swap", DevH52x, 0x17, 0xC3, noDA, []string{"SWAP_BANK=1"}, guarded.Caution, "next reset"},
		{"boot addr", DevH52x, 0xED, 0xC3, noDA, []string{"NSBOOTADD=0x80400"}, guarded.Safe, ""},
		{"ube", DevH52x, 0xED, 0xC3, noDA, []string{"BOOT_UBE=ST_IROT"}, guarded.Caution, "boots"},
		{"priv", DevH52x, 0xED, 0xC3, noDA, []string{"NSPRIV=1"}, guarded.Safe, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := snapshotOf(t, c.dev, c.state, c.tzen)
			in.DA = c.da
			if c.da.Provisioned && c.da.Method != targets.DAMethodUnknown {
				in.WayBack = &WayBackProof{Method: c.da.Method.String()} // the way back itself: TestWayBackTable
			}
			as, err := in.Layout.ParseAssignments(c.args)
			if err != nil {
				t.Fatal(err)
			}
			p, err := MakePlan(in, as)
			if c.want == refused {
				var re *RefusedError
				if !errors.As(err, &re) {
					t.Fatalf("got plan %v / %v, want a refusal", p, err)
				}
				if !strings.Contains(err.Error(), c.reason) {
					t.Errorf("refusal %q lacks %q", err, c.reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("MakePlan: %v", err)
			}
			if p.Risk != c.want {
				t.Errorf("risk %v, want %v (%+v)", p.Risk, c.want, p.Changes)
			}
			var whys []string
			for _, ch := range p.Changes {
				whys = append(whys, ch.Why)
			}
			if !strings.Contains(strings.Join(whys, " "), c.reason) {
				t.Errorf("explanations %q lack %q", whys, c.reason)
			}
			switch p.Risk {
			case guarded.Brick:
				if !p.NeedsOverride || !strings.HasPrefix(p.Phrase, "brick 36383530 ") {
					t.Errorf("brick plan: override %v phrase %q", p.NeedsOverride, p.Phrase)
				}
			case guarded.Irreversible:
				if p.NeedsOverride || !strings.HasPrefix(p.Phrase, "irreversible ") {
					t.Errorf("irreversible plan: override %v phrase %q", p.NeedsOverride, p.Phrase)
				}
			default:
				if p.Phrase != "apply" {
					t.Errorf("phrase %q", p.Phrase)
				}
			}
		})
	}
}

func TestPlanPhases(t *testing.T) {
	in := snapshotOf(t, DevH56x, 0x17, 0xC3)
	in.DA = certDA
	as, _ := in.Layout.ParseAssignments([]string{"PRODUCT_STATE=0x72", "TZEN=0xB4", "IWDG_SW=0", "NSPRIV=1"})
	p, err := MakePlan(in, as)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Phases) != 3 {
		t.Fatalf("phases %+v", p.Phases)
	}
	if !p.Phases[0].Direct || p.Phases[0].Writes[0].Register != "PRIVCFGR" {
		t.Errorf("phase 0 %+v", p.Phases[0])
	}
	if ph := p.Phases[1]; !ph.Resets || len(ph.Writes) != 2 || ph.Writes[0].Register != "OPTSR" || ph.Writes[0].Mask != 1<<3 {
		t.Errorf("phase 1 %+v", ph)
	}
	if ph := p.Phases[2]; !ph.Resets || !ph.MayCloseDebug || ph.Writes[0].Mask != 0xFF00 || ph.Writes[0].Value != 0x7200 {
		t.Errorf("phase 2 %+v", ph)
	}
	if p.After["OPTSR"]>>8&0xFF != 0x72 || p.After["OPTSR2"]>>24 != 0xB4 {
		t.Errorf("after %v", p.After)
	}
	if _, err := MakePlan(in, nil); !errors.Is(err, ErrNoChange) {
		t.Errorf("empty plan: %v", err)
	}
}

func TestMakePlanRechecksAssignments(t *testing.T) {
	in := snapshotOf(t, DevH52x, 0xED, 0xC3)
	in.DA = noDA
	h56x, _ := ForDevID(DevH56x)
	wide, _ := h56x.Field("WRPSGn1")
	ps, _ := in.Layout.Field("PRODUCT_STATE")
	cases := []struct {
		as   []Assignment
		want error
	}{
		{[]Assignment{{}}, ErrUnknownField},
		{[]Assignment{{Field: wide, Value: 0xFFFFFFFE}}, ErrUnknownField},
		{[]Assignment{{Field: ps, Value: 0x42}}, ErrInvalidValue},
		{[]Assignment{{Field: ps, Value: 0x17}, {Field: ps, Value: 0x17}}, ErrInvalidValue},
	}
	for i, c := range cases {
		if _, err := MakePlan(in, c.as); !errors.Is(err, c.want) {
			t.Errorf("case %d: %v, want %v", i, err, c.want)
		}
	}
}

func TestRestoreNeverGoesBackwards(t *testing.T) {
	old := snapshotOf(t, DevH52x, 0xED, 0xC3)
	in := snapshotOf(t, DevH52x, 0x17, 0xC3)
	in.DA = noDA
	as := in.Layout.AssignmentsTo(in.Before.Cur, old.Before.Cur)
	_, err := MakePlan(in, as)
	var re *RefusedError
	if !errors.As(err, &re) || re.Refusals[0].Field != "PRODUCT_STATE" || !strings.Contains(re.Refusals[0].WayBack, "full regression") {
		t.Errorf("restore of an OPEN backup on a PROVISIONING chip: %v", err)
	}
}

// A plan straight from MakePlan is known to Apply as such (the rules need
// not run twice); an edited plan, or one read back from JSON, is not.
func TestPlanFromRules(t *testing.T) {
	in := snapshotOf(t, DevH56x, 0x17, 0xC3)
	in.DA = certDA
	as, _ := in.Layout.ParseAssignments([]string{"PRODUCT_STATE=0x72", "TZEN=0xB4"})
	p, err := MakePlan(in, as)
	if err != nil {
		t.Fatal(err)
	}
	if !p.fromRules() {
		t.Fatal("fresh plan not recognised")
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Plan
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.fromRules() {
		t.Error("plan read from JSON taken as fresh")
	}
	edits := map[string]func(q *Plan){
		"risk":     func(q *Plan) { q.Risk = guarded.Safe },
		"phase":    func(q *Plan) { q.Phases[0].Writes[0].Value ^= 1 },
		"snapshot": func(q *Plan) { q.Before.Cur["OPTSR"] ^= 1 },
	}
	for name, edit := range edits {
		q, err := MakePlan(in, as)
		if err != nil {
			t.Fatal(err)
		}
		q.Before = &Snapshot{DevID: in.Before.DevID, LineName: in.Before.LineName, Cur: maps.Clone(in.Before.Cur), Prg: maps.Clone(in.Before.Prg)}
		q.made, _ = json.Marshal(q)
		edit(q)
		if q.fromRules() {
			t.Errorf("%s edited: plan taken as fresh", name)
		}
	}
}

// The proof of the way back: leaving PROVISIONING for a closed state is
// irreversible only with a proof that has no mismatch; without one, or
// with any mismatch (named with its fix in the explanation), it is brick.
func TestWayBackTable(t *testing.T) {
	mismatch := &WayBackProof{Method: "password", Mismatches: []WayBackMismatch{
		{Check: "obk-encryption", Problem: "the file asks for no encryption", Fix: "make the file again for this part"},
		{Check: "credentials-match", Problem: "the password's SHA-256 is not the hash the file provisions", Fix: "give the password file made with this .obk file"},
	}}
	cases := []struct {
		name  string
		dev   uint16
		tzen  uint32
		da    targets.DAStatus
		proof *WayBackProof
		args  string
		want  guarded.Risk
		why   []string
	}{
		{"no proof", DevH52x, 0xC3, pwdDA, nil, "PRODUCT_STATE=0x72", guarded.Brick, []string{"not proven", "--obk FILE"}},
		{"no proof tz", DevH52x, 0xC3, pwdDA, nil, "PRODUCT_STATE=0xC6", guarded.Brick, []string{"not proven"}},
		{"no proof h503", DevH503, 0, pwdDA, nil, "PRODUCT_STATE=0x72", guarded.Brick, []string{"not proven"}},
		{"mismatches", DevH52x, 0xC3, pwdDA, mismatch, "PRODUCT_STATE=0x72", guarded.Brick, []string{"NOT proven", "asks for no encryption (fix: make the file again", "SHA-256 is not the hash", "(fix: give the password file"}},
		{"proven", DevH52x, 0xC3, pwdDA, proven, "PRODUCT_STATE=0x72", guarded.Irreversible, []string{"way back is proven (password"}},
		{"proven, DA status unreadable", DevH52x, 0xC3, unkDA, proven, "PRODUCT_STATE=0x72", guarded.Irreversible, []string{"proven"}},
		{"proven, DA status says none", DevH52x, 0xC3, noDA, proven, "PRODUCT_STATE=0x72", guarded.Brick, []string{"no DA data"}},
		{"proven, method unknown", DevH56x, 0xB4, anyDA, &WayBackProof{Method: "certificate"}, "PRODUCT_STATE=0xC6", guarded.Irreversible, []string{"certificate"}},
		{"proven but password with TZ on", DevH52x, 0xB4, pwdDA, proven, "PRODUCT_STATE=0xC6", guarded.Brick, []string{"TZEN=0xC3"}},
		{"locked stays brick", DevH52x, 0xC3, pwdDA, proven, "PRODUCT_STATE=0x5C", guarded.Brick, []string{"permanent"}},
		{"open to provisioning needs none", DevH52x, 0xC3, noDA, nil, "PRODUCT_STATE=0x17", guarded.Irreversible, []string{"full regression"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			state := uint32(0x17)
			if c.args == "PRODUCT_STATE=0x17" {
				state = 0xED
			}
			in := snapshotOf(t, c.dev, state, c.tzen)
			in.DA, in.WayBack = c.da, c.proof
			as, err := in.Layout.ParseAssignments([]string{c.args})
			if err != nil {
				t.Fatal(err)
			}
			p, err := MakePlan(in, as)
			if err != nil {
				t.Fatal(err)
			}
			if p.Risk != c.want || p.NeedsOverride != (c.want == guarded.Brick) {
				t.Errorf("risk %v override %v, want %v: %s", p.Risk, p.NeedsOverride, c.want, p.Changes[0].Why)
			}
			for _, w := range c.why {
				if !strings.Contains(p.Changes[0].Why, w) {
					t.Errorf("explanation %q lacks %q", p.Changes[0].Why, w)
				}
			}
			if p.WayBack != c.proof {
				t.Errorf("plan carries proof %v, want %v", p.WayBack, c.proof)
			}
		})
	}
}
