package stm32h5

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/big"

	"github.com/stprobe/stprobe/targets"
)

// The agent's authentication (security reference §5.6): AUTH_START hands
// out a 32-byte challenge; AUTH_RESPONSE carries either ST's password TLV
// (0x8000) or, one per packet, the PSA binary certificates (0x0201) of the
// chain root → leaf, then the PSA binary token (0x0200) signed by the leaf
// key over the token head and the challenge. The model parses these
// formats itself (it does not share the host's decoder), so host and
// device are two independent readings of the same layout.

// PSA binary certificate and token layout (ECDSA P-256, security reference
// §5.6).
const (
	daCertSize     = 212
	daCertSigned   = 148 // bytes covered by the issuer's signature
	daTokenSize    = 120
	daTokenSigned  = 56 // token bytes covered by the signature, before the challenge
	daChallengeLen = 32
	daMaxCerts     = 4
	daMaxPassword  = 64
)

// TLV types the agent takes in AUTH_RESPONSE.
const (
	daTLVToken    = 0x0200
	daTLVCert     = 0x0201
	daTLVPassword = 0x8000
)

// daAuthStartLocked answers AUTH_START with a fresh challenge; a LOCKED
// chip refuses (chosen.go).
func (m *Model) daAuthStartLocked() []uint32 {
	m.da.challenge, m.da.certs = nil, nil
	if m.stateLocked() == targets.StateLocked {
		return daHeader(daStatusUnauthorized, nil)
	}
	m.da.seq++
	h := sha256.Sum256(fmt.Appendf(nil, "stm32h5 model challenge %08X %d %d", m.cfg.UID, m.now, m.da.seq))
	m.da.challenge = h[:]
	payload := append([]byte{1, 0, 0, 0}, h[:]...)
	return daHeader(daStatusSuccess, payload)
}

// daAuthResponseLocked takes one AUTH_RESPONSE payload (a TLV list).
func (m *Model) daAuthResponseLocked(payload []byte) []uint32 {
	if m.stateLocked() == targets.StateLocked {
		m.da.challenge, m.da.certs = nil, nil
		return daHeader(daStatusUnauthorized, nil)
	}
	if m.da.challenge == nil {
		return daHeader(daStatusFailure, nil) // no AUTH_START before
	}
	tlvs, ok := daSplitTLVs(payload)
	if !ok || len(tlvs) == 0 {
		m.da.challenge, m.da.certs = nil, nil
		return daHeader(daStatusInvalidParams, nil)
	}
	for _, t := range tlvs {
		switch t.typ {
		case daTLVPassword:
			return daHeader(m.daPasswordLocked(t.value), nil)
		case daTLVToken:
			return daHeader(m.daTokenLocked(t.value), nil)
		case daTLVCert:
			if daCryptosystem(m.tzenLocked()) != 0x01 {
				m.da.challenge, m.da.certs = nil, nil
				return daHeader(daStatusUnsupported, nil)
			}
			if len(m.da.certs) == daMaxCerts {
				m.da.challenge, m.da.certs = nil, nil
				return daHeader(daStatusInvalidParams, nil)
			}
			m.da.certs = append(m.da.certs, bytes.Clone(t.value))
		default:
			m.da.challenge, m.da.certs = nil, nil
			return daHeader(daStatusInvalidParams, nil)
		}
	}
	return daHeader(daStatusNeedMoreData, nil)
}

// daTLV is one TLV of a request payload.
type daTLV struct {
	typ   uint16
	value []byte
}

// daSplitTLVs splits a payload into TLVs (values padded to words; trailing
// zero padding accepted).
func daSplitTLVs(b []byte) ([]daTLV, bool) {
	var out []daTLV
	for len(b) >= 8 {
		if binary.LittleEndian.Uint16(b) != 0 {
			return nil, false
		}
		typ := binary.LittleEndian.Uint16(b[2:])
		n := binary.LittleEndian.Uint32(b[4:])
		if uint64(n) > uint64(len(b)-8) {
			return nil, false
		}
		out = append(out, daTLV{typ, b[8 : 8+n]})
		next := min(8+int(n+3)&^3, len(b))
		b = b[next:]
	}
	for _, c := range b {
		if c != 0 {
			return nil, false
		}
	}
	return out, true
}

// daPasswordLocked checks an ST password: SHA-256 of it against the
// provisioned hash. The password method grants full regression only
// (AN6008) and is offered only with TrustZone off.
func (m *Model) daPasswordLocked(pw []byte) uint16 {
	m.da.challenge, m.da.certs = nil, nil
	if daCryptosystem(m.tzenLocked()) != 0x80 {
		return daStatusUnsupported
	}
	if !m.daProvisionedLocked() {
		return daStatusFailure
	}
	if len(pw) == 0 || len(pw) > daMaxPassword {
		return daStatusInvalidParams
	}
	h := sha256.Sum256(pw)
	if !bytes.Equal(h[:], m.daSecretHashLocked()) {
		return daStatusUnauthorized
	}
	perm := PermFullRegression
	if perm&m.daPermissionWordLocked()&daStateMask(m.stateLocked(), m.tzenLocked()) == 0 {
		return daStatusUnauthorized
	}
	m.da.done = perm
	return daStatusSuccess
}

