package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stprobe/stprobe/bench"
)

// flashFlags are the flags of the flash commands that write.
type flashFlags struct {
	confirm   string
	stateDir  string
	khz       int
	burst     bool
	byReg     bool
	verify    bool
	resetRun  bool
	saveFlash string
	addr      string
	format    string
}

// flashCommand is `stprobe flash`: program, erase, read and verify the
// chip's main flash.
func (a *app) flashCommand() *cobra.Command {
	c := newCommand("flash", "flash write FILE [--addr ADDR] [--verify] [--reset-run] [--save-flash FILE] | flash erase (--all | --sectors A-B | --range ADDR LEN) | flash read ADDR LEN -o FILE | flash verify FILE",
		"program, erase, read and verify the main flash",
		"Programs the chip's main flash from a BIN (with --addr), Intel HEX or ELF file, erases sectors, reads it and compares it with a file. "+
			"Writes are guarded: the plan says which sectors are erased and whether they hold data (keep a copy with --save-flash FILE), "+
			"the phrase confirms it, a journal says which sectors hold what if the write is cut short, and the audit log records the image's SHA-256. "+
			"On an STM32H5 whose core halts, a small flash loader runs on the target from SRAM (the host feeds it 6 KiB blocks); otherwise, "+
			"or with --register-by-register, the host drives the flash controller register by register through the debug port.",
		nil)
	return groupCommand(c, "write, erase, read or verify", "",
		a.flashWriteCommand(), a.flashEraseCommand(), a.flashReadCommand(), a.flashVerifyCommand())
}

// guardFlags adds the flags every flash write takes.
func (f *flashFlags) guardFlags(c *cobra.Command) {
	c.Flags().StringVar(&f.confirm, "confirm", "", "the confirmation PHRASE the plan prints (on a terminal it is asked for)")
	c.Flags().StringVar(&f.stateDir, "state-dir", "", "where the journal and the audit log live (default: the state directory)")
	c.Flags().IntVar(&f.khz, "khz", 0, "SWD clock in KHZ (default: the probe's current clock)")
	c.Flags().StringVar(&f.saveFlash, "save-flash", "", "save the sectors that hold data to FILE (Intel HEX) before erasing them; FILE must not exist")
}

// flashWriteCommand is `stprobe flash write FILE`.
func (a *app) flashWriteCommand() *cobra.Command {
	var f flashFlags
	c := newCommand("write FILE", "flash write FILE [--addr ADDR] [--format bin|hex|elf] [--verify] [--reset-run] [--save-flash FILE] [--confirm PHRASE]",
		"program FILE (BIN, Intel HEX or ELF) into the main flash",
		"Programs FILE into the main flash: an ELF's PT_LOAD segments by their load address, an Intel HEX file's records, or a raw binary at --addr. "+
			"A malformed file, one larger than the flash, outside it, or over a protected or secure sector is refused before anything is erased. "+
			"The plan lists the sectors to erase; confirm with the phrase (--confirm, or typed on a terminal). --verify reads the image back; --reset-run resets the chip to run it.",
		a.exactArgs(1))
	f.guardFlags(c)
	c.Flags().StringVar(&f.addr, "addr", "", "where a raw binary goes (e.g. 0x08000000)")
	c.Flags().StringVar(&f.format, "format", "", "bin, hex or elf (default: from the content and the name)")
	c.Flags().BoolVar(&f.verify, "verify", false, "read the flash back and compare it with the image (and its CRC-32)")
	c.Flags().BoolVar(&f.resetRun, "reset-run", false, "after a clean write, reset the chip and let it run")
	c.Flags().BoolVar(&f.burst, "burst", false, "write 1 KiB per memory command and read the status once (faster; relies on the flash bus holding each write until the one before is programmed)")
	c.Flags().BoolVar(&f.byReg, "register-by-register", false, "drive the flash controller from the host even where a flash loader could run on the halted core (STM32H5)")
	c.RunE = func(c *cobra.Command, args []string) error {
		im, err := a.readImage(args[0], f.addr, f.format)
		if err == nil {
			err = checkKHz(f.khz)
		}
		if err != nil {
			return usage(c, err)
		}
		req := bench.FlashRequest{Name: args[0], Image: im, Verify: f.verify, ResetRun: f.resetRun}
		return a.runFlash(c.Context(), f, req)
	}
	return c
}

