package sweep

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/targets"
)

// TestPathStateReadBack: the product state an other path read is written
// as {"code", "name"} and, read back, still shows in the grid.
func TestPathStateReadBack(t *testing.T) {
	m := &Matrix{}
	m.AddPaths([]PathRow{{Path: "uart", Outcome: "answered", State: "PROVISIONING", ProductState: targets.StateProvisioning, Summary: "s"}}, nil)
	var b bytes.Buffer
	if err := WriteJSON(&b, m, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"product_state": {`) || !strings.Contains(b.String(), `"code": "0x17"`) {
		t.Errorf("JSON of the path:\n%s", b.String())
	}
	back, err := ReadJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.OtherPaths) != 1 || back.OtherPaths[0].GridText() != "answered, PROVISIONING" {
		t.Errorf("read back: %+v", back.OtherPaths)
	}
}
