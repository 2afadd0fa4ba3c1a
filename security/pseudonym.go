package security

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"hash"
	"sync"

	"github.com/emmansun/gmsm/sm3"
)

// Purpose separates pseudonym domains: the same value pseudonymised for two
// purposes gives unrelated results, so a rate-limit key cannot be joined to
// a stored client key.
type Purpose string

const (
	// PurposeClient is the pseudonymous respondent/device key stored with a
	// response (the `client` column).
	PurposeClient Purpose = "client"
	// PurposeRateLimit keys anti-abuse and login-throttling counters.
	PurposeRateLimit Purpose = "ratelimit"
)

const (
	// PseudonymKeySize is the size of a pseudonym key: 256 bits.
	PseudonymKeySize = 32
	// PseudonymLen is the length of a pseudonym: the first 160 bits of the
	// HMAC-SM3 in lower-case base32 without padding, 32 characters. 160 bits
	// keep accidental collisions negligible at billions of values.
	PseudonymLen   = 32
	pseudonymBytes = 20
)

// PseudonymKey is the secret behind pseudonyms. It must stay the same for
// the life of a survey (changing it changes every client key and defeats
// duplicate detection), which is why it is separate from the master key and
// the rotating data keys. Like MasterKey it prints redacted.
type PseudonymKey struct {
	b []byte
}

// GeneratePseudonymKey returns a new random pseudonym key.
func GeneratePseudonymKey() (PseudonymKey, error) {
	b := make([]byte, PseudonymKeySize)
	if _, err := rand.Read(b); err != nil {
		return PseudonymKey{}, fmt.Errorf("security: generating pseudonym key: %w", err)
	}
	return PseudonymKey{b: b}, nil
}

// LoadPseudonymKey reads a pseudonym key of PseudonymKeySize bytes (hex or
// base64) from name or name+"_FILE", like LoadMasterKey.
func LoadPseudonymKey(lookup func(string) (string, bool), name string) (PseudonymKey, error) {
	b, err := loadKeyText(lookup, name, PseudonymKeySize)
	if err != nil {
		return PseudonymKey{}, err
	}
	return PseudonymKey{b: b}, nil
}

// pseudonymKeyAAD binds a sealed pseudonym key to its role.
const pseudonymKeyAAD = "govsurvey/pseudonym-key/v1"

// SealPseudonymKey encrypts the key with the keyring so the store can keep
// it next to the wrapped keyring; rotation and rewrapping keep it readable.
func SealPseudonymKey(kr *Keyring, k PseudonymKey) ([]byte, error) {
	if len(k.b) != PseudonymKeySize {
		return nil, errors.New("security: seal pseudonym key: empty key")
	}
	return kr.Seal(k.b, []byte(pseudonymKeyAAD))
}

// OpenPseudonymKey decrypts a key sealed by SealPseudonymKey.
func OpenPseudonymKey(kr *Keyring, sealed []byte) (PseudonymKey, error) {
	b, err := kr.Open(sealed, []byte(pseudonymKeyAAD))
	if err != nil {
		return PseudonymKey{}, fmt.Errorf("security: open pseudonym key: %w", err)
	}
	if len(b) != PseudonymKeySize {
		clear(b)
		return PseudonymKey{}, errors.New("security: open pseudonym key: wrong size")
	}
	return PseudonymKey{b: b}, nil
}

// Destroy overwrites the key bytes.
func (k *PseudonymKey) Destroy() {
	clear(k.b)
	k.b = nil
}

// String, GoString and Format redact the key for every fmt verb.
func (k PseudonymKey) String() string                { return "PseudonymKey(redacted)" }
func (k PseudonymKey) GoString() string              { return "security.PseudonymKey(redacted)" }
func (k PseudonymKey) Format(f fmt.State, verb rune) { fmt.Fprint(f, "PseudonymKey(redacted)") }

// Lower case: the standard base32 alphabet, lowered, as earlier versions
// wrote it through strings.ToLower (TestPseudonymConstruction).
var pseudonymEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Pseudonym returns the pseudonym of value for purpose:
//
//	lower(base32(HMAC-SM3(key, uvarint(len(label)) label uvarint(len(purpose)) purpose value)[:20]))
//
// with label "govsurvey/pseudonym/v1". The raw value is not kept anywhere.
// Callers normalise value first (e.g. an IP address in its canonical text
// form, or its /64 for IPv6) because different spellings give different
// pseudonyms. It panics on a zero PseudonymKey: hashing with an empty key
// would silently produce reversible pseudonyms.
func Pseudonym(key PseudonymKey, purpose Purpose, value string) string {
	if len(key.b) == 0 {
		panic("security: Pseudonym with a zero PseudonymKey")
	}
	pool := macPool(key.b)
	m := pool.Get().(hash.Hash)
	m.Reset()
	m.Write(lengthPrefixed("govsurvey/pseudonym/v1", string(purpose)))
	m.Write([]byte(value))
	var buf [sm3.Size]byte
	sum := m.Sum(buf[:0])
	pool.Put(m)
	return pseudonymEncoding.EncodeToString(sum[:pseudonymBytes])
}

// macPools keeps, per key, HMAC-SM3 states to reuse: a reset HMAC
// restores its keyed inner and outer states instead of hashing the key
// pads again, which was half the cost of a pseudonym (two a submission).
// Keys are few (one per installation and purpose family), so the map
// stays small; it holds the key bytes the caller's PseudonymKey holds.
var macPools sync.Map // string(key) → *sync.Pool of hash.Hash

func macPool(key []byte) *sync.Pool {
	if p, ok := macPools.Load(string(key)); ok {
		return p.(*sync.Pool)
	}
	k := bytes.Clone(key)
	p, _ := macPools.LoadOrStore(string(k), &sync.Pool{New: func() any { return hmac.New(sm3.New, k) }})
	return p.(*sync.Pool)
}
