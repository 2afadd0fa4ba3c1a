package store

import (
	"context"
	"database/sql"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The seam between the dialects for statements whose SQL is the same in
// both: accounts, sessions, tokens, the audit log and retention are written
// once against querier, and each store adapts its driver to it. SQL is
// written with ? placeholders; the PostgreSQL side rewrites them.

type querier interface {
	// exec runs a statement and returns the number of rows it changed.
	exec(ctx context.Context, q string, args ...any) (int64, error)
	queryRow(ctx context.Context, q string, args ...any) scanner
	query(ctx context.Context, q string, args ...any) (rowIter, error)
}

// rowIter is what both drivers' row sets can do.
type rowIter interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// dialect is what a store gives the shared code: a querier for reads and
// one transaction at a time for writes.
type dialect interface {
	reader() querier
	tx(ctx context.Context, fn func(querier) error) error
	// lockAudit serialises appends to the audit log inside a transaction,
	// so that two nodes never link two entries to the same predecessor.
	lockAudit(ctx context.Context, q querier) error
	// forUpdate is what a SELECT ends with to lock the rows it reads
	// until the transaction ends.
	forUpdate() string
}

// SQLite: database/sql, reads on the read pool, writes through inTx.

type sqlQuerier interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

type sqliteQuerier struct{ db sqlQuerier }

func (q sqliteQuerier) exec(ctx context.Context, s string, args ...any) (int64, error) {
	res, err := q.db.ExecContext(ctx, s, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q sqliteQuerier) queryRow(ctx context.Context, s string, args ...any) scanner {
	return q.db.QueryRowContext(ctx, s, args...)
}

func (q sqliteQuerier) query(ctx context.Context, s string, args ...any) (rowIter, error) {
	rows, err := q.db.QueryContext(ctx, s, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }

func (s *sqliteStore) reader() querier { return sqliteQuerier{s.read} }

func (s *sqliteStore) tx(ctx context.Context, fn func(querier) error) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return fn(sqliteQuerier{tx}) })
}

// lockAudit has nothing to do in SQLite: every write transaction holds the
// database's one write lock from its start (BEGIN IMMEDIATE).
func (s *sqliteStore) lockAudit(context.Context, querier) error { return nil }

// forUpdate is empty in SQLite for the same reason: the transaction holds
// the write lock already.
func (s *sqliteStore) forUpdate() string { return "" }

// PostgreSQL: pgx, through the pool or a transaction.

type pgxQuerier interface {
	Exec(ctx context.Context, q string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, q string, args ...any) pgx.Row
	Query(ctx context.Context, q string, args ...any) (pgx.Rows, error)
}

type pgQuerier struct{ db pgxQuerier }

func (q pgQuerier) exec(ctx context.Context, s string, args ...any) (int64, error) {
	tag, err := q.db.Exec(ctx, dollar(s), args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (q pgQuerier) queryRow(ctx context.Context, s string, args ...any) scanner {
	return q.db.QueryRow(ctx, dollar(s), args...)
}

func (q pgQuerier) query(ctx context.Context, s string, args ...any) (rowIter, error) {
	rows, err := q.db.Query(ctx, dollar(s), args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (s *postgresStore) reader() querier { return pgQuerier{s.pool} }

func (s *postgresStore) tx(ctx context.Context, fn func(querier) error) error {
	return s.inTx(ctx, func(tx pgx.Tx) error { return fn(pgQuerier{tx}) })
}

// auditLockKey is the advisory lock of audit appends ("govaudt").
const auditLockKey = 0x676f7661756474

func (s *postgresStore) forUpdate() string { return " FOR UPDATE" }

func (s *postgresStore) lockAudit(ctx context.Context, q querier) error {
	var ok bool
	// pg_advisory_xact_lock returns void, which pgx cannot scan; select a
	// constant beside it.
	return q.queryRow(ctx, `SELECT true FROM (SELECT pg_advisory_xact_lock(?)) AS l`, int64(auditLockKey)).Scan(&ok)
}
