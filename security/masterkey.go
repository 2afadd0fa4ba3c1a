package security

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/emmansun/gmsm/sm3"
)

// MasterKeySize is the size of the master key: one SM4 key, 128 bits.
const MasterKeySize = 16

// ErrKeyNotSet is returned by LoadMasterKey and LoadPseudonymKey when neither
// NAME nor NAME_FILE is set, so that a caller (the demo) can decide to
// generate a key instead.
var ErrKeyNotSet = errors.New("security: key not configured")

// MasterKey is the key that wraps the data keys of a Keyring. It never leaves
// the process except through WriteMasterKeyFile; every fmt verb prints it
// redacted, so a stray log line cannot reveal it.
type MasterKey struct {
	b []byte // MasterKeySize bytes; nil in the zero value
}

// GenerateMasterKey returns a new random master key.
func GenerateMasterKey() (MasterKey, error) {
	b := make([]byte, MasterKeySize)
	if _, err := rand.Read(b); err != nil {
		return MasterKey{}, fmt.Errorf("security: generating master key: %w", err)
	}
	return MasterKey{b: b}, nil
}

// ParseMasterKey decodes a master key written as 32 hex digits or as base64
// (standard or URL alphabet, padded or not) of 16 bytes. Surrounding white
// space is ignored. The error says what was wrong without repeating the input.
func ParseMasterKey(s string) (MasterKey, error) {
	b, err := decodeKeyText(s, MasterKeySize)
	if err != nil {
		return MasterKey{}, fmt.Errorf("security: master key: %w", err)
	}
	return MasterKey{b: b}, nil
}

// LoadMasterKey reads the master key named name (e.g. GOVSURVEY_MASTER_KEY)
// with the *_FILE convention: the variable name holds the key itself, or
// name+"_FILE" holds the path of a file containing it; exactly one may be
// set. lookup is os.LookupEnv in production, a map in tests. It returns
// ErrKeyNotSet when neither is set.
func LoadMasterKey(lookup func(string) (string, bool), name string) (MasterKey, error) {
	b, err := loadKeyText(lookup, name, MasterKeySize)
	if err != nil {
		return MasterKey{}, err
	}
	return MasterKey{b: b}, nil
}

// WriteMasterKeyFile writes k as hex to a new file at path, readable by the
// owner only. It refuses to overwrite an existing file: losing a master key
// makes every encrypted answer unreadable.
func WriteMasterKeyFile(path string, k MasterKey) error {
	if !k.valid() {
		return errors.New("security: write master key: empty key")
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("security: write master key: %w", err)
	}
	buf := make([]byte, hex.EncodedLen(len(k.b))+1)
	hex.Encode(buf, k.b)
	buf[len(buf)-1] = '\n'
	_, werr := f.Write(buf)
	clear(buf)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("security: write master key: %w", werr)
	}
	return nil
}

// CheckValue is a public fingerprint of the key (16 hex digits of a keyed
// SM3 hash), for operators to tell which master key wrapped a keyring. It
// reveals nothing usable about the key.
func (k MasterKey) CheckValue() string {
	if !k.valid() {
		return ""
	}
	return hex.EncodeToString(k.derive(labelCheck)[:8])
}

// Destroy overwrites the key bytes. The key is unusable afterwards.
func (k *MasterKey) Destroy() {
	clear(k.b)
	k.b = nil
}

// String, GoString and Format redact the key for every fmt verb.
func (k MasterKey) String() string   { return "MasterKey(redacted)" }
func (k MasterKey) GoString() string { return "security.MasterKey(redacted)" }

// Format implements fmt.Formatter so that %x, %d and friends cannot print
// the bytes either.
func (k MasterKey) Format(f fmt.State, verb rune) { fmt.Fprint(f, "MasterKey(redacted)") }

func (k MasterKey) valid() bool { return len(k.b) == MasterKeySize }

func (k MasterKey) clone() MasterKey {
	if k.b == nil {
		return MasterKey{}
	}
	return MasterKey{b: append([]byte(nil), k.b...)}
}

// Sub-key labels. The master key is never used directly: each use gets its
// own key derived as HMAC-SM3(master, label), so the wrap key, the keyring
// MAC key and the check value are independent.
const (
	labelWrap  = "govsurvey/keyring/v1/wrap"
	labelMAC   = "govsurvey/keyring/v1/mac"
	labelCheck = "govsurvey/keyring/v1/check"
)

func (k MasterKey) derive(label string) []byte {
	m := hmac.New(sm3.New, k.b)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// loadKeyText implements the NAME / NAME_FILE convention for a secret of
// exactly size bytes.
func loadKeyText(lookup func(string) (string, bool), name string, size int) ([]byte, error) {
	fileVar := name + "_FILE"
	direct, hasDirect := lookup(name)
	path, hasFile := lookup(fileVar)
	hasDirect = hasDirect && strings.TrimSpace(direct) != ""
	hasFile = hasFile && strings.TrimSpace(path) != ""
	switch {
	case hasDirect && hasFile:
		return nil, fmt.Errorf("security: both %s and %s are set; set only one", name, fileVar)
	case hasDirect:
		b, err := decodeKeyText(direct, size)
		if err != nil {
			return nil, fmt.Errorf("security: %s: %w", name, err)
		}
		return b, nil
	case hasFile:
		path = strings.TrimSpace(path)
		raw, err := os.ReadFile(path)
		if err != nil {
			// The os error names the path and the cause, never the content.
			return nil, fmt.Errorf("security: %s: %w", fileVar, err)
		}
		b, err := decodeKeyText(string(raw), size)
		clear(raw)
		if err != nil {
			return nil, fmt.Errorf("security: %s: file %s: %w", fileVar, path, err)
		}
		return b, nil
	default:
		return nil, fmt.Errorf("%w: set %s or %s", ErrKeyNotSet, name, fileVar)
	}
}

// decodeKeyText decodes hex or base64 key text of exactly size bytes. Its
// errors describe lengths only, never the text.
func decodeKeyText(s string, size int) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty")
	}
	if len(s) == hex.EncodedLen(size) {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(b) == size {
			return b, nil
		}
		n := len(b)
		clear(b)
		return nil, fmt.Errorf("want %d bytes (%d hex digits or base64), got %d characters decoding to %d bytes", size, hex.EncodedLen(size), len(s), n)
	}
	return nil, fmt.Errorf("want %d bytes as %d hex digits or base64, got %d characters that are neither", size, hex.EncodedLen(size), len(s))
}
