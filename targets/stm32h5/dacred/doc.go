// Package dacred holds the files of STM32H5 debug authentication and makes
// them: ST's password file (an ST password TLV), PSA-ADAC binary
// certificates and ST's base64 chain file, the PSA binary token, the ECDSA
// P-256 keys in PEM, the .obk file that provisions the DA record, and the
// H503's OTP image. File names are the ones ST's scripts and
// STM32CubeProgrammer use, so the files work with either tool. The
// PSA-ADAC TLV, the form of these files and of the DA mailbox payloads,
// has its one encoder and decoder here (AppendTLV, TLVList), for the host
// side and the files alike.
//
// Every decoder takes untrusted bytes and never panics; errors wrap
// ErrFormat and say what is wrong and what to do.
package dacred

import "errors"

// ErrFormat is wrapped by every decoding error.
var ErrFormat = errors.New("not a valid debug-authentication file")

// File names, as ST's CubeH5 DA scripts name them.
const (
	PasswordFile      = "password.bin"              // ST password TLV
	PasswordOBKFile   = "DA_ConfigWithPassword.obk" // DA record holding the password hash
	OTPImageFile      = "board_password.bin"        // H503: SHA-256 of the password, for OTP
	CertOBKFile       = "DA_Config.obk"             // DA record holding the root-key hash
	RootKeyFile       = "key_1_root.pem"
	RootPubKeyFile    = "key_1_root_pub.pem"
	IntermediateKey   = "key_2_intermediate.pem"
	LeafKeyFile       = "key_3_leaf.pem"
	RootCertFile      = "cert_root.b64"
	IntermediateCert  = "cert_intermediate.b64"
	LeafCertFile      = "cert_leaf.b64"
	IntermediateChain = "cert_intermediate_chain.b64" // root and intermediate
	ChainFile         = "cert_leaf_chain.b64"         // root, intermediate and leaf
	maxTLVs           = 16
	tlvHeaderSize     = 8
	maxPasswordLength = 64
)

// Bounds of each file's format: what a file can hold at most, so that a
// larger one (or /dev/zero) is refused before it is read whole.
const (
	// MaxPasswordFileSize is an ST password TLV: the 8-byte header and at
	// most 64 bytes of password.
	MaxPasswordFileSize = tlvHeaderSize + maxPasswordLength
	// MaxKeyFileSize bounds a PEM key file (a P-256 key in PKCS #8 is 241
	// bytes; SEC 1 with an EC PARAMETERS block about 300).
	MaxKeyFileSize = 8 << 10
	// MaxChainFileSize bounds a certificate file: MaxChainCerts
	// certificates as TLVs, in base64 with line breaks, fit well within it.
	MaxChainFileSize = 4 << 10
	// MaxOBKFileSize bounds an .obk file: at most the whole OBK area.
	MaxOBKFileSize = maxOBKFile
)

// TLV types used in files (PSA-ADAC and ST).
const (
	TypeToken    uint16 = 0x0200 // PSA binary token
	TypeCert     uint16 = 0x0201 // PSA binary certificate
	TypePassword uint16 = 0x8000 // ST password
)
