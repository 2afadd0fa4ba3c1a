package security

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/govsurvey/govsurvey/store"
)

// Accounts is the staff side of the server over the store: users with
// argon2id passwords, login with throttling, sessions (the store keeps only
// a hash of a session id), API tokens, and the audit record of each of
// these (login ok/failed/denied, user changes, token creation and
// revocation). The command line and the web console both go through it,
// so neither can skip the audit.
type Accounts struct {
	st       store.Store
	hasher   *PasswordHasher
	throttle LoginThrottle
	audit    *AuditLog
	now      func() time.Time

	idle     time.Duration
	absolute time.Duration
}

// AccountOptions configure Accounts.
type AccountOptions struct {
	Hasher   *PasswordHasher // default: DefaultPasswordParams, 2 at once
	Throttle LoginThrottle   // default: a MemoryThrottle (one node)
	Audit    *AuditLog       // required
	// SessionIdle ends a session unused this long (default 30 min, MLPS
	// asks for a timeout); SessionAbsolute ends any session this long
	// after login (default 12 h).
	SessionIdle     time.Duration
	SessionAbsolute time.Duration
	Now             func() time.Time
}

// Errors of Accounts. Login failures are deliberately alike: the caller
// must not tell a wrong password from an unknown or disabled account.
var (
	ErrLoginFailed     = errors.New("security: wrong user name or password")
	ErrNoSession       = errors.New("security: not logged in or session expired")
	ErrUserDisabled    = errors.New("security: account disabled")
	ErrBadUserName     = errors.New("security: a user name is 1 to 64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit")
	ErrUnknownIdentity = errors.New("security: unknown user")
)

// ThrottledError refuses a login attempt without trying the password.
type ThrottledError struct{ Wait time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("security: too many failed logins; try again in %s", e.Wait.Round(time.Second))
}

var userNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// CheckUserName tells whether name can be a user name.
func CheckUserName(name string) error {
	if !userNamePattern.MatchString(name) {
		return ErrBadUserName
	}
	return nil
}

