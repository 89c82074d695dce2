package da

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// otpWaitPolls bounds the NSSR reads spent waiting for one OTP half-word
// to be programmed (BSY, WBNE and DBNE clear). A half-word takes tens of
// microseconds; each read is a probe round trip.
const otpWaitPolls = 64

// otpHalf is the state of one half-word of the hash in OTP block 0.
type otpHalf int

const (
	otpDone   otpHalf = iota // holds the image's value
	otpErased                // reads 0xFFFF: can still be written
	otpOther                 // holds another value: can never match
)

// otpBlockState compares the hash area of OTP block 0 with the image, one
// half-word at a time (OTP is programmed, and written once, by half-words).
// A half-word whose image value is 0xFFFF counts as done when it reads
// 0xFFFF: programming the erased value changes nothing readable.
func otpBlockState(cur, image []byte) []otpHalf {
	st := make([]otpHalf, len(image)/2)
	for i := range st {
		c, w := binary.LittleEndian.Uint16(cur[2*i:]), binary.LittleEndian.Uint16(image[2*i:])
		switch {
		case c == w:
			st[i] = otpDone
		case c == 0xFFFF:
			st[i] = otpErased
		default:
			st[i] = otpOther
		}
	}
	return st
}

// describeOTPBlock says, in one line, what the hash area of OTP block 0
// holds: how many half-words match the image, are still erased, or differ,
// with the first address of each kind that is not done.
func describeOTPBlock(st []otpHalf) string {
	var done, erased, other int
	firstErased, firstOther := -1, -1
	for i, s := range st {
		switch s {
		case otpDone:
			done++
		case otpErased:
			erased++
			if firstErased < 0 {
				firstErased = i
			}
		case otpOther:
			other++
			if firstOther < 0 {
				firstOther = i
			}
		}
	}
	parts := []string{fmt.Sprintf("%d of %d half-words hold the hash", done, len(st))}
	if erased > 0 {
		parts = append(parts, fmt.Sprintf("%d still erased (first at 0x%08X)", erased, stm32h5.OTPDAAddr+2*firstErased))
	}
	if other > 0 {
		parts = append(parts, fmt.Sprintf("%d hold other values (first at 0x%08X)", other, stm32h5.OTPDAAddr+2*firstOther))
	}
	return "OTP block 0: " + strings.Join(parts, ", ")
}

// provisionOTP writes the H503's password hash into OTP block 0 and locks
// the block (LOCKBL bit 0), as ST's H503 scripts do: once done, it can
// never change. The chip is already reached by Hot Plug on AP1 and in
// PROVISIONING.
//
// Each half-word is programmed the way ST's HAL programs OTP
// (HAL_FLASH_Program with FLASH_TYPEPROGRAM_HALFWORD_OTP in
// stm32h5xx-hal-driver Src/stm32h5xx_hal_flash.c): wait for BSY, WBNE and
// DBNE to clear, set NSCR.PG, store 16 bits, wait again, check the error
// flags (EOP is no error), clear PG. The first error stops the programming;
// the block is then read back and its exact state reported. Half-words a
// failed run left erased can be written by running it again with the same
// image; a half-word that holds another value never can.
func (h *Host) provisionOTP(ctx context.Context, res *Provisioned, image []byte) (*Provisioned, error) {
	const core = 1
	readBlock := func() ([]byte, error) {
		cur := make([]byte, stm32h5.DAHashSize)
		if err := h.p.ReadMem(ctx, core, stm32h5.OTPDAAddr, 4, cur); err != nil {
			return nil, probeFail(opProvision, "reading OTP block 0", err)
		}
		return cur, nil
	}
	cur, err := readBlock()
	if err != nil {
		return res, err
	}
	st := otpBlockState(cur, image)
	if slices.Contains(st, otpOther) {
		res.ReadBack, res.Record = true, cur
		return res, tag(fail(opProvision, probe.LayerTarget, "OTP block 0 already holds another password hash ("+describeOTPBlock(st)+")",
			"OTP is written once: use the password whose hash it holds", nil), ErrProvision)
	}
	if err := h.programOTPHalfWords(ctx, image, st); err != nil {
		if back, rerr := readBlock(); rerr == nil {
			res.ReadBack, res.Record = true, back
			err = fmt.Errorf("%w; %s", err, describeOTPBlock(otpBlockState(back, image)))
		}
		return res, err
	}
	if err := h.lockOTPBlock0(ctx); err != nil {
		return res, err
	}
	back, err := readBlock()
	if err != nil {
		return res, err
	}
	res.ReadBack, res.Record = true, back
	if !bytes.Equal(back, image) {
		return res, tag(fail(opProvision, probe.LayerTarget, "OTP block 0 reads back differently from the image ("+describeOTPBlock(otpBlockState(back, image))+")",
			"read it with ob read; OTP cannot be rewritten", nil), ErrProvision)
	}
	return res, nil
}

