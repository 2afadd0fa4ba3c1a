package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/govsurvey/govsurvey/store"
)

// Releases are immutable: even SQL written by hand cannot change or delete
// one, until the triggers are dropped.

func addSomeRelease(t *testing.T, st store.Store) {
	t.Helper()
	if _, err := st.AddRelease(t.Context(), store.Release{ID: "f-r1", FormID: "f", Version: 1, Metadata: []byte(`{}`),
		Files: []store.ReleaseFile{{Name: "a.csv", Body: []byte("a,b\n")}}}); err != nil {
		t.Fatal(err)
	}
}

var tamperRelease = []string{
	`UPDATE releases SET metadata = '{"forged":true}' WHERE id = 'f-r1'`,
	`DELETE FROM releases WHERE id = 'f-r1'`,
	`UPDATE release_files SET body = body WHERE release_id = 'f-r1'`,
	`DELETE FROM release_files`,
}

func TestSQLiteReleasesImmutable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "govsurvey.db")
	st, err := store.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	addSomeRelease(t, st)
	st.Close()
	db := rawSQLite(t, path)
	for _, q := range tamperRelease {
		if _, err := db.Exec(q); err == nil {
			t.Errorf("%s: accepted", q)
		}
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM release_files WHERE release_id = 'f-r1'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("after refused tampering: %d files, %v", n, err)
	}
}

func TestPostgresReleasesImmutable(t *testing.T) {
	dbURL := newPostgresDatabase(t)
	ctx := t.Context()
	st, err := store.OpenPostgres(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	addSomeRelease(t, st)
	st.Close()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, q := range append(tamperRelease, `TRUNCATE release_files`, `TRUNCATE releases CASCADE`) {
		if _, err := conn.Exec(ctx, q); err == nil {
			t.Errorf("%s: accepted", q)
		}
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM release_files WHERE release_id = 'f-r1'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("after refused tampering: %d files, %v", n, err)
	}
}
