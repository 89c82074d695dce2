package da

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/stprobe/stprobe/adi"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32h5/dacred"
)

// The Armv8-M registers the call uses beyond package adi's.
const (
	regFPComp0   = 0xE0002008 // FP_COMP0: BPADDR[31:1], BE [0] (FPBv2)
	fpCtrlEnable = 0x3        // FP_CTRL: KEY | ENABLE
	dcrsrRegRdy  = adi.DHCSRSRegRdy
	xpsrThumb    = 1 << 24 // EPSR.T
	bkptPair     = 0xBE00BE00
	// haltPolls bounds the DHCSR reads spent waiting for a halt (the ROM's
	// flash programming takes milliseconds: each read is a USB round trip).
	haltPolls = 2000
)

// rssCall is one planned RSSLIB_DataProvisioning call: where it goes in
// SRAM3 and the configuration structure (rsslib.go in targets/stm32h5).
type rssCall struct {
	ram              uint32 // return address; config at +4, data at +0x18
	data             []byte // padded to whole words
	dest, size, enc  uint32
	crc              uint32
	sram3, sram3Size uint32
}

// planRSSCall builds the call for file on part, or refuses it before
// anything is written: a part without DataProvisioning, or a RAM address
// that would put the source outside SRAM3.
func (h *Host) planRSSCall(part stm32h5.Part, file []byte) (*rssCall, error) {
	base, size, ok := stm32h5.SRAM3(part.DevID)
	if !ok {
		return nil, tag(fail(opProvision, probe.LayerTarget, fmt.Sprintf("the %s has no RSSLIB_DataProvisioning", part.Name), "its DA data goes to OTP: give the OTP image", nil), ErrProvision)
	}
	f, err := dacred.DecodeOBK(file)
	if err != nil {
		return nil, tag(fail(opProvision, probe.LayerTarget, "the .obk file does not decode: "+err.Error(), "make it again (stprobe da make-password or make-certs)", nil), ErrProvision)
	}
	c := &rssCall{ram: h.o.ProvisionRAM, dest: f.Dest, size: f.Size, enc: stm32h5.ProvDoEncryption(f.Encrypt), sram3: base, sram3Size: size}
	if c.ram == 0 {
		c.ram = base
	}
	c.data = append([]byte(nil), f.Payload...)
	for len(c.data)%4 != 0 {
		c.data = append(c.data, 0)
	}
	end := uint64(c.ram) + stm32h5.ProvDataOffset + uint64(len(c.data))
	if c.ram < base || c.ram%4 != 0 || end > uint64(base)+uint64(size) {
		return nil, tag(fail(opProvision, probe.LayerTarget,
			fmt.Sprintf("the call's RAM 0x%08X-0x%08X is not inside SRAM3 (0x%08X-0x%08X): the ROM would answer %s", c.ram, end, base, base+size, stm32h5.RSSLIBStatusText(stm32h5.RSSLIBBadAddressRange)),
			"leave the provisioning RAM at its default (the start of SRAM3); nothing was written", nil), ErrProvision)
	}
	if c.dest%16 != 0 {
		return nil, tag(fail(opProvision, probe.LayerTarget, fmt.Sprintf("the OBK destination 0x%08X is not 16-byte aligned: the ROM would answer %s", c.dest, stm32h5.RSSLIBStatusText(stm32h5.RSSLIBBadAddressRange)),
			"make the file again; nothing was written", nil), ErrProvision)
	}
	c.crc = stm32h5.ProvisioningCRC(c.data, c.dest, c.size, c.enc)
	return c, nil
}

// debug gives a line to Options.Debug.
func (h *Host) debug(format string, args ...any) {
	if h.o.Debug != nil {
		h.o.Debug("DA provisioning: "+format, args...)
	}
}

