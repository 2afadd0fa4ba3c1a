package security

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are argon2id's cost parameters.
type PasswordParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultPasswordParams are sized for the reference 2-core server: 64 MiB,
// 2 passes, 2 lanes (RFC 9106's second recommendation is 64 MiB, t=3, p=4;
// more lanes than cores buys nothing, and t=2 keeps one verification near a
// tenth of a second on one such core pair). With NewPasswordHasher's
// concurrency limit of 2 a burst of logins costs at most 128 MiB.
func DefaultPasswordParams() PasswordParams {
	return PasswordParams{Memory: 64 * 1024, Time: 2, Threads: 2, SaltLen: 16, KeyLen: 32}
}

// MaxPasswordLen bounds the work an attacker can ask for with a huge password.
const MaxPasswordLen = 1024

var (
	// ErrPasswordHash means a stored hash is not an argon2id PHC string this
	// package can verify.
	ErrPasswordHash = errors.New("security: malformed password hash")
	// ErrWeakPassword is wrapped by CheckPasswordStrength's errors.
	ErrWeakPassword = errors.New("security: password too weak")
)

// PasswordHasher hashes and verifies staff passwords with argon2id. It lets
// at most a fixed number of hashes run at once, because each one takes
// Memory KiB: without the limit a login flood exhausts RAM.
type PasswordHasher struct {
	params PasswordParams
	slots  chan struct{}
	dummy  string // hash of a random password, for VerifyAbsent
}

// NewPasswordHasher returns a hasher using p for new hashes, running at most
// maxConcurrent hashes at once (2 suits a 2-core server).
func NewPasswordHasher(p PasswordParams, maxConcurrent int) (*PasswordHasher, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	if maxConcurrent < 1 {
		return nil, errors.New("security: password hasher: maxConcurrent must be at least 1")
	}
	h := &PasswordHasher{params: p, slots: make(chan struct{}, maxConcurrent)}
	random := make([]byte, 16)
	if _, err := rand.Read(random); err != nil {
		return nil, fmt.Errorf("security: password hasher: %w", err)
	}
	dummy, err := h.hash(string(random))
	if err != nil {
		return nil, err
	}
	h.dummy = dummy
	return h, nil
}

func (p PasswordParams) check() error {
	switch {
	case p.Time < 1 || p.Time > 10:
		return fmt.Errorf("security: argon2id: time %d out of range 1..10", p.Time)
	case p.Threads < 1:
		return errors.New("security: argon2id: threads must be at least 1")
	case p.Memory < 8*uint32(p.Threads) || p.Memory > 1<<20:
		return fmt.Errorf("security: argon2id: memory %d KiB out of range %d..%d", p.Memory, 8*uint32(p.Threads), 1<<20)
	case p.SaltLen < 8 || p.SaltLen > 64:
		return fmt.Errorf("security: argon2id: salt length %d out of range 8..64", p.SaltLen)
	case p.KeyLen < 16 || p.KeyLen > 64:
		return fmt.Errorf("security: argon2id: key length %d out of range 16..64", p.KeyLen)
	}
	return nil
}

func (h *PasswordHasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("security: password: %w", ctx.Err())
	}
}

func (h *PasswordHasher) release() { <-h.slots }

// Hash returns the PHC string of password:
//
//	$argon2id$v=19$m=65536,t=2,p=2$<salt>$<hash>
//
// with salt and hash in unpadded standard base64. It waits for a free slot
// or for ctx.
func (h *PasswordHasher) Hash(ctx context.Context, password string) (string, error) {
	if len(password) > MaxPasswordLen {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrWeakPassword, MaxPasswordLen)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return h.hash(password)
}

func (h *PasswordHasher) hash(password string) (string, error) {
	p := h.params
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("security: password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return encodePHC(p, salt, key), nil
}

func encodePHC(p PasswordParams, salt, key []byte) string {
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, enc.EncodeToString(salt), enc.EncodeToString(key))
}

