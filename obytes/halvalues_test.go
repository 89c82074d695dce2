package obytes

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// halRef is what ST's headers and HAL accept for one field: a set of raw
// values (the HAL's IS_OB_* check over the OB_* defines of
// STMicroelectronics/stm32h5xx-hal-driver Inc/stm32h5xx_hal_flash_ex.h), or,
// for numbers and masks, the largest value (the field's mask in the CMSIS
// header of the line, STMicroelectronics/cmsis-device-h5
// Include/stm32h503xx.h, stm32h523xx.h, stm32h563xx.h, and the sector
// count FLASH_SECTOR_NB the HAL checks sector numbers against).
type halRef struct {
	values []uint32 // enum: the accepted raw values
	max    uint32   // number or mask: the largest accepted value
	why    string
}

func halBits(why string) halRef { return halRef{values: []uint32{0, 1}, why: why} }

// halRefs returns the reference of every field on a line (by DEV_ID).
func halRefs(dev uint16) map[string]halRef {
	states := []uint32{0xED, 0x17, 0x2E, 0xC6, 0x72, 0x5C, 0x9A, 0xA3} // IS_OB_PRODUCT_STATE
	if dev == DevH503 {
		// Stricter than the HAL: the H503 has no TrustZone, so no TZ_CLOSED
		// (RM0492 product states; the HAL's macro is common to all lines).
		states = []uint32{0xED, 0x17, 0x2E, 0x72, 0x5C, 0x9A, 0xA3}
	}
	sectorMax := map[uint16]uint32{DevH503: 7, DevH52x: 31, DevH56x: 127}[dev] // FLASH_SECTOR_NB - 1
	wrpMax := map[uint16]uint32{DevH503: 0xFF, DevH52x: 0xFF, DevH56x: 0xFFFFFFFF}[dev]
	r := map[string]halRef{
		"PRODUCT_STATE":  {values: states, why: "IS_OB_PRODUCT_STATE"},
		"BOR_LEV":        {values: []uint32{0, 1, 2}, why: "IS_OB_USER_BOR_LEVEL: OB_BOR_LEVEL_1..3"},
		"BORH_EN":        halBits("IS_OB_USER_BORH_EN"),
		"IWDG_SW":        halBits("IS_OB_USER_IWDG"),
		"WWDG_SW":        halBits("IS_OB_USER_WWDG"),
		"NRST_STOP":      halBits("IS_OB_USER_STOP"),
		"NRST_STDBY":     halBits("IS_OB_USER_STANDBY"),
		"IO_VDD_HSLV":    halBits("IS_OB_USER_IO_VDD_HSLV"),
		"IO_VDDIO2_HSLV": halBits("IS_OB_USER_IO_VDDIO2_HSLV"),
		"IWDG_STOP":      halBits("IS_OB_USER_IWDG_STOP"),
		"IWDG_STDBY":     halBits("IS_OB_USER_IWDG_STDBY"),
		"SWAP_BANK":      halBits("IS_OB_USER_SWAP_BANK"),
		"SRAM2_RST":      halBits("IS_OB_USER_SRAM2_RST"),
		"BKPRAM_ECC":     halBits("IS_OB_USER_BKPRAM_ECC"),
		"SRAM2_ECC":      halBits("IS_OB_USER_SRAM2_ECC"),
		"NSBOOT_LOCK":    {values: []uint32{0xC3, 0xB4}, why: "IS_OB_BOOT_LOCK"},
		"NSBOOTADD":      {max: 0xFFFFFF, why: "FLASH_BOOTR_BOOTADD, bits 31:8"},
		"NSPRIV":         halBits("IS_FLASH_CFGPRIVMODE"),
		"LOCKBL":         {max: 0xFFFFFFFF, why: "FLASH_OTP_BLOCK_0..31"},
		"WRPSGn1":        {max: wrpMax, why: "FLASH_WRPR_WRPSG"},
		"WRPSGn2":        {max: wrpMax, why: "FLASH_WRPR_WRPSG"},
		"HDP1_STRT":      {max: sectorMax, why: "IS_FLASH_SECTOR"},
		"HDP1_END":       {max: sectorMax, why: "IS_FLASH_SECTOR"},
		"HDP2_STRT":      {max: sectorMax, why: "IS_FLASH_SECTOR"},
		"HDP2_END":       {max: sectorMax, why: "IS_FLASH_SECTOR"},
	}
	if dev == DevH503 {
		r["SRAM1_RST"] = halBits("IS_OB_USER_SRAM1_RST")
		r["SRAM1_ECC"] = halBits("IS_OB_USER_SRAM1_ECC")
		return r
	}
	r["BOOT_UBE"] = halRef{values: []uint32{0xB4, 0xC3}, why: "IS_OB_USER_BOOT_UBE"}
	r["SRAM1_3_RST"] = halBits("IS_OB_USER_SRAM1_3_RST")
	r["USBPD_DIS"] = halBits("IS_OB_USER_USBPD_DIS")
	r["TZEN"] = halRef{values: []uint32{0xC3, 0xB4}, why: "IS_OB_USER_TZEN"}
	r["SECBOOT_LOCK"] = halRef{values: []uint32{0xC3, 0xB4}, why: "IS_OB_BOOT_LOCK"}
	r["SECBOOTADD"] = halRef{max: 0xFFFFFF, why: "FLASH_BOOTR_BOOTADD"}
	r["SPRIV"] = halBits("IS_FLASH_CFGPRIVMODE")
	for _, n := range []string{"SECWM1_STRT", "SECWM1_END", "SECWM2_STRT", "SECWM2_END"} {
		r[n] = halRef{max: sectorMax, why: "IS_FLASH_SECTOR"}
	}
	for _, n := range []string{"EDATA1_STRT", "EDATA2_STRT"} {
		// IS_FLASH_EDATA_SIZE: at most FLASH_EDATA_SECTOR_NB (8) sectors,
		// written as the count minus one.
		r[n] = halRef{max: 7, why: "IS_FLASH_EDATA_SIZE"}
	}
	r["EDATA1_EN"], r["EDATA2_EN"] = halBits("FLASH_EDATAR_EDATA_EN"), halBits("FLASH_EDATAR_EDATA_EN")
	if dev == DevH56x {
		r["SRAM3_ECC"] = halBits("IS_OB_USER_SRAM3_ECC")
	}
	return r
}

