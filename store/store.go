// Package store keeps forms and responses. One interface, Store, has two
// implementations passing one contract suite (storetest): SQLite, the embedded
// default, and PostgreSQL for several serve nodes on one database. All SQL of
// govsurvey lives here; migrations are append-only and checked at start-up.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNotFound is returned when a form or response does not exist.
var ErrNotFound = errors.New("store: not found")

// FormVersion is one stored version of a form. The store does not interpret
// Definition; package form does.
type FormVersion struct {
	FormID     string
	Revision   int    // 1, 2, … per FormID, assigned by the store
	Version    string // the XLSForm settings version, as written
	Title      string
	Hash       string // hex SHA-256 of Definition: equal hashes mean an unchanged form
	Definition []byte // the compiled form, JSON
	Source     []byte // the file it was compiled from, byte for byte
	SourceName string // that file's name, e.g. "netizen_2019.xlsx"
	CreatedAt  time.Time
}

// Response is one stored submission. Answers is the compact encoding of
// form.Answers against the form revision it was collected with.
type Response struct {
	FormID      string
	Revision    int
	InstanceID  string
	Started     time.Time // zero when the form had no start field
	Ended       time.Time // zero when the form had no end field
	SubmittedAt time.Time
	Client      string // pseudonymous key, never a raw IP or device id
	Channel     string // "web", "api", "import"
	Answers     []byte
	// Sealed is the response's personal part: the answers package security
	// classifies personal or sensitive, encoded like Answers and sealed
	// with SM4-GCM; nil when there are none. Answers then holds the other
	// answers only, so that what can be read without the master key is
	// de-identified. Withdrawal and retention erase it.
	Sealed []byte
	// Honeypot records that the web form's hidden trap field came back
	// filled in: a person never sees the field, so a bot answered. Only the
	// web form sets it; what was typed is not kept.
	Honeypot bool
	// Receipt is the code the respondent was given to withdraw the
	// response ("" for imported responses). Receipts are unique across
	// forms; package collect makes them.
	Receipt string
	// Paradata is how the response was filled in (page timings, language),
	// as JSON from package collect; nil when there is none. Never answers.
	Paradata []byte
	// WithdrawnAt is when the respondent withdrew the response (zero: not
	// withdrawn). A withdrawn response keeps only its keys and times: its
	// answers, sealed part, raw body, paradata and client are erased, and
	// EachResponse and CountResponses leave it out.
	WithdrawnAt time.Time
	// Raw is the submission body as received, sealed whole (package
	// security seals and opens it); nil unless the deployment keeps raw
	// bodies (serve --keep-raw). Only Response reads it back: it is an
	// archive, never read for analysis, and EachResponse leaves it nil.
	// Withdrawal and retention erase it.
	Raw []byte
}

// ResponseFilter selects responses to stream.
type ResponseFilter struct {
	FormID   string
	Revision int // 0: every revision
}

