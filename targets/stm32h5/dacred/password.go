package dacred

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
)

// EncodePasswordFile returns ST's password file: one ST password TLV
// {u16 0, u16 0x8000, u32 length} followed by the password, unpadded (the
// CubeH5 sample is 8 + 16 bytes).
func EncodePasswordFile(password []byte) []byte {
	return AppendTLV(nil, TypePassword, password, false)
}

// DecodePasswordFile returns the password a password file carries.
func DecodePasswordFile(b []byte) ([]byte, error) {
	if len(b) > MaxPasswordFileSize {
		return nil, fmt.Errorf("password file of %d bytes: ST's password file is at most %d (an 8-byte header and up to %d bytes of password): %w", len(b), MaxPasswordFileSize, maxPasswordLength, ErrFormat)
	}
	items, err := TLVList{Max: maxTLVs}.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("password file: %w", err)
	}
	if len(items) != 1 || items[0].Type != TypePassword {
		return nil, fmt.Errorf("password file: want one ST password TLV (type 0x8000), found %d TLVs: %w", len(items), ErrFormat)
	}
	pw := items[0].Value // a copy
	if len(pw) == 0 || len(pw) > maxPasswordLength {
		return nil, fmt.Errorf("password file: password of %d bytes, want 1 to %d: %w", len(pw), maxPasswordLength, ErrFormat)
	}
	return pw, nil
}

// PasswordHash is the SHA-256 the chip keeps of a password.
func PasswordHash(password []byte) [32]byte { return sha256.Sum256(password) }

// passwordAlphabet is what random passwords are made of (printable, easy
// to type back).
const passwordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

// RandomPassword returns a 16-character password (ST's size); seed, when
// not nil, makes it deterministic (simulated boards).
func RandomPassword(seed []byte) ([]byte, error) {
	var raw [16]byte
	if seed != nil {
		h := sha256.Sum256(append([]byte("stprobe DA password "), seed...))
		copy(raw[:], h[:])
	} else if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("making a random password: %w", err)
	}
	pw := make([]byte, len(raw))
	for i, c := range raw {
		pw[i] = passwordAlphabet[int(c)%len(passwordAlphabet)]
	}
	return pw, nil
}
