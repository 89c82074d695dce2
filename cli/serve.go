package cli

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/stprobe/stprobe/bench"
)

// ServeOptions are the flags of `stprobe serve`, handed to Config.Serve.
type ServeOptions struct {
	Listen         string
	AuthorizedKeys string
	HostKey        string
	Roles          string
	ReadOnly       bool
	IdleTimeout    time.Duration
	MaxSessions    int
	// HandshakeTimeout, MaxConnections and MaxPerAddress bound the
	// connections that have not logged in (zero: the server's defaults).
	HandshakeTimeout time.Duration
	MaxConnections   int
	MaxPerAddress    int
	// Listening is called once the server listens, with its address.
	Listening func(addr string)
	// StlinkServer, when set, is the address the bench's probe is shared
	// on as an stlink-server (also reached by operators' SSH forwarding);
	// StateDir holds the audit log of the tools' writes.
	StlinkServer string
	StateDir     string
	// User is who runs the server: the holder of tools that connect to
	// StlinkServer on this machine rather than through SSH.
	User string
}

// serveCommand is `stprobe serve`: the console over SSH, on the one bench
// of this machine.
func (a *app) serveCommand() *cobra.Command {
	var (
		o         ServeOptions
		leaseIdle time.Duration
	)
	c := newCommand("serve", "serve [--listen ADDR] --authorized-keys FILE [--host-key FILE] [--roles FILE] [--read-only] [--idle-timeout D] [--lease-idle D] [--max-sessions N] [--handshake-timeout D] [--max-connections N] [--max-per-address N] [--stlink-server ADDR]",
		"serve the console over SSH: one probe, one operator, many observers",
		"Serves the console over SSH on this machine's bench. Public keys only (the authorized-keys file, read again when it changes); "+
			"one session at a time holds the probe and may run jobs, the others watch; a key given the option "+
			`environment="STPROBE_ROLE=observer" or restrict (or listed as observer in --roles) only watches; from= and expiry-time= are honoured, `+
			"a line with options stprobe does not understand lets nobody in, and a removed key's sessions end within seconds. "+
			"With --stlink-server ADDR the bench's probe is also shared as an stlink-server on ADDR, and an operator's ssh -L PORT:ADDR forwarding reaches it "+
			"(observers' and forwarding to anything else is refused): their OpenOCD runs under their lease while the console watches. "+
			"SIGHUP reads the keys again; SIGPIPE is ignored. The host key is made on first start and must be readable by its owner only.",
		a.noArgs)
	fs := c.Flags()
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:2222", "listen on ADDR (HOST:PORT); 0.0.0.0:2222 to be reached from other machines")
	fs.StringVar(&o.AuthorizedKeys, "authorized-keys", "", "FILE of the public keys let in, in OpenSSH's authorized_keys format (required)")
	fs.StringVar(&o.HostKey, "host-key", "", "the server's private key FILE, made on first start (default: host_ed25519 in the state directory)")
	fs.StringVar(&o.Roles, "roles", "", "FILE of lines \"FINGERPRINT-or-COMMENT observer|operator\" limiting keys to watching")
	fs.BoolVar(&o.ReadOnly, "read-only", false, "every session only watches: nobody can run jobs")
	fs.DurationVar(&o.IdleTimeout, "idle-timeout", 30*time.Minute, "close a connection with no traffic for D")
	fs.DurationVar(&leaseIdle, "lease-idle", bench.DefaultLeaseIdle, "the operator's lease lapses after D without a job or a key press (and D after a dropped connection)")
	fs.IntVar(&o.MaxSessions, "max-sessions", 32, "serve at most N sessions at once")
	fs.DurationVar(&o.HandshakeTimeout, "handshake-timeout", 10*time.Second, "close a connection that has not logged in within D")
	fs.IntVar(&o.MaxConnections, "max-connections", 0, "hold at most N connections at once (default: from the limit on open files)")
	fs.IntVar(&o.MaxPerAddress, "max-per-address", 10, "at most N connections of one client address awaiting login")
	fs.StringVar(&o.StlinkServer, "stlink-server", "", "also share the probe as an stlink-server on ADDR (e.g. 127.0.0.1:7184), reached by operators with ssh -L")
	c.RunE = func(c *cobra.Command, _ []string) error {
		switch {
		case a.cfg.Serve == nil:
			return errors.New("this build of stprobe has no SSH server")
		case o.AuthorizedKeys == "":
			return usage(c, errors.New("--authorized-keys FILE is required (the public keys allowed in)"))
		case o.IdleTimeout <= 0 || leaseIdle <= 0:
			return usage(c, errors.New("--idle-timeout and --lease-idle want positive durations"))
		case o.MaxSessions <= 0:
			return usage(c, fmt.Errorf("--max-sessions %d: want at least 1", o.MaxSessions))
		case o.HandshakeTimeout <= 0:
			return usage(c, errors.New("--handshake-timeout wants a positive duration"))
		case o.MaxConnections < 0 || o.MaxPerAddress <= 0:
			return usage(c, errors.New("--max-connections wants 0 (from the file limit) or more, --max-per-address at least 1"))
		}
		if _, err := os.Stat(o.AuthorizedKeys); err != nil {
			return usage(c, fmt.Errorf("--authorized-keys: %w", err))
		}
		if o.HostKey == "" {
			dir, err := bench.DefaultStateDir()
			if err != nil {
				return err
			}
			o.HostKey = filepath.Join(dir, "host_ed25519")
		}
		if o.StlinkServer != "" {
			if _, _, err := net.SplitHostPort(o.StlinkServer); err != nil {
				return usage(c, fmt.Errorf("--stlink-server %q: want HOST:PORT: %w", o.StlinkServer, err))
			}
			dir, err := bench.DefaultStateDir()
			if err != nil {
				return err
			}
			o.StateDir = dir
			o.User = a.userName()
		}
		ctx := c.Context()
		b, err := a.openNoted(ctx, leaseIdle)
		if err != nil {
			return err
		}
		defer b.Close()
		o.Listening = func(addr string) {
			fmt.Fprintf(a.stderr, "stprobe: serving the bench over SSH on %s (ctrl-c stops; kill -HUP reads the keys again)\n", addr)
		}
		return a.cfg.Serve(ctx, b, o)
	}
	return c
}
