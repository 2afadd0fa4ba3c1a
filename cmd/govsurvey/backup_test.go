package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
)

// TestBackupRestore backs up a live SQLite store while another connection
// keeps committing batches of responses, restores the backup into a new
// file and compares: forms, cleaning flags, counts and a checksum of every
// response equal the live store's; the backup is one snapshot (the written
// batches form an unbroken prefix, none half there); and the restored
// store, opened with the same master key, decrypts a sealed answer.
func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	live := filepath.Join(dir, "live", "govsurvey.db")
	dsn := "sqlite:" + live
	mustRun(t, "", "keys", "init", "--db", dsn)
	t.Setenv("GOVSURVEY_MASTER_KEY_FILE", filepath.Join(dir, "live", masterKeyFileName))
	mustRun(t, "", "form", "add", "--db", dsn, "testdata/privacy.md")
	const secret = "王小明同学"
	csvPath := filepath.Join(dir, "in.csv")
	csvText := "instance_id,started,ended,submitted_at,client,fullname,income,gender,channels,comment,age\n" +
		"p1,,,2020-01-01T08:00:00Z,c1," + secret + ",5000,f,web1,无,33\n" +
		"p2,,,2020-01-02T08:00:00Z,c2,李四,1000,m,app2,无,17\n"
	if err := os.WriteFile(csvPath, []byte(csvText), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "", "import", "--db", dsn, "--form", "privacy", csvPath)
	mustRun(t, "", "clean", "--db", dsn, "--form", "privacy")

	// The writer: another connection committing batches of ten while the
	// backup runs, as a serve node would.
	raw, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	data, name, err := form.Template("netizen_2019")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := collect.AddForm(ctx, raw, name, data); err != nil {
		t.Fatal(err)
	}
	const batch = 10
	var committed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for b := 0; ; b++ {
			select {
			case <-stop:
				return
			default:
			}
			rs := make([]store.Response, batch)
			for i := range rs {
				n := b*batch + i
				rs[i] = store.Response{FormID: "netizen_2019", Revision: 1, InstanceID: fmt.Sprintf("w-%06d", n),
					SubmittedAt: at.Add(time.Duration(n) * time.Second), Channel: "api", Answers: fmt.Appendf(nil, "answers %d", n)}
			}
			if _, err := raw.AddResponses(ctx, rs); err != nil {
				t.Error(err)
				return
			}
			committed.Add(batch)
		}
	})
	waitCount := func(n int64) {
		for committed.Load() < n {
			time.Sleep(time.Millisecond)
		}
	}
	waitCount(200)
	backup := filepath.Join(dir, "backups", "govsurvey.backup")
	if err := os.MkdirAll(filepath.Dir(backup), 0o700); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "", "backup", "--db", dsn, "--out", backup)
	before := committed.Load()
	waitCount(before + 100) // the writer went on after the backup
	close(stop)
	wg.Wait()
	for _, want := range []string{"integrity ok", "master key is not in the backup", masterKeyFileName} {
		if !strings.Contains(out, want) {
			t.Errorf("backup output lacks %q:\n%s", want, out)
		}
	}
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file: %v, mode %v; want 0600", err, fi.Mode())
	}

	// An existing target is refused without --force, for both commands.
	if code, _, errs := runCLIIn(t, "", "backup", "--db", dsn, "--out", backup); code != 1 || !strings.Contains(errs, "--force") {
		t.Errorf("backup over an existing file: exit %d, %s", code, errs)
	}
	restored := filepath.Join(dir, "restored", "govsurvey.db")
	out = mustRun(t, "", "restore", "--in", backup, "--db", "sqlite:"+restored)
	if !strings.Contains(out, "opens the restored keyring") {
		t.Errorf("restore output:\n%s", out)
	}
	if code, _, errs := runCLIIn(t, "", "restore", "--in", backup, "--db", "sqlite:"+restored); code != 1 || !strings.Contains(errs, "--force") {
		t.Errorf("restore over an existing database: exit %d, %s", code, errs)
	}

	got, err := store.Open(ctx, "sqlite:"+restored)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	compareStores(t, raw, got, "privacy")

	// One snapshot: the writer's batches are there whole and in order, up
	// to some batch, and no further.
	n, err := got.CountResponses(ctx, "netizen_2019")
	if err != nil {
		t.Fatal(err)
	}
	if n%batch != 0 || n < 200 || int64(n) > before {
		t.Errorf("the backup holds %d of the writer's responses: not whole batches of %d between 200 and %d", n, batch, before)
	}
	i := 0
	if err := got.EachResponse(ctx, store.ResponseFilter{FormID: "netizen_2019"}, func(r store.Response) error {
		if want := fmt.Sprintf("w-%06d", i); r.InstanceID != want {
			return fmt.Errorf("response %d of the backup is %s, want %s", i, r.InstanceID, want)
		}
		l, err := raw.Response(ctx, r.FormID, r.InstanceID)
		if err != nil || responseSum(l) != responseSum(r) {
			return fmt.Errorf("restored %s differs from the live one (%v)", r.InstanceID, err)
		}
		i++
		return nil
	}); err != nil {
		t.Error(err)
	}

	// The restored store, with the same master key, reads the sealed part.
	full := mustRun(t, "", "export", "--db", "sqlite:"+restored, "--form", "privacy", "--out", "-", "--personal", "--purpose", "restore check")
	if !strings.Contains(full, secret) {
		t.Errorf("the restored store's personal export lacks the sealed answer:\n%s", full)
	}
	// Another master key does not open it, and restore says so.
	t.Setenv("GOVSURVEY_MASTER_KEY_FILE", "")
	t.Setenv("GOVSURVEY_MASTER_KEY", strings.Repeat("ab", 16))
	if code, _, errs := runCLIIn(t, "", "restore", "--force", "--in", backup, "--db", "sqlite:"+restored); code != 1 || !strings.Contains(errs, "does not open") {
		t.Errorf("restore with another master key: exit %d, %s", code, errs)
	}
}

