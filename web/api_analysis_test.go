package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/govsurvey/govsurvey/clean"
	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/stats"
	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// analysisRows is how many responses seedAnalysis stores (one more, a
// duplicate, is added on top).
const analysisRows = 150

// seedAnalysis registers testdata/analysis.md and stores responses with
// defects whose rules are known: unanswered required questions, a choice
// not in its list, speeders, a failed check, a duplicate; and a personal
// answer, sealed at rest. It returns the compiled form.
func seedAnalysis(t *testing.T, e *staffEnv) (store.FormVersion, *form.Form) {
	t.Helper()
	ctx := t.Context()
	b, err := os.ReadFile("testdata/analysis.md")
	if err != nil {
		t.Fatal(err)
	}
	fv, f, _, err := collect.AddForm(ctx, e.sealing, "analysis.md", b)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	var rs []store.Response
	add := func(id, client string, i int, a form.Answers, took time.Duration) {
		enc, err := f.EncodeAnswers(a)
		if err != nil {
			t.Fatal(err)
		}
		start := t0.Add(time.Duration(i) * time.Minute)
		rs = append(rs, store.Response{FormID: fv.FormID, Revision: fv.Revision, InstanceID: id,
			Started: start, Ended: start.Add(took), SubmittedAt: start.Add(took + time.Second),
			Client: client, Channel: "import", Answers: enc})
	}
	var dupOf form.Answers
	for i := range analysisRows {
		young := i%2 == 0
		a := form.Answers{"gender": "male", "age_band": "old", "satisfied": "no", "hours": fmt.Sprint(i % 25)}
		if i%3 == 0 {
			a["gender"] = "female"
		}
		if young {
			a["age_band"] = "young"
		}
		cut := 45
		if young {
			cut = 70
		}
		if (i*37+11)%100 < cut {
			a["satisfied"] = "yes"
		}
		switch {
		case i%6 == 0:
			a["channels"] = "web app"
		case i%2 == 0:
			a["channels"] = "web"
		}
		if i%4 == 0 {
			a["fullname"] = fmt.Sprintf("王%d", i)
		}
		if i%5 == 1 {
			delete(a, "satisfied") // incomplete
		}
		if i%13 == 4 {
			a["gender"] = "robot" // invalid_value
		}
		took := time.Duration(300+i) * time.Second
		if i%17 == 3 {
			took = 20 * time.Second // speeding
		}
		if i == 10 {
			dupOf = a
		}
		add(fmt.Sprintf("r%03d", i), fmt.Sprintf("c%03d", i), i, a, took)
	}
	add("r999", "c010", analysisRows, dupOf, 400*time.Second) // duplicate of r010
	if _, err := e.sealing.AddResponses(ctx, rs); err != nil {
		t.Fatal(err)
	}
	return fv, f
}

const testMargins = "field,choice,share\ngender,male,0.5\ngender,female,0.5\nage_band,young,0.4\nage_band,old,0.6\n"

