package probe

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/gousb"

	"github.com/stprobe/stprobe/probe/proto"
)

// USB timing.
const (
	// usbTransferTimeout bounds one transfer when the caller's context has
	// no deadline, so that a silent probe can never hang the program.
	usbTransferTimeout = 3 * time.Second
	// usbFlushTimeout is how long a flush read waits for stale reply data.
	usbFlushTimeout = 10 * time.Millisecond
	// usbFlushReads bounds the stale packets thrown away by one flush.
	usbFlushReads = 64
	// usbControlTimeout bounds the descriptor reads done while listing.
	usbControlTimeout = time.Second
)

// USB descriptor requests used to read the raw serial number.
const (
	usbReqGetDescriptor = 0x06
	usbDescDevice       = 0x01
	usbDescString       = 0x03
	usbDirIn            = 0x80
)

// usbError is a failure of the USB layer: libusb, the cable, the probe's USB
// stack. It wraps ErrTimeout and ErrDisconnected when that is what happened.
type usbError struct {
	op  string
	err error
}

func (e *usbError) Error() string { return "USB " + e.op + ": " + e.err.Error() }
func (e *usbError) Unwrap() error { return e.err }

// Layer is LayerUSB.
func (e *usbError) Layer() Layer { return LayerUSB }

// usbDevice is one ST-LINK found on the bus, opened for descriptor reads.
type usbDevice struct {
	dev   *gousb.Device
	model proto.Model
	info  Info
}

// ListUSB returns the ST-LINK probes on the USB bus, with serial and model.
// It does not claim them: a probe in use by another program is listed too.
// When some probe cannot be opened (permissions), the others are returned
// with an error naming it.
func ListUSB(ctx context.Context) ([]Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	uctx, err := newUSBContext()
	if err != nil {
		return nil, err
	}
	defer uctx.Close()
	devs, err := openSTLinks(ctx, uctx)
	var infos []Info
	for _, d := range devs {
		infos = append(infos, d.info)
		d.dev.Close()
	}
	return infos, err
}

// OpenUSB opens the ST-LINK with the given serial number (case-insensitive),
// or the first one found when serial is empty. It claims interface 0 and
// throws away reply data a previous program left unread. The transport's
// Info has no firmware version yet: NewLink reads it.
func OpenUSB(ctx context.Context, serial string) (Transport, Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, Info{}, err
	}
	uctx, err := newUSBContext()
	if err != nil {
		return nil, Info{}, err
	}
	devs, listErr := openSTLinks(ctx, uctx)
	var chosen *usbDevice
	var seen []string
	for i := range devs {
		d := &devs[i]
		seen = append(seen, d.info.Serial)
		if chosen == nil && (serial == "" || strings.EqualFold(d.info.Serial, serial)) {
			chosen = d
			continue
		}
		d.dev.Close()
	}
	if chosen == nil {
		uctx.Close()
		switch {
		case len(devs) == 0 && listErr != nil:
			return nil, Info{}, listErr
		case len(devs) == 0:
			return nil, Info{}, &usbError{"open", errors.New("no ST-LINK found: plug one in, or check the cable and the udev rules")}
		default:
			err := &usbError{"open", fmt.Errorf("no ST-LINK with serial %s (found %s)", serial, strings.Join(seen, ", "))}
			return nil, Info{}, errors.Join(err, listErr)
		}
	}
	t, err := claimSTLink(ctx, uctx, chosen)
	if err != nil {
		chosen.dev.Close()
		uctx.Close()
		return nil, Info{}, err
	}
	return t, chosen.info, nil
}

// newUSBContext starts libusb. gousb panics when libusb cannot start; that
// becomes an error here.
func newUSBContext() (c *gousb.Context, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, &usbError{"start", fmt.Errorf("libusb could not start: %v", r)}
		}
	}()
	return gousb.NewContext(), nil
}

