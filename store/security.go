package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// What package security keeps in the store: staff accounts, sessions, API
// tokens, the audit log and its checkpoints, the installation's keys
// (secrets), and the erasure of personal data at the end of its retention.
// The store does not interpret any of it: hashes, roles and scopes are
// opaque strings here, and the audit chain is linked by the caller.

// ErrExists is returned when adding something whose key is taken.
var ErrExists = errors.New("store: already exists")

// ErrConflict is returned by ReplaceSecret when the stored value is no
// longer the one the caller read: someone else changed it meanwhile.
var ErrConflict = errors.New("store: changed by someone else")

// User is a staff account.
type User struct {
	Name         string   // the login name, lower case
	PasswordHash string   // argon2id PHC string; never the password
	Roles        []string // security.Role names
	Disabled     bool
	CreatedAt    time.Time // set by the store
	UpdatedAt    time.Time // set by the store on every change
}

// Session is a console login. The cookie holds the session id; the store
// keeps only its hash, so a copy of the database opens no session.
type Session struct {
	IDHash    string
	User      string
	CreatedAt time.Time
	LastSeen  time.Time // the idle expiry counts from here
	ExpiresAt time.Time // the absolute expiry
}

// APIToken is the stored record of an API token: its hash, never the token.
type APIToken struct {
	Hash      string
	Owner     string
	Name      string
	Scopes    []string // security.Permission names
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt time.Time // zero while valid
}

// AuditRecord is one stored line of the audit log (security.AuditEntry).
type AuditRecord struct {
	Seq      int64
	Time     time.Time
	Actor    string
	Action   string
	Object   string
	Outcome  string
	Detail   string
	PrevHash []byte
	Hash     []byte
}

// AuditCheckpoint is a signed statement of the log's hash at Seq
// (security.AuditCheckpoint).
type AuditCheckpoint struct {
	Seq       int64
	Time      time.Time
	Hash      []byte
	Signature []byte
}

// shared implements the parts of Store whose SQL both dialects share,
// over the dialect seam. Both stores embed it.
type shared struct{ d dialect }

const (
	userColumns = `name, password_hash, roles, disabled, created_at, updated_at`

	insertUser = `INSERT INTO users (` + userColumns + `) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO NOTHING`

	updateUser = `UPDATE users SET password_hash = ?, roles = ?, disabled = ?, updated_at = ? WHERE name = ?`

	queryUser = `SELECT ` + userColumns + ` FROM users WHERE name = ?`

	queryUsers = `SELECT ` + userColumns + ` FROM users ORDER BY name`

	sessionColumns = `id_hash, user_name, created_at, last_seen, expires_at`

	insertSession = `INSERT INTO sessions (` + sessionColumns + `) VALUES (?, ?, ?, ?, ?)`

	querySession = `SELECT ` + sessionColumns + ` FROM sessions WHERE id_hash = ?`

	touchSession = `UPDATE sessions SET last_seen = ? WHERE id_hash = ? AND last_seen < ?`

	deleteSession = `DELETE FROM sessions WHERE id_hash = ?`

	deleteUserSessions = `DELETE FROM sessions WHERE user_name = ?`

	deleteExpiredSessions = `DELETE FROM sessions WHERE expires_at <= ? OR last_seen <= ?`

	tokenColumns = `hash, owner, name, scopes, created_at, expires_at, revoked_at`

	insertToken = `INSERT INTO api_tokens (` + tokenColumns + `) VALUES (?, ?, ?, ?, ?, ?, NULL)`

	queryToken = `SELECT ` + tokenColumns + ` FROM api_tokens WHERE hash = ?`

	queryTokens = `SELECT ` + tokenColumns + ` FROM api_tokens ORDER BY owner, created_at, hash`

	queryOwnerTokens = `SELECT ` + tokenColumns + ` FROM api_tokens WHERE owner = ? ORDER BY created_at, hash`

	revokeToken = `UPDATE api_tokens SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL`

	auditColumns = `seq, at, actor, action, object, outcome, detail, prev_hash, hash`

	queryLastAudit = `SELECT ` + auditColumns + ` FROM audit_log ORDER BY seq DESC LIMIT 1`

	insertAudit = `INSERT INTO audit_log (` + auditColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

	queryAudit = `SELECT ` + auditColumns + ` FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`

	insertCheckpoint = `INSERT INTO audit_checkpoints (seq, at, hash, signature) VALUES (?, ?, ?, ?)
		ON CONFLICT (seq) DO NOTHING`

	queryCheckpoints = `SELECT seq, at, hash, signature FROM audit_checkpoints ORDER BY seq`

	updateSecret = `UPDATE secrets SET value = ? WHERE name = ? AND value = ?`

	deleteSecret = `DELETE FROM secrets WHERE name = ?`

	// eraseSealed is retention: the personal part, the archived raw body
	// and the client key of the form's responses submitted before a time.
	// Withdrawn ones hold none of them already.
	eraseSealed = `UPDATE responses SET sealed = NULL, raw = NULL, client = ''
		WHERE form_id = ? AND submitted_at < ? AND (sealed IS NOT NULL OR raw IS NOT NULL OR client <> '')`
)

