package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/govsurvey/govsurvey/stats"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// TestCrosstabTables: a cross-tab becomes a table per question with a
// column per group, percents with CIs, and the significance mark exactly
// when the Rao–Scott p is below 0.05.
func TestCrosstabTables(t *testing.T) {
	q := func(yes, no stats.Num) stats.QuestionTable {
		return stats.QuestionTable{Name: "sat", Label: "Satisfied", Base: 10, Choices: []stats.ChoiceEstimate{
			{Name: "yes", Label: "Yes", Percent: yes, CILow: yes - 5, CIHigh: yes + 5}, {Name: "no", Label: "No", Percent: no, CILow: no - 5, CIHigh: no + 5}}}
	}
	for _, c := range []struct {
		p    float64
		want bool
	}{{0.01, true}, {0.049, true}, {0.05, false}, {0.6, false}} {
		ct := stats.Crosstab{By: "g", Groups: []stats.CrosstabGroup{
			{Name: "a", Label: "A", Questions: []stats.QuestionTable{q(60, 40)}},
			{Name: "b", Label: "B", Questions: []stats.QuestionTable{q(30, 70)}}},
			Tests: []stats.Association{{Question: "sat", ChiSqTest: stats.ChiSqTest{PValue: c.p}}}}
		tables := crosstabTables(ct)
		if len(tables) != 1 {
			t.Fatalf("%d tables", len(tables))
		}
		tb := tables[0]
		if tb.Significant != c.want || !strings.Contains(tb.Test, "p = ") {
			t.Errorf("p %v: significant %v, test %q", c.p, tb.Significant, tb.Test)
		}
		if strings.Join(tb.Columns, ",") != "A,B" || len(tb.Rows) != 2 || tb.Rows[1].Label != "No" ||
			tb.Rows[0].Cells[1].Percent != "30.0" || tb.Rows[0].Cells[1].CI != "25.0–35.0" {
			t.Errorf("table %+v", tb)
		}
		if !strings.Contains(tb.Chart, `"categories":["Yes","No"]`) || !strings.Contains(tb.Chart, `{"name":"B","data":[30,70]}`) {
			t.Errorf("chart %s", tb.Chart)
		}
	}
}

// TestConsoleAnalysisPage: the page posts its form to itself and shows
// the tables; a bad parameter is shown, not a server error.
func TestConsoleAnalysisPage(t *testing.T) {
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{})
	seedAnalysis(t, e)
	analyst := e.session(t, "analyst")
	page := e.postForm(t, analyst, "/console/forms/analysis/analysis?lang=en", url.Values{"question": {"satisfied"}, "by": {"age_band"}})
	if page.status != http.StatusOK || !strings.Contains(page.body, "has not been cleaned yet") {
		t.Errorf("before cleaning: %d", page.status)
	}
	if r := do(t, analyst, "POST", e.ts.URL+"/api/v1/forms/analysis/cleaning", "", "", e.csrf(t, analyst)...); r.status != http.StatusOK {
		t.Fatal(r.body)
	}
	page = e.postForm(t, analyst, "/console/forms/analysis/analysis?lang=en", url.Values{"question": {"satisfied"}, "by": {"age_band"}})
	for _, want := range []string{`table class="data crosstab" data-question="satisfied"`, "Rao–Scott F", `<span class="ci">`, "Unweighted"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	page = e.postForm(t, analyst, "/console/forms/analysis/analysis?lang=en", url.Values{"weights": {"1"}, "margins": {"field,choice,share\nnosuch,a,1\n"}})
	if page.status != http.StatusOK || !strings.Contains(page.body, `id="problem"`) || !strings.Contains(page.body, "nosuch") {
		t.Errorf("bad margins: %d", page.status)
	}
	if !strings.Contains(page.body, `/api/v1/forms/analysis/export?format=sav&amp;all=1`) || strings.Contains(page.body, "personal-export") {
		t.Error("the analyst's page: no export links, or a personal export")
	}
	officer := do(t, e.session(t, "data-officer"), "GET", e.ts.URL+"/console/forms/analysis/analysis?lang=en", "", "")
	if !strings.Contains(officer.body, `id="personal-export"`) {
		t.Error("the data officer's page offers no personal export")
	}
	if pub := do(t, e.session(t, "publisher"), "GET", e.ts.URL+"/console/forms/analysis/analysis?lang=en", "", ""); strings.Contains(pub.body, "/export?") {
		t.Error("the publisher's page offers exports")
	}
	if r := do(t, e.session(t, "designer"), "GET", e.ts.URL+"/console/forms/analysis/analysis", "", ""); r.status != http.StatusForbidden {
		t.Errorf("designer: %d", r.status)
	}
	if r := do(t, analyst, "GET", e.ts.URL+"/console/assets/echarts.js", "", "", "Accept-Encoding", "identity"); r.status != http.StatusOK || len(r.body) < 100000 {
		t.Errorf("echarts.js: %d, %d bytes", r.status, len(r.body))
	}
}
