package export

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
)

// needTool finds an independent reader. Without it the test is skipped on a
// developer's machine, but fails in CI (CI set), where scripts/test
// installs it.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; CI must install it (see scripts/test)", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

// needHaven checks that R can load haven and jsonlite.
func needHaven(t *testing.T) string {
	t.Helper()
	rs := needTool(t, "Rscript")
	out, err := exec.Command(rs, "-e", `cat(requireNamespace("haven", quietly=TRUE) && requireNamespace("jsonlite", quietly=TRUE))`).Output()
	if err != nil || strings.TrimSpace(string(out)) != "TRUE" {
		if os.Getenv("CI") != "" {
			t.Fatalf("R packages haven and jsonlite are not installed (Debian r-cran-haven, r-cran-jsonlite): %v", err)
		}
		t.Skip("R haven is not installed")
	}
	return rs
}

var (
	t0       = time.Date(2019, 7, 1, 8, 0, 0, 0, time.UTC)
	longText = strings.Repeat("网络安全", 180) // 2,160 bytes: an SPSS very long string and a Stata strL
)

// fixtureRow is one stored response of testdata/mixed.md.
type fixtureRow struct {
	id      string
	client  string
	started time.Time
	answers form.Answers
}

var fixtureRows = []fixtureRow{
	{"r1", "c-aaa", t0, form.Answers{
		"gender": "female", "safety": "safe", "services": "web app", "comment": "很好，继续努力",
		"age": "34", "score": "7.5", "visit_date": "2019-07-03", "callback_at": "2019-07-04T10:30:00.000+08:00",
		"phone": "13800000000", "id_number": "110101199001011234", "a_rather_long_question_name_for_topics": "privacy",
	}},
	// Unanswered questions, and a comment too long for short strings.
	{"r2", "c-bbb", t0.Add(time.Hour), form.Answers{"safety": "unsafe", "comment": longText}},
	// Values that do not fit their question: stored as given, missing here.
	{"r3", "c-ccc", t0.Add(2 * time.Hour), form.Answers{
		"gender": "other_value", "safety": "fair", "services": "counter phone_line",
		"comment": "a | pipe, 'quotes' and \"double\"", "age": "12.5", "score": "abc",
		"a_rather_long_question_name_for_topics": "privacy fraud_and_scams_online",
	}},
}

// fixture is a store holding the mixed form and fixtureRows.
func fixture(t *testing.T) (store.Store, store.FormVersion, *form.Form) {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "export.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	data, err := os.ReadFile("testdata/mixed.md")
	if err != nil {
		t.Fatal(err)
	}
	fv, f, _, err := collect.AddForm(ctx, st, "mixed.md", data)
	if err != nil {
		t.Fatal(err)
	}
	var rs []store.Response
	for _, r := range fixtureRows {
		enc, err := f.EncodeAnswers(r.answers)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, store.Response{
			FormID: fv.FormID, Revision: fv.Revision, InstanceID: r.id,
			Started: r.started, Ended: r.started.Add(5*time.Minute + 250*time.Millisecond),
			SubmittedAt: r.started.Add(6 * time.Minute), Client: r.client, Channel: "import", Answers: enc,
		})
	}
	if _, err := st.AddResponses(ctx, rs); err != nil {
		t.Fatal(err)
	}
	return st, fv, f
}

// exportFile exports the fixture in format to a file and returns its path.
func exportFile(t *testing.T, st store.Store, fv store.FormVersion, f *form.Form, opts Options) string {
	t.Helper()
	path, res := exportTo(t, st, fv, f, opts)
	if res.Rows != len(fixtureRows) {
		t.Fatalf("Export wrote %d rows, want %d", res.Rows, len(fixtureRows))
	}
	return path
}

// havenFile is what testdata/read_haven.R prints.
type havenFile struct {
	Rows      int                      `json:"rows"`
	Names     []string                 `json:"names"`
	Variables map[string]havenVariable `json:"variables"`
}

type havenVariable struct {
	Label       string            `json:"label"`
	ValueLabels map[string]string `json:"value_labels"`
	Format      string            `json:"format"`
	Type        string            `json:"type"`
	Values      []any             `json:"values"`
}

func readHaven(t *testing.T, rscript, path string) havenFile {
	t.Helper()
	cmd := exec.Command(rscript, "testdata/read_haven.R", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("haven could not read %s: %v\n%s", filepath.Base(path), err, stderr.String())
	}
	var hf havenFile
	if err := json.Unmarshal(out, &hf); err != nil {
		t.Fatalf("haven output: %v\n%s", err, out)
	}
	return hf
}