// auditChunk is how many audit entries EachAudit reads per query.
const auditChunk = 1000

func checkUser(u User) error {
	if u.Name == "" {
		return errors.New("store: a user needs a name")
	}
	for _, f := range []struct{ what, s string }{
		{"name", u.Name}, {"password hash", u.PasswordHash}, {"roles", strings.Join(u.Roles, " ")},
	} {
		if err := checkText(f.what, f.s); err != nil {
			return fmt.Errorf("store: user %q: %w", u.Name, err)
		}
	}
	if err := checkWords("role", u.Roles); err != nil {
		return fmt.Errorf("store: user %q: %w", u.Name, err)
	}
	return nil
}

// checkWords refuses list items that could not be told apart once joined
// with spaces.
func checkWords(what string, words []string) error {
	for _, w := range words {
		if w == "" || strings.ContainsAny(w, " \t\n") {
			return fmt.Errorf("%s %q is empty or holds white space", what, w)
		}
	}
	return nil
}

func words(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

func scanUser(row scanner) (User, error) {
	var u User
	var roles string
	var created, updated int64
	err := row.Scan(&u.Name, &u.PasswordHash, &roles, &u.Disabled, &created, &updated)
	u.Roles = words(roles)
	u.CreatedAt, u.UpdatedAt = fromMicros(created), fromMicros(updated)
	return u, err
}

func userError(name string, err error) error {
	if isNoRows(err) {
		return fmt.Errorf("store: user %s: %w", name, ErrNotFound)
	}
	return fmt.Errorf("store: user %s: %w", name, err)
}

func (s shared) AddUser(ctx context.Context, u User) (User, error) {
	if err := checkUser(u); err != nil {
		return User{}, err
	}
	u.CreatedAt = now()
	u.UpdatedAt = u.CreatedAt
	err := s.d.tx(ctx, func(q querier) error {
		n, err := q.exec(ctx, insertUser, u.Name, u.PasswordHash, strings.Join(u.Roles, " "), u.Disabled,
			micros(u.CreatedAt), micros(u.UpdatedAt))
		if err != nil {
			return userError(u.Name, err)
		}
		if n == 0 {
			return fmt.Errorf("store: user %s: %w", u.Name, ErrExists)
		}
		return nil
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

func (s shared) UpdateUser(ctx context.Context, u User) (User, error) {
	if err := checkUser(u); err != nil {
		return User{}, err
	}
	var out User
	err := s.d.tx(ctx, func(q querier) error {
		n, err := q.exec(ctx, updateUser, u.PasswordHash, strings.Join(u.Roles, " "), u.Disabled, micros(now()), u.Name)
		if err != nil {
			return userError(u.Name, err)
		}
		if n == 0 {
			return userError(u.Name, sql.ErrNoRows)
		}
		out, err = scanUser(q.queryRow(ctx, queryUser, u.Name))
		if err != nil {
			return userError(u.Name, err)
		}
		return nil
	})
	return out, err
}

func (s shared) User(ctx context.Context, name string) (User, error) {
	u, err := scanUser(s.d.reader().queryRow(ctx, queryUser, name))
	if err != nil {
		return User{}, userError(name, err)
	}
	return u, nil
}

func (s shared) Users(ctx context.Context) ([]User, error) {
	rows, err := s.d.reader().query(ctx, queryUsers)
	if err != nil {
		return nil, fmt.Errorf("store: listing users: %w", err)
	}
	defer rows.Close()
	var us []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: listing users: %w", err)
		}
		us = append(us, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: listing users: %w", err)
	}
	return us, nil
}

func (s shared) AddSession(ctx context.Context, se Session) error {
	if se.IDHash == "" || se.User == "" {
		return errors.New("store: a session needs an id hash and a user")
	}
	if err := checkText("session user", se.User); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return s.d.tx(ctx, func(q querier) error {
		_, err := q.exec(ctx, insertSession, se.IDHash, se.User, micros(se.CreatedAt), micros(se.LastSeen), micros(se.ExpiresAt))
		if err != nil {
			return fmt.Errorf("store: adding a session of %s: %w", se.User, err)
		}
		return nil
	})
}

func scanSession(row scanner) (Session, error) {
	var se Session
	var created, seen, expires int64
	err := row.Scan(&se.IDHash, &se.User, &created, &seen, &expires)
	se.CreatedAt, se.LastSeen, se.ExpiresAt = fromMicros(created), fromMicros(seen), fromMicros(expires)
	return se, err
}

func (s shared) Session(ctx context.Context, idHash string) (Session, error) {
	se, err := scanSession(s.d.reader().queryRow(ctx, querySession, idHash))
	if err != nil {
		if isNoRows(err) {
			return Session{}, fmt.Errorf("store: session: %w", ErrNotFound)
		}
		return Session{}, fmt.Errorf("store: session: %w", err)
	}
	return se, nil
}

// TouchSession moves a session's LastSeen forward to at (never back).
func (s shared) TouchSession(ctx context.Context, idHash string, at time.Time) error {
	return s.d.tx(ctx, func(q querier) error {
		if _, err := q.exec(ctx, touchSession, micros(at), idHash, micros(at)); err != nil {
			return fmt.Errorf("store: session: %w", err)
		}
		return nil
	})
}

func (s shared) DeleteSession(ctx context.Context, idHash string) error {
	return s.d.tx(ctx, func(q querier) error {
		if _, err := q.exec(ctx, deleteSession, idHash); err != nil {
			return fmt.Errorf("store: session: %w", err)
		}
		return nil
	})
}

func (s shared) DeleteUserSessions(ctx context.Context, user string) (int, error) {
	var n int64
	err := s.d.tx(ctx, func(q querier) error {
		var err error
		if n, err = q.exec(ctx, deleteUserSessions, user); err != nil {
			return fmt.Errorf("store: sessions of %s: %w", user, err)
		}
		return nil
	})
	return int(n), err
}

func (s shared) DeleteExpiredSessions(ctx context.Context, now time.Time, idle time.Duration) (int, error) {
	var n int64
	err := s.d.tx(ctx, func(q querier) error {
		var err error
		if n, err = q.exec(ctx, deleteExpiredSessions, micros(now), micros(now.Add(-idle))); err != nil {
			return fmt.Errorf("store: expired sessions: %w", err)
		}
		return nil
	})
	return int(n), err
}

func (s shared) AddAPIToken(ctx context.Context, t APIToken) error {
	if t.Hash == "" || t.Owner == "" {
		return errors.New("store: a token needs a hash and an owner")
	}
	for _, f := range []struct{ what, s string }{{"owner", t.Owner}, {"name", t.Name}} {
		if err := checkText(f.what, f.s); err != nil {
			return fmt.Errorf("store: token of %s: %w", t.Owner, err)
		}
	}
	if err := checkWords("scope", t.Scopes); err != nil {
		return fmt.Errorf("store: token of %s: %w", t.Owner, err)
	}
	return s.d.tx(ctx, func(q querier) error {
		_, err := q.exec(ctx, insertToken, t.Hash, t.Owner, t.Name, strings.Join(t.Scopes, " "),
			micros(t.CreatedAt), micros(t.ExpiresAt))
		if err != nil {
			return fmt.Errorf("store: adding a token of %s: %w", t.Owner, err)
		}
		return nil
	})
}

func scanToken(row scanner) (APIToken, error) {
	var t APIToken
	var scopes string
	var created, expires int64
	var revoked sql.NullInt64
	err := row.Scan(&t.Hash, &t.Owner, &t.Name, &scopes, &created, &expires, &revoked)
	t.Scopes = words(scopes)
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = fromMicros(created), fromMicros(expires), fromNullMicros(revoked)
	return t, err
}

func (s shared) APIToken(ctx context.Context, hash string) (APIToken, error) {
	t, err := scanToken(s.d.reader().queryRow(ctx, queryToken, hash))
	if err != nil {
		if isNoRows(err) {
			return APIToken{}, fmt.Errorf("store: token: %w", ErrNotFound)
		}
		return APIToken{}, fmt.Errorf("store: token: %w", err)
	}
	return t, nil
}

func (s shared) APITokens(ctx context.Context, owner string) ([]APIToken, error) {
	q, args := queryTokens, []any{}
	if owner != "" {
		q, args = queryOwnerTokens, []any{owner}
	}
	rows, err := s.d.reader().query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: listing tokens: %w", err)
	}
	defer rows.Close()
	var ts []APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("store: listing tokens: %w", err)
		}
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: listing tokens: %w", err)
	}
	return ts, nil
}