// Verify reports whether password matches the stored PHC string, comparing
// in constant time. A malformed hash is an error (ErrPasswordHash), a wrong
// password is (false, nil).
func (h *PasswordHasher) Verify(ctx context.Context, encoded, password string) (bool, error) {
	p, salt, want, err := decodePHC(encoded)
	if err != nil {
		return false, err
	}
	if len(password) > MaxPasswordLen {
		return false, nil
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// VerifyAbsent does the work of one Verify and returns false. Call it when
// the account does not exist, so that response time does not tell an
// attacker which accounts exist.
func (h *PasswordHasher) VerifyAbsent(ctx context.Context, password string) error {
	_, err := h.Verify(ctx, h.dummy, password)
	return err
}

// NeedsRehash reports whether a stored hash was made with parameters other
// than the hasher's (or is unreadable): after a successful login the caller
// re-hashes the password with Hash and stores the result.
func (h *PasswordHasher) NeedsRehash(encoded string) bool {
	p, salt, key, err := decodePHC(encoded)
	if err != nil {
		return true
	}
	want := h.params
	return p.Memory != want.Memory || p.Time != want.Time || p.Threads != want.Threads ||
		uint32(len(salt)) != want.SaltLen || uint32(len(key)) != want.KeyLen
}

// decodePHC parses an argon2id PHC string. Its limits keep a forged hash in
// the database from making verification take unbounded memory or time.
func decodePHC(encoded string) (p PasswordParams, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, hash
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: not an argon2id PHC string", ErrPasswordHash)
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, fmt.Errorf("%w: unsupported argon2 version", ErrPasswordHash)
	}
	var threads uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &threads); err != nil || n != 3 ||
		fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, threads) != parts[3] {
		return p, nil, nil, fmt.Errorf("%w: bad parameters", ErrPasswordHash)
	}
	if threads < 1 || threads > 255 {
		return p, nil, nil, fmt.Errorf("%w: bad parallelism", ErrPasswordHash)
	}
	p.Threads = uint8(threads)
	enc := base64.RawStdEncoding
	if salt, err = enc.DecodeString(parts[4]); err != nil {
		return p, nil, nil, fmt.Errorf("%w: bad salt", ErrPasswordHash)
	}
	if key, err = enc.DecodeString(parts[5]); err != nil {
		return p, nil, nil, fmt.Errorf("%w: bad hash", ErrPasswordHash)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.check(); err != nil {
		return p, nil, nil, fmt.Errorf("%w: %v", ErrPasswordHash, err)
	}
	return p, salt, key, nil
}

// MinPasswordLen is the shortest password CheckPasswordStrength accepts.
const MinPasswordLen = 10

// CheckPasswordStrength applies the staff password policy (MLPS asks for
// length and complexity): at least MinPasswordLen characters and at most
// MaxPasswordLen bytes; at least three of upper case, lower case, digits and
// other characters unless the password has 16 characters or more (a
// passphrase); and not containing the account name. The error never repeats
// the password.
func CheckPasswordStrength(password, account string) error {
	n := utf8.RuneCountInString(password)
	if n < MinPasswordLen {
		return fmt.Errorf("%w: fewer than %d characters", ErrWeakPassword, MinPasswordLen)
	}
	if len(password) > MaxPasswordLen {
		return fmt.Errorf("%w: longer than %d bytes", ErrWeakPassword, MaxPasswordLen)
	}
	if a := strings.ToLower(strings.TrimSpace(account)); a != "" && strings.Contains(strings.ToLower(password), a) {
		return fmt.Errorf("%w: contains the account name", ErrWeakPassword)
	}
	if n >= 16 {
		return nil
	}
	var upper, lower, digit, other int
	for _, r := range password {
		switch {
		case unicode.IsUpper(r):
			upper = 1
		case unicode.IsLower(r):
			lower = 1
		case unicode.IsDigit(r):
			digit = 1
		default:
			other = 1
		}
	}
	if upper+lower+digit+other < 3 {
		return fmt.Errorf("%w: use three of upper case, lower case, digits and symbols, or 16 characters or more", ErrWeakPassword)
	}
	return nil
}
