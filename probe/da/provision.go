package da

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32h5/dacred"
)

// Provisioned is what Provision found and did.
type Provisioned struct {
	State targets.ProductState `json:"state"`
	TZEN  targets.TZEN         `json:"tzen"`
	// ReadBack is true when the record was readable afterwards (it then
	// matched the file).
	ReadBack bool `json:"read_back"`
	// Record is what was read back (nil when unreadable).
	Record []byte `json:"record,omitempty"`
}

const opProvision = "DA provisioning"

// Provision hands an .obk file to the ROM, as STM32CubeProgrammer's -sdp
// does, on a chip in PROVISIONING reached by Hot Plug on the core's port
// (AP1). The file is checked against part first (CheckOBK; any mismatch
// refuses it), the chip must be that part and in PROVISIONING, and the
// record is read back where readable. It pulses NRST first, since a chip
// left in the ROM's DA loop by a discovery serves no provisioning. The
// hand-over itself is the
// simulator's choice (targets/stm32h5 chosen.go): ST's is not public.
//
// On the H503 file is the OTP image (the 32-byte password hash,
// dacred.OTPImageFile): it is programmed into OTP block 0, which is then
// locked for ever, as ST's H503 scripts do.
func (h *Host) Provision(ctx context.Context, part stm32h5.Part, file []byte) (res *Provisioned, err error) {
	if !part.OBK && len(file) != stm32h5.DAHashSize {
		return nil, tag(fail(opProvision, probe.LayerTarget, fmt.Sprintf("the %s takes a 32-byte OTP image (the password's SHA-256), not %d bytes", part.Name, len(file)),
			"give the "+dacred.OTPImageFile+" make-password wrote for the H503", nil), ErrProvision)
	}
	if ms := CheckOBK(file, part); part.OBK && len(ms) > 0 {
		var ps []string
		for _, m := range ms {
			ps = append(ps, m.Problem)
		}
		return nil, tag(fail(opProvision, probe.LayerTarget, "the .obk file is not fit for the "+part.Name+": "+strings.Join(ps, "; "), ms[0].Fix, nil), ErrProvision)
	}
	ctx, cancel := context.WithTimeout(ctx, h.o.Timeout)
	defer cancel()
	defer func() {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
		defer cancel()
		if derr := h.p.Disconnect(tctx); derr != nil && err == nil {
			err = fmt.Errorf("%s: leaving the probe clean: %w", opProvision, derr)
		}
	}()
	const core = 1
	// A discovery leaves the chip in the ROM's DA loop, which serves no
	// provisioning: reset it first (the ROM loop of PROVISIONING restarts).
	h.pulseReset(ctx)
	rep, err := h.p.Connect(ctx, probe.ConnectOptions{Mode: probe.ModeHotPlug, AP: core, FrequencyKHz: h.o.FrequencyKHz})
	if err != nil {
		return nil, probeFail(opProvision, "attaching Hot Plug", err)
	}
	if !rep.OK() {
		return nil, tag(fail(opProvision, probe.LayerAP, "the core's port (AP1) does not answer", "OBK provisioning works in PROVISIONING, where Hot Plug on AP1 connects; run stprobe info", rep.Err), ErrNotProvisioning)
	}
	read := func(addr uint32, what string) (uint32, error) {
		v, err := h.p.Read32(ctx, core, addr)
		if err != nil {
			return 0, probeFail(opProvision, "reading "+what, err)
		}
		return v, nil
	}
	id, err := read(targets.H5DBGMCUAP1+targets.DBGMCUIDCode, "DBGMCU_IDCODE")
	if err != nil {
		return nil, err
	}
	if dev, _ := targets.DecodeIDCode(id); dev != part.DevID {
		return nil, fail(opProvision, probe.LayerTarget, fmt.Sprintf("the chip is DEV_ID 0x%03X, the file is for the %s (0x%03X)", dev, part.Name, part.DevID), "make the file for the chip's part", nil)
	}
	optsr, err := read(targets.H5FlashRegs+targets.FlashOPTSRCur, "FLASH_OPTSR_CUR")
	if err != nil {
		return nil, err
	}
	optsr2, err := read(targets.H5FlashRegs+targets.FlashOPTSR2Cur, "FLASH_OPTSR2_CUR")
	if err != nil {
		return nil, err
	}
	res = &Provisioned{State: targets.ProductStateOf(optsr)}
	if part.TrustZone {
		res.TZEN = targets.TZENOf(optsr2)
	}
	if res.State != targets.StateProvisioning {
		return res, tag(fail(opProvision, probe.LayerTarget, fmt.Sprintf("the chip is %v, not PROVISIONING (0x17)", res.State),
			"the ROM takes OBK data only in PROVISIONING: move the chip there first (ob apply PRODUCT_STATE=0x17 from OPEN)", nil), ErrNotProvisioning)
	}
	if !part.OBK {
		return h.provisionOTP(ctx, res, file)
	}
	h.event("provision", "handing %d bytes to the ROM", len(file))
	// The hand-over: file, length, cleared status, then the command.
	blk := uint32(stm32h5.OBKProvBlock)
	padded := append(bytes.Clone(file), make([]byte, (4-len(file)%4)%4)...)
	for i := 0; i < len(padded); i += 4 {
		if err := h.p.Write32(ctx, core, blk+stm32h5.OBKProvData+uint32(i), binary.LittleEndian.Uint32(padded[i:])); err != nil {
			return res, probeFail(opProvision, "writing the file to SRAM", err)
		}
	}
	for _, w := range [][2]uint32{{4, uint32(len(file))}, {8, 0}, {0, stm32h5.OBKProvCommand}} {
		if err := h.p.Write32(ctx, core, blk+w[0], w[1]); err != nil {
			return res, probeFail(opProvision, "writing the provisioning command", err)
		}
	}
	var status uint32
	for range h.o.ResetPolls {
		if status, err = read(blk+8, "the provisioning status"); err != nil {
			return res, err
		}
		if status != 0 {
			break
		}
		pause(ctx, h.o.ResetPause)
	}
	switch status {
	case stm32h5.OBKProvDone:
	case 0:
		return res, tag(fail(opProvision, probe.LayerTarget, "the ROM did not take the file", "power-cycle the board (it must boot into PROVISIONING) and retry", nil), ErrProvision)
	default:
		return res, tag(fail(opProvision, probe.LayerTarget, fmt.Sprintf("the ROM refused the file: %s", provStatus(status)), "check the file with stprobe da check-obk", nil), ErrProvision)
	}
	// Read back where readable: the non-secure alias with TrustZone off,
	// the secure one with it on.
	addr := uint32(stm32h5.OBKDAAddrNS)
	if res.TZEN.Enabled() {
		addr = stm32h5.OBKDAAddr
	}
	rec := make([]byte, stm32h5.OBKDASize)
	if err := h.p.ReadMem(ctx, core, addr, 4, rec); err == nil {
		res.ReadBack, res.Record = true, rec
		if f, _ := dacred.DecodeOBK(file); !bytes.Equal(rec, f.Payload) {
			return res, tag(fail(opProvision, probe.LayerTarget, "the DA record read back differs from the file", "provision again; on a crypto part the file must ask for encryption", nil), ErrProvision)
		}
	}
	return res, nil
}

