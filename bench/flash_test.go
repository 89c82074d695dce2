package bench

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stprobe/stprobe/flashimage"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

func flashPattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*13 + i>>9)
	}
	return b
}

// TestFlashWriteJob: plan, a wrong phrase refused with nothing written,
// then the write with --save-flash, --verify and --reset-run on a
// simulated H533; `flash verify` agrees and the board runs the program.
func TestFlashWriteJob(t *testing.T) {
	bn, tok := openSimBench(t, "h533-open", Options{})
	m := bn.Simulated().Chip().(*stm32h5.Model)
	if err := m.LoadFlash(0x08000000, []byte("old program")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	data := flashPattern(10 << 10)
	data[0], data[1], data[2], data[3] = 0x00, 0x10, 0x00, 0x20 // initial SP
	im, err := ParseFlashImage("app.hex", flashimage.EncodeHEX([]flashimage.Segment{{Addr: 0x08000000, Data: data}}, 0x08000101, true), FlashImageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	save := filepath.Join(dir, "before.hex")
	req := FlashRequest{Name: "app.hex", Image: im, Verify: true, ResetRun: true, SaveFlash: save, StateDir: dir}
	p, err := bn.PlanFlash(ctx, tok, req)
	if err != nil {
		t.Fatal(err)
	}
	if p.Phrase != "erase 2 sectors" || p.NotEmpty != 1 {
		t.Fatalf("plan phrase %q, %d not empty", p.Phrase, p.NotEmpty)
	}
	req.Confirm = "wrong"
	if _, err := bn.Flash(ctx, tok, req); err == nil || !bytes.Equal(m.FlashBytes(0x08000000, 3), []byte("old")) {
		t.Fatalf("a wrong phrase: err %v, flash % X", err, m.FlashBytes(0x08000000, 3))
	}
	req.Confirm = p.Phrase
	resets := m.Status().Resets
	out, err := bn.Flash(ctx, tok, req)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Result.Verified || !out.Running || out.Audit == nil || out.Audit.Result != "ok" {
		t.Errorf("outcome %+v / %+v", out, out.Result)
	}
	if !bytes.Equal(m.FlashBytes(0x08000000, len(data)), data) {
		t.Error("flash differs from the image")
	}
	if n := m.Status().Resets; n != resets+1 || m.Core().Halted() {
		t.Errorf("reset-run: resets %d→%d, halted %v", resets, n, m.Core().Halted())
	}
	saved, err := os.ReadFile(save)
	if err != nil {
		t.Fatal(err)
	}
	if back, err := flashimage.ParseHEX(saved); err != nil || !bytes.Equal(back.Bytes(0x08000000, 11, 0), []byte("old program")) {
		t.Errorf("saved copy: %v", err)
	}
	if _, err := bn.VerifyFlash(ctx, tok, im, 0); err != nil {
		t.Error(err)
	}
	// A file larger than the flash is refused before anything is erased.
	big, _ := ParseFlashImage("big.bin", make([]byte, 513<<10), FlashImageOptions{Addr: 0x08000000, HasAddr: true})
	if _, err := bn.PlanFlash(ctx, tok, FlashRequest{Name: "big.bin", Image: big}); !errors.Is(err, ErrFlashRefused) {
		t.Errorf("big image: %v", err)
	}
}