// Every field of every line takes exactly the values ST's HAL and headers
// accept, and a refused value names the field and the values it takes.
func TestValuesMatchHAL(t *testing.T) {
	for _, l := range layouts(t) {
		refs := halRefs(l.DevID)
		if len(refs) != len(l.Fields) {
			var names []string
			for _, f := range l.Fields {
				if _, ok := refs[f.Name]; !ok {
					names = append(names, f.Name)
				}
			}
			t.Errorf("%s: %d fields, %d references (fields without one: %v)", l.LineName, len(l.Fields), len(refs), names)
		}
		for i := range l.Fields {
			f := &l.Fields[i]
			ref, ok := refs[f.Name]
			if !ok {
				continue
			}
			if ref.values == nil {
				if f.Max() != ref.max {
					t.Errorf("%s: %s holds up to 0x%X, %s says 0x%X", l.LineName, f.Name, f.Max(), ref.why, ref.max)
				}
				if _, err := l.ParseValue(f, fmt.Sprintf("0x%X", ref.max)); err != nil {
					t.Errorf("%s: %s=0x%X refused: %v", l.LineName, f.Name, ref.max, err)
				}
				if ref.max < 0xFFFFFFFF {
					if _, err := l.ParseValue(f, fmt.Sprintf("0x%X", ref.max+1)); !errors.Is(err, ErrInvalidValue) {
						t.Errorf("%s: %s=0x%X accepted past %s", l.LineName, f.Name, ref.max+1, ref.why)
					}
				}
				continue
			}
			allowed := map[uint32]bool{}
			for _, v := range ref.values {
				allowed[v] = true
			}
			for raw := uint32(0); raw <= f.Max(); raw++ {
				_, err := l.ParseValue(f, fmt.Sprintf("0x%X", raw))
				if (err == nil) != allowed[raw] {
					t.Errorf("%s: %s=0x%X: accepted %v, %s accepts %v (%v)", l.LineName, f.Name, raw, err == nil, ref.why, allowed[raw], err)
				}
				if err != nil && (!errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), f.Name) || !strings.Contains(err.Error(), "valid: ")) {
					t.Errorf("%s: %s=0x%X refused without naming the field and its values: %v", l.LineName, f.Name, raw, err)
				}
			}
		}
	}
}

// BOR_LEV=3 reads as a name but is refused everywhere a plan is made: by
// text, by a hand-built assignment, and by a return to a backup holding it.
func TestBORLevel3Refused(t *testing.T) {
	in := snapshotOf(t, DevH56x, 0xED, 0xC3)
	l := in.Layout
	f, _ := l.Field("BOR_LEV")
	if got := l.DecodeField(f, 3); got.Name != "LEVEL1_ALT" || !got.Valid {
		t.Errorf("BOR_LEV 3 read from a chip decodes as %+v", got)
	}
	_, err := l.ParseAssignments([]string{"BOR_LEV=3"})
	want := "BOR_LEV=LEVEL1_ALT (0x3) is refused: ST's HAL accepts BOR levels 0-2 only (IS_OB_USER_BOR_LEVEL, stm32h5xx_hal_flash_ex.h) (valid: LEVEL1 (0x0), LEVEL2 (0x1), LEVEL3 (0x2))"
	if !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), want) {
		t.Fatalf("BOR_LEV=3: %v", err)
	}
	if _, err := MakePlan(in, []Assignment{{Field: f, Value: 3}}); !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("hand-built BOR_LEV=3 plan: %v", err)
	}
	want3 := map[string]uint32{"OPTSR": in.Before.Cur["OPTSR"] | 3}
	as := l.AssignmentsTo(in.Before.Cur, want3)
	if len(as) != 1 || as[0].Field.Name != "BOR_LEV" {
		t.Fatalf("return to a BOR_LEV=3 backup: %v", as)
	}
	if _, err := MakePlan(in, as); !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), "BOR_LEV") {
		t.Fatalf("return to a BOR_LEV=3 backup planned: %v", err)
	}
}
