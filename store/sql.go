package store

import (
	"cmp"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// What both dialects share: the SQL text (written with ? placeholders;
// PostgreSQL rewrites them with dollar), the encoding of times, validation,
// and scanning. pgx rows and database/sql rows both have Scan(...any) error.

const formColumns = `form_id, revision, version, title, hash, definition, source, source_name, created_at`

// responseColumns are what every read of responses shares; a new response
// is never withdrawn, so withdrawn_at is only read (responseReadColumns).
// raw, the archived body, is written (responseInsertColumns) but read by
// Response alone: the stream analysis reads never carries it.
const responseColumns = `form_id, instance_id, revision, started, ended, submitted_at, client, channel, answers, honeypot, receipt, paradata, sealed`

const responseInsertColumns = responseColumns + `, raw`

const responseReadColumns = responseColumns + `, withdrawn_at`

const (
	queryLatestForm = `SELECT ` + formColumns + ` FROM forms WHERE form_id = ? ORDER BY revision DESC LIMIT 1`

	queryFormRevision = `SELECT ` + formColumns + ` FROM forms WHERE form_id = ? AND revision = ?`

	queryLatestForms = `SELECT ` + formColumns + ` FROM forms f
		WHERE revision = (SELECT max(revision) FROM forms WHERE form_id = f.form_id)
		ORDER BY form_id`

	insertForm = `INSERT INTO forms (` + formColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

	queryFormRevisionExists = `SELECT count(*) FROM forms WHERE form_id = ? AND revision = ?`

	queryResponse = `SELECT ` + responseReadColumns + `, raw FROM responses WHERE form_id = ? AND instance_id = ?`

	queryCountResponses = `SELECT count(*) FROM responses WHERE form_id = ? AND withdrawn_at IS NULL`

	insertResponse = `INSERT INTO responses (` + responseInsertColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (form_id, instance_id) DO NOTHING`

	querySchemaVersion = `SELECT coalesce(max(version), 0) FROM schema_migrations`

	insertSchemaVersion = `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`
)

// dollar rewrites ? placeholders as $1, $2, … for PostgreSQL. The queries
// above hold no ? inside string literals, so a plain scan is enough.
func dollar(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// micros encodes a time as unix microseconds. Sub-microsecond digits are
// dropped (floor), which is what both databases could keep anyway.
func micros(t time.Time) int64 { return t.UnixMicro() }

// nullMicros encodes an optional time: the zero time is NULL.
func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

// fromMicros decodes a time, in UTC. The zero time's own microsecond count
// decodes to the zero time again, so even a zero SubmittedAt round-trips.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func fromNullMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromMicros(n.Int64)
}

// now is the creation time of a form, exactly as it will read back.
func now() time.Time { return fromMicros(time.Now().UnixMicro()) }

// notNil keeps an empty byte slice from being bound as NULL: both drivers
// send a nil []byte as NULL, and the columns are NOT NULL.
func notNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

type scanner interface {
	Scan(dest ...any) error
}

func scanForm(row scanner) (FormVersion, error) {
	var fv FormVersion
	var created int64
	err := row.Scan(&fv.FormID, &fv.Revision, &fv.Version, &fv.Title, &fv.Hash,
		&fv.Definition, &fv.Source, &fv.SourceName, &created)
	fv.CreatedAt = fromMicros(created)
	return fv, err
}

func formArgs(fv FormVersion) []any {
	return []any{fv.FormID, fv.Revision, fv.Version, fv.Title, fv.Hash,
		notNil(fv.Definition), notNil(fv.Source), fv.SourceName, micros(fv.CreatedAt)}
}

// scanResponse scans responseReadColumns, and then into more, if given,
// the columns the query selects after them (Response's raw).
func scanResponse(row scanner, more ...any) (Response, error) {
	var r Response
	var started, ended, withdrawn sql.NullInt64
	var submitted int64
	var receipt sql.NullString
	dest := append([]any{&r.FormID, &r.InstanceID, &r.Revision, &started, &ended,
		&submitted, &r.Client, &r.Channel, &r.Answers, &r.Honeypot, &receipt, &r.Paradata, &r.Sealed, &withdrawn}, more...)
	err := row.Scan(dest...)
	r.Started = fromNullMicros(started)
	r.Ended = fromNullMicros(ended)
	r.SubmittedAt = fromMicros(submitted)
	r.Receipt = receipt.String
	r.WithdrawnAt = fromNullMicros(withdrawn)
	return r, err
}

func responseArgs(r Response) []any {
	return []any{r.FormID, r.InstanceID, r.Revision, nullMicros(r.Started), nullMicros(r.Ended),
		micros(r.SubmittedAt), r.Client, r.Channel, notNil(r.Answers), r.Honeypot,
		nullText(r.Receipt), nilIfEmpty(r.Paradata), nilIfEmpty(r.Sealed), nilIfEmpty(r.Raw)}
}

// scanArchivedResponse scans queryResponse: the response with its raw body.
func scanArchivedResponse(row scanner) (Response, error) {
	var raw []byte
	r, err := scanResponse(row, &raw)
	r.Raw = raw
	return r, err
}

// nullText stores "" as NULL, for columns where NULL means "none" and a
// unique index must not see every empty value as the same one.
func nullText(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}

// nilIfEmpty stores an empty byte slice as NULL (it reads back as nil).
func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// checkText refuses what PostgreSQL cannot keep in TEXT (invalid UTF-8, NUL),
// so that both stores accept exactly the same values.
func checkText(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8", what)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%s contains a NUL byte", what)
	}
	return nil
}

func checkForm(fv FormVersion) error {
	if fv.FormID == "" {
		return fmt.Errorf("store: form has no id")
	}
	if fv.Hash == "" {
		return fmt.Errorf("store: form %s has no hash", fv.FormID)
	}
	for _, f := range []struct{ what, s string }{
		{"id", fv.FormID}, {"version", fv.Version}, {"title", fv.Title},
		{"hash", fv.Hash}, {"source name", fv.SourceName},
	} {
		if err := checkText(f.what, f.s); err != nil {
			return fmt.Errorf("store: form %q: %w", fv.FormID, err)
		}
	}
	return nil
}

func checkResponse(r Response) error {
	if r.FormID == "" || r.InstanceID == "" {
		return fmt.Errorf("store: response %q of form %q: form id and instance id are required", r.InstanceID, r.FormID)
	}
	if r.Revision < 1 {
		return fmt.Errorf("store: response %q of form %q: revision %d is not a form revision", r.InstanceID, r.FormID, r.Revision)
	}
	for _, f := range []struct{ what, s string }{
		{"form id", r.FormID}, {"instance id", r.InstanceID},
		{"client", r.Client}, {"channel", r.Channel}, {"receipt", r.Receipt},
	} {
		if err := checkText(f.what, f.s); err != nil {
			return fmt.Errorf("store: response %q of form %q: %w", r.InstanceID, r.FormID, err)
		}
	}
	return nil
}

type responseKey struct{ formID, instanceID string }

type formRevision struct {
	formID   string
	revision int
}

// batch is a checked AddResponses argument: the responses to insert, each
// (FormID, InstanceID) once, in key order, and where each came from.
type batch struct {
	rows      []Response
	index     []int // index[i]: position in the caller's slice of rows[i]
	revisions []formRevision
}

// newBatch validates rs and drops the later duplicates within it: the first
// occurrence of a key is the one stored, as a re-submission would be refused.
// Rows are sorted by key so that concurrent batches lock rows in the same
// order and cannot deadlock each other in PostgreSQL.
func newBatch(rs []Response) (batch, error) {
	order := make([]int, len(rs))
	var b batch
	for i, r := range rs {
		if err := checkResponse(r); err != nil {
			return batch{}, err
		}
		order[i] = i
		fr := formRevision{r.FormID, r.Revision}
		if !slices.Contains(b.revisions, fr) { // a batch holds one or a few
			b.revisions = append(b.revisions, fr)
		}
	}
	// By key, and a key's occurrences in the caller's order: the first of
	// each run of equal keys is the one stored. No map, and each row is
	// copied once: this runs for every group commit.
	slices.SortStableFunc(order, func(x, y int) int {
		return cmp.Or(
			strings.Compare(rs[x].FormID, rs[y].FormID),
			strings.Compare(rs[x].InstanceID, rs[y].InstanceID))
	})
	b.rows = make([]Response, 0, len(rs))
	b.index = make([]int, 0, len(rs))
	for j, o := range order {
		if j > 0 {
			prev := rs[order[j-1]]
			if prev.FormID == rs[o].FormID && prev.InstanceID == rs[o].InstanceID {
				continue
			}
		}
		b.rows = append(b.rows, rs[o])
		b.index = append(b.index, o)
	}
	return b, nil
}

func errNoFormRevision(fr formRevision) error {
	return fmt.Errorf("store: form %s revision %d: %w", fr.formID, fr.revision, ErrNotFound)
}

// The not-found mapping shared by both dialects.

// isNoRows tells the "no row" of either driver.
func isNoRows(err error) bool {
	return errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows)
}

func formError(formID string, err error) error {
	if isNoRows(err) {
		return fmt.Errorf("store: form %s: %w", formID, ErrNotFound)
	}
	return fmt.Errorf("store: form %s: %w", formID, err)
}

func formRevisionError(formID string, revision int, err error) error {
	if isNoRows(err) {
		return fmt.Errorf("store: form %s revision %d: %w", formID, revision, ErrNotFound)
	}
	return fmt.Errorf("store: form %s revision %d: %w", formID, revision, err)
}

func responseError(formID, instanceID string, err error) error {
	if isNoRows(err) {
		return fmt.Errorf("store: response %s of form %s: %w", instanceID, formID, ErrNotFound)
	}
	return fmt.Errorf("store: response %s of form %s: %w", instanceID, formID, err)
}