// programOTPHalfWords programs every erased half-word of the hash, one at a
// time, and stops at the first error. NSCR is locked again on every path.
func (h *Host) programOTPHalfWords(ctx context.Context, image []byte, st []otpHalf) (err error) {
	const core = 1
	flash := uint32(targets.H5FlashRegs)
	todo := 0
	for _, s := range st {
		if s == otpErased {
			todo++
		}
	}
	if todo == 0 {
		return nil
	}
	write := func(what string, off, v uint32) error {
		if err := h.p.Write32(ctx, core, flash+off, v); err != nil {
			return probeFail(opProvision, what, err)
		}
		return nil
	}
	if err := write("unlocking flash programming", stm32h5.FlashNSKEYR, stm32h5.NSKey1); err != nil {
		return err
	}
	if err := write("unlocking flash programming", stm32h5.FlashNSKEYR, stm32h5.NSKey2); err != nil {
		return err
	}
	defer func() {
		if lerr := write("locking flash programming", stm32h5.FlashNSCR, stm32h5.NSCRLock); lerr != nil && err == nil {
			err = lerr
		}
	}()
	if err := write("clearing NSSR", targets.FlashNSCCR, stm32h5.NSSRErrors|stm32h5.NSSREndOfOp); err != nil {
		return err
	}
	h.event("provision", "programming %d OTP half-words", todo)
	for i, s := range st {
		if s != otpErased {
			continue
		}
		addr := uint32(stm32h5.OTPDAAddr + 2*i)
		if err := h.waitFlash(ctx, addr); err != nil {
			return err
		}
		if err := write("setting NSCR.PG", stm32h5.FlashNSCR, stm32h5.NSCRPG); err != nil {
			return err
		}
		if err := h.p.Write16(ctx, core, addr, binary.LittleEndian.Uint16(image[2*i:])); err != nil {
			return probeFail(opProvision, fmt.Sprintf("programming OTP at 0x%08X", addr), err)
		}
		if err := h.waitFlash(ctx, addr); err != nil {
			return err
		}
		if err := write("clearing NSCR.PG", stm32h5.FlashNSCR, 0); err != nil {
			return err
		}
	}
	return nil
}

