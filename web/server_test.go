package web

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// testServer serves a store holding testdata/webform.md (with extra
// settings columns when given) and the built-in netizen form.
func testServer(t *testing.T, st store.Store, opts Options, settings ...string) *httptest.Server {
	t.Helper()
	addWebform(t, st, settings...)
	opts.Store = st
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	return ts
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

// errorOf returns the code and field of an error body.
func (r reply) errorOf(t *testing.T) (code, field string) {
	t.Helper()
	e, _ := r.json(t)["error"].(map[string]any)
	if e == nil {
		t.Fatalf("no error in %q", r.body)
	}
	code, _ = e["code"].(string)
	field, _ = e["field"].(string)
	return code, field
}

func do(t *testing.T, c *http.Client, method, u, contentType, body string, header ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, string(b)}
}

const goodBody = `{"instance_id":"%s","started":"2019-07-01T08:00:00+08:00","ended":"2019-07-01T08:03:00+08:00",` +
	`"answers":{"consent_ok":"yes","age":"30","employed":"no","province":"p1","city":"c1"}}`

func body(id string) string { return strings.Replace(goodBody, "%s", id, 1) }

func TestSubmissionAPI(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := b.Open(t)
			ts := testServer(t, st, Options{MaxBody: 2048})
			c := ts.Client()
			sub := ts.URL + "/api/v1/forms/webform/submissions"

			first := do(t, c, "POST", sub, "application/json", body("uuid:a1"))
			if first.status != http.StatusCreated {
				t.Fatalf("first: %d %s", first.status, first.body)
			}
			receipt, _ := first.json(t)["receipt"].(string)
			if first.json(t)["instance_id"] != "a1" || receipt == "" {
				t.Errorf("first: %s", first.body)
			}
			again := do(t, c, "POST", sub, "application/json; charset=utf-8", body("a1"))
			if again.status != http.StatusOK || again.json(t)["receipt"] != receipt {
				t.Errorf("again: %d %s, want 200 with receipt %s", again.status, again.body, receipt)
			}
			if n, _ := st.CountResponses(t.Context(), "webform"); n != 1 {
				t.Errorf("%d stored after a re-submission", n)
			}
			// The receipt is written by hand; it must read as encoding/json
			// writes it, with writeJSON's headers.
			for _, r := range []reply{first, again} {
				want, _ := json.Marshal(map[string]string{"instance_id": "a1", "receipt": receipt})
				if r.body != string(want)+"\n" || r.header.Get("Content-Type") != "application/json; charset=utf-8" ||
					r.header.Get("Cache-Control") != "no-store" || r.header.Get("X-Content-Type-Options") != "nosniff" {
					t.Errorf("answer %q with headers %v, want %s", r.body, r.header, want)
				}
			}
			metrics := do(t, c, "GET", ts.URL+"/metrics", "", "")
			for _, line := range []string{
				`govsurvey_http_requests_total{code="201",route="POST /api/v1/forms/{form_id}/submissions"} 1`,
				`govsurvey_http_requests_total{code="200",route="POST /api/v1/forms/{form_id}/submissions"} 1`,
				`govsurvey_http_request_duration_seconds_count{route="POST /api/v1/forms/{form_id}/submissions"} 2`,
			} {
				if !strings.Contains(metrics.body, line+"\n") {
					t.Errorf("metrics lack %s", line)
				}
			}

			refusals := []struct {
				name, url, ctype, body string
				header                 []string
				status                 int
				code, field            string
			}{
				{"required", sub, "application/json", strings.Replace(body("a2"), `"age":"30",`, ``, 1), nil, 422, "required", "age"},
				{"constraint", sub, "application/json", strings.Replace(body("a2"), `"age":"30"`, `"age":"130"`, 1), nil, 422, "constraint", "age"},
				{"not relevant", sub, "application/json", strings.Replace(body("a2"), `"age":"30"`, `"age":"15"`, 1), nil, 422, "not_relevant", "employed"},
				{"choice_filter", sub, "application/json", strings.Replace(body("a2"), `"city":"c1"`, `"city":"c3"`, 1), nil, 422, "invalid_value", "city"},
				{"unknown field", sub, "application/json", strings.Replace(body("a2"), `"age"`, `"agge"`, 1), nil, 422, "unknown_field", "agge"},
				{"no instance id", sub, "application/json", body(""), nil, 422, "required", "instance_id"},
				{"malformed JSON", sub, "application/json", `{"instance_id":`, nil, 400, "bad_request", ""},
				{"not JSON", sub, "application/x-www-form-urlencoded", "instance_id=a2", nil, 415, "unsupported_media_type", ""},
				{"too large", sub, "application/json", strings.Replace(body("a2"), `"province"`, `"x":"`+strings.Repeat("x", 3000)+`","province"`, 1), nil, 413, "too_large", ""},
				{"no such form", ts.URL + "/api/v1/forms/nope/submissions", "application/json", body("a2"), nil, 404, "not_found", ""},
				{"GET", sub, "", "", nil, 405, "", ""},
			}
			for _, tt := range refusals {
				r := do(t, c, methodOf(tt.name), tt.url, tt.ctype, tt.body, tt.header...)
				if r.status != tt.status {
					t.Errorf("%s: %d %s, want %d", tt.name, r.status, r.body, tt.status)
					continue
				}
				if tt.code == "" {
					continue
				}
				if code, field := r.errorOf(t); code != tt.code || field != tt.field {
					t.Errorf("%s: error %s/%s, want %s/%s", tt.name, code, field, tt.code, tt.field)
				}
			}
			// 422 messages follow ?lang= and Accept-Language.
			missing := strings.Replace(body("a3"), `"age":"30",`, ``, 1)
			for _, tt := range []struct{ query, accept, want string }{
				{"", "", "此题为必答题。"}, {"?lang=en", "", "This question is required."},
				{"", "en-US,en;q=0.9", "This question is required."}, {"?lang=zh", "en", "此题为必答题。"},
			} {
				r := do(t, c, "POST", sub+tt.query, "application/json", missing, "Accept-Language", tt.accept)
				if msg := r.json(t)["error"].(map[string]any)["message"]; msg != tt.want {
					t.Errorf("%s %s: message %q, want %q", tt.query, tt.accept, msg, tt.want)
				}
			}

			// Withdrawal by API.
			del := func(code string) reply {
				return do(t, c, "DELETE", ts.URL+"/api/v1/receipts/"+url.PathEscape(code), "", "")
			}
			if r := del(strings.ToLower(receipt)); r.status != 200 || r.json(t)["withdrawn"] != true {
				t.Errorf("withdraw: %d %s", r.status, r.body)
			}
			if r, _ := st.Response(t.Context(), "webform", "a1"); r.WithdrawnAt.IsZero() || len(r.Answers) != 0 {
				t.Errorf("after withdrawal: %+v", r)
			}
			if r := del(receipt); r.status != 200 {
				t.Errorf("second withdrawal: %d %s", r.status, r.body)
			}
			if r := del("0000-0000-0000-0000"); r.status != 404 {
				t.Errorf("unknown receipt: %d %s", r.status, r.body)
			}
			if r := del("not-a-receipt"); r.status != 400 {
				t.Errorf("malformed receipt: %d %s", r.status, r.body)
			}
		})
	}
}

