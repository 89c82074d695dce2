package targets

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestProductStateJSON(t *testing.T) {
	for _, tt := range []struct {
		s    ProductState
		want string
	}{
		{StateProvisioning, `{"code":"0x17","name":"PROVISIONING"}`},
		{StateOpen, `{"code":"0xED","name":"OPEN"}`},
		{StateIROTProvisioned, `{"code":"0x2E","name":"iROT_PROVISIONED"}`},
		{ProductState(0x33), `{"code":"0x33","name":"INVALID(0x33)"}`},
	} {
		b, err := json.Marshal(tt.s)
		if err != nil || string(b) != tt.want {
			t.Errorf("%v: %s, %v; want %s", tt.s, b, err, tt.want)
			continue
		}
		var back ProductState
		if err := json.Unmarshal(b, &back); err != nil || back != tt.s {
			t.Errorf("%s read back as %v, %v", b, back, err)
		}
	}
	// omitempty leaves an unread state (0) out of a struct
	b, _ := json.Marshal(struct {
		S ProductState `json:"product_state,omitempty"`
	}{})
	if string(b) != "{}" {
		t.Errorf("zero state with omitempty: %s", b)
	}
	for _, tt := range []struct {
		in   string
		want ProductState
		err  string
	}{
		{`{"code":"0x17"}`, StateProvisioning, ""},
		{`{"code":"0xc6","name":"TZ_CLOSED"}`, StateTZClosed, ""},
		{`23`, StateProvisioning, ""},
		{`{"code":"0x17","name":"OPEN"}`, 0, "is PROVISIONING, not"},
		{`{"code":"17"}`, 0, "want a byte in hex"},
		{`{"code":"0x1FF"}`, 0, "want a byte in hex"},
		{`{"code":"0xZZ"}`, 0, "want a byte in hex"},
		{`{}`, 0, "want a byte in hex"},
		{`"0x72"`, StateClosed, ""},
		{`"PROVISIONING (0x17)"`, 0, "want a byte in hex"},
		{`256`, 0, "want {"},
	} {
		var got ProductState
		err := json.Unmarshal([]byte(tt.in), &got)
		if tt.err == "" && (err != nil || got != tt.want) {
			t.Errorf("%s: %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s: error %v, want one saying %q", tt.in, err, tt.err)
		}
	}
}

func FuzzProductStateJSON(f *testing.F) {
	for _, s := range []string{`{"code":"0x17","name":"PROVISIONING"}`, `{"code":"0xED"}`, `114`, `{"code":"0x"}`, `{"code":"0x-1"}`, `null`, `{`, `"x"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var s ProductState
		if err := json.Unmarshal([]byte(in), &s); err != nil {
			return
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("%q read as %v does not write: %v", in, s, err)
		}
		var back ProductState
		if err := json.Unmarshal(b, &back); err != nil || back != s {
			t.Fatalf("%q: %s reads back as %v, %v", in, b, back, err)
		}
	})
}