// provStatus names a provisioning status word.
func provStatus(s uint32) string {
	switch s {
	case stm32h5.OBKProvBadSize:
		return "bad size (RSSLIB_SETOBKEY_BAD_SIZE)"
	case stm32h5.OBKProvBadDestination:
		return "bad destination (not the DA record, or no OBK area on this part)"
	case stm32h5.OBKProvBadEncryption:
		return "bad encryption flag for this part"
	}
	return fmt.Sprintf("status 0x%08X", s)
}

// ReadDARecord reads the provisioned DA data through the core's port (Hot
// Plug on AP1): the 96-byte OBK record (through the non-secure alias with
// TrustZone off, the secure one with it on), or the H503's 32-byte OTP
// hash. It fails where AP1 or the alias is closed (closed states).
func (h *Host) ReadDARecord(ctx context.Context, part stm32h5.Part) (rec []byte, err error) {
	const op, core = "reading the DA record", 1
	ctx, cancel := context.WithTimeout(ctx, h.o.Timeout)
	defer cancel()
	defer func() {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
		defer cancel()
		if derr := h.p.Disconnect(tctx); derr != nil && err == nil {
			err = fmt.Errorf("%s: leaving the probe clean: %w", op, derr)
		}
	}()
	rep, err := h.p.Connect(ctx, probe.ConnectOptions{Mode: probe.ModeHotPlug, AP: core, FrequencyKHz: h.o.FrequencyKHz})
	if err != nil {
		return nil, probeFail(op, "attaching Hot Plug", err)
	}
	if !rep.OK() {
		return nil, fail(op, probe.LayerAP, "the core's port (AP1) does not answer", "the record is readable only while debug is open (OPEN, PROVISIONING)", rep.Err)
	}
	addr, n := uint32(stm32h5.OTPDAAddr), stm32h5.DAHashSize
	if part.OBK {
		addr, n = stm32h5.OBKDAAddrNS, stm32h5.OBKDASize
		v, err := h.p.Read32(ctx, core, targets.H5FlashRegs+targets.FlashOPTSR2Cur)
		if err != nil {
			return nil, probeFail(op, "reading FLASH_OPTSR2_CUR", err)
		}
		if targets.TZENOf(v).Enabled() {
			addr = stm32h5.OBKDAAddr
		}
	}
	rec = make([]byte, n)
	if err := h.p.ReadMem(ctx, core, addr, 4, rec); err != nil {
		return nil, probeFail(op, fmt.Sprintf("reading 0x%08X", addr), err)
	}
	return rec, nil
}
