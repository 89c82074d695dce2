package credform

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32h5/dacred"
	"github.com/stprobe/stprobe/tui/common"
)

func TestFind(t *testing.T) {
	root := t.TempDir()
	pw, cert := filepath.Join(root, "pw"), filepath.Join(root, "cert")
	if err := scenario.Credentials("h533-provisioning-da", pw); err != nil {
		t.Fatal(err)
	}
	if err := scenario.Credentials("h533-closed-da", cert); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dirs []string
		want map[Field]string
	}{
		{"nothing", []string{t.TempDir(), ""}, map[Field]string{}},
		{"password and its obk", []string{pw}, map[Field]string{Password: filepath.Join(pw, dacred.PasswordFile), OBK: filepath.Join(pw, dacred.PasswordOBKFile)}},
		{"key and chain", []string{cert}, map[Field]string{Key: filepath.Join(cert, dacred.LeafKeyFile), Chain: filepath.Join(cert, dacred.ChainFile), OBK: filepath.Join(cert, dacred.CertOBKFile)}},
		{"one level down", []string{"/nonexistent", root}, map[Field]string{Key: filepath.Join(cert, dacred.LeafKeyFile), Chain: filepath.Join(cert, dacred.ChainFile), OBK: filepath.Join(cert, dacred.CertOBKFile)}},
	}
	for _, tc := range tests {
		got := Find(tc.dirs)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			continue
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%s: field %d = %q, want %q", tc.name, k, got[k], v)
			}
		}
	}
}

func TestLoadCredentials(t *testing.T) {
	dir := t.TempDir()
	if err := scenario.Credentials("h533-closed-da", dir); err != nil {
		t.Fatal(err)
	}
	key, chain := filepath.Join(dir, dacred.LeafKeyFile), filepath.Join(dir, dacred.ChainFile)
	otherDir := t.TempDir()
	h533, _ := stm32h5.LookupPart("H533")
	if fs, err := dacred.MakeCerts(h533, dacred.MakeOptions{Seed: []byte("other")}); err != nil || fs.Write(otherDir) != nil {
		t.Fatal(err)
	}
	other := filepath.Join(otherDir, dacred.LeafKeyFile)
	tests := []struct {
		pw, key, chain string
		field          Field
		err            string
		method         string
	}{
		{"", "", "", Password, "give a password file, or the leaf key", ""},
		{"x", key, "", Password, "not both", ""},
		{"", key, "", Chain, "give the certificate chain", ""},
		{"", "", chain, Key, "give the leaf key", ""},
		{filepath.Join(dir, "none"), "", "", Password, "no such file", ""},
		{"", chain, chain, Key, "", ""},
		{"", key, chain, Key, "", "certificate"},
		{"", other, chain, Key, "not the one the leaf certificate certifies", ""},
		{"", "/dev/zero", chain, Key, "character device", ""},
		{"", key, "/dev/zero", Chain, "character device", ""},
		{"/dev/zero", "", "", Password, "character device", ""},
	}
	for i, tc := range tests {
		c, f, err := LoadCredentials(tc.pw, tc.key, tc.chain)
		switch {
		case tc.method != "":
			if err != nil || c.Method() != tc.method {
				t.Errorf("%d: %v %q", i, err, c.Method())
			}
		case err == nil:
			t.Errorf("%d: no error", i)
		case f != tc.field || !strings.Contains(err.Error(), tc.err):
			t.Errorf("%d: field %d %v, want %d %q", i, f, err, tc.field, tc.err)
		}
	}
}

func TestCheckNewFile(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old")
	if err := os.WriteFile(old, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for path, ok := range map[string]bool{"": true, filepath.Join(dir, "new"): true, old: false, filepath.Join(dir, "no", "x"): false} {
		if err := CheckNewFile(path); (err == nil) != ok {
			t.Errorf("%q: %v", path, err)
		}
	}
}

// TestFormKeys: typing, moving between fields, the choice, submit and
// cancel; Check names the wrong field.
func TestFormKeys(t *testing.T) {
	f := New("t", Options{Part: "H533"}, OBK, Part, Permission)
	press := func(ks ...tea.KeyPressMsg) Result {
		var r Result
		for _, k := range ks {
			r, _ = f.Update(k)
		}
		return r
	}
	for _, r := range "/x.obk" {
		press(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	press(tea.KeyPressMsg{Code: tea.KeyTab}, tea.KeyPressMsg{Code: tea.KeyTab}, tea.KeyPressMsg{Code: tea.KeySpace, Text: " "})
	if f.Value(OBK) != "/x.obk" || f.Value(Part) != "H533" || f.Value(Permission) != da.PermToTZ.String() {
		t.Errorf("values %q %q %q", f.Value(OBK), f.Value(Part), f.Value(Permission))
	}
	if r := press(tea.KeyPressMsg{Code: tea.KeyEnter}); r != Submitted {
		t.Errorf("enter: %v", r)
	}
	if _, err := f.Check(); err == nil || !strings.HasPrefix(err.Error(), ".obk file: cannot read it") {
		t.Errorf("check: %v", err)
	}
	if v := strings.Join(f.View(80, common.NewPens(common.NewStyles(common.Theme{NoColor: true}))), "\n"); !strings.Contains(v, "✖ cannot read it") || !strings.Contains(v, "[to-tz]") {
		t.Errorf("view:\n%s", v)
	}
	if r := press(tea.KeyPressMsg{Code: tea.KeyEscape}); r != Cancelled {
		t.Errorf("esc: %v", r)
	}
	f.Set(OBK, "/dev/zero") // a device is refused at once, not read
	if _, err := f.Check(); err == nil || !strings.Contains(err.Error(), "character device") {
		t.Errorf("check /dev/zero: %v", err)
	}
}
