package obytes

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"testing"
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

func FuzzDecodeRegister(f *testing.F) {
	for _, v := range []uint32{0, 0xFFFFFFFF, 0x1000ED00, 0xB4C31700, 0x080000C3, 0x007F0000} {
		f.Add(uint8(0), uint8(0), v)
		f.Add(uint8(1), uint8(3), v)
		f.Add(uint8(2), uint8(7), v)
	}
	f.Fuzz(func(t *testing.T, line, reg uint8, v uint32) {
		l, _ := ForDevID(allDevIDs[int(line)%len(allDevIDs)])
		r := l.Registers[int(reg)%len(l.Registers)]
		fields := l.Decode(r.Name, v)
		var covered uint32
		rebuilt := uint32(0)
		for _, fv := range fields {
			fd, ok := l.Field(fv.Field)
			if !ok {
				t.Fatalf("decoded unknown field %s", fv.Field)
			}
			if fv.Meaning == "" {
				t.Fatalf("%s=0x%X has no meaning", fv.Field, fv.Raw)
			}
			if fd.Kind == KindEnum && fv.Valid == (fv.Name == "INVALID") {
				t.Fatalf("%s: valid %v name %q", fv.Field, fv.Valid, fv.Name)
			}
			covered |= fd.Mask()
			rebuilt = fd.Set(rebuilt, fv.Raw)
		}
		if rebuilt != v&covered {
			t.Fatalf("%s 0x%08X: fields rebuild 0x%08X", r.Name, v, rebuilt)
		}
		if d := l.Diff(map[string]uint32{r.Name: v}, map[string]uint32{r.Name: v}); len(d) != 0 {
			t.Fatalf("diff of equal values: %v", d)
		}
	})
}

func FuzzDecodeOBKDA(f *testing.F) {
	h := sha256.Sum256([]byte("0123456789012345"))
	rec := make([]byte, OBKDASize)
	copy(rec[32:], h[:])
	rec[64] = 0x77
	rec[65] = 0x50
	sum := sha256.Sum256(rec[32:])
	copy(rec, sum[:])
	f.Add(rec)
	f.Add(bytes.Repeat([]byte{0xFF}, OBKDASize))
	f.Add(make([]byte, 10))
	f.Fuzz(func(t *testing.T, b []byte) {
		st := DecodeOBKDA(b)
		if st.Provisioned {
			s := sha256.Sum256(b[32:])
			if len(b) != OBKDASize || !bytes.Equal(s[:], b[:32]) {
				t.Fatalf("provisioned without a valid hash: %x", b)
			}
		}
		if st.Source == "" {
			t.Fatal("no source")
		}
		_ = fmt.Sprint(st)
	})
}

func TestDecodeOBKDASample(t *testing.T) {
	h := sha256.Sum256([]byte("0123456789012345"))
	rec := make([]byte, OBKDASize)
	copy(rec[32:], h[:])
	sum := sha256.Sum256(rec[32:])
	copy(rec, sum[:])
	if st := DecodeOBKDA(rec); !st.Provisioned || st.Method != DAPassword {
		t.Errorf("sample password record: %v", st)
	}
	rec[40] ^= 1
	if st := DecodeOBKDA(rec); st.Provisioned || !st.Checked {
		t.Errorf("corrupt record: %v", st)
	}
	other := make([]byte, OBKDASize)
	other[33] = 1
	sum = sha256.Sum256(other[32:])
	copy(other, sum[:])
	if st := DecodeOBKDA(other); !st.Provisioned || st.Method != DAMethodUnknown {
		t.Errorf("other key record: %v", st)
	}
}
