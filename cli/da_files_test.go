package cli

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32h5/dacred"
)

// Every credential and OBK file a command reads goes through one bounded
// read: /dev/zero, a FIFO with no writer, a directory and a 50 MB file are
// refused at once (exit 2, the file's kind named), and the chip is not
// touched.
func TestCLICredentialFilesBounded(t *testing.T) {
	dir := t.TempDir()
	pw, cert := filepath.Join(dir, "pw"), filepath.Join(dir, "cert")
	step(t, 0, "sim", "credentials", "h533-provisioning-da", "--out", pw)
	step(t, 0, "sim", "credentials", "h533-closed-da", "--out", cert)
	key, chain := filepath.Join(cert, dacred.LeafKeyFile), filepath.Join(cert, dacred.ChainFile)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(50 << 20); err != nil { // 50 MB, sparse
		t.Fatal(err)
	}
	f.Close()
	bad := []struct{ path, kind string }{
		{"/dev/zero", "character device"},
		{fifo, "FIFO"},
		{dir, "directory"},
		{big, "52428800 bytes"},
	}
	commands := []struct {
		scenario string
		args     func(bad string) []string
	}{
		{"h533-provisioning-da", func(b string) []string { return []string{"da", "check-obk", "--part", "H533", b} }},
		{"h533-provisioning-da", func(b string) []string { return []string{"da", "provision", "--part", "H533", "--obk", b} }},
		{"h533-provisioning-da", func(b string) []string { return []string{"da", "regress", "--password", b} }},
		{"h533-closed-da", func(b string) []string { return []string{"da", "regress", "--key", b, "--cert", chain} }},
		{"h533-closed-da", func(b string) []string { return []string{"da", "open-debug", "--key", key, "--cert", b} }},
		{"h533-provisioning-da", func(b string) []string {
			return []string{"ob", "plan", "PRODUCT_STATE=0xC6", "--password", b, "--obk", filepath.Join(pw, dacred.PasswordOBKFile), "--part", "H533"}
		}},
		{"h533-provisioning-da", func(b string) []string {
			return []string{"ob", "plan", "PRODUCT_STATE=0xC6", "--password", filepath.Join(pw, dacred.PasswordFile), "--obk", b, "--part", "H533"}
		}},
	}
	for _, c := range commands {
		for _, b := range bad {
			args := c.args(b.path)
			t.Run(strings.Join(args[:2], " ")+" "+filepath.Base(b.path), func(t *testing.T) {
				bn := simBench(t, c.scenario, nil)
				m := scenario.Model(bn.Simulated())
				state := m.ProductState()
				start := time.Now()
				if args[1] != "check-obk" {
					args = append(args, "--state-dir", t.TempDir())
				}
				code, _, errOut := runOn(t, bn, args...)
				if code != 2 || !strings.Contains(errOut, b.kind) {
					t.Errorf("exit %d, want 2 naming %q: %s", code, b.kind, errOut)
				}
				if d := time.Since(start); d > 10*time.Second {
					t.Errorf("took %v", d)
				}
				if m.DASessionActive() || m.ProductState() != state {
					t.Errorf("the chip was touched: DA loop %v, state %v", m.DASessionActive(), m.ProductState())
				}
			})
		}
	}
}

// A key that is not the chain's leaf key is refused offline, before the
// chip is reset into its DA loop; so is the intermediate chain.
func TestCLIKeyNotTheLeafs(t *testing.T) {
	dir := t.TempDir()
	mine, other := filepath.Join(dir, "mine"), filepath.Join(dir, "other")
	step(t, 0, "sim", "credentials", "h533-closed-da", "--out", mine)
	step(t, 0, "da", "make-certs", "--part", "H533", "--out", other)
	for _, tc := range []struct {
		name, key, cert, text string
	}{
		{"another chain's key", filepath.Join(other, dacred.LeafKeyFile), filepath.Join(mine, dacred.ChainFile), "not the one the leaf certificate certifies"},
		{"the intermediate chain", filepath.Join(mine, dacred.IntermediateKey), filepath.Join(mine, dacred.IntermediateChain), dacred.ChainFile},
	} {
		for _, cmd := range []string{"regress", "open-debug"} {
			b := simBench(t, "h533-closed-da", nil)
			m := scenario.Model(b.Simulated())
			code, _, errOut := runOn(t, b, "da", cmd, "--key", tc.key, "--cert", tc.cert, "--state-dir", t.TempDir())
			if code != 2 || !strings.Contains(errOut, tc.text) {
				t.Errorf("%s, da %s: exit %d: %s", tc.name, cmd, code, errOut)
			}
			if m.DASessionActive() || m.ProductState() != targets.StateClosed {
				t.Errorf("%s, da %s: the chip was touched", tc.name, cmd)
			}
		}
	}
}

// The credentials in the other forms users have regress the board: the
// key in SEC 1 PEM and the chain as raw binary certificates (what stprobe
// wrote before it wrote ST's .b64), and a base64 chain wrapped in lines.
func TestCLIRegressWithOtherForms(t *testing.T) {
	dir := t.TempDir()
	step(t, 0, "sim", "credentials", "h533-closed-da", "--out", dir)
	kb, _ := os.ReadFile(filepath.Join(dir, dacred.LeafKeyFile))
	key, err := dacred.DecodeKeyPEM(kb)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalECPrivateKey(key)
	sec1 := filepath.Join(dir, "leaf-sec1.pem")
	cb, _ := os.ReadFile(filepath.Join(dir, dacred.ChainFile))
	certs, err := dacred.DecodeChain(cb)
	if err != nil {
		t.Fatal(err)
	}
	var bare []byte
	for _, c := range certs {
		bare = append(bare, c.Encode()...)
	}
	raw := filepath.Join(dir, "chain.bin")
	var wrapped []byte
	for i := 0; i < len(cb); i += 64 {
		wrapped = append(append(wrapped, cb[i:min(i+64, len(cb))]...), '\r', '\n')
	}
	lines := filepath.Join(dir, "chain-lines.b64")
	for _, w := range []struct {
		path string
		data []byte
	}{{sec1, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})}, {raw, bare}, {lines, wrapped}} {
		if err := os.WriteFile(w.path, w.data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ key, cert string }{{sec1, raw}, {filepath.Join(dir, dacred.LeafKeyFile), lines}} {
		b := simBench(t, "h533-closed-da", nil)
		args := []string{"da", "regress", "--key", tc.key, "--cert", tc.cert, "--state-dir", t.TempDir()}
		code, out, errOut := runOn(t, b, append(args, "--json")...)
		if code != 0 {
			t.Fatalf("plan %s %s: %s", tc.key, tc.cert, errOut)
		}
		_, phrase, _, _ := daPlanOf(t, out)
		code, out, errOut = runOn(t, b, append(args, "--confirm", phrase)...)
		if m := scenario.Model(b.Simulated()); code != 0 || m.ProductState() != targets.StateOpen || m.DAProvisioned() != stm32h5.DANone {
			t.Errorf("regress with %s and %s: exit %d, chip %v\n%s%s", filepath.Base(tc.key), filepath.Base(tc.cert), code, m.ProductState(), out, errOut)
		}
	}
}
