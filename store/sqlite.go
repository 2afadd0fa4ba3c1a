package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// sqliteStore keeps everything in one SQLite file in WAL mode.
//
// SQLite has one writer at a time, so every write goes through write, a pool
// of exactly one connection: writers queue in Go instead of spinning on
// SQLITE_BUSY. Each write transaction starts with BEGIN IMMEDIATE
// (_txlock=immediate), taking the write lock up front, so another process on
// the same file waits out busy_timeout instead of failing on a lock upgrade.
// Reads go through read, a separate pool that WAL lets run beside the writer.
type sqliteStore struct {
	shared
	write *sql.DB
	read  *sql.DB

	// The ingest path's statements, compiled once on the one write
	// connection: SQLite parses and plans a statement each time it is
	// prepared, which would cost every group-commit transaction as much
	// as a few of its inserts.
	insertResponse     *sql.Stmt
	formRevisionExists *sql.Stmt
}

// sqliteChunk is how many rows EachResponse reads per query. Each chunk is a
// short read transaction: a long stream (or a slow fn) never pins one WAL
// snapshot, which would stop checkpoints and let the WAL grow without bound.
const sqliteChunk = 1000

// OpenSQLite opens (creating it and its directory if needed) the SQLite
// database at path and applies pending migrations.
//
// synchronous=FULL: a commit is fsynced before it returns, so a response
// acknowledged to a respondent survives a power loss, not only a crash of
// govsurvey (NORMAL in WAL mode may lose the last commits on power loss).
func OpenSQLite(ctx context.Context, path string) (Store, error) {
	if path == "" {
		return nil, errors.New("store: no SQLite path given")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// Responses are personal data: create the file readable by its owner
	// only. SQLite gives its -wal and -shm files the same permissions.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		f.Close()
	case !errors.Is(err, fs.ErrExist):
		return nil, fmt.Errorf("store: %w", err)
	}

	// foreign_keys is SQLite's one setting that is off by default; no table
	// declares a foreign key yet (see schema.go), but a later one will hold.
	//
	// A file: URI with an escaped path, so that a ? or # in the path is not
	// taken for the start of the driver's parameters. busy_timeout comes
	// first: it must be in force before journal_mode(WAL) may have to wait.
	uri := "file:" + (&url.URL{Path: abs}).EscapedPath()
	const pragmas = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)"
	write, err := sql.Open("sqlite", uri+"?"+pragmas+
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)

	s := &sqliteStore{write: write}
	s.shared = shared{s}
	if err := s.migrate(ctx); err != nil {
		write.Close()
		return nil, err
	}
	if s.insertResponse, err = write.PrepareContext(ctx, insertResponse); err == nil {
		s.formRevisionExists, err = write.PrepareContext(ctx, queryFormRevisionExists)
	}
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: %w", err)
	}

	// query_only: a bug that writes through the read pool fails loudly
	// instead of racing the writer for the lock.
	read, err := sql.Open("sqlite", uri+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	read.SetMaxOpenConns(max(4, runtime.NumCPU()))
	read.SetMaxIdleConns(max(4, runtime.NumCPU()))
	if err := read.PingContext(ctx); err != nil {
		read.Close()
		write.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	s.read = read
	return s, nil
}

// migrate applies the pending steps, one transaction each. BEGIN IMMEDIATE
// makes two processes starting at once take turns; each re-reads the version.
func (s *sqliteStore) migrate(ctx context.Context) error {
	if _, err := s.write.ExecContext(ctx, createMigrationsTable); err != nil {
		return fmt.Errorf("store: creating schema_migrations: %w", err)
	}
	known := len(sqliteMigrations)
	for {
		done := false
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			var v int
			if err := tx.QueryRowContext(ctx, querySchemaVersion).Scan(&v); err != nil {
				return fmt.Errorf("store: reading schema version: %w", err)
			}
			if err := checkSchemaVersion(v, known); err != nil {
				return err
			}
			if v == known {
				done = true
				return nil
			}
			if _, err := tx.ExecContext(ctx, sqliteMigrations[v]); err != nil {
				return fmt.Errorf("store: migration %d: %w", v+1, err)
			}
			if _, err := tx.ExecContext(ctx, insertSchemaVersion, v+1, micros(time.Now())); err != nil {
				return fmt.Errorf("store: migration %d: %w", v+1, err)
			}
			return nil
		})
		if err != nil || done {
			return err
		}
	}
}

// inTx runs fn in one write transaction, committed if fn returns nil.
func (s *sqliteStore) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

func (s *sqliteStore) AddForm(ctx context.Context, fv FormVersion) (FormVersion, bool, error) {
	if err := checkForm(fv); err != nil {
		return FormVersion{}, false, err
	}
	var stored FormVersion
	var added bool
	// The single writer serialises AddForm, across processes too, so the
	// revision read here is still the latest when the insert runs.
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		latest, err := scanForm(tx.QueryRowContext(ctx, queryLatestForm, fv.FormID))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			fv.Revision = 1
		case err != nil:
			return fmt.Errorf("store: form %s: %w", fv.FormID, err)
		case latest.Hash == fv.Hash:
			stored = latest
			return nil
		default:
			fv.Revision = latest.Revision + 1
		}
		fv.CreatedAt = now()
		if _, err := tx.ExecContext(ctx, insertForm, formArgs(fv)...); err != nil {
			return fmt.Errorf("store: adding form %s: %w", fv.FormID, err)
		}
		stored, added = fv, true
		return nil
	})
	if err != nil {
		return FormVersion{}, false, err
	}
	return stored, added, nil
}

