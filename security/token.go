package security

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"
)

// API tokens look like "gst_" followed by 52 lower-case base32 characters
// (32 random bytes): the prefix lets secret scanners and log filters
// recognise them. Only SM3(token) is stored; the token itself is shown once.
const (
	TokenPrefix = "gst_"
	TokenLen    = len(TokenPrefix) + 52
	tokenBytes  = 32
	// MaxTokenTTL is the longest lifetime a token may be given.
	MaxTokenTTL = 366 * 24 * time.Hour
)

var (
	ErrTokenMalformed = errors.New("security: malformed API token")
	ErrTokenInvalid   = errors.New("security: invalid API token")
	ErrTokenExpired   = errors.New("security: API token expired")
	ErrTokenRevoked   = errors.New("security: API token revoked")
)

var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// APIToken is the stored record of a token: never the token itself.
type APIToken struct {
	Hash    string // hex SM3 of the token, the lookup key
	Owner   string // the user the token acts for
	Name    string // the owner's label for it
	Scopes  []Permission
	Created time.Time
	Expires time.Time
	Revoked time.Time // zero while valid
}

// TokenRequest asks for a new token. Scopes must be permissions the owner's
// roles have.
type TokenRequest struct {
	Owner  string
	Roles  []Role
	Name   string
	Scopes []Permission
	TTL    time.Duration
}

// NewAPIToken makes a token for req at time now. It returns the secret token,
// to show the user once, and the record to store.
func NewAPIToken(req TokenRequest, now time.Time) (string, APIToken, error) {
	if strings.TrimSpace(req.Owner) == "" {
		return "", APIToken{}, errors.New("security: API token: no owner")
	}
	if req.TTL <= 0 || req.TTL > MaxTokenTTL {
		return "", APIToken{}, fmt.Errorf("security: API token: lifetime must be between 0 and %v", MaxTokenTTL)
	}
	if len(req.Scopes) == 0 {
		return "", APIToken{}, errors.New("security: API token: no scopes")
	}
	for _, p := range req.Scopes {
		if _, err := ParsePermission(string(p)); err != nil {
			return "", APIToken{}, fmt.Errorf("security: API token: %w", err)
		}
		if !CanAny(req.Roles, p) {
			return "", APIToken{}, fmt.Errorf("security: API token: owner's roles lack %s", p)
		}
	}
	raw := make([]byte, tokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", APIToken{}, fmt.Errorf("security: API token: %w", err)
	}
	secret := TokenPrefix + strings.ToLower(tokenEncoding.EncodeToString(raw))
	clear(raw)
	scopes := slices.Clone(req.Scopes)
	slices.Sort(scopes)
	tok := APIToken{
		Hash:    hashToken(secret),
		Owner:   req.Owner,
		Name:    req.Name,
		Scopes:  slices.Compact(scopes),
		Created: now,
		Expires: now.Add(req.TTL),
	}
	return secret, tok, nil
}

// ParseToken checks that s has the shape of a token (prefix, length,
// alphabet) and returns its hash, the key to look the record up by. It never
// includes s in its error.
func ParseToken(s string) (hash string, err error) {
	if len(s) != TokenLen || !strings.HasPrefix(s, TokenPrefix) {
		return "", ErrTokenMalformed
	}
	body := s[len(TokenPrefix):]
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return "", ErrTokenMalformed
		}
	}
	raw, err := tokenEncoding.DecodeString(strings.ToUpper(body))
	if err != nil || len(raw) != tokenBytes {
		return "", ErrTokenMalformed
	}
	clear(raw)
	return hashToken(s), nil
}

// VerifyToken checks secret against its stored record at time now: the hash
// (compared in constant time), revocation and expiry.
func VerifyToken(secret string, tok APIToken, now time.Time) error {
	h, err := ParseToken(secret)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(h), []byte(tok.Hash)) != 1 {
		return ErrTokenInvalid
	}
	if !tok.Revoked.IsZero() {
		return ErrTokenRevoked
	}
	if !now.Before(tok.Expires) {
		return ErrTokenExpired
	}
	return nil
}

// Allows reports whether a request made with the token may use permission p:
// the token must carry the scope, and the owner's current roles must still
// grant it (a token does not outlive its owner's demotion).
func (t APIToken) Allows(ownerRoles []Role, p Permission) bool {
	return slices.Contains(t.Scopes, p) && CanAny(ownerRoles, p)
}

// BearerToken extracts the token from an Authorization header value
// ("Bearer gst_…").
func BearerToken(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

func hashToken(secret string) string {
	sum := sm3.Sum([]byte(secret))
	return hex.EncodeToString(sum[:])
}
