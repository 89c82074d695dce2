package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/stprobe/stprobe/probe/sim/scenario"
)

// simCredentialsCommand is `stprobe sim credentials SCENARIO --out DIR`:
// the DA credentials of a simulated board that comes provisioned, in the
// files da make-password and da make-certs write.
func (a *app) simCredentialsCommand() *cobra.Command {
	var out string
	var force bool
	c := newCommand("credentials SCENARIO", "sim credentials SCENARIO --out DIR [--force]",
		"write the DA credentials of a simulated board that comes provisioned",
		"Writes the debug-authentication credentials the simulated board SCENARIO was provisioned with (password file, or keys, certificates and chain), with the same file names as da make-password and da make-certs, so that da regress can be rehearsed on it.",
		cobra.ArbitraryArgs)
	c.Flags().StringVar(&out, "out", "", "the DIRectory to write the files into")
	c.Flags().BoolVar(&force, "force", false, "overwrite files already there")
	complete(c, "out")
	c.RunE = func(c *cobra.Command, args []string) error {
		if len(args) != 1 || out == "" {
			return usage(c, errors.New("give the SCENARIO and --out DIR"))
		}
		fs, err := scenario.CredentialFiles(args[0])
		if err != nil {
			return usage(c, err)
		}
		return a.writeCredFiles(fs, out, force)
	}
	return c
}
