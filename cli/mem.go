package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/safefile"
)

// memCommand is `stprobe mem`: target memory through an access port.
func (a *app) memCommand() *cobra.Command {
	c := newCommand("mem", "mem read ADDR LEN [-o FILE] [--ap N] | mem write ADDR FILE [--ap N]",
		"read target memory, write target RAM",
		"Reads target memory, or writes a file into the target's RAM, through an access port, connecting Hot Plug (nothing written to the core).",
		nil)
	return groupCommand(c, "read or write", "", a.memReadCommand(), a.memWriteCommand())
}

// memReadCommand is `stprobe mem read ADDR LEN`.
func (a *app) memReadCommand() *cobra.Command {
	var f memFlags
	c := newCommand("read ADDR LEN", "mem read ADDR LEN [-o FILE] [--ap N] [--khz KHZ]",
		"read LEN bytes at ADDR: a hex dump, or the bytes into FILE",
		"Reads LEN bytes of target memory at ADDR and prints them as a hex dump (address, 16 bytes, ASCII), or writes them as they are to FILE (-o; - for stdout). "+
			"ADDR and LEN are decimal or 0x hex; LEN also takes the binary suffixes K, KiB, M and MiB (64K = 65536 bytes), up to 16 MiB.",
		a.exactArgs(2))
	out := outputFlag(c, "", "write the bytes to FILE instead of a hex dump (- for stdout)")
	f.add(c, "read")
	c.RunE = func(c *cobra.Command, args []string) error {
		return a.runMemRead(c, args, f, *out, false)
	}
	return c
}

// runMemRead reads LEN bytes at ADDR (args) through f's access port and
// clock, and writes them to out (see writeMemOutput); with hexFile, an out
// named .hex gets Intel HEX.
func (a *app) runMemRead(c *cobra.Command, args []string, f memFlags, out string, hexFile bool) error {
	addr, err := parseAddr(args[0])
	if err != nil {
		return usage(c, err)
	}
	n, err := parseLen(args[1])
	if err == nil {
		err = checkRange(addr, n)
	}
	if err == nil {
		err = checkKHz(f.khz)
	}
	if err != nil {
		return usage(c, err)
	}
	req := f.request(addr, n)
	return a.withBench(c.Context(), func(ctx context.Context, b *bench.Bench, tok bench.Token) error {
		var data []byte
		err := a.withStatusLine(b, memStatus, func() error {
			var err error
			data, err = b.ReadMemory(ctx, tok, req)
			return err
		})
		if err != nil {
			return err
		}
		if hexFile && strings.HasSuffix(strings.ToLower(out), ".hex") {
			data = bench.EncodeHEX(addr, data)
		}
		return a.writeMemOutput(out, addr, data)
	})
}

// writeMemOutput prints what mem read got: a hex dump on stdout, or the
// bytes themselves to the file out (stdout for "-").
func (a *app) writeMemOutput(out string, addr uint32, data []byte) error {
	if out != "" {
		return a.writeOutput(out, data, fmt.Sprintf("the %d bytes read", len(data)))
	}
	w := bufio.NewWriter(a.stdout)
	hexDump(w, addr, data)
	if err := w.Flush(); err != nil {
		return fmt.Errorf("writing the dump: %w", err)
	}
	return nil
}

// memWriteCommand is `stprobe mem write ADDR FILE`.
func (a *app) memWriteCommand() *cobra.Command {
	var f memFlags
	c := newCommand("write ADDR FILE", "mem write ADDR FILE [--ap N] [--khz KHZ]",
		"write FILE into the target's RAM at ADDR",
		"Writes the bytes of FILE (a regular file of at most 16 MiB) into target RAM at ADDR (decimal or 0x hex). "+
			"Only the identified chip's SRAM is written: flash takes its erase-and-program sequence and is refused, as is every other region.",
		a.exactArgs(2))
	f.add(c, "write")
	c.RunE = func(c *cobra.Command, args []string) error {
		addr, err := parseAddr(args[0])
		if err != nil {
			return usage(c, err)
		}
		err = checkKHz(f.khz)
		var data []byte
		if err == nil {
			data, err = readInputFile(args[1])
		}
		if err == nil {
			err = checkRange(addr, len(data))
		}
		if err != nil {
			return usage(c, err)
		}
		req := f.request(addr, len(data))
		return a.withBench(c.Context(), func(ctx context.Context, b *bench.Bench, tok bench.Token) error {
			err := a.withStatusLine(b, memStatus, func() error { return b.WriteMemory(ctx, tok, req, data) })
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "wrote %d bytes at 0x%08X\n", len(data), addr)
			return nil
		})
	}
	return c
}

// memFlags are the flags of mem read and mem write: the access port and
// the SWD clock.
type memFlags struct {
	ap  optionalAP
	khz int
}

// add registers --ap, the access port to verb through, and --khz on c.
func (f *memFlags) add(c *cobra.Command, verb string) {
	c.Flags().Var(&f.ap, "ap", "access port N to "+verb+" through, 0..255 (default: the identified chip's core port, else 0)")
	c.Flags().IntVar(&f.khz, "khz", 0, "SWD clock in KHZ (default: the probe's current clock)")
}

// request is the request for n bytes at addr through the flags' access
// port and clock.
func (f *memFlags) request(addr uint32, n int) bench.MemRequest {
	return bench.MemRequest{AP: f.ap.ap, AutoAP: !f.ap.set, Addr: addr, Len: n, FrequencyKHz: f.khz}
}

