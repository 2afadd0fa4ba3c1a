package security

import (
	"bytes"
	"crypto/hmac"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm3"
)

func testPseudonymKey(t *testing.T, fill byte) PseudonymKey {
	t.Helper()
	return PseudonymKey{b: bytes.Repeat([]byte{fill}, PseudonymKeySize)}
}

// TestPseudonymConstruction recomputes the documented construction by hand:
// HMAC-SM3 over 0x16 "govsurvey/pseudonym/v1" len(purpose) purpose value,
// first 20 bytes, lower-case base32.
func TestPseudonymConstruction(t *testing.T) {
	key := testPseudonymKey(t, 0x42)
	tests := []struct {
		purpose Purpose
		value   string
	}{
		{PurposeClient, "203.0.113.7"},
		{PurposeRateLimit, "203.0.113.7"},
		{PurposeClient, ""},
		{PurposeClient, "设备-甲"},
	}
	for _, tt := range tests {
		t.Run(string(tt.purpose)+"/"+tt.value, func(t *testing.T) {
			msg := []byte{22}
			msg = append(msg, "govsurvey/pseudonym/v1"...)
			msg = append(msg, byte(len(tt.purpose)))
			msg = append(msg, tt.purpose...)
			msg = append(msg, tt.value...)
			m := hmac.New(sm3.New, key.b)
			m.Write(msg)
			want := strings.ToLower(base32.StdEncoding.EncodeToString(m.Sum(nil)[:20]))
			got := Pseudonym(key, tt.purpose, tt.value)
			if got != want {
				t.Errorf("Pseudonym = %s, want %s", got, want)
			}
		})
	}
}

// TestHMACSM3KnownAnswer pins HMAC-SM3 itself against an independent
// computation of RFC 2104 over the SM3 known answer SM3("abc").
func TestHMACSM3KnownAnswer(t *testing.T) {
	sum := sm3.Sum([]byte("abc"))
	if hex.EncodeToString(sum[:]) != "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0" {
		t.Fatalf("SM3(abc) = %x", sum)
	}
	key := []byte("key")
	var ipad, opad [sm3.BlockSize]byte
	copy(ipad[:], key)
	copy(opad[:], key)
	for i := range ipad {
		ipad[i] ^= 0x36
		opad[i] ^= 0x5c
	}
	inner := sm3.Sum(append(ipad[:], "abc"...))
	want := sm3.Sum(append(opad[:], inner[:]...))
	m := hmac.New(sm3.New, key)
	m.Write([]byte("abc"))
	if !bytes.Equal(m.Sum(nil), want[:]) {
		t.Error("hmac.New(sm3.New) is not RFC 2104 HMAC-SM3")
	}
}

func TestPseudonymProperties(t *testing.T) {
	k1 := testPseudonymKey(t, 1)
	k2 := testPseudonymKey(t, 2)
	shape := regexp.MustCompile(`^[a-z2-7]{32}$`)
	v := "198.51.100.23"
	a := Pseudonym(k1, PurposeClient, v)
	if !shape.MatchString(a) || len(a) != PseudonymLen {
		t.Errorf("pseudonym %q: want %d lower-case base32 characters", a, PseudonymLen)
	}
	if strings.Contains(a, v) {
		t.Error("pseudonym contains the value")
	}
	tests := []struct {
		name string
		b    string
		same bool
	}{
		{"deterministic", Pseudonym(k1, PurposeClient, v), true},
		{"other purpose", Pseudonym(k1, PurposeRateLimit, v), false},
		{"other key", Pseudonym(k2, PurposeClient, v), false},
		{"other value", Pseudonym(k1, PurposeClient, "198.51.100.24"), false},
		// Purpose and value must not slide into each other.
		{"boundary shift", Pseudonym(k1, Purpose("clien"), "t"+v), false},
	}
	for _, tt := range tests {
		if (tt.b == a) != tt.same {
			t.Errorf("%s: %s vs %s", tt.name, tt.b, a)
		}
	}
}

func TestPseudonymZeroKeyPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic with a zero key")
		}
	}()
	Pseudonym(PseudonymKey{}, PurposeClient, "x")
}

func TestPseudonymKeySealedSurvivesRotation(t *testing.T) {
	kr, _ := newTestKeyring(t)
	pk, err := GeneratePseudonymKey()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := SealPseudonymKey(kr, pk)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, pk.b) {
		t.Fatal("pseudonym key in the clear")
	}
	if _, err := kr.Rotate(); err != nil {
		t.Fatal(err)
	}
	m2, _ := GenerateMasterKey()
	if err := kr.Rewrap(m2); err != nil {
		t.Fatal(err)
	}
	back, err := OpenPseudonymKey(kr, sealed)
	if err != nil {
		t.Fatal(err)
	}
	if Pseudonym(back, PurposeClient, "x") != Pseudonym(pk, PurposeClient, "x") {
		t.Error("reopened key gives other pseudonyms")
	}
	// A sealed answer is not a pseudonym key.
	other, _ := kr.Seal(bytes.Repeat([]byte{1}, PseudonymKeySize), FieldAAD("f", "i", "q"))
	if _, err := OpenPseudonymKey(kr, other); !errors.Is(err, ErrDecrypt) {
		t.Errorf("opened a value sealed for another purpose: %v", err)
	}
}

func TestLoadPseudonymKey(t *testing.T) {
	good := strings.Repeat("ab", PseudonymKeySize)
	tests := []struct {
		name string
		val  string
		ok   bool
	}{
		{"hex 32 bytes", good, true},
		{"master-key size", testKeyHex, false},
		{"garbage", "zz", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := LoadPseudonymKey(func(n string) (string, bool) {
				if n == "P" {
					return tt.val, true
				}
				return "", false
			}, "P")
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v", err)
			}
			if tt.ok && hex.EncodeToString(k.b) != good {
				t.Errorf("key %x", k.b)
			}
		})
	}
}
