package usbrelay

import (
	"strings"
	"testing"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// shortDFU is a DFU function whose device descriptor is cut short.
type shortDFU struct{}

func (shortDFU) Present() bool                            { return true }
func (shortDFU) DeviceDescriptor() []byte                 { return []byte{18, descDevice} }
func (shortDFU) ConfigDescriptor() []byte                 { return nil }
func (shortDFU) StringDescriptor(uint8) ([]byte, bool)    { return nil, false }
func (shortDFU) Control(setup, out []byte) ([]byte, bool) { return nil, false }
func (shortDFU) Reset()                                   {}

// TestRecords: the umockdev records of a simulated ST-LINK and of a ROM
// DFU function say what each device is, from one renderer.
func TestRecords(t *testing.T) {
	raw := testIdentity(t, 0x3748)
	raw.serial = "0670ff485550755187121723"
	raw.rawSerial = true
	h5, err := stm32h5.New(stm32h5.Config{Line: stm32h5.LineH533, ProductState: targets.StateOpen, NRSTWired: true})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		desc      string
		want, not []string
	}{
		{"V2", testIdentity(t, 0x3748).description(),
			[]string{"P: /devices/pci0000:00/0000:00:14.0/usb1/1-1\n", "E: DEVNAME=/dev/bus/usb/001/002\n", "E: ID_SERIAL=STMicroelectronics_STM32_STLink_0670FF485550755187121723\n",
				"E: ID_USB_INTERFACES=:ffffff:\n", "E: PRODUCT=483/3748/100\n", "A: bcdDevice=0100\n", "A: bmAttributes=80\n", "A: serial=0670FF485550755187121723\n", `A: speed=12\n` + "\n"},
			nil},
		{"V3 high speed", testIdentity(t, 0x374E).description(),
			[]string{"E: ID_MODEL=STLINK-V3\n", "A: idProduct=374e\n", `A: speed=480\n` + "\n"}, nil},
		{"V2 raw serial", raw.description(),
			[]string{"E: ID_SERIAL_SHORT=0670FF485550755187121723\n"}, []string{"A: serial="}},
		{"ROM DFU", (&dfuDevice{fn: h5.ROMBootloader(true).NewDFU(), devnum: 3}).description(),
			[]string{"P: /devices/pci0000:00/0000:00:14.0/usb1/1-2\n", "E: DEVNAME=/dev/bus/usb/001/003\n", "E: ID_VENDOR_ID=0483\n", "E: ID_MODEL_ID=df11\n",
				"E: ID_USB_INTERFACES=:fe0102:\n", "A: bmAttributes=c0\n", "A: serial=", `A: speed=12\n` + "\n"},
			nil},
		{"DFU with a short descriptor", (&dfuDevice{fn: shortDFU{}, devnum: 4}).description(),
			[]string{"E: PRODUCT=0/0/0\n", "A: idVendor=0000\n", "H: descriptors=1201\n"}, nil},
	}
	for _, tt := range tests {
		for _, w := range tt.want {
			if !strings.Contains(tt.desc, w) {
				t.Errorf("%s: record lacks %q:\n%s", tt.name, w, tt.desc)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(tt.desc, n) {
				t.Errorf("%s: record has %q:\n%s", tt.name, n, tt.desc)
			}
		}
	}
}
