package da

import (
	"github.com/stprobe/stprobe/guarded"

	"time"

	"github.com/stprobe/stprobe/targets"
)

// Session-start words. The STM32H5 values are NOT public (DA session notes
// §7, §8): the default request is "STDA" (ASCII, first character in the top
// byte), which ST's STM32MP21 device echoes back; the STM32N6 OEM firmware's
// reply "DAOK" is accepted too. The simulated STM32H5 echoes "STDA". Set
// Options.RequestWord and Options.ReplyWords once a real H5 exchange has
// been captured.
const (
	DefaultRequestWord uint32 = 0x53544441 // "STDA"
	DefaultReplyWord   uint32 = 0x44414F4B // "DAOK", accepted besides the echo
	// OEDAWord is the STM32N6 OEM firmware's request word (answered "DAOK").
	OEDAWord uint32 = 0x4F454441
	// STMailboxInitWord is what ST's STM32MP21 mailbox driver writes into
	// DBG_AUTH_DEV when it starts (docs/da-sources.md, "ADAC session and credentials"): a host that
	// reads the device word too early sees it before the reply.
	STMailboxInitWord uint32 = 0xBADF00D0
	// STMailboxDummyWord is what the same driver writes when the host
	// reads DBG_AUTH_DEV with no answer pending.
	STMailboxDummyWord uint32 = 0xBADF00D1
)

// maxStaleWords bounds the device words drained in one session start.
const maxStaleWords = 8

// Defaults of the other Options.
const (
	// DefaultMaxPolls bounds the DBG_AUTH_ACK reads spent waiting for one
	// mailbox word (about a second on an ST-LINK/V2 over USB full speed).
	DefaultMaxPolls = 500
	// DefaultTimeout bounds a whole discovery in real time.
	DefaultTimeout = 5 * time.Second
	// teardownTimeout bounds the clean-up, which runs even after ctx ends.
	teardownTimeout = 2 * time.Second
)

// Mailbox register offsets from the DBGMCU base and the default ACK bits
// (security reference §5.2; bit roles UNCONFIRMED on H5, hence Options).
const (
	offHost           = targets.DBGMCUAuthHost
	offDev            = targets.DBGMCUAuthDev
	offAck            = targets.DBGMCUAuthAck
	DefaultHostAckBit = 0 // set while a host word waits for the device
	DefaultDevAckBit  = 1 // set while a device word waits for the host
)

// Options tune the session start and the mailbox. The zero value gives
// the documented defaults.
type Options struct {
	// AP is the access port of the DBGMCU mailbox (STM32H5: AP0) and Base
	// the DBGMCU base through it (0: targets.H5DBGMCUAP0, 0xE0044000).
	AP   uint8
	Base uint32
	// FrequencyKHz is the SWD clock to use (0: keep the probe's).
	FrequencyKHz int
	// RequestWord is written to DBG_AUTH_HOST while NRST is low (0:
	// DefaultRequestWord). ReplyWords are the first device words accepted
	// after NRST release (empty: DefaultReplyWord or an echo of the
	// request).
	RequestWord uint32
	ReplyWords  []uint32
	// HostAckBit and DevAckBit are the DBG_AUTH_ACK bit numbers of "host
	// word pending" and "device word pending"; SwapAckBits exchanges the
	// defaults (0 and 1), as the H5 SVD long descriptions would have it.
	SwapAckBits bool
	// ClearDevAck writes DBG_AUTH_ACK after each device word read, for
	// hardware where the read does not clear DEV_ACK (default off). Do not
	// set it where the read clears DEV_ACK (security reference §5.2, and
	// the simulated STM32H5): the device may already have posted its next
	// word, whose flag the write would then clear, losing that word.
	ClearDevAck bool
	// RequestCountInBytes writes a request's data_count in bytes instead
	// of 32-bit words; ResponseCountInBytes reads a response's so. The two
	// are separate because a device may count them differently: PSA-ADAC
	// core counts both in words, ST's STM32MP21 port reads the request's in
	// bytes and answers in words (DA session notes §2.2, §4). Which one the
	// H5 ROM uses is UNCONFIRMED; words for both by default.
	RequestCountInBytes  bool
	ResponseCountInBytes bool
	// StaleWords are device words that a device may leave in DBG_AUTH_DEV
	// before its reply (nil: ST's STMailboxInitWord and
	// STMailboxDummyWord): they are drained and reported (Events, step
	// "drain"), never taken as the reply.
	StaleWords []uint32
	// MaxPolls bounds the ACK reads per mailbox word (0: DefaultMaxPolls);
	// Timeout bounds the whole discovery in real time (0: DefaultTimeout).
	MaxPolls int
	Timeout  time.Duration
	// ResetPolls bounds the reconnect attempts after an authentication
	// (0: DefaultResetPolls), ResetTimeout their real time (0:
	// DefaultResetTimeout); ResetPause is slept between attempts (0: none;
	// the probe's own round trips pace them).
	ResetPolls   int
	ResetTimeout time.Duration
	ResetPause   time.Duration
	// Events, when set, receives the steps of a long operation (session,
	// authentication, reset wait, reconnect, flash check) for a progress
	// display.
	Events func(Event)
	// Trace, when set, receives every mailbox transfer, so the unconfirmed
	// points can be settled on real hardware.
	Trace func(Transfer)
	// Debug, when set, receives one line for every exchange of a step
	// whose mechanism is not confirmed on silicon (OBK provisioning: the
	// halt, each word written and read, the run and r0), so that a log from
	// a real board settles it.
	Debug func(format string, args ...any)
	// ProvisionRAM is the RAM address OBK provisioning builds its call
	// around (0: the start of the part's SRAM3); the data and the structure
	// must stay inside SRAM3, where RSSLIB_DataProvisioning wants them.
	ProvisionRAM uint32
}