// readImage reads and decodes a firmware file before the probe is touched.
func (a *app) readImage(path, addr, format string) (*bench.FlashImage, error) {
	o := bench.FlashImageOptions{Format: bench.FlashImageFormat(strings.ToLower(format))}
	if addr != "" {
		v, err := parseAddr(addr)
		if err != nil {
			return nil, fmt.Errorf("--addr: %w", err)
		}
		o.Addr, o.HasAddr = v, true
	}
	return bench.ReadFlashImage(path, o)
}

// flashEraseCommand is `stprobe flash erase`.
func (a *app) flashEraseCommand() *cobra.Command {
	var (
		f       flashFlags
		all     bool
		sectors string
		rng     []string
	)
	c := newCommand("erase", "flash erase (--all | --sectors A-B | --range ADDR LEN) [--save-flash FILE] [--confirm PHRASE]",
		"erase every sector, a range of sectors, or the sectors under an address range",
		"Erases main-flash sectors: --all, --sectors A-B (indexes in address order, as the plan lists them), or --range ADDR LEN (every sector the range touches). "+
			"Guarded like flash write: the plan, the phrase, the journal and the audit line.",
		a.exactArgs(0))
	f.guardFlags(c)
	c.Flags().BoolVar(&all, "all", false, "erase every sector")
	c.Flags().StringVar(&sectors, "sectors", "", "erase sectors A-B (or one sector N)")
	c.Flags().StringSliceVar(&rng, "range", nil, "erase the sectors under ADDR,LEN (or --range ADDR --range LEN)")
	c.RunE = func(c *cobra.Command, args []string) error {
		var er bench.FlashErase
		n := 0
		if all {
			er.All, n = true, n+1
		}
		if sectors != "" {
			first, last, err := parseSectorRange(sectors)
			if err != nil {
				return usage(c, err)
			}
			er.Sectors, er.First, er.Last, n = true, first, last, n+1
		}
		if len(rng) > 0 {
			if len(rng) != 2 {
				return usage(c, errors.New("--range wants ADDR and LEN, e.g. --range 0x08010000,16K"))
			}
			addr, err := parseAddr(rng[0])
			if err != nil {
				return usage(c, err)
			}
			l, err := parseLen(rng[1])
			if err != nil {
				return usage(c, err)
			}
			er.Addr, er.Len, n = addr, uint32(l), n+1
		}
		if n != 1 {
			return usage(c, errors.New("give one of --all, --sectors A-B or --range ADDR,LEN"))
		}
		if err := checkKHz(f.khz); err != nil {
			return usage(c, err)
		}
		return a.runFlash(c.Context(), f, bench.FlashRequest{Erase: &er})
	}
	return c
}

// parseSectorRange reads "A-B" or "N".
func parseSectorRange(s string) (int, int, error) {
	a, b, found := strings.Cut(s, "-")
	first, err := strconv.Atoi(strings.TrimSpace(a))
	if err != nil || first < 0 {
		return 0, 0, fmt.Errorf("--sectors %q: want A-B or N, sector indexes from 0", s)
	}
	if !found {
		return first, first, nil
	}
	last, err := strconv.Atoi(strings.TrimSpace(b))
	if err != nil || last < first {
		return 0, 0, fmt.Errorf("--sectors %q: want A-B with A <= B", s)
	}
	return first, last, nil
}

