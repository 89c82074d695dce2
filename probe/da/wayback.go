package da

import (
	"bytes"
	"crypto/sha256"
	"fmt"

	"github.com/stprobe/stprobe/guarded"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32h5/dacred"
)

// Mismatch is one reason the way back is not proven, in plain words, with
// the fix (guarded.Mismatch).
type Mismatch = guarded.Mismatch

// Names of the checks, as Mismatch.Check carries them.
const (
	CheckOBKFile            = "obk-file"            // no file, or not an .obk file
	CheckOBKSize            = "obk-size"            // not 12 + 96 bytes
	CheckOBKDestination     = "obk-destination"     // not the DA record's address
	CheckOBKEncryption      = "obk-encryption"      // DoEncryption wrong for the part
	CheckOBKHash            = "obk-hash"            // payload integrity hash wrong
	CheckOBKPermission      = "obk-permission"      // permission word lacks the regression
	CheckOTPImage           = "otp-image"           // H503 OTP image not a 32-byte hash
	CheckCredentials        = "credentials"         // none given
	CheckCredentialsMatch   = "credentials-match"   // their hash is not the file's
	CheckChain              = "chain"               // chain broken or key not the leaf's
	CheckChainPermission    = "chain-permission"    // a certificate withholds the permission
	CheckChainSoC           = "chain-soc"           // a certificate is for another chip
	CheckMethodTZEN         = "method-tzen"         // method does not fit TrustZone
	CheckPasswordPermission = "password-permission" // password method asked for more than full regression
	CheckDiscovery          = "discovery"           // no discovery of the chip
	CheckPart               = "part"                // the chip is not the part the file is for
	CheckChipProvisioned    = "chip-provisioned"    // the chip does not report DA provisioned
	CheckChipPermission     = "chip-permission"     // the chip's permission mask lacks it
	CheckChipRecord         = "chip-record"         // the record read from the chip differs
	CheckTarget             = "target"              // the state planned has no way back at all
	CheckPartUnsettled      = "part-unsettled"      // a fact of the part's DA no public source settles
)

// CheckOBK decodes an .obk file and checks it against part: size,
// destination, encryption flag, payload hash, and, for each permission in
// need, the permission word. An empty list means the file is good.
func CheckOBK(file []byte, part stm32h5.Part, need ...Permission) []Mismatch {
	var out []Mismatch
	add := func(check, problem, fix string) {
		out = append(out, Mismatch{Check: check, Problem: problem, Fix: fix})
	}
	regen := fmt.Sprintf("make the file again for this part (stprobe da make-password or make-certs --part %s)", part.Name)
	if !part.OBK {
		add(CheckOBKFile, fmt.Sprintf("the %s keeps its DA password hash in OTP, not in an .obk file", part.Name), "use the OTP image make-password writes ("+dacred.OTPImageFile+")")
		return out
	}
	if len(file) == 0 {
		add(CheckOBKFile, "no .obk file was given", "give the .obk file that was provisioned ("+dacred.PasswordOBKFile+" or "+dacred.CertOBKFile+")")
		return out
	}
	if len(file) < stm32h5.OBKHeaderSize {
		add(CheckOBKFile, fmt.Sprintf("the file is %d bytes, too short for the 12-byte .obk header", len(file)), regen)
		return out
	}
	f, err := dacred.DecodeOBK(file)
	if f == nil {
		add(CheckOBKFile, "the file is not an .obk file: "+err.Error(), regen)
		return out
	}
	if len(file) != stm32h5.OBKFileSize || f.Size != stm32h5.OBKDASize {
		add(CheckOBKSize, fmt.Sprintf("the file is %d bytes and its header announces %d payload bytes; a DA .obk is %d bytes with a %d-byte record, and the ROM refuses other sizes (RSSLIB_SETOBKEY_BAD_SIZE)",
			len(file), f.Size, stm32h5.OBKFileSize, stm32h5.OBKDASize), regen)
	}
	if f.Dest != stm32h5.OBKDAAddr {
		add(CheckOBKDestination, fmt.Sprintf("the file writes to 0x%08X, not to the DA record at 0x%08X", f.Dest, uint32(stm32h5.OBKDAAddr)), regen)
	}
	switch {
	case part.Crypto && f.Encrypt != 1:
		add(CheckOBKEncryption, fmt.Sprintf("the %s stores OBK data encrypted, but the file asks for no encryption (DoEncryption=%d): the chip would close fine and never regress", part.Name, f.Encrypt), regen)
	case !part.Crypto && f.Encrypt != 0:
		add(CheckOBKEncryption, fmt.Sprintf("the %s has no DHUK to encrypt with, but the file asks for encryption (DoEncryption=%d); it is a file for a crypto part (H533/H573)", part.Name, f.Encrypt), regen)
	}
	if len(f.Payload) != stm32h5.OBKDASize {
		return out
	}
	rec, _ := dacred.DecodeRecord(f.Payload)
	if !rec.IntegrityOK {
		add(CheckOBKHash, "the record's first 32 bytes are not the SHA-256 of the rest: the ROM would report it not provisioned (0xF5F5F5F5)", regen)
	}
	for _, p := range need {
		if rec.Permissions&p.Bit() == 0 {
			add(CheckOBKPermission, fmt.Sprintf("the permission word 0x%08X does not allow %s (bit %d)", rec.Permissions, p.Title(), bitIndex(p.Bit())),
				fmt.Sprintf("make the file with a permission word that includes bit %d (ST's default 0x%08X does)", bitIndex(p.Bit()), uint32(stm32h5.DefaultDAPermissions)))
		}
	}
	return out
}

