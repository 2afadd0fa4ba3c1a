package publish

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/stats"
)

func testSigner(t *testing.T, name string) *Signer {
	t.Helper()
	k, err := security.GenerateAuditSigner()
	if err != nil {
		t.Fatal(err)
	}
	p, err := k.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(p, name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testForm() *form.Form {
	return &form.Form{
		ID: "town_2026", Title: "镇调查",
		Survey: []*form.Question{
			{Type: "select_one", Name: "safe", ListName: "yn", Label: form.Text{"中文 (zh)": "安全吗", "English (en)": "Safe?"}},
			{Type: "select_one", Name: "job", ListName: "job", Label: form.Text{"中文 (zh)": "职业", "English (en)": "Job"}},
		},
		Choices: map[string][]form.Choice{
			"yn":  {{Name: "yes", Label: form.Text{"中文 (zh)": "是", "English (en)": "Yes"}}, {Name: "no", Label: form.Text{"中文 (zh)": "否", "English (en)": "No"}}, {Name: "dk", Label: form.Text{"中文 (zh)": "不知道", "English (en)": "Don't know"}}},
			"job": {{Name: "a"}, {Name: "b"}, {Name: "c"}},
		},
	}
}

func choices(names []string, counts []int) ([]stats.ChoiceEstimate, int) {
	base := 0
	for _, n := range counts {
		base += n
	}
	var out []stats.ChoiceEstimate
	for k, n := range counts {
		out = append(out, stats.ChoiceEstimate{Name: names[k], Count: stats.Num(n), Percent: stats.Num(100 * float64(n) / float64(base))})
	}
	return out, base
}

// testAnalysis: safe × job with small cells (3 and 4).
func testAnalysis() *stats.Analysis {
	yn := []string{"yes", "no", "dk"}
	cells := [][]int{{50, 40, 3}, {30, 25, 20}, {4, 15, 12}} // rows: job groups; columns: yes/no/dk
	an := &stats.Analysis{FormID: "town_2026", Collected: 220, Valid: 199}
	total := []int{0, 0, 0}
	ct := stats.Crosstab{By: "job"}
	for g, name := range []string{"a", "b", "c"} {
		cs, base := choices(yn, cells[g])
		for k := range total {
			total[k] += cells[g][k]
		}
		ct.Groups = append(ct.Groups, stats.CrosstabGroup{Name: name, Base: base,
			Questions: []stats.QuestionTable{{Name: "safe", Type: "select_one", Base: base, Choices: cs}}})
	}
	cs, base := choices(yn, total)
	an.Questions = []stats.QuestionTable{{Name: "safe", Type: "select_one", Base: base, Choices: cs}}
	an.Crosstabs = []stats.Crosstab{ct}
	return an
}

func buildTestRelease(t *testing.T, s *Signer) (*Release, string) {
	t.Helper()
	report := t.TempDir()
	os.WriteFile(filepath.Join(report, "report.html"), []byte("<html>报告</html>"), 0o644)
	r, err := Build(testAnalysis(), testForm(), Options{Version: 1, Signer: s, ReportDir: report,
		Now: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), r.ID)
	if err := r.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	return r, dir
}

func TestReleaseFilesPublishNoSmallCell(t *testing.T) {
	r, dir := buildTestRelease(t, testSigner(t, "Town Statistics Office"))
	if r.ID != "town_2026-r1" {
		t.Errorf("id %s", r.ID)
	}
	for _, name := range []string{"release.json", "csv-metadata.json", "tables.xlsx", "tables/safe.csv", "tables/safe.json",
		"tables/safe_by_job.csv", "tables/safe_by_job.json", "report/report.html", ManifestName, SignatureName, PublicKeyName} {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name))); err != nil {
			t.Errorf("missing %s: %v", name, err)
		}
	}
	// Read the published CSVs back as a user would: no count below 10
	// unless zero, and each suppressed cell has no count or percent.
	suppressed := 0
	for _, name := range []string{"tables/safe.csv", "tables/safe_by_job.csv"} {
		b, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if !bytes.HasPrefix(b, []byte("\ufeff")) {
			t.Errorf("%s has no BOM", name)
		}
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff")))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		head := recs[0]
		ci, pi, si, bi := slices.Index(head, "count"), slices.Index(head, "percent"), slices.Index(head, "suppressed"), slices.Index(head, "base")
		for _, rec := range recs[1:] {
			for _, k := range []int{ci, bi} {
				if rec[k] == "" {
					continue
				}
				n, err := strconv.Atoi(rec[k])
				if err != nil || (n > 0 && n < 10) {
					t.Errorf("%s: published %q in %v", name, rec[k], rec)
				}
			}
			if rec[si] == "true" {
				suppressed++
				if rec[ci] != "" || rec[pi] != "" {
					t.Errorf("%s: suppressed row shows %v", name, rec)
				}
			}
		}
	}
	if suppressed < 4 {
		t.Errorf("%d suppressed cells; the two small ones need at least two partners", suppressed)
	}
	var meta Metadata
	b, _ := os.ReadFile(filepath.Join(dir, "release.json"))
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Suppression.MinCount != 10 || meta.Suppression.Method == "" || meta.Publisher != "Town Statistics Office" {
		t.Errorf("metadata %+v", meta.Suppression)
	}
	var csvw map[string]any
	b, _ = os.ReadFile(filepath.Join(dir, "csv-metadata.json"))
	if err := json.Unmarshal(b, &csvw); err != nil || len(csvw["tables"].([]any)) != 2 {
		t.Errorf("csv-metadata.json: %v %v", err, csvw["tables"])
	}
}