// runFlash plans, shows the plan, gets the phrase and runs the write with a
// progress bar on a terminal.
func (a *app) runFlash(ctx context.Context, f flashFlags, req bench.FlashRequest) error {
	dir, err := stateDirOr(f.stateDir)
	if err != nil {
		return err
	}
	req.StateDir, req.SaveFlash, req.FrequencyKHz = dir, f.saveFlash, f.khz
	if f.burst {
		req.BurstBytes = 1024
	}
	req.RegisterByRegister = f.byReg
	return a.withBench(ctx, func(ctx context.Context, b *bench.Bench, tok bench.Token) error {
		p, err := b.PlanFlash(ctx, tok, req)
		if err != nil {
			return err
		}
		w := bufio.NewWriter(a.stderr)
		printFlashPlan(w, p, req)
		_ = w.Flush()
		req.Confirm = f.confirm
		if req.Confirm == "" {
			if !isTerminal(a.stderr) || !isTerminalReader(a.stdin) {
				return fmt.Errorf("nothing was written: give --confirm %s to write (or run it on a terminal to be asked)", shellQuote(p.Phrase))
			}
			fmt.Fprintf(a.stderr, "type %q to go on: ", p.Phrase)
			line, _ := bufio.NewReader(a.stdin).ReadString('\n')
			req.Confirm = strings.TrimSpace(line)
		}
		var out *bench.FlashOutcome
		err = a.withStatusLine(b, flashStatus, func() error {
			var err error
			out, err = b.Flash(ctx, tok, req)
			return err
		})
		if out != nil && out.Result != nil {
			printFlashResult(a.stdout, out)
		}
		return err
	})
}