// openSTLinks opens every device whose VID:PID is an ST-LINK of
// proto.Models and reads its serial number, in bus order.
func openSTLinks(ctx context.Context, uctx *gousb.Context) ([]usbDevice, error) {
	type found struct {
		bus, addr int
		model     proto.Model
	}
	var wanted []found
	devs, openErr := uctx.OpenDevices(func(desc *gousb.DeviceDesc) bool {
		if desc.Vendor != proto.VendorST {
			return false
		}
		m, ok := proto.ModelByPID(uint16(desc.Product))
		if ok {
			wanted = append(wanted, found{desc.Bus, desc.Address, m})
		}
		return ok
	})
	var out []usbDevice
	var errs []error
	opened := map[[2]int]bool{}
	for _, dev := range devs {
		dev.ControlTimeout = usbControlTimeout
		if dl, ok := ctx.Deadline(); ok {
			dev.ControlTimeout = max(time.Millisecond, min(usbControlTimeout, time.Until(dl)))
		}
		m, _ := proto.ModelByPID(uint16(dev.Desc.Product))
		opened[[2]int{dev.Desc.Bus, dev.Desc.Address}] = true
		d := usbDevice{dev: dev, model: m, info: Info{
			Backend: BackendUSB,
			Model:   m.Name,
			VID:     uint16(dev.Desc.Vendor),
			PID:     uint16(dev.Desc.Product),
			Address: fmt.Sprintf("bus %03d device %03d", dev.Desc.Bus, dev.Desc.Address),
		}}
		s, err := readSerial(dev)
		if err != nil {
			errs = append(errs, &usbError{"reading the serial number of the " + m.Name + " at " + d.info.Address, err})
		}
		d.info.Serial = s
		out = append(out, d)
	}
	why := openErr
	if why == nil {
		why = errors.New("libusb could not open it")
	}
	for _, w := range wanted {
		if !opened[[2]int{w.bus, w.addr}] {
			errs = append(errs, &usbError{fmt.Sprintf("opening the %s at bus %03d device %03d", w.model.Name, w.bus, w.addr),
				fmt.Errorf("%w: check the device permissions (udev rules) or whether another driver holds it", why)})
		}
	}
	if len(errs) == 0 && openErr != nil && len(out) == 0 {
		errs = append(errs, &usbError{"listing devices", openErr})
	}
	slices.SortFunc(out, func(a, b usbDevice) int {
		return cmp.Or(cmp.Compare(a.dev.Desc.Bus, b.dev.Desc.Bus), cmp.Compare(a.dev.Desc.Address, b.dev.Desc.Address))
	})
	return out, errors.Join(errs...)
}

// readSerial reads the serial number string descriptor itself, because
// early ST-LINK/V2 firmware puts 12 raw bytes there (one per UTF-16 unit)
// instead of 24 hex characters; those are hex-encoded here, as ST's tools
// show them. When the raw read fails, libusb's ASCII reading is the fallback.
func readSerial(dev *gousb.Device) (string, error) {
	s, rawErr := readRawSerial(dev)
	if rawErr == nil {
		return s, nil
	}
	s, err := dev.SerialNumber()
	if err != nil {
		return "", fmt.Errorf("%w (raw read: %v)", err, rawErr)
	}
	return s, nil
}

func readRawSerial(dev *gousb.Device) (string, error) {
	dd := make([]byte, 18)
	n, err := dev.Control(usbDirIn, usbReqGetDescriptor, usbDescDevice<<8, 0, dd)
	if err != nil {
		return "", fmt.Errorf("device descriptor: %w", err)
	}
	if n < 18 {
		return "", fmt.Errorf("device descriptor is %d bytes, want 18", n)
	}
	index := dd[16]
	if index == 0 {
		return "", errors.New("the device has no serial number")
	}
	langs := make([]byte, 255)
	n, err = dev.Control(usbDirIn, usbReqGetDescriptor, usbDescString<<8, 0, langs)
	if err != nil {
		return "", fmt.Errorf("language list: %w", err)
	}
	lang := uint16(0x0409)
	if n >= 4 {
		lang = uint16(langs[2]) | uint16(langs[3])<<8
	}
	desc := make([]byte, 255)
	n, err = dev.Control(usbDirIn, usbReqGetDescriptor, usbDescString<<8|uint16(index), lang, desc)
	if err != nil {
		return "", fmt.Errorf("serial number descriptor: %w", err)
	}
	return decodeSerialDescriptor(desc[:n])
}

