package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32h5/dacred"
)

// CredentialRequest asks for debug-authentication credentials for a part:
// a password and the .obk file holding its hash (the H503: the hash for
// OTP), or the certificate kit (the keys, the chain and the .obk file
// holding the root key's hash). Nothing touches the probe.
type CredentialRequest struct {
	// Part is the part ("H533"); Certificates picks the certificate kit
	// (TrustZone parts only) instead of a password.
	Part         string
	Certificates bool
	// Password is the password's text; empty: a random one.
	Password string
	// Dir is where the files go (created if needed). An existing file
	// there is never overwritten unless Force: it may be the credentials a
	// closed chip needs to come back.
	Dir   string
	Force bool
}

// CredentialFile is one credential file written.
type CredentialFile struct {
	Path string
	Size int
	// Secret is set for what must be kept private (the password, the
	// private keys): written owner-only.
	Secret bool
	// OBK is set for the file to provision (the .obk file; on the H503
	// the OTP image).
	OBK bool
}

// ErrCredentialsExist refuses to overwrite credential files.
var ErrCredentialsExist = errors.New("credential files exist")

// MakeCredentials makes the credentials r asks for, as `stprobe da
// make-password` and `da make-certs` do (targets/stm32h5/dacred), writes
// them into r.Dir and lists them. It needs no probe and no lease.
func MakeCredentials(r CredentialRequest) ([]CredentialFile, error) {
	if r.Dir == "" {
		return nil, errors.New("bench: credentials: no directory to write them into")
	}
	p, err := stm32h5.LookupPart(r.Part)
	if err != nil {
		return nil, fmt.Errorf("bench: credentials: %w", err)
	}
	var fs dacred.Files
	if r.Certificates {
		if !p.TrustZone {
			return nil, fmt.Errorf("bench: credentials: the %s has no TrustZone and takes only a password", p.Name)
		}
		fs, err = dacred.MakeCerts(p, dacred.MakeOptions{})
	} else {
		fs, err = dacred.MakePassword(p, dacred.MakeOptions{Password: []byte(r.Password)})
	}
	if err != nil {
		return nil, fmt.Errorf("bench: credentials: %w", err)
	}
	if !r.Force {
		for _, f := range fs {
			path := filepath.Join(r.Dir, f.Name)
			if _, err := os.Lstat(path); err == nil {
				return nil, fmt.Errorf("bench: credentials: %s: %w: it may be what a chip needs to come back; choose another directory", path, ErrCredentialsExist)
			}
		}
	}
	if err := fs.Write(r.Dir); err != nil {
		return nil, fmt.Errorf("bench: credentials: %w", err)
	}
	out := make([]CredentialFile, 0, len(fs))
	for _, f := range fs {
		out = append(out, CredentialFile{Path: filepath.Join(r.Dir, f.Name), Size: len(f.Data), Secret: f.Secret,
			OBK: f.Name == dacred.PasswordOBKFile || f.Name == dacred.CertOBKFile || f.Name == dacred.OTPImageFile})
	}
	return out, nil
}
