package store

import (
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

// Unavailable tells whether err means the database cannot be reached or
// is shutting down, rather than that the request was wrong: the server
// answers 503 with a retry hint, and the same request may succeed once the
// database is back (the PostgreSQL pool dials again by itself). A
// connection lost during COMMIT is one of these too; the commit may still
// have happened, which a retry of the same instance_id finds out.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case len(pgErr.Code) == 5 && pgErr.Code[:2] == "08": // connection_exception
			return true
		case pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03": // admin/crash shutdown, cannot connect now
			return true
		case pgErr.Code == "53300": // too_many_connections
			return true
		}
		return false
	}
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return true
	}
	// Network errors on the way to the database; not any net.Error, which
	// every syscall.Errno and fs.PathError also satisfy.
	var opErr *net.OpError
	var dnsErr *net.DNSError
	if errors.As(err, &opErr) || errors.As(err, &dnsErr) {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF)
}

// sqliteFull is SQLITE_FULL, the primary result code of a write that found
// the disk (or the file-size limit) full.
const sqliteFull = 13

// DiskFull tells whether err means the database ran out of disk space:
// SQLite's SQLITE_FULL, PostgreSQL's disk_full (53100), or ENOSPC. SQLite
// rolls the transaction back, so nothing half-written stays behind; the
// server answers 507 and nothing is acknowledged.
func DiskFull(err error) bool {
	if err == nil {
		return false
	}
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqliteFull {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "53100" {
		return true
	}
	return errors.Is(err, syscall.ENOSPC)
}
