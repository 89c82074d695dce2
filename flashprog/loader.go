package flashprog

import (
	"context"
	"fmt"

	"github.com/stprobe/stprobe/adi"
	"github.com/stprobe/stprobe/targets"
)

// h5Loader is stprobe's STM32H5 flash loader: the Thumb code of
// flashprog/loader/stm32h5.asm, assembled with
//
//	arm-none-eabi-as -mcpu=cortex-m33 -mthumb -o h5.o stm32h5.asm
//	arm-none-eabi-objcopy -O binary -j .text h5.o h5.bin
//
// (GNU binutils 2.40) and written out byte by byte. It programs r2
// quad-words from the SRAM buffer at r0 to the flash at r1, reading
// FLASH_NSSR (at r3) until BSY drops after each, skips quad-words that are
// all 0xFF, and stops at BKPT with r0 = 0 or the NSSR error flags.
var h5Loader = []byte{
	0xEA, 0xB1, 0xF0, 0xC8, 0x04, 0xEA, 0x05, 0x0C, 0x0C, 0xEA, 0x06, 0x0C,
	0x0C, 0xEA, 0x07, 0x0C, 0x1C, 0xF1, 0x01, 0x0F, 0x0C, 0xD0, 0xF0, 0xC1,
	0xBF, 0xF3, 0x4F, 0x8F, 0xD3, 0xF8, 0x00, 0xC0, 0x1C, 0xF0, 0x01, 0x0F,
	0xFA, 0xD1, 0x1C, 0xF4, 0x7E, 0x0F, 0x04, 0xD1, 0x01, 0x3A, 0xE7, 0xE7,
	0x10, 0x31, 0x01, 0x3A, 0xE4, 0xE7, 0x0C, 0xF4, 0x7E, 0x00, 0x01, 0x3A,
	0x00, 0xBE, 0x00, 0x20, 0x00, 0xBE, 0x00, 0xBF,
}

// The loader's place in SRAM (chosen): its code at the start of SRAM1
// (RM0481 section 2.3.2: SRAM1 at 0x20000000 on every STM32H5), the data
// buffer after it. LoaderBlock bytes fit in the smallest line's SRAM (32
// KiB on the STM32H503).
const (
	loaderCode   = targets.SRAMBase
	loaderBuffer = targets.SRAMBase + 0x100
	// LoaderBlock is how many bytes the host hands the loader per run.
	LoaderBlock = 6 << 10
)

// loaderFor reports whether Program may use the loader for a sector on
// side sd: not when the options say register by register, not on the
// secure side (the loader writes through the non-secure registers and
// alias), not when the core is not halted (the state forbids it, or the
// halt failed), and not when the line's SRAM cannot hold it.
func (h *H5) loaderFor(ctx context.Context, sd side) (bool, error) {
	if h.o.RegisterByRegister || sd.regs != nsSide.regs {
		return false, nil
	}
	if uint64(h.chip.Line.SRAMKB)<<10 < uint64(loaderBuffer-targets.SRAMBase+LoaderBlock) {
		return false, nil
	}
	d, err := h.t.Read32(ctx, adi.RegDHCSR)
	if err != nil {
		return false, fmt.Errorf("target: reading DHCSR: %w", err)
	}
	return d&adi.DHCSRSHalt != 0, nil
}

// programLoader programs data at through (the sector's alias address)
// with the loader: the code is downloaded and read back, then each block
// of LoaderBlock bytes goes to the SRAM buffer and the loader runs over
// it; its r0 says whether the flash raised an error, whose flags are then
// read from FLASH_NSSR, reported and cleared as in the register path.
func (h *H5) programLoader(ctx context.Context, sd side, through uint32, data []byte, progress func(int)) error {
	if err := h.t.WriteMem(ctx, loaderCode, h5Loader); err != nil {
		return fmt.Errorf("target: downloading the flash loader to 0x%08X: %w", loaderCode, err)
	}
	back := make([]byte, len(h5Loader))
	if err := h.t.ReadMem(ctx, loaderCode, back); err != nil {
		return fmt.Errorf("target: reading the flash loader back: %w", err)
	}
	if string(back) != string(h5Loader) {
		return fmt.Errorf("target: the flash loader read back differently from SRAM at 0x%08X: is SRAM there? (try --register-by-register)", loaderCode)
	}
	for i := 0; i < len(data); i += LoaderBlock {
		j := min(i+LoaderBlock, len(data))
		if !allFF(data[i:j]) {
			a := through + uint32(i)
			if err := h.t.WriteMem(ctx, loaderBuffer, data[i:j]); err != nil {
				return fmt.Errorf("target: filling the loader's buffer at 0x%08X: %w", loaderBuffer, err)
			}
			r, err := h.runLoader(ctx, [4]uint32{loaderBuffer, a, uint32(j-i) / targets.H5QuadWord, sd.regs + sd.sr})
			if err != nil {
				return fmt.Errorf("%w (the flash loader was programming 0x%08X-0x%08X)", err, a, a+uint32(j-i)-1)
			}
			if r[0] != 0 {
				at := r[1] - targets.H5QuadWord
				op := fmt.Sprintf("program at 0x%08X (flash loader)", at)
				if werr := h.wait(ctx, sd, op); werr != nil {
					return werr
				}
				return &FlagError{Op: op, Register: sd.name + "SR", NSSR: r[0], Flags: flagNames(r[0])}
			}
		}
		if progress != nil {
			progress(j)
		}
	}
	return nil
}

