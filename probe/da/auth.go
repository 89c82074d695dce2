package da

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"strings"

	"github.com/stprobe/stprobe/enum"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/safefile"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32h5/dacred"
)

// Permission is what an authentication asks for.
type Permission int

// Permissions.
const (
	// PermFull is a full regression: everything erased, back to OPEN with
	// TrustZone off (CubeProgrammer per=a).
	PermFull Permission = iota
	// PermToTZ is a regression to TZ_CLOSED: the non-secure side erased
	// (per=b; certificate method only).
	PermToTZ
	// PermOpenDebug opens debug until the next power cycle (per=c;
	// certificate method only).
	PermOpenDebug
)

// ParsePermission accepts "full", "to-tz" and "open-debug" (and ST's
// letters a, b, c).
func ParsePermission(s string) (Permission, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "full", "a", "":
		return PermFull, nil
	case "to-tz", "totz", "tz", "b":
		return PermToTZ, nil
	case "open-debug", "debug", "open", "c":
		return PermOpenDebug, nil
	}
	return 0, fmt.Errorf("permission %q: want full, to-tz or open-debug", s)
}

// permissionWords are each permission's command-line name and what it
// does, in plain words.
var permissionWords = [...]enum.Words{
	PermFull:      {Name: "full", Title: "full regression (erase everything, back to OPEN with TrustZone off)"},
	PermToTZ:      {Name: "to-tz", Title: "regression to TZ_CLOSED (erase the non-secure side)"},
	PermOpenDebug: {Name: "open-debug", Title: "debug opening (until the next power cycle)"},
}

// String is the command-line name.
func (p Permission) String() string {
	return enum.ShortName(permissionWords[:], p, "Permission")
}

// Title says what the permission does, in plain words.
func (p Permission) Title() string {
	return enum.Title(permissionWords[:], p, "Permission")
}

// MarshalText is String, for JSON.
func (p Permission) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText is ParsePermission.
func (p *Permission) UnmarshalText(b []byte) error {
	v, err := ParsePermission(string(b))
	if err == nil {
		*p = v
	}
	return err
}

// Erases says what the permission erases on part, for the guard before a
// regression.
func (p Permission) Erases(part stm32h5.Part) string {
	switch p {
	case PermFull:
		s := "all user flash, SRAM and every option byte (back to factory values: OPEN"
		if part.TrustZone {
			s += ", TrustZone off"
		}
		s += ")"
		if part.OBK {
			return s + ", and the OBK area with the DA provisioning"
		}
		return s + "; the password hash in OTP stays"
	case PermToTZ:
		return "the non-secure user flash; the secure side and the DA provisioning stay"
	}
	return "nothing"
}

// Grant is what the permission asks the ROM for, in the words of the rule
// of what each method can do (targets.DAMethod.Grants).
func (p Permission) Grant() targets.DAGrant {
	switch p {
	case PermToTZ:
		return targets.DAGrantToTZ
	case PermOpenDebug:
		return targets.DAGrantOpenDebug
	}
	return targets.DAGrantFull
}

// Bit is the permission's bit in the DA permission word.
func (p Permission) Bit() uint32 {
	switch p {
	case PermFull:
		return stm32h5.PermFullRegression
	case PermToTZ:
		return stm32h5.PermTZRegression
	case PermOpenDebug:
		return stm32h5.PermOpenDebug
	}
	return 0
}

// Credentials are what the user authenticates with: a password, or the
// certificate chain (root first) and the leaf's private key.
type Credentials struct {
	Password []byte
	Chain    []*dacred.Certificate
	Key      *ecdsa.PrivateKey
}

// Method is "password", "certificate", or "" when neither is complete.
func (c Credentials) Method() string {
	switch {
	case len(c.Password) > 0:
		return "password"
	case len(c.Chain) > 0 && c.Key != nil:
		return "certificate"
	}
	return ""
}

