package da

import (
	"bytes"
	"context"
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

// Provision writes an .obk file's data into the OBK area the way ST's own
// debugger code does (STMicroelectronics/OpenOCD stm32h5x.c write_obk,
// stm32h5x.cfg enter_provisionning_pstate; targets/stm32h5 rsslib.go): on a
// chip in PROVISIONING it resets the chip with the debugger attached, halts
// the core, puts the data and an RSSLIB_DataProvisioningConf_t in SRAM3,
// and runs the ROM's RSSLIB_DataProvisioning (its address read from
// RSSLIB_PFUNC_BASE) with r0 = &config and LR = a return address guarded
// by an FPB breakpoint; r0 at the breakpoint is the ROM's status. The file
// is checked against part first (CheckOBK; any mismatch refuses it), the
// chip must be that part and in PROVISIONING, and the record is read back
// where readable. Every exchange of the call is given to Options.Debug.
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
	var call *rssCall
	if part.OBK {
		if call, err = h.planRSSCall(part, file); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, h.o.Timeout)
	defer cancel()
	defer h.leaveClean(ctx, opProvision, &err)
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
	h.event("provision", "calling the ROM's RSSLIB_DataProvisioning with %d bytes for 0x%08X", call.size, call.dest)
	if err := h.runRSSCall(ctx, call); err != nil {
		return res, err
	}
	// Read back where readable: the non-secure alias with TrustZone off,
	// the secure one with it on.
	addr := uint32(stm32h5.OBKDAAddrNS)
	if res.TZEN.Enabled() {
		addr = stm32h5.OBKDAAddr
	}
	rec := make([]byte, stm32h5.OBKDASize)
	if err := h.p.ReadMem(ctx, core, addr, 4, rec); err == nil {
		h.debug("read back %d bytes at 0x%08X: % X", len(rec), addr, rec)
		res.ReadBack, res.Record = true, rec
		if f, _ := dacred.DecodeOBK(file); !bytes.Equal(rec, f.Payload) {
			return res, tag(fail(opProvision, probe.LayerTarget, "the DA record read back differs from the file", "provision again; on a crypto part the file must ask for encryption", nil), ErrProvision)
		}
	} else {
		h.debug("read back at 0x%08X failed: %v", addr, err)
	}
	return res, nil
}

// ReadDARecord reads the provisioned DA data through the core's port (Hot
// Plug on AP1): the 96-byte OBK record (through the non-secure alias with
// TrustZone off, the secure one with it on), or the H503's 32-byte OTP
// hash. It fails where AP1 or the alias is closed (closed states).
func (h *Host) ReadDARecord(ctx context.Context, part stm32h5.Part) (rec []byte, err error) {
	const op, core = "reading the DA record", 1
	ctx, cancel := context.WithTimeout(ctx, h.o.Timeout)
	defer cancel()
	defer h.leaveClean(ctx, op, &err)
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
