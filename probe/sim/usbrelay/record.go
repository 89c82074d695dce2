package usbrelay

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// busNode is the device node libusb opens for device number devnum on
// bus 1, e.g. /dev/bus/usb/001/002.
func busNode(devnum int) string { return fmt.Sprintf("/dev/bus/usb/001/%03d", devnum) }

// busSysPath is the sysfs directory of device number devnum on bus 1.
func busSysPath(devnum int) string {
	return fmt.Sprintf("/devices/pci0000:00/0000:00:14.0/usb1/1-%d", devnum-1)
}

// usbRecord is what the umockdev record of one simulated device on bus 1
// says: its sysfs attributes, udev properties and descriptors.
type usbRecord struct {
	devnum        int
	descriptors   []byte // the device descriptor, then the configuration descriptor
	vid, pid, bcd uint16
	manufacturer  string
	product       string
	udevSerial    string // ID_SERIAL_SHORT
	serial        string // the sysfs serial attribute
	noSerial      bool   // no sysfs serial attribute (a serial of raw bytes)
	interfaces    string // ID_USB_INTERFACES: class, subclass, protocol of each interface
	attributes    byte   // bmAttributes of the configuration
	speed         string // in Mbit/s: "12" or "480"
}

// String renders the record in umockdev's format.
func (r usbRecord) String() string {
	desc := strings.ToUpper(hex.EncodeToString(r.descriptors))
	node := busNode(r.devnum)
	model := strings.ReplaceAll(r.product, " ", "_")
	vendor := strings.ReplaceAll(r.manufacturer, " ", "_")
	var s strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&s, format+"\n", args...) }
	line("P: %s", busSysPath(r.devnum))
	line("N: %s=%s", strings.TrimPrefix(node, "/dev/"), desc)
	line("E: BUSNUM=001")
	line("E: DEVNAME=%s", node)
	line("E: DEVNUM=%03d", r.devnum)
	line("E: DEVTYPE=usb_device")
	line("E: DRIVER=usb")
	line("E: ID_BUS=usb")
	line("E: ID_MODEL=%s", model)
	line("E: ID_MODEL_ID=%04x", r.pid)
	line("E: ID_REVISION=%04x", r.bcd)
	line("E: ID_SERIAL=%s_%s_%s", vendor, model, r.udevSerial)
	line("E: ID_SERIAL_SHORT=%s", r.udevSerial)
	line("E: ID_USB_INTERFACES=%s", r.interfaces)
	line("E: ID_VENDOR=%s", vendor)
	line("E: ID_VENDOR_ID=%04x", r.vid)
	line("E: MAJOR=189")
	line("E: MINOR=%d", r.devnum-1)
	line("E: PRODUCT=%x/%x/%x", r.vid, r.pid, r.bcd)
	line("E: SUBSYSTEM=usb")
	line("E: TYPE=0/0/0")
	line("A: authorized=1")
	line(`A: bConfigurationValue=1\n`)
	line("A: bDeviceClass=00")
	line("A: bDeviceProtocol=00")
	line("A: bDeviceSubClass=00")
	line("A: bMaxPacketSize0=64")
	line("A: bMaxPower=100mA")
	line("A: bNumConfigurations=1")
	line("A: bNumInterfaces= 1")
	line("A: bcdDevice=%04x", r.bcd)
	line("A: bmAttributes=%02x", r.attributes)
	line(`A: busnum=1\n`)
	line("A: configuration=")
	line("H: descriptors=%s", desc)
	line("A: dev=189:%d", r.devnum-1)
	line(`A: devnum=%d\n`, r.devnum)
	line("A: devpath=%d", r.devnum-1)
	line("A: idProduct=%04x", r.pid)
	line("A: idVendor=%04x", r.vid)
	line("A: manufacturer=%s", r.manufacturer)
	line("A: maxchild=0")
	line("A: product=%s", r.product)
	line("A: removable=unknown")
	if !r.noSerial {
		line("A: serial=%s", r.serial)
	}
	line(`A: speed=%s\n`, r.speed)
	line("A: version= 2.00")
	return s.String()
}