// WayBack is what ProveWayBack checks: the file provisioned, the
// credentials the user will regress with, the chip as it will be closed.
type WayBack struct {
	// Part is the chip's part, TZEN the TrustZone byte it will be closed
	// with (TZENAbsent on the H503).
	Part stm32h5.Part
	TZEN targets.TZEN
	// OBK is the .obk file provisioned (the H503: the OTP image).
	OBK []byte
	// Credentials are what the user will regress with.
	Credentials Credentials
	// Permission is the regression the user will need (zero: full).
	Permission Permission
	// Target is the product state the plan goes to (zero: not checked).
	Target targets.ProductState
	// Discovery is the chip's discovery after provisioning (nil: not run).
	Discovery *Discovery
	// Record is the 96-byte DA record read from the chip, or the H503's
	// 32-byte OTP hash; nil where unreadable.
	Record []byte
}

// ProveWayBack checks that the chip, once closed, can be regressed with
// w.Credentials: every field of the file against the part, the
// credentials against the file, the method against TrustZone, and the chip
// itself (discovery reports DA provisioned; where the record is readable it
// matches). It returns every mismatch; an empty list is the proof.
func ProveWayBack(w WayBack) []Mismatch {
	var out []Mismatch
	add := func(check, problem, fix string) {
		out = append(out, Mismatch{Check: check, Problem: problem, Fix: fix})
	}
	part, perm, c := w.Part, w.Permission, w.Credentials
	if part.Unsettled != "" {
		add(CheckPartUnsettled, "the way back of an "+part.Name+" cannot be proven: "+part.Unsettled,
			"none from stprobe yet: keep the chip in PROVISIONING, or close it knowing it may never regress (--override-brick), ideally after closing and regressing a spare "+part.Name+" with the same files")
	}
	switch {
	case w.Target == targets.StateLocked:
		add(CheckTarget, "LOCKED is final: debug authentication can never regress or open a LOCKED chip", "close to CLOSED (0x72) instead, which DA can regress")
	case perm == PermToTZ && w.Target.Valid() && w.Target != targets.StateTZClosed && w.Target != targets.StateClosed:
		add(CheckTarget, fmt.Sprintf("a regression to TZ_CLOSED works from TZ_CLOSED or CLOSED, not from %v", w.Target), "plan a full regression as the way back")
	}

	// The file, and the hash the chip will compare the credentials with.
	var secret []byte
	var fileRecord []byte
	if part.OBK {
		out = append(out, CheckOBK(w.OBK, part, perm)...)
		if f, err := dacred.DecodeOBK(w.OBK); err == nil && len(f.Payload) == stm32h5.OBKDASize {
			fileRecord = f.Payload
			secret = f.Payload[32:64]
		}
	} else {
		if len(w.OBK) != stm32h5.DAHashSize {
			add(CheckOTPImage, fmt.Sprintf("the OTP image is %d bytes; the H503 keeps the 32-byte SHA-256 of the password", len(w.OBK)), "make it again (stprobe da make-password --part H503)")
		} else {
			secret = w.OBK
		}
	}

	// The method against TrustZone.
	method := c.Method()
	switch {
	case method == "":
		add(CheckCredentials, "no credentials were given: without them the closed chip cannot be regressed", "give the password file (--password) or the leaf key and chain (--key, --cert) you will regress with")
	case method == "certificate" && !part.TrustZone:
		add(CheckMethodTZEN, fmt.Sprintf("the %s has no TrustZone and takes only a password", part.Name), "use make-password and the password file")
	case method == "password" && w.TZEN == targets.TZENEnabled:
		add(CheckMethodTZEN, "the password method works only with TrustZone off (TZEN=0xC3), and the chip will close with TZEN=0xB4: the password could never regress it", "set TZEN=0xC3 before closing, or provision certificates (make-certs) instead")
	case method == "certificate" && w.TZEN != targets.TZENEnabled:
		add(CheckMethodTZEN, fmt.Sprintf("the certificate method works only with TrustZone on (TZEN=0xB4), and the chip will close with TZEN %v", w.TZEN), "set TZEN=0xB4 before closing, or provision a password (make-password) instead")
	}
	if method == "password" && perm != PermFull {
		add(CheckPasswordPermission, fmt.Sprintf("the password method does only a full regression, not %s", perm.Title()), "plan a full regression, or use certificates with TrustZone on")
	}

	// The credentials against the file.
	if secret != nil {
		switch method {
		case "password":
			if h := sha256.Sum256(c.Password); !bytes.Equal(h[:], secret) {
				add(CheckCredentialsMatch, "the password's SHA-256 is not the hash the file provisions: the chip would answer UNAUTHORIZED", "give the password file made together with this .obk file, or provision the .obk made with this password")
			}
		case "certificate":
			if h := c.Chain[0].KeyHash(); !bytes.Equal(h[:], secret) {
				add(CheckCredentialsMatch, "the chain's root key is not the one whose hash the file provisions: the chip would answer UNAUTHORIZED", "give the chain made together with this .obk file, or provision the .obk made from this root key")
			}
		}
	}
	if method == "certificate" {
		out = append(out, checkChain(c, perm, part, w.Discovery)...)
	}

	// The chip.
	return append(out, checkChip(part, perm, w.Discovery, w.Record, fileRecord, secret)...)
}

