package store_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/govsurvey/govsurvey/store"
)

// The upgrade tests write a database as govsurvey's first schema left it,
// with a response, and open it with this govsurvey: step 2 adds the
// cleaning tables and the honeypot column, false for what was there.

func TestSQLiteUpgradeFrom1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "govsurvey.db")
	db := rawSQLite(t, path)
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)`,
		store.SQLiteMigrations[0],
		`INSERT INTO schema_migrations VALUES (1, 0)`,
		`INSERT INTO forms VALUES ('f', 1, 'v', 't', 'h', x'', x'', 'f.xlsx', 0)`,
		`INSERT INTO responses VALUES ('f', 'old', 1, NULL, NULL, 5, 'c', 'web', x'01')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	checkUpgraded(t, func() (store.Store, error) { return store.OpenSQLite(t.Context(), path) })
}

func TestPostgresUpgradeFrom1(t *testing.T) {
	dbURL := newPostgresDatabase(t)
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)`,
		store.PostgresMigrations[0],
		`INSERT INTO schema_migrations VALUES (1, 0)`,
		`INSERT INTO forms VALUES ('f', 1, 'v', 't', 'h', '', '', 'f.xlsx', 0)`,
		`INSERT INTO responses VALUES ('f', 'old', 1, NULL, NULL, 5, 'c', 'web', '\x01')`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	checkUpgraded(t, func() (store.Store, error) { return store.OpenPostgres(ctx, dbURL) })
}

func checkUpgraded(t *testing.T, open func() (store.Store, error)) {
	t.Helper()
	ctx := t.Context()
	st, err := open()
	if err != nil {
		t.Fatalf("opening a schema 1 database: %v", err)
	}
	defer st.Close()
	r, err := st.Response(ctx, "f", "old")
	if err != nil {
		t.Fatal(err)
	}
	if r.Honeypot || r.Client != "c" || !r.SubmittedAt.Equal(time.UnixMicro(5)) {
		t.Errorf("response after the upgrade = %+v", r)
	}
	if _, err := st.ReplaceFlags(ctx, store.Cleaning{FormID: "f", RuleVersion: "clean/1", Collected: 1},
		[]store.Flag{{FormID: "f", InstanceID: "old", Reasons: []string{"speeding"}}}); err != nil {
		t.Errorf("flagging after the upgrade: %v", err)
	}
	if _, err := st.AddOverride(ctx, store.Override{FormID: "f", InstanceID: "old", Valid: true, Note: "n", Actor: "a"}); err != nil {
		t.Errorf("overriding after the upgrade: %v", err)
	}
}