// Check checks the credentials offline, before anything touches the
// chip: a certificate chain that holds together (roles, signatures) and a
// key that is the leaf's (dacred.CheckChain). A password is checked by
// the chip alone.
func (c Credentials) Check() error {
	if len(c.Password) > 0 || (len(c.Chain) == 0 && c.Key == nil) {
		return nil
	}
	if err := dacred.CheckChain(c.Chain, c.Key); err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	return nil
}

// LoadPassword reads ST's password file (password.bin), refusing at once
// anything but a regular file of at most dacred.MaxPasswordFileSize bytes.
func LoadPassword(path string) (Credentials, error) {
	pw, err := load(path, "password", dacred.MaxPasswordFileSize, dacred.DecodePasswordFile)
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{Password: pw}, nil
}

// load reads the file what at path through a bounded read of at most max
// bytes and decodes it; a decoding error names the file.
func load[T any](path, what string, max int64, decode func([]byte) (T, error)) (T, error) {
	b, err := safefile.Read(path, what, max)
	if err != nil {
		var zero T
		return zero, err
	}
	v, err := decode(b)
	if err != nil {
		return v, fmt.Errorf("file %s: %w", path, err)
	}
	return v, nil
}

// LoadCertificate reads the leaf key (PEM: PKCS #8 as ST's key_3_leaf.pem,
// or SEC 1) and the certificate chain (ST's base64 .b64, or the raw
// certificates), each through a bounded read, and checks offline that the
// key is the chain's leaf key (Credentials.Check): a key from another
// chain is refused here, before the chip is reset into its DA loop.
func LoadCertificate(keyPath, chainPath string) (Credentials, error) {
	key, err := load(keyPath, "key", dacred.MaxKeyFileSize, dacred.DecodeKeyPEM)
	if err != nil {
		return Credentials{}, err
	}
	chain, err := load(chainPath, "certificate chain", dacred.MaxChainFileSize, dacred.DecodeChain)
	if err != nil {
		return Credentials{}, err
	}
	c := Credentials{Chain: chain, Key: key}
	if err := c.Check(); err != nil {
		return Credentials{}, fmt.Errorf("file %s with %s: %w", keyPath, chainPath, err)
	}
	return c, nil
}

// LoadOBK reads an .obk file (on the H503 the OTP image) through a bounded
// read: a FIFO, a device or a file larger than the OBK area is refused at
// once. Its content is judged by CheckOBK and the provisioning.
func LoadOBK(path string) ([]byte, error) {
	return safefile.Read(path, ".obk", dacred.MaxOBKFileSize)
}

// Result is what an authentication did.
type Result struct {
	// Before is the discovery that opened the session.
	Before *Discovery `json:"before"`
	// Permission is what was granted.
	Permission Permission `json:"permission"`
	// After is what the chip showed when it came back.
	After *After `json:"after,omitempty"`
}

// Regress runs a regression (PermFull or PermToTZ) with c and verifies the
// chip afterwards.
func (h *Host) Regress(ctx context.Context, c Credentials, perm Permission) (*Result, error) {
	if perm != PermFull && perm != PermToTZ {
		return nil, fmt.Errorf("DA regression: %v is not a regression (use open-debug)", perm)
	}
	return h.Authenticate(ctx, c, perm)
}

// OpenDebug opens debug with c (certificate method) and checks that the
// core's port answers afterwards.
func (h *Host) OpenDebug(ctx context.Context, c Credentials) (*Result, error) {
	return h.Authenticate(ctx, c, PermOpenDebug)
}