// decodeSerialDescriptor turns a serial-number string descriptor into the
// serial as ST's tools print it: the text of the descriptor, or, for the 12
// raw bytes of early ST-LINK/V2 firmware, those bytes in upper-case hex.
func decodeSerialDescriptor(b []byte) (string, error) {
	if len(b) < 2 || b[1] != usbDescString {
		return "", fmt.Errorf("serial number descriptor % x is not a string descriptor", b)
	}
	n := min(int(b[0]), len(b))
	if n < 2 || n%2 != 0 {
		return "", fmt.Errorf("serial number descriptor has odd length %d", b[0])
	}
	units := make([]uint16, 0, (n-2)/2)
	for i := 2; i+1 < n; i += 2 {
		units = append(units, uint16(b[i])|uint16(b[i+1])<<8)
	}
	if len(units) == 12 {
		var s strings.Builder
		for _, u := range units {
			fmt.Fprintf(&s, "%02X", byte(u))
		}
		return s.String(), nil
	}
	var s strings.Builder
	for _, u := range units {
		if u < 0x20 || u > 0x7E {
			return "", fmt.Errorf("serial number has a non-printable character %#04x", u)
		}
		s.WriteByte(byte(u))
	}
	return s.String(), nil
}

// usbTransport is a Transport over libusb bulk endpoints.
type usbTransport struct {
	mu     sync.Mutex
	uctx   *gousb.Context
	dev    *gousb.Device
	cfg    *gousb.Config
	intf   *gousb.Interface
	out    *gousb.OutEndpoint
	in     *gousb.InEndpoint
	model  proto.Model
	gone   bool // the probe was unplugged: every call fails fast
	stale  bool // a reply may still arrive after a timeout: flush first
	closed bool
}

// claimSTLink selects configuration 1, claims interface 0, opens the
// model's endpoints and flushes stale reply data.
func claimSTLink(ctx context.Context, uctx *gousb.Context, d *usbDevice) (*usbTransport, error) {
	d.dev.SetAutoDetach(true) // best effort: no kernel driver binds interface 0 on Linux
	cfg, err := d.dev.Config(1)
	if err != nil {
		return nil, &usbError{"selecting configuration 1 of the " + d.model.Name, mapLibusbErr(err)}
	}
	intf, err := cfg.Interface(0, 0)
	if err != nil {
		cfg.Close()
		return nil, &usbError{"claiming interface 0 of the " + d.model.Name,
			fmt.Errorf("%w: is another program (OpenOCD, STM32CubeProgrammer, stlink-server) using the probe?", mapLibusbErr(err))}
	}
	t := &usbTransport{uctx: uctx, dev: d.dev, cfg: cfg, intf: intf, model: d.model}
	t.out, err = intf.OutEndpoint(int(d.model.EPOut & 0x0F))
	if err == nil {
		t.in, err = intf.InEndpoint(int(d.model.EPIn & 0x0F))
	}
	if err != nil {
		intf.Close()
		cfg.Close()
		return nil, &usbError{"opening the endpoints of the " + d.model.Name, err}
	}
	if err := t.flush(ctx); err != nil {
		intf.Close()
		cfg.Close()
		return nil, err
	}
	return t, nil
}

// flush reads and drops reply data left in the probe, until a short read
// times out.
func (t *usbTransport) flush(ctx context.Context) error {
	buf := make([]byte, 512)
	for range usbFlushReads {
		fctx, cancel := context.WithTimeout(ctx, usbFlushTimeout)
		n, err := t.in.ReadContext(fctx, buf)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return &usbError{"flushing stale replies", ctx.Err()}
			}
			if isLibusbTimeout(err) {
				t.stale = false
				return nil
			}
			return t.fail(ctx, "flushing stale replies", err)
		}
		_ = n
	}
	return &usbError{"flushing stale replies", errors.New("the probe keeps sending data: replug it")}
}

