// Package probe is the ST-LINK driver: one narrow transport (USB through
// libusb, ST's stlink-server over TCP, or the in-process simulator), the
// command layer on top of it, typed errors that name the failing layer, and
// the three connect modes users know from STM32CubeProgrammer.
//
// probe knows the ADI debug interface (DP, MEM-AP, Cortex-M core debug) but
// nothing about particular chips; that lives in package targets.
package probe

import "context"

// Transport carries ST-LINK command blocks to a probe. Xfer sends the 16-byte
// command, then out as the OUT data phase when it is not empty, then reads
// exactly len(in) bytes of reply into in when in is not empty. Every call
// honours the context deadline; a transport never blocks past it.
//
// A transport reports a probe that went away by wrapping ErrDisconnected
// and a missed deadline by wrapping ErrTimeout. Link also recognises errors
// whose Timeout() or Disconnected() method returns true (net.Error, the
// simulator), end of stream and reset connections.
type Transport interface {
	Xfer(ctx context.Context, cmd [16]byte, out, in []byte) error
	// Close releases the probe. It does not change the probe's mode.
	Close() error
}
