package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/targets"
)

// daCommand is `stprobe da`: debug authentication.
func (a *app) daCommand() *cobra.Command {
	c := newCommand("da", "da discover|regress|open-debug|provision|check-obk|make-password|make-certs [FLAGS]",
		"debug authentication: discover, provision, regress, open debug",
		"Debug authentication of STM32H5 chips: discover what the ROM reports, make credentials (make-password, make-certs), provision them in PROVISIONING, check an .obk file against the chip, and regress or open a closed chip. Every write is planned first and runs only with --confirm PHRASE, with a backup of the option bytes and a line in the audit log.",
		nil)
	return groupCommand(c, "discover, regress, open-debug, provision, check-obk, make-password or make-certs", "",
		a.daDiscoverCommand(), a.daAuthCommand(bench.DARegress), a.daAuthCommand(bench.DAOpenDebug),
		a.daProvisionCommand(), a.daCheckOBKCommand(), a.daMakeCommand(false), a.daMakeCommand(true))
}

// daDiscoverCommand is `stprobe da discover`.
func (a *app) daDiscoverCommand() *cobra.Command {
	var session daSession
	c := newCommand("discover", "da discover [--json] [--request WORD] [--reply WORD[,WORD]] [--khz KHZ] [--request-count UNIT] [--response-count UNIT]",
		"what the chip's ROM reports: product state, whether DA is provisioned",
		"Asks the chip's ROM, through the DBGMCU mailbox on AP0, for its product state and whether debug authentication is provisioned. Read-only, but it resets the chip through NRST (which must be wired) and leaves it in the ROM's DA loop until its next reset.",
		a.noArgs)
	asJSON := jsonFlag(c, "print the discovery as JSON")
	session.register(c.Flags())
	c.RunE = func(c *cobra.Command, _ []string) error {
		o, err := session.options()
		if err != nil {
			return usage(c, err)
		}
		return a.withBench(c.Context(), func(ctx context.Context, b *bench.Bench, tok bench.Token) error {
			d, err := b.Discover(ctx, tok, o)
			if err != nil {
				return err
			}
			return a.printDiscovery(d, *asJSON)
		})
	}
	return c
}

// printDiscovery renders a discovery as text or JSON.
func (a *app) printDiscovery(d *da.Discovery, asJSON bool) error {
	if asJSON {
		out := daDiscoverJSON{
			Lifecycle:   fmt.Sprintf("0x%04X", d.Lifecycle),
			Provisioned: d.Provisioned(),
			Method:      d.Method(),
			DevID:       fmt.Sprintf("0x%03X", d.SoCClass),
			UID:         fmt.Sprintf("%08X%08X%08X", d.UID[2], d.UID[1], d.UID[0]),
			Integrity:   fmt.Sprintf("0x%08X", d.Integrity),
			Permissions: fmt.Sprintf("0x%08X", d.PermissionWord()),
			Discovery:   d,
		}
		if d.State.Valid() {
			st := d.State
			out.ProductState = &st
		}
		return writeJSON(a.stdout, out)
	}
	_, err := fmt.Fprintf(a.stdout, "DA discovery: %s\nSoC ID (UID): %08X %08X %08X\nreply word:   0x%08X\n",
		d, d.UID[2], d.UID[1], d.UID[0], d.ReplyWord)
	for _, w := range d.Drained {
		if err == nil {
			_, err = fmt.Fprintf(a.stdout, "drained:      0x%08X (a stale word in DBG_AUTH_DEV, not taken as the reply)\n", w)
		}
	}
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
	// ProductState is the state the ROM's lifecycle maps to, absent when
	// the lifecycle is not one stprobe knows (Lifecycle says which).
	ProductState *targets.ProductState `json:"product_state,omitempty"`
	Lifecycle    string                `json:"lifecycle"`
	Provisioned  bool                  `json:"provisioned"`
	Method       string                `json:"method,omitempty"`
	DevID        string                `json:"dev_id"`
	UID          string                `json:"uid"`
	Integrity    string                `json:"integrity"`
	Permissions  string                `json:"permissions"`
	Discovery    *da.Discovery         `json:"discovery"`
}