// The variables every analyst format must hold for the fixture, written
// out by hand from testdata/mixed.md and fixtureRows. nil is missing.
var wantNames = []string{
	"instance_id", "started", "ended", "submitted_at", "gender", "safety",
	"services_web", "services_app", "services_counter", "services_phone_line",
	"comment", "age", "score", "visit_date", "callback_at",
	"a_rather_long_question_name_fo_1", "a_rather_long_question_name_fo_2",
}

var wantLabels = map[string]string{
	"gender": "您的性别", "safety": "总体安全感", "services_web": "网站", "services_phone_line": "电话",
	"comment": "意见和建议", "callback_at": "回访时间", "a_rather_long_question_name_fo_2": "网络诈骗",
}

var wantValueLabels = map[string]map[string]string{
	"gender": {"1": "男", "2": "女"},
	"safety": {"1": "安全", "2": "一般", "3": "不安全"},
}

var wantValues = map[string][]any{
	"instance_id":                      {"r1", "r2", "r3"},
	"started":                          {"2019-07-01T08:00:00.000", "2019-07-01T09:00:00.000", "2019-07-01T10:00:00.000"},
	"ended":                            {"2019-07-01T08:05:00.250", "2019-07-01T09:05:00.250", "2019-07-01T10:05:00.250"},
	"gender":                           {2.0, nil, nil},
	"safety":                           {1.0, 3.0, 2.0},
	"services_web":                     {1.0, nil, 0.0},
	"services_app":                     {1.0, nil, 0.0},
	"services_counter":                 {0.0, nil, 1.0},
	"services_phone_line":              {0.0, nil, 1.0},
	"comment":                          {"很好，继续努力", longText, "a | pipe, 'quotes' and \"double\""},
	"age":                              {34.0, nil, nil},
	"score":                            {7.5, nil, nil},
	"visit_date":                       {"2019-07-03", nil, nil},
	"callback_at":                      {"2019-07-04T02:30:00.000", nil, nil},
	"a_rather_long_question_name_fo_1": {1.0, nil, 1.0},
	"a_rather_long_question_name_fo_2": {0.0, nil, 1.0},
}

func checkHaven(t *testing.T, hf havenFile, names []string) {
	t.Helper()
	if hf.Rows != len(fixtureRows) {
		t.Errorf("rows = %d, want %d", hf.Rows, len(fixtureRows))
	}
	if !slices.Equal(hf.Names, names) {
		t.Errorf("variables =\n%q\nwant\n%q", hf.Names, names)
	}
	for name, want := range wantLabels {
		if got := hf.Variables[name].Label; got != want {
			t.Errorf("%s: label %q, want %q", name, got, want)
		}
	}
	for name, want := range wantValueLabels {
		got := hf.Variables[name].ValueLabels
		if len(got) != len(want) {
			t.Errorf("%s: value labels %v, want %v", name, got, want)
		}
		for code, label := range want {
			if got[code] != label {
				t.Errorf("%s: value %s labelled %q, want %q", name, code, got[code], label)
			}
		}
	}
	for name, want := range wantValues {
		got := hf.Variables[name].Values
		if len(got) != len(want) {
			t.Errorf("%s: %d values, want %d", name, len(got), len(want))
			continue
		}
		for i := range want {
			g, w := got[i], want[i]
			// Readers give an empty string for a missing string.
			if w == nil && g == "" {
				g = nil
			}
			if g != w {
				t.Errorf("%s[%d] = %#v, want %#v", name, i, g, w)
			}
		}
	}
}

