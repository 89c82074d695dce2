package scenario

// ProbeIdentity is a simulated ST-LINK's firmware string (e.g. "V2J46S7"),
// USB product ID and serial number.
type ProbeIdentity struct {
	Firmware string
	PID      uint16
	Serial   string
}
