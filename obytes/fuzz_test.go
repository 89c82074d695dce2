package obytes

import (
	"encoding/json"
	"testing"

	"github.com/stprobe/stprobe/statefile"
)

func FuzzParseAssignment(f *testing.F) {
	for _, s := range []string{
		"PRODUCT_STATE=0xC6", "PRODUCT_STATE=open", "TZEN=0xB4", "tzen=disabled", "NSBOOTADD=0x80000",
		"WRPSGn1=0xff", "HDP1_STRT=1", "LOCKBL=0x1", "BOR_LEV=3", "SWAP_BANK=0b1", "IWDG_SW=", "=", "",
		"PRODUCT_STATE=0x1_7", "SECWM1_END=-1", "EDATA1_STRT=99999999999", "X=Y=Z",
	} {
		for i := range allDevIDs {
			f.Add(uint8(i), s)
		}
	}
	f.Fuzz(func(t *testing.T, line uint8, s string) {
		l, err := ForDevID(allDevIDs[int(line)%len(allDevIDs)])
		if err != nil {
			t.Fatal(err)
		}
		a, err := l.ParseAssignment(s)
		if err != nil {
			return
		}
		if a.Value > a.Field.Max() {
			t.Fatalf("%q: value 0x%X beyond %s", s, a.Value, a.Field.Bits())
		}
		again, err := l.ParseAssignment(a.String())
		if err != nil || again.Value != a.Value || again.Field.Name != a.Field.Name {
			t.Fatalf("%q → %s does not parse back: %v", s, a, err)
		}
		regs := l.Encode(map[string]uint32{}, []Assignment{a})
		if v := l.DecodeField(a.Field, regs[a.Field.Register]); v.Raw != a.Value || !v.Valid {
			t.Fatalf("%q decodes as %+v", s, v)
		}
	})
}

// checkDecode decodes v as register reg of l: every field is one of l's,
// fits its bits and means something, an enum's value is valid unless it
// is named INVALID, and the fields rebuild the bits they cover.
func checkDecode(t *testing.T, l *Layout, reg string, v uint32) {
	t.Helper()
	var covered, rebuilt uint32
	for _, fv := range l.Decode(reg, v) {
		fd, ok := l.Field(fv.Field)
		if !ok {
			t.Fatalf("%s %s 0x%08X: decoded unknown field %s", l.LineName, reg, v, fv.Field)
		}
		if fv.Meaning == "" || fv.Raw > fd.Max() {
			t.Fatalf("%s %s = %+v", l.LineName, fv.Field, fv)
		}
		if fd.Kind == KindEnum && fv.Valid == (fv.Name == "INVALID") {
			t.Fatalf("%s %s: valid %v name %q", l.LineName, fv.Field, fv.Valid, fv.Name)
		}
		covered |= fd.Mask()
		rebuilt = fd.Set(rebuilt, fv.Raw)
	}
	if rebuilt != v&covered {
		t.Fatalf("%s %s 0x%08X: fields rebuild 0x%08X of 0x%08X", l.LineName, reg, v, rebuilt, v&covered)
	}
}

func FuzzDecodeRegister(f *testing.F) {
	for _, v := range []uint32{0, 0xFFFFFFFF, 0x1000ED00, 0xB4C31700, 0x080000C3, 0x007F0000} {
		f.Add(uint8(0), uint8(0), v)
		f.Add(uint8(1), uint8(3), v)
		f.Add(uint8(2), uint8(7), v)
	}
	f.Fuzz(func(t *testing.T, line, reg uint8, v uint32) {
		l, _ := ForDevID(allDevIDs[int(line)%len(allDevIDs)])
		r := l.Registers[int(reg)%len(l.Registers)]
		checkDecode(t, l, r.Name, v)
		if d := l.Diff(map[string]uint32{r.Name: v}, map[string]uint32{r.Name: v}); len(d) != 0 {
			t.Fatalf("diff of equal values: %v", d)
		}
	})
}