// Authenticate starts a session, checks that the chip can grant perm to c
// (state, provisioning, method, permission mask), authenticates, and once
// the ROM has acted (regressions reset the chip), reconnects and verifies
// the outcome. A refused authentication leaves the chip unchanged, waiting
// in its DA loop until the next reset; its error matches ErrUnauthorized
// (or the sentinel of the status) with errors.Is.
func (h *Host) Authenticate(ctx context.Context, c Credentials, perm Permission) (*Result, error) {
	op := "DA " + perm.String()
	if perm == PermFull || perm == PermToTZ {
		op = "DA regression"
	}
	if c.Method() == "" {
		return nil, tag(fail(op, probe.LayerTarget, "no credentials", "give a password file, or the leaf key and the certificate chain", nil), ErrWrongMethod)
	}
	if err := c.Check(); err != nil {
		return nil, tag(fail(op, probe.LayerTarget, "the credentials do not hold together (checked before touching the chip)", "give the leaf key and the chain made together (key_3_leaf.pem and cert_leaf_chain.b64)", err), ErrBadCredentials)
	}
	res := &Result{Permission: perm}
	err := h.withSession(ctx, op, func(ctx context.Context, s *session) error {
		res.Before = s.disc
		if err := precheck(op, s.disc, c, perm); err != nil {
			return err
		}
		h.event("authenticate", "asking for %s with the %s", perm.Title(), c.Method())
		chal, err := s.transact(ctx, CmdAuthStart, nil, "AUTH_START")
		if err != nil {
			return err
		}
		if len(chal) < 4+32 || chal[0] != 1 {
			return fail(op, probe.LayerTarget, fmt.Sprintf("AUTH_START challenge of %d bytes (version %v)", len(chal), chal[:min(2, len(chal))]), "power-cycle the board and retry", ErrMalformed)
		}
		challenge := chal[4 : 4+32]
		if c.Method() == "password" {
			_, err := s.transact(ctx, CmdAuthResponse, dacred.AppendTLV(nil, dacred.TypePassword, c.Password, true), "AUTH_RESPONSE (password)")
			return err
		}
		for i, cert := range c.Chain {
			what := fmt.Sprintf("AUTH_RESPONSE (certificate %d of %d)", i+1, len(c.Chain))
			h.event("authenticate", "sending certificate %d of %d", i+1, len(c.Chain))
			st, _, err := s.exchange(ctx, CmdAuthResponse, dacred.AppendTLV(nil, dacred.TypeCert, cert.Encode(), true), what)
			if err != nil {
				return err
			}
			if st != StatusNeedMoreData {
				return s.statusFail(what, st)
			}
		}
		tok, err := dacred.NewToken(perm.Bit(), challenge, c.Key)
		if err != nil {
			return fail(op, probe.LayerTarget, "making the token", "", err)
		}
		_, err = s.transact(ctx, CmdAuthResponse, dacred.AppendTLV(nil, dacred.TypeToken, tok.Encode(), true), "AUTH_RESPONSE (token)")
		return err
	})
	if err != nil {
		return res, err
	}
	h.event("granted", "the chip granted %s", perm.Title())
	res.After, err = h.verify(ctx, op, res.Before, perm)
	if err == nil {
		h.event("verified", "the chip came back %v", res.After.State)
	}
	return res, err
}

func bitIndex(b uint32) int {
	for i := range 32 {
		if b == 1<<i {
			return i
		}
	}
	return -1
}

// After is what the chip showed once the ROM had acted.
type After struct {
	State targets.ProductState `json:"state"`
	TZEN  targets.TZEN         `json:"tzen"`
	// FlashErased is true when every byte of user flash read 0xFF;
	// FlashChecked is how many bytes were read (0: not readable).
	FlashErased  bool `json:"flash_erased"`
	FlashChecked int  `json:"flash_checked"`
	// OBKErased is true when the DA record reads erased; OBKChecked says
	// it was readable.
	OBKErased  bool `json:"obk_erased"`
	OBKChecked bool `json:"obk_checked"`
	// AP1Open is true when the core's port answered.
	AP1Open bool `json:"ap1_open"`
	// Polls is how many reconnect attempts it took.
	Polls int `json:"polls"`
}

