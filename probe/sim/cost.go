package sim

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stprobe/stprobe/probe/proto"
)

// CostOptions asks a server of simulated probes (ServeWith, the USB relay)
// to account for every client session: the USB transfers, commands by
// kind, SWD bits and modelled time of the exchanges the client caused,
// reported when the client leaves. The zero value accounts nothing and
// answers at host speed.
type CostOptions struct {
	// Summary receives one line of text per session when its client
	// leaves (nil: none).
	Summary io.Writer
	// CostLog receives one JSON object (a SessionCost) per line per session
	// (nil: none). Write errors are ignored: accounting never stops serving.
	CostLog io.Writer
	// OnSession is called with each finished session (nil: not called).
	OnSession func(SessionCost)
	// Pace makes every reply take its modelled time: the server waits an
	// exchange's modelled duration before it answers, so that a peer tool
	// feels the timing of real hardware.
	Pace bool
}

// SessionCost is what one client session cost on the modelled clock.
type SessionCost struct {
	Server  string `json:"server"`  // "stlink-server" or "usb-relay"
	Session int    `json:"session"` // numbered from 1 per server
	Client  string `json:"client"`  // remote address, or the USB device
	// Probes are the serial numbers of the probes the client used.
	Probes []string `json:"probes"`
	// Requests counts what the client sent the server: stlink-server
	// requests over TCP, or URBs and ioctls through the relay.
	Requests int `json:"requests"`
	// Commands, CommandsByKind, USBTransfers, SWDBits and Modelled are the
	// probe's modelled cost (see Stats) of the client's commands; kinds are
	// named as in ST's sources (READMEM_32BIT, RW_MISC_OUT, ...).
	Commands       int            `json:"commands"`
	CommandsByKind map[string]int `json:"commands_by_kind"`
	USBTransfers   int            `json:"usb_transfers"`
	SWDBits        int64          `json:"swd_bits"`
	Modelled       time.Duration  `json:"modelled_ns"`
	// SWDKHz is the SWD clock that drove most of the session's SWD bits
	// (0 when none were driven); SWDKHzSet lists every clock the client
	// set (SWD_SET_FREQ or SET_COM_FREQ), in order, as the probe took it.
	SWDKHz    int   `json:"swd_khz"`
	SWDKHzSet []int `json:"swd_khz_set"`
	// Wall is how long the client stayed connected, by the host's clock.
	Wall time.Duration `json:"wall_ns"`
}

// String is the one-line summary written to CostOptions.Summary.
func (c SessionCost) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s session %d (%s): %d commands, %d USB transfers, %d SWD bits at %d kHz, modelled %v, wall %v",
		c.Server, c.Session, c.Client, c.Commands, c.USBTransfers, c.SWDBits, c.SWDKHz, c.Modelled, c.Wall.Round(time.Millisecond))
	type kind struct {
		name string
		n    int
	}
	var kinds []kind
	for k, n := range c.CommandsByKind {
		kinds = append(kinds, kind{k, n})
	}
	slices.SortFunc(kinds, func(a, b kind) int {
		if a.n != b.n {
			return b.n - a.n
		}
		return cmp.Compare(a.name, b.name)
	})
	for i, k := range kinds {
		if i == 6 {
			fmt.Fprintf(&b, ", ...")
			break
		}
		sep := ", "
		if i == 0 {
			sep = "; "
		}
		fmt.Fprintf(&b, "%s%s %d", sep, k.name, k.n)
	}
	return b.String()
}

// Accountant numbers the sessions of one server and reports each as it
// ends, one at a time. It is safe for concurrent use.
type Accountant struct {
	opts   CostOptions
	server string
	sleep  func(time.Duration) // time.Sleep; tests replace it

	mu   sync.Mutex
	next int
}

// NewAccountant returns the accountant of a server named server
// ("stlink-server", "usb-relay").
func NewAccountant(server string, opts CostOptions) *Accountant {
	return &Accountant{opts: opts, server: server, sleep: time.Sleep}
}

// Begin starts the session of a client that just arrived.
func (a *Accountant) Begin(client string) *Session {
	a.mu.Lock()
	a.next++
	n := a.next
	a.mu.Unlock()
	return &Session{a: a, start: time.Now(), cost: SessionCost{
		Server: a.server, Session: n, Client: client, Probes: []string{}, CommandsByKind: map[string]int{}, SWDKHzSet: []int{},
	}}
}

// report writes a finished session.
func (a *Accountant) report(c SessionCost) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.opts.Summary != nil {
		io.WriteString(a.opts.Summary, c.String()+"\n")
	}
	if a.opts.CostLog != nil {
		if line, err := json.Marshal(c); err == nil {
			a.opts.CostLog.Write(append(line, '\n'))
		}
	}
	if a.opts.OnSession != nil {
		a.opts.OnSession(c)
	}
}

// Session counts one client's cost. It is safe for concurrent use.
type Session struct {
	a     *Accountant
	start time.Time

	mu     sync.Mutex
	cost   SessionCost
	bitsAt map[int]int64 // SWD bits driven at each clock
	ended  bool
}

// Request counts one request of the client.
func (s *Session) Request() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cost.Requests++
}

