package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/stprobe/stprobe/probe/da"
)

// cmdDA runs debug-authentication commands. Only the read-only discovery
// exists so far; regression and debug opening come later.
func cmdDA(ctx context.Context, g *globalFlags, args []string, stdout, stderr io.Writer) error {
	const usage = "usage: stprobe da discover [--json] [--request WORD] [--reply WORD[,WORD]] [--khz KHZ]\n\n" +
		"Debug authentication: only discovery (read-only) is built so far; regression and debug opening are not.\n"
	switch {
	case len(args) == 0:
		fmt.Fprint(stderr, usage)
		return errUsage
	case args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help":
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	case args[0] != "discover":
		fmt.Fprintf(stderr, "stprobe da: unknown sub-command %q (only discover is built so far)\n", args[0])
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	fs := flag.NewFlagSet("da discover", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the discovery as JSON")
	request := fs.String("request", "", "session request `WORD` written under NRST (default 0x53544441 \"STDA\"; the STM32H5 value is not public)")
	reply := fs.String("reply", "", "accepted reply `WORDS`, comma-separated (default an echo of the request, or 0x44414F4B \"DAOK\")")
	khz := fs.Int("khz", 0, "SWD clock in `KHZ` (default: the probe's current clock)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: stprobe da discover [--json] [--request WORD] [--reply WORD[,WORD]] [--khz KHZ]")
		fmt.Fprintln(stderr, "\nAsks the chip's ROM, through the DBGMCU mailbox on AP0, for its product state and whether debug")
		fmt.Fprintln(stderr, "authentication is provisioned. Read-only, but it resets the chip through NRST (which must be")
		fmt.Fprintln(stderr, "wired) and leaves it in the ROM's DA loop until its next reset.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	var o da.Options
	var err error
	if fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err == nil && *request != "" {
		o.RequestWord, err = parseWord(*request)
	}
	if err == nil && *reply != "" {
		for _, s := range strings.Split(*reply, ",") {
			var w uint32
			if w, err = parseWord(s); err != nil {
				break
			}
			o.ReplyWords = append(o.ReplyWords, w)
		}
	}
	if err == nil && *khz < 0 {
		err = fmt.Errorf("SWD clock %d kHz: want a positive number", *khz)
	}
	if err != nil {
		return usageError(fs, stderr, err)
	}
	o.FrequencyKHz = *khz
	b, err := openBench(ctx, g)
	if err != nil {
		return err
	}
	defer b.Close()
	d, err := da.Discover(ctx, b.Link, o)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(daDiscoverJSON{
			State:       d.StateName(),
			Provisioned: d.Provisioned(),
			Method:      d.Method(),
			DevID:       fmt.Sprintf("0x%03X", d.SoCClass),
			UID:         fmt.Sprintf("%08X%08X%08X", d.UID[2], d.UID[1], d.UID[0]),
			Integrity:   fmt.Sprintf("0x%08X", d.Integrity),
			Permissions: fmt.Sprintf("0x%08X", d.PermissionWord()),
			Discovery:   d,
		})
	}
	_, err = fmt.Fprintf(stdout, "DA discovery: %s\nSoC ID (UID): %08X %08X %08X\nreply word:   0x%08X\n",
		d, d.UID[2], d.UID[1], d.UID[0], d.ReplyWord)
	return err
}

// parseWord parses a 32-bit word in Go syntax (0x… hex, decimal) or four
// ASCII characters packed first character highest ("STDA").
func parseWord(s string) (uint32, error) {
	s = strings.TrimSpace(s)
	if v, err := strconv.ParseUint(s, 0, 32); err == nil {
		return uint32(v), nil
	}
	if len(s) == 4 {
		return uint32(s[0])<<24 | uint32(s[1])<<16 | uint32(s[2])<<8 | uint32(s[3]), nil
	}
	return 0, fmt.Errorf("word %q: want 0xNNNNNNNN or four ASCII characters", s)
}

// daDiscoverJSON is the JSON form of da discover: the answers a script
// needs, in the notation of the text output, then the full discovery.
type daDiscoverJSON struct {
	State       string        `json:"state"`
	Provisioned bool          `json:"provisioned"`
	Method      string        `json:"method,omitempty"`
	DevID       string        `json:"dev_id"`
	UID         string        `json:"uid"`
	Integrity   string        `json:"integrity"`
	Permissions string        `json:"permissions"`
	Discovery   *da.Discovery `json:"discovery"`
}