// verify waits for the chip to come back and checks the outcome of perm.
func (h *Host) verify(ctx context.Context, op string, before *Discovery, perm Permission) (*After, error) {
	ctx, cancel := context.WithTimeout(ctx, h.o.ResetTimeout)
	defer cancel()
	defer func() {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
		defer cancel()
		_ = h.p.Disconnect(tctx)
	}()
	a := &After{}
	core := uint8(1)
	want := targets.StateOpen
	switch perm {
	case PermToTZ:
		want = targets.StateTZClosed
	case PermOpenDebug:
		want = before.State
	}
	if perm != PermOpenDebug {
		h.event("reset", "waiting while the ROM erases and resets the chip")
		h.waitReset(ctx)
	}
	h.event("reconnect", "reconnecting to check the chip")
	if perm == PermToTZ {
		// AP1 stays closed in TZ_CLOSED: ask the ROM, then let the chip
		// boot out of the DA loop.
		var d *Discovery
		var err error
		for a.Polls = 1; a.Polls <= discoverTries; a.Polls++ {
			if d, err = h.Discover(ctx); err == nil && d.State == want {
				a.State, a.TZEN = d.State, targets.TZENEnabled
				h.pulseReset(ctx)
				return a, nil
			}
			pause(ctx, h.o.ResetPause)
		}
		what := fmt.Sprintf("the chip did not come back %v", want)
		if d != nil {
			what += fmt.Sprintf(" (discovery reports %s)", d.StateName())
		}
		return a, tag(fail(op, probe.LayerTarget, what, "power-cycle the board, then run da discover", err), ErrVerify)
	}
	// Wait until the core's port answers and reads the expected state.
	var lastErr error
	for a.Polls = 1; a.Polls <= h.o.ResetPolls && ctx.Err() == nil; a.Polls++ {
		rep, err := h.p.Connect(ctx, probe.ConnectOptions{Mode: probe.ModeHotPlug, AP: core, FrequencyKHz: h.o.FrequencyKHz})
		if err != nil {
			return a, probeFail(op, "reconnecting after the chip reset", err)
		}
		if rep.OK() {
			v, err := h.p.Read32(ctx, core, targets.H5FlashRegs+targets.FlashOPTSRCur)
			if err == nil && targets.ProductStateOf(v) == want {
				a.State, a.AP1Open = want, true
				break
			}
			lastErr = err
			if err == nil {
				lastErr = fmt.Errorf("product state reads %v", targets.ProductStateOf(v))
			}
		} else {
			lastErr = rep.Err
		}
		_ = h.p.Disconnect(ctx)
		pause(ctx, h.o.ResetPause)
	}
	if !a.AP1Open {
		what := fmt.Sprintf("the chip did not come back %v after %d attempts", want, a.Polls-1)
		return a, tag(fail(op, probe.LayerTarget, what, "power-cycle the board, then run da discover and ob read", lastErr), ErrVerify)
	}
	if v, err := h.p.Read32(ctx, core, targets.H5FlashRegs+targets.FlashOPTSR2Cur); err == nil && before.SoCClass != uint32(stm32h5.LineH503) {
		a.TZEN = targets.TZENOf(v)
	}
	if perm == PermOpenDebug {
		return a, nil
	}
	// Full regression: TrustZone off, flash and the DA record erased.
	var problems []string
	if before.SoCClass != uint32(stm32h5.LineH503) && a.TZEN != targets.TZENDisabled {
		problems = append(problems, fmt.Sprintf("TZEN is %v, want 0xC3", a.TZEN))
	}
	if n, erased, err := h.flashErased(ctx, core); err == nil {
		a.FlashChecked, a.FlashErased = n, erased
		if !erased {
			problems = append(problems, "user flash is not erased")
		}
	}
	if before.SoCClass != uint32(stm32h5.LineH503) {
		rec := make([]byte, stm32h5.OBKDASize)
		if err := h.p.ReadMem(ctx, core, stm32h5.OBKDAAddrNS, 4, rec); err == nil {
			a.OBKChecked, a.OBKErased = true, bytes.Equal(rec, bytes.Repeat([]byte{0xFF}, len(rec)))
			if !a.OBKErased {
				problems = append(problems, "the OBK DA record is not erased")
			}
		}
	}
	if len(problems) > 0 {
		return a, tag(fail(op, probe.LayerTarget, "after the regression "+strings.Join(problems, "; "), "run ob read and da discover; power-cycle and retry the regression", nil), ErrVerify)
	}
	return a, nil
}