// runRSSCall runs the call on the chip (attached Hot Plug on AP1, in
// PROVISIONING) and judges r0. Its steps are those of ST's OpenOCD; each
// exchange goes to Options.Debug. What runs first is read-only (the
// function pointer) or undone by a reset (the halt); the chip is reset
// after the call, whatever happened, so that the ROM loop starts again.
func (h *Host) runRSSCall(ctx context.Context, c *rssCall) (err error) {
	const core = 1
	rd := func(addr uint32, what string) (uint32, error) {
		v, err := h.p.Read32(ctx, core, addr)
		if err != nil {
			h.debug("read  0x%08X (%s) failed: %v", addr, what, err)
			return 0, probeFail(opProvision, "reading "+what, err)
		}
		h.debug("read  0x%08X (%s) = 0x%08X", addr, what, v)
		return v, nil
	}
	wr := func(addr, v uint32, what string) error {
		if err := h.p.Write32(ctx, core, addr, v); err != nil {
			h.debug("write 0x%08X (%s) = 0x%08X failed: %v", addr, what, v, err)
			return probeFail(opProvision, "writing "+what, err)
		}
		h.debug("write 0x%08X (%s) = 0x%08X", addr, what, v)
		return nil
	}
	// 1. The entry point, read-only.
	fn, err := rd(stm32h5.RSSLIBDataProvisioningSlot, "RSSLIB_PFUNC->NSC.DataProvisioning")
	if err != nil {
		return err
	}
	if fn&1 == 0 || fn < 0x0BF80000 || fn >= 0x0BFA0000 {
		return tag(fail(opProvision, probe.LayerTarget, fmt.Sprintf("the ROM's function table at 0x%08X holds 0x%08X, not a Thumb entry point in system memory", uint32(stm32h5.RSSLIBDataProvisioningSlot), fn),
			"nothing was written; send the debug log (--log-level debug) so the table can be checked", nil), ErrProvision)
	}
	// 2. Reset with the debugger attached, then halt (enter_provisionning_pstate).
	if err := wr(adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn, "DHCSR: C_DEBUGEN"); err != nil {
		return err
	}
	if err := wr(adi.RegAIRCR, adi.AIRCRVectKey|adi.AIRCRSysResetReq, "AIRCR: SYSRESETREQ"); err != nil {
		return err
	}
	defer func() {
		// Whatever happened: no breakpoint left, the chip reset into its ROM
		// loop, debug released.
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
		defer cancel()
		for _, w := range [][2]uint32{{regFPComp0, 0}, {adi.RegFPCtrl, 0x2}, {adi.RegAIRCR, adi.AIRCRVectKey | adi.AIRCRSysResetReq}, {adi.RegDHCSR, adi.DHCSRDebugKey}} {
			werr := h.p.Write32(tctx, core, w[0], w[1])
			h.debug("clean-up write 0x%08X = 0x%08X: %v", w[0], w[1], werr)
		}
	}()
	if err := wr(adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn|adi.DHCSRCHalt, "DHCSR: C_HALT"); err != nil {
		return err
	}
	d, halted, err := h.pollHalt(ctx, haltPolls/10, 0)
	if err != nil {
		return err
	}
	if !halted {
		return tag(fail(opProvision, probe.LayerTarget, fmt.Sprintf("the core will not halt in PROVISIONING (DHCSR 0x%08X), so the ROM's provisioning function cannot be called; nothing was written", d),
			"power-cycle the board with the probe attached and retry; if it still will not halt, provision with STM32CubeProgrammer (-sdp, Hot Plug on AP1) as ST's DA scripts do, and send stprobe's --log-level debug output", nil), ErrWillNotHalt)
	}
	// 3. The data, the structure, a breakpoint pair at the return address.
	for i := 0; i < len(c.data); i += 4 {
		if err := wr(c.ram+stm32h5.ProvDataOffset+uint32(i), binary.LittleEndian.Uint32(c.data[i:]), "SRAM3 data"); err != nil {
			return err
		}
	}
	conf := []uint32{c.ram + stm32h5.ProvDataOffset, c.dest, c.size, c.enc, c.crc}
	names := []string{"pSource", "pDestination", "Size", "DoEncryption", "Crc"}
	for i, v := range conf {
		if err := wr(c.ram+stm32h5.ProvConfOffset+uint32(4*i), v, "config."+names[i]); err != nil {
			return err
		}
	}
	if err := wr(c.ram, bkptPair, "return address: BKPT"); err != nil {
		return err
	}
	// What the ROM will read must be what was meant: read it back.
	got := make([]byte, stm32h5.ProvConfSize+len(c.data))
	if err := h.p.ReadMem(ctx, core, c.ram+stm32h5.ProvConfOffset, 4, got); err != nil {
		return probeFail(opProvision, "reading SRAM3 back", err)
	}
	for i, v := range conf {
		if binary.LittleEndian.Uint32(got[4*i:]) != v {
			return tag(fail(opProvision, probe.LayerTarget, fmt.Sprintf("SRAM3 reads back config.%s = 0x%08X, written 0x%08X: the call was not run", names[i], binary.LittleEndian.Uint32(got[4*i:]), v), "retry at a lower SWD frequency", nil), ErrProvision)
		}
	}
	if crc := stm32h5.ProvisioningCRC(got[stm32h5.ProvConfSize:], c.dest, c.size, c.enc); crc != c.crc {
		return tag(fail(opProvision, probe.LayerTarget, fmt.Sprintf("the data in SRAM3 read back with CRC 0x%08X, not 0x%08X: the call was not run", crc, c.crc), "retry at a lower SWD frequency", nil), ErrProvision)
	}
	// 4. Registers: r0 = &config, LR = return|1, PC = entry, xPSR.T.
	regs := []struct {
		sel  uint32
		v    uint32
		name string
	}{{0, c.ram + stm32h5.ProvConfOffset, "r0"}, {1, 0, "r1"}, {adi.RegSelLR, c.ram | 1, "LR"}, {adi.RegSelPC, fn &^ 1, "PC"}, {adi.RegSelXPSR, xpsrThumb, "xPSR"}}
	for _, r := range regs {
		if err := h.writeReg(wr, rd, r.sel, r.v, r.name); err != nil {
			return err
		}
	}
	if err := wr(regFPComp0, c.ram|1, "FP_COMP0: breakpoint at the return address"); err != nil {
		return err
	}
	if err := wr(adi.RegFPCtrl, fpCtrlEnable, "FP_CTRL: ENABLE"); err != nil {
		return err
	}
	// 5. Run, wait for the breakpoint, read r0.
	if err := wr(adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn, "DHCSR: run"); err != nil {
		return err
	}
	if _, halted, err = h.pollHalt(ctx, haltPolls, h.o.ResetPause); err != nil {
		return err
	}
	if !halted {
		_ = wr(adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn|adi.DHCSRCHalt, "DHCSR: C_HALT")
		return tag(fail(opProvision, probe.LayerTarget, "RSSLIB_DataProvisioning did not come back to the breakpoint", "power-cycle the board, check with stprobe da discover whether the record is there, and send the --log-level debug output", nil), ErrProvision)
	}
	pc, err := h.readReg(wr, rd, adi.RegSelPC, "PC")
	if err != nil {
		return err
	}
	r0, err := h.readReg(wr, rd, 0, "r0")
	if err != nil {
		return err
	}
	h.debug("RSSLIB_DataProvisioning returned r0 = 0x%08X (%s) at PC 0x%08X", r0, stm32h5.RSSLIBStatusText(r0), pc)
	if pc != c.ram {
		return tag(fail(opProvision, probe.LayerTarget, fmt.Sprintf("the core stopped at 0x%08X, not at the return address 0x%08X (r0 0x%08X)", pc, c.ram, r0),
			"power-cycle the board, check with stprobe da discover, and send the --log-level debug output", nil), ErrProvision)
	}
	if r0 != stm32h5.RSSLIBSuccess {
		return tag(fail(opProvision, probe.LayerTarget, "the ROM refused the data: "+stm32h5.RSSLIBStatusText(r0), "check the file with stprobe da check-obk; nothing was provisioned", nil), ErrProvision)
	}
	return nil
}