// methodOf lets the refusal table name the one request that is no POST.
func methodOf(name string) string {
	if name == "GET" {
		return "GET"
	}
	return "POST"
}

func TestRateLimitAndSchedule(t *testing.T) {
	st := storetest.OpenSQLite(t)
	ts := testServer(t, st, Options{Collect: collect.Options{
		IPLimit: collect.Limit{Rate: 0.001, Burst: 2}, ClientLimit: collect.Limit{Rate: -1},
	}}, "close_at=2000-01-01")
	c := ts.Client()
	sub := ts.URL + "/api/v1/forms/webform/submissions"
	r := do(t, c, "POST", sub, "application/json", body("x1"))
	if code, _ := r.errorOf(t); r.status != 403 || code != "form_closed" {
		t.Errorf("closed form: %d %s", r.status, r.body)
	}
	do(t, c, "POST", sub, "application/json", body("x2"))
	r = do(t, c, "POST", sub, "application/json", body("x3"))
	if r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Fatalf("third request: %d %s", r.status, r.body)
	}
	msg := r.json(t)["error"].(map[string]any)["message"].(string)
	if !strings.Contains(msg, "请") || !strings.Contains(msg, "Too many") {
		t.Errorf("429 message %q is not in Chinese and English", msg)
	}
	// The page of a closed form says so.
	page := do(t, c, "GET", ts.URL+"/f/webform?lang=en", "", "")
	if page.status != 200 || !strings.Contains(page.body, "This survey is closed") || strings.Contains(page.body, "data-spec") {
		t.Errorf("closed form page: %d %.300s", page.status, page.body)
	}
}