// NewAccounts returns the staff accounts kept in st.
func NewAccounts(st store.Store, opts AccountOptions) (*Accounts, error) {
	if opts.Audit == nil {
		return nil, errors.New("security: accounts need an audit log")
	}
	if opts.Hasher == nil {
		h, err := NewPasswordHasher(DefaultPasswordParams(), 2)
		if err != nil {
			return nil, err
		}
		opts.Hasher = h
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Throttle == nil {
		opts.Throttle = NewMemoryThrottle(DefaultThrottlePolicy(), opts.Now)
	}
	if opts.SessionIdle <= 0 {
		opts.SessionIdle = 30 * time.Minute
	}
	if opts.SessionAbsolute <= 0 {
		opts.SessionAbsolute = 12 * time.Hour
	}
	return &Accounts{st: st, hasher: opts.Hasher, throttle: opts.Throttle, audit: opts.Audit, now: opts.Now,
		idle: opts.SessionIdle, absolute: opts.SessionAbsolute}, nil
}

// SessionIdle and SessionAbsolute are the session limits, for cookies.
func (a *Accounts) SessionIdle() time.Duration     { return a.idle }
func (a *Accounts) SessionAbsolute() time.Duration { return a.absolute }

// Principal is who a request acts for: a logged-in user, or a user's API
// token (whose scopes narrow the user's roles).
type Principal struct {
	User  string
	Roles []Role
	Token *APIToken // nil for a console session
}

// Can reports whether the principal may use permission p.
func (p Principal) Can(perm Permission) bool {
	if p.User == "" {
		return false
	}
	if p.Token != nil {
		return p.Token.Allows(p.Roles, perm)
	}
	return CanAny(p.Roles, perm)
}

func rolesOf(u store.User) []Role {
	rs := make([]Role, 0, len(u.Roles))
	for _, r := range u.Roles {
		if role, err := ParseRole(r); err == nil {
			rs = append(rs, role)
		}
	}
	return rs
}

func roleNames(rs []Role) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// record audits ev and turns a failure to audit into the action's failure.
func (a *Accounts) record(ctx context.Context, ev AuditEvent) error {
	if _, err := a.audit.Record(ctx, ev); err != nil {
		return fmt.Errorf("security: audit: %w", err)
	}
	return nil
}

// AddUser creates an account with roles and password, checked against the
// password policy. actor is who does it, for the audit log.
func (a *Accounts) AddUser(ctx context.Context, actor, name string, roles []Role, password string) error {
	if err := CheckUserName(name); err != nil {
		return err
	}
	for _, r := range roles {
		if _, err := ParseRole(string(r)); err != nil {
			return err
		}
	}
	if err := CheckPasswordStrength(password, name); err != nil {
		return err
	}
	hash, err := a.hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	if _, err := a.st.AddUser(ctx, store.User{Name: name, PasswordHash: hash, Roles: roleNames(roles)}); err != nil {
		if errors.Is(err, store.ErrExists) {
			a.record(ctx, AuditEvent{Actor: actor, Action: ActionUserChange, Object: "user:" + name, Outcome: OutcomeFailed, Detail: "add: exists"})
		}
		return err
	}
	return a.record(ctx, AuditEvent{Actor: actor, Action: ActionUserChange, Object: "user:" + name, Outcome: OutcomeOK,
		Detail: "add roles=" + strings.Join(roleNames(roles), ",")})
}

// SetPassword replaces a user's password and ends their sessions.
func (a *Accounts) SetPassword(ctx context.Context, actor, name, password string) error {
	u, err := a.st.User(ctx, name)
	if err != nil {
		return err
	}
	if err := CheckPasswordStrength(password, name); err != nil {
		return err
	}
	if u.PasswordHash, err = a.hasher.Hash(ctx, password); err != nil {
		return err
	}
	if _, err := a.st.UpdateUser(ctx, u); err != nil {
		return err
	}
	if _, err := a.st.DeleteUserSessions(ctx, name); err != nil {
		return err
	}
	return a.record(ctx, AuditEvent{Actor: actor, Action: ActionUserChange, Object: "user:" + name, Outcome: OutcomeOK, Detail: "password"})
}

// SetRoles replaces a user's roles. Sessions carry no roles, so the change
// applies to the next request; tokens keep their scopes but lose whatever
// the new roles no longer grant.
func (a *Accounts) SetRoles(ctx context.Context, actor, name string, roles []Role) error {
	u, err := a.st.User(ctx, name)
	if err != nil {
		return err
	}
	for _, r := range roles {
		if _, err := ParseRole(string(r)); err != nil {
			return err
		}
	}
	before := strings.Join(u.Roles, ",")
	u.Roles = roleNames(roles)
	if _, err := a.st.UpdateUser(ctx, u); err != nil {
		return err
	}
	return a.record(ctx, AuditEvent{Actor: actor, Action: ActionUserChange, Object: "user:" + name, Outcome: OutcomeOK,
		Detail: "roles " + before + " -> " + strings.Join(u.Roles, ",")})
}

// SetDisabled disables (or enables again) an account; disabling ends its
// sessions at once, and its tokens stop working.
func (a *Accounts) SetDisabled(ctx context.Context, actor, name string, disabled bool) error {
	u, err := a.st.User(ctx, name)
	if err != nil {
		return err
	}
	u.Disabled = disabled
	if _, err := a.st.UpdateUser(ctx, u); err != nil {
		return err
	}
	detail := "enable"
	if disabled {
		detail = "disable"
		if _, err := a.st.DeleteUserSessions(ctx, name); err != nil {
			return err
		}
	}
	return a.record(ctx, AuditEvent{Actor: actor, Action: ActionUserChange, Object: "user:" + name, Outcome: OutcomeOK, Detail: detail})
}

// Users lists the accounts.
func (a *Accounts) Users(ctx context.Context) ([]store.User, error) { return a.st.Users(ctx) }

// Login checks a password. client is the caller's pseudonymous address
// (Pseudonym(key, PurposeRateLimit, ip)), which with the name keys the
// throttle. On success it starts a session and returns its id, for the
// cookie, shown once; the store keeps only its hash. Every attempt is
// audited; failures are ErrLoginFailed whatever the cause, or a
// *ThrottledError when the caller must wait.
func (a *Accounts) Login(ctx context.Context, name, password, client string) (string, Principal, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	u, err := a.st.User(ctx, name)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", Principal{}, err
	}
	// An unknown name is not written to the log: people type their
	// password into the name field.
	actor, object := "anonymous", "user:?"
	if known {
		actor, object = u.Name, "user:"+u.Name
	}
	key := LoginThrottleKey(name, client)
	wait, err := a.throttle.Check(ctx, key)
	if err != nil {
		return "", Principal{}, err
	}
	if wait > 0 {
		if err := a.record(ctx, AuditEvent{Actor: actor, Action: ActionLogin, Object: object, Outcome: OutcomeDenied,
			Detail: "throttled " + strconv.Itoa(int(wait.Seconds())) + "s"}); err != nil {
			return "", Principal{}, err
		}
		return "", Principal{}, &ThrottledError{Wait: wait}
	}
	ok := false
	if known {
		if ok, err = a.hasher.Verify(ctx, u.PasswordHash, password); err != nil {
			return "", Principal{}, err
		}
	} else {
		a.hasher.VerifyAbsent(ctx, password)
	}
	if !ok || u.Disabled {
		if err := a.throttle.Failure(ctx, key); err != nil {
			return "", Principal{}, err
		}
		detail := "wrong password"
		switch {
		case !known:
			detail = "unknown user"
		case ok:
			detail = "disabled"
		}
		if err := a.record(ctx, AuditEvent{Actor: actor, Action: ActionLogin, Object: object, Outcome: OutcomeFailed, Detail: detail}); err != nil {
			return "", Principal{}, err
		}
		return "", Principal{}, ErrLoginFailed
	}
	if err := a.throttle.Success(ctx, key); err != nil {
		return "", Principal{}, err
	}
	if a.hasher.NeedsRehash(u.PasswordHash) {
		if h, err := a.hasher.Hash(ctx, password); err == nil {
			u.PasswordHash = h
			if _, err := a.st.UpdateUser(ctx, u); err != nil {
				return "", Principal{}, err
			}
		}
	}
	id, se, err := a.newSession(u.Name)
	if err != nil {
		return "", Principal{}, err
	}
	if err := a.st.AddSession(ctx, se); err != nil {
		return "", Principal{}, err
	}
	// Expired sessions are swept at each login: no separate job needed.
	if _, err := a.st.DeleteExpiredSessions(ctx, a.now(), a.idle); err != nil {
		return "", Principal{}, err
	}
	if err := a.record(ctx, AuditEvent{Actor: actor, Action: ActionLogin, Object: object, Outcome: OutcomeOK}); err != nil {
		a.st.DeleteSession(context.WithoutCancel(ctx), se.IDHash)
		return "", Principal{}, err
	}
	return id, Principal{User: u.Name, Roles: rolesOf(u)}, nil
}

