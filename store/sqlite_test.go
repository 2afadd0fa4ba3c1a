package store_test

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/store/storetest"
)

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return storetest.OpenSQLite(t) })
}

// TestSQLiteFile checks what OpenSQLite does to the file system and the
// settings the database file keeps.
func TestSQLiteFile(t *testing.T) {
	// A directory that does not exist yet, and characters a URI would
	// otherwise take for its own.
	path := filepath.Join(t.TempDir(), "new dir", "data?#%20", "govsurvey.db")
	st, err := store.Open(t.Context(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("database file mode = %v, want 0600", perm)
	}
	db := rawSQLite(t, path)
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}

// rawSQLite opens the file without the store, as an administrator would.
func rawSQLite(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSQLiteMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "govsurvey.db")
	ctx := t.Context()

	st, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	fv, _, err := st.AddForm(ctx, store.FormVersion{FormID: "f", Hash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	// Reopening a current database changes nothing.
	st, err = store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	if got, err := st.Form(ctx, "f"); err != nil || got.Hash != fv.Hash {
		t.Errorf("after reopening: form %+v, %v", got, err)
	}
	st.Close()
	db := rawSQLite(t, path)
	var n, max int
	if err := db.QueryRow(`SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != store.SQLiteSchemaVersion || max != store.SQLiteSchemaVersion {
		t.Errorf("schema_migrations has %d rows up to %d, want %d", n, max, store.SQLiteSchemaVersion)
	}

	// A database from a newer govsurvey is refused, and left alone.
	newer := store.SQLiteSchemaVersion + 1
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, newer, 0); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = store.Open(ctx, "sqlite:"+path)
	checkTooNew(t, err, newer, store.SQLiteSchemaVersion)
}

func checkTooNew(t *testing.T, err error, database, known int) {
	t.Helper()
	var tooNew *store.SchemaTooNewError
	if !errors.As(err, &tooNew) {
		t.Fatalf("opening a newer database: err = %v, want a SchemaTooNewError", err)
	}
	want := fmt.Sprintf("store: database schema version %d is newer than this govsurvey (%d); upgrade govsurvey", database, known)
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

// TestSQLiteTwoOpeners has two stores on one file write at once, as two
// govsurvey processes would: they wait for each other instead of failing
// with "database is locked".
func TestSQLiteTwoOpeners(t *testing.T) {
	path := filepath.Join(t.TempDir(), "govsurvey.db")
	var stores []store.Store
	for range 2 {
		st, err := store.OpenSQLite(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		stores = append(stores, st)
	}
	if _, _, err := stores[0].AddForm(t.Context(), store.FormVersion{FormID: "f", Hash: "h"}); err != nil {
		t.Fatal(err)
	}
	const batches, size = 10, 50
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for w, st := range stores {
		wg.Go(func() {
			for b := range batches {
				var rs []store.Response
				for i := range size {
					rs = append(rs, store.Response{FormID: "f", Revision: 1,
						InstanceID:  fmt.Sprintf("%d-%d", w, b*size+i),
						SubmittedAt: time.Unix(int64(i), 0)})
				}
				if _, err := st.AddResponses(t.Context(), rs); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for _, st := range stores {
		if n, err := st.CountResponses(t.Context(), "f"); err != nil || n != len(stores)*batches*size {
			t.Errorf("CountResponses = %d, %v; want %d", n, err, len(stores)*batches*size)
		}
	}
}
