package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// consoleWith is testdata/console.md with one more settings column.
func consoleWith(t *testing.T, header, value string) []byte {
	t.Helper()
	md := string(readTestdata(t, "console.md"))
	out := strings.Replace(md, "| form_id | version | form_title   |", "| form_id | version | "+header+" | form_title   |", 1)
	out = strings.Replace(out, "| census  | 1       |", "| census  | 1       | "+value+" |", 1)
	if out == md {
		t.Fatal("console.md no longer has the settings row the test fills in")
	}
	return []byte(out)
}

// An upload with a bad settings cell is refused, listed as settings!2 with
// its column, and nothing is stored; a good one still goes in.
func TestConsoleUploadRefusesBadSettings(t *testing.T) {
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{})
	c := e.session(t, "designer")
	for _, tt := range []struct{ header, value string }{
		{"close_at", "next week"},
		{"invitation", "maybe"},
		{"quotas", "province=shanghai:5"},
		{"Speeding Ratio", "1.5"},
		{"nets", "province.south"},
		{"Retention Days", "0"},
	} {
		t.Run(tt.header, func(t *testing.T) {
			r := e.upload(t, c, "console.md", consoleWith(t, tt.header, tt.value), e.csrf(t, c)[1])
			if r.status != http.StatusUnprocessableEntity {
				t.Fatalf("upload: %d %s", r.status, r.body)
			}
			if !strings.Contains(r.body, `<td class="where">settings!2</td><td>column `+tt.header+": ") {
				t.Errorf("the page does not list settings!2 column %s:\n%s", tt.header, r.body)
			}
			if _, err := e.sealing.Form(t.Context(), "census"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a refused form was stored: %v", err)
			}
		})
	}
	r := e.upload(t, c, "console.md", consoleWith(t, "Retention Days", "30"), e.csrf(t, c)[1])
	if r.status != http.StatusSeeOther {
		t.Fatalf("good form: %d %s", r.status, r.body)
	}
}

// A form stored before settings were checked, with a bad cleaning or nets
// cell: cleaning and analysis answer 422 naming the column, not 500.
func TestAnalysisNamesBadSetting(t *testing.T) {
	for _, tt := range []struct {
		header, value  string
		method, path   string
		wantStatusCode int
	}{
		{"speeding_ratio", "1.5", "POST", "/api/v1/forms/census/cleaning", http.StatusUnprocessableEntity},
		{"Burst Window", "soon", "POST", "/api/v1/forms/census/cleaning", http.StatusUnprocessableEntity},
		{"nets", "province.south", "GET", "/api/v1/forms/census/analysis?all_responses=1", http.StatusUnprocessableEntity},
	} {
		t.Run(tt.header, func(t *testing.T) {
			e := newStaffEnv(t, storetest.OpenSQLite(t), Options{})
			// collect.AddForm checks only what the form package checks,
			// as every path did before settings were checked.
			if _, _, _, err := collect.AddForm(t.Context(), e.sealing, "console.md", consoleWith(t, tt.header, tt.value)); err != nil {
				t.Fatal(err)
			}
			analyst := e.session(t, "analyst")
			r := do(t, analyst, tt.method, e.ts.URL+tt.path, "", "", e.csrf(t, analyst)...)
			if r.status != tt.wantStatusCode {
				t.Fatalf("%s %s: %d %s", tt.method, tt.path, r.status, r.body)
			}
			code, field := r.errorOf(t)
			if code != "bad_setting" || field != tt.header {
				t.Errorf("error code %q field %q, want bad_setting %q", code, field, tt.header)
			}
			if msg, _ := r.json(t)["error"].(map[string]any)["message"].(string); !strings.HasPrefix(msg, "settings!2: column "+tt.header+": ") {
				t.Errorf("message %q does not name settings!2 and the column", msg)
			}
		})
	}
}

// The console's cleaning and analysis pages, on a form stored with a bad
// cleaning or nets cell, show the page again with the cell named (422) in
// the page's language, not the API's JSON.
func TestConsoleCleaningAnalysisNamesBadSetting(t *testing.T) {
	for _, tt := range []struct {
		header, value string
		path          string
		fields        url.Values
		lang, wording string
	}{
		{"speeding_ratio", "1.5", "/console/forms/census/cleaning", url.Values{}, "en", "settings are wrong; cleaning cannot run"},
		{"Burst Window", "soon", "/console/forms/census/cleaning", url.Values{}, "zh", "问卷设置有误，修正该单元格并重新上传问卷前无法清理"},
		{"nets", "province.south", "/console/forms/census/analysis", url.Values{"all_responses": {"1"}}, "en", "settings are wrong; the tables cannot be computed"},
		{"nets", "province.south", "/console/forms/census/analysis", url.Values{"all_responses": {"1"}}, "zh", "问卷设置有误，修正该单元格并重新上传问卷前无法计算"},
	} {
		t.Run(tt.header+"/"+tt.lang, func(t *testing.T) {
			e := newStaffEnv(t, storetest.OpenSQLite(t), Options{})
			if _, _, _, err := collect.AddForm(t.Context(), e.sealing, "console.md", consoleWith(t, tt.header, tt.value)); err != nil {
				t.Fatal(err)
			}
			analyst := e.session(t, "analyst")
			r := e.postForm(t, analyst, tt.path+"?lang="+tt.lang, tt.fields)
			if r.status != http.StatusUnprocessableEntity {
				t.Fatalf("POST %s: %d %s", tt.path, r.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Fatalf("Content-Type %q, want the page:\n%s", ct, r.body)
			}
			problem := `role="alert" id="problem">`
			i := strings.Index(r.body, problem)
			if i < 0 {
				t.Fatalf("the page shows no problem:\n%s", r.body)
			}
			shown := r.body[i+len(problem):]
			shown = shown[:strings.Index(shown, "</p>")]
			if !strings.Contains(shown, tt.wording) {
				t.Errorf("problem %q lacks the %s wording %q", shown, tt.lang, tt.wording)
			}
			if !strings.Contains(shown, "settings!2: column "+tt.header+": ") {
				t.Errorf("problem %q does not name settings!2 and the column", shown)
			}
			if !strings.Contains(r.body, `id="analysis-form"`) && !strings.Contains(r.body, `id="rerun-form"`) {
				t.Errorf("not the console page:\n%s", r.body)
			}
		})
	}
}