func (a *Accounts) newSession(user string) (string, store.Session, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", store.Session{}, err
	}
	id := base64.RawURLEncoding.EncodeToString(raw)
	clear(raw)
	now := a.now().UTC().Truncate(time.Microsecond)
	return id, store.Session{IDHash: sessionHash(id), User: user, CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(a.absolute)}, nil
}

func sessionHash(id string) string {
	sum := sm3.Sum([]byte("govsurvey/session/v1\x00" + id))
	return hex.EncodeToString(sum[:])
}

// Session returns who the session id (from the cookie) acts for, and
// touches it. An unknown, expired or idle session, or one of a disabled or
// removed user, is ErrNoSession.
func (a *Accounts) Session(ctx context.Context, id string) (Principal, error) {
	if id == "" || len(id) > 128 {
		return Principal{}, ErrNoSession
	}
	se, err := a.st.Session(ctx, sessionHash(id))
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrNoSession
	}
	if err != nil {
		return Principal{}, err
	}
	now := a.now()
	if !now.Before(se.ExpiresAt) || now.Sub(se.LastSeen) >= a.idle {
		a.st.DeleteSession(ctx, se.IDHash)
		return Principal{}, ErrNoSession
	}
	u, err := a.st.User(ctx, se.User)
	if errors.Is(err, store.ErrNotFound) || err == nil && u.Disabled {
		a.st.DeleteSession(ctx, se.IDHash)
		return Principal{}, ErrNoSession
	}
	if err != nil {
		return Principal{}, err
	}
	// A write per request would make every console click a transaction;
	// the idle clock only needs minute precision.
	if now.Sub(se.LastSeen) > time.Minute {
		if err := a.st.TouchSession(ctx, se.IDHash, now); err != nil {
			return Principal{}, err
		}
	}
	return Principal{User: u.Name, Roles: rolesOf(u)}, nil
}

// Logout ends a session and audits it.
func (a *Accounts) Logout(ctx context.Context, id string, p Principal) error {
	if err := a.st.DeleteSession(ctx, sessionHash(id)); err != nil {
		return err
	}
	return a.record(ctx, AuditEvent{Actor: p.User, Action: ActionLogout, Object: "user:" + p.User, Outcome: OutcomeOK})
}

