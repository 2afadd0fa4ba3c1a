package security

import (
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
)

// Sealed value layout (SealFormatV1):
//
//	version (1 byte, 0x01) | data key id (4 bytes, big endian) | nonce (12) | SM4-GCM ciphertext and 16-byte tag
//
// The version byte and key id are authenticated too: GCM's additional data is
// the 5-byte header followed by the caller's aad.
const (
	SealFormatV1 = 1

	// SealOverhead is how many bytes Seal adds to a plaintext.
	SealOverhead = sealHeaderSize + gcmNonceSize + gcmTagSize

	dataKeySize    = 16 // SM4
	gcmNonceSize   = 12
	gcmTagSize     = 16
	sealHeaderSize = 1 + 4
	wrappedKeySize = gcmNonceSize + dataKeySize + gcmTagSize
)

var (
	// ErrDecrypt means a sealed value could not be opened: it was altered,
	// or it is being opened with the wrong aad (moved to another response or
	// field), or it is not a sealed value at all.
	ErrDecrypt = errors.New("security: cannot decrypt: altered data or wrong context")
	// ErrUnknownDataKey means a sealed value names a data key the keyring
	// does not hold (a keyring from another installation, or an old one).
	ErrUnknownDataKey = errors.New("security: data key not in keyring")
	// ErrWrongMasterKey means a wrapped keyring was wrapped by another master key.
	ErrWrongMasterKey = errors.New("security: keyring: wrong master key")
	// ErrKeyringDamaged means a wrapped keyring is truncated or was altered.
	ErrKeyringDamaged = errors.New("security: keyring: damaged or altered")
)

// Keyring holds the data keys that encrypt answers at rest. Each data key is
// a random 128-bit SM4 key with a small integer id; the newest one (current)
// seals new values, and all of them open old values, so rotating never
// requires re-encrypting stored data. At rest the data keys exist only
// wrapped by the master key (see MarshalWrapped). A Keyring is safe for
// concurrent use.
//
// Key wrap: each data key is sealed with SM4-GCM under a wrap key derived
// from the master key (HMAC-SM3(master, "govsurvey/keyring/v1/wrap"), first
// 16 bytes), with a random nonce and the key's id and creation time as
// additional data. GCM rather than SM4-KW (RFC 3394 style) because it needs no
// second mode implementation and its random nonce is harmless at a few keys
// per keyring.
type Keyring struct {
	mu      sync.RWMutex
	master  MasterKey
	current uint32
	keys    map[uint32]*dataKey
}

type dataKey struct {
	id      uint32
	created time.Time // UTC, whole seconds: the wrapped form keeps seconds
	wrapped []byte    // wrappedKeySize bytes under the keyring's master key
	aead    cipher.AEAD
}

// DataKeyInfo describes one data key, for `govsurvey keys list`.
type DataKeyInfo struct {
	ID      uint32
	Created time.Time
	Current bool
}

// NewKeyring returns a keyring with one fresh data key, wrapped by master.
// The keyring keeps its own copy of master.
func NewKeyring(master MasterKey) (*Keyring, error) {
	if !master.valid() {
		return nil, errors.New("security: keyring: empty master key")
	}
	k := &Keyring{master: master.clone(), keys: map[uint32]*dataKey{}}
	if _, err := k.Rotate(); err != nil {
		k.master.Destroy()
		return nil, err
	}
	return k, nil
}

// Rotate makes a new data key and makes it current: values sealed from now
// on use it, values sealed before still open with their own key. The caller
// must store MarshalWrapped afterwards. It returns the new key's id.
func (k *Keyring) Rotate() (uint32, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var next uint32 = 1
	for id := range k.keys {
		if id >= next {
			next = id + 1
		}
	}
	if next == 0 || next == math.MaxUint32 {
		return 0, errors.New("security: keyring: key ids exhausted")
	}
	raw := make([]byte, dataKeySize)
	defer clear(raw)
	if _, err := rand.Read(raw); err != nil {
		return 0, fmt.Errorf("security: keyring: new data key: %w", err)
	}
	created := time.Now().UTC().Truncate(time.Second)
	wrapped, err := wrapDataKey(k.master, next, created, raw)
	if err != nil {
		return 0, err
	}
	aead, err := newSM4GCM(raw)
	if err != nil {
		return 0, err
	}
	k.keys[next] = &dataKey{id: next, created: created, wrapped: wrapped, aead: aead}
	k.current = next
	return next, nil
}

