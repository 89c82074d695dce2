package serve

import (
	"bufio"
	"bytes"
	"fmt"
	"github.com/stprobe/stprobe/safefile"
	"os"
	"strings"
	"sync"

	gossh "golang.org/x/crypto/ssh"
)

// Role is what a session may do on the bench.
type Role int

// Roles. An operator may take the probe; an observer only watches.
const (
	RoleOperator Role = iota
	RoleObserver
)

func (r Role) String() string {
	if r == RoleObserver {
		return "observer"
	}
	return "operator"
}

// RoleOption is the authorized_keys option that limits a key to observing:
// environment="STPROBE_ROLE=observer" (a standard OpenSSH option, so the
// same file stays valid for sshd).
const RoleOption = `environment="STPROBE_ROLE=observer"`

// authorizedKey is one line of the authorized-keys file.
type authorizedKey struct {
	key     gossh.PublicKey
	comment string
	role    Role
}

// keyring is the authorized-keys file (and the optional roles file), read
// again whenever either changes on disk.
type keyring struct {
	path, rolesPath string

	mu        sync.Mutex
	stamp     string // size and modification time of both files when read
	keys      []authorizedKey
	roles     map[string]Role // by SHA256 fingerprint or by comment
	loadError error
}

// MaxKeysFileSize bounds the authorized-keys and roles files.
const MaxKeysFileSize = 1 << 20

func fileStamp(path string) string {
	if path == "" {
		return ""
	}
	st, err := os.Stat(path)
	if err != nil {
		return "missing"
	}
	return fmt.Sprintf("%d/%d", st.Size(), st.ModTime().UnixNano())
}

// readBounded reads a regular file of at most MaxKeysFileSize bytes.
func readBounded(path string) ([]byte, error) {
	return safefile.Read(path, "keys file", MaxKeysFileSize)
}

// refresh re-reads the files when they changed. It reports whether they
// were re-read and the error of the last read.
func (k *keyring) refresh() (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	stamp := fileStamp(k.path) + "|" + fileStamp(k.rolesPath)
	if stamp == k.stamp {
		return false, k.loadError
	}
	k.stamp = stamp
	keys, roles, err := loadKeys(k.path, k.rolesPath)
	k.loadError = err
	if err == nil {
		k.keys, k.roles = keys, roles
	}
	return true, err
}

// loadKeys parses the authorized-keys file and the roles file.
func loadKeys(path, rolesPath string) ([]authorizedKey, map[string]Role, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, nil, fmt.Errorf("authorized keys: %w", err)
	}
	keys, err := ParseAuthorizedKeys(data)
	if err != nil {
		return nil, nil, fmt.Errorf("authorized keys %s: %w", path, err)
	}
	roles := map[string]Role{}
	if rolesPath != "" {
		data, err := readBounded(rolesPath)
		if err != nil {
			return nil, nil, fmt.Errorf("roles file: %w", err)
		}
		if roles, err = ParseRoles(data); err != nil {
			return nil, nil, fmt.Errorf("roles file %s: %w", rolesPath, err)
		}
	}
	return keys, roles, nil
}

// ParseAuthorizedKeys reads an authorized_keys file: one key per line in
// OpenSSH's format, blank lines and # comments ignored; a key with the
// option environment="STPROBE_ROLE=observer" may only observe.
func ParseAuthorizedKeys(data []byte) ([]authorizedKey, error) {
	var out []authorizedKey
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), MaxKeysFileSize)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, comment, options, _, err := gossh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		ak := authorizedKey{key: key, comment: comment}
		for _, o := range options {
			if strings.EqualFold(o, RoleOption) {
				ak.role = RoleObserver
			}
		}
		out = append(out, ak)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// ParseRoles reads a roles file: lines "WHO ROLE", WHO a key's SHA256
// fingerprint (as ssh-keygen -l prints it) or its authorized_keys comment,
// ROLE operator or observer; # comments allowed.
func ParseRoles(data []byte) (map[string]Role, error) {
	roles := map[string]Role{}
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if i := strings.Index(line, "#"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("line %d: want \"FINGERPRINT-or-COMMENT operator|observer\"", n+1)
		}
		switch f[1] {
		case "operator":
			roles[f[0]] = RoleOperator
		case "observer":
			roles[f[0]] = RoleObserver
		default:
			return nil, fmt.Errorf("line %d: role %q: want operator or observer", n+1, f[1])
		}
	}
	return roles, nil
}

// lookup finds key among the authorized keys: its fingerprint and role.
// The roles file overrides the file's option only towards observing.
func (k *keyring) lookup(key gossh.PublicKey) (fingerprint string, role Role, ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	want := key.Marshal()
	for _, ak := range k.keys {
		if !bytes.Equal(ak.key.Marshal(), want) {
			continue
		}
		fp := fingerprintOf(key)
		role := ak.role
		for _, id := range []string{fp, ak.comment} {
			if r, found := k.roles[id]; found && id != "" && r == RoleObserver {
				role = RoleObserver
			}
		}
		return fp, role, true
	}
	return "", RoleObserver, false
}

// fingerprintOf is key's SHA256 fingerprint as ssh-keygen -l prints it.
func fingerprintOf(key gossh.PublicKey) string {
	if key == nil {
		return ""
	}
	return gossh.FingerprintSHA256(key)
}