// checkKHz refuses a negative SWD clock (0 keeps the probe's current one).
func checkKHz(khz int) error {
	if khz < 0 {
		return fmt.Errorf("SWD clock %d kHz: want a positive number of kHz (or 0 for the probe's current clock)", khz)
	}
	return nil
}

// exactArgs accepts exactly n positional arguments; a missing or an extra
// one is a usage mistake that names it.
func (a *app) exactArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		switch {
		case len(args) > n:
			return usage(c, fmt.Errorf("unexpected argument %q", args[n]))
		case len(args) < n:
			return usage(c, fmt.Errorf("want %d arguments: %s", n, strings.TrimPrefix(c.Use, c.Name()+" ")))
		}
		return nil
	}
}

// memStatus is the status line of a memory transfer's progress.
func memStatus(ev bench.Event) (string, bool) {
	p, ok := ev.(bench.ProbeProgress)
	if !ok || p.Progress.Total <= 0 || !strings.Contains(p.Progress.Op, "memory") {
		return "", false
	}
	return fmt.Sprintf("%s  %d/%d bytes  %3d%%", p.Progress.Op, p.Progress.Done, p.Progress.Total, 100*p.Progress.Done/p.Progress.Total), true
}

// withStatusLine runs job; on a terminal it shows, on one line of stderr
// redrawn in place, what status makes of each of the bench's events (ok
// false: the event changes nothing).
func (a *app) withStatusLine(b *bench.Bench, status func(ev bench.Event) (line string, ok bool), job func() error) error {
	if !isTerminal(a.stderr) {
		return job()
	}
	var err error
	line := &statusLine{w: a.stderr}
	follow(b, func(ev bench.Event) {
		if s, ok := status(ev); ok {
			line.show(s)
		}
	}, func() { err = job() })
	line.clear()
	return err
}

// statusLine redraws one line on a terminal.
type statusLine struct {
	w     io.Writer
	width int
}

func (p *statusLine) show(s string) {
	fmt.Fprintf(p.w, "\r%s%s", s, strings.Repeat(" ", max(p.width-len(s), 0)))
	p.width = len(s)
}

func (p *statusLine) clear() {
	if p.width > 0 {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
		p.width = 0
	}
}

// hexDump writes data as lines of its address, 16 bytes in hex and the
// same bytes as ASCII ('.' for the rest).
func hexDump(w io.Writer, addr uint32, data []byte) {
	var line []byte
	for off := 0; off < len(data); off += 16 {
		row := data[off:min(off+16, len(data))]
		line = fmt.Appendf(line[:0], "%08X ", addr+uint32(off))
		for i := range 16 {
			if i == 8 {
				line = append(line, ' ')
			}
			if i < len(row) {
				line = fmt.Appendf(line, " %02X", row[i])
			} else {
				line = append(line, "   "...)
			}
		}
		line = append(line, "  |"...)
		for _, c := range row {
			if c < 0x20 || c > 0x7E {
				c = '.'
			}
			line = append(line, c)
		}
		line = append(line, "|\n"...)
		w.Write(line)
	}
}

// parseNum parses an unsigned number of at most bits bits: 0x hex, else
// decimal (a leading 0 is not octal).
func parseNum(s string, bits int) (uint64, error) {
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		return strconv.ParseUint(h, 16, bits)
	}
	return strconv.ParseUint(s, 10, bits)
}

// parseAddr parses a 32-bit address, decimal or 0x hex.
func parseAddr(s string) (uint32, error) {
	v, err := parseNum(s, 32)
	if err != nil {
		return 0, fmt.Errorf("address %q: want a 32-bit number, decimal or 0x hex (0x20000000)", s)
	}
	return uint32(v), nil
}

// lenSuffixes are the binary multipliers parseLen accepts.
var lenSuffixes = []struct {
	suffix string
	mult   uint64
}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"K", 1 << 10}, {"M", 1 << 20}}

// parseLen parses a byte count from 1 to bench.MaxMemRead: decimal or 0x
// hex, with an optional binary suffix K, KiB, M or MiB (any case).
func parseLen(s string) (int, error) {
	num, mult := s, uint64(1)
	for _, sf := range lenSuffixes {
		if len(num) > len(sf.suffix) && strings.EqualFold(num[len(num)-len(sf.suffix):], sf.suffix) {
			num, mult = num[:len(num)-len(sf.suffix)], sf.mult
			break
		}
	}
	v, err := parseNum(num, 32)
	if err != nil || v == 0 || v > bench.MaxMemRead/mult {
		return 0, fmt.Errorf("length %q: want 1 byte to 16 MiB, decimal or 0x hex, optionally with K, KiB, M or MiB (64K)", s)
	}
	return int(v * mult), nil
}

// checkRange refuses a transfer that would run past the end of the 32-bit
// address space.
func checkRange(addr uint32, n int) error {
	if uint64(addr)+uint64(n) > 1<<32 {
		return fmt.Errorf("0x%08X + %d bytes runs past the end of the address space (0xFFFFFFFF)", addr, n)
	}
	return nil
}

// readInputFile reads a regular file of 1 byte to bench.MaxMemRead.
func readInputFile(path string) ([]byte, error) {
	data, err := safefile.Read(path, "file of the bytes to write", bench.MaxMemRead)
	if err == nil && len(data) == 0 {
		return nil, fmt.Errorf("file: %s is empty: nothing to write", path)
	}
	return data, err
}
