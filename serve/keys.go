package serve

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/stprobe/stprobe/safefile"
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
	line    int
	role    Role
	// from is the line's from= patterns (nil: any address).
	from []string
	// expires is the line's expiry-time= (zero: never).
	expires time.Time
	// noForward is set by no-port-forwarding (and restrict): the key may
	// not reach the shared stlink-server through SSH forwarding.
	noForward bool
	// refused says why the line lets nobody in (an option stprobe cannot
	// honour); empty when it may.
	refused string
}

// name is how the log names the line: its number and comment.
func (ak authorizedKey) name() string {
	if ak.comment == "" {
		return fmt.Sprintf("line %d", ak.line)
	}
	return fmt.Sprintf("line %d (%s)", ak.line, ak.comment)
}

// keyring is the authorized-keys file (and the optional roles file), read
// again whenever either changes on disk. When a file is missing or cannot
// be parsed, nobody new gets in until it is mended (fail closed).
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
	return fmt.Sprintf("%d/%d/%d", st.Size(), st.ModTime().UnixNano(), inode(st))
}

// readBounded reads a regular file of at most MaxKeysFileSize bytes.
func readBounded(path string) ([]byte, error) {
	return safefile.Read(path, "keys file", MaxKeysFileSize)
}

// refresh re-reads the files when they changed (always when force). It
// reports whether they were re-read and the error of the last read. A
// failed read leaves no key valid: nobody gets in until the files are
// mended.
func (k *keyring) refresh(force bool) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	stamp := fileStamp(k.path) + "|" + fileStamp(k.rolesPath)
	if stamp == k.stamp && !force {
		return false, k.loadError
	}
	k.stamp = stamp
	keys, roles, err := loadKeys(k.path, k.rolesPath)
	k.loadError = err
	if err != nil {
		keys, roles = nil, nil
	}
	k.keys, k.roles = keys, roles
	return true, err
}

// refusedLines are the lines of the file that let nobody in, with why.
func (k *keyring) refusedLines() []authorizedKey {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []authorizedKey
	for _, ak := range k.keys {
		if ak.refused != "" {
			out = append(out, ak)
		}
	}
	return out
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

// missing reports whether err says a file is not there.
func missing(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// ParseAuthorizedKeys reads an authorized_keys file: one key per line in
// OpenSSH's format, blank lines and # comments ignored. A line that is not
// a key makes the whole file an error. The options stprobe honours are
// described at parseOptions; a line with any other option is kept with
// the reason it lets nobody in.
func ParseAuthorizedKeys(data []byte) ([]authorizedKey, error) {
	var out []authorizedKey
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), MaxKeysFileSize)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, comment, options, rest, err := gossh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if len(bytes.TrimSpace(rest)) != 0 {
			return nil, fmt.Errorf("line %d: more than one key on the line", n)
		}
		ak := authorizedKey{key: key, comment: comment, line: n}
		if err := parseOptions(&ak, options); err != nil {
			ak.refused = err.Error()
		}
		out = append(out, ak)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// parseOptions applies a line's authorized_keys options (OpenSSH's
// sshd(8) manual, section AUTHORIZED_KEYS FILE FORMAT) to ak:
//
//   - from="PATTERNS": the client's address must match (addresses with *
//     and ?, CIDR blocks, ! to exclude; host names are not looked up, so a
//     name pattern refuses the line);
//   - expiry-time="YYYYMMDD[HHMM[SS]][Z]": the key is refused after then
//     (local time unless Z);
//   - restrict: the key may only observe;
//   - environment="STPROBE_ROLE=observer" (or =operator): the key's role;
//   - no-pty (unless a later pty): the console needs a terminal, so the
//     line is refused; command="...": stprobe runs no commands, so the line
//     is refused;
//   - no-port-forwarding: the key may not forward to the shared
//     stlink-server (restrict implies it; a later port-forwarding lifts it);
//   - no-agent-forwarding, no-X11-forwarding, no-user-rc: always true of
//     stprobe, accepted.
//
// Any other option refuses the line: the error names it.
func parseOptions(ak *authorizedKey, options []string) error {
	noPTY := false
	for _, o := range options {
		name, value, hasValue := strings.Cut(o, "=")
		name = strings.ToLower(name)
		if hasValue {
			v, err := unquote(value)
			if err != nil {
				return fmt.Errorf("option %s: %v", name, err)
			}
			value = v
		}
		switch {
		case !hasValue && name == "restrict":
			ak.role = RoleObserver
			ak.noForward = true
			noPTY = false // the console checks the role, not the terminal
		case !hasValue && name == "no-port-forwarding":
			ak.noForward = true
		case !hasValue && name == "port-forwarding":
			ak.noForward = false
		case !hasValue && name == "no-pty":
			noPTY = true
		case !hasValue && name == "pty":
			noPTY = false
		case !hasValue && (name == "no-agent-forwarding" || name == "no-x11-forwarding" || name == "no-user-rc"):
			// stprobe forwards no agent nor X11 and runs no rc file
		case hasValue && name == "from":
			pats, err := parseFrom(value)
			if err != nil {
				return err
			}
			ak.from = append(ak.from, pats...)
		case hasValue && name == "expiry-time":
			t, err := parseExpiry(value)
			if err != nil {
				return err
			}
			if ak.expires.IsZero() || t.Before(ak.expires) {
				ak.expires = t
			}
		case hasValue && name == "environment":
			switch value {
			case "STPROBE_ROLE=observer":
				ak.role = RoleObserver
			case "STPROBE_ROLE=operator":
			default:
				return fmt.Errorf("option environment=%q: stprobe understands only STPROBE_ROLE=observer or STPROBE_ROLE=operator", value)
			}
		case hasValue && name == "command":
			return fmt.Errorf("option command=%q: stprobe serves only its console and runs no command", value)
		default:
			return fmt.Errorf("option %q is not understood by stprobe (it honours from=, expiry-time=, restrict, no-pty, pty, environment=\"STPROBE_ROLE=...\" and the no-*-forwarding options)", o)
		}
	}
	if noPTY {
		return errors.New("option no-pty: the stprobe console needs a terminal")
	}
	return nil
}

// unquote reads an option's value: "text" with \" inside.
func unquote(v string) (string, error) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", errors.New("the value must be in double quotes")
	}
	return strings.ReplaceAll(v[1:len(v)-1], `\"`, `"`), nil
}