// Event is one step of an operation, for Options.Events: a step of a
// guarded write ("session", "drain", "discovery", "authenticate",
// "granted", "reset", "reconnect", "flash", "verified", "provision").
type Event = guarded.Event

// Transfer is one mailbox word, for Options.Trace.
type Transfer struct {
	Write bool   // true: host wrote it
	Reg   string // "DBG_AUTH_HOST", "DBG_AUTH_DEV", "DBG_AUTH_ACK"
	Value uint32
}

// withDefaults fills the zero fields.
func (o Options) withDefaults() Options {
	if o.Base == 0 {
		o.Base = targets.H5DBGMCUAP0
	}
	if o.RequestWord == 0 {
		o.RequestWord = DefaultRequestWord
	}
	if len(o.ReplyWords) == 0 {
		o.ReplyWords = []uint32{DefaultReplyWord, o.RequestWord}
	}
	if o.StaleWords == nil {
		o.StaleWords = []uint32{STMailboxInitWord, STMailboxDummyWord}
	}
	if o.MaxPolls <= 0 {
		o.MaxPolls = DefaultMaxPolls
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.ResetPolls <= 0 {
		o.ResetPolls = DefaultResetPolls
	}
	if o.ResetTimeout <= 0 {
		o.ResetTimeout = DefaultResetTimeout
	}
	return o
}

// ackBits returns the host-pending and device-pending masks.
func (o Options) ackBits() (host, dev uint32) {
	host, dev = 1<<DefaultHostAckBit, 1<<DefaultDevAckBit
	if o.SwapAckBits {
		host, dev = dev, host
	}
	return host, dev
}

// lifecycles maps the PSA_LIFECYCLE value an STM32H5 ROM reports to its
// product state. The ST codes are NOT public (DA session notes §5,
// security reference §5.5); chosen: 0x20 in the high byte and the
// product-state byte in the low one, after the STM32N6 sample's lifecycle
// bytes {0x20, 0x17} (0x17 = PROVISIONING). The simulated STM32H5 reports
// the same table. This is the only place to correct it.
var lifecycles = []struct {
	Code  uint16
	State targets.ProductState
}{
	{0x20ED, targets.StateOpen},
	{0x2017, targets.StateProvisioning},
	{0x202E, targets.StateIROTProvisioned},
	{0x20C6, targets.StateTZClosed},
	{0x2072, targets.StateClosed},
	{0x205C, targets.StateLocked},
}

// StateOfLifecycle maps a PSA_LIFECYCLE value to the product state; ok is
// false for a value not in the table.
func StateOfLifecycle(code uint16) (targets.ProductState, bool) {
	for _, l := range lifecycles {
		if l.Code == code {
			return l.State, true
		}
	}
	return 0, false
}

// LifecycleOfState is the inverse of StateOfLifecycle.
func LifecycleOfState(s targets.ProductState) (uint16, bool) {
	for _, l := range lifecycles {
		if l.State == s {
			return l.Code, true
		}
	}
	return 0, false
}

// Defaults of the reconnect after an authentication.
const (
	// DefaultResetPolls bounds the reconnect attempts while the chip
	// erases and resets.
	DefaultResetPolls = 2000
	// DefaultResetTimeout bounds the wait in real time (a real full
	// regression erases for seconds).
	DefaultResetTimeout = 60 * time.Second
)
