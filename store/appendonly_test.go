package store_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/govsurvey/govsurvey/store"
)

// The audit tables refuse UPDATE, DELETE (and in PostgreSQL TRUNCATE) even
// from someone writing SQL by hand, until the triggers are dropped.

func appendSome(t *testing.T, st store.Store) {
	t.Helper()
	for i := range 2 {
		if _, err := st.AppendAudit(t.Context(), func(prev *store.AuditRecord) (store.AuditRecord, error) {
			return store.AuditRecord{Seq: int64(i + 1), Time: time.Now(), Actor: "a", Action: "x", Outcome: "ok",
				PrevHash: []byte{0}, Hash: []byte{byte(i)}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AddAuditCheckpoint(t.Context(), store.AuditCheckpoint{Seq: 2, Time: time.Now(), Hash: []byte{1}, Signature: []byte{2}}); err != nil {
		t.Fatal(err)
	}
}

var tamper = []string{
	`UPDATE audit_log SET actor = 'mallory' WHERE seq = 1`,
	`DELETE FROM audit_log WHERE seq = 2`,
	`UPDATE audit_checkpoints SET hash = hash WHERE seq = 2`,
	`DELETE FROM audit_checkpoints`,
}

func TestSQLiteAuditAppendOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "govsurvey.db")
	st, err := store.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	appendSome(t, st)
	st.Close()
	db := rawSQLite(t, path)
	for _, q := range tamper {
		if _, err := db.Exec(q); err == nil {
			t.Errorf("%s: accepted", q)
		}
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM audit_log WHERE actor = 'a'`).Scan(&n); err != nil || n != 2 {
		t.Errorf("audit log after refused tampering: %d entries, %v", n, err)
	}
}

func TestPostgresAuditAppendOnly(t *testing.T) {
	dbURL := newPostgresDatabase(t)
	ctx := t.Context()
	st, err := store.OpenPostgres(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	appendSome(t, st)
	st.Close()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, q := range append(tamper, `TRUNCATE audit_log`, `TRUNCATE audit_checkpoints`) {
		if _, err := conn.Exec(ctx, q); err == nil {
			t.Errorf("%s: accepted", q)
		}
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE actor = 'a'`).Scan(&n); err != nil || n != 2 {
		t.Errorf("audit log after refused tampering: %d entries, %v", n, err)
	}
}