// flagNames names the NSSR error flags set in sr.
func flagNames(sr uint32) []string {
	var out []string
	for _, f := range nssrFlags {
		if sr&f.bit != 0 {
			out = append(out, f.text)
		}
	}
	return out
}

// runLoader sets r0-r3, the PC at the loader and EPSR.T, resumes the core
// with interrupts masked (DHCSR C_MASKINTS, set while halted, Armv8-M ARM
// C1.6.3) and reads DHCSR until it halts again; the halt must be the
// loader's BKPT (DFSR.BKPT, the PC inside the loader). It returns r0-r2.
func (h *H5) runLoader(ctx context.Context, args [4]uint32) ([3]uint32, error) {
	var out [3]uint32
	for i, v := range args {
		if err := h.writeCoreReg(ctx, uint32(i), v); err != nil {
			return out, err
		}
	}
	if err := h.writeCoreReg(ctx, adi.RegSelPC, loaderCode); err != nil {
		return out, err
	}
	if err := h.writeCoreReg(ctx, adi.RegSelXPSR, 1<<24); err != nil { // EPSR.T: Thumb
		return out, err
	}
	steps := []struct {
		addr, v uint32
		name    string
	}{
		{adi.RegDFSR, adi.DFSRHalted | adi.DFSRBkpt | adi.DFSRVCatch | adi.DFSRExternal, "DFSR"},
		{adi.RegDHCSR, adi.DHCSRDebugKey | adi.DHCSRCDebugEn | adi.DHCSRCHalt | adi.DHCSRCMaskInts, "DHCSR"},
		{adi.RegDHCSR, adi.DHCSRDebugKey | adi.DHCSRCDebugEn | adi.DHCSRCMaskInts, "DHCSR (resume)"},
	}
	for _, s := range steps {
		if err := h.t.Write32(ctx, s.addr, s.v); err != nil {
			return out, fmt.Errorf("target: writing %s: %w", s.name, err)
		}
	}
	halted := false
	for i := 0; i < h.o.MaxPolls && !halted; i++ {
		d, err := h.t.Read32(ctx, adi.RegDHCSR)
		if err != nil {
			return out, fmt.Errorf("target: reading DHCSR while the flash loader runs: %w", err)
		}
		if d&adi.DHCSRSLockup != 0 {
			h.haltLoader(ctx)
			return out, fmt.Errorf("target: the flash loader locked the core up (DHCSR.S_LOCKUP): the core refused an instruction or an access; program register by register instead")
		}
		halted = d&adi.DHCSRSHalt != 0
	}
	if !halted {
		h.haltLoader(ctx)
		return out, fmt.Errorf("target: the flash loader did not reach its BKPT after %d DHCSR reads; the core was halted", h.o.MaxPolls)
	}
	dfsr, err := h.t.Read32(ctx, adi.RegDFSR)
	if err != nil {
		return out, fmt.Errorf("target: reading DFSR: %w", err)
	}
	pc, err := h.readCoreReg(ctx, adi.RegSelPC)
	if err != nil {
		return out, err
	}
	if dfsr&adi.DFSRBkpt == 0 || pc < loaderCode || pc >= loaderCode+uint32(len(h5Loader)) {
		return out, fmt.Errorf("target: the core halted outside the flash loader's BKPT (PC 0x%08X, DFSR 0x%X): something else stopped it", pc, dfsr)
	}
	for i := range out {
		if out[i], err = h.readCoreReg(ctx, uint32(i)); err != nil {
			return out, err
		}
	}
	return out, nil
}

// haltLoader stops a loader that did not finish (best effort: the error
// that led here is the one reported).
func (h *H5) haltLoader(ctx context.Context) {
	_ = h.t.Write32(ctx, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn|adi.DHCSRCHalt|adi.DHCSRCMaskInts)
}

// writeCoreReg writes core register sel through DCRDR and DCRSR (REGWnR)
// and waits for DHCSR.S_REGRDY (Armv8-M ARM C1.6.4).
func (h *H5) writeCoreReg(ctx context.Context, sel, v uint32) error {
	if err := h.t.Write32(ctx, adi.RegDCRDR, v); err != nil {
		return fmt.Errorf("target: writing DCRDR: %w", err)
	}
	if err := h.t.Write32(ctx, adi.RegDCRSR, adi.DCRSRRegWnR|sel); err != nil {
		return fmt.Errorf("target: writing DCRSR (register %d): %w", sel, err)
	}
	return h.regReady(ctx, sel)
}

// readCoreReg reads core register sel through DCRSR and DCRDR.
func (h *H5) readCoreReg(ctx context.Context, sel uint32) (uint32, error) {
	if err := h.t.Write32(ctx, adi.RegDCRSR, sel); err != nil {
		return 0, fmt.Errorf("target: writing DCRSR (register %d): %w", sel, err)
	}
	if err := h.regReady(ctx, sel); err != nil {
		return 0, err
	}
	v, err := h.t.Read32(ctx, adi.RegDCRDR)
	if err != nil {
		return 0, fmt.Errorf("target: reading DCRDR (register %d): %w", sel, err)
	}
	return v, nil
}

func (h *H5) regReady(ctx context.Context, sel uint32) error {
	for i := 0; i < 100; i++ {
		d, err := h.t.Read32(ctx, adi.RegDHCSR)
		if err != nil {
			return fmt.Errorf("target: reading DHCSR: %w", err)
		}
		if d&adi.DHCSRSRegRdy != 0 {
			return nil
		}
	}
	return fmt.Errorf("target: core register %d: DHCSR.S_REGRDY never set (is the core halted?)", sel)
}
