package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/govsurvey/govsurvey/store/storetest"
)

// runCLIIn runs the command in-process with stdin as standard input.
func runCLIIn(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	code, out, errs := runCLIIn(t, stdin, args...)
	if code != 0 {
		t.Fatalf("govsurvey %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// cliDB is a database for the CLI and a raw connection to tamper with it.
type cliDB struct {
	name string
	open func(t *testing.T) (dsn string, exec func(string) error)
}

func cliDBs(t *testing.T) []cliDB {
	dbs := []cliDB{{"sqlite", func(t *testing.T) (string, func(string) error) {
		path := filepath.Join(t.TempDir(), "data", "govsurvey.db")
		return "sqlite:" + path, func(q string) error {
			db, err := sql.Open("sqlite", "file:"+path)
			if err != nil {
				return err
			}
			defer db.Close()
			_, err = db.Exec(q)
			return err
		}
	}}}
	for _, b := range storetest.Backends(t) {
		if b.Name == "postgres" {
			dbs = append(dbs, cliDB{"postgres", func(t *testing.T) (string, func(string) error) {
				url := storetest.NewPostgresDatabase(t)
				// No data directory beside PostgreSQL: the key lives where
				// the operator says.
				keyFile := filepath.Join(t.TempDir(), "master.key")
				mustRun(t, "", "keys", "init", "--db", url, "--out", keyFile)
				t.Setenv("GOVSURVEY_MASTER_KEY_FILE", keyFile)
				return url, func(q string) error {
					conn, err := pgx.Connect(context.Background(), url)
					if err != nil {
						return err
					}
					defer conn.Close(context.Background())
					_, err = conn.Exec(context.Background(), q)
					return err
				}
			}})
		}
	}
	return dbs
}

// TestSecurityCLI walks the operator's commands: keys, users, tokens,
// and an audit log that verify then catches being edited, cut and
// reordered behind govsurvey's back.
func TestSecurityCLI(t *testing.T) {
	for _, db := range cliDBs(t) {
		t.Run(db.name, func(t *testing.T) {
			dsn, exec := db.open(t)
			if db.name == "sqlite" {
				if code, _, errs := runCLIIn(t, "", "keys", "status", "--db", dsn); code != 1 || !strings.Contains(errs, "no master key") {
					t.Errorf("keys status without a key: exit %d, %q", code, errs)
				}
				mustRun(t, "", "keys", "init", "--db", dsn)
				fi, err := os.Stat(filepath.Join(filepath.Dir(strings.TrimPrefix(dsn, "sqlite:")), "master.key"))
				if err != nil || fi.Mode().Perm() != 0o600 {
					t.Fatalf("master.key: %v, mode %v", err, fi.Mode())
				}
				if code, _, _ := runCLIIn(t, "", "keys", "init", "--db", dsn); code != 1 {
					t.Error("a second keys init did not refuse")
				}
			}
			out := mustRun(t, "", "keys", "status", "--db", dsn)
			if !strings.Contains(out, "check value") || !strings.Contains(out, "1 ") {
				t.Errorf("keys status:\n%s", out)
			}
			if out := mustRun(t, "", "keys", "rotate", "--db", dsn); !strings.Contains(out, "data key 2 is now current") {
				t.Errorf("keys rotate: %s", out)
			}

			mustRun(t, "Correct-Horse-7\n", "user", "add", "alice", "--role", "data_officer", "--db", dsn)
			if code, _, errs := runCLIIn(t, "short\n", "user", "add", "bob", "--role", "analyst", "--db", dsn); code != 1 || !strings.Contains(errs, "too weak") {
				t.Errorf("weak password: exit %d, %q", code, errs)
			}
			if code, _, _ := runCLIIn(t, "Correct-Horse-7\n", "user", "add", "bob", "--role", "root", "--db", dsn); code != 2 {
				t.Errorf("unknown role: exit %d, want 2", code)
			}
			out = mustRun(t, "", "user", "add", "bob", "--role", "auditor,analyst", "--generate-password", "--db", dsn)
			if !strings.Contains(out, "shown once") {
				t.Errorf("generated password: %s", out)
			}
			mustRun(t, "", "user", "disable", "bob", "--db", dsn)
			out = mustRun(t, "", "user", "list", "--db", dsn)
			if !strings.Contains(out, "alice  data_officer") || !strings.Contains(out, "disabled") {
				t.Errorf("user list:\n%s", out)
			}
			out = mustRun(t, "", "user", "token", "add", "alice", "--scope", "responses.export_personal", "--db", dsn)
			if !strings.Contains(out, "gst_") {
				t.Errorf("token add: %s", out)
			}

			out = mustRun(t, "", "audit", "verify", "--db", dsn)
			if !strings.Contains(out, "intact") {
				t.Errorf("audit verify: %s", out)
			}
			pub := filepath.Join(t.TempDir(), "audit.pub")
			if err := os.WriteFile(pub, []byte(mustRun(t, "", "audit", "public-key", "--db", dsn)), 0o644); err != nil {
				t.Fatal(err)
			}
			archive := filepath.Join(t.TempDir(), "audit.jsonl")
			mustRun(t, "", "audit", "export", "--out", archive, "--db", dsn)
			b, err := os.ReadFile(archive)
			if err != nil || bytes.Count(b, []byte(`"type":"entry"`)) < 6 || !bytes.Contains(b, []byte(`"type":"checkpoint"`)) {
				t.Fatalf("archive: %v\n%s", err, b)
			}
			if bytes.Contains(b, []byte("Correct-Horse-7")) || bytes.Contains(b, []byte("gst_")) {
				t.Error("a password or token reached the audit log")
			}

			// Behind govsurvey's back: drop the guards and edit, delete,
			// reorder; verify names each, with the auditor's own key.
			for _, q := range dropGuards(db.name) {
				if err := exec(q); err != nil {
					t.Fatal(err)
				}
			}
			for _, q := range []string{
				`UPDATE audit_log SET detail = 'nothing to see' WHERE seq = 2`,
				`DELETE FROM audit_log WHERE seq = 4`,
				`UPDATE audit_log SET seq = -1 WHERE seq = 5`,
				`UPDATE audit_log SET seq = 5 WHERE seq = 6`,
				`UPDATE audit_log SET seq = 6 WHERE seq = -1`,
			} {
				if err := exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			code, out, errs := runCLIIn(t, "", "audit", "verify", "--public-key", pub, "--db", dsn)
			if code != 1 {
				t.Fatalf("audit verify of a tampered log: exit %d\n%s%s", code, out, errs)
			}
			for _, want := range []string{"seq 2: edited", "seq 4: deleted", "seq 5: reordered", "ALTERED"} {
				if !strings.Contains(out, want) {
					t.Errorf("audit verify output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func dropGuards(dialect string) []string {
	if dialect == "postgres" {
		return []string{`DROP TRIGGER audit_log_append_only ON audit_log`}
	}
	return []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`}
}
