package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// NewPostgresDatabase creates an empty database on the server named by
// GOVSURVEY_TEST_POSTGRES and returns its URL, for tests that hand the
// database to another process (a govsurvey binary). It is dropped when t
// ends. Without the variable the test is skipped, or fails in CI.
func NewPostgresDatabase(t testing.TB) string {
	t.Helper()
	return newPostgresDatabase(t, "")
}

// NewPostgresDatabaseICU is NewPostgresDatabase with a locale's default
// collation (ICU en-US) where the server has ICU, and the server's default
// where it has not: the store's own tests use it to show the schema does
// not depend on the server's locale.
func NewPostgresDatabaseICU(t testing.TB) string {
	t.Helper()
	return newPostgresDatabase(t, ` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'`)
}

// newPostgresDatabase creates the database with options, or without them
// when the server refuses them.
func newPostgresDatabase(t testing.TB, options string) string {
	t.Helper()
	admin := os.Getenv("GOVSURVEY_TEST_POSTGRES")
	if admin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("PostgreSQL test skipped in CI: GOVSURVEY_TEST_POSTGRES is not set (run under scripts/with-postgres)")
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
	_, err = conn.Exec(ctx, `CREATE DATABASE `+ident+options)
	if err != nil && options != "" {
		_, err = conn.Exec(ctx, `CREATE DATABASE `+ident)
	}
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
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
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
