package collect

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
)

// backend opens a fresh, empty store for one test.
type backend struct {
	name string
	open func(t *testing.T) store.Store
}

// backends are the stores every import/export test runs against: SQLite
// always; PostgreSQL when GOVSURVEY_TEST_POSTGRES names a server (a
// postgres:// URL), which CI must provide.
func backends(t *testing.T) []backend {
	bs := []backend{{"sqlite", func(t *testing.T) store.Store { return openSQLite(t) }}}
	pg := os.Getenv("GOVSURVEY_TEST_POSTGRES")
	switch {
	case pg != "":
		bs = append(bs, backend{"postgres", func(t *testing.T) store.Store { return openPostgres(t, pg) }})
	case os.Getenv("CI") != "":
		t.Fatal("CI is set but GOVSURVEY_TEST_POSTGRES is not: the PostgreSQL store must be tested in CI")
	default:
		t.Log("GOVSURVEY_TEST_POSTGRES not set: PostgreSQL not tested")
	}
	return bs
}

// eachBackend runs fn as a subtest per backend, each with a fresh store.
func eachBackend(t *testing.T, fn func(t *testing.T, st store.Store)) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { fn(t, b.open(t)) })
	}
}

func openSQLite(t testing.TB) store.Store {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "govsurvey.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// openPostgres creates a database of its own for the test on the server
// named by admin, and drops it afterwards.
func openPostgres(t *testing.T, admin string) store.Store {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("GOVSURVEY_TEST_POSTGRES: %v", err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "gs_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		conn.Close(ctx)
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
		if _, err := conn.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
		conn.Close(ctx)
	})
	return st
}

// addNetizen registers the built-in netizen_2019 form.
func addNetizen(t testing.TB, st store.Store) (store.FormVersion, *form.Form) {
	t.Helper()
	data, name, err := form.Template("netizen_2019")
	if err != nil {
		t.Fatal(err)
	}
	return addForm(t, st, name, data)
}

func addForm(t testing.TB, st store.Store, name string, data []byte) (store.FormVersion, *form.Form) {
	t.Helper()
	fv, f, _, err := AddForm(context.Background(), st, name, data)
	if err != nil {
		t.Fatal(err)
	}
	return fv, f
}
