package capture

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
)

func seed(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/h533-provisioning.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRoundTrip: a decoded capture encodes to the same bytes.
func TestRoundTrip(t *testing.T) {
	data := seed(t)
	f, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, data) {
		t.Fatal("decode → encode changed the file")
	}
	if f.State == nil || f.State.ProductState != 0x17 || f.State.TZEN != 0xB4 {
		t.Fatalf("state = %+v, want PROVISIONING 0x17, TZEN 0xB4", f.State)
	}
}

// TestDecodeErrors: a hand-edited file is refused with the line of the
// mistake.
func TestDecodeErrors(t *testing.T) {
	data := string(seed(t))
	lineOf := func(s string) int { return strings.Count(data[:strings.Index(data, s)], "\n") + 1 }
	cases := []struct {
		name, old, new, want string
		line                 int
	}{
		{"syntax", `"version": 1,`, `"version": 1`, "line ", lineOf(`"header"`)},
		{"unknown key", `"tool": "stprobe"`, `"tooll": "stprobe"`, "unknown field", lineOf(`"tool"`)},
		{"bad hex", `"dpidr": "0x6BA02477"`, `"dpidr": "0xZZ"`, "not a 32-bit number", lineOf(`"dpidr"`)},
		{"wrong type", `"millivolts": 3290`, `"millivolts": "3290"`, "millivolts", lineOf(`"millivolts"`)},
		{"format", `"stprobe-capture"`, `"something-else"`, "want \"stprobe-capture\"", lineOf(`"format"`)},
		{"newer version", `"version": 1`, `"version": 9`, "update stprobe", lineOf(`"version"`)},
		{"product state", `"product_state": "0x17"`, `"product_state": "0x18"`, "no product state", lineOf(`"product_state"`)},
		{"tzen", `"tzen": "0xB4"`, `"tzen": "0xB5"`, "tzen 0xB5", lineOf(`"tzen"`)},
		{"outcome", `"outcome": "mode-failed"`, `"outcome": "maybe"`, "outcome \"maybe\"", lineOf(`"outcome": "mode-failed"`)},
		{"flash without header", `"regions": [`, `"flash": [{"address": "0x08000000", "data": "AAAA"}], "regions": [`, "with_flash false", lineOf(`"regions": [`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(data, c.old) {
				t.Fatalf("the seed file has no %q", c.old)
			}
			edited := strings.Replace(data, c.old, c.new, 1)
			_, err := Decode([]byte(edited))
			if err == nil {
				t.Fatal("decoded; want an error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
			if want := "line " + itoa(c.line) + ":"; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %s", err, want)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestDiff: captures that differ only in header and timings agree; a
// changed register is named.
func TestDiff(t *testing.T) {
	a, _ := Decode(seed(t))
	b, _ := Decode(seed(t))
	b.Header.Taken = "2030-01-01T00:00:00Z"
	b.Sweep.Cells[0].WallUS += 99
	if d := Diff(a, b); d != nil {
		t.Fatalf("header and timings differ only, Diff = %q", d)
	}
	b.OptionBytes.Registers[0].Cur ^= 1
	if d := Diff(a, b); len(d) != 1 || !strings.HasPrefix(d[0], "option_bytes") {
		t.Fatalf("Diff = %q, want one option_bytes difference", d)
	}
}

// FuzzDecode: no input makes Decode panic, and what it accepts encodes and
// decodes again to the same capture.
func FuzzDecode(f *testing.F) {
	f.Add(seed(f))
	f.Add([]byte(`{"format":"stprobe-capture","version":1}`))
	f.Add([]byte(`{"format":"stprobe-capture","version":1,"state":{"product_state":"0xED","tzen":"0xC3"}}`))
	f.Add([]byte(`{"sweep":{"cells":[{"mode":"x","outcome":"ok","khz":0}]}}`))
	f.Add([]byte("{\n\"target\": {\"dpidr\": \"0x1\"}\n}\n{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Decode(data)
		if err != nil {
			return
		}
		out, err := Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(out); err != nil {
			t.Fatalf("an accepted capture re-encodes to one refused: %v", err)
		}
	})
}