func TestSAVReadByHaven(t *testing.T) {
	rs := needHaven(t)
	st, fv, f := fixture(t)
	for _, uncompressed := range []bool{false, true} {
		t.Run(map[bool]string{false: "compressed", true: "uncompressed"}[uncompressed], func(t *testing.T) {
			path := exportFile(t, st, fv, f, Options{Format: "sav", SAVUncompressed: uncompressed})
			hf := readHaven(t, rs, path)
			checkHaven(t, hf, wantNames)
			for name, want := range map[string]string{"gender": "F1.0", "started": "DATETIME20", "visit_date": "DATE11", "services_web": "F1.0"} {
				if got := hf.Variables[name].Format; got != want {
					t.Errorf("%s: SPSS format %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestDTAReadByHaven(t *testing.T) {
	rs := needHaven(t)
	st, fv, f := fixture(t)
	path := exportFile(t, st, fv, f, Options{Format: "dta"})
	hf := readHaven(t, rs, path)
	checkHaven(t, hf, wantNames)
	for name, want := range map[string]string{"started": "%tc", "visit_date": "%td", "gender": "%8.0g"} {
		if got := hf.Variables[name].Format; got != want {
			t.Errorf("%s: Stata format %q, want %q", name, got, want)
		}
	}
}

// Classification: personal and sensitive questions and the client column
// appear only when asked for; a weight variable only with weights.
func TestClassificationAndWeights(t *testing.T) {
	rs := needHaven(t)
	st, fv, f := fixture(t)
	weights := map[string]float64{"r1": 0.5, "r2": 1.25}
	opts := Options{IncludePersonal: true, IncludeClient: true, Weights: &Weights{
		Method: "test weights", Of: func(id string) (float64, bool) { w, ok := weights[id]; return w, ok },
	}}
	full := slices.Insert(slices.Clone(wantNames), 4, "client")
	full = slices.Insert(full, len(full)-2, "phone", "id_number")
	full = append(full, "weight")
	for _, format := range []string{"sav", "dta"} {
		t.Run(format, func(t *testing.T) {
			hf := readHaven(t, rs, exportFile(t, st, fv, f, Options{Format: format}))
			for _, name := range []string{"client", "phone", "id_number", "weight"} {
				if slices.Contains(hf.Names, name) {
					t.Errorf("default export has %s", name)
				}
			}
			o := opts
			o.Format = format
			hf = readHaven(t, rs, exportFile(t, st, fv, f, o))
			checkHaven(t, hf, full)
			wantExtra := map[string][]any{
				"client":    {"c-aaa", "c-bbb", "c-ccc"},
				"phone":     {"13800000000", "", ""},
				"id_number": {"110101199001011234", "", ""},
				"weight":    {0.5, 1.25, nil},
			}
			for name, want := range wantExtra {
				if got := hf.Variables[name].Values; !slices.Equal(got, want) {
					t.Errorf("%s = %#v, want %#v", name, got, want)
				}
			}
		})
	}
}

// Responses of an older revision are decoded with their own revision and
// written under the latest revision's variables, codes by choice name.
func TestRevisions(t *testing.T) {
	rs := needHaven(t)
	st, fv1, _ := fixture(t)
	ctx := context.Background()
	data, err := os.ReadFile("testdata/mixed.md")
	if err != nil {
		t.Fatal(err)
	}
	v2 := strings.NewReplacer(
		// female now comes first, score is gone, extra is new.
		"|         | gender    | male          | 男               | Male                |\n", "",
		"|         | gender    | female        | 女               | Female              |\n",
		"|         | gender    | female        | 女               | Female              |\n|         | gender    | male          | 男               | Male                |\n",
		"|        | decimal                  | score ", "|        | text                     | extra ",
		"| mixed   | 1       |", "| mixed   | 2       |",
	).Replace(string(data))
	fv2, f2, created, err := collect.AddForm(ctx, st, "mixed.md", []byte(v2))
	if err != nil {
		t.Fatal(err)
	}
	if !created || fv2.Revision != fv1.Revision+1 {
		t.Fatalf("second revision not stored: created %v, revision %d", created, fv2.Revision)
	}
	enc, err := f2.EncodeAnswers(form.Answers{"gender": "male", "extra": "新的题目"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddResponses(ctx, []store.Response{{
		FormID: fv2.FormID, Revision: fv2.Revision, InstanceID: "r4", SubmittedAt: t0.Add(3 * time.Hour), Channel: "import", Answers: enc,
	}}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rev.dta")
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Export(ctx, st, fv2, f2, file, Options{Format: "dta"})
	file.Close()
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 4 {
		t.Fatalf("rows = %d, want 4", res.Rows)
	}
	hf := readHaven(t, rs, path)
	if slices.Contains(hf.Names, "score") || !slices.Contains(hf.Names, "extra") {
		t.Errorf("variables %q: want extra and no score", hf.Names)
	}
	for name, want := range map[string][]any{
		"gender":       {1.0, nil, nil, 2.0}, // female is 1 now, male 2
		"extra":        {"", "", "", "新的题目"},
		"safety":       {1.0, 3.0, 2.0, nil},
		"services_app": {1.0, nil, 0.0, nil},
	} {
		if got := hf.Variables[name].Values; !slices.Equal(got, want) {
			t.Errorf("%s = %#v, want %#v", name, got, want)
		}
	}
	if got := hf.Variables["gender"].ValueLabels; got["1"] != "女" || got["2"] != "男" {
		t.Errorf("gender value labels %v, want 1 女, 2 男", got)
	}
}

func TestUnknownFormat(t *testing.T) {
	st, fv, f := fixture(t)
	var b bytes.Buffer
	if _, err := Export(context.Background(), st, fv, f, &b, Options{Format: "sas7bdat"}); err == nil || !strings.Contains(err.Error(), "unknown format") {
		t.Errorf("err = %v, want an unknown format error", err)
	}
}
