package security

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testKeyHex = "0123456789abcdeffedcba9876543210"

var testKeyBytes = []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10}

func TestParseMasterKey(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"hex", testKeyHex, true},
		{"upper hex", strings.ToUpper(testKeyHex), true},
		{"hex with newline", testKeyHex + "\n", true},
		{"base64 padded", "ASNFZ4mrze/+3LqYdlQyEA==", true},
		{"base64 raw", "ASNFZ4mrze/+3LqYdlQyEA", true},
		{"base64 url", "ASNFZ4mrze_-3LqYdlQyEA==", true},
		{"empty", "", false},
		{"spaces", "   \n", false},
		{"short hex", testKeyHex[:30], false},
		{"long hex", testKeyHex + "00", false},
		{"base64 of 24 bytes", "ASNFZ4mrze/+3LqYdlQyEAEjRWeJq83v", false},
		{"not an encoding", "this is not a key at all!!", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseMasterKey(tt.in)
			if !tt.ok {
				if err == nil {
					t.Fatal("accepted")
				}
				if s := strings.TrimSpace(tt.in); s != "" && strings.Contains(err.Error(), s) {
					t.Errorf("error repeats the key text: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(k.b, testKeyBytes) {
				t.Errorf("decoded %x, want %x", k.b, testKeyBytes)
			}
		})
	}
}

func TestLoadMasterKey(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.key")
	bad := filepath.Join(dir, "bad.key")
	if err := os.WriteFile(good, []byte(testKeyHex+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const badSecret = "deadbeefdeadbeefdeadbeef" // 12 bytes: wrong size
	if err := os.WriteFile(bad, []byte(badSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr error // nil: success; errAny: any error
	}{
		{"direct", map[string]string{"K": testKeyHex}, nil},
		{"file", map[string]string{"K_FILE": good}, nil},
		{"empty direct falls back to file", map[string]string{"K": "", "K_FILE": good}, nil},
		{"both", map[string]string{"K": testKeyHex, "K_FILE": good}, errAny},
		{"neither", map[string]string{}, ErrKeyNotSet},
		{"missing file", map[string]string{"K_FILE": filepath.Join(dir, "nope")}, os.ErrNotExist},
		{"bad file content", map[string]string{"K_FILE": bad}, errAny},
		{"bad direct", map[string]string{"K": badSecret}, errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup := func(name string) (string, bool) { v, ok := tt.env[name]; return v, ok }
			k, err := LoadMasterKey(lookup, "K")
			switch {
			case tt.wantErr == nil:
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(k.b, testKeyBytes) {
					t.Errorf("loaded %x", k.b)
				}
			case err == nil:
				t.Fatal("no error")
			case tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
			if err != nil && (strings.Contains(err.Error(), badSecret) || strings.Contains(err.Error(), testKeyHex)) {
				t.Errorf("error contains key material: %v", err)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestMasterKeyRedacted(t *testing.T) {
	k, err := ParseMasterKey(testKeyHex)
	if err != nil {
		t.Fatal(err)
	}
	p, err := GeneratePseudonymKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q"} {
		for _, v := range []any{k, &k, p, struct{ K MasterKey }{k}} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(strings.ToLower(out), testKeyHex[:8]) || strings.Contains(out, "[1 35 69") ||
				strings.Contains(strings.ToLower(out), fmt.Sprintf("%x", p.b[:4])) {
				t.Errorf("%s of %T prints key material: %s", verb, v, out)
			}
		}
	}
}

func TestWriteMasterKeyFile(t *testing.T) {
	k, err := GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "master.key")
	if err := WriteMasterKeyFile(path, k); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	back, err := LoadMasterKey(func(n string) (string, bool) {
		if n == "K_FILE" {
			return path, true
		}
		return "", false
	}, "K")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.b, k.b) {
		t.Error("file does not hold the key")
	}
	if err := WriteMasterKeyFile(path, k); err == nil {
		t.Error("overwrote an existing key file")
	}
}

func TestCheckValue(t *testing.T) {
	a, _ := GenerateMasterKey()
	b, _ := GenerateMasterKey()
	if a.CheckValue() == b.CheckValue() {
		t.Error("two keys share a check value")
	}
	if a.CheckValue() != a.clone().CheckValue() || len(a.CheckValue()) != 16 {
		t.Errorf("check value %q not stable or not 16 hex digits", a.CheckValue())
	}
	if strings.Contains(fmt.Sprintf("%x", a.b), a.CheckValue()) {
		t.Error("check value is part of the key")
	}
	a.Destroy()
	if a.CheckValue() != "" {
		t.Error("destroyed key still has a check value")
	}
}
