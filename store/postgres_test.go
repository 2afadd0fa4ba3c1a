package store_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// newPostgresDatabase creates an empty database for one test, dropped when
// the test ends, and returns its URL. Its default collation is a locale's
// (ICU en-US) where the server has ICU, so that ordering tests show the
// schema does not depend on the server's locale.
func newPostgresDatabase(t testing.TB) string {
	t.Helper()
	return storetest.NewPostgresDatabaseICU(t)
}

func openPostgres(t testing.TB) store.Store {
	t.Helper()
	st, err := store.OpenPostgres(t.Context(), newPostgresDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openPostgres(t) })
}

func TestPostgresMigrations(t *testing.T) {
	dbURL := newPostgresDatabase(t)
	ctx := t.Context()

	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	fv, _, err := st.AddForm(ctx, store.FormVersion{FormID: "f", Hash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	// Reopening a current database changes nothing.
	st, err = store.OpenPostgres(ctx, dbURL)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	if got, err := st.Form(ctx, "f"); err != nil || got.Hash != fv.Hash {
		t.Errorf("after reopening: form %+v, %v", got, err)
	}
	st.Close()

	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var n, max int
	if err := conn.QueryRow(ctx, `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != store.PostgresSchemaVersion || max != store.PostgresSchemaVersion {
		t.Errorf("schema_migrations has %d rows up to %d, want %d", n, max, store.PostgresSchemaVersion)
	}

	// A database from a newer govsurvey is refused.
	newer := store.PostgresSchemaVersion + 1
	if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)`, newer); err != nil {
		t.Fatal(err)
	}
	_, err = store.OpenPostgres(ctx, dbURL)
	checkTooNew(t, err, newer, store.PostgresSchemaVersion)
}

// TestPostgresOpenConcurrent starts several nodes on one new database at
// once: the migration runs once and none of them fails.
func TestPostgresOpenConcurrent(t *testing.T) {
	dbURL := newPostgresDatabase(t)
	const nodes = 4
	errs := make(chan error, nodes)
	for range nodes {
		go func() {
			st, err := store.OpenPostgres(t.Context(), dbURL)
			if err == nil {
				st.Close()
			}
			errs <- err
		}()
	}
	for range nodes {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