func TestVerify(t *testing.T) {
	s := testSigner(t, "Town Statistics Office")
	r, dir := buildTestRelease(t, s)
	pub, _ := s.PublicKeyPEM()

	rep, err := VerifyDir(dir, pub)
	if err != nil || !rep.OK() || !rep.Trusted || rep.SignedBy.Name != "Town Statistics Office" || len(rep.Checked) != len(r.Files)-2 {
		t.Fatalf("untouched release: %+v, %v", rep, err)
	}

	// One changed byte in one table is found and named.
	changed := copyDir(t, dir)
	p := filepath.Join(changed, "tables", "safe_by_job.csv")
	b, _ := os.ReadFile(p)
	i := bytes.IndexByte(b, '5')
	b[i] = '6'
	os.WriteFile(p, b, 0o644)
	rep, err = VerifyDir(changed, pub)
	if err != nil || rep.OK() || !slices.Equal(rep.Changed, []string{"tables/safe_by_job.csv"}) {
		t.Errorf("changed byte: OK %v, changed %v, %v", rep.OK(), rep.Changed, err)
	}

	// A missing and an extra file.
	other := copyDir(t, dir)
	os.Remove(filepath.Join(other, "tables.xlsx"))
	os.WriteFile(filepath.Join(other, "tables", "new.csv"), []byte("x"), 0o644)
	rep, _ = VerifyDir(other, pub)
	if rep.OK() || !slices.Equal(rep.Missing, []string{"tables.xlsx"}) || !slices.Equal(rep.Extra, []string{"tables/new.csv"}) {
		t.Errorf("missing %v, extra %v", rep.Missing, rep.Extra)
	}

	// A changed manifest breaks the signature.
	forged := copyDir(t, dir)
	mp := filepath.Join(forged, ManifestName)
	mb, _ := os.ReadFile(mp)
	os.WriteFile(mp, bytes.Replace(mb, []byte(`"version": 1`), []byte(`"version": 2`), 1), 0o644)
	rep, err = VerifyDir(forged, pub)
	if err != nil || rep.OK() || !errors.Is(rep.SignatureErr, ErrBadSignature) {
		t.Errorf("forged manifest: %v, %v", rep.SignatureErr, err)
	}

	// Signed by another key than the office's.
	rep, _ = VerifyDir(dir, mustPub(t, testSigner(t, "Town Statistics Office")))
	if rep.OK() || !rep.KeyMismatch {
		t.Errorf("foreign key accepted: %+v", rep)
	}

	// One downloaded file, elsewhere, against the release's manifest.
	dl := t.TempDir()
	good, _ := os.ReadFile(filepath.Join(dir, "tables", "safe.csv"))
	os.WriteFile(filepath.Join(dl, "safe.csv"), good, 0o644)
	rep, err = VerifyFile(filepath.Join(dl, "safe.csv"), dir, pub)
	if err != nil || !rep.OK() || !slices.Equal(rep.Checked, []string{"tables/safe.csv"}) {
		t.Errorf("downloaded file: %+v, %v", rep, err)
	}
	os.WriteFile(filepath.Join(dl, "safe.csv"), append(good, ' '), 0o644)
	rep, _ = VerifyFile(filepath.Join(dl, "safe.csv"), dir, pub)
	if rep.OK() || !slices.Equal(rep.Changed, []string{"tables/safe.csv"}) {
		t.Errorf("changed downloaded file: %+v", rep)
	}
	// Inside the release, the manifest is found by itself.
	rep, err = VerifyFile(filepath.Join(dir, "report", "report.html"), "", nil)
	if err != nil || !rep.OK() || rep.Trusted {
		t.Errorf("file in release: %+v, %v", rep, err)
	}
}

func mustPub(t *testing.T, s *Signer) []byte {
	p, err := s.PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755)
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestSignerRedacted(t *testing.T) {
	s := testSigner(t, "office")
	for _, out := range []string{s.String(), strings.TrimSpace(sprint(s))} {
		if strings.Contains(out, "PRIVATE") || !strings.Contains(out, "office") {
			t.Errorf("signer prints %q", out)
		}
	}
}

func sprint(v any) string { return fmt.Sprintf("%v %+v", v, v) }