// Store is everything govsurvey keeps. Implementations are safe for
// concurrent use.
type Store interface {
	CountsStore    // collection progress for the console (store_counts.go)
	PublishStore   // open-data releases, API keys and their usage (sql_publish.go)
	AdmissionStore // invitations and quotas per choice (sql_invite.go, sql_quota.go)
	ClusterStore   // counters shared by serve nodes, and a ping (sql_counter.go)
	JobsStore      // background jobs shared by serve nodes, and their files (sql_jobs.go)

	// AddForm stores fv as a new revision of its form unless the latest
	// revision has the same Hash; it returns the stored version (with its
	// Revision and CreatedAt) and whether it was new.
	AddForm(ctx context.Context, fv FormVersion) (FormVersion, bool, error)
	// Form returns the latest revision of a form, or ErrNotFound.
	Form(ctx context.Context, formID string) (FormVersion, error)
	// FormRevision returns one revision of a form, or ErrNotFound.
	FormRevision(ctx context.Context, formID string, revision int) (FormVersion, error)
	// Forms returns the latest revision of every form, ordered by FormID.
	Forms(ctx context.Context) ([]FormVersion, error)

	// AddResponses stores rs in one transaction, durably, before it returns.
	// A response whose (FormID, InstanceID) is already stored changes nothing;
	// added[i] tells whether rs[i] was new. Duplicates within rs count once.
	AddResponses(ctx context.Context, rs []Response) (added []bool, err error)
	// Response returns one response, its Raw body included, or ErrNotFound.
	Response(ctx context.Context, formID, instanceID string) (Response, error)
	// CountResponses counts the responses of a form (all revisions),
	// withdrawn ones left out.
	CountResponses(ctx context.Context, formID string) (int, error)
	// EachResponse streams the responses matching f in submission order
	// (SubmittedAt, then InstanceID), without holding them all in memory;
	// withdrawn responses are left out, and Raw is not read (nil). It
	// stops at the first error fn returns and returns it.
	EachResponse(ctx context.Context, f ResponseFilter, fn func(Response) error) error

	// WithdrawResponse withdraws the response holding receipt, in one
	// transaction: it erases its answers, sealed part, raw body, paradata
	// and client key, drops
	// its cleaning flags, and records the time; the row itself stays, so
	// that a retried submission of its instance_id still changes nothing.
	// It returns the response as it now stands. Withdrawing a withdrawn
	// response changes nothing; an unknown receipt is ErrNotFound.
	WithdrawResponse(ctx context.Context, receipt string) (Response, error)

	// Secret returns the installation secret called name. The first call
	// for a name stores value under it; later calls, on any node sharing
	// the database, return that stored value and ignore theirs, so that a
	// key generated at first start is the one every node uses.
	Secret(ctx context.Context, name string, value []byte) ([]byte, error)

	// ReplaceFlags records a cleaning run of c.FormID and its flags,
	// replacing the previous run's flags of that form as a whole, in one
	// transaction. The store sets CleanedAt and gives every flag the run's
	// RuleVersion and CleanedAt; it returns the stored run. Responses and
	// overrides are never touched.
	ReplaceFlags(ctx context.Context, c Cleaning, flags []Flag) (Cleaning, error)
	// Cleaning returns the last cleaning run of a form, or ErrNotFound.
	Cleaning(ctx context.Context, formID string) (Cleaning, error)
	// EachFlag streams the flags of the last run matching f, ordered by
	// InstanceID byte by byte. It stops at the first error fn returns.
	EachFlag(ctx context.Context, f FlagFilter, fn func(Flag) error) error

	// AddOverride records an analyst's verdict on one response and returns
	// it with its ID and CreatedAt. The response must exist (ErrNotFound).
	// Overrides are only ever added; the latest of a response counts.
	AddOverride(ctx context.Context, o Override) (Override, error)
	// Overrides returns every override of a form, oldest first (by ID).
	Overrides(ctx context.Context, formID string) ([]Override, error)

	// LookupSecret returns a stored secret, or ErrNotFound, storing nothing.
	LookupSecret(ctx context.Context, name string) ([]byte, error)
	// ReplaceSecret changes the secret name from old to value, only if it
	// still holds old: ErrConflict when someone changed it meanwhile,
	// ErrNotFound when there is no such secret. Key rotation uses it.
	ReplaceSecret(ctx context.Context, name string, old, value []byte) error
	// DeleteSecret removes a secret; a missing one is not an error.
	DeleteSecret(ctx context.Context, name string) error

	// EraseSealed erases the sealed part, the raw body and the client key
	// of the responses of formID submitted before before (retention), and
	// returns how many responses it changed.
	EraseSealed(ctx context.Context, formID string, before time.Time) (int, error)

	// AddUser stores a new account (ErrExists when the name is taken) and
	// returns it with its times. UpdateUser changes an existing one's
	// password hash, roles and disabled mark (ErrNotFound).
	AddUser(ctx context.Context, u User) (User, error)
	UpdateUser(ctx context.Context, u User) (User, error)
	// User returns one account, or ErrNotFound; Users all, by name.
	User(ctx context.Context, name string) (User, error)
	Users(ctx context.Context) ([]User, error)

	// AddSession stores a session; Session finds one by its id hash
	// (ErrNotFound); TouchSession moves its LastSeen forward.
	AddSession(ctx context.Context, s Session) error
	Session(ctx context.Context, idHash string) (Session, error)
	TouchSession(ctx context.Context, idHash string, at time.Time) error
	// DeleteSession ends one session (logout); DeleteUserSessions every
	// session of a user (password change, disabling); and
	// DeleteExpiredSessions those past their absolute expiry at now or
	// idle longer than idle. The last two return how many they ended.
	DeleteSession(ctx context.Context, idHash string) error
	DeleteUserSessions(ctx context.Context, user string) (int, error)
	DeleteExpiredSessions(ctx context.Context, now time.Time, idle time.Duration) (int, error)

	// AddAPIToken stores a token record; APIToken finds one by hash
	// (ErrNotFound); APITokens lists an owner's ("": everyone's);
	// RevokeAPIToken marks one revoked (ErrNotFound).
	AddAPIToken(ctx context.Context, t APIToken) error
	APIToken(ctx context.Context, hash string) (APIToken, error)
	APITokens(ctx context.Context, owner string) ([]APIToken, error)
	RevokeAPIToken(ctx context.Context, hash string, at time.Time) error

	// AppendAudit appends one entry to the audit log: in one transaction
	// no other append interleaves with, it calls link with the newest
	// entry (nil for an empty log) and stores what link returns. The log
	// is append-only: nothing updates or deletes it.
	AppendAudit(ctx context.Context, link func(prev *AuditRecord) (AuditRecord, error)) (AuditRecord, error)
	// EachAudit streams the log in seq order after afterSeq (0: all).
	EachAudit(ctx context.Context, afterSeq int64, fn func(AuditRecord) error) error
	// AddAuditCheckpoint stores a signed checkpoint (one per Seq; a second
	// at the same Seq changes nothing); AuditCheckpoints lists them by Seq.
	AddAuditCheckpoint(ctx context.Context, c AuditCheckpoint) error
	AuditCheckpoints(ctx context.Context) ([]AuditCheckpoint, error)

	// Close releases the store.
	Close() error
}

// Open opens the store named by dsn: "sqlite:PATH" (or a bare path) or a
// "postgres://" / "postgresql://" URL. Migrations are applied, and a database
// written by a newer govsurvey is refused.
func Open(ctx context.Context, dsn string) (Store, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return OpenPostgres(ctx, dsn)
	case strings.HasPrefix(dsn, "sqlite:"):
		return OpenSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	case dsn == "":
		return nil, fmt.Errorf("store: no database given (use sqlite:PATH or a postgres:// URL)")
	default:
		return OpenSQLite(ctx, dsn)
	}
}
