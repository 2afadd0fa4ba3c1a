package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// postgresStore keeps everything in one PostgreSQL database, shared by any
// number of serve nodes. Commits are durable with the server's default
// synchronous_commit=on.
type postgresStore struct {
	shared
	pool *pgxpool.Pool
}

// migrationLockKey is the advisory lock that lets one node at a time migrate
// ("govsurv" in ASCII); the others wait, then find nothing left to do.
const migrationLockKey = 0x676f7673757276

// addFormAttempts bounds AddForm's retries when another node inserted the
// same revision first: each round lets at least one node through.
const addFormAttempts = 10

// OpenPostgres connects to the database at url (a postgres:// URL) and
// applies pending migrations.
func OpenPostgres(ctx context.Context, url string) (Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: PostgreSQL URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: connecting to PostgreSQL: %w", err)
	}
	s := &postgresStore{pool: pool}
	s.shared = shared{s}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// migrate applies the pending steps, one transaction each, under an
// advisory lock so that nodes starting together do not race; the lock is
// taken before schema_migrations is created, since two concurrent CREATE
// TABLE IF NOT EXISTS can still collide.
func (s *postgresStore) migrate(ctx context.Context) error {
	known := len(postgresMigrations)
	for {
		done := false
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLockKey)); err != nil {
				return fmt.Errorf("store: locking for migration: %w", err)
			}
			if _, err := tx.Exec(ctx, createMigrationsTable); err != nil {
				return fmt.Errorf("store: creating schema_migrations: %w", err)
			}
			var v int
			if err := tx.QueryRow(ctx, querySchemaVersion).Scan(&v); err != nil {
				return fmt.Errorf("store: reading schema version: %w", err)
			}
			if err := checkSchemaVersion(v, known); err != nil {
				return err
			}
			if v == known {
				done = true
				return nil
			}
			// No arguments: pgx sends it with the simple protocol, which
			// runs a step of several statements.
			if _, err := tx.Exec(ctx, postgresMigrations[v]); err != nil {
				return fmt.Errorf("store: migration %d: %w", v+1, err)
			}
			if _, err := tx.Exec(ctx, dollar(insertSchemaVersion), v+1, micros(time.Now())); err != nil {
				return fmt.Errorf("store: migration %d: %w", v+1, err)
			}
			return nil
		})
		if err != nil || done {
			return err
		}
	}
}

// inTx runs fn in one transaction, committed if fn returns nil.
func (s *postgresStore) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// AddForm reads the latest revision and inserts the next one in one
// transaction. Two nodes adding a changed form at once both read the same
// latest revision; the primary key lets one insert win, and the other
// starts again and sees it (as unchanged, or as the revision to follow).
func (s *postgresStore) AddForm(ctx context.Context, fv FormVersion) (FormVersion, bool, error) {
	if err := checkForm(fv); err != nil {
		return FormVersion{}, false, err
	}
	for attempt := 1; ; attempt++ {
		stored, added, err := s.addForm(ctx, fv)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" && attempt < addFormAttempts {
			continue // unique_violation: another node took this revision
		}
		return stored, added, err
	}
}

