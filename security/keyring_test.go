package security

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestSM4GCMKnownAnswer pins the cipher: GB/T 36624-2018 appendix C.5,
// example 2 (all-zero key and nonce, one zero block).
func TestSM4GCMKnownAnswer(t *testing.T) {
	aead, err := newSM4GCM(make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	got := aead.Seal(nil, make([]byte, 12), make([]byte, 16), nil)
	const want = "7de2aa7f1110188218063be1bfeb6d89b851b5f39493752be508f1bb4482c557"
	if hex.EncodeToString(got) != want {
		t.Errorf("SM4-GCM = %x, want %s", got, want)
	}
}

func newTestKeyring(t *testing.T) (*Keyring, MasterKey) {
	t.Helper()
	m, err := GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	kr, err := NewKeyring(m)
	if err != nil {
		t.Fatal(err)
	}
	return kr, m
}

func TestSealOpen(t *testing.T) {
	kr, _ := newTestKeyring(t)
	aad := FieldAAD("netizen_2019", "uuid:1", "phone")
	tests := []struct {
		name      string
		plaintext []byte
	}{
		{"empty", nil},
		{"ascii", []byte("13812345678")},
		{"chinese", []byte("我的手机号是13812345678，住在北京市海淀区")},
		{"binary", bytes.Repeat([]byte{0, 0xff}, 300)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := kr.Seal(tt.plaintext, aad)
			if err != nil {
				t.Fatal(err)
			}
			if len(sealed) != SealOverhead+len(tt.plaintext) {
				t.Errorf("sealed length %d, want %d", len(sealed), SealOverhead+len(tt.plaintext))
			}
			if sealed[0] != 1 || binary.BigEndian.Uint32(sealed[1:5]) != kr.CurrentKeyID() {
				t.Errorf("header % x, want version 1 and key %d", sealed[:5], kr.CurrentKeyID())
			}
			if len(tt.plaintext) >= 4 && bytes.Contains(sealed, tt.plaintext) {
				t.Error("plaintext visible in sealed value")
			}
			again, err := kr.Seal(tt.plaintext, aad)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(sealed, again) {
				t.Error("sealing twice gave the same bytes: nonce not random")
			}
			got, err := kr.Open(sealed, aad)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.plaintext) {
				t.Errorf("opened %q, want %q", got, tt.plaintext)
			}
		})
	}
}

func TestOpenRefuses(t *testing.T) {
	kr, _ := newTestKeyring(t)
	aad := FieldAAD("f", "i1", "phone")
	sealed, err := kr.Seal([]byte("13812345678"), aad)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name   string
		sealed []byte
		aad    []byte
		want   error
	}{
		{"other response", sealed, FieldAAD("f", "i2", "phone"), ErrDecrypt},
		{"other field", sealed, FieldAAD("f", "i1", "email"), ErrDecrypt},
		{"other form", sealed, FieldAAD("g", "i1", "phone"), ErrDecrypt},
		{"no aad", sealed, nil, ErrDecrypt},
		{"version byte", flip(0), aad, ErrDecrypt},
		{"key id", flip(4), aad, ErrUnknownDataKey},
		{"nonce", flip(5), aad, ErrDecrypt},
		{"ciphertext", flip(5 + 12), aad, ErrDecrypt},
		{"tag", flip(len(sealed) - 1), aad, ErrDecrypt},
		{"truncated", sealed[:SealOverhead-1], aad, ErrDecrypt},
		{"empty", nil, aad, ErrDecrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := kr.Open(tt.sealed, tt.aad)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open = %q, %v; want %v", got, err, tt.want)
			}
			if bytes.Contains([]byte(err.Error()), []byte("138")) {
				t.Errorf("error mentions the plaintext: %v", err)
			}
		})
	}
}

func TestFieldAADUnambiguous(t *testing.T) {
	pairs := [][2][3]string{
		{{"a", "bc", "d"}, {"ab", "c", "d"}},
		{{"f", "i", ""}, {"f", "", "i"}},
		{{"", "", "x"}, {"x", "", ""}},
	}
	for _, p := range pairs {
		a := FieldAAD(p[0][0], p[0][1], p[0][2])
		b := FieldAAD(p[1][0], p[1][1], p[1][2])
		if bytes.Equal(a, b) {
			t.Errorf("FieldAAD%v == FieldAAD%v", p[0], p[1])
		}
	}
}

