package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32h5/dacred"
)

// daMakeCommand is `stprobe da make-password` and `stprobe da
// make-certs`: credential files, made offline (no probe).
func (a *app) daMakeCommand(certs bool) *cobra.Command {
	var part, out, text string
	var force bool
	use, syn := "make-password", "da make-password --part PART --out DIR [--password-text TEXT] [--force]"
	short := "make a DA password and the matching provisioning file for a part"
	long := "Writes DIR/" + dacred.PasswordFile + " (ST's password file) and DIR/" + dacred.PasswordOBKFile + " (the DA record with the password's hash, encrypted on the crypto parts H533/H573), in ST's formats; on the H503, DIR/" + dacred.OTPImageFile + " (the hash for OTP) instead of the .obk file. The password is random unless --password-text gives it. Keep the password file: it is the way back once the chip is closed."
	if certs {
		use, syn = "make-certs", "da make-certs --part PART --out DIR [--force]"
		short = "make a DA certificate chain, the leaf key and the provisioning file for a part"
		long = "Writes root, intermediate and leaf keys and certificates (PSA binary), the chain file " + dacred.ChainFile + ", and " + dacred.CertOBKFile + " (the DA record with the root key's hash) for the part, in ST's formats. The certificate method needs TrustZone on (TZEN=0xB4). Keep the leaf key and the chain: they are the way back once the chip is closed."
	}
	c := &cobra.Command{Use: use, Annotations: synopsis(syn), Short: short, Long: long, DisableFlagsInUseLine: true, Args: a.noArgs}
	c.Flags().StringVar(&part, "part", "", "the PART: H503, H523, H533, H562, H563 or H573")
	c.Flags().StringVar(&out, "out", "", "the DIRectory to write the files into")
	c.Flags().BoolVar(&force, "force", false, "overwrite files already there (credentials a chip may still need)")
	if !certs {
		c.Flags().StringVar(&text, "password-text", "", "the password TEXT (default: a random one)")
	}
	complete(c, "part", stm32h5.PartNames()...)
	c.RunE = func(c *cobra.Command, _ []string) error {
		if part == "" || out == "" {
			return usage(c, errors.New("--part PART and --out DIR are required"))
		}
		p, err := stm32h5.LookupPart(part)
		if err != nil {
			return usage(c, err)
		}
		var fs dacred.Files
		if certs {
			if !p.TrustZone {
				return usage(c, fmt.Errorf("the %s has no TrustZone and takes only a password: use da make-password", p.Name))
			}
			fs, err = dacred.MakeCerts(p, dacred.MakeOptions{})
		} else {
			fs, err = dacred.MakePassword(p, dacred.MakeOptions{Password: []byte(text)})
		}
		if err != nil {
			return usage(c, err)
		}
		return a.writeCredFiles(fs, out, force)
	}
	return c
}

// writeCredFiles writes credential files into dir, refusing to overwrite
// any unless force, and lists them.
func (a *app) writeCredFiles(fs dacred.Files, dir string, force bool) error {
	if !force {
		for _, f := range fs {
			p := filepath.Join(dir, f.Name)
			if _, err := os.Lstat(p); err == nil {
				return &inputError{fmt.Errorf("file: %s exists: it may be the credentials a chip needs to come back; choose another --out, or --force", p)}
			}
		}
	}
	if err := fs.Write(dir); err != nil {
		return err
	}
	for _, f := range fs {
		kind := ""
		if f.Secret {
			kind = " (secret: keep it, owner-only)"
		}
		fmt.Fprintf(a.stdout, "wrote %s, %d bytes%s\n", filepath.Join(dir, f.Name), len(f.Data), kind)
	}
	return nil
}
