package security

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
)

// cheapParams keep unit tests fast; the format and logic do not depend on cost.
func cheapParams() PasswordParams {
	return PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
}

func newTestHasher(t *testing.T, p PasswordParams) *PasswordHasher {
	t.Helper()
	h, err := NewPasswordHasher(p, 2)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestVerifyReferenceVector checks a PHC string from the argon2 reference
// implementation's test suite (argon2id, v=19, m=65536, t=2, p=1, password
// "password", salt "somesalt"): proof that Verify reads standard PHC strings.
func TestVerifyReferenceVector(t *testing.T) {
	if testing.Short() {
		t.Skip("uses 64 MiB")
	}
	const phc = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	h := newTestHasher(t, cheapParams())
	for _, c := range []struct {
		password string
		ok       bool
	}{{"password", true}, {"Password", false}} {
		ok, err := h.Verify(context.Background(), phc, c.password)
		if err != nil || ok != c.ok {
			t.Errorf("Verify(%q) = %v, %v; want %v", c.password, ok, err, c.ok)
		}
	}
}

func TestHashVerify(t *testing.T) {
	ctx := context.Background()
	h := newTestHasher(t, cheapParams())
	phc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	shape := regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !shape.MatchString(phc) {
		t.Errorf("hash %q is not a PHC argon2id string with the parameters", phc)
	}
	if strings.Contains(phc, "horse") {
		t.Error("hash contains the password")
	}
	again, _ := h.Hash(ctx, "correct horse battery staple")
	if again == phc {
		t.Error("same hash twice: salt not random")
	}
	tests := []struct {
		password string
		ok       bool
	}{
		{"correct horse battery staple", true},
		{"correct horse battery stapl", false},
		{"Correct horse battery staple", false},
		{"", false},
		{strings.Repeat("x", MaxPasswordLen+1), false},
	}
	for _, tt := range tests {
		ok, err := h.Verify(ctx, phc, tt.password)
		if err != nil || ok != tt.ok {
			t.Errorf("Verify(%.20q) = %v, %v; want %v", tt.password, ok, err, tt.ok)
		}
	}
	if _, err := h.Hash(ctx, strings.Repeat("x", MaxPasswordLen+1)); !errors.Is(err, ErrWeakPassword) {
		t.Errorf("over-long password hashed: %v", err)
	}
	if err := h.VerifyAbsent(ctx, "anything"); err != nil {
		t.Errorf("VerifyAbsent: %v", err)
	}
}

func TestVerifyMalformed(t *testing.T) {
	h := newTestHasher(t, cheapParams())
	good, err := h.Hash(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	tests := []struct {
		name string
		phc  string
	}{
		{"empty", ""},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", strings.Replace(good, "argon2id", "argon2i", 1)},
		{"version 16", strings.Replace(good, "v=19", "v=16", 1)},
		{"missing part", strings.Join(parts[:5], "$")},
		{"bad salt", strings.Join([]string{"", parts[1], parts[2], parts[3], "!!!", parts[5]}, "$")},
		{"bad hash", strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "@@"}, "$")},
		{"params garbage", strings.Replace(good, "m=64,t=1,p=1", "m=64,t=1,p=1,x=2", 1)},
		{"params leading zero", strings.Replace(good, "m=64", "m=064", 1)},
		{"memory 4 GiB", strings.Replace(good, "m=64", "m=4194304", 1)},
		{"time 1000", strings.Replace(good, "t=1", "t=1000", 1)},
		{"zero threads", strings.Replace(good, "p=1", "p=0", 1)},
		{"short key", strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := h.Verify(context.Background(), tt.phc, "pw")
			if ok || !errors.Is(err, ErrPasswordHash) {
				t.Errorf("Verify = %v, %v; want ErrPasswordHash", ok, err)
			}
			if !h.NeedsRehash(tt.phc) {
				t.Error("NeedsRehash false for an unreadable hash")
			}
		})
	}
}

func TestNeedsRehash(t *testing.T) {
	ctx := context.Background()
	base := cheapParams()
	h := newTestHasher(t, base)
	current, err := h.Hash(ctx, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if h.NeedsRehash(current) {
		t.Error("fresh hash needs rehash")
	}
	change := []struct {
		name string
		edit func(*PasswordParams)
	}{
		{"memory", func(p *PasswordParams) { p.Memory = 128 }},
		{"time", func(p *PasswordParams) { p.Time = 2 }},
		{"threads", func(p *PasswordParams) { p.Threads = 2 }},
		{"salt", func(p *PasswordParams) { p.SaltLen = 32 }},
		{"key", func(p *PasswordParams) { p.KeyLen = 16 }},
	}
	for _, c := range change {
		t.Run(c.name, func(t *testing.T) {
			p := base
			c.edit(&p)
			other := newTestHasher(t, p)
			old, err := other.Hash(ctx, "pw")
			if err != nil {
				t.Fatal(err)
			}
			if !h.NeedsRehash(old) {
				t.Error("hash with other parameters does not need rehash")
			}
			// Old hashes still verify: rehash happens after a good login.
			if ok, err := h.Verify(ctx, old, "pw"); !ok || err != nil {
				t.Errorf("old-parameter hash does not verify: %v, %v", ok, err)
			}
		})
	}
}

func TestPasswordParamsChecked(t *testing.T) {
	bad := []PasswordParams{
		{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32},
		{Memory: 4, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8},
	}
	for _, p := range bad {
		if _, err := NewPasswordHasher(p, 1); err == nil {
			t.Errorf("accepted %+v", p)
		}
	}
	if _, err := NewPasswordHasher(cheapParams(), 0); err == nil {
		t.Error("accepted maxConcurrent 0")
	}
	if err := DefaultPasswordParams().check(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
}

func TestHashWaitsForSlot(t *testing.T) {
	h, err := NewPasswordHasher(cheapParams(), 1)
	if err != nil {
		t.Fatal(err)
	}
	h.slots <- struct{}{} // occupy the only slot
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.Canceled) {
		t.Errorf("Hash with a full hasher and cancelled ctx: %v", err)
	}
	if _, err := h.Verify(ctx, h.dummy, "pw"); !errors.Is(err, context.Canceled) {
		t.Errorf("Verify with a full hasher and cancelled ctx: %v", err)
	}
	<-h.slots
	if _, err := h.Hash(context.Background(), "pw"); err != nil {
		t.Errorf("Hash after the slot freed: %v", err)
	}
}

func TestCheckPasswordStrength(t *testing.T) {
	tests := []struct {
		password, account string
		ok                bool
	}{
		{"Short1!", "li", false},
		{"alllowercaseletters", "li", true}, // 19 characters: passphrase
		{"lowercase12", "li", false},        // two classes, under 16
		{"Lowercase12", "li", true},
		{"lower-case1", "li", true},
		{"Wang.Wei2024x", "wangwei", true},
		{"xwangwei2024X!", "wangwei", false},
		{"我的密码很长很长很长很长很长很长", "li", true},
		{strings.Repeat("Aa1!", 300), "li", false}, // over MaxPasswordLen
	}
	for _, tt := range tests {
		err := CheckPasswordStrength(tt.password, tt.account)
		if (err == nil) != tt.ok {
			t.Errorf("CheckPasswordStrength(%.20q, %q) = %v, want ok=%v", tt.password, tt.account, err, tt.ok)
		}
		if err != nil && (!errors.Is(err, ErrWeakPassword) || strings.Contains(err.Error(), tt.password)) {
			t.Errorf("error %v: not ErrWeakPassword or repeats the password", err)
		}
	}
}
