package security_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// auditDB is a store and a raw connection to the same database, for
// tampering as a rogue DBA would.
type auditDB struct {
	name string
	open func(t *testing.T) (store.Store, func(q string) error)
}

func auditDBs(t *testing.T) []auditDB {
	dbs := []auditDB{{"sqlite", func(t *testing.T) (store.Store, func(string) error) {
		st, db := sqliteBeside(t, "_pragma=busy_timeout(10000)")
		return st, func(q string) error { _, err := db.Exec(q); return err }
	}}}
	for _, b := range storetest.Backends(t) {
		if b.Name != "postgres" {
			continue
		}
		dbs = append(dbs, auditDB{"postgres", func(t *testing.T) (store.Store, func(string) error) {
			st, conn := postgresBeside(t)
			return st, func(q string) error { _, err := conn.Exec(context.Background(), q); return err }
		}})
	}
	return dbs
}

// dropGuards removes the append-only triggers, as someone with full
// rights on the database can: from here only the chain protects the log.
var dropGuards = map[string][]string{
	"sqlite": {
		`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`,
		`DROP TRIGGER audit_checkpoints_no_update`, `DROP TRIGGER audit_checkpoints_no_delete`,
	},
	"postgres": {
		`DROP TRIGGER audit_log_append_only ON audit_log`,
		`DROP TRIGGER audit_checkpoints_append_only ON audit_checkpoints`,
	},
}

