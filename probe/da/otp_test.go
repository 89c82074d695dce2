package da

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// wordOTPPort is a host that programs the n-th OTP half-word (1-based) with
// a 32-bit store instead, as a host that ignores the HAL's half-word rule
// would.
type wordOTPPort struct {
	Port
	n, seen int
}

func (p *wordOTPPort) Write16(ctx context.Context, ap uint8, addr uint32, v uint16) error {
	p.seen++
	if p.seen == p.n {
		return p.Write32(ctx, ap, addr, uint32(v)|0xFFFF0000)
	}
	return p.Port.Write16(ctx, ap, addr, v)
}

// h503InProvisioning opens the h503-open scenario and moves it to
// PROVISIONING.
func h503InProvisioning(t *testing.T) (Port, *sim.Probe, stm32h5.Part) {
	t.Helper()
	l, sp := openScenario(t, "h503-open")
	obApply(t, l, "PRODUCT_STATE=0x17")
	part, err := stm32h5.LookupPart("H503")
	if err != nil {
		t.Fatal(err)
	}
	return LinkPort(l), sp, part
}

func otpHalfWords(t *testing.T, sp *sim.Probe) (vals [16]uint16, written [16]bool) {
	t.Helper()
	m := scenario.Model(sp)
	for i := range vals {
		vals[i], written[i] = m.OTPWord(i)
	}
	return vals, written
}

// A failed half-word stops the programming at once: the half-words before
// it hold the hash, those after it stay erased, the error says so exactly,
// and the block is left unlocked. Running again with the same image
// finishes the erased half-words and locks the block.
func TestProvisionOTPStopsAtFirstError(t *testing.T) {
	ctx := context.Background()
	port, sp, part := h503InProvisioning(t)
	sum := sha256.Sum256([]byte("otp half-words"))
	image := sum[:]
	bad := &wordOTPPort{Port: port, n: 7}
	_, err := NewHost(bad, Options{}).Provision(ctx, part, image)
	if !errors.Is(err, ErrProvision) {
		t.Fatalf("word store in OTP: %v, want ErrProvision", err)
	}
	for _, want := range []string{"stopped at 0x08FFF00C", "PGSERR", "6 of 16 half-words hold the hash", "10 still erased (first at 0x08FFF00C)"} {
		if !contains(err, want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	vals, written := otpHalfWords(t, sp)
	for i := range vals {
		want := uint16(image[2*i]) | uint16(image[2*i+1])<<8
		if i < 6 && (!written[i] || vals[i] != want) || i >= 6 && written[i] {
			t.Fatalf("half-word %d: 0x%04X written %v after a stop at half-word 6", i, vals[i], written[i])
		}
	}
	m := scenario.Model(sp)
	if cur, _, _ := m.OptionRegister("OTPBLR"); cur&1 != 0 {
		t.Fatal("a half-written block was locked")
	}
	pr, err := NewHost(port, Options{}).Provision(ctx, part, image)
	if err != nil || !bytes.Equal(pr.Record, image) {
		t.Fatalf("finishing the block: %v (record % x)", err, pr.Record)
	}
	if cur, _, _ := m.OptionRegister("OTPBLR"); cur&1 == 0 {
		t.Fatal("OTP block 0 not locked after finishing")
	}
}

// A block that already holds part of another hash is refused before any
// write, naming what it holds.
func TestProvisionOTPRefusesAnotherHash(t *testing.T) {
	ctx := context.Background()
	port, sp, part := h503InProvisioning(t)
	a, b := sha256.Sum256([]byte("first")), sha256.Sum256([]byte("second"))
	if _, err := NewHost(&wordOTPPort{Port: port, n: 5}, Options{}).Provision(ctx, part, a[:]); err == nil {
		t.Fatal("the interrupted run succeeded")
	}
	before, _ := otpHalfWords(t, sp)
	_, err := NewHost(port, Options{}).Provision(ctx, part, b[:])
	if !errors.Is(err, ErrProvision) || !contains(err, "already holds another password hash") || !contains(err, "hold other values (first at 0x08FFF000)") {
		t.Fatalf("another image over a started block: %v", err)
	}
	if after, _ := otpHalfWords(t, sp); after != before {
		t.Fatal("the refused image changed OTP")
	}
}

// The error mask is the HAL's FLASH_FLAG_SR_ERRORS (CMSIS FLASH_SR_* bits
// 17-23); EOP (bit 16) and the wait flags are not in it.
func TestNSSRMasks(t *testing.T) {
	if stm32h5.NSSRErrors != 0x00FE0000 {
		t.Errorf("NSSRErrors 0x%08X, want WRPERR..OPTCHANGEERR 0x00FE0000", stm32h5.NSSRErrors)
	}
	if stm32h5.NSSRErrors&(stm32h5.NSSREndOfOp|stm32h5.NSSRWait) != 0 {
		t.Error("EOP or a wait flag counted as an error")
	}
	if stm32h5.NSSRWait != 0x0B {
		t.Errorf("NSSRWait 0x%X, want BSY|WBNE|DBNE", stm32h5.NSSRWait)
	}
	if got := nssrErrorNames(1<<17 | 1<<18 | 1<<23); got != "WRPERR, PGSERR, OPTCHANGEERR" {
		t.Errorf("names %q", got)
	}
}