// RevokeAPIToken marks a token revoked at at; revoking it again keeps the
// first time. An unknown hash is ErrNotFound.
func (s shared) RevokeAPIToken(ctx context.Context, hash string, at time.Time) error {
	return s.d.tx(ctx, func(q querier) error {
		n, err := q.exec(ctx, revokeToken, micros(at), hash)
		if err != nil {
			return fmt.Errorf("store: revoking a token: %w", err)
		}
		if n == 0 {
			if _, err := scanToken(q.queryRow(ctx, queryToken, hash)); err != nil {
				if isNoRows(err) {
					return fmt.Errorf("store: token: %w", ErrNotFound)
				}
				return fmt.Errorf("store: revoking a token: %w", err)
			}
		}
		return nil
	})
}

func scanAudit(row scanner) (AuditRecord, error) {
	var a AuditRecord
	var at int64
	err := row.Scan(&a.Seq, &at, &a.Actor, &a.Action, &a.Object, &a.Outcome, &a.Detail, &a.PrevHash, &a.Hash)
	a.Time = fromMicros(at)
	return a, err
}

// AppendAudit appends one entry to the audit log. In one transaction that
// no other append can interleave with, it reads the newest entry and calls
// link with it (nil for an empty log); link returns the entry to store,
// chained to it (security.LinkAuditEntry). It returns what was stored.
func (s shared) AppendAudit(ctx context.Context, link func(prev *AuditRecord) (AuditRecord, error)) (AuditRecord, error) {
	var out AuditRecord
	err := s.d.tx(ctx, func(q querier) error {
		if err := s.d.lockAudit(ctx, q); err != nil {
			return fmt.Errorf("store: audit log: %w", err)
		}
		var prev *AuditRecord
		last, err := scanAudit(q.queryRow(ctx, queryLastAudit))
		switch {
		case err == nil:
			prev = &last
		case !isNoRows(err):
			return fmt.Errorf("store: audit log: %w", err)
		}
		e, err := link(prev)
		if err != nil {
			return err
		}
		for _, f := range []struct{ what, s string }{
			{"actor", e.Actor}, {"action", e.Action}, {"object", e.Object}, {"outcome", e.Outcome}, {"detail", e.Detail},
		} {
			if err := checkText(f.what, f.s); err != nil {
				return fmt.Errorf("store: audit entry: %w", err)
			}
		}
		if _, err := q.exec(ctx, insertAudit, e.Seq, micros(e.Time), e.Actor, e.Action, e.Object,
			e.Outcome, e.Detail, notNil(e.PrevHash), notNil(e.Hash)); err != nil {
			return fmt.Errorf("store: appending to the audit log: %w", err)
		}
		out = e
		return nil
	})
	return out, err
}