func (s *postgresStore) addForm(ctx context.Context, fv FormVersion) (FormVersion, bool, error) {
	var stored FormVersion
	var added bool
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		latest, err := scanForm(tx.QueryRow(ctx, dollar(queryLatestForm), fv.FormID))
		switch {
		case isNoRows(err):
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
		if _, err := tx.Exec(ctx, dollar(insertForm), formArgs(fv)...); err != nil {
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

func (s *postgresStore) Form(ctx context.Context, formID string) (FormVersion, error) {
	fv, err := scanForm(s.pool.QueryRow(ctx, dollar(queryLatestForm), formID))
	if err != nil {
		return FormVersion{}, formError(formID, err)
	}
	return fv, nil
}

func (s *postgresStore) FormRevision(ctx context.Context, formID string, revision int) (FormVersion, error) {
	fv, err := scanForm(s.pool.QueryRow(ctx, dollar(queryFormRevision), formID, revision))
	if err != nil {
		return FormVersion{}, formRevisionError(formID, revision, err)
	}
	return fv, nil
}

func (s *postgresStore) Forms(ctx context.Context) ([]FormVersion, error) {
	rows, err := s.pool.Query(ctx, queryLatestForms)
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

// pgInsertResponses inserts a whole batch in one statement and one round
// trip: each column is sent as one array and unnest turns the arrays back
// into rows. Unlike a multi-row VALUES it has no limit on the number of
// parameters, and unlike COPY it needs no temporary table to get ON CONFLICT.
// RETURNING names the rows that were new.
const pgInsertResponses = `INSERT INTO responses (` + responseInsertColumns + `)
	SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::bigint[], $5::bigint[],
		$6::bigint[], $7::text[], $8::text[], $9::bytea[], $10::boolean[], $11::text[], $12::bytea[], $13::bytea[], $14::bytea[])
	ON CONFLICT (form_id, instance_id) DO NOTHING
	RETURNING form_id, instance_id`

func (s *postgresStore) AddResponses(ctx context.Context, rs []Response) ([]bool, error) {
	b, err := newBatch(rs)
	if err != nil {
		return nil, err
	}
	added := make([]bool, len(rs))
	if len(b.rows) == 0 {
		return added, nil
	}
	n := len(b.rows)
	var (
		formIDs     = make([]string, n)
		instanceIDs = make([]string, n)
		revisions   = make([]int32, n)
		started     = make([]*int64, n)
		ended       = make([]*int64, n)
		submitted   = make([]int64, n)
		clients     = make([]string, n)
		channels    = make([]string, n)
		answers     = make([][]byte, n)
		honeypots   = make([]bool, n)
		receipts    = make([]*string, n)
		paradata    = make([][]byte, n)
		sealed      = make([][]byte, n)
		raw         = make([][]byte, n)
		position    = make(map[responseKey]int, n)
	)
	for i, r := range b.rows {
		formIDs[i], instanceIDs[i], revisions[i] = r.FormID, r.InstanceID, int32(r.Revision)
		if v := nullMicros(r.Started); v.Valid {
			started[i] = &v.Int64
		}
		if v := nullMicros(r.Ended); v.Valid {
			ended[i] = &v.Int64
		}
		submitted[i] = micros(r.SubmittedAt)
		clients[i], channels[i], answers[i] = r.Client, r.Channel, notNil(r.Answers)
		honeypots[i] = r.Honeypot
		if r.Receipt != "" {
			receipts[i] = &r.Receipt
		}
		paradata[i] = nilIfEmpty(r.Paradata)
		sealed[i] = nilIfEmpty(r.Sealed)
		raw[i] = nilIfEmpty(r.Raw)
		position[responseKey{r.FormID, r.InstanceID}] = i
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		for _, fr := range b.revisions {
			var n int
			if err := tx.QueryRow(ctx, dollar(queryFormRevisionExists), fr.formID, fr.revision).Scan(&n); err != nil {
				return fmt.Errorf("store: adding responses: %w", err)
			}
			if n == 0 {
				return errNoFormRevision(fr)
			}
		}
		rows, err := tx.Query(ctx, pgInsertResponses, formIDs, instanceIDs, revisions,
			started, ended, submitted, clients, channels, answers, honeypots, receipts, paradata, sealed, raw)
		if err != nil {
			return fmt.Errorf("store: adding responses: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var k responseKey
			if err := rows.Scan(&k.formID, &k.instanceID); err != nil {
				return fmt.Errorf("store: adding responses: %w", err)
			}
			added[b.index[position[k]]] = true
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: adding responses: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return added, nil
}

func (s *postgresStore) Response(ctx context.Context, formID, instanceID string) (Response, error) {
	r, err := scanArchivedResponse(s.pool.QueryRow(ctx, dollar(queryResponse), formID, instanceID))
	if err != nil {
		return Response{}, responseError(formID, instanceID, err)
	}
	return r, nil
}

func (s *postgresStore) CountResponses(ctx context.Context, formID string) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, dollar(queryCountResponses), formID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: counting responses of %s: %w", formID, err)
	}
	return n, nil
}

// EachResponse runs one query and calls fn as rows arrive: pgx reads them
// from the connection as they are scanned, so memory stays at a buffer's
// worth, and the stream is one consistent snapshot. The query holds one
// pooled connection until the stream ends; fn may use the store meanwhile.
func (s *postgresStore) EachResponse(ctx context.Context, f ResponseFilter, fn func(Response) error) error {
	q := `SELECT ` + responseReadColumns + ` FROM responses WHERE form_id = $1 AND withdrawn_at IS NULL`
	args := []any{f.FormID}
	if f.Revision != 0 {
		q += ` AND revision = $2`
		args = append(args, f.Revision)
	}
	q += ` ORDER BY submitted_at, instance_id`
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("store: streaming responses of %s: %w", f.FormID, err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanResponse(rows)
		if err != nil {
			return fmt.Errorf("store: streaming responses of %s: %w", f.FormID, err)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("store: streaming responses of %s: %w", f.FormID, err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: streaming responses of %s: %w", f.FormID, err)
	}
	return nil
}

func (s *postgresStore) Close() error {
	s.pool.Close()
	return nil
}
