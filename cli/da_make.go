package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32h5/dacred"
)

// daMakeCommand is `stprobe da make-password` and `stprobe da
// make-certs`: credential files, made offline (no probe).
func (a *app) daMakeCommand(certs bool) *cobra.Command {
	var part, out, text, perms, class, certPerms string
	var force bool
	use, syn := "make-password", "da make-password --part PART --out DIR [--password-text TEXT] [--force]"
	short := "make a DA password and the matching provisioning file for a part"
	long := "Writes DIR/" + dacred.PasswordFile + " (ST's password file) and DIR/" + dacred.PasswordOBKFile + " (the DA record with the password's hash, encrypted on the crypto parts H533/H573), in ST's formats; on the H503, DIR/" + dacred.OTPImageFile + " (the hash for OTP) instead of the .obk file. The password is random unless --password-text gives it. Keep the password file: it is the way back once the chip is closed."
	if certs {
		use, syn = "make-certs", "da make-certs --part PART --out DIR [--permissions WORD] [--soc-class WORD] [--cert-permissions WORD] [--force]"
		short = "make a DA certificate chain, the leaf key and the provisioning file for a part"
		long = "Writes, as ST's tools do (the files of STM32CubeH5's ROT_Provisioning/DA, usable with either tool): the root, intermediate and leaf keys (PEM, PKCS #8) and the root's public key, each certificate (PSA binary, as base64 text: " + dacred.RootCertFile + ", " + dacred.IntermediateCert + ", " + dacred.LeafCertFile + "), the chain files " + dacred.IntermediateChain + " and " + dacred.ChainFile + ", and " + dacred.CertOBKFile + " (the DA record with the root key's hash). The certificates are for any chip (soc_class 0) with the permission mask of ST's samples (0x00005077, or --permissions) unless --soc-class or --cert-permissions says otherwise. The certificate method needs TrustZone on (TZEN=0xB4). Keep the leaf key and the chain: they are the way back once the chip is closed."
	} else {
		syn = "da make-password --part PART --out DIR [--password-text TEXT] [--permissions WORD] [--force]"
	}
	c := newCommand(use, syn, short, long, a.noArgs)
	c.Flags().StringVar(&part, "part", "", "the PART: H503, H523, H533, H562, H563 or H573")
	c.Flags().StringVar(&out, "out", "", "the DIRectory to write the files into")
	c.Flags().BoolVar(&force, "force", false, "overwrite files already there (credentials a chip may still need)")
	c.Flags().StringVar(&perms, "permissions", "", "the DA record's permission WORD (default ST's 0x00005077: full and to-TZ regression, debug opening)")
	if !certs {
		c.Flags().StringVar(&text, "password-text", "", "the password TEXT (default: a random one)")
	} else {
		c.Flags().StringVar(&class, "soc-class", "", "the certificates' soc_class WORD (default 0: any chip, as ST's samples; 0x478 limits them to the H523/H533)")
		c.Flags().StringVar(&certPerms, "cert-permissions", "", "the first WORD of the certificates' permission mask (default: the record's permission word)")
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
		o := dacred.MakeOptions{Password: []byte(text)}
		for _, w := range []struct {
			flag, s string
			v       *uint32
		}{{"--permissions", perms, &o.Permissions}, {"--soc-class", class, &o.SoCClass}, {"--cert-permissions", certPerms, &o.CertPermissions}} {
			if w.s == "" {
				continue
			}
			v, err := strconv.ParseUint(strings.TrimSpace(w.s), 0, 32)
			if err != nil {
				return usage(c, fmt.Errorf("%s %q: want a 32-bit number such as 0x00005077", w.flag, w.s))
			}
			*w.v = uint32(v)
		}
		var fs dacred.Files
		if certs {
			if !p.TrustZone {
				return usage(c, fmt.Errorf("the %s has no TrustZone and takes only a password: use da make-password", p.Name))
			}
			fs, err = dacred.MakeCerts(p, o)
		} else {
			fs, err = dacred.MakePassword(p, o)
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
