package scenario

import (
	"fmt"

	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32h5/dacred"
)

// Credentials writes into dir the debug-authentication credentials of a
// scenario whose board comes with DA provisioned, under the names
// make-password and make-certs use: password.bin and the .obk file (the
// H503's OTP image instead) for a password board; the keys, certificates,
// chain file and DA_Config.obk for a certificate board. They are derived
// from the scenario (password boards hold ST's sample password, which
// ST's recovery recipe provisions; certificate boards a chain derived from
// the scenario's name), so every run hands out the same files, and they
// match what the simulated chip holds.
func Credentials(name, dir string) error {
	fs, err := CredentialFiles(name)
	if err != nil {
		return err
	}
	return fs.Write(dir)
}

// CredentialFiles returns the files Credentials writes.
func CredentialFiles(name string) (dacred.Files, error) {
	s, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	if s.Chip == nil || s.Chip.DA == stm32h5.DANone {
		return nil, fmt.Errorf("scenario %s has no debug authentication provisioned; these do: %v", name, withDA())
	}
	part := scenarioPart(s.Chip.Line)
	o := dacred.MakeOptions{Seed: seed(name), Permissions: s.Chip.DAPermissions}
	if s.Chip.DA == stm32h5.DAPassword {
		o.Password = s.Chip.DASecret
		if len(o.Password) == 0 {
			o.Password = []byte(stm32h5.DefaultPassword)
		}
		return dacred.MakePassword(part, o)
	}
	return dacred.MakeCerts(part, o)
}

// withDA lists the scenarios that hand out credentials.
func withDA() []string {
	var out []string
	for _, s := range List() {
		if s.Chip != nil && s.Chip.DA != stm32h5.DANone {
			out = append(out, s.Name)
		}
	}
	return out
}

// seed is what a scenario's credentials derive from.
func seed(name string) []byte { return []byte("stprobe scenario " + name) }

// scenarioPart is the part the model of a line stands for.
func scenarioPart(line uint16) stm32h5.Part { return stm32h5.ModelPart(line) }

// daSecret is the secret a DA scenario's chip holds the hash of: ST's
// sample password (the model's default), or the derived root key X‖Y.
func daSecret(name string, c *stm32h5.Config) []byte {
	if c.DA == stm32h5.DAPassword {
		return nil
	}
	ch, err := dacred.NewChain(scenarioPart(c.Line), seed(name))
	if err != nil {
		return nil
	}
	return ch.Root.PublicKey[:]
}