// Rewrap wraps every data key under newMaster instead of the current master
// key, without touching any sealed value. On success the keyring uses (a copy
// of) newMaster from then on and the caller must store MarshalWrapped; on
// error nothing changed.
func (k *Keyring) Rewrap(newMaster MasterKey) error {
	if !newMaster.valid() {
		return errors.New("security: keyring: rewrap: empty master key")
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	rewrapped := make(map[uint32][]byte, len(k.keys))
	for id, dk := range k.keys {
		raw, err := unwrapDataKey(k.master, id, dk.created, dk.wrapped)
		if err != nil {
			return fmt.Errorf("security: keyring: rewrap key %d: %w", id, err)
		}
		w, err := wrapDataKey(newMaster, id, dk.created, raw)
		clear(raw)
		if err != nil {
			return err
		}
		rewrapped[id] = w
	}
	for id, w := range rewrapped {
		k.keys[id].wrapped = w
	}
	k.master.Destroy()
	k.master = newMaster.clone()
	return nil
}

// Seal encrypts plaintext with the current data key. aad is authenticated
// but not stored: Open must be given the same aad, so a value sealed with
// FieldAAD for one response and field cannot be opened as another's.
func (k *Keyring) Seal(plaintext, aad []byte) ([]byte, error) {
	k.mu.RLock()
	dk := k.keys[k.current]
	k.mu.RUnlock()
	if dk == nil {
		return nil, errors.New("security: keyring: no current data key")
	}
	out := make([]byte, sealHeaderSize+gcmNonceSize, SealOverhead+len(plaintext))
	out[0] = SealFormatV1
	binary.BigEndian.PutUint32(out[1:5], dk.id)
	nonce := out[sealHeaderSize : sealHeaderSize+gcmNonceSize]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("security: seal: nonce: %w", err)
	}
	return dk.aead.Seal(out, nonce, plaintext, sealAD(out[:sealHeaderSize], aad)), nil
}