// expectAnalysis is the §4 document computed independently of the
// handler, through the stats and clean APIs as `govsurvey analyze` uses
// them, indented as it prints it.
func expectAnalysis(t *testing.T, st store.Store, f *form.Form, opts stats.AnalysisOptions) string {
	t.Helper()
	ctx := t.Context()
	invalid, err := clean.Invalid(ctx, st, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	byReason := map[string]int{}
	if err := st.EachFlag(ctx, store.FlagFilter{FormID: f.ID}, func(fl store.Flag) error {
		for _, r := range fl.Reasons {
			byReason[r]++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ds, err := stats.Load(ctx, st, f, stats.LoadOptions{Valid: func(id string) bool { return !invalid[id] }})
	if err != nil {
		t.Fatal(err)
	}
	opts.InvalidByReason = byReason
	if opts.Level == 0 {
		opts.Level = 0.95
	}
	if opts.CIMethod == "" {
		opts.CIMethod = stats.CILogit
	}
	an, err := stats.Analyze(ds, opts)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(an); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestAnalysisAPI: the endpoint's document equals stats.Analyze on the
// same stored data, unweighted and raked to margins POSTed with the
// request; CSV and XLSX downloads hold the same table; bad parameters are
// 400 naming the parameter; roles without analysis.read get 403.
func TestAnalysisAPI(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newStaffEnv(t, b.Open(t), Options{})
			_, f := seedAnalysis(t, e)
			analyst := e.session(t, "analyst")
			base := e.ts.URL + "/api/v1/forms/analysis/analysis"

			r := do(t, analyst, "GET", base, "", "")
			if code, field := r.errorOf(t); r.status != http.StatusConflict || code != "not_cleaned" || field != "all_responses" {
				t.Errorf("before cleaning: %d %s", r.status, r.body)
			}
			if r := do(t, analyst, "POST", e.ts.URL+"/api/v1/forms/analysis/cleaning", "", "", e.csrf(t, analyst)...); r.status != http.StatusOK {
				t.Fatalf("cleaning: %d %s", r.status, r.body)
			}

			r = do(t, analyst, "GET", base+"?by=age_band&question=satisfied&question=gender&question=hours", "", "")
			want := expectAnalysis(t, e.sealing, f, stats.AnalysisOptions{By: []string{"age_band"}, Questions: []string{"satisfied", "gender", "hours"}})
			if r.status != http.StatusOK || r.body != want {
				t.Errorf("unweighted: %d\n%s\nwant\n%s", r.status, r.body, want)
			}
			var an stats.Analysis
			if err := json.Unmarshal([]byte(r.body), &an); err != nil {
				t.Fatal(err)
			}
			if an.Valid >= an.Collected || an.Weights != nil || len(an.Crosstabs) != 1 || len(an.Crosstabs[0].Tests) == 0 {
				t.Errorf("document: collected %d valid %d weights %v crosstabs %d", an.Collected, an.Valid, an.Weights, len(an.Crosstabs))
			}

			// Weighted: margins as the body, the rest in the query.
			margins, err := stats.ReadMargins(strings.NewReader(testMargins))
			if err != nil {
				t.Fatal(err)
			}
			r = do(t, analyst, "POST", base+"?by=age_band&ci=wilson&question=satisfied", "text/csv", testMargins, e.csrf(t, analyst)...)
			want = expectAnalysis(t, e.sealing, f, stats.AnalysisOptions{By: []string{"age_band"}, Questions: []string{"satisfied"}, CIMethod: stats.CIWilson,
				Weighting: &stats.Weighting{Method: stats.WeightRake, Margins: margins, Source: "margins given with the request"}})
			if r.status != http.StatusOK || r.body != want {
				t.Errorf("weighted: %d\n%s\nwant\n%s", r.status, r.body, want)
			}
			if !strings.Contains(r.body, `"unweighted_count"`) || !strings.Contains(r.body, `"converged": true`) {
				t.Errorf("weighted document lacks weights: %.600s", r.body)
			}
			// A sample design: clusters, and strata under the weighting.
			r = do(t, analyst, "GET", base+"?cluster=hours&question=satisfied&lonely_psu=adjust", "", "")
			want = expectAnalysis(t, e.sealing, f, stats.AnalysisOptions{Questions: []string{"satisfied"},
				Design: &stats.DesignFields{Clusters: []string{"hours"}, Lonely: stats.LonelyAdjust}})
			if r.status != http.StatusOK || r.body != want || !strings.Contains(r.body, `"clusters": [`) {
				t.Errorf("clustered: %d\n%s\nwant\n%s", r.status, r.body, want)
			}
			r = do(t, analyst, "POST", base+"?strata=age_band&question=satisfied", "text/csv", testMargins, e.csrf(t, analyst)...)
			want = expectAnalysis(t, e.sealing, f, stats.AnalysisOptions{Questions: []string{"satisfied"}, Design: &stats.DesignFields{Strata: "age_band"},
				Weighting: &stats.Weighting{Method: stats.WeightRake, Margins: margins, Source: "margins given with the request"}})
			if r.status != http.StatusOK || r.body != want || !strings.Contains(r.body, `"strata": "age_band"`) {
				t.Errorf("stratified and weighted: %d\n%s\nwant\n%s", r.status, r.body, want)
			}
			// Every response, uncleaned: Valid is Collected.
			r = do(t, analyst, "GET", base+"?all_responses=1&question=gender", "", "")
			if err := json.Unmarshal([]byte(r.body), &an); err != nil || an.Valid != an.Collected || an.Collected != analysisRows+1 {
				t.Errorf("all_responses: %v %d/%d", err, an.Valid, an.Collected)
			}

			// Downloads.
			r = do(t, analyst, "GET", base+"?by=age_band&question=satisfied&format=csv", "", "")
			var wantCSV bytes.Buffer
			if err := json.Unmarshal([]byte(expectAnalysis(t, e.sealing, f, stats.AnalysisOptions{By: []string{"age_band"}, Questions: []string{"satisfied"}})), &an); err != nil {
				t.Fatal(err)
			}
			if err := an.WriteCSV(&wantCSV); err != nil {
				t.Fatal(err)
			}
			if r.status != http.StatusOK || r.body != wantCSV.String() || !strings.Contains(r.header.Get("Content-Disposition"), "analysis-analysis.csv") {
				t.Errorf("csv: %d\n%s\nwant\n%s", r.status, r.body, wantCSV.String())
			}
			r = do(t, analyst, "GET", base+"?by=age_band&question=satisfied&format=xlsx", "", "")
			x, err := excelize.OpenReader(strings.NewReader(r.body))
			if err != nil {
				t.Fatalf("xlsx: %v", err)
			}
			rows, err := x.GetRows("tables")
			if err != nil {
				t.Fatal(err)
			}
			if wantRows := readCSV(t, wantCSV.String()); len(rows) != len(wantRows) || !slices.Equal(rows[0], wantRows[0]) || rows[1][3] != wantRows[1][3] {
				t.Errorf("xlsx rows %d (want %d): %v", len(rows), len(wantRows), rows[:min(2, len(rows))])
			}

			// Bad parameters name themselves.
			for _, c := range []struct{ method, query, ctype, body, field string }{
				{"GET", "?by=nosuch", "", "", "by"},
				{"GET", "?by=hours", "", "", "by"},
				{"GET", "?question=nosuch", "", "", "question"},
				{"GET", "?level=2", "", "", "level"},
				{"GET", "?ci=bogus", "", "", "ci"},
				{"GET", "?filter=gender=zz", "", "", "filter"},
				{"GET", "?filter=gender", "", "", "filter"},
				{"GET", "?net=satisfied.top=yes+maybe", "", "", "net"},
				{"GET", "?weights=census2020", "", "", "weights"},
				{"GET", "?format=pdf", "", "", "format"},
				{"GET", "?trim=0.2,5", "", "", "trim"},
				{"GET", "?strata=nosuch", "", "", "strata"},
				{"GET", "?cluster=fullname", "", "", "cluster"},
				{"GET", "?cluster=channels", "", "", "cluster"},
				{"GET", "?cluster=hours&fpc=gender", "", "", "fpc"},
				{"GET", "?cluster=hours&lonely_psu=sometimes", "", "", "lonely_psu"},
				{"GET", "?strata=age_band&cluster=hours", "", "", "cluster"}, // not nested: stats refuses
				{"POST", "", "text/csv", "field,choice\ngender,male\n", "margins"},
				{"POST", "", "text/csv", "field,choice,share\nnosuch,a,1\n", "weights"},
				{"POST", "?weighting=magic", "text/csv", testMargins, "weighting"},
				{"POST", "", "text/csv", "field,choice,share\ngender,male,0.5\ngender,female,0.3\ngender,robot,0.2\n", "margins"},
			} {
				r := do(t, analyst, c.method, base+c.query, c.ctype, c.body, e.csrf(t, analyst)...)
				if code, field := r.errorOf(t); r.status != http.StatusBadRequest || code != "bad_parameter" || field != c.field {
					t.Errorf("%s %s %q: %d %s, want 400 naming %s", c.method, c.query, c.body, r.status, r.body, c.field)
				}
			}
			// Roles without analysis.read.
			for _, user := range []string{"designer", "auditor", "admin"} {
				if r := do(t, e.session(t, user), "GET", base, "", ""); r.status != http.StatusForbidden {
					t.Errorf("%s: %d", user, r.status)
				}
			}
			if r := do(t, e.session(t, "publisher"), "GET", base+"?question=gender", "", ""); r.status != http.StatusOK {
				t.Errorf("publisher: %d %s", r.status, r.body)
			}
		})
	}
}

// TestCleaningAPI: the funnel the API and console show is clean.Run's;
// flagged responses page by reason 50 at a time; an override with a note
// moves the funnel, is audited, and survives re-cleaning.
func TestCleaningAPI(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newStaffEnv(t, b.Open(t), Options{})
			seedAnalysis(t, e)
			ctx := t.Context()
			analyst := e.session(t, "analyst")
			api := e.ts.URL + "/api/v1/forms/analysis/cleaning"

			var got struct {
				Funnel  *clean.Funnel `json:"funnel"`
				Flagged []flaggedRow  `json:"flagged"`
				Next    string        `json:"next"`
			}
			get := func(query string) {
				t.Helper()
				got.Funnel, got.Flagged, got.Next = nil, nil, ""
				r := do(t, analyst, "GET", api+query, "", "")
				if r.status != http.StatusOK {
					t.Fatalf("GET cleaning%s: %d %s", query, r.status, r.body)
				}
				if err := json.Unmarshal([]byte(r.body), &got); err != nil {
					t.Fatal(err)
				}
			}
			get("")
			if got.Funnel != nil {
				t.Fatalf("funnel before cleaning: %+v", got.Funnel)
			}
			page := do(t, analyst, "GET", e.ts.URL+"/console/forms/analysis/cleaning?lang=en", "", "")
			if !strings.Contains(page.body, "has not been cleaned yet") {
				t.Errorf("console before cleaning:\n%s", page.body)
			}

			// Re-run from the console: the page says done, with counts.
			page = do(t, analyst, "POST", e.ts.URL+"/console/forms/analysis/cleaning?lang=en", "", "", e.csrf(t, analyst)...)
			if page.status != http.StatusOK || !strings.Contains(page.body, `id="ran"`) {
				t.Fatalf("console re-run: %d\n%s", page.status, page.body)
			}
			// What `govsurvey clean` computes (deterministic: a second run
			// gives the same funnel) is what the API and page show.
			want, err := clean.Run(ctx, e.sealing.Joined(), "analysis")
			if err != nil {
				t.Fatal(err)
			}
			get("")
			if got.Funnel == nil || !funnelEqual(*got.Funnel, want) {
				t.Fatalf("stored funnel %+v\nclean.Run %+v", got.Funnel, want)
			}
			for _, reason := range []string{"incomplete", "invalid_value", "speeding", "duplicate"} {
				if want.InvalidByReason[reason] == 0 {
					t.Errorf("the data has no %s: %v", reason, want.InvalidByReason)
				}
			}
			if want.Flagged <= flagPage {
				t.Fatalf("only %d flagged: paging is not exercised", want.Flagged)
			}
			page = do(t, analyst, "GET", e.ts.URL+"/console/forms/analysis/cleaning?lang=en", "", "")
			for _, s := range []string{fmt.Sprintf(`data-n="%d"`, want.Collected), fmt.Sprintf(`data-n="%d"`, want.Valid),
				fmt.Sprintf(`data-reason="speeding"><td><a href="?lang=en&amp;reason=speeding">speeding</a></td><td class="num" data-n="%d"`, want.InvalidByReason["speeding"])} {
				if !strings.Contains(page.body, s) {
					t.Errorf("console funnel lacks %s", s)
				}
			}
			if strings.Contains(page.body, "王") {
				t.Error("the cleaning page shows a personal answer")
			}

			// Paging: 50 a page, in instance id order, together every flag.
			var ids []string
			for after := "x"; after != ""; {
				q := ""
				if after != "x" {
					q = "?after=" + url.QueryEscape(after)
				}
				get(q)
				if len(got.Flagged) > flagPage || (got.Next != "" && len(got.Flagged) != flagPage) {
					t.Fatalf("page of %d, next %q", len(got.Flagged), got.Next)
				}
				for _, row := range got.Flagged {
					ids = append(ids, row.InstanceID)
				}
				after = got.Next
			}
			if len(ids) != want.Flagged || !slices.IsSorted(ids) {
				t.Errorf("paged %d flags (sorted %v), want %d", len(ids), slices.IsSorted(ids), want.Flagged)
			}
			get("?reason=speeding")
			if len(got.Flagged) != want.InvalidByReason["speeding"] {
				t.Errorf("speeding: %d rows, want %d", len(got.Flagged), want.InvalidByReason["speeding"])
			}
			speeder := got.Flagged[0]
			if !slices.ContainsFunc(speeder.Reasons, func(h ruleHit) bool { return h.Reason == "speeding" && strings.Contains(h.Detail, "took 20s") }) ||
				speeder.Answers == "" || strings.Contains(speeder.Answers, "fullname") {
				t.Errorf("speeder row %+v", speeder)
			}

			// Overrides: bad requests, wrong roles, then a good one.
			ov := e.ts.URL + "/api/v1/forms/analysis/overrides"
			for _, c := range []struct {
				body, field string
				status      int
			}{
				{`{"instance_id":"` + speeder.InstanceID + `","valid":true}`, "note", 400},
				{`{"instance_id":"` + speeder.InstanceID + `","note":"x"}`, "valid", 400},
				{`{"valid":true,"note":"x"}`, "instance_id", 400},
				{`{"instance_id":"nosuch","valid":true,"note":"x"}`, "instance_id", 404},
			} {
				r := do(t, analyst, "POST", ov, "application/json", c.body, e.csrf(t, analyst)...)
				if _, field := r.errorOf(t); r.status != c.status || field != c.field {
					t.Errorf("%s: %d %s", c.body, r.status, r.body)
				}
			}
			for _, user := range []string{"publisher", "designer", "data-officer"} {
				c := e.session(t, user)
				if r := do(t, c, "POST", ov, "application/json", `{"instance_id":"`+speeder.InstanceID+`","valid":true,"note":"x"}`, e.csrf(t, c)...); r.status != http.StatusForbidden {
					t.Errorf("%s override: %d", user, r.status)
				}
			}
			r := do(t, analyst, "POST", ov, "application/json", `{"instance_id":"`+speeder.InstanceID+`","valid":true,"note":"checked by phone: a fast reader"}`, e.csrf(t, analyst)...)
			if r.status != http.StatusOK {
				t.Fatalf("override: %d %s", r.status, r.body)
			}
			get("")
			if got.Funnel.OverriddenValid != 1 || got.Funnel.Valid != want.Valid+1 {
				t.Errorf("after the override: %+v", got.Funnel)
			}
			// The console's form posts the same and comes back to the page.
			nonFlagged := "r000"
			form := url.Values{"instance_id": {nonFlagged}, "verdict": {"invalid"}, "note": {"known test entry"}, "reason": {"speeding"}}
			r = e.postForm(t, analyst, "/api/v1/forms/analysis/overrides?lang=en", form)
			if loc := r.header.Get("Location"); r.status != http.StatusSeeOther || !strings.Contains(loc, "/console/forms/analysis/cleaning?") || !strings.Contains(loc, "reason=speeding") {
				t.Errorf("console override: %d %q", r.status, loc)
			}
			// Overrides survive re-cleaning.
			if r := do(t, analyst, "POST", api, "", "", e.csrf(t, analyst)...); r.status != http.StatusOK {
				t.Fatalf("re-run: %d %s", r.status, r.body)
			}
			get("")
			if got.Funnel.OverriddenValid != 1 || got.Funnel.OverriddenInvalid != 1 || got.Funnel.Valid != want.Valid {
				t.Errorf("after re-cleaning: %+v", got.Funnel)
			}
			invalid, err := clean.Invalid(ctx, e.sealing, "analysis")
			if err != nil {
				t.Fatal(err)
			}
			if invalid[speeder.InstanceID] || !invalid[nonFlagged] {
				t.Errorf("clean.Invalid ignores the overrides: %v %v", invalid[speeder.InstanceID], invalid[nonFlagged])
			}
			page = do(t, analyst, "GET", e.ts.URL+"/console/forms/analysis/cleaning?lang=en&reason=speeding", "", "")
			if !strings.Contains(page.body, "checked by phone") {
				t.Error("the page does not show the override's note")
			}

			log := auditText(t, e)
			for _, w := range []string{
				"analyst clean.run ok form:analysis rules=clean/1",
				"analyst clean.override ok form:analysis/" + speeder.InstanceID + " override=1 valid=true by=analyst",
				"analyst clean.override ok form:analysis/r000 override=2 valid=false by=analyst",
			} {
				if !strings.Contains(log, w) {
					t.Errorf("audit log lacks %q:\n%s", w, log)
				}
			}
		})
	}
}

func funnelEqual(a, b clean.Funnel) bool {
	if a.Collected != b.Collected || a.Flagged != b.Flagged || a.SeveralReasons != b.SeveralReasons || a.Valid != b.Valid ||
		a.OverriddenValid != b.OverriddenValid || a.OverriddenInvalid != b.OverriddenInvalid || a.RuleVersion != b.RuleVersion ||
		len(a.InvalidByReason) != len(b.InvalidByReason) {
		return false
	}
	for k, v := range a.InvalidByReason {
		if b.InvalidByReason[k] != v {
			return false
		}
	}
	return true
}

// auditText is the audit log as "actor action outcome object detail" lines.
func auditText(t *testing.T, e *staffEnv) string {
	t.Helper()
	entries, _, err := security.ReadAudit(context.Background(), e.raw)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, en := range entries {
		lines = append(lines, en.Actor+" "+en.Action+" "+en.Outcome+" "+en.Object+" "+en.Detail)
	}
	return strings.Join(lines, "\n")
}
