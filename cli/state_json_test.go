package cli

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestProductStateHasOneJSONShape: info, sweep, ob read, da discover and
// boot probe and the sweep's other paths print a product state the same way, {"code": "0x17", "name":
// "PROVISIONING"}, under the key product_state.
func TestProductStateHasOneJSONShape(t *testing.T) {
	want := map[string]any{"code": "0x17", "name": "PROVISIONING"}
	tests := []struct {
		args []string
		path []any // keys and indexes down to the product state
	}{
		{[]string{"info", "--json"}, []any{"chip", "product_state"}},
		{[]string{"sweep", "--json", "--modes", "hotplug", "--aps", "1", "--freqs", "1800"}, []any{"cells", 0, "product_state"}},
		{[]string{"ob", "read", "--json"}, []any{"product_state"}},
		{[]string{"da", "discover", "--json"}, []any{"product_state"}},
		{[]string{"da", "discover", "--json"}, []any{"discovery", "state"}},
		{[]string{"boot", "probe", "--json"}, []any{"results", 0, "product_state"}},
		{[]string{"sweep", "--boot", "--json", "--modes", "hotplug", "--aps", "1", "--freqs", "1800"}, []any{"other_paths", 0, "product_state"}},
	}
	for _, tt := range tests {
		args := append([]string{"--sim", "h533-provisioning-da"}, tt.args...)
		if tt.args[0] == "ob" {
			args = append(args, "--state-dir", t.TempDir())
		}
		code, out, errOut := runCmd(t, args...)
		if code != 0 {
			t.Errorf("%v: exit %d: %s", tt.args, code, errOut)
			continue
		}
		var v any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Errorf("%v: %v\n%s", tt.args, err, out)
			continue
		}
		for _, k := range tt.path {
			switch k := k.(type) {
			case string:
				m, _ := v.(map[string]any)
				v = m[k]
			case int:
				l, _ := v.([]any)
				if k >= len(l) {
					v = nil
					break
				}
				v = l[k]
			}
		}
		if !reflect.DeepEqual(v, want) {
			t.Errorf("%v: %v is %#v, want %v", tt.args, tt.path, v, want)
		}
	}
}