// parseFrom checks a from= pattern list: addresses with * and ?, CIDR
// blocks, each maybe negated with !.
func parseFrom(list string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		bare := strings.TrimPrefix(p, "!")
		if bare == "" {
			return nil, fmt.Errorf("option from=%q: an empty pattern", list)
		}
		if strings.Contains(bare, "/") {
			if _, _, err := net.ParseCIDR(bare); err != nil {
				return nil, fmt.Errorf("option from=%q: %q is not a CIDR block", list, bare)
			}
		} else if strings.Trim(bare, "0123456789abcdefABCDEF.:*?") != "" {
			return nil, fmt.Errorf("option from=%q: %q looks like a host name; stprobe matches addresses only (it looks no names up)", list, bare)
		}
		out = append(out, p)
	}
	return out, nil
}

// fromAllows reports whether the address ip matches the patterns as sshd
// matches them: a matching negated pattern refuses, otherwise one matching
// pattern admits.
func fromAllows(pats []string, ip net.IP) bool {
	if pats == nil {
		return true
	}
	if ip == nil {
		return false
	}
	if v4 := ip.To4(); v4 != nil {
		ip = v4
	}
	ok := false
	for _, p := range pats {
		neg := strings.HasPrefix(p, "!")
		bare := strings.TrimPrefix(p, "!")
		var m bool
		if strings.Contains(bare, "/") {
			_, n, err := net.ParseCIDR(bare)
			m = err == nil && n.Contains(ip)
		} else {
			m, _ = path.Match(strings.ToLower(bare), strings.ToLower(ip.String()))
		}
		if m && neg {
			return false
		}
		ok = ok || m
	}
	return ok
}

// parseExpiry reads an expiry-time= value: YYYYMMDD, YYYYMMDDHHMM or
// YYYYMMDDHHMMSS, in local time unless it ends in Z (UTC).
func parseExpiry(v string) (time.Time, error) {
	loc := time.Local
	s := v
	if strings.HasSuffix(s, "Z") || strings.HasSuffix(s, "z") {
		loc, s = time.UTC, s[:len(s)-1]
	}
	layout := map[int]string{8: "20060102", 12: "200601021504", 14: "20060102150405"}[len(s)]
	if _, err := strconv.ParseUint(s, 10, 64); err != nil || layout == "" {
		return time.Time{}, fmt.Errorf("option expiry-time=%q: want YYYYMMDD[HHMM[SS]][Z]", v)
	}
	t, err := time.ParseInLocation(layout, s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("option expiry-time=%q: %v", v, err)
	}
	return t, nil
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

// grant is what the keys allow one key from one address now.
type grant struct {
	// name is the key's own name: its authorized_keys comment, or its
	// fingerprint when it has none. It is who the bench shows and audits,
	// whatever user name the client logged in as.
	name        string
	fingerprint string
	role        Role
	line        int
	noForward   bool
}

// lookup finds key among the authorized keys for a client at remote, at
// time now: the first line of the key that admits it wins. The roles file
// overrides a line's role only towards observing. When no line admits
// the key, the error says why.
func (k *keyring) lookup(key gossh.PublicKey, remote net.Addr, now time.Time) (grant, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.loadError != nil {
		return grant{}, fmt.Errorf("the authorized keys cannot be read, so nobody is let in: %v", k.loadError)
	}
	want := key.Marshal()
	var why error
	for _, ak := range k.keys {
		if !bytes.Equal(ak.key.Marshal(), want) {
			continue
		}
		var err error
		switch {
		case ak.refused != "":
			err = fmt.Errorf("authorized keys %s is refused: %s", ak.name(), ak.refused)
		case !fromAllows(ak.from, addrIP(remote)):
			err = fmt.Errorf("authorized keys %s: from=%q does not match %s", ak.name(), strings.Join(ak.from, ","), addrString(remote))
		case !ak.expires.IsZero() && !now.Before(ak.expires):
			err = fmt.Errorf("authorized keys %s expired at %s", ak.name(), ak.expires.Format(time.RFC3339))
		}
		if err != nil {
			if why == nil {
				why = err
			}
			continue
		}
		fp := fingerprintOf(key)
		role := ak.role
		for _, id := range []string{fp, ak.comment} {
			if r, found := k.roles[id]; found && id != "" && r == RoleObserver {
				role = RoleObserver
			}
		}
		name := ak.comment
		if name == "" {
			name = fp
		}
		return grant{name: name, fingerprint: fp, role: role, line: ak.line, noForward: ak.noForward}, nil
	}
	if why == nil {
		why = errors.New("key not authorized")
	}
	return grant{}, why
}

// addrIP is the IP address of a TCP address (nil for others).
func addrIP(a net.Addr) net.IP {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP
	case nil:
		return nil
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return nil
	}
	return net.ParseIP(host)
}

func addrString(a net.Addr) string {
	if a == nil {
		return "an unknown address"
	}
	return a.String()
}

// fingerprintOf is key's SHA256 fingerprint as ssh-keygen -l prints it.
func fingerprintOf(key gossh.PublicKey) string {
	if key == nil {
		return ""
	}
	return gossh.FingerprintSHA256(key)
}
