package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// What package publish keeps: releases (immutable snapshots of open
// tables and the files that make them up, kept as blobs so that every
// serve node on one database serves the same bytes without a shared
// directory), open-API keys (only a hash of the secret) with their quotas,
// and the keys' usage counters. The counters live in the database, not in
// a node's memory, so a quota holds however many serve nodes answer.

// Release is one published, signed snapshot. Releases are never changed or
// deleted: a correction is a new version.
type Release struct {
	ID        string // e.g. "netizen_2019-r1"
	FormID    string
	Version   int       // 1, 2, … per form
	CreatedAt time.Time // set by the store
	Metadata  []byte    // JSON, package publish's release.json
	Files     []ReleaseFile
}

// ReleaseFile is one file of a release, by its path in the release
// directory ("tables/gender.csv"). Body is filled only by ReleaseFile.
type ReleaseFile struct {
	Name string
	Size int64
	Body []byte
}

// OpenKey is an open-data API key: a hash of the secret and its quotas.
type OpenKey struct {
	Hash  string
	Name  string // who it is for, e.g. "city statistics bureau"
	Owner string // the staff member who made it
	// PerDay and PerMinute bound the requests a key may make in a day and
	// in a minute (0: unbounded). HoursFrom and HoursTo are the allowed
	// hours [from, to) in the office's time zone (0 and 24: all day).
	PerDay, PerMinute  int
	HoursFrom, HoursTo int
	CreatedAt          time.Time
	RevokedAt          time.Time // zero while valid
}

// OpenUsage is one day's requests of one key.
type OpenUsage struct {
	KeyHash  string
	Day      string // YYYY-MM-DD in the office's time zone
	Requests int
}

// PublishStore is what package publish keeps in the store.
type PublishStore interface {
	// NextReleaseVersion returns the version the next release of a form
	// would get: one more than its newest.
	NextReleaseVersion(ctx context.Context, formID string) (int, error)
	// AddRelease stores a release and its files in one transaction
	// (ErrExists when its ID or its form's Version is taken) and returns it
	// with CreatedAt.
	AddRelease(ctx context.Context, r Release) (Release, error)
	// Release returns a release with its files' names and sizes (no
	// bodies), or ErrNotFound; Releases every release of a form ("": all),
	// newest first, the same way.
	Release(ctx context.Context, id string) (Release, error)
	Releases(ctx context.Context, formID string) ([]Release, error)
	// ReleaseFile returns one file of a release with its body, or
	// ErrNotFound.
	ReleaseFile(ctx context.Context, id, name string) (ReleaseFile, error)

	// AddOpenKey stores a key (ErrExists when its hash is taken); OpenKey
	// finds one by hash (ErrNotFound); OpenKeys lists all by creation;
	// RevokeOpenKey marks one revoked, keeping the first time (ErrNotFound).
	AddOpenKey(ctx context.Context, k OpenKey) error
	OpenKey(ctx context.Context, hash string) (OpenKey, error)
	OpenKeys(ctx context.Context) ([]OpenKey, error)
	RevokeOpenKey(ctx context.Context, hash string, at time.Time) error
	// UseOpenKey counts one request of a key in day and minute (opaque
	// period names, ordered as strings) only if that keeps both within
	// their limits (0: unbounded), atomically across nodes. It returns
	// the requests counted in each after this one (or as they stand, when
	// refused) and whether it was counted. Counts of earlier minutes are
	// dropped; daily counts are kept as the usage record.
	UseOpenKey(ctx context.Context, hash, day string, perDay int, minute string, perMinute int) (dayCount, minuteCount int, ok bool, err error)
	// OpenUsage lists a key's daily counts ("": every key's), by key and day.
	OpenUsage(ctx context.Context, hash string) ([]OpenUsage, error)
}

