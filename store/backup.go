package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// ErrTargetExists is returned when a backup or restore would overwrite an
// existing file and was not told to (force).
var ErrTargetExists = errors.New("store: target exists")

// BackupInfo describes a SQLite database file checked by CheckSQLite.
type BackupInfo struct {
	Path          string
	Bytes         int64
	SchemaVersion int
	Forms         int // distinct form ids
	Responses     int // rows, withdrawn ones included
	Secrets       int // installation secrets: the wrapped keyring and sealed keys
}

// BackupSQLite writes a consistent copy of the live SQLite database at
// path to dst with VACUUM INTO: one read transaction, so the copy is the
// database as of one commit, and WAL mode lets submissions go on being
// written meanwhile. The copy holds everything the store holds — forms,
// responses (personal parts still sealed), cleaning, accounts, the audit
// log and the wrapped keys — but not the master key, which never lives in
// the store. It is written beside dst first, checked (integrity_check)
// and renamed into place, so that dst is never a half-written file; an
// existing dst is ErrTargetExists unless force.
func BackupSQLite(ctx context.Context, path, dst string, force bool) (BackupInfo, error) {
	if _, err := os.Stat(path); err != nil {
		return BackupInfo{}, fmt.Errorf("store: backup: %w", err)
	}
	if err := checkTarget(dst, force); err != nil {
		return BackupInfo{}, err
	}
	tmp, err := tempBeside(dst)
	if err != nil {
		return BackupInfo{}, err
	}
	defer os.Remove(tmp) // after the rename, nothing is left to remove

	// A connection of its own, not the server's read pool: query_only
	// there refuses VACUUM. VACUUM INTO only reads the source.
	db, err := sql.Open("sqlite", sqliteURI(path)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return BackupInfo{}, fmt.Errorf("store: backup: %w", err)
	}
	defer db.Close()
	// VACUUM INTO takes an empty file: the temporary file keeps its 0600.
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		return BackupInfo{}, fmt.Errorf("store: backup of %s: %w", path, err)
	}
	if err := syncFile(tmp); err != nil {
		return BackupInfo{}, err
	}
	info, err := CheckSQLite(ctx, tmp)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("store: the backup just written fails its check: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return BackupInfo{}, fmt.Errorf("store: backup: %w", err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return BackupInfo{}, err
	}
	info.Path = dst
	return info, nil
}

// RestoreSQLite puts the backup src in place as the database at path:
// src is checked first (integrity_check, and a schema this govsurvey
// knows), copied beside path, synced, and renamed over it. An existing
// database is ErrTargetExists unless force; then its -wal and -shm files
// are removed too, since a stale WAL replayed over the restored file would
// corrupt it. No server may have path open meanwhile.
func RestoreSQLite(ctx context.Context, src, path string, force bool) (BackupInfo, error) {
	if _, err := CheckSQLite(ctx, src); err != nil {
		return BackupInfo{}, fmt.Errorf("store: restore: %s: %w", src, err)
	}
	if err := checkTarget(path, force); err != nil {
		return BackupInfo{}, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return BackupInfo{}, fmt.Errorf("store: restore: %w", err)
	}
	tmp, err := tempBeside(path)
	if err != nil {
		return BackupInfo{}, err
	}
	defer os.Remove(tmp)
	if err := copyFile(src, tmp); err != nil {
		return BackupInfo{}, err
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return BackupInfo{}, fmt.Errorf("store: restore: %w", err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return BackupInfo{}, fmt.Errorf("store: restore: %w", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return BackupInfo{}, err
	}
	return CheckSQLite(ctx, path)
}

// CheckSQLite opens a SQLite database file read-only, runs PRAGMA
// integrity_check, refuses a schema newer than this govsurvey, and counts
// what it holds.
func CheckSQLite(ctx context.Context, path string) (BackupInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("store: %w", err)
	}
	db, err := sql.Open("sqlite", sqliteURI(path)+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return BackupInfo{}, fmt.Errorf("store: %w", err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("store: integrity check of %s: %w", path, err)
	}
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return BackupInfo{}, fmt.Errorf("store: integrity check of %s: %w", path, err)
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return BackupInfo{}, fmt.Errorf("store: integrity check of %s: %w", path, err)
	}
	if len(problems) > 0 {
		return BackupInfo{}, fmt.Errorf("store: %s is damaged: %s", path, strings.Join(problems, "; "))
	}
	info := BackupInfo{Path: path, Bytes: st.Size()}
	for _, q := range []struct {
		sql string
		n   *int
	}{
		{querySchemaVersion, &info.SchemaVersion},
		{`SELECT count(DISTINCT form_id) FROM forms`, &info.Forms},
		{`SELECT count(*) FROM responses`, &info.Responses},
		{`SELECT count(*) FROM secrets`, &info.Secrets},
	} {
		if err := db.QueryRowContext(ctx, q.sql).Scan(q.n); err != nil {
			return BackupInfo{}, fmt.Errorf("store: %s is not a govsurvey database: %w", path, err)
		}
	}
	if err := checkSchemaVersion(info.SchemaVersion, len(sqliteMigrations)); err != nil {
		return BackupInfo{}, err
	}
	return info, nil
}

// PostgresBackupProcedure is how to back up and restore a PostgreSQL
// store: with PostgreSQL's own tools, which govsurvey does not wrap
// (docs/operations.md). url is the database's URL, shown as given.
func PostgresBackupProcedure(url string) string {
	return `govsurvey does not back up PostgreSQL itself; use PostgreSQL's tools.
Back up (consistent, online; one snapshot of the whole database):
  pg_dump --format=custom --file=govsurvey-$(date +%F).dump '` + url + `'
Restore into a new, empty database (stop the serve nodes first, or point them at it after):
  createdb govsurvey_restored
  pg_restore --exit-on-error --no-owner --dbname=govsurvey_restored govsurvey-YYYY-MM-DD.dump
The dump holds the wrapped keys but not the master key: keep the master key
(GOVSURVEY_MASTER_KEY or its file) in a separate, safe place; without it the
personal answers in any backup cannot be read.
For point-in-time recovery use continuous WAL archiving (pg_basebackup plus
archive_command) as the PostgreSQL manual describes.
`
}

func sqliteURI(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return "file:" + (&url.URL{Path: abs}).EscapedPath()
}

func checkTarget(path string, force bool) error {
	_, err := os.Stat(path)
	switch {
	case err == nil && !force:
		return fmt.Errorf("%w: %s (use --force to overwrite it)", ErrTargetExists, path)
	case err == nil, errors.Is(err, fs.ErrNotExist):
		return nil
	default:
		return fmt.Errorf("store: %w", err)
	}
}

// tempBeside creates an empty file, readable by its owner only, in the
// directory of path, for an atomic rename onto path.
func tempBeside(path string) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	name := f.Name()
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", fmt.Errorf("store: %w", err)
	}
	return name, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if _, err := out.ReadFrom(in); err != nil {
		out.Close()
		return fmt.Errorf("store: copying %s: %w", src, err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return fmt.Errorf("store: %w", err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("store: syncing %s: %w", dir, err)
	}
	return nil
}