// waitFlash waits for BSY, WBNE and DBNE to clear, then checks the error
// flags as FLASH_WaitForLastOperation does; an error flag is cleared and
// reported, EOP is cleared and is no error.
func (h *Host) waitFlash(ctx context.Context, addr uint32) error {
	const core = 1
	flash := uint32(targets.H5FlashRegs)
	var sr uint32
	for n := 0; ; n++ {
		var err error
		if sr, err = h.p.Read32(ctx, core, flash+targets.FlashNSSR); err != nil {
			return probeFail(opProvision, "reading NSSR", err)
		}
		if sr&stm32h5.NSSRWait == 0 {
			break
		}
		if n >= otpWaitPolls || ctx.Err() != nil {
			return tag(fail(opProvision, probe.LayerTarget, fmt.Sprintf("the flash stayed busy programming OTP at 0x%08X (NSSR 0x%08X)", addr, sr),
				"power-cycle the board, then read OTP block 0 back (da provision again finishes the erased half-words)", ctx.Err()), ErrProvision)
		}
	}
	if e := sr & stm32h5.NSSRErrors; e != 0 {
		_ = h.p.Write32(ctx, core, flash+targets.FlashNSCCR, e)
		return tag(fail(opProvision, probe.LayerTarget, fmt.Sprintf("OTP programming stopped at 0x%08X: NSSR 0x%08X (%s)", addr, sr, nssrErrorNames(e)),
			"OTP is written once: the half-words still erased can be finished by running the provisioning again with the same image; do not use another image", nil), ErrProvision)
	}
	if sr&stm32h5.NSSREndOfOp != 0 {
		_ = h.p.Write32(ctx, core, flash+targets.FlashNSCCR, stm32h5.NSSREndOfOp)
	}
	return nil
}

// nssrErrorNames names the NSSR error flags set in e (bit names of the
// CMSIS header stm32h5xx.h, FLASH_SR_*).
func nssrErrorNames(e uint32) string {
	names := []struct {
		bit  uint32
		name string
	}{{1 << 17, "WRPERR"}, {1 << 18, "PGSERR"}, {1 << 19, "STRBERR"}, {1 << 20, "INCERR"}, {1 << 21, "OBKERR"}, {1 << 22, "OBKWERR"}, {1 << 23, "OPTCHANGEERR"}}
	var out []string
	for _, n := range names {
		if e&n.bit != 0 {
			out = append(out, n.name)
		}
	}
	return strings.Join(out, ", ")
}

// lockOTPBlock0 sets OTPBLR bit 0 (LOCKBL) through the option-byte sequence,
// unless it is set already, and checks it took.
func (h *Host) lockOTPBlock0(ctx context.Context) error {
	const core = 1
	flash := uint32(targets.H5FlashRegs)
	blr, err := h.p.Read32(ctx, core, flash+stm32h5.FlashOTPBLRCur)
	if err != nil {
		return probeFail(opProvision, "reading OTPBLR", err)
	}
	if blr&1 != 0 {
		return nil
	}
	for _, s := range []struct {
		what   string
		off, v uint32
	}{
		{"unlocking the option bytes", targets.FlashOPTKEYR, targets.OptKey1},
		{"unlocking the option bytes", targets.FlashOPTKEYR, targets.OptKey2},
		{"writing OTPBLR_PRG", stm32h5.FlashOTPBLRPrg, blr | 1},
		{"starting the option change", targets.FlashOPTCR, stm32h5.OPTCROptStart},
	} {
		if err := h.p.Write32(ctx, core, flash+s.off, s.v); err != nil {
			_ = h.p.Write32(ctx, core, flash+targets.FlashOPTCR, stm32h5.OPTCROptLock)
			return probeFail(opProvision, s.what, err)
		}
	}
	var sr uint32
	for range h.o.ResetPolls {
		if sr, err = h.p.Read32(ctx, core, flash+targets.FlashNSSR); err != nil || sr&stm32h5.NSSRBusy == 0 {
			break
		}
	}
	_ = h.p.Write32(ctx, core, flash+targets.FlashOPTCR, stm32h5.OPTCROptLock)
	blr, err = h.p.Read32(ctx, core, flash+stm32h5.FlashOTPBLRCur)
	if err != nil || blr&1 == 0 {
		return tag(fail(opProvision, probe.LayerTarget, fmt.Sprintf("OTP block 0 written but not locked (OTPBLR 0x%08X, NSSR 0x%08X)", blr, sr), "lock it with ob apply LOCKBL=0x1", err), ErrProvision)
	}
	return nil
}