const (
	queryNextReleaseVersion = `SELECT COALESCE(MAX(version), 0) + 1 FROM releases WHERE form_id = ?`

	insertRelease = `INSERT INTO releases (id, form_id, version, created_at, metadata) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`

	insertReleaseFile = `INSERT INTO release_files (release_id, name, size, body) VALUES (?, ?, ?, ?)`

	releaseColumns = `id, form_id, version, created_at, metadata`

	queryRelease = `SELECT ` + releaseColumns + ` FROM releases WHERE id = ?`

	queryReleases = `SELECT ` + releaseColumns + ` FROM releases ORDER BY created_at DESC, id DESC`

	queryFormReleases = `SELECT ` + releaseColumns + ` FROM releases WHERE form_id = ? ORDER BY version DESC`

	queryReleaseFiles = `SELECT name, size FROM release_files WHERE release_id = ? ORDER BY name`

	queryReleaseFile = `SELECT name, size, body FROM release_files WHERE release_id = ? AND name = ?`

	openKeyColumns = `hash, name, owner, per_day, per_minute, hours_from, hours_to, created_at, revoked_at`

	insertOpenKey = `INSERT INTO open_keys (` + openKeyColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)
		ON CONFLICT (hash) DO NOTHING`

	queryOpenKey = `SELECT ` + openKeyColumns + ` FROM open_keys WHERE hash = ?`

	queryOpenKeys = `SELECT ` + openKeyColumns + ` FROM open_keys ORDER BY created_at, hash`

	revokeOpenKey = `UPDATE open_keys SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL`

	countOpenDay = `INSERT INTO open_usage (key_hash, day, requests) VALUES (?, ?, 1)
		ON CONFLICT (key_hash, day) DO UPDATE SET requests = open_usage.requests + 1
		RETURNING requests`

	countOpenMinute = `INSERT INTO open_rate (key_hash, minute, requests) VALUES (?, ?, 1)
		ON CONFLICT (key_hash, minute) DO UPDATE SET requests = open_rate.requests + 1
		RETURNING requests`

	dropOpenMinutes = `DELETE FROM open_rate WHERE key_hash = ? AND minute < ?`

	queryOpenDay = `SELECT requests FROM open_usage WHERE key_hash = ? AND day = ?`

	queryOpenMinute = `SELECT requests FROM open_rate WHERE key_hash = ? AND minute = ?`

	queryOpenUsage = `SELECT key_hash, day, requests FROM open_usage WHERE key_hash = ? ORDER BY day`

	queryAllOpenUsage = `SELECT key_hash, day, requests FROM open_usage ORDER BY key_hash, day`
)

func (s shared) NextReleaseVersion(ctx context.Context, formID string) (int, error) {
	var v int
	if err := s.d.reader().queryRow(ctx, queryNextReleaseVersion, formID).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: releases of %s: %w", formID, err)
	}
	return v, nil
}

func (s shared) AddRelease(ctx context.Context, r Release) (Release, error) {
	if r.ID == "" || r.FormID == "" || r.Version < 1 {
		return Release{}, errors.New("store: a release needs an id, a form and a version")
	}
	for _, f := range []struct{ what, s string }{{"id", r.ID}, {"form", r.FormID}, {"metadata", string(r.Metadata)}} {
		if err := checkText(f.what, f.s); err != nil {
			return Release{}, fmt.Errorf("store: release %s: %w", r.ID, err)
		}
	}
	seen := map[string]bool{}
	for _, f := range r.Files {
		if err := checkText("file name", f.Name); err != nil || f.Name == "" {
			return Release{}, fmt.Errorf("store: release %s: bad file name %q", r.ID, f.Name)
		}
		if seen[f.Name] {
			return Release{}, fmt.Errorf("store: release %s: file %s twice", r.ID, f.Name)
		}
		seen[f.Name] = true
	}
	r.CreatedAt = time.Now().UTC().Truncate(time.Microsecond)
	err := s.d.tx(ctx, func(q querier) error {
		// The unique (form_id, version) index turns a racing second
		// release of the same version into a conflict too.
		n, err := q.exec(ctx, insertRelease, r.ID, r.FormID, r.Version, micros(r.CreatedAt), string(r.Metadata))
		if err != nil {
			return fmt.Errorf("store: adding release %s: %w", r.ID, err)
		}
		if n == 0 {
			return fmt.Errorf("store: release %s (version %d of %s): %w", r.ID, r.Version, r.FormID, ErrExists)
		}
		for _, f := range r.Files {
			if _, err := q.exec(ctx, insertReleaseFile, r.ID, f.Name, int64(len(f.Body)), notNil(f.Body)); err != nil {
				return fmt.Errorf("store: adding release %s file %s: %w", r.ID, f.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return Release{}, err
	}
	out := r
	out.Files = make([]ReleaseFile, len(r.Files))
	for i, f := range r.Files {
		out.Files[i] = ReleaseFile{Name: f.Name, Size: int64(len(f.Body))}
	}
	return out, nil
}

func scanRelease(row scanner) (Release, error) {
	var r Release
	var created int64
	var meta string
	err := row.Scan(&r.ID, &r.FormID, &r.Version, &created, &meta)
	r.CreatedAt, r.Metadata = fromMicros(created), []byte(meta)
	return r, err
}

func (s shared) releaseFiles(ctx context.Context, r *Release) error {
	rows, err := s.d.reader().query(ctx, queryReleaseFiles, r.ID)
	if err != nil {
		return fmt.Errorf("store: release %s files: %w", r.ID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var f ReleaseFile
		if err := rows.Scan(&f.Name, &f.Size); err != nil {
			return fmt.Errorf("store: release %s files: %w", r.ID, err)
		}
		r.Files = append(r.Files, f)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: release %s files: %w", r.ID, err)
	}
	return nil
}

func (s shared) Release(ctx context.Context, id string) (Release, error) {
	r, err := scanRelease(s.d.reader().queryRow(ctx, queryRelease, id))
	if err != nil {
		if isNoRows(err) {
			return Release{}, fmt.Errorf("store: release %s: %w", id, ErrNotFound)
		}
		return Release{}, fmt.Errorf("store: release %s: %w", id, err)
	}
	if err := s.releaseFiles(ctx, &r); err != nil {
		return Release{}, err
	}
	return r, nil
}

func (s shared) Releases(ctx context.Context, formID string) ([]Release, error) {
	q, args := queryReleases, []any{}
	if formID != "" {
		q, args = queryFormReleases, []any{formID}
	}
	rows, err := s.d.reader().query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: listing releases: %w", err)
	}
	var out []Release
	for rows.Next() {
		r, err := scanRelease(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: listing releases: %w", err)
		}
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: listing releases: %w", err)
	}
	for i := range out {
		if err := s.releaseFiles(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s shared) ReleaseFile(ctx context.Context, id, name string) (ReleaseFile, error) {
	var f ReleaseFile
	err := s.d.reader().queryRow(ctx, queryReleaseFile, id, name).Scan(&f.Name, &f.Size, &f.Body)
	if err != nil {
		if isNoRows(err) {
			return ReleaseFile{}, fmt.Errorf("store: release %s file %s: %w", id, name, ErrNotFound)
		}
		return ReleaseFile{}, fmt.Errorf("store: release %s file %s: %w", id, name, err)
	}
	if f.Body == nil {
		f.Body = []byte{}
	}
	return f, nil
}

func (s shared) AddOpenKey(ctx context.Context, k OpenKey) error {
	if k.Hash == "" {
		return errors.New("store: an open key needs a hash")
	}
	for _, f := range []struct{ what, s string }{{"name", k.Name}, {"owner", k.Owner}} {
		if err := checkText(f.what, f.s); err != nil {
			return fmt.Errorf("store: open key: %w", err)
		}
	}
	if k.PerDay < 0 || k.PerMinute < 0 || k.HoursFrom < 0 || k.HoursTo > 24 || k.HoursFrom >= k.HoursTo {
		return fmt.Errorf("store: open key %q: bad quota (per day %d, per minute %d, hours %d–%d)", k.Name, k.PerDay, k.PerMinute, k.HoursFrom, k.HoursTo)
	}
	return s.d.tx(ctx, func(q querier) error {
		n, err := q.exec(ctx, insertOpenKey, k.Hash, k.Name, k.Owner, k.PerDay, k.PerMinute, k.HoursFrom, k.HoursTo, micros(k.CreatedAt))
		if err != nil {
			return fmt.Errorf("store: adding open key %q: %w", k.Name, err)
		}
		if n == 0 {
			return fmt.Errorf("store: open key %q: %w", k.Name, ErrExists)
		}
		return nil
	})
}

func scanOpenKey(row scanner) (OpenKey, error) {
	var k OpenKey
	var created int64
	var revoked sql.NullInt64
	err := row.Scan(&k.Hash, &k.Name, &k.Owner, &k.PerDay, &k.PerMinute, &k.HoursFrom, &k.HoursTo, &created, &revoked)
	k.CreatedAt, k.RevokedAt = fromMicros(created), fromNullMicros(revoked)
	return k, err
}

func (s shared) OpenKey(ctx context.Context, hash string) (OpenKey, error) {
	k, err := scanOpenKey(s.d.reader().queryRow(ctx, queryOpenKey, hash))
	if err != nil {
		if isNoRows(err) {
			return OpenKey{}, fmt.Errorf("store: open key: %w", ErrNotFound)
		}
		return OpenKey{}, fmt.Errorf("store: open key: %w", err)
	}
	return k, nil
}

func (s shared) OpenKeys(ctx context.Context) ([]OpenKey, error) {
	rows, err := s.d.reader().query(ctx, queryOpenKeys)
	if err != nil {
		return nil, fmt.Errorf("store: listing open keys: %w", err)
	}
	defer rows.Close()
	var out []OpenKey
	for rows.Next() {
		k, err := scanOpenKey(rows)
		if err != nil {
			return nil, fmt.Errorf("store: listing open keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: listing open keys: %w", err)
	}
	return out, nil
}

func (s shared) RevokeOpenKey(ctx context.Context, hash string, at time.Time) error {
	return s.d.tx(ctx, func(q querier) error {
		n, err := q.exec(ctx, revokeOpenKey, micros(at), hash)
		if err != nil {
			return fmt.Errorf("store: revoking an open key: %w", err)
		}
		if n == 0 {
			if _, err := scanOpenKey(q.queryRow(ctx, queryOpenKey, hash)); err != nil {
				if isNoRows(err) {
					return fmt.Errorf("store: open key: %w", ErrNotFound)
				}
				return fmt.Errorf("store: revoking an open key: %w", err)
			}
		}
		return nil
	})
}

// errOverQuota rolls back a counted request that went past a limit.
var errOverQuota = errors.New("store: over quota")

func (s shared) UseOpenKey(ctx context.Context, hash, day string, perDay int, minute string, perMinute int) (int, int, bool, error) {
	var dayN, minN int
	// The upserts lock the key's two counter rows until the transaction
	// ends, so concurrent requests on any node count one after another.
	err := s.d.tx(ctx, func(q querier) error {
		if err := q.queryRow(ctx, countOpenDay, hash, day).Scan(&dayN); err != nil {
			return fmt.Errorf("store: counting open usage: %w", err)
		}
		if err := q.queryRow(ctx, countOpenMinute, hash, minute).Scan(&minN); err != nil {
			return fmt.Errorf("store: counting open usage: %w", err)
		}
		if (perDay > 0 && dayN > perDay) || (perMinute > 0 && minN > perMinute) {
			return errOverQuota
		}
		if _, err := q.exec(ctx, dropOpenMinutes, hash, minute); err != nil {
			return fmt.Errorf("store: counting open usage: %w", err)
		}
		return nil
	})
	switch {
	case err == nil:
		return dayN, minN, true, nil
	case errors.Is(err, errOverQuota):
		// Rolled back: read the counts as they stand.
		dayN, minN = 0, 0
		r := s.d.reader()
		if err := r.queryRow(ctx, queryOpenDay, hash, day).Scan(&dayN); err != nil && !isNoRows(err) {
			return 0, 0, false, fmt.Errorf("store: open usage: %w", err)
		}
		if err := r.queryRow(ctx, queryOpenMinute, hash, minute).Scan(&minN); err != nil && !isNoRows(err) {
			return 0, 0, false, fmt.Errorf("store: open usage: %w", err)
		}
		return dayN, minN, false, nil
	default:
		return 0, 0, false, err
	}
}

func (s shared) OpenUsage(ctx context.Context, hash string) ([]OpenUsage, error) {
	q, args := queryAllOpenUsage, []any{}
	if hash != "" {
		q, args = queryOpenUsage, []any{hash}
	}
	rows, err := s.d.reader().query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: open usage: %w", err)
	}
	defer rows.Close()
	var out []OpenUsage
	for rows.Next() {
		var u OpenUsage
		if err := rows.Scan(&u.KeyHash, &u.Day, &u.Requests); err != nil {
			return nil, fmt.Errorf("store: open usage: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: open usage: %w", err)
	}
	return out, nil
}
