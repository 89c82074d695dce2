package targets

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// productStateJSON is the one JSON shape of a product state, wherever
// stprobe prints one: {"code": "0x17", "name": "PROVISIONING"}.
type productStateJSON struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// MarshalJSON writes s as {"code": "0x17", "name": "PROVISIONING"}: the
// byte in hex as the reference manual writes it, and the name ST's tools
// print.
func (s ProductState) MarshalJSON() ([]byte, error) {
	return json.Marshal(productStateJSON{Code: fmt.Sprintf("0x%02X", uint8(s)), Name: s.String()})
}

// UnmarshalJSON reads what MarshalJSON writes; the name, when given, must
// be the code's. A bare number or a code alone ("0x17"), as files written
// before this shape hold them, are read too.
func (s *ProductState) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil // as encoding/json leaves a value it reads null into
	}
	if len(b) > 0 && b[0] == '"' {
		var code string
		if err := json.Unmarshal(b, &code); err == nil {
			return s.fromCode(code) // "0x17", as sweep files before this shape hold it
		}
	}
	if len(b) > 0 && b[0] != '{' {
		var n uint8
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("product state %s: want {\"code\": \"0x17\", \"name\": \"PROVISIONING\"} or a byte", b)
		}
		*s = ProductState(n)
		return nil
	}
	var j productStateJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("product state: %w", err)
	}
	var got ProductState
	if err := got.fromCode(j.Code); err != nil {
		return err
	}
	if j.Name != "" && j.Name != got.String() {
		return fmt.Errorf("product state %s is %s, not %q", j.Code, got, j.Name)
	}
	*s = got
	return nil
}

// fromCode sets s from its code in hex, "0x17".
func (s *ProductState) fromCode(code string) error {
	if len(code) != 4 || (code[:2] != "0x" && code[:2] != "0X") {
		return fmt.Errorf("product state code %q: want a byte in hex, 0x00 to 0xFF", code)
	}
	n, err := strconv.ParseUint(code[2:], 16, 8)
	if err != nil {
		return fmt.Errorf("product state code %q: want a byte in hex, 0x00 to 0xFF", code)
	}
	*s = ProductState(n)
	return nil
}
