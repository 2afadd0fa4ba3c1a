package main

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govsurvey/govsurvey/stats"
)

// seedWave registers the netizen instrument under formID and imports the
// seed plan at 1/100 (1,895 collected, 1,721 valid) generated with seed.
func seedWave(t *testing.T, dir, db, formID string, seed uint64) {
	t.Helper()
	plan := seedPlan(t, "netizen_2019")
	plan.FormID, plan.Seed = formID, seed
	importWave(t, dir, db, "netizen_2019", formID, plan)
}

// TestAnalyzeAgainstR is the acceptance comparison of issue 7 end to end:
// the seed data imported, cleaned and analysed with --weights gives R's
// rake() + svymean() percents and SEs (stats/testdata/netizen.R, on the
// same 1,721 valid responses).
func TestAnalyzeAgainstR(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "govsurvey.db")
	seedWave(t, dir, db, "netizen_2019", 2019)
	margins := "../../stats/testdata/netizen_margins.csv"
	if code, _, errs := runCLI(t, "analyze", "--db", db, "--form", "netizen_2019", "--weights", margins); code != 1 || !strings.Contains(errs, "govsurvey clean") {
		t.Fatalf("analyze before cleaning: exit %d, %q; want 1 and advice to clean", code, errs)
	}
	if code, _, errs := runCLI(t, "clean", "--db", db, "--form", "netizen_2019"); code != 0 {
		t.Fatalf("clean: exit %d: %s", code, errs)
	}
	code, out, errs := runCLI(t, "analyze", "--db", db, "--form", "netizen_2019", "--weights", margins,
		"--by", "age_band", "--net", "safety_change.improved=big_up+up")
	if code != 0 {
		t.Fatalf("analyze: exit %d: %s", code, errs)
	}
	var an stats.Analysis
	if err := json.Unmarshal([]byte(out), &an); err != nil {
		t.Fatal(err)
	}
	if an.Collected != 1895 || an.Valid != 1721 || an.InvalidByReason["duplicate"] == 0 || an.CIMethod != stats.CILogit {
		t.Errorf("collected %d valid %d, invalid by reason %v, ci %s", an.Collected, an.Valid, an.InvalidByReason, an.CIMethod)
	}
	if an.Weights == nil || !an.Weights.Converged || an.Weights.Method != stats.WeightRake || an.Weights.KishDeff <= 1 {
		t.Fatalf("weights %+v", an.Weights)
	}
	var ref struct {
		Designs []struct {
			Name      string `json:"name"`
			Estimates []struct {
				Question, Choice, By string
				Percent, SE          float64
			} `json:"estimates"`
		} `json:"designs"`
	}
	b, err := os.ReadFile("../../stats/testdata/netizen_reference.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	got := map[string]stats.ChoiceEstimate{}
	for _, q := range an.Questions {
		for _, c := range append(q.Choices, q.Nets...) {
			got[q.Name+"/"+c.Name] = c
		}
	}
	compared := 0
	for _, d := range ref.Designs {
		if d.Name != "rake" {
			continue
		}
		for _, e := range d.Estimates {
			if e.By != "" {
				continue
			}
			c, ok := got[e.Question+"/"+e.Choice]
			if !ok {
				t.Errorf("%s/%s missing", e.Question, e.Choice)
				continue
			}
			compared++
			if d := math.Abs(float64(c.Percent)-e.Percent) / math.Max(e.Percent, 1e-12); d > 1e-9 {
				t.Errorf("%s/%s: percent %.17g, R %.17g", e.Question, e.Choice, float64(c.Percent), e.Percent)
			}
			if d := math.Abs(float64(c.SE)-e.SE) / math.Max(e.SE, 1e-6); d > 1e-6 {
				t.Errorf("%s/%s: SE %.17g, R %.17g", e.Question, e.Choice, float64(c.SE), e.SE)
			}
			if c.UnweightedCount == nil {
				t.Errorf("%s/%s: no unweighted count", e.Question, e.Choice)
			}
		}
	}
	if compared < 100 {
		t.Fatalf("compared %d estimates with R", compared)
	}
	if len(an.Crosstabs) != 1 || len(an.Crosstabs[0].Tests) == 0 {
		t.Errorf("crosstabs %d", len(an.Crosstabs))
	}

	// The other formats.
	code, table, errs := runCLI(t, "analyze", "--db", db, "--form", "netizen_2019", "--weights", margins, "--format", "table", "--question", "safety_change")
	if code != 0 || !strings.Contains(table, "Kish deff") || !strings.Contains(table, "big_up") {
		t.Errorf("table: exit %d, %s\n%s", code, errs, table)
	}
	code, csvOut, errs := runCLI(t, "analyze", "--db", db, "--form", "netizen_2019", "--format", "csv", "--by", "gender")
	recs, err := csv.NewReader(strings.NewReader(csvOut)).ReadAll()
	if code != 0 || err != nil || len(recs) < 100 || recs[0][7] != "percent" {
		t.Errorf("csv: exit %d, %s, %v, %d rows", code, errs, err, len(recs))
	}
	for _, bad := range [][]string{
		{"analyze", "--db", db},
		{"analyze", "--db", db, "--form", "netizen_2019", "--format", "xml"},
		{"analyze", "--db", db, "--form", "netizen_2019", "--ci", "bogus"},
		{"analyze", "--db", db, "--form", "netizen_2019", "--trim", "0.5,2"},
	} {
		if code, _, _ := runCLI(t, bad...); code != 2 {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
	if code, _, errs := runCLI(t, "analyze", "--db", db, "--form", "netizen_2019", "--by", "no_such_field"); code != 1 || !strings.Contains(errs, "no_such_field") {
		t.Errorf("unknown --by: exit %d, %q", code, errs)
	}
}

// TestCompare compares two generated waves: every shared choice carries
// both percents, their difference and its SE and p-value, and the net.
func TestCompare(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "govsurvey.db")
	seedWave(t, dir, db, "netizen_2019", 2019)
	seedWave(t, dir, db, "netizen_2018", 2018)
	for _, id := range []string{"netizen_2019", "netizen_2018"} {
		if code, _, errs := runCLI(t, "clean", "--db", db, "--form", id); code != 0 {
			t.Fatalf("clean: exit %d: %s", code, errs)
		}
	}
	code, out, errs := runCLI(t, "compare", "--db", db, "--form", "netizen_2019", "--base", "netizen_2018", "--net", "safety_change.improved=big_up+up")
	if code != 0 {
		t.Fatalf("compare: exit %d: %s", code, errs)
	}
	var c stats.Comparison
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatal(err)
	}
	if c.FormID != "netizen_2019" || c.BaseFormID != "netizen_2018" || len(c.Questions) != 19 {
		t.Fatalf("form %s base %s, %d questions", c.FormID, c.BaseFormID, len(c.Questions))
	}
	nets := 0
	for _, q := range c.Questions {
		if q.Base == 0 || q.BaseBase == 0 {
			t.Errorf("%s: bases %d and %d", q.Name, q.Base, q.BaseBase)
		}
		for _, ch := range append(q.Choices, q.Nets...) {
			diff := float64(ch.Percent - ch.BasePercent)
			if math.Abs(float64(ch.Diff)-diff) > 1e-12 || ch.SE <= 0 || ch.PValue < 0 || ch.PValue > 1 {
				t.Errorf("%s/%s: %+v", q.Name, ch.Name, ch)
			}
		}
		nets += len(q.Nets)
	}
	if nets != 1 {
		t.Errorf("%d nets compared, want 1", nets)
	}
	if code, table, errs := runCLI(t, "compare", "--db", db, "--form", "netizen_2019", "--base", "netizen_2018", "--format", "table"); code != 0 || !strings.Contains(table, "overall_safety") {
		t.Errorf("compare table: exit %d: %s", code, errs)
	}
}