// Xfer sends the 16-byte command, then out, then reads exactly len(in)
// bytes, every transfer bounded by ctx (or by a 3 s default when ctx has no
// deadline).
func (t *usbTransport) Xfer(ctx context.Context, cmd [16]byte, out, in []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
		return &usbError{"transfer", errors.New("the USB transport is closed")}
	case t.gone:
		return &usbError{"transfer", ErrDisconnected}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, usbTransferTimeout)
		defer cancel()
	}
	if t.stale {
		if err := t.flush(ctx); err != nil {
			return err
		}
	}
	if err := t.write(ctx, "sending command", cmd[:]); err != nil {
		return err
	}
	if len(out) > 0 {
		if err := t.write(ctx, "sending data", out); err != nil {
			return err
		}
	}
	if len(in) == 0 {
		return nil
	}
	n, err := t.in.ReadContext(ctx, in)
	if err != nil {
		return t.fail(ctx, "reading the reply", err)
	}
	if n != len(in) {
		return &usbError{"reading the reply", fmt.Errorf("short reply: %d of %d bytes to command % x; the probe firmware may not support it", n, len(in), cmd[:2])}
	}
	return nil
}

func (t *usbTransport) write(ctx context.Context, op string, b []byte) error {
	n, err := t.out.WriteContext(ctx, b)
	if err != nil {
		return t.fail(ctx, op, err)
	}
	if n != len(b) {
		return &usbError{op, fmt.Errorf("short write: %d of %d bytes accepted", n, len(b))}
	}
	return nil
}

// fail turns a libusb error into a USB-layer error and remembers what it
// means for the next transfer.
func (t *usbTransport) fail(ctx context.Context, op string, err error) error {
	err = mapLibusbErr(err)
	switch {
	case errors.Is(err, ErrDisconnected):
		t.gone = true
	case isLibusbTimeout(err):
		t.stale = true
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return &usbError{op, ctx.Err()}
		}
		return &usbError{op, ErrTimeout}
	}
	return &usbError{op, err}
}

// mapLibusbErr maps "no device" to ErrDisconnected and adds a hint to the
// libusb errors a user can act on.
func mapLibusbErr(err error) error {
	switch {
	case errors.Is(err, gousb.ErrorNoDevice), errors.Is(err, gousb.TransferNoDevice):
		return fmt.Errorf("%w (%v)", ErrDisconnected, err)
	case errors.Is(err, gousb.ErrorAccess):
		return fmt.Errorf("%w: check the device permissions (udev rules)", err)
	case errors.Is(err, gousb.ErrorBusy):
		return fmt.Errorf("%w: another program holds the probe", err)
	case errors.Is(err, gousb.ErrorPipe), errors.Is(err, gousb.TransferStall):
		return fmt.Errorf("%w: the probe stalled the endpoint; replug it", err)
	case errors.Is(err, gousb.ErrorOverflow), errors.Is(err, gousb.TransferOverflow):
		return fmt.Errorf("%w: the probe sent more than expected; replug it", err)
	}
	return err
}

// isLibusbTimeout reports a transfer that ended because its deadline passed
// (gousb cancels the transfer when the context ends).
func isLibusbTimeout(err error) bool {
	return errors.Is(err, gousb.TransferCancelled) || errors.Is(err, gousb.TransferTimedOut) ||
		errors.Is(err, gousb.ErrorTimeout)
}

// Close releases interface 0 and closes the device and libusb.
func (t *usbTransport) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	t.closed = true
	t.intf.Close()
	var errs []error
	if err := t.cfg.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := t.dev.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := t.uctx.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return &usbError{"closing the probe", err}
	}
	return nil
}
