package security_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// addPrivacyForm registers testdata/privacy.md and returns its revision.
func addPrivacyForm(t testing.TB, st store.Store) (store.FormVersion, *form.Form) {
	t.Helper()
	f := privacyForm(t)
	def, err := f.Definition()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(def)
	fv, _, err := st.AddForm(context.Background(), store.FormVersion{FormID: f.ID, Version: f.Version, Title: f.Title,
		Hash: hex.EncodeToString(sum[:]), Definition: def, Source: []byte("src"), SourceName: "privacy.md"})
	if err != nil {
		t.Fatal(err)
	}
	return fv, f
}

// secrets are personal answers no byte of the database may hold in the clear.
var secrets = []string{"王小明同学", "13912345678", "wang.xm@example.com", "987654321"}

func privacyResponses(t testing.TB, fv store.FormVersion, f *form.Form, prefix string, n int) []store.Response {
	t.Helper()
	var rs []store.Response
	for i := range n {
		enc, err := f.EncodeAnswers(form.Answers{
			"fullname": secrets[0], "income": secrets[3], "gender": "f", "channels": "web1",
			"comment": "电话 " + secrets[1] + " 邮箱 " + secrets[2], "age": "33",
		})
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, store.Response{FormID: fv.FormID, Revision: fv.Revision, InstanceID: fmt.Sprintf("%s-%d", prefix, i),
			SubmittedAt: time.Date(2024, 5, 1, 8, 0, i, 0, time.UTC), Channel: "web", Client: "c" + prefix,
			Receipt: fmt.Sprintf("R-%s-%d", prefix, i), Answers: enc})
	}
	return rs
}