// NewToken makes an API token for owner with scopes and lifetime ttl. It
// returns the token, to show once, and its record.
func (a *Accounts) NewToken(ctx context.Context, actor, owner, name string, scopes []Permission, ttl time.Duration) (string, APIToken, error) {
	u, err := a.st.User(ctx, owner)
	if err != nil {
		return "", APIToken{}, err
	}
	if u.Disabled {
		return "", APIToken{}, ErrUserDisabled
	}
	secret, tok, err := NewAPIToken(TokenRequest{Owner: owner, Roles: rolesOf(u), Name: name, Scopes: scopes, TTL: ttl},
		a.now().UTC().Truncate(time.Microsecond))
	if err != nil {
		return "", APIToken{}, err
	}
	scopeNames := make([]string, len(tok.Scopes))
	for i, p := range tok.Scopes {
		scopeNames[i] = string(p)
	}
	if err := a.st.AddAPIToken(ctx, store.APIToken{Hash: tok.Hash, Owner: tok.Owner, Name: tok.Name, Scopes: scopeNames,
		CreatedAt: tok.Created, ExpiresAt: tok.Expires}); err != nil {
		return "", APIToken{}, err
	}
	if err := a.record(ctx, AuditEvent{Actor: actor, Action: ActionTokenCreate, Object: "token:" + tok.Hash[:16],
		Outcome: OutcomeOK, Detail: "owner=" + owner + " scopes=" + strings.Join(scopeNames, ",") + " expires=" + tok.Expires.Format(time.RFC3339)}); err != nil {
		a.st.RevokeAPIToken(ctx, tok.Hash, a.now())
		return "", APIToken{}, err
	}
	return secret, tok, nil
}

func fromStoreToken(t store.APIToken) APIToken {
	scopes := make([]Permission, len(t.Scopes))
	for i, s := range t.Scopes {
		scopes[i] = Permission(s)
	}
	return APIToken{Hash: t.Hash, Owner: t.Owner, Name: t.Name, Scopes: scopes, Created: t.CreatedAt, Expires: t.ExpiresAt, Revoked: t.RevokedAt}
}

// Tokens lists the token records of owner ("": everyone's).
func (a *Accounts) Tokens(ctx context.Context, owner string) ([]APIToken, error) {
	ts, err := a.st.APITokens(ctx, owner)
	if err != nil {
		return nil, err
	}
	out := make([]APIToken, len(ts))
	for i, t := range ts {
		out[i] = fromStoreToken(t)
	}
	return out, nil
}

// RevokeToken revokes the token whose hash starts with prefix (at least 8
// hex digits, as `user token list` shows them), owned by owner.
func (a *Accounts) RevokeToken(ctx context.Context, actor, owner, prefix string) (APIToken, error) {
	if len(prefix) < 8 {
		return APIToken{}, errors.New("security: give at least 8 characters of the token id")
	}
	ts, err := a.Tokens(ctx, owner)
	if err != nil {
		return APIToken{}, err
	}
	var found []APIToken
	for _, t := range ts {
		if strings.HasPrefix(t.Hash, prefix) {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return APIToken{}, fmt.Errorf("security: token %s of %s: %w", prefix, owner, store.ErrNotFound)
	case 1:
	default:
		return APIToken{}, fmt.Errorf("security: token id %s is ambiguous; give more of it", prefix)
	}
	t := found[0]
	if err := a.st.RevokeAPIToken(ctx, t.Hash, a.now()); err != nil {
		return APIToken{}, err
	}
	return t, a.record(ctx, AuditEvent{Actor: actor, Action: ActionTokenRevoke, Object: "token:" + t.Hash[:16], Outcome: OutcomeOK, Detail: "owner=" + owner})
}

// Token returns who a bearer token acts for: its owner, narrowed to the
// token's scopes. A malformed, unknown, revoked or expired token, or one
// whose owner is disabled, is an error wrapping ErrTokenInvalid,
// ErrTokenRevoked, ErrTokenExpired or ErrTokenMalformed.
func (a *Accounts) Token(ctx context.Context, secret string) (Principal, error) {
	hash, err := ParseToken(secret)
	if err != nil {
		return Principal{}, err
	}
	st, err := a.st.APIToken(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrTokenInvalid
	}
	if err != nil {
		return Principal{}, err
	}
	tok := fromStoreToken(st)
	if err := VerifyToken(secret, tok, a.now()); err != nil {
		return Principal{}, err
	}
	u, err := a.st.User(ctx, tok.Owner)
	if errors.Is(err, store.ErrNotFound) || err == nil && u.Disabled {
		return Principal{}, ErrTokenInvalid
	}
	if err != nil {
		return Principal{}, err
	}
	return Principal{User: u.Name, Roles: rolesOf(u), Token: &tok}, nil
}
