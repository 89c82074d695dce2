package probe

// Info describes one probe found by a listing or opened by a transport.
type Info struct {
	Backend  string // "usb", "stlink-server" or "sim"
	Serial   string // 24 hex characters
	Model    string // e.g. "ST-LINK/V2", from proto.Models
	VID, PID uint16
	Firmware string // e.g. "V2J46S7"; empty when not read yet
	Address  string // USB bus/port path, or the stlink-server HOST:PORT
}

// Backends named in Info.Backend.
const (
	BackendUSB    = "usb"
	BackendServer = "stlink-server"
	BackendSim    = "sim"
)