// EachAudit streams the audit log in seq order, from the entry after
// afterSeq (0: from the start). It stops at the first error fn returns.
func (s shared) EachAudit(ctx context.Context, afterSeq int64, fn func(AuditRecord) error) error {
	chunk := make([]AuditRecord, 0, auditChunk)
	for {
		chunk = chunk[:0]
		rows, err := s.d.reader().query(ctx, queryAudit, afterSeq, auditChunk)
		if err != nil {
			return fmt.Errorf("store: reading the audit log: %w", err)
		}
		for rows.Next() {
			a, err := scanAudit(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("store: reading the audit log: %w", err)
			}
			chunk = append(chunk, a)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("store: reading the audit log: %w", err)
		}
		for _, a := range chunk {
			if err := fn(a); err != nil {
				return err
			}
		}
		if len(chunk) < auditChunk {
			return nil
		}
		afterSeq = chunk[len(chunk)-1].Seq
	}
}

// AddAuditCheckpoint stores a checkpoint; a second one at the same Seq
// changes nothing.
func (s shared) AddAuditCheckpoint(ctx context.Context, c AuditCheckpoint) error {
	return s.d.tx(ctx, func(q querier) error {
		if _, err := q.exec(ctx, insertCheckpoint, c.Seq, micros(c.Time), notNil(c.Hash), notNil(c.Signature)); err != nil {
			return fmt.Errorf("store: audit checkpoint: %w", err)
		}
		return nil
	})
}

