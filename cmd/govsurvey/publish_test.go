package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
)

// TestPublishAndVerify runs the open-data commands end to end on the seed
// wave: publish signs with the installation's key, nothing small is
// published, verify accepts the release and names a changed file.
func TestPublishAndVerify(t *testing.T) {
	t.Setenv("GOVSURVEY_MASTER_KEY_FILE", "")
	t.Setenv("GOVSURVEY_MASTER_KEY", strings.Repeat("cd", 16))
	t.Setenv("GOVSURVEY_OFFICE", "")
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "gs.db")
	seedWave(t, dir, db, "netizen_2019", 7)
	if code, _, errs := runCLI(t, "clean", "--db", db, "--form", "netizen_2019"); code != 0 {
		t.Fatalf("clean: %s", errs)
	}
	report := filepath.Join(dir, "report")
	os.MkdirAll(report, 0o755)
	os.WriteFile(filepath.Join(report, "report.html"), []byte("<p>报告</p>"), 0o644)
	out := filepath.Join(dir, "r1")
	args := []string{"publish", "--db", db, "--form", "netizen_2019", "--question", "gender", "--question", "age_band",
		"--by", "province", "--report", report, "--microdata", "--qi", "age_band", "--qi", "province",
		"--office", "网络安全调查办公室", "--out", out}
	code, stdout, errs := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("publish: exit %d: %s", code, errs)
	}
	t.Log(stdout)
	if !strings.Contains(stdout, "release netizen_2019-r1") || !strings.Contains(stdout, "网络安全调查办公室") {
		t.Errorf("publish said %q", stdout)
	}

	// No published count below 10 in any table.
	tables, _ := filepath.Glob(filepath.Join(out, "tables", "*.csv"))
	if len(tables) != 4 {
		t.Fatalf("tables %v", tables)
	}
	suppressed := 0
	for _, p := range tables {
		recs := readReleaseCSV(t, p)
		ci, si := slices.Index(recs[0], "count"), slices.Index(recs[0], "suppressed")
		for _, r := range recs[1:] {
			if n, err := strconv.Atoi(r[ci]); err == nil && n > 0 && n < 10 {
				t.Errorf("%s publishes %v", filepath.Base(p), r)
			}
			if r[si] == "true" {
				suppressed++
			}
		}
	}
	if suppressed == 0 {
		t.Error("34 provinces of 1,721 respondents and nothing suppressed")
	}
	// Microdata: every combination of the quasi-identifiers has ≥ 10 rows.
	md := readReleaseCSV(t, filepath.Join(out, "microdata", "microdata.csv"))
	ai, pi := slices.Index(md[0], "age_band"), slices.Index(md[0], "province")
	groups := map[[2]string]int{}
	for _, r := range md[1:] {
		groups[[2]string{r[ai], r[pi]}]++
	}
	for g, n := range groups {
		if n < 10 {
			t.Errorf("microdata group %v has %d rows", g, n)
		}
	}

	// verify: untouched, against the installation's published key.
	code, pub, errs := runCLI(t, "audit", "public-key", "--db", db)
	if code != 0 {
		t.Fatalf("audit public-key: %s", errs)
	}
	pubFile := filepath.Join(dir, "office.pem")
	os.WriteFile(pubFile, []byte(pub), 0o644)
	code, stdout, errs = runCLI(t, "verify", "--public-key", pubFile, out)
	if code != 0 || !strings.Contains(stdout, "OK:") || !strings.Contains(stdout, "the key is the one given") {
		t.Errorf("verify untouched: exit %d: %s %s", code, stdout, errs)
	}
	// One file on its own.
	code, stdout, _ = runCLI(t, "verify", filepath.Join(out, "tables", "gender.csv"))
	if code != 0 || !strings.Contains(stdout, "OK: 1 file") {
		t.Errorf("verify one file: exit %d: %s", code, stdout)
	}
	// One changed byte: exit 1, the file named.
	p := filepath.Join(out, "tables", "gender_by_province.csv")
	b, _ := os.ReadFile(p)
	b[len(b)-2] ^= 1
	os.WriteFile(p, b, 0o644)
	code, stdout, _ = runCLI(t, "verify", out)
	if code != 1 || !strings.Contains(stdout, "CHANGED  tables/gender_by_province.csv") {
		t.Errorf("verify changed: exit %d: %s", code, stdout)
	}

	// A second release is version 2; the same directory is refused.
	if code, _, errs := runCLI(t, args...); code != 1 || !strings.Contains(errs, "not empty") {
		t.Errorf("publish into a used directory: exit %d: %s", code, errs)
	}
	args[len(args)-1] = filepath.Join(dir, "r2")
	if code, stdout, errs := runCLI(t, args...); code != 0 || !strings.Contains(stdout, "netizen_2019-r2") {
		t.Errorf("second release: exit %d: %s %s", code, stdout, errs)
	}

	// Each stored release is audited once, the refused directory not at all.
	st, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	entries, _, err := security.ReadAudit(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, en := range entries {
		if en.Action == security.ActionPublish {
			got = append(got, en.Object+" "+en.Outcome)
		}
	}
	want := []string{"release:netizen_2019-r1 ok", "release:netizen_2019-r2 ok"}
	if !slices.Equal(got, want) {
		t.Errorf("publish audit entries %q, want %q", got, want)
	}
}

func readReleaseCSV(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