// CheckOBKChip checks an .obk file (on the H503: its OTP image) against a
// chip: the file against the part (CheckOBK, the permissions in need), then
// the chip's discovery (d; nil when not run) and the DA record read from it
// (nil when unreadable) against the file.
func CheckOBKChip(file []byte, part stm32h5.Part, d *Discovery, record []byte, need ...Permission) []Mismatch {
	var out []Mismatch
	var fileRecord, secret []byte
	if part.OBK {
		out = CheckOBK(file, part, need...)
		if f, err := dacred.DecodeOBK(file); err == nil && len(f.Payload) == stm32h5.OBKDASize {
			fileRecord = f.Payload
		}
	} else if len(file) == stm32h5.DAHashSize {
		secret = file
	} else {
		out = append(out, Mismatch{Check: CheckOTPImage, Problem: fmt.Sprintf("the OTP image is %d bytes; the H503 keeps the 32-byte SHA-256 of the password", len(file)), Fix: "make it again (stprobe da make-password --part H503)"})
	}
	for _, p := range need {
		out = append(out, checkChip(part, p, d, record, fileRecord, secret)...)
	}
	if len(need) == 0 {
		out = append(out, checkChip(part, PermFull, d, record, fileRecord, secret)...)
	}
	return dedupe(out)
}