// isTerminalReader reports whether r is a terminal.
func isTerminalReader(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// printFlashPlan shows the sectors, what they hold, the risk and the
// phrase.
func printFlashPlan(w io.Writer, p *bench.FlashPlan, req bench.FlashRequest) {
	if p.Image != nil {
		fmt.Fprintf(w, "image: %s (%s), %d bytes, SHA-256 %s\n", p.Image.Name, p.Image.Format, p.Image.Bytes, p.Image.SHA256)
		for _, s := range p.Image.Segments {
			fmt.Fprintf(w, "  0x%08X..0x%08X  %d bytes\n", s.Addr, uint64(s.Addr)+uint64(s.Len)-1, s.Len)
		}
	}
	fmt.Fprintf(w, "chip: %s %s, %s\n", p.Line, p.UID, p.Layout.Protection())
	for _, n := range p.Layout.Notes {
		fmt.Fprintf(w, "  %s\n", n)
	}
	fmt.Fprintf(w, "sectors to erase (%d):\n", len(p.Erase))
	for i := 0; i < len(p.Erase); {
		k := i
		for k+1 < len(p.Erase) && p.Erase[k+1].Empty == p.Erase[i].Empty && p.Erase[k+1].Addr == uint32(p.Erase[k].End()) {
			k++
		}
		holds := "holds data"
		if p.Erase[i].Empty {
			holds = "empty"
		}
		fmt.Fprintf(w, "  0x%08X..0x%08X  %s", p.Erase[i].Addr, p.Erase[k].End()-1, p.Erase[i].Name)
		if k > i {
			fmt.Fprintf(w, " … %s", p.Erase[k].Name)
		}
		fmt.Fprintf(w, "  %s\n", holds)
		i = k + 1
	}
	for _, n := range p.Notes {
		if p.NotEmpty > 0 && req.SaveFlash != "" && strings.Contains(n, "--save-flash") {
			n = fmt.Sprintf("the %d sectors that hold data are saved to %s first", p.NotEmpty, req.SaveFlash)
		}
		fmt.Fprintf(w, "note: %s\n", n)
	}
	fmt.Fprintf(w, "risk: %s (erases what the sectors hold)\n", p.Risk)
	fmt.Fprintf(w, "confirmation phrase: %s\n", p.Phrase)
}

// printFlashResult says what the write did.
func printFlashResult(w io.Writer, out *bench.FlashOutcome) {
	r := out.Result
	if r.Erased == 1 {
		fmt.Fprint(w, "erased 1 sector")
	} else {
		fmt.Fprintf(w, "erased %s", bench.FlashSectors(r.Erased))
	}
	if r.Programmed > 0 {
		fmt.Fprintf(w, ", programmed %d bytes", r.Programmed)
	}
	if r.Verified {
		fmt.Fprintf(w, ", verified (CRC-32 0x%08X)", r.CRC32)
	}
	fmt.Fprintln(w)
	if r.LoaderSectors > 0 {
		fmt.Fprintf(w, "programmed by the flash loader on the target (%d of the sectors)\n", r.LoaderSectors)
	}
	if r.Saved != "" {
		fmt.Fprintf(w, "the sectors' old data: %s\n", r.Saved)
	}
	if r.Holds != nil {
		fmt.Fprintf(w, "what the chip holds now:\n%s\n", r.Holds)
	}
	switch {
	case out.Running:
		fmt.Fprintln(w, "reset: the chip runs the new program")
	case out.Halted && r.Holds == nil:
		fmt.Fprintln(w, "the core stays halted: reset the board (or give --reset-run) to run the new program")
	}
}

// flashStatus is the status line of a flash job's step: a progress bar
// where the step counts its work.
func flashStatus(ev bench.Event) (string, bool) {
	s, ok := ev.(bench.FlashStep)
	switch {
	case !ok:
		return "", false
	case s.Step.Total > 0:
		return fmt.Sprintf("%-8s %s %3d%%  %s", s.Step.Step, bar(s.Step.Done, s.Step.Total, 24), 100*s.Step.Done/s.Step.Total, s.Step.Message), true
	}
	return fmt.Sprintf("%-8s %s", s.Step.Step, s.Step.Message), true
}

// bar draws done/total as a bar of width cells.
func bar(done, total, width int) string {
	n := min(width, width*done/max(total, 1))
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

// flashReadCommand is `stprobe flash read ADDR LEN -o FILE`: the memory
// read, named where users look for it.
func (a *app) flashReadCommand() *cobra.Command {
	var f memFlags
	c := newCommand("read ADDR LEN", "flash read ADDR LEN -o FILE [--khz KHZ]",
		"read LEN bytes of flash at ADDR into FILE (as mem read)",
		"Reads LEN bytes at ADDR through the core's access port, connecting Hot Plug, into FILE (-o; - for stdout, a .hex name for Intel HEX); without -o, a hex dump.",
		a.exactArgs(2))
	out := outputFlag(c, "", "write the bytes to FILE (.hex: Intel HEX; - for stdout)")
	// No --ap: flash is read through the identified chip's core port.
	c.Flags().IntVar(&f.khz, "khz", 0, "SWD clock in KHZ (default: the probe's current clock)")
	c.RunE = func(c *cobra.Command, args []string) error {
		return a.runMemRead(c, args, f, *out, true)
	}
	return c
}

// flashVerifyCommand is `stprobe flash verify FILE`.
func (a *app) flashVerifyCommand() *cobra.Command {
	var (
		addr, format string
		khz          int
	)
	c := newCommand("verify FILE", "flash verify FILE [--addr ADDR] [--format bin|hex|elf] [--khz KHZ]",
		"compare the flash with FILE (BIN, Intel HEX or ELF) without writing",
		"Reads back every byte FILE places and compares it: exit status 0 and the CRC-32 when all match, the first difference otherwise.",
		a.exactArgs(1))
	c.Flags().StringVar(&addr, "addr", "", "where a raw binary goes (e.g. 0x08000000)")
	c.Flags().StringVar(&format, "format", "", "bin, hex or elf (default: from the content and the name)")
	c.Flags().IntVar(&khz, "khz", 0, "SWD clock in KHZ (default: the probe's current clock)")
	c.RunE = func(c *cobra.Command, args []string) error {
		im, err := a.readImage(args[0], addr, format)
		if err == nil {
			err = checkKHz(khz)
		}
		if err != nil {
			return usage(c, err)
		}
		return a.withBench(c.Context(), func(ctx context.Context, b *bench.Bench, tok bench.Token) error {
			crc, err := b.VerifyFlash(ctx, tok, im, khz)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "verified: %d bytes match %s (CRC-32 0x%08X)\n", im.Size(), args[0], crc)
			return nil
		})
	}
	return c
}