func (s shared) AuditCheckpoints(ctx context.Context) ([]AuditCheckpoint, error) {
	rows, err := s.d.reader().query(ctx, queryCheckpoints)
	if err != nil {
		return nil, fmt.Errorf("store: audit checkpoints: %w", err)
	}
	defer rows.Close()
	var cs []AuditCheckpoint
	for rows.Next() {
		var c AuditCheckpoint
		var at int64
		if err := rows.Scan(&c.Seq, &at, &c.Hash, &c.Signature); err != nil {
			return nil, fmt.Errorf("store: audit checkpoints: %w", err)
		}
		c.Time = fromMicros(at)
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: audit checkpoints: %w", err)
	}
	return cs, nil
}

// ReplaceSecret changes a secret from old to value, only if it still holds
// old (ErrConflict otherwise; ErrNotFound when there is no such secret):
// two nodes rotating a key at once cannot lose each other's change.
func (s shared) ReplaceSecret(ctx context.Context, name string, old, value []byte) error {
	if err := checkSecret(name, value); err != nil {
		return err
	}
	return s.d.tx(ctx, func(q querier) error {
		n, err := q.exec(ctx, updateSecret, value, name, notNil(old))
		if err != nil {
			return fmt.Errorf("store: secret %s: %w", name, err)
		}
		if n == 1 {
			return nil
		}
		var v []byte
		if err := q.queryRow(ctx, querySecret, name).Scan(&v); err != nil {
			if isNoRows(err) {
				return fmt.Errorf("store: secret %s: %w", name, ErrNotFound)
			}
			return fmt.Errorf("store: secret %s: %w", name, err)
		}
		return fmt.Errorf("store: secret %s: %w", name, ErrConflict)
	})
}

// LookupSecret returns the secret called name, or ErrNotFound; unlike
// Secret it never stores anything.
func (s shared) LookupSecret(ctx context.Context, name string) ([]byte, error) {
	var v []byte
	if err := s.d.reader().queryRow(ctx, querySecret, name).Scan(&v); err != nil {
		if isNoRows(err) {
			return nil, fmt.Errorf("store: secret %s: %w", name, ErrNotFound)
		}
		return nil, fmt.Errorf("store: secret %s: %w", name, err)
	}
	return v, nil
}

// DeleteSecret removes a secret; removing a missing one is not an error.
func (s shared) DeleteSecret(ctx context.Context, name string) error {
	return s.d.tx(ctx, func(q querier) error {
		if _, err := q.exec(ctx, deleteSecret, name); err != nil {
			return fmt.Errorf("store: secret %s: %w", name, err)
		}
		return nil
	})
}

// EraseSealed erases the sealed part, the raw body and the client key of a
// form's responses submitted before before, and returns how many it changed.
func (s shared) EraseSealed(ctx context.Context, formID string, before time.Time) (int, error) {
	var n int64
	err := s.d.tx(ctx, func(q querier) error {
		var err error
		if n, err = q.exec(ctx, eraseSealed, formID, micros(before)); err != nil {
			return fmt.Errorf("store: erasing personal data of %s: %w", formID, err)
		}
		return nil
	})
	return int(n), err
}
