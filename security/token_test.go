package security

import (
	"encoding/hex"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
)

var tokenNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newTestToken(t *testing.T) (string, APIToken) {
	t.Helper()
	secret, tok, err := NewAPIToken(TokenRequest{
		Owner:  "li.analyst",
		Roles:  []Role{RoleAnalyst},
		Name:   "nightly export",
		Scopes: []Permission{PermResponsesExport, PermAnalysisRead, PermAnalysisRead},
		TTL:    30 * 24 * time.Hour,
	}, tokenNow)
	if err != nil {
		t.Fatal(err)
	}
	return secret, tok
}

func TestNewAPIToken(t *testing.T) {
	secret, tok := newTestToken(t)
	if !regexp.MustCompile(`^gst_[a-z2-7]{52}$`).MatchString(secret) || len(secret) != TokenLen {
		t.Errorf("token %q has the wrong shape", secret)
	}
	sum := sm3.Sum([]byte(secret))
	if tok.Hash != hex.EncodeToString(sum[:]) {
		t.Error("stored hash is not SM3 of the token")
	}
	if strings.Contains(tok.Hash, secret[4:]) {
		t.Error("record holds the token")
	}
	if len(tok.Scopes) != 2 {
		t.Errorf("scopes %v: duplicates not removed", tok.Scopes)
	}
	if !tok.Expires.Equal(tokenNow.Add(30 * 24 * time.Hour)) {
		t.Errorf("expires %v", tok.Expires)
	}
	other, _ := newTestToken(t)
	if other == secret {
		t.Error("two tokens are equal")
	}
}

func TestNewAPITokenRefuses(t *testing.T) {
	ok := TokenRequest{Owner: "x", Roles: []Role{RoleAnalyst}, Scopes: []Permission{PermAnalysisRead}, TTL: time.Hour}
	tests := []struct {
		name string
		edit func(*TokenRequest)
	}{
		{"no owner", func(r *TokenRequest) { r.Owner = " " }},
		{"no scopes", func(r *TokenRequest) { r.Scopes = nil }},
		{"unknown scope", func(r *TokenRequest) { r.Scopes = []Permission{"everything"} }},
		{"scope beyond role", func(r *TokenRequest) { r.Scopes = []Permission{PermResponsesExportPersonal} }},
		{"no expiry", func(r *TokenRequest) { r.TTL = 0 }},
		{"too long", func(r *TokenRequest) { r.TTL = MaxTokenTTL + time.Hour }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok
			tt.edit(&r)
			if _, _, err := NewAPIToken(r, tokenNow); err == nil {
				t.Error("accepted")
			}
		})
	}
	if _, _, err := NewAPIToken(ok, tokenNow); err != nil {
		t.Errorf("valid request refused: %v", err)
	}
}

func TestVerifyToken(t *testing.T) {
	secret, tok := newTestToken(t)
	otherSecret, _ := newTestToken(t)
	revoked := tok
	revoked.Revoked = tokenNow.Add(time.Hour)
	tests := []struct {
		name   string
		secret string
		tok    APIToken
		now    time.Time
		want   error
	}{
		{"valid", secret, tok, tokenNow.Add(time.Hour), nil},
		{"other token", otherSecret, tok, tokenNow, ErrTokenInvalid},
		{"expired at the instant", secret, tok, tok.Expires, ErrTokenExpired},
		{"expired", secret, tok, tok.Expires.Add(time.Second), ErrTokenExpired},
		{"revoked", secret, revoked, tokenNow.Add(2 * time.Hour), ErrTokenRevoked},
		{"no prefix", secret[4:], tok, tokenNow, ErrTokenMalformed},
		{"wrong prefix", "ghp_" + secret[4:], tok, tokenNow, ErrTokenMalformed},
		{"upper case", "gst_" + strings.ToUpper(secret[4:]), tok, tokenNow, ErrTokenMalformed},
		{"short", secret[:len(secret)-1], tok, tokenNow, ErrTokenMalformed},
		{"bad alphabet", secret[:len(secret)-1] + "1", tok, tokenNow, ErrTokenMalformed},
		{"empty", "", tok, tokenNow, ErrTokenMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyToken(tt.secret, tt.tok, tt.now)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("VerifyToken = %v, want %v", err, tt.want)
			}
			if err != nil && tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Error("error contains the token")
			}
		})
	}
	h, err := ParseToken(secret)
	if err != nil || h != tok.Hash {
		t.Errorf("ParseToken = %s, %v; want the stored hash", h, err)
	}
}

func TestTokenAllows(t *testing.T) {
	_, tok := newTestToken(t)
	tests := []struct {
		name  string
		roles []Role
		perm  Permission
		want  bool
	}{
		{"scoped and granted", []Role{RoleAnalyst}, PermResponsesExport, true},
		{"granted but not scoped", []Role{RoleAnalyst}, PermResponsesClean, false},
		{"scoped but owner demoted", []Role{RoleDesigner}, PermResponsesExport, false},
		{"scoped, owner lost all roles", nil, PermAnalysisRead, false},
		{"never scoped personal export", []Role{RoleDataOfficer}, PermResponsesExportPersonal, false},
	}
	for _, tt := range tests {
		if got := tok.Allows(tt.roles, tt.perm); got != tt.want {
			t.Errorf("%s: Allows = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		header string
		want   string
		ok     bool
	}{
		{"Bearer gst_abc", "gst_abc", true},
		{"bearer  gst_abc ", "gst_abc", true},
		{"Basic dXNlcjpwdw==", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := BearerToken(tt.header)
		if got != tt.want || ok != tt.ok {
			t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", tt.header, got, ok, tt.want, tt.ok)
		}
	}
}