// Add counts one command cmd that the client sent to the probe with
// serial number probe, and its cost.
func (s *Session) Add(probe string, cmd [16]byte, c Stats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.cost.Probes, probe) {
		s.cost.Probes = append(s.cost.Probes, probe)
	}
	s.cost.Commands += c.Commands
	s.cost.CommandsByKind[CommandKind(cmd)] += c.Commands
	s.cost.USBTransfers += c.USBTransfers
	s.cost.SWDBits += c.SWDBits
	s.cost.Modelled += c.Wire
	if c.SWDBits > 0 {
		if s.bitsAt == nil {
			s.bitsAt = map[int]int64{}
		}
		s.bitsAt[c.SWDKHz] += c.SWDBits
	}
	if cmd[0] == proto.CmdDebug && (cmd[1] == proto.DebugSWDSetFreq || cmd[1] == proto.DebugSetComFreq && cmd[2] == 0) {
		s.cost.SWDKHzSet = append(s.cost.SWDKHzSet, c.SWDKHz)
	}
}

// Pace waits d when the options ask for paced replies.
func (s *Session) Pace(d time.Duration) { s.a.Pace(d) }

// Pace waits d when the options ask for paced replies (for a server that
// paces outside a session's calls).
func (a *Accountant) Pace(d time.Duration) {
	if a.opts.Pace && d > 0 {
		a.sleep(d)
	}
}

// End closes the session and reports it (once; later calls return the same
// cost without reporting again).
func (s *Session) End() SessionCost {
	s.mu.Lock()
	if s.ended {
		c := s.cost
		s.mu.Unlock()
		return c
	}
	s.ended = true
	s.cost.Wall = time.Since(s.start)
	var most int64
	for khz, bits := range s.bitsAt {
		if bits > most || bits == most && khz > s.cost.SWDKHz {
			most, s.cost.SWDKHz = bits, khz
		}
	}
	c := s.cost
	c.CommandsByKind = maps.Clone(s.cost.CommandsByKind)
	c.Probes = slices.Clone(s.cost.Probes)
	c.SWDKHzSet = slices.Clone(s.cost.SWDKHzSet)
	s.mu.Unlock()
	s.a.report(c)
	return c
}

// CommandKind names the command in block cmd as ST's sources do
// (GET_VERSION, READMEM_32BIT, RW_MISC_OUT, ...); an unknown one is named
// by its bytes ("DEBUG 0x99", "0xAB").
func CommandKind(cmd [16]byte) string {
	switch cmd[0] {
	case proto.CmdGetVersion:
		return "GET_VERSION"
	case proto.CmdGetCurrentMode:
		return "GET_CURRENT_MODE"
	case proto.CmdGetTargetVoltage:
		return "GET_TARGET_VOLTAGE"
	case proto.CmdGetVersionExt:
		return "GET_VERSION_EXT"
	case proto.CmdDFU:
		if cmd[1] == proto.DFUExit {
			return "DFU_EXIT"
		}
		return fmt.Sprintf("DFU 0x%02X", cmd[1])
	case proto.CmdSWIM:
		if cmd[1] == proto.SWIMExit {
			return "SWIM_EXIT"
		}
		return fmt.Sprintf("SWIM 0x%02X", cmd[1])
	case proto.CmdDebug:
		if name, ok := debugKinds[cmd[1]]; ok {
			return name
		}
		return fmt.Sprintf("DEBUG 0x%02X", cmd[1])
	}
	return fmt.Sprintf("0x%02X", cmd[0])
}

// debugKinds names the DEBUG (0xF2) sub-commands.
var debugKinds = map[byte]string{
	proto.DebugReadMem32:        "READMEM_32BIT",
	proto.DebugWriteMem32:       "WRITEMEM_32BIT",
	proto.DebugReadMem8:         "READMEM_8BIT",
	proto.DebugWriteMem8:        "WRITEMEM_8BIT",
	proto.DebugExit:             "EXIT",
	proto.DebugEnter:            "ENTER",
	proto.DebugReadIDCodes:      "READ_IDCODES",
	proto.DebugResetSys:         "RESETSYS",
	proto.DebugReadReg:          "READREG",
	proto.DebugWriteReg:         "WRITEREG",
	proto.DebugWriteDebugReg:    "WRITEDEBUGREG",
	proto.DebugReadDebugReg:     "READDEBUGREG",
	proto.DebugGetLastRWStatus:  "GETLASTRWSTATUS",
	proto.DebugDriveNRST:        "DRIVE_NRST",
	proto.DebugGetLastRWStatus2: "GETLASTRWSTATUS2",
	proto.DebugSWDSetFreq:       "SWD_SET_FREQ",
	proto.DebugReadDAPReg:       "READ_DAP_REG",
	proto.DebugWriteDAPReg:      "WRITE_DAP_REG",
	proto.DebugReadMem16:        "READMEM_16BIT",
	proto.DebugWriteMem16:       "WRITEMEM_16BIT",
	proto.DebugInitAP:           "INIT_AP",
	proto.DebugCloseAP:          "CLOSE_AP",
	proto.DebugWriteMem32NoInc:  "WRITEMEM_32BIT_NO_ADDR_INC",
	proto.DebugRWMiscOut:        "RW_MISC_OUT",
	proto.DebugRWMiscIn:         "RW_MISC_IN",
	proto.DebugReadMem32NoInc:   "READMEM_32BIT_NO_ADDR_INC",
	proto.DebugSetComFreq:       "SET_COM_FREQ",
	proto.DebugGetComFreq:       "GET_COM_FREQ",
	debugReadAllRegs:            "READALLREGS",
	debugStartTrace:             "START_TRACE_RX",
	debugStopTrace:              "STOP_TRACE_RX",
	debugGetTraceNB:             "GET_TRACE_NB",
	debugJTAGSetFreq:            "JTAG_SET_FREQ",
	debugGetBoardIDs:            "GET_BOARD_IDS",
	debugSwitchStlinkFreq:       "SWITCH_STLINK_FREQ",
}