// FuzzDecodeBackup: any backup file content decodes without panicking, and
// the assignments planned from a decoded backup name only this line's
// fields, fit them, and turn the chip's registers into the backup's
// (field bits of every register both hold).
func FuzzDecodeBackup(f *testing.F) {
	l, err := ForDevID(allDevIDs[0])
	if err != nil {
		f.Fatal(err)
	}
	snap := &Snapshot{DevID: l.DevID, LineName: l.LineName, Cur: map[string]uint32{}, Prg: map[string]uint32{}}
	for i, r := range l.Registers {
		snap.Cur[r.Name] = 0xB4C31700 ^ uint32(i)*0x01010101
		snap.Prg[r.Name] = snap.Cur[r.Name]
	}
	good, err := json.Marshal(Backup{DevID: l.DevID, LineName: l.LineName, UID: "0123", Snapshot: snap, Fields: l.DecodeAll(snap.Cur)})
	if err != nil {
		f.Fatal(err)
	}
	for i := range allDevIDs {
		f.Add(uint8(i), uint32(0), good)
	}
	f.Add(uint8(1), uint32(0xFFFFFFFF), []byte(`{"snapshot":{"cur":{"OPTSR":4294967295,"NOPE":1}}}`))
	f.Add(uint8(2), uint32(0x12345678), []byte(`{"snapshot":null}`))
	if unknownPrg, err := json.Marshal(Backup{DevID: l.DevID, LineName: l.LineName, UID: "0123", Snapshot: &Snapshot{DevID: l.DevID, Cur: snap.Cur, Prg: map[string]uint32{"OPTSR3": 1}}}); err == nil {
		f.Add(uint8(0), uint32(2), unknownPrg) // a _PRG name the line lacks: refused
	}
	f.Add(uint8(0), uint32(1), []byte(`{"snapshot":{"cur":{"OPTSR":-1}}}`))
	f.Add(uint8(0), uint32(1), []byte(`{"snapshot":{"cur":{"OPTSR":4294967296}}}`))
	f.Add(uint8(0), uint32(1), []byte(`[`))
	f.Fuzz(func(t *testing.T, line uint8, seed uint32, data []byte) {
		l, err := ForDevID(allDevIDs[int(line)%len(allDevIDs)])
		if err != nil {
			t.Fatal(err)
		}
		bk, err := DecodeBackup(data)
		if err != nil {
			return
		}
		if bk.Snapshot == nil {
			return // the caller refuses a backup without option bytes
		}
		cur := map[string]uint32{}
		for i, r := range l.Registers {
			cur[r.Name] = seed ^ uint32(i)*0x9E3779B9
		}
		want := bk.Snapshot.Cur
		as := l.AssignmentsTo(cur, want)
		seen := map[string]bool{}
		for _, a := range as {
			fd, ok := l.Field(a.Field.Name)
			if !ok || fd != a.Field {
				t.Fatalf("assignment to %s, not a field of %s", a.Field.Name, l.LineName)
			}
			if a.Value > fd.Max() {
				t.Fatalf("%s: 0x%X beyond %s", fd.Name, a.Value, fd.Bits())
			}
			if seen[fd.Name] {
				t.Fatalf("%s assigned twice", fd.Name)
			}
			seen[fd.Name] = true
		}
		after := l.Encode(cur, as)
		for _, r := range l.Registers {
			w, ok := want[r.Name]
			if !ok {
				continue
			}
			for _, fd := range l.FieldsOf(r.Name) {
				if fd.Get(after[r.Name]) != fd.Get(w) {
					t.Fatalf("%s: 0x%X after the assignments, backup holds 0x%X", fd.Name, fd.Get(after[r.Name]), fd.Get(w))
				}
			}
		}
		if d := l.Diff(after, want); len(d) != 0 {
			t.Fatalf("still differs from the backup: %+v", d)
		}
	})
}

// FuzzDecodeJournal: any journal file content decodes without panicking or
// is refused; a decoded journal describes itself, and its outcome against
// any register values is one of the four documented answers, "applied"
// only when every wanted value is there.
func FuzzDecodeJournal(f *testing.F) {
	good, err := json.Marshal(statefile.Journal{ChipUID: "0123", Line: "STM32H56x/H57x", Phase: "option bytes",
		Changes: []string{"TZEN=0xB4"}, Before: map[string]uint32{"OPTSR2": 0xC3000000}, Want: map[string]uint32{"OPTSR2": 0xB4000000}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, uint32(0xB4000000))
	f.Add(good, uint32(0xC3000000))
	f.Add([]byte(`{"want":{"OPTSR2":1,"OPTSR":2},"before":null,"failure":"step x"}`), uint32(1))
	f.Add([]byte(`{"want":{}}`), uint32(0))
	f.Add([]byte(`{"time":"not a time"}`), uint32(0))
	f.Add([]byte(`null`), uint32(0))
	f.Fuzz(func(t *testing.T, data []byte, v uint32) {
		j, err := statefile.DecodeJournal(data)
		if err != nil {
			return
		}
		if j.String() == "" {
			t.Fatal("journal without a description")
		}
		cur := map[string]uint32{}
		for name := range j.Want {
			cur[name] = v
		}
		switch out := j.Outcome(cur); out {
		case "applied":
			for name, want := range j.Want {
				if cur[name] != want {
					t.Fatalf("applied, but %s is 0x%X, want 0x%X", name, cur[name], want)
				}
			}
		case "not applied", "partly applied", "unknown":
		default:
			t.Fatalf("outcome %q", out)
		}
		if out := j.Outcome(nil); out != "unknown" {
			t.Fatalf("outcome without registers: %q", out)
		}
	})
}