// Open decrypts a value made by Seal with the same aad. It fails with
// ErrDecrypt when the value was altered or aad differs, and with
// ErrUnknownDataKey when the keyring lacks the value's data key.
func (k *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	id, err := SealedKeyID(sealed)
	if err != nil {
		return nil, err
	}
	k.mu.RLock()
	dk := k.keys[id]
	k.mu.RUnlock()
	if dk == nil {
		return nil, fmt.Errorf("%w: key %d", ErrUnknownDataKey, id)
	}
	nonce := sealed[sealHeaderSize : sealHeaderSize+gcmNonceSize]
	pt, err := dk.aead.Open(nil, nonce, sealed[sealHeaderSize+gcmNonceSize:], sealAD(sealed[:sealHeaderSize], aad))
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// SealedKeyID returns the id of the data key that sealed a value, so that a
// re-encryption job can find values still under an old key.
func SealedKeyID(sealed []byte) (uint32, error) {
	if len(sealed) < SealOverhead {
		return 0, fmt.Errorf("%w: too short to be a sealed value", ErrDecrypt)
	}
	if sealed[0] != SealFormatV1 {
		return 0, fmt.Errorf("%w: unknown format %d", ErrDecrypt, sealed[0])
	}
	return binary.BigEndian.Uint32(sealed[1:5]), nil
}

// CurrentKeyID is the id of the data key Seal uses.
func (k *Keyring) CurrentKeyID() uint32 {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current
}

// Keys lists the data keys, oldest first.
func (k *Keyring) Keys() []DataKeyInfo {
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := make([]DataKeyInfo, 0, len(k.keys))
	for _, dk := range k.keys {
		out = append(out, DataKeyInfo{ID: dk.id, Created: dk.created, Current: dk.id == k.current})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// MasterCheckValue is the CheckValue of the master key wrapping the keyring.
func (k *Keyring) MasterCheckValue() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.master.CheckValue()
}

// Destroy forgets the master key and the data keys; the keyring is unusable
// afterwards. (The SM4 key schedules inside the ciphers cannot be wiped from
// Go; dropping them lets the garbage collector reclaim them.)
func (k *Keyring) Destroy() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.master.Destroy()
	k.keys = map[uint32]*dataKey{}
	k.current = 0
}

// Wrapped keyring layout (version 1), all integers big endian:
//
//	"GSKR" | 0x01 | master check value (8) | current id (4) | key count (4)
//	| count × ( id (4) | created, Unix seconds (8) | wrapped key (44) )
//	| HMAC-SM3 over everything before it, keyed by the derived MAC key (32)
//
// The MAC makes removing a key, changing which key is current or splicing two
// keyrings detectable before any data is touched.
const (
	keyringMagic      = "GSKR"
	keyringVersion    = 1
	keyringHeaderSize = 4 + 1 + 8 + 4 + 4
	keyringEntrySize  = 4 + 8 + wrappedKeySize
	keyringMACSize    = sm3.Size
)

// MarshalWrapped returns the keyring with its data keys wrapped by the master
// key, for the store to keep. It holds no key in the clear.
func (k *Keyring) MarshalWrapped() []byte {
	k.mu.RLock()
	defer k.mu.RUnlock()
	ids := make([]uint32, 0, len(k.keys))
	for id := range k.keys {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	b := make([]byte, 0, keyringHeaderSize+len(ids)*keyringEntrySize+keyringMACSize)
	b = append(b, keyringMagic...)
	b = append(b, keyringVersion)
	b = append(b, k.master.derive(labelCheck)[:8]...)
	b = binary.BigEndian.AppendUint32(b, k.current)
	b = binary.BigEndian.AppendUint32(b, uint32(len(ids)))
	for _, id := range ids {
		dk := k.keys[id]
		b = binary.BigEndian.AppendUint32(b, id)
		b = binary.BigEndian.AppendUint64(b, uint64(dk.created.Unix()))
		b = append(b, dk.wrapped...)
	}
	return append(b, keyringMAC(k.master, b)...)
}

// LoadWrapped reads a keyring written by MarshalWrapped, unwrapping its data
// keys with master. It fails with ErrWrongMasterKey when master is not the
// key that wrapped it, and with ErrKeyringDamaged when the bytes were altered.
func LoadWrapped(master MasterKey, wrapped []byte) (*Keyring, error) {
	if !master.valid() {
		return nil, errors.New("security: keyring: empty master key")
	}
	if len(wrapped) < keyringHeaderSize+keyringMACSize || string(wrapped[:4]) != keyringMagic {
		return nil, fmt.Errorf("%w: not a wrapped keyring", ErrKeyringDamaged)
	}
	if wrapped[4] != keyringVersion {
		return nil, fmt.Errorf("%w: unknown keyring version %d", ErrKeyringDamaged, wrapped[4])
	}
	if have, want := wrapped[5:13], master.derive(labelCheck)[:8]; !hmac.Equal(have, want) {
		return nil, fmt.Errorf("%w: keyring was wrapped by master key %x, this one is %x", ErrWrongMasterKey, have, want)
	}
	body, mac := wrapped[:len(wrapped)-keyringMACSize], wrapped[len(wrapped)-keyringMACSize:]
	if !hmac.Equal(mac, keyringMAC(master, body)) {
		return nil, fmt.Errorf("%w: MAC mismatch", ErrKeyringDamaged)
	}
	current := binary.BigEndian.Uint32(body[13:17])
	count := binary.BigEndian.Uint32(body[17:21])
	if count == 0 || uint64(len(body)) != keyringHeaderSize+uint64(count)*keyringEntrySize {
		return nil, fmt.Errorf("%w: wrong length for %d keys", ErrKeyringDamaged, count)
	}
	k := &Keyring{master: master.clone(), current: current, keys: make(map[uint32]*dataKey, count)}
	for p := body[keyringHeaderSize:]; len(p) > 0; p = p[keyringEntrySize:] {
		id := binary.BigEndian.Uint32(p[0:4])
		created := time.Unix(int64(binary.BigEndian.Uint64(p[4:12])), 0).UTC()
		w := append([]byte(nil), p[12:keyringEntrySize]...)
		if _, dup := k.keys[id]; dup || id == 0 {
			k.Destroy()
			return nil, fmt.Errorf("%w: bad or repeated key id %d", ErrKeyringDamaged, id)
		}
		raw, err := unwrapDataKey(master, id, created, w)
		if err != nil {
			k.Destroy()
			return nil, fmt.Errorf("security: keyring: key %d: %w", id, err)
		}
		aead, err := newSM4GCM(raw)
		clear(raw)
		if err != nil {
			k.Destroy()
			return nil, err
		}
		k.keys[id] = &dataKey{id: id, created: created, wrapped: w, aead: aead}
	}
	if k.keys[current] == nil {
		k.Destroy()
		return nil, fmt.Errorf("%w: current key %d missing", ErrKeyringDamaged, current)
	}
	return k, nil
}

// FieldAAD is the additional data that binds a sealed answer to its place:
// the form, the response (instance id) and the field name. Each part is
// length-prefixed so that no two different triples give the same bytes.
func FieldAAD(formID, instanceID, field string) []byte {
	return lengthPrefixed("govsurvey/field/v1", formID, instanceID, field)
}

func lengthPrefixed(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += binary.MaxVarintLen64 + len(p)
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	return b
}

func sealAD(header, aad []byte) []byte {
	ad := make([]byte, 0, len(header)+len(aad))
	return append(append(ad, header...), aad...)
}

func newSM4GCM(key []byte) (cipher.AEAD, error) {
	block, err := sm4.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("security: sm4: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("security: sm4-gcm: %w", err)
	}
	return aead, nil
}

func wrapAEAD(master MasterKey) (cipher.AEAD, error) {
	kw := master.derive(labelWrap)
	defer clear(kw)
	return newSM4GCM(kw[:dataKeySize])
}

func wrapAD(id uint32, created time.Time) []byte {
	ad := []byte("govsurvey/keyring/v1/datakey")
	ad = binary.BigEndian.AppendUint32(ad, id)
	return binary.BigEndian.AppendUint64(ad, uint64(created.Unix()))
}

func wrapDataKey(master MasterKey, id uint32, created time.Time, raw []byte) ([]byte, error) {
	aead, err := wrapAEAD(master)
	if err != nil {
		return nil, err
	}
	out := make([]byte, gcmNonceSize, wrappedKeySize)
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("security: keyring: nonce: %w", err)
	}
	return aead.Seal(out, out[:gcmNonceSize], raw, wrapAD(id, created)), nil
}

func unwrapDataKey(master MasterKey, id uint32, created time.Time, wrapped []byte) ([]byte, error) {
	if len(wrapped) != wrappedKeySize {
		return nil, ErrKeyringDamaged
	}
	aead, err := wrapAEAD(master)
	if err != nil {
		return nil, err
	}
	raw, err := aead.Open(nil, wrapped[:gcmNonceSize], wrapped[gcmNonceSize:], wrapAD(id, created))
	if err != nil {
		return nil, ErrKeyringDamaged
	}
	return raw, nil
}

func keyringMAC(master MasterKey, body []byte) []byte {
	km := master.derive(labelMAC)
	defer clear(km)
	m := hmac.New(sm3.New, km)
	m.Write(body)
	return m.Sum(nil)
}

// Format keeps a keyring printed by mistake from showing anything but its
// shape.
func (k *Keyring) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "Keyring(%d data keys, current %d)", len(k.Keys()), k.CurrentKeyID())
}
