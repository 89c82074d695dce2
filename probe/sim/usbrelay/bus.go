package usbrelay

// busDevice is one device on the relay's simulated bus: a simulated ST-LINK
// (*device) or a ROM DFU function (*dfuDevice).
type busDevice interface {
	// node is the device node libusb opens; description its umockdev record.
	node() string
	description() string
	// serve answers one request of the relay script.
	serve(r request) reply
	// inFlight is the number of URBs submitted and not handed back, and a
	// channel closed when that changes.
	inFlight() (int, <-chan struct{})
}

func (d *device) node() string        { return d.id.node() }
func (d *device) description() string { return d.id.description() }
