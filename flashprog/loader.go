package flashprog

import (
	"context"
	"encoding/binary"
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
// (GNU binutils 2.40) and written out byte by byte. Each run reads its
// arguments from the parameter block at h5LoaderParams (source buffer,
// flash address, quad-word count, FLASH_NSSR address), programs the
// quad-words reading FLASH_NSSR until BSY drops after each, skips those
// that are all 0xFF, writes 0 or the NSSR error flags and the address it
// reached into the block, and stops at BKPT.
var h5Loader = []byte{
	0x12, 0xA7, 0x97, 0xE8, 0x0F, 0x00, 0xE2, 0xB1, 0xF0, 0xC8, 0x04, 0xEA,
	0x05, 0x0C, 0x0C, 0xEA, 0x06, 0x0C, 0x0C, 0xEA, 0x07, 0x0C, 0x1C, 0xF1,
	0x01, 0x0F, 0x0C, 0xD0, 0xF0, 0xC1, 0xBF, 0xF3, 0x4F, 0x8F, 0xD3, 0xF8,
	0x00, 0xC0, 0x1C, 0xF0, 0x01, 0x0F, 0xFA, 0xD1, 0x1C, 0xF4, 0x7E, 0x0F,
	0x04, 0xD1, 0x01, 0x3A, 0xE7, 0xE7, 0x10, 0x31, 0x01, 0x3A, 0xE4, 0xE7,
	0x0C, 0xF4, 0x7E, 0x00, 0x00, 0xE0, 0x00, 0x20, 0x01, 0xA7, 0x38, 0x61,
	0x79, 0x61, 0x00, 0xBE, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
}

// The loader's place in SRAM (chosen): its code at the start of SRAM1
// (RM0481 memory map: SRAM1 at 0x20000000 on every STM32H5), two data
// buffers after it, so that the host fills one while the loader programs
// the other. 0x100 + 2 * LoaderBlock bytes fit in the smallest line's SRAM
// (32 KiB on the STM32H503).
const (
	loaderCode = targets.SRAMBase
	// h5LoaderParams is the offset of `params` in the loader (objdump of
	// the assembled source): six words, the last two its result.
	h5LoaderParams = 0x4C
	loaderBuffer   = targets.SRAMBase + 0x100
	// LoaderBlock is how many bytes the host hands the loader per run.
	LoaderBlock = 6 << 10
	// loaderPending is what the host leaves in the result word: the
	// loader writes 0 or error flags, never this.
	loaderPending = 0xFFFFFFFF
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
	if uint64(h.chip.Line.SRAMKB)<<10 < uint64(loaderBuffer-targets.SRAMBase+2*LoaderBlock) {
		return false, nil
	}
	d, err := h.t.Read32(ctx, adi.RegDHCSR)
	if err != nil {
		return false, fmt.Errorf("target: reading DHCSR: %w", err)
	}
	return d&adi.DHCSRSHalt != 0, nil
}

// loaderRun is one block for the loader: where it is in SRAM, where it goes.
type loaderRun struct {
	at    int // offset in the data
	data  []byte
	buf   uint32
	flash uint32
}

// programLoader programs data at through (the sector's alias address)
// with the loader: the code is downloaded and read back; then block by
// block (LoaderBlock bytes, the ones all 0xFF left out) the host writes
// the parameters and starts the loader, fills the other buffer with the
// next block while it runs, and waits for its BKPT. A result other than
// 0 is the NSSR error flags: they are read from FLASH_NSSR, reported and
// cleared as in the register path.
func (h *H5) programLoader(ctx context.Context, sd side, through uint32, data []byte, progress func(int)) error {
	if err := h.t.WriteMem(ctx, loaderCode, h5Loader); err != nil {
		return fmt.Errorf("target: downloading the flash loader to 0x%08X: %w", loaderCode, err)
	}
	back := make([]byte, len(h5Loader))
	if err := h.t.ReadMem(ctx, loaderCode, back); err != nil {
		return fmt.Errorf("target: reading the flash loader back: %w", err)
	}
	if string(back) != string(h5Loader) {
		return fmt.Errorf("target: the flash loader read back differently from SRAM at 0x%08X; program register by register instead", loaderCode)
	}
	if err := h.writeCoreReg(ctx, adi.RegSelXPSR, 1<<24); err != nil { // EPSR.T: Thumb
		return err
	}
	// C_MASKINTS is set while halted (Armv8-M ARM C1.6.3): the loader
	// runs with interrupts masked.
	if err := h.t.Write32(ctx, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn|adi.DHCSRCHalt|adi.DHCSRCMaskInts); err != nil {
		return fmt.Errorf("target: writing DHCSR: %w", err)
	}
	var runs []loaderRun
	for i := 0; i < len(data); i += LoaderBlock {
		j := min(i+LoaderBlock, len(data))
		if !allFF(data[i:j]) {
			runs = append(runs, loaderRun{at: i, data: data[i:j], buf: loaderBuffer + uint32(len(runs)%2)*LoaderBlock, flash: through + uint32(i)})
		}
	}
	if len(runs) > 0 {
		if err := h.fillLoaderBuffer(ctx, runs[0]); err != nil {
			return err
		}
	}
	for k, r := range runs {
		if err := h.startLoader(ctx, sd, r); err != nil {
			return err
		}
		if k+1 < len(runs) {
			if err := h.fillLoaderBuffer(ctx, runs[k+1]); err != nil {
				return err
			}
		}
		res, reached, err := h.waitLoader(ctx)
		if err != nil {
			return fmt.Errorf("%w (the flash loader was programming 0x%08X-0x%08X)", err, r.flash, r.flash+uint32(len(r.data))-1)
		}
		if res != 0 {
			op := fmt.Sprintf("program at 0x%08X (flash loader)", reached-targets.H5QuadWord)
			if werr := h.wait(ctx, sd, op); werr != nil {
				return werr
			}
			return &FlagError{Op: op, Register: sd.name + "SR", NSSR: res, Flags: nssrFlags.Set(res)}
		}
		if progress != nil {
			progress(r.at + len(r.data))
		}
	}
	return nil
}

func (h *H5) fillLoaderBuffer(ctx context.Context, r loaderRun) error {
	if err := h.t.WriteMem(ctx, r.buf, r.data); err != nil {
		return fmt.Errorf("target: filling the flash loader's buffer at 0x%08X: %w", r.buf, err)
	}
	return nil
}

// startLoader writes the run's parameters (the result word set to
// loaderPending), the PC at the loader, clears DFSR and resumes the core.
func (h *H5) startLoader(ctx context.Context, sd side, r loaderRun) error {
	params := make([]byte, 24)
	for i, v := range []uint32{r.buf, r.flash, uint32(len(r.data)) / targets.H5QuadWord, sd.regs + sd.sr, loaderPending, 0} {
		binary.LittleEndian.PutUint32(params[4*i:], v)
	}
	if err := h.t.WriteMem(ctx, loaderCode+h5LoaderParams, params); err != nil {
		return fmt.Errorf("target: writing the flash loader's parameters: %w", err)
	}
	if err := h.writeCoreReg(ctx, adi.RegSelPC, loaderCode); err != nil {
		return err
	}
	if err := h.t.Write32(ctx, adi.RegDFSR, adi.DFSRHalted|adi.DFSRBkpt|adi.DFSRVCatch|adi.DFSRExternal); err != nil {
		return fmt.Errorf("target: clearing DFSR: %w", err)
	}
	if err := h.t.Write32(ctx, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn|adi.DHCSRCMaskInts); err != nil {
		return fmt.Errorf("target: resuming the core at the flash loader (DHCSR): %w", err)
	}
	return nil
}

// waitLoader reads DHCSR until the core halts again; the halt must be the
// loader's BKPT (DFSR.BKPT, the result word written). It returns the
// result and the flash address the loader reached.
func (h *H5) waitLoader(ctx context.Context) (res, reached uint32, err error) {
	halted := false
	for i := 0; i < h.o.MaxPolls && !halted; i++ {
		d, err := h.t.Read32(ctx, adi.RegDHCSR)
		if err != nil {
			return 0, 0, fmt.Errorf("target: reading DHCSR while the flash loader runs: %w", err)
		}
		if d&adi.DHCSRSLockup != 0 {
			h.haltLoader(ctx)
			return 0, 0, fmt.Errorf("target: the flash loader locked the core up (DHCSR.S_LOCKUP): the core refused an instruction or an access; program register by register instead")
		}
		halted = d&adi.DHCSRSHalt != 0
	}
	if !halted {
		h.haltLoader(ctx)
		return 0, 0, fmt.Errorf("target: the flash loader did not reach its BKPT after %d DHCSR reads; the core was halted", h.o.MaxPolls)
	}
	dfsr, err := h.t.Read32(ctx, adi.RegDFSR)
	if err != nil {
		return 0, 0, fmt.Errorf("target: reading DFSR: %w", err)
	}
	out := make([]byte, 8)
	if err := h.t.ReadMem(ctx, loaderCode+h5LoaderParams+16, out); err != nil {
		return 0, 0, fmt.Errorf("target: reading the flash loader's result: %w", err)
	}
	res, reached = binary.LittleEndian.Uint32(out), binary.LittleEndian.Uint32(out[4:])
	if dfsr&adi.DFSRBkpt == 0 || res == loaderPending {
		return 0, 0, fmt.Errorf("target: the core halted before the flash loader's BKPT (DFSR 0x%X): something else stopped it", dfsr)
	}
	return res, reached, nil
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
