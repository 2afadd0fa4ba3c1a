package export

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
)

// invalidRow is a fourth response whose answers fail their questions: a
// name not in the list (single and multiple choice), a decimal where an
// integer is expected, a word where a number is.
var invalidRow = fixtureRow{"r4", "c-ddd", t0.Add(3 * time.Hour), form.Answers{
	"gender": "robot", "safety": "safe", "services": "web teleport", "age": "33.5", "score": "lots",
}}

// fixtureWithInvalid is the fixture and invalidRow, on a store of its own.
func fixtureWithInvalid(t *testing.T) (store.Store, store.FormVersion, *form.Form) {
	t.Helper()
	st, fv, f := fixture(t)
	enc, err := f.EncodeAnswers(invalidRow.answers)
	if err != nil {
		t.Fatal(err)
	}
	r := store.Response{FormID: fv.FormID, Revision: fv.Revision, InstanceID: invalidRow.id,
		Started: invalidRow.started, Ended: invalidRow.started.Add(5 * time.Minute),
		SubmittedAt: invalidRow.started.Add(6 * time.Minute), Client: invalidRow.client, Channel: "import", Answers: enc}
	if _, err := st.AddResponses(context.Background(), []store.Response{r}); err != nil {
		t.Fatal(err)
	}
	return st, fv, f
}

func exportTo(t *testing.T, st store.Store, fv store.FormVersion, f *form.Form, opts Options) (string, Result) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out."+opts.Format)
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Export(context.Background(), st, fv, f, file, opts)
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return path, res
}

// TestInvalidValuesMissing: an answer failing its question's type or
// choices is missing in .sav and .dta as read back by R haven — for a
// select_multiple, every one of its 0/1 variables — counted in
// Result.Invalid, and the valid answers beside it are kept.
func TestInvalidValuesMissing(t *testing.T) {
	rs := needHaven(t)
	st, fv, f := fixtureWithInvalid(t)
	// r3 holds two failing answers (gender other_value, age 12.5, score
	// abc: three), r4 five: gender, services, age, score, and nothing else.
	const wantInvalid = 3 + 4
	for _, format := range []string{"sav", "dta"} {
		t.Run(format, func(t *testing.T) {
			path, res := exportTo(t, st, fv, f, Options{Format: format})
			if res.Rows != 4 || res.Invalid != wantInvalid {
				t.Errorf("rows %d, invalid %d; want 4 and %d", res.Rows, res.Invalid, wantInvalid)
			}
			hf := readHaven(t, rs, path)
			if hf.Rows != 4 {
				t.Fatalf("haven read %d rows", hf.Rows)
			}
			want := map[string]any{
				"gender": nil, "safety": 1.0, "services_web": nil, "services_app": nil, "services_counter": nil,
				"services_phone_line": nil, "age": nil, "score": nil,
			}
			for name, w := range want {
				vals := hf.Variables[name].Values
				if len(vals) != 4 {
					t.Errorf("%s: %d values", name, len(vals))
					continue
				}
				if vals[3] != w {
					t.Errorf("%s of r4 = %#v, want %#v", name, vals[3], w)
				}
			}
		})
	}
	var cb bytes.Buffer
	if err := Codebook(context.Background(), st, fv, f, &cb, "markdown", Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cb.String(), "an answer that fails its question's type or choices") || !strings.Contains(cb.String(), "every one of its 0/1 variables") {
		t.Errorf("the codebook does not say how failing answers are written:\n%s", cb.String())
	}
}

// TestCleaningApplied: with a cleaning verdict only the valid responses
// are written; with KeepInvalid every one, with valid and
// invalid_reasons; the codebook says which. Read back by R haven.
func TestCleaningApplied(t *testing.T) {
	rs := needHaven(t)
	st, fv, f := fixtureWithInvalid(t)
	invalid := map[string]string{"r3": "invalid_value", "r4": "invalid_value speeding"}
	verdict := func(id string) (string, bool) { r, ok := invalid[id]; return r, ok }
	for _, format := range []string{"sav", "dta"} {
		t.Run(format, func(t *testing.T) {
			path, res := exportTo(t, st, fv, f, Options{Format: format, Cleaning: &Cleaning{Invalid: verdict}})
			if res.Rows != 2 {
				t.Errorf("valid only: %d rows, want 2", res.Rows)
			}
			hf := readHaven(t, rs, path)
			if got := hf.Variables["instance_id"].Values; !slices.Equal(got, []any{"r1", "r2"}) {
				t.Errorf("valid only: instance ids %v", got)
			}
			if _, ok := hf.Variables["valid"]; ok {
				t.Error("valid only: a validity variable")
			}
			path, res = exportTo(t, st, fv, f, Options{Format: format, Cleaning: &Cleaning{Invalid: verdict, KeepInvalid: true}})
			if res.Rows != 4 {
				t.Errorf("all: %d rows, want 4", res.Rows)
			}
			hf = readHaven(t, rs, path)
			if got := hf.Variables["valid"].Values; !slices.Equal(got, []any{1.0, 1.0, 0.0, 0.0}) {
				t.Errorf("valid = %v", got)
			}
			got := hf.Variables["invalid_reasons"].Values
			if len(got) != 4 || got[0] != "" || got[2] != "invalid_value" || got[3] != "invalid_value speeding" {
				t.Errorf("invalid_reasons = %#v", got)
			}
		})
	}
	for _, c := range []struct {
		keep bool
		want string
	}{{false, "only the valid responses are exported"}, {true, "variable valid is cleaning"}} {
		var cb bytes.Buffer
		if err := Codebook(context.Background(), st, fv, f, &cb, "html", Options{Cleaning: &Cleaning{Invalid: verdict, KeepInvalid: c.keep, Run: "clean/1 at X"}}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(cb.String(), c.want) || !strings.Contains(cb.String(), "clean/1 at X") {
			t.Errorf("codebook (keep %v) lacks %q", c.keep, c.want)
		}
	}
	if _, err := Export(context.Background(), st, fv, f, &bytes.Buffer{}, Options{Format: "parquet", Cleaning: &Cleaning{}}); err == nil {
		t.Error("a cleaning without a verdict was accepted")
	}
}
