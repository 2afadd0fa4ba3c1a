package store_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/govsurvey/govsurvey/store"
)

func TestUnavailableAndDiskFull(t *testing.T) {
	// A real refused connection: a port nothing listens on any more.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, refused := store.Open(context.Background(), "postgres://u@"+addr+"/db?sslmode=disable&connect_timeout=5")
	if refused == nil {
		t.Fatal("opening a store on a closed port succeeded")
	}

	wrap := func(err error) error { return fmt.Errorf("store: adding responses: %w", err) }
	for _, c := range []struct {
		name              string
		err               error
		unavailable, full bool
	}{
		{"connection refused", refused, true, false},
		{"admin shutdown", wrap(&pgconn.PgError{Code: "57P01"}), true, false},
		{"cannot connect now", wrap(&pgconn.PgError{Code: "57P03"}), true, false},
		{"connection failure", wrap(&pgconn.PgError{Code: "08006"}), true, false},
		{"too many connections", wrap(&pgconn.PgError{Code: "53300"}), true, false},
		{"disk full (PostgreSQL)", wrap(&pgconn.PgError{Code: "53100"}), false, true},
		{"ENOSPC", wrap(&fs.PathError{Op: "write", Path: "x.db-wal", Err: syscall.ENOSPC}), false, true},
		{"connection reset", wrap(&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), true, false},
		{"permission denied", wrap(&fs.PathError{Op: "open", Path: "x.db", Err: syscall.EACCES}), false, false},
		{"unique violation", wrap(&pgconn.PgError{Code: "23505"}), false, false},
		{"not found", store.ErrNotFound, false, false},
		{"other", errors.New("store: something else"), false, false},
		{"nil", nil, false, false},
	} {
		if got := store.Unavailable(c.err); got != c.unavailable {
			t.Errorf("%s: Unavailable(%v) = %v, want %v", c.name, c.err, got, c.unavailable)
		}
		if got := store.DiskFull(c.err); got != c.full {
			t.Errorf("%s: DiskFull(%v) = %v, want %v", c.name, c.err, got, c.full)
		}
	}
}
