package security_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// sqliteBeside opens a SQLite store and, beside it, a second connection to
// the same file (with the driver parameters params), for what a test reads
// or does behind the store's back, as someone with the file could.
func sqliteBeside(t *testing.T, params string) (store.Store, *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "govsurvey.db")
	st, err := store.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	db, err := sql.Open("sqlite", "file:"+path+"?"+params)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return st, db
}

// postgresBeside is sqliteBeside on a PostgreSQL database of the test's
// own.
func postgresBeside(t *testing.T) (store.Store, *pgx.Conn) {
	t.Helper()
	url := storetest.NewPostgresDatabase(t)
	st, err := store.OpenPostgres(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return st, conn
}