func TestAuditVerify(t *testing.T) {
	tests := []struct {
		name   string
		tamper []string
		seq    uint64
		kind   security.ChainProblemKind
	}{
		{"intact", nil, 0, ""},
		{"edited", []string{`UPDATE audit_log SET detail = 'rows=1' WHERE seq = 7`}, 7, security.ChainEdited},
		{"edited actor", []string{`UPDATE audit_log SET actor = 'bob' WHERE seq = 3`}, 3, security.ChainEdited},
		{"deleted", []string{`DELETE FROM audit_log WHERE seq = 5`}, 5, security.ChainDeleted},
		// Swapping two rows' seq: each row now holds the entry written
		// for the other's place.
		{"reordered", []string{
			`UPDATE audit_log SET seq = -1 WHERE seq = 4`,
			`UPDATE audit_log SET seq = 4 WHERE seq = 6`,
			`UPDATE audit_log SET seq = 6 WHERE seq = -1`,
		}, 4, security.ChainReordered},
		{"last entry deleted", []string{`DELETE FROM audit_log WHERE seq = 10`}, 10, security.ChainTruncated},
	}
	for _, db := range auditDBs(t) {
		for _, tt := range tests {
			t.Run(db.name+"/"+tt.name, func(t *testing.T) {
				ctx := t.Context()
				st, exec := db.open(t)
				signer, err := security.GenerateAuditSigner()
				if err != nil {
					t.Fatal(err)
				}
				log := security.NewAuditLog(st, signer, security.AuditOptions{CheckpointEvery: 5})
				for i := range 10 {
					if _, err := log.Record(ctx, security.AuditEvent{Actor: "alice", Action: security.ActionExport,
						Object: "form:f", Outcome: security.OutcomeOK, Detail: fmt.Sprintf("rows=%d", 100+i)}); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := security.VerifyAudit(ctx, st, signer.Verifier()); err != nil {
					t.Fatalf("intact log: %v", err)
				}
				if len(tt.tamper) == 0 {
					return
				}
				// The database refuses the change while its guards stand.
				if err := exec(tt.tamper[0]); err == nil {
					t.Fatalf("%s: accepted with the append-only triggers in place", tt.tamper[0])
				}
				for _, q := range append(dropGuards[db.name], tt.tamper...) {
					if err := exec(q); err != nil {
						t.Fatalf("%s: %v", q, err)
					}
				}
				_, err = security.VerifyAudit(ctx, st, signer.Verifier())
				var ce *security.ChainError
				if !errors.As(err, &ce) {
					t.Fatalf("VerifyAudit after tampering = %v, want a ChainError", err)
				}
				found := false
				for _, p := range ce.Problems {
					if p.Seq == tt.seq && p.Kind == tt.kind {
						found = true
					}
				}
				if !found {
					t.Errorf("VerifyAudit found %v, want %s at seq %d", ce.Problems, tt.kind, tt.seq)
				}
			})
		}
	}
}

// A rewrite that re-hashes the whole chain after an edit keeps the chain
// consistent; only the signed checkpoint catches it.
func TestAuditVerifyRehashed(t *testing.T) {
	ctx := t.Context()
	st := storetest.OpenSQLite(t)
	signer, _ := security.GenerateAuditSigner()
	log := security.NewAuditLog(st, signer, security.AuditOptions{CheckpointEvery: 4})
	for i := range 4 {
		log.Record(ctx, security.AuditEvent{Actor: "a", Action: "x", Outcome: "ok", Detail: fmt.Sprint(i)})
	}
	entries, checkpoints, err := security.ReadAudit(ctx, st)
	if err != nil || len(checkpoints) != 1 {
		t.Fatalf("ReadAudit: %d checkpoints, %v", len(checkpoints), err)
	}
	entries[1].Detail = "forged"
	for i := 1; i < len(entries); i++ {
		prev := entries[i-1]
		entries[i] = security.LinkAuditEntry(&prev, entries[i])
	}
	err = security.VerifyChain(entries, checkpoints, signer.Verifier())
	if !errors.Is(err, security.ErrAuditTampered) || !strings.Contains(err.Error(), string(security.ChainCheckpoint)) {
		t.Errorf("VerifyChain of a re-hashed chain = %v, want a checkpoint problem", err)
	}
	// Another key does not vouch for the checkpoints.
	other, _ := security.GenerateAuditSigner()
	if _, err := security.VerifyAudit(ctx, st, other.Verifier()); !errors.Is(err, security.ErrAuditTampered) {
		t.Errorf("VerifyAudit with a foreign key = %v, want ErrAuditTampered", err)
	}
}

func TestAuditCheckpointAndExport(t *testing.T) {
	ctx := t.Context()
	st := storetest.OpenSQLite(t)
	signer, _ := security.GenerateAuditSigner()
	clock := time.Date(2024, 3, 1, 9, 0, 0, 123456789, time.UTC)
	log := security.NewAuditLog(st, signer, security.AuditOptions{CheckpointEvery: 3, Now: func() time.Time { return clock }})
	if err := log.Checkpoint(ctx); err != nil {
		t.Fatalf("checkpoint of an empty log: %v", err)
	}
	for i := range 4 {
		if _, err := log.Record(ctx, security.AuditEvent{Actor: "alice", Action: security.ActionLogin, Object: "user:alice",
			Outcome: security.OutcomeOK, Detail: fmt.Sprint("n=", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := log.Record(ctx, security.AuditEvent{Actor: "x"}); err == nil {
		t.Error("an event without action and outcome was recorded")
	}
	rep, err := security.VerifyAudit(ctx, st, signer.Verifier())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Entries != 4 || rep.Checkpoints != 1 || rep.Unsigned != 1 {
		t.Errorf("before the shutdown checkpoint: %+v", rep)
	}
	if err := log.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if err := log.Checkpoint(ctx); err != nil { // nothing new: no second checkpoint
		t.Fatal(err)
	}
	rep, err = security.VerifyAudit(ctx, st, signer.Verifier())
	if err != nil || rep.Checkpoints != 2 || rep.Unsigned != 0 || rep.LastSeq != 4 {
		t.Errorf("after the shutdown checkpoint: %+v, %v", rep, err)
	}

	var buf bytes.Buffer
	n, err := security.ExportAudit(ctx, st, &buf)
	if err != nil || n != 4 {
		t.Fatalf("ExportAudit = %d, %v", n, err)
	}
	var types []string
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		types = append(types, fmt.Sprintf("%v %v", line["type"], line["seq"]))
		if line["type"] == "entry" && line["time"] != "2024-03-01T09:00:00.123456Z" {
			t.Errorf("time = %v", line["time"])
		}
	}
	want := "entry 1,entry 2,entry 3,checkpoint 3,entry 4,checkpoint 4"
	if got := strings.Join(types, ","); got != want {
		t.Errorf("export = %s, want %s", got, want)
	}
}