func (s *sqliteStore) Form(ctx context.Context, formID string) (FormVersion, error) {
	fv, err := scanForm(s.read.QueryRowContext(ctx, queryLatestForm, formID))
	if err != nil {
		return FormVersion{}, formError(formID, err)
	}
	return fv, nil
}

func (s *sqliteStore) FormRevision(ctx context.Context, formID string, revision int) (FormVersion, error) {
	fv, err := scanForm(s.read.QueryRowContext(ctx, queryFormRevision, formID, revision))
	if err != nil {
		return FormVersion{}, formRevisionError(formID, revision, err)
	}
	return fv, nil
}

func (s *sqliteStore) Forms(ctx context.Context) ([]FormVersion, error) {
	rows, err := s.read.QueryContext(ctx, queryLatestForms)
	if err != nil {
		return nil, fmt.Errorf("store: listing forms: %w", err)
	}
	defer rows.Close()
	var forms []FormVersion
	for rows.Next() {
		fv, err := scanForm(rows)
		if err != nil {
			return nil, fmt.Errorf("store: listing forms: %w", err)
		}
		forms = append(forms, fv)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: listing forms: %w", err)
	}
	return forms, nil
}

func (s *sqliteStore) AddResponses(ctx context.Context, rs []Response) ([]bool, error) {
	b, err := newBatch(rs)
	if err != nil {
		return nil, err
	}
	added := make([]bool, len(rs))
	if len(b.rows) == 0 {
		return added, nil
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		for _, fr := range b.revisions {
			var n int
			if err := tx.StmtContext(ctx, s.formRevisionExists).QueryRowContext(ctx, fr.formID, fr.revision).Scan(&n); err != nil {
				return fmt.Errorf("store: adding responses: %w", err)
			}
			if n == 0 {
				return errNoFormRevision(fr)
			}
		}
		stmt := tx.StmtContext(ctx, s.insertResponse)
		for i, r := range b.rows {
			res, err := stmt.ExecContext(ctx, responseArgs(r)...)
			if err != nil {
				return fmt.Errorf("store: adding response %s: %w", r.InstanceID, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("store: adding response %s: %w", r.InstanceID, err)
			}
			added[b.index[i]] = n == 1
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return added, nil
}

func (s *sqliteStore) Response(ctx context.Context, formID, instanceID string) (Response, error) {
	r, err := scanArchivedResponse(s.read.QueryRowContext(ctx, queryResponse, formID, instanceID))
	if err != nil {
		return Response{}, responseError(formID, instanceID, err)
	}
	return r, nil
}

func (s *sqliteStore) CountResponses(ctx context.Context, formID string) (int, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, queryCountResponses, formID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: counting responses of %s: %w", formID, err)
	}
	return n, nil
}

// EachResponse reads the stream in chunks by keyset pagination on
// (submitted_at, instance_id), the order of the stream and of the index, and
// calls fn outside any transaction. The stream is therefore not one
// snapshot: a response stored while it runs appears if it sorts after the
// chunk being read. Memory stays at one chunk.
func (s *sqliteStore) EachResponse(ctx context.Context, f ResponseFilter, fn func(Response) error) error {
	q := `SELECT ` + responseReadColumns + ` FROM responses WHERE form_id = ? AND withdrawn_at IS NULL`
	args := []any{f.FormID}
	if f.Revision != 0 {
		q += ` AND revision = ?`
		args = append(args, f.Revision)
	}
	q += ` AND (submitted_at, instance_id) > (?, ?) ORDER BY submitted_at, instance_id LIMIT ?`
	// Every stored submitted_at is above MinInt64, so the first chunk
	// starts at the beginning.
	afterAt, afterID := int64(math.MinInt64), ""
	chunk := make([]Response, 0, sqliteChunk)
	for {
		var err error
		chunk, err = s.responseChunk(ctx, chunk[:0], q, append(args, afterAt, afterID, sqliteChunk)...)
		if err != nil {
			return err
		}
		for _, r := range chunk {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("store: streaming responses of %s: %w", f.FormID, err)
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(chunk) < sqliteChunk {
			return nil
		}
		last := chunk[len(chunk)-1]
		afterAt, afterID = micros(last.SubmittedAt), last.InstanceID
	}
}

func (s *sqliteStore) responseChunk(ctx context.Context, chunk []Response, q string, args ...any) ([]Response, error) {
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: streaming responses: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanResponse(rows)
		if err != nil {
			return nil, fmt.Errorf("store: streaming responses: %w", err)
		}
		chunk = append(chunk, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: streaming responses: %w", err)
	}
	return chunk, nil
}

func (s *sqliteStore) Close() error {
	return errors.Join(s.insertResponse.Close(), s.formRevisionExists.Close(), s.read.Close(), s.write.Close())
}