func TestRotateKeepsOldDataReadable(t *testing.T) {
	kr, m := newTestKeyring(t)
	aad := FieldAAD("f", "i", "q")
	old, err := kr.Seal([]byte("before rotation"), aad)
	if err != nil {
		t.Fatal(err)
	}
	firstID := kr.CurrentKeyID()
	newID, err := kr.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if newID == firstID || kr.CurrentKeyID() != newID {
		t.Fatalf("rotate gave id %d (was %d, current %d)", newID, firstID, kr.CurrentKeyID())
	}
	fresh, err := kr.Seal([]byte("after rotation"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := SealedKeyID(fresh); id != newID {
		t.Errorf("new value sealed with key %d, want %d", id, newID)
	}
	if id, _ := SealedKeyID(old); id != firstID {
		t.Errorf("old value reports key %d, want %d", id, firstID)
	}
	// Through the store: marshal, load, open both.
	loaded, err := LoadWrapped(m, kr.MarshalWrapped())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		sealed []byte
		want   string
	}{{old, "before rotation"}, {fresh, "after rotation"}} {
		got, err := loaded.Open(c.sealed, aad)
		if err != nil || string(got) != c.want {
			t.Errorf("Open = %q, %v; want %q", got, err, c.want)
		}
	}
	keys := loaded.Keys()
	if len(keys) != 2 || keys[0].ID != firstID || keys[0].Current || keys[1].ID != newID || !keys[1].Current {
		t.Errorf("Keys() = %+v", keys)
	}
	if loaded.CurrentKeyID() != newID {
		t.Errorf("loaded current key %d, want %d", loaded.CurrentKeyID(), newID)
	}
}

func TestRewrap(t *testing.T) {
	kr, oldMaster := newTestKeyring(t)
	if _, err := kr.Rotate(); err != nil {
		t.Fatal(err)
	}
	aad := FieldAAD("f", "i", "q")
	sealed, err := kr.Seal([]byte("secret answer"), aad)
	if err != nil {
		t.Fatal(err)
	}
	before := kr.MarshalWrapped()
	newMaster, _ := GenerateMasterKey()
	if err := kr.Rewrap(newMaster); err != nil {
		t.Fatal(err)
	}
	after := kr.MarshalWrapped()
	if _, err := LoadWrapped(oldMaster, after); !errors.Is(err, ErrWrongMasterKey) {
		t.Errorf("old master opens the rewrapped keyring: %v", err)
	}
	if _, err := LoadWrapped(newMaster, before); !errors.Is(err, ErrWrongMasterKey) {
		t.Errorf("new master opens the old keyring: %v", err)
	}
	loaded, err := LoadWrapped(newMaster, after)
	if err != nil {
		t.Fatal(err)
	}
	got, err := loaded.Open(sealed, aad)
	if err != nil || string(got) != "secret answer" {
		t.Errorf("after rewrap Open = %q, %v", got, err)
	}
	if loaded.MasterCheckValue() != newMaster.CheckValue() {
		t.Error("loaded keyring reports the wrong master key")
	}
	// Destroying the caller's copy must not break the keyring.
	newMaster.Destroy()
	if _, err := kr.Seal([]byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Rotate(); err != nil {
		t.Fatalf("rotate after caller destroyed its key copy: %v", err)
	}
}

func TestLoadWrappedRefuses(t *testing.T) {
	kr, m := newTestKeyring(t)
	if _, err := kr.Rotate(); err != nil {
		t.Fatal(err)
	}
	blob := kr.MarshalWrapped()
	other, _ := GenerateMasterKey()
	flip := func(i int) []byte {
		b := bytes.Clone(blob)
		b[i] ^= 0x80
		return b
	}
	// Move the current id to the other key: MAC must catch it.
	swapCurrent := bytes.Clone(blob)
	binary.BigEndian.PutUint32(swapCurrent[13:17], 1)
	tests := []struct {
		name   string
		master MasterKey
		blob   []byte
		want   error
	}{
		{"wrong master", other, blob, ErrWrongMasterKey},
		{"magic", m, flip(0), ErrKeyringDamaged},
		{"version", m, flip(4), ErrKeyringDamaged},
		{"check value", m, flip(6), ErrWrongMasterKey},
		{"current id", m, swapCurrent, ErrKeyringDamaged},
		{"first key id", m, flip(keyringHeaderSize + 3), ErrKeyringDamaged},
		{"wrapped key", m, flip(keyringHeaderSize + 20), ErrKeyringDamaged},
		{"mac", m, flip(len(blob) - 1), ErrKeyringDamaged},
		{"second key dropped", m, append(bytes.Clone(blob[:keyringHeaderSize+keyringEntrySize]), blob[len(blob)-keyringMACSize:]...), ErrKeyringDamaged},
		{"truncated", m, blob[:20], ErrKeyringDamaged},
		{"empty", m, nil, ErrKeyringDamaged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := LoadWrapped(tt.master, tt.blob); !errors.Is(err, tt.want) {
				t.Errorf("LoadWrapped: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestWrappedKeyringHoldsNoClearKeys(t *testing.T) {
	kr, m := newTestKeyring(t)
	if _, err := kr.Rotate(); err != nil {
		t.Fatal(err)
	}
	blob := kr.MarshalWrapped()
	if bytes.Contains(blob, m.b) {
		t.Error("master key in the wrapped keyring")
	}
	for _, info := range kr.Keys() {
		dk := kr.keys[info.ID]
		raw, err := unwrapDataKey(m, dk.id, dk.created, dk.wrapped)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(blob, raw) {
			t.Errorf("data key %d in the clear in the wrapped keyring", info.ID)
		}
	}
}

func TestKeyringConcurrent(t *testing.T) {
	kr, _ := newTestKeyring(t)
	aad := FieldAAD("f", "i", "q")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				s, err := kr.Seal([]byte("answer"), aad)
				if err != nil {
					errs <- err
					return
				}
				if p, err := kr.Open(s, aad); err != nil || string(p) != "answer" {
					errs <- errors.Join(err, errors.New("round trip failed"))
					return
				}
			}
		}()
	}
	for i := 0; i < 3; i++ {
		if _, err := kr.Rotate(); err != nil {
			t.Fatal(err)
		}
		_ = kr.MarshalWrapped()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestNewKeyringRefusesEmptyMaster(t *testing.T) {
	if _, err := NewKeyring(MasterKey{}); err == nil {
		t.Error("NewKeyring accepted a zero master key")
	}
	if _, err := LoadWrapped(MasterKey{}, []byte("GSKR")); err == nil {
		t.Error("LoadWrapped accepted a zero master key")
	}
}

func TestKeyringPrintsNoKeys(t *testing.T) {
	kr, m := newTestKeyring(t)
	for _, verb := range []string{"%v", "%+v", "%#v", "%x", "%s"} {
		out := fmt.Sprintf(verb, kr)
		if strings.Contains(out, fmt.Sprintf("%x", m.b[:4])) || !strings.HasPrefix(out, "Keyring(") {
			t.Errorf("%s prints %s", verb, out)
		}
	}
}