func TestFormPage(t *testing.T) {
	st := storetest.OpenSQLite(t)
	ts := testServer(t, st, Options{})
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{`<html lang="zh-CN">`, "调查说明与隐私声明", "同意并开始", "撤回", `hreflang="en"`}},
		{"?lang=en", []string{`<html lang="en">`, "About this survey and your privacy", "I agree, start", "withdraw", `hreflang="zh"`}},
	}
	for _, tt := range tests {
		r := do(t, c, "GET", ts.URL+"/f/webform"+tt.query, "", "")
		if r.status != 200 {
			t.Fatalf("%s: %d", tt.query, r.status)
		}
		for _, w := range append(tt.want, "Employed?", `name="employed"`, `data-page="work"`, `/assets/form.js?v=`, `/assets/expr.js?v=`) {
			if !strings.Contains(r.body, w) {
				t.Errorf("%s: page lacks %q", tt.query, w)
			}
		}
		if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("CSP %q", csp)
		}
		m := regexp.MustCompile(`data-spec="([^"]*)"`).FindStringSubmatch(r.body)
		if m == nil {
			t.Fatal("no data-spec")
		}
		var sp spec
		if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &sp); err != nil {
			t.Fatal(err)
		}
		if sp.Form != "webform" || sp.Revision != 1 || sp.Items["work"].Relevant == nil ||
			sp.Items["city"].Filter == nil || sp.Items["city"].ChoiceCols["c3"]["province"] != "p2" ||
			sp.Items["adult"].Calc == nil || sp.Items["employer"].ReqIf == nil || sp.Items["employed"].Parent != "work" {
			t.Errorf("spec %s", m[1])
		}
	}
	u, _ := url.Parse(ts.URL)
	var cookie string
	for _, ck := range jar.Cookies(u) {
		if ck.Name == clientCookie {
			cookie = ck.Value
		}
	}
	if !validCookie(cookie) {
		t.Errorf("client cookie %q", cookie)
	}
	// The second visit keeps the cookie.
	if r := do(t, c, "GET", ts.URL+"/f/webform", "", ""); strings.Contains(r.header.Get("Set-Cookie"), clientCookie) {
		t.Error("cookie set again on the second visit")
	}
	if r := do(t, c, "GET", ts.URL+"/f/nope", "", ""); r.status != 404 || !strings.Contains(r.body, `"error"`) {
		t.Errorf("unknown form: %d %s", r.status, r.body)
	}
}

func TestWithdrawPage(t *testing.T) {
	st := storetest.OpenSQLite(t)
	ts := testServer(t, st, Options{})
	c := ts.Client()
	r := do(t, c, "POST", ts.URL+"/api/v1/forms/webform/submissions", "application/json", body("w1"))
	receipt, _ := r.json(t)["receipt"].(string)
	if r := do(t, c, "GET", ts.URL+"/withdraw?lang=en&receipt="+receipt, "", ""); r.status != 200 || !strings.Contains(r.body, `value="`+receipt+`"`) {
		t.Errorf("withdraw page: %d %.300s", r.status, r.body)
	}
	form := func(code string) reply {
		return do(t, c, "POST", ts.URL+"/withdraw?lang=en", "application/x-www-form-urlencoded", url.Values{"receipt": {code}}.Encode())
	}
	if r := form("nonsense"); r.status != 400 || !strings.Contains(r.body, "That is not a receipt code") {
		t.Errorf("bad code: %d %.300s", r.status, r.body)
	}
	if r := form("0000-0000-0000-0000"); r.status != 404 || !strings.Contains(r.body, "No answers have this receipt code") {
		t.Errorf("unknown code: %d %.300s", r.status, r.body)
	}
	if r := form(receipt); r.status != 200 || !strings.Contains(r.body, "have been withdrawn") {
		t.Errorf("withdrawal: %d %.300s", r.status, r.body)
	}
	if n, _ := st.CountResponses(t.Context(), "webform"); n != 0 {
		t.Errorf("%d responses after withdrawal", n)
	}
}

// The respondent's phone downloads the scripts and styles once: they must
// stay small (the budget: under 100 KB of JS and CSS together).
func TestAssets(t *testing.T) {
	st := storetest.OpenSQLite(t)
	ts := testServer(t, st, Options{})
	page := do(t, ts.Client(), "GET", ts.URL+"/f/webform", "", "")
	refs := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllStringSubmatch(page.body, -1)
	if len(refs) != 3 {
		t.Fatalf("page references %d assets, want site.css, expr.js, form.js", len(refs))
	}
	total := 0
	for _, ref := range refs {
		path := html.UnescapeString(ref[1])
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		req.Header.Set("Accept-Encoding", "identity")
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s: %d, Cache-Control %q", path, resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
		total += len(b)
		// gzip, for the phone.
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err = http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatalf("%s gzip: %v", path, err)
		}
		unz, _ := io.ReadAll(zr)
		resp.Body.Close()
		if !bytes.Equal(unz, b) {
			t.Errorf("%s: gzipped body differs", path)
		}
	}
	if total >= 100_000 {
		t.Errorf("JS and CSS total %d bytes, budget 100 KB", total)
	}
	t.Logf("JS and CSS: %d bytes", total)
	if r := do(t, ts.Client(), "GET", ts.URL+"/assets/nope.js", "", ""); r.status != 404 {
		t.Errorf("unknown asset: %d", r.status)
	}
}

// Closing the server stores what group commit still holds: a submission
// acknowledged before Close is in the store after it.
func TestCloseDrains(t *testing.T) {
	st := storetest.OpenSQLite(t)
	ts := testServer(t, st, Options{Collect: collect.Options{Commit: collect.CommitOptions{Window: 20 * time.Millisecond}}})
	r := do(t, ts.Client(), "POST", ts.URL+"/api/v1/forms/webform/submissions", "application/json", body("d1"))
	if r.status != 201 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if _, err := st.Response(t.Context(), "webform", "d1"); err != nil {
		t.Errorf("acknowledged but not stored: %v", err)
	}
}