// dedupe drops repeated mismatches, keeping the order.
func dedupe(ms []Mismatch) []Mismatch {
	seen := map[Mismatch]bool{}
	var out []Mismatch
	for _, m := range ms {
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return out
}

// checkChip checks the chip: its discovery, and the record read from it
// against the file's (OBK parts) or the OTP image (secret, H503).
func checkChip(part stm32h5.Part, perm Permission, d *Discovery, record, fileRecord, secret []byte) []Mismatch {
	var out []Mismatch
	add := func(check, problem, fix string) {
		out = append(out, Mismatch{Check: check, Problem: problem, Fix: fix})
	}
	if d == nil {
		add(CheckDiscovery, "the chip's debug-authentication discovery was not run, so nothing shows the ROM accepted the file", "run da discover after provisioning (NRST must be wired)")
		return out
	}
	if d.SoCClass != uint32(part.DevID) {
		add(CheckPart, fmt.Sprintf("the chip reports SoC class 0x%03X, the files are for the %s (0x%03X)", d.SoCClass, part.Name, part.DevID), "make the files for the chip's part")
	}
	if !d.Provisioned() {
		add(CheckChipProvisioned, fmt.Sprintf("the chip reports DA not provisioned (integrity 0x%08X): it would close with no way back", d.Integrity),
			"provision the .obk file while in PROVISIONING (stprobe da provision), then check discovery reports 0xEAEAEAEA")
	} else if w := d.PermissionWord(); w&perm.Bit() == 0 {
		add(CheckChipPermission, fmt.Sprintf("the chip's permission mask 0x%08X does not allow %s", w, perm.Title()), "provision a file whose permission word includes it")
	}
	if record != nil {
		want := fileRecord
		if !part.OBK {
			want = secret
		}
		if want != nil && !bytes.Equal(record, want) {
			add(CheckChipRecord, "the DA record read from the chip differs from the file: the chip holds other credentials (or an unencrypted file on a crypto part)", "provision this file again in PROVISIONING and read it back")
		}
	}
	return out
}

// checkChain checks the certificate chain and the leaf key.
func checkChain(c Credentials, perm Permission, part stm32h5.Part, d *Discovery) []Mismatch {
	var out []Mismatch
	add := func(check, problem, fix string) {
		out = append(out, Mismatch{Check: check, Problem: problem, Fix: fix})
	}
	fix := "make the certificates again (stprobe da make-certs) and provision the matching DA_Config.obk"
	chain := c.Chain
	if len(chain) < 2 {
		add(CheckChain, fmt.Sprintf("the chain has %d certificate(s); it needs a root and a leaf", len(chain)), fix)
		return out
	}
	for i, cert := range chain {
		role := dacred.RoleIntermediate
		switch i {
		case 0:
			role = dacred.RoleRoot
		case len(chain) - 1:
			role = dacred.RoleLeaf
		}
		if cert.Role != role {
			add(CheckChain, fmt.Sprintf("certificate %d has role %d where the chain needs role %d", i+1, cert.Role, role), fix)
		}
		issuer := chain[max(i-1, 0)]
		pub, err := issuer.Key()
		if err != nil || !cert.SignedBy(pub) {
			add(CheckChain, fmt.Sprintf("certificate %d is not signed by the key of certificate %d (tampered, or from another chain)", i+1, max(i, 1)), fix)
		}
		if cert.PermissionWord()&perm.Bit() == 0 {
			add(CheckChainPermission, fmt.Sprintf("certificate %d does not allow %s (mask 0x%08X)", i+1, perm.Title(), cert.PermissionWord()), fix)
		}
		if cert.SoCClass != 0 && cert.SoCClass != uint32(part.DevID) {
			add(CheckChainSoC, fmt.Sprintf("certificate %d is for SoC class 0x%03X, not the %s (0x%03X)", i+1, cert.SoCClass, part.Name, part.DevID), fix)
		}
		if d != nil && len(d.SoCID) == 16 && cert.SoCID != [16]byte{} && !bytes.Equal(cert.SoCID[:], d.SoCID) {
			add(CheckChainSoC, fmt.Sprintf("certificate %d is for another chip (SoC ID %X)", i+1, cert.SoCID), fix)
		}
	}
	leafPub, err := dacred.PublicKeyBytes(&c.Key.PublicKey)
	if err != nil || leafPub != chain[len(chain)-1].PublicKey {
		add(CheckChain, "the key is not the leaf certificate's key: the token it signs would be refused", "give the leaf key made with this chain ("+dacred.LeafKeyFile+")")
	}
	return out
}

// Prove runs ProveWayBack on w and says what it checked: the proof a plan
// that closes the chip is given. derr is why the chip's discovery failed
// (nil when it ran or was not tried).
func Prove(w WayBack, derr error) *guarded.WayBackProof {
	proof := &guarded.WayBackProof{Method: w.Credentials.Method()}
	file := "OTP image"
	if w.Part.OBK {
		file = ".obk"
	}
	proof.Checked = append(proof.Checked, fmt.Sprintf("the %s file against the %s", file, w.Part.Name),
		"the "+proof.Method+" against the file", fmt.Sprintf("the method against TZEN %v", w.TZEN))
	if w.Discovery != nil {
		proof.Checked = append(proof.Checked, "the chip's discovery: "+w.Discovery.String())
	}
	if w.Record != nil {
		proof.Checked = append(proof.Checked, "the DA record read from the chip against the file")
	}
	for _, m := range ProveWayBack(w) {
		if m.Check == CheckDiscovery && derr != nil {
			m.Problem += " (" + derr.Error() + ")"
		}
		proof.Mismatches = append(proof.Mismatches, m)
	}
	return proof
}
