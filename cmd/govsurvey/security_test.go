package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// secretValues are personal answers that must never be at rest in the clear.
var secretValues = []string{"王小明同学", "13912345678", "wang.xm@example.com", "987654321"}

// TestPrivacyEndToEnd imports personal answers with the CLI and checks
// what is at rest (every file of the data directory, or a pg_dump), what
// exports give by default and to a stated purpose, that key rotation
// keeps old answers readable, that cleaning reads them, and that
// retention erases them.
func TestPrivacyEndToEnd(t *testing.T) {
	for _, db := range cliDBs(t) {
		t.Run(db.name, func(t *testing.T) {
			dsn, _ := db.open(t)
			if db.name == "sqlite" {
				mustRun(t, "", "keys", "init", "--db", dsn)
			}
			mustRun(t, "", "form", "add", "--db", dsn, "testdata/privacy.md")
			recent := time.Now().UTC().Add(-48 * time.Hour).Format(time.RFC3339)
			csvText := "instance_id,started,ended,submitted_at,client,fullname,income,gender,channels,comment,age\n" +
				"old1,,,2020-01-01T08:00:00Z,c1," + secretValues[0] + "," + secretValues[3] + ",f,web1,电话 " + secretValues[1] + ",33\n" +
				"new1,,,2020-01-02T08:00:00Z,c2,李四,1000,m,app2,邮箱 " + secretValues[2] + ",40\n"
			csvPath := filepath.Join(t.TempDir(), "in.csv")
			if err := os.WriteFile(csvPath, []byte(csvText), 0o600); err != nil {
				t.Fatal(err)
			}
			mustRun(t, "", "import", "--db", dsn, "--form", "privacy", csvPath)
			checkAtRest(t, db.name, dsn)

			// Rotation, then more answers under the new key.
			mustRun(t, "", "keys", "rotate", "--db", dsn)
			csv2 := "instance_id,started,ended,submitted_at,client,fullname,income,gender,channels,comment,age\n" +
				"recent1,,," + recent + ",c3,赵六,2000,f,web1,没有意见,25\n"
			if err := os.WriteFile(csvPath, []byte(csv2), 0o600); err != nil {
				t.Fatal(err)
			}
			mustRun(t, "", "import", "--db", dsn, "--form", "privacy", csvPath)
			checkAtRest(t, db.name, dsn)

			plain := mustRun(t, "", "export", "--db", dsn, "--form", "privacy", "--out", "-", "--all-responses")
			for _, s := range append(secretValues, "c1", "fullname") {
				if strings.Contains(plain, s) {
					t.Errorf("the default export holds %q:\n%s", s, plain)
				}
			}
			if code, _, _ := runCLIIn(t, "", "export", "--db", dsn, "--form", "privacy", "--out", "-", "--personal"); code != 2 {
				t.Errorf("--personal without --purpose: exit %d", code)
			}
			full := mustRun(t, "", "export", "--db", dsn, "--form", "privacy", "--out", "-", "--personal", "--purpose", "抽奖回访", "--all-responses")
			for _, s := range append(secretValues, "赵六", "c3") {
				if !strings.Contains(full, s) {
					t.Errorf("the personal export lacks %q (rotation lost old answers?):\n%s", s, full)
				}
			}
			// Cleaning judges the sealed answers (none is incomplete).
			if out := mustRun(t, "", "clean", "--db", dsn, "--form", "privacy"); !strings.Contains(out, "collected") {
				t.Errorf("clean: %s", out)
			}

			// Retention (30 days in the form): the 2020 responses lose
			// their personal part and client, the recent one keeps them.
			out := mustRun(t, "", "retention", "run", "--db", dsn)
			if !strings.Contains(out, "personal data of 2 responses") {
				t.Errorf("retention run: %s", out)
			}
			full = mustRun(t, "", "export", "--db", dsn, "--form", "privacy", "--out", "-", "--personal", "--purpose", "check")
			if strings.Contains(full, secretValues[0]) || strings.Contains(full, "李四") || !strings.Contains(full, "赵六") {
				t.Errorf("after retention:\n%s", full)
			}
			audit := mustRun(t, "", "audit", "export", "--db", dsn, "--out", "-")
			for _, want := range []string{`"action":"retention.erase"`, `"action":"responses.export_personal"`, "purpose=抽奖回访", `"action":"keys.rotate"`, `"action":"responses.import"`, `"action":"form.change"`} {
				if !strings.Contains(audit, want) {
					t.Errorf("audit log lacks %s", want)
				}
			}
			for _, s := range secretValues {
				if strings.Contains(audit, s) {
					t.Errorf("the audit log holds %q", s)
				}
			}
			if out := mustRun(t, "", "audit", "verify", "--db", dsn); !strings.Contains(out, "intact") {
				t.Errorf("audit verify: %s", out)
			}
		})
	}
}

// checkAtRest looks for the secret values in every byte the database
// keeps: each file of the SQLite data directory (database, WAL, shared
// memory), or a pg_dump.
func checkAtRest(t *testing.T, dialect, dsn string) {
	t.Helper()
	var blobs = map[string][]byte{}
	if dialect == "sqlite" {
		dir := filepath.Dir(strings.TrimPrefix(dsn, "sqlite:"))
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			blobs[e.Name()] = b
		}
	} else {
		pgDump := "pg_dump"
		if _, err := exec.LookPath(pgDump); err != nil {
			matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_dump")
			if len(matches) == 0 {
				t.Fatal("pg_dump not found")
			}
			pgDump = matches[len(matches)-1]
		}
		out, err := exec.Command(pgDump, "--no-owner", dsn).Output()
		if err != nil {
			t.Fatalf("pg_dump: %v", err)
		}
		blobs["pg_dump"] = out
	}
	for name, b := range blobs {
		for _, s := range secretValues {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds %q in the clear", name, s)
			}
		}
	}
}

// TestServeNeedsMasterKey: serve refuses to start without a master key,
// unless told to create one beside the embedded database.
func TestServeNeedsMasterKey(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "govsurvey.db")
	code, _, errs := runCLIIn(t, "", "serve", "--db", dsn, "--addr", "127.0.0.1:0")
	if code != 1 || !strings.Contains(errs, "no master key") {
		t.Errorf("serve without a key: exit %d, %q", code, errs)
	}
	if code, _, errs := runCLIIn(t, "", "serve", "--db", dsn, "--tls-cert", "c.pem"); code != 2 {
		t.Errorf("--tls-cert without --tls-key: exit %d, %q", code, errs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--db", dsn, "--addr", "127.0.0.1:0", "--init-keys"}, strings.NewReader(""), &out, &errb)
	}()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !strings.Contains(errb.String(), "listening"); time.Sleep(20 * time.Millisecond) {
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve --init-keys: exit %d: %s", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(strings.TrimPrefix(dsn, "sqlite:")), "master.key")); err != nil {
		t.Errorf("serve --init-keys made no key: %v", err)
	}
	// The shutdown checkpoint anchors what the server audited.
	if out := mustRun(t, "", "audit", "verify", "--db", dsn); !strings.Contains(out, "intact") {
		t.Errorf("audit verify after serve: %s", out)
	}
}
