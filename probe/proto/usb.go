package proto

// VendorST is ST's USB vendor ID.
const VendorST = 0x0483

// Model describes one ST-LINK USB product: its PID, name, generation and
// bulk endpoints for the debug interface (interface 0).
type Model struct {
	PID        uint16
	Name       string
	Generation Generation
	EPOut      uint8 // command and data OUT
	EPIn       uint8 // reply and data IN
	EPTrace    uint8 // SWO trace IN
	HighSpeed  bool  // 512-byte packets (V3), else 64-byte full speed
}

// Models lists every ST-LINK debug PID the driver knows.
var Models = []Model{
	{0x3748, "ST-LINK/V2", GenV2, 0x02, 0x81, 0x83, false},
	{0x374A, "ST-LINK/V2-1 (audio)", GenV2, 0x01, 0x81, 0x82, false},
	{0x374B, "ST-LINK/V2-1", GenV2, 0x01, 0x81, 0x82, false},
	{0x3752, "ST-LINK/V2-1 (no MSD)", GenV2, 0x01, 0x81, 0x82, false},
	{0x374D, "STLINK-V3 loader", GenV3, 0x01, 0x81, 0x82, true},
	{0x374E, "STLINK-V3E", GenV3, 0x01, 0x81, 0x82, true},
	{0x374F, "STLINK-V3S/V3SET", GenV3, 0x01, 0x81, 0x82, true},
	{0x3753, "STLINK-V3 (2VCP)", GenV3, 0x01, 0x81, 0x82, true},
	{0x3754, "STLINK-V3 (no MSD)", GenV3, 0x01, 0x81, 0x82, true},
	{0x3755, "STLINK-V3PWR loader", GenV3, 0x01, 0x81, 0x82, true},
	{0x3757, "STLINK-V3PWR", GenV3PW, 0x01, 0x81, 0x82, true},
}

// ModelByPID returns the model with the given PID.
func ModelByPID(pid uint16) (Model, bool) {
	for _, m := range Models {
		if m.PID == pid {
			return m, true
		}
	}
	return Model{}, false
}

// IsV21PID reports whether pid is a V2-1 variant (whose low version field is the MSD number).
func IsV21PID(pid uint16) bool {
	return pid == 0x374A || pid == 0x374B || pid == 0x3752
}
