package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/govsurvey/govsurvey/store"
)

// Backend is one store implementation, for the tests of other packages
// that must pass on both.
type Backend struct {
	Name string
	Open func(t testing.TB) store.Store // a new, empty store, closed when t ends
}

// Backends returns SQLite, and PostgreSQL when GOVSURVEY_TEST_POSTGRES
// names a server (scripts/with-postgres starts one). In CI a missing
// PostgreSQL fails the test instead of being skipped.
func Backends(t testing.TB) []Backend {
	t.Helper()
	bs := []Backend{{"sqlite", OpenSQLite}}
	switch {
	case os.Getenv("GOVSURVEY_TEST_POSTGRES") != "":
		bs = append(bs, Backend{"postgres", OpenPostgres})
	case os.Getenv("CI") != "":
		t.Fatal("PostgreSQL not tested in CI: GOVSURVEY_TEST_POSTGRES is not set (run under scripts/with-postgres)")
	default:
		t.Log("GOVSURVEY_TEST_POSTGRES is not set: PostgreSQL not tested (run under scripts/with-postgres)")
	}
	return bs
}

// OpenPostgres returns a store on a new database of the server named by
// GOVSURVEY_TEST_POSTGRES, dropped when t ends. Without that variable the
// test is skipped, or fails in CI.
func OpenPostgres(t testing.TB) store.Store {
	t.Helper()
	admin := os.Getenv("GOVSURVEY_TEST_POSTGRES")
	if admin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("PostgreSQL test skipped in CI: GOVSURVEY_TEST_POSTGRES is not set")
		}
		t.Skip("GOVSURVEY_TEST_POSTGRES is not set (run under scripts/with-postgres)")
	}
	var b [8]byte
	rand.Read(b[:])
	name := "govsurvey_test_" + hex.EncodeToString(b[:])
	ident := pgx.Identifier{name}.Sanitize()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, `CREATE DATABASE `+ident)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	st, err := store.OpenPostgres(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		st.Close()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP DATABASE `+ident+` WITH (FORCE)`); err != nil {
			t.Error(err)
		}
	})
	return st
}
