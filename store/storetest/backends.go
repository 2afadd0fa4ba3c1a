package storetest

import (
	"context"
	"os"
	"testing"

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
	st, err := store.OpenPostgres(context.Background(), NewPostgresDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	// Registered after the database's own cleanup, so it runs first: the
	// pool is closed before the database is dropped.
	t.Cleanup(func() { st.Close() })
	return st
}