func joinedAnswers(t *testing.T, st store.Store, f *form.Form, formID string) map[string]form.Answers {
	t.Helper()
	out := make(map[string]form.Answers)
	if err := st.EachResponse(t.Context(), store.ResponseFilter{FormID: formID}, func(r store.Response) error {
		if r.Sealed != nil {
			return errors.New("the joined view gave a sealed part")
		}
		a, err := f.DecodeAnswers(r.Answers)
		out[r.InstanceID] = a
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSealingStore(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			raw := b.Open(t)
			keys, master := openKeys(t, raw)
			st := security.NewSealingStore(raw, keys.Sealer())
			fv, f := addPrivacyForm(t, st)
			before := privacyResponses(t, fv, f, "old", 3)
			if _, err := st.AddResponses(ctx, before); err != nil {
				t.Fatal(err)
			}
			want, err := f.DecodeAnswers(before[0].Answers)
			if err != nil {
				t.Fatal(err)
			}

			// What is stored: no secret in the plain part, a sealed part.
			r, err := raw.Response(ctx, fv.FormID, "old-0")
			if err != nil {
				t.Fatal(err)
			}
			if r.Sealed == nil {
				t.Fatal("no sealed part stored")
			}
			for _, s := range secrets {
				if bytes.Contains(r.Answers, []byte(s)) || bytes.Contains(r.Sealed, []byte(s)) {
					t.Errorf("%q stored in the clear", s)
				}
			}
			plain, _ := f.DecodeAnswers(r.Answers)
			if !maps.Equal(plain, form.Answers{"gender": "f", "channels": "web1", "age": "33"}) {
				t.Errorf("de-identified part = %v", plain)
			}
			oldKey, _ := security.SealedKeyID(r.Sealed)

			lagging, err := security.OpenKeys(ctx, raw, master, security.KeyOptions{})
			if err != nil {
				t.Fatal(err)
			}

			// Rotation: new responses use the new key, old ones still open,
			// here and in a process that opens the keys afresh.
			newID, err := keys.Rotate(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if newID == oldKey {
				t.Fatalf("rotation kept key %d", newID)
			}
			if _, err := st.AddResponses(ctx, privacyResponses(t, fv, f, "new", 2)); err != nil {
				t.Fatal(err)
			}
			r, _ = raw.Response(ctx, fv.FormID, "new-0")
			if id, _ := security.SealedKeyID(r.Sealed); id != newID {
				t.Errorf("a response after rotation is sealed with key %d, want %d", id, newID)
			}
			check := func(st store.Store, label string) {
				t.Helper()
				all := joinedAnswers(t, st, f, fv.FormID)
				if len(all) != 5 {
					t.Errorf("%s: %d responses, want 5", label, len(all))
				}
				for id, a := range all {
					if !maps.Equal(a, want) {
						t.Errorf("%s: %s = %v, want %v", label, id, a, want)
					}
				}
			}
			check(st.Joined(), "after rotation")
			reopened, err := security.OpenKeys(ctx, raw, master, security.KeyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			check(security.NewSealingStore(raw, reopened.Sealer()).Joined(), "reopened after rotation")
			if security.Pseudonym(reopened.Pseudonym, security.PurposeClient, "x") != security.Pseudonym(keys.Pseudonym, security.PurposeClient, "x") {
				t.Error("the pseudonym key changed with rotation")
			}

			// A node that read the keyring before the rotation fails on the
			// new key, unless it reloads the keyring when it meets one.
			noReload := security.NewSealingStore(raw, lagging.Sealer())
			if err := noReload.Joined().EachResponse(ctx, store.ResponseFilter{FormID: fv.FormID}, func(store.Response) error { return nil }); !errors.Is(err, security.ErrUnknownDataKey) {
				t.Errorf("a stale keyring: %v, want ErrUnknownDataKey", err)
			}
			withReload := security.NewSealingStore(raw, lagging.Sealer())
			withReload.ReloadOnUnknownKey(lagging.Reload)
			check(withReload.Joined(), "lagging node")

			// Rewrap under a new master key: the old one no longer opens
			// the keys, the new one opens everything.
			newMaster, err := security.GenerateMasterKey()
			if err != nil {
				t.Fatal(err)
			}
			if err := keys.Rewrap(ctx, newMaster); err != nil {
				t.Fatal(err)
			}
			if _, err := security.OpenKeys(ctx, raw, master, security.KeyOptions{}); !errors.Is(err, security.ErrWrongMasterKey) {
				t.Errorf("opening with the replaced master key: %v, want ErrWrongMasterKey", err)
			}
			rewrapped, err := security.OpenKeys(ctx, raw, newMaster, security.KeyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			check(security.NewSealingStore(raw, rewrapped.Sealer()).Joined(), "after rewrap")

			// Withdrawal erases the sealed part; retention erases the rest.
			gone, err := st.WithdrawResponse(ctx, "R-old-0")
			if err != nil {
				t.Fatal(err)
			}
			if r, _ := raw.Response(ctx, fv.FormID, gone.InstanceID); r.Sealed != nil || len(r.Answers) != 0 {
				t.Errorf("withdrawn response keeps sealed %x, answers %x", r.Sealed, r.Answers)
			}
			if n, err := raw.EraseSealed(ctx, fv.FormID, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil || n != 4 {
				t.Errorf("EraseSealed = %d, %v; want 4", n, err)
			}
			for id, a := range joinedAnswers(t, st.Joined(), f, fv.FormID) {
				if !maps.Equal(a, plain) {
					t.Errorf("after retention %s = %v, want only %v", id, a, plain)
				}
			}
		})
	}
}

// TestNoPlaintextAtRest stores personal answers through the sealing store
// and looks for them in every byte the database keeps: the SQLite file,
// its WAL and shared memory, and a pg_dump of the PostgreSQL database.
func TestNoPlaintextAtRest(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		raw, err := store.OpenSQLite(t.Context(), filepath.Join(dir, "govsurvey.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		fillPrivacy(t, raw)
		// The WAL holds every page written since the last checkpoint: look
		// while the store is still open, and again after closing it.
		checkDir(t, dir)
		raw.Close()
		checkDir(t, dir)
	})
	t.Run("postgres", func(t *testing.T) {
		url := storetest.NewPostgresDatabase(t)
		raw, err := store.OpenPostgres(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		fillPrivacy(t, raw)
		pgDump := "pg_dump"
		if _, err := exec.LookPath(pgDump); err != nil {
			matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_dump")
			if len(matches) == 0 {
				t.Fatal("pg_dump not found")
			}
			pgDump = matches[len(matches)-1]
		}
		out, err := exec.Command(pgDump, "--no-owner", url).Output()
		if err != nil {
			t.Fatalf("pg_dump: %v", err)
		}
		if !bytes.Contains(out, []byte("COPY public.responses")) {
			t.Fatal("the dump has no responses table")
		}
		checkBytes(t, "pg_dump", out)
	})
}

// openKeys opens the keys of raw under a new master key.
func openKeys(t *testing.T, raw store.Store) (*security.Keys, security.MasterKey) {
	t.Helper()
	master, err := security.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := security.OpenKeys(t.Context(), raw, master, security.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return keys, master
}

func fillPrivacy(t *testing.T, raw store.Store) {
	t.Helper()
	keys, _ := openKeys(t, raw)
	st := security.NewSealingStore(raw, keys.Sealer())
	fv, f := addPrivacyForm(t, st)
	rs := privacyResponses(t, fv, f, "r", 50)
	for i := range rs {
		rs[i].Raw = rawBody(rs[i].InstanceID) // the archive, as serve --keep-raw keeps it
	}
	if _, err := st.AddResponses(t.Context(), rs); err != nil {
		t.Fatal(err)
	}
	// The answers are really there, for whoever holds the key.
	got := joinedAnswers(t, st.Joined(), f, fv.FormID)
	if a := got["r-7"]; a["fullname"] != secrets[0] {
		t.Fatalf("joined r-7 = %v", a)
	}
}

func checkDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		seen += len(b)
		checkBytes(t, e.Name(), b)
	}
	if seen == 0 {
		t.Fatal("the data directory is empty")
	}
}

func checkBytes(t *testing.T, name string, b []byte) {
	t.Helper()
	for _, s := range secrets {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("%s holds %q in the clear", name, s)
		}
	}
}