// discoverTries bounds the discoveries that check a regression to
// TZ_CLOSED.
const discoverTries = 3

// waitReset waits, on a Hot Plug connection to the mailbox AP, until the
// debug link drops (the ROM resets the chip at the end of a regression) or
// ResetPolls reads have passed.
func (h *Host) waitReset(ctx context.Context) {
	rep, err := h.p.Connect(ctx, probe.ConnectOptions{Mode: probe.ModeHotPlug, AP: h.o.AP, FrequencyKHz: h.o.FrequencyKHz})
	if err != nil || !rep.DPOK {
		return // already down
	}
	defer func() { _ = h.p.Disconnect(ctx) }()
	for range h.o.ResetPolls {
		if ctx.Err() != nil {
			return
		}
		if _, err := h.p.Read32(ctx, h.o.AP, h.o.Base+targets.DBGMCUIDCode); err != nil {
			return
		}
		pause(ctx, h.o.ResetPause)
	}
}

// pulseReset pulses NRST so that a chip left in the ROM's DA loop by a
// discovery boots normally.
func (h *Host) pulseReset(ctx context.Context) { _ = h.Reboot(ctx) }

// Reboot pulses NRST so that a chip left in the ROM's DA loop (after a
// discovery or a refused authentication) boots normally.
func (h *Host) Reboot(ctx context.Context) error {
	if err := h.p.SetNRST(ctx, true); err != nil {
		return probeFail("DA reboot", "asserting NRST", err)
	}
	if err := h.p.SetNRST(ctx, false); err != nil {
		return probeFail("DA reboot", "releasing NRST", err)
	}
	return nil
}

// flashErased reads the whole user flash (its size from the engineering
// area) and reports how many bytes it read and whether all were 0xFF.
func (h *Host) flashErased(ctx context.Context, ap uint8) (int, bool, error) {
	v, err := h.p.Read32(ctx, ap, targets.H5FlashSize&^3)
	if err != nil {
		return 0, false, err
	}
	kb := int(v >> (8 * (targets.H5FlashSize & 3)) & 0xFFFF)
	if kb == 0 || kb > 4096 {
		return 0, false, errors.New("flash size unreadable")
	}
	buf := make([]byte, flashChunk)
	for off := 0; off < kb*1024; off += flashChunk {
		h.event("flash", "checking flash is erased: %d of %d KiB", off/1024, kb)
		if err := h.p.ReadMem(ctx, ap, 0x08000000+uint32(off), 4, buf); err != nil {
			return off, false, err
		}
		if !bytes.Equal(buf, bytes.Repeat([]byte{0xFF}, len(buf))) {
			return off + len(buf), false, nil
		}
	}
	return kb * 1024, true, nil
}

// flashChunk is the read size of the erase check.
const flashChunk = 4096

// LoadCredentials loads what the command line names: a password file, or
// a leaf key and a chain file (exactly one of the two).
func LoadCredentials(passwordPath, keyPath, chainPath string) (Credentials, error) {
	switch {
	case passwordPath != "" && keyPath == "" && chainPath == "":
		return LoadPassword(passwordPath)
	case passwordPath == "" && keyPath != "" && chainPath != "":
		return LoadCertificate(keyPath, chainPath)
	}
	return Credentials{}, fmt.Errorf("give either a password file, or a key and a certificate chain")
}
