package flashpane

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/flashimage"
	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/tui/internal/tuitest"
)

// env is the Flash pane driven on a simulated bench.
type env struct {
	*tuitest.Driver
	m     *Model
	chip  *stm32h5.Model
	dir   string
	image []byte
}

func newEnv(t *testing.T, scenario string) *env {
	t.Helper()
	b, _, err := bench.Open(context.Background(), bench.Selector{Sim: scenario}, bench.Options{Now: func() time.Time { return tuitest.Clock }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	e := &env{Driver: tuitest.NewDriver(t, b, true), dir: t.TempDir()}
	e.m = New(e.C, WithStateDir(filepath.Join(e.dir, "state")))
	e.m.SetSize(80, 24)
	e.Pane = e.m
	e.chip = b.Simulated().Chip().(*stm32h5.Model)
	e.image = make([]byte, 12<<10)
	for i := range e.image {
		e.image[i] = byte(i * 5)
	}
	hex := flashimage.EncodeHEX([]flashimage.Segment{{Addr: 0x08000000, Data: e.image}}, 0x08000101, true)
	if err := os.WriteFile(filepath.Join(e.dir, "app.hex"), hex, 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestPutTheFirmwareBack: file → plan → guard (the phrase) → write with
// verify and reset-run → result; the board holds the image and runs.
func TestPutTheFirmwareBack(t *testing.T) {
	e := newEnv(t, "h533-open")
	if err := e.chip.LoadFlash(0x08002000, []byte("old")); err != nil {
		t.Fatal(err)
	}
	e.Keys("e", "type:"+filepath.Join(e.dir, "app.hex"), "enter")
	scr := e.Screen()
	for _, want := range []string{"sectors to erase (2)", "bank 1 sector 0", "empty", "bank 1 sector 1", "holds data", "phrase: erase 2 sectors"} {
		if !strings.Contains(scr, want) {
			t.Fatalf("plan screen lacks %q:\n%s", want, scr)
		}
	}
	tuitest.CheckSize(t, e.m.View(), 80, 24)
	e.Keys("w")
	if !e.m.Capturing() || !strings.Contains(e.Screen(), "CAUTION") {
		t.Fatalf("no guard:\n%s", e.Screen())
	}
	e.Keys("type:erase 2 sectors", "enter")
	scr = e.Screen()
	if !strings.Contains(scr, "✓ erased 2 sectors, programmed 12288 bytes, verified") || !strings.Contains(scr, "runs the new program") {
		t.Fatalf("result screen:\n%s", scr)
	}
	if !bytes.Equal(e.chip.FlashBytes(0x08000000, len(e.image)), e.image) {
		t.Error("the flash does not hold the image")
	}
	tuitest.CheckSize(t, e.m.View(), 80, 24)
}

// TestRefusedFile: a malformed file and a BIN without an address are
// refused on the file screen; nothing is planned.
func TestRefusedFile(t *testing.T) {
	e := newEnv(t, "h533-open")
	bad := filepath.Join(e.dir, "bad.hex")
	if err := os.WriteFile(bad, []byte(":0100000011EF\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.Keys("e", "type:"+bad, "enter")
	if !strings.Contains(e.Screen(), "Intel HEX line 1: checksum") || e.Ended(planned{}) != 0 {
		t.Fatalf("malformed HEX:\n%s", e.Screen())
	}
	bin := filepath.Join(e.dir, "app.bin")
	if err := os.WriteFile(bin, e.image, 0o644); err != nil {
		t.Fatal(err)
	}
	e.Keys("ctrl+u", "type:"+bin, "enter")
	if !strings.Contains(e.Screen(), "the address it goes to") {
		t.Fatalf("BIN without address:\n%s", e.Screen())
	}
	e.Keys("type:@0x08000000", "enter")
	if !strings.Contains(e.Screen(), "sectors to erase (2)") {
		t.Fatalf("BIN with address:\n%s", e.Screen())
	}
}

// TestFileFieldLetsGo: the pane takes every key only while the path is
// typed (e or enter starts, esc stops), so tab and the digits still leave
// it; tab completes the path.
func TestFileFieldLetsGo(t *testing.T) {
	e := newEnv(t, "h533-open")
	if e.m.Capturing() {
		t.Fatal("the pane captures the keys before anything is typed")
	}
	e.Keys("e")
	if !e.m.Capturing() {
		t.Fatal("e did not start typing")
	}
	e.Keys("esc")
	if e.m.Capturing() {
		t.Fatal("esc did not stop typing")
	}
	e.Keys("enter", "type:"+filepath.Join(e.dir, "app.h"), "tab")
	if got := e.m.in.Value(); got != filepath.Join(e.dir, "app.hex") {
		t.Fatalf("tab completed to %q", got)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "app.bin"), e.image, 0o644); err != nil {
		t.Fatal(err)
	}
	e.Keys("ctrl+u", "type:"+filepath.Join(e.dir, "ap"), "tab")
	if got, scr := e.m.in.Value(), e.Screen(); got != filepath.Join(e.dir, "app.") || !strings.Contains(scr, "app.bin  app.hex") {
		t.Fatalf("two matches: field %q, screen:\n%s", got, scr)
	}
	e.Keys("type:hex", "enter")
	if !strings.Contains(e.Screen(), "sectors to erase") {
		t.Fatalf("no plan after completion:\n%s", e.Screen())
	}
}

// TestWithoutTheProbe: a session that does not hold the probe is told why
// it cannot write, its e is disabled, and it never types into the field.
func TestWithoutTheProbe(t *testing.T) {
	b, _, err := bench.Open(context.Background(), bench.Selector{Sim: "h533-open"}, bench.Options{Now: func() time.Time { return tuitest.Clock }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	d := tuitest.NewDriver(t, b, false)
	m := New(d.C)
	m.SetSize(80, 24)
	d.Pane = m
	if ks := m.Keys(); len(ks) != 1 || ks[0].Enabled() {
		t.Fatalf("keys without the probe: %v", ks)
	}
	d.Keys("e")
	if m.Capturing() || !strings.Contains(d.Screen(), "writing the flash is unavailable") {
		t.Fatalf("e without the probe: capturing %v, screen:\n%s", m.Capturing(), d.Screen())
	}
}