// compareStores requires b to hold what a holds of forms, of formID's
// responses (by checksum) and of its cleaning.
func compareStores(t *testing.T, a, b store.Store, formID string) {
	t.Helper()
	ctx := context.Background()
	fa, err := a.Forms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := b.Forms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if backupFormList(fa) != backupFormList(fb) {
		t.Errorf("forms: live %s, restored %s", backupFormList(fa), backupFormList(fb))
	}
	if sa, sb := responsesSum(t, a, formID), responsesSum(t, b, formID); sa != sb {
		t.Errorf("responses of %s: live %s, restored %s", formID, sa, sb)
	}
	if sa, sb := flagsSum(t, a, formID), flagsSum(t, b, formID); sa != sb {
		t.Errorf("flags of %s: live %s, restored %s", formID, sa, sb)
	}
}

func backupFormList(fvs []store.FormVersion) string {
	var parts []string
	for _, fv := range fvs {
		parts = append(parts, fmt.Sprintf("%s@%d:%s", fv.FormID, fv.Revision, fv.Hash))
	}
	return strings.Join(parts, " ")
}

// responseSum is a checksum of everything stored of one response.
func responseSum(r store.Response) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s|%d|%s|%d|%d|%d|%s|%s|%x|%x|%t|%s|%x|%d", r.FormID, r.Revision, r.InstanceID,
		r.Started.UnixMicro(), r.Ended.UnixMicro(), r.SubmittedAt.UnixMicro(), r.Client, r.Channel,
		r.Answers, r.Sealed, r.Honeypot, r.Receipt, r.Paradata, r.WithdrawnAt.UnixMicro())
	return hex.EncodeToString(h.Sum(nil))
}

// responsesSum is the count and a checksum of a form's responses.
func responsesSum(t *testing.T, st store.Store, formID string) string {
	t.Helper()
	h := sha256.New()
	n := 0
	if err := st.EachResponse(context.Background(), store.ResponseFilter{FormID: formID}, func(r store.Response) error {
		n++
		fmt.Fprintln(h, responseSum(r))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d responses, sha256 %x", n, h.Sum(nil)[:8])
}

func flagsSum(t *testing.T, st store.Store, formID string) string {
	t.Helper()
	c, err := st.Cleaning(context.Background(), formID)
	if err != nil {
		t.Fatal(err)
	}
	var flags []string
	if err := st.EachFlag(context.Background(), store.FlagFilter{FormID: formID}, func(f store.Flag) error {
		flags = append(flags, f.InstanceID+":"+strings.Join(f.Reasons, ","))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("run %s at %s, flags %v", c.RuleVersion, c.CleanedAt.Format(time.RFC3339Nano), flags)
}

// TestBackupPostgresPrintsProcedure: for PostgreSQL, backup and restore
// print the pg_dump procedure and fail instead of pretending.
func TestBackupPostgresPrintsProcedure(t *testing.T) {
	for _, args := range [][]string{
		{"backup", "--db", "postgres://u@localhost/gs", "--out", "x"},
		{"restore", "--db", "postgres://u@localhost/gs", "--in", "x"},
	} {
		code, out, errs := runCLIIn(t, "", args...)
		if code != 1 || !strings.Contains(out, "pg_dump --format=custom") || !strings.Contains(out, "pg_restore") || !strings.Contains(errs, "nothing") {
			t.Errorf("%v: exit %d\n%s%s", args, code, out, errs)
		}
	}
}
