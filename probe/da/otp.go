package da

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// provisionOTP writes the H503's password hash into OTP block 0 and locks
// the block (LOCKBL bit 0), as ST's H503 scripts do: once done, it can
// never change. The chip is already reached by Hot Plug on AP1 and in
// PROVISIONING.
func (h *Host) provisionOTP(ctx context.Context, res *Provisioned, image []byte) (*Provisioned, error) {
	const core = 1
	flash := uint32(targets.H5FlashRegs)
	rw := func(what string, fn func() error) error {
		if err := fn(); err != nil {
			return probeFail(opProvision, what, err)
		}
		return nil
	}
	w := func(off, v uint32) func() error {
		return func() error { return h.p.Write32(ctx, core, flash+off, v) }
	}
	// Refuse a block already written: OTP is written once.
	cur := make([]byte, stm32h5.DAHashSize)
	if err := rw("reading OTP block 0", func() error { return h.p.ReadMem(ctx, core, stm32h5.OTPDAAddr, 4, cur) }); err != nil {
		return res, err
	}
	if !bytes.Equal(cur, bytes.Repeat([]byte{0xFF}, len(cur))) {
		if bytes.Equal(cur, image) {
			res.ReadBack, res.Record = true, cur
			return res, nil // already there
		}
		return res, tag(fail(opProvision, probe.LayerTarget, "OTP block 0 already holds another password hash", "OTP is written once: use the password whose hash it holds", nil), ErrProvision)
	}
	steps := []struct {
		what string
		fn   func() error
	}{
		{"unlocking flash programming", w(stm32h5.FlashNSKEYR, stm32h5.NSKey1)},
		{"unlocking flash programming", w(stm32h5.FlashNSKEYR, stm32h5.NSKey2)},
		{"clearing NSSR", w(targets.FlashNSCCR, stm32h5.NSSRErrors)},
		{"setting NSCR.PG", w(stm32h5.FlashNSCR, stm32h5.NSCRPG)},
	}
	for i := 0; i < len(image); i += 4 {
		addr, v := uint32(stm32h5.OTPDAAddr+i), binary.LittleEndian.Uint32(image[i:])
		steps = append(steps, struct {
			what string
			fn   func() error
		}{fmt.Sprintf("programming OTP at 0x%08X", addr), func() error { return h.p.Write32(ctx, core, addr, v) }})
	}
	steps = append(steps, struct {
		what string
		fn   func() error
	}{"locking flash programming", w(stm32h5.FlashNSCR, stm32h5.NSCRLock)})
	for _, s := range steps {
		if err := rw(s.what, s.fn); err != nil {
			return res, err
		}
	}
	sr, err := h.p.Read32(ctx, core, flash+targets.FlashNSSR)
	if err != nil {
		return res, probeFail(opProvision, "reading NSSR", err)
	}
	if sr&stm32h5.NSSRErrors != 0 {
		return res, tag(fail(opProvision, probe.LayerTarget, fmt.Sprintf("OTP programming failed (NSSR 0x%08X)", sr), "read OTP block 0 back (ob read) before trying again", nil), ErrProvision)
	}
	// Lock block 0: OTPBLR bit 0 through the option-byte sequence.
	blr, err := h.p.Read32(ctx, core, flash+stm32h5.FlashOTPBLRCur)
	if err != nil {
		return res, probeFail(opProvision, "reading OTPBLR", err)
	}
	for _, s := range []struct {
		what string
		fn   func() error
	}{
		{"unlocking the option bytes", w(targets.FlashOPTKEYR, targets.OptKey1)},
		{"unlocking the option bytes", w(targets.FlashOPTKEYR, targets.OptKey2)},
		{"writing OTPBLR_PRG", w(stm32h5.FlashOTPBLRPrg, blr|1)},
		{"starting the option change", w(targets.FlashOPTCR, stm32h5.OPTCROptStart)},
	} {
		if err := rw(s.what, s.fn); err != nil {
			return res, err
		}
	}
	for range h.o.ResetPolls {
		if sr, err = h.p.Read32(ctx, core, flash+targets.FlashNSSR); err != nil || sr&stm32h5.NSSRBusy == 0 {
			break
		}
	}
	_ = h.p.Write32(ctx, core, flash+targets.FlashOPTCR, stm32h5.OPTCROptLock)
	blr, err = h.p.Read32(ctx, core, flash+stm32h5.FlashOTPBLRCur)
	if err != nil || blr&1 == 0 {
		return res, tag(fail(opProvision, probe.LayerTarget, fmt.Sprintf("OTP block 0 written but not locked (OTPBLR 0x%08X, NSSR 0x%08X)", blr, sr), "lock it with ob apply LOCKBL=0x1", err), ErrProvision)
	}
	back := make([]byte, stm32h5.DAHashSize)
	if err := h.p.ReadMem(ctx, core, stm32h5.OTPDAAddr, 4, back); err == nil {
		res.ReadBack, res.Record = true, back
		if !bytes.Equal(back, image) {
			return res, tag(fail(opProvision, probe.LayerTarget, "OTP block 0 reads back differently from the image", "read it with ob read; OTP cannot be rewritten", nil), ErrProvision)
		}
	}
	return res, nil
}