// daTokenLocked checks the certificate chain received since AUTH_START
// and the token, and grants the permission it asks for when the chain,
// the provisioning and the product state all allow it.
func (m *Model) daTokenLocked(tok []byte) uint16 {
	certs, chal := m.da.certs, m.da.challenge
	m.da.challenge, m.da.certs = nil, nil
	if daCryptosystem(m.tzenLocked()) != 0x01 {
		return daStatusUnsupported
	}
	if !m.daProvisionedLocked() {
		return daStatusFailure
	}
	if len(tok) != daTokenSize || len(certs) == 0 {
		return daStatusInvalidParams
	}
	mask := m.daPermissionWordLocked() & daStateMask(m.stateLocked(), m.tzenLocked())
	var issuer *ecdsa.PublicKey
	for i, c := range certs {
		role := byte(2)
		switch {
		case i == 0:
			role = 1
		case i == len(certs)-1:
			role = 3
		}
		// A 212-byte certificate has no room for extensions: its
		// extensions_bytes must say none (PSA-ADAC checks the size adds up).
		if len(c) != daCertSize || c[0] != 1 || c[1] != 0 || c[2] != 1 || c[3] != 1 || c[4] != role ||
			binary.LittleEndian.Uint16(c[6:]) != 0 || binary.LittleEndian.Uint32(c[12:]) != 0 {
			return daStatusUnauthorized
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append([]byte{4}, c[52:116]...))
		if err != nil {
			return daStatusUnauthorized
		}
		if i == 0 {
			h := sha256.Sum256(c[52:116])
			if !bytes.Equal(h[:], m.daSecretHashLocked()) {
				return daStatusUnauthorized
			}
			issuer = pub
		}
		if !daVerify(issuer, c[:daCertSigned], c[daCertSigned:]) {
			return daStatusUnauthorized
		}
		if cls := binary.LittleEndian.Uint32(c[16:]); cls != 0 && cls != uint32(m.line.DevID) {
			return daStatusUnauthorized
		}
		if id := c[20:36]; !bytes.Equal(id, make([]byte, 16)) && !bytes.Equal(id, m.socIDLocked()) {
			return daStatusUnauthorized
		}
		mask &= binary.LittleEndian.Uint32(c[36:])
		issuer = pub
	}
	if len(certs) == 1 || !daTokenHeaderOK(tok) {
		return daStatusUnauthorized
	}
	if !daVerify(issuer, append(bytes.Clone(tok[:daTokenSigned]), chal...), tok[daTokenSigned:]) {
		return daStatusUnauthorized
	}
	req := binary.LittleEndian.Uint32(tok[8:])
	if req == 0 || req&^mask != 0 {
		return daStatusUnauthorized
	}
	for _, p := range []uint32{PermFullRegression, PermTZRegression, PermOpenDebug} {
		if req&p != 0 {
			m.da.done = p
			return daStatusSuccess
		}
	}
	return daStatusUnauthorized
}

// daTokenHeaderOK checks a token's head as PSA-ADAC's verifier does
// (psa-adac core adac_token.c psa_adac_token_verify_info, as vendored in
// phytec/optee_os-phytec-stm32mp core/lib/psa-adac): version 1.0, ECDSA
// P-256, the reserved byte zero, and the size adding up (120 bytes and no
// extensions_bytes). With no extensions, the extensions hash must be the
// 32 zero bytes ARM's reference host writes (sdm_token.c
// psa_adac_sign_token memsets it); the reference verifier leaves that
// check as a FIXME, the model makes it, so that a host sending anything
// else (SHA-256 of nothing, say) is caught here rather than on a chip.
func daTokenHeaderOK(tok []byte) bool {
	if len(tok) != daTokenSize || tok[0] != 1 || tok[1] != 0 || tok[2] != 1 || tok[3] != 0 {
		return false
	}
	if binary.LittleEndian.Uint32(tok[4:]) != 0 {
		return false
	}
	return bytes.Equal(tok[24:56], make([]byte, 32))
}

// daVerify checks an ECDSA P-256 signature r‖s over SHA-256(msg).
func daVerify(pub *ecdsa.PublicKey, msg, sig []byte) bool {
	if pub == nil || len(sig) != 64 {
		return false
	}
	h := sha256.Sum256(msg)
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	return ecdsa.Verify(pub, h[:], r, s)
}

// daGrantLocked acts on a granted permission once the host has read the
// answer: the session ends; a regression starts, or the boot goes on with
// debug open.
func (m *Model) daGrantLocked(perm uint32) {
	m.da.done = 0
	m.da.active = false
	switch perm {
	case PermFullRegression, PermTZRegression:
		m.da.keep.pending = &daPending{perm: perm, at: m.now + daRegressionTime}
	case PermOpenDebug:
		m.daOpened = true
		m.runSince = m.now
	}
}

// ---- what is provisioned ----

// daProvisionedLocked reports whether valid DA data is in place: an OBK
// record whose integrity hash matches (as the ROM decrypts it), or the
// password hash in OTP on the H503.
func (m *Model) daProvisionedLocked() bool {
	if !m.line.OBK {
		return m.otpWritten[0]
	}
	if len(m.obkDA) != OBKDASize {
		return false
	}
	sum := sha256.Sum256(m.obkDA[32:])
	return bytes.Equal(sum[:], m.obkDA[:32])
}

// daSecretHashLocked is the provisioned password or root-key hash.
func (m *Model) daSecretHashLocked() []byte {
	if !m.line.OBK {
		h := make([]byte, 0, DAHashSize)
		for i := 0; i < DAHashSize/2; i++ {
			h = binary.LittleEndian.AppendUint16(h, m.otp[i])
		}
		return h
	}
	if len(m.obkDA) != OBKDASize {
		return nil
	}
	return m.obkDA[32:64]
}

// daPermissionWordLocked is the provisioned permission word (OBK), or the
// H503's fixed one (chosen.go).
func (m *Model) daPermissionWordLocked() uint32 {
	if !m.line.OBK {
		return h503DAPermissions
	}
	if len(m.obkDA) != OBKDASize {
		return 0
	}
	return binary.LittleEndian.Uint32(m.obkDA[64:])
}