// pollHalt reads DHCSR until S_HALT is set, at most n times with pause
// between reads; the debug log gets the first and last value and the count.
func (h *Host) pollHalt(ctx context.Context, n int, between time.Duration) (d uint32, halted bool, err error) {
	var first uint32
	i := 0
	for i < n && !halted {
		if d, err = h.p.Read32(ctx, 1, adi.RegDHCSR); err != nil {
			h.debug("read  0x%08X (DHCSR) failed after %d reads: %v", uint32(adi.RegDHCSR), i, err)
			return d, false, probeFail(opProvision, "reading DHCSR", err)
		}
		if i == 0 {
			first = d
		}
		i++
		if halted = d&adi.DHCSRSHalt != 0; !halted {
			pause(ctx, between)
		}
	}
	h.debug("read  0x%08X (DHCSR) %d times: first 0x%08X, last 0x%08X, S_HALT %v", uint32(adi.RegDHCSR), i, first, d, halted)
	return d, halted, nil
}

// writeReg writes core register sel through DCRDR/DCRSR and waits for
// S_REGRDY.
func (h *Host) writeReg(wr func(uint32, uint32, string) error, rd func(uint32, string) (uint32, error), sel, v uint32, name string) error {
	if err := wr(adi.RegDCRDR, v, "DCRDR: "+name); err != nil {
		return err
	}
	if err := wr(adi.RegDCRSR, adi.DCRSRRegWnR|sel, "DCRSR: write "+name); err != nil {
		return err
	}
	return h.regReady(rd, name)
}

// readReg reads core register sel through DCRSR/DCRDR.
func (h *Host) readReg(wr func(uint32, uint32, string) error, rd func(uint32, string) (uint32, error), sel uint32, name string) (uint32, error) {
	if err := wr(adi.RegDCRSR, sel, "DCRSR: read "+name); err != nil {
		return 0, err
	}
	if err := h.regReady(rd, name); err != nil {
		return 0, err
	}
	return rd(adi.RegDCRDR, "DCRDR: "+name)
}

// regReady polls DHCSR.S_REGRDY.
func (h *Host) regReady(rd func(uint32, string) (uint32, error), name string) error {
	for range 100 {
		d, err := rd(adi.RegDHCSR, "DHCSR")
		if err != nil {
			return err
		}
		if d&dcrsrRegRdy != 0 {
			return nil
		}
	}
	return tag(fail(opProvision, probe.LayerTarget, "the core register transfer of "+name+" never completed (S_REGRDY)", "power-cycle the board and retry", nil), ErrProvision)
}
