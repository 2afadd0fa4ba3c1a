package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// csrf returns the header carrying the CSRF token of c's session.
func (e *staffEnv) csrf(t *testing.T, c *http.Client) []string {
	t.Helper()
	u, _ := url.Parse(e.ts.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == e.srv.sessionCookie() {
			r, _ := http.NewRequest("GET", e.ts.URL, nil)
			r.AddCookie(ck)
			return []string{csrfHeader, e.srv.csrfToken(r)}
		}
	}
	t.Fatal("no session cookie")
	return nil
}

// upload posts a file to /console/upload as a browser form does, with
// the page's CSRF field unless token is "-".
func (e *staffEnv) upload(t *testing.T, c *http.Client, name string, data []byte, token string) reply {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if token != "-" {
		mw.WriteField("csrf", token)
	}
	if name != "" {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(data)
	}
	mw.Close()
	return do(t, c, "POST", e.ts.URL+"/console/upload?lang=en", mw.FormDataContentType(), b.String())
}

// postForm posts url-encoded fields with c's CSRF token.
func (e *staffEnv) postForm(t *testing.T, c *http.Client, path string, v url.Values) reply {
	t.Helper()
	v.Set("csrf", e.csrf(t, c)[1])
	return do(t, c, "POST", e.ts.URL+path, "application/x-www-form-urlencoded", v.Encode())
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConsoleCSRF: a staff POST with a session needs the session's own
// token, in the form or the header; an API token needs none.
func TestConsoleCSRF(t *testing.T) {
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{})
	designer, other := e.session(t, "designer"), e.session(t, "designer")
	data := readTestdata(t, "console.md")
	page := do(t, designer, "GET", e.ts.URL+"/console/upload", "", "")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page.body)
	if page.status != http.StatusOK || m == nil {
		t.Fatalf("upload page: %d, no csrf field\n%s", page.status, page.body)
	}
	for _, tt := range []struct {
		name, token string
		want        int
	}{
		{"no token", "-", http.StatusForbidden},
		{"empty token", "", http.StatusForbidden},
		{"another session's token", e.csrf(t, other)[1], http.StatusForbidden},
		{"forged", strings.Repeat("a", len(m[1])), http.StatusForbidden},
		{"the page's token", m[1], http.StatusSeeOther},
	} {
		r := e.upload(t, designer, "console.md", data, tt.token)
		if r.status != tt.want {
			t.Errorf("%s: %d, want %d: %s", tt.name, r.status, tt.want, r.body)
		} else if tt.want == http.StatusForbidden {
			if code, _ := r.errorOf(t); code != "csrf" {
				t.Errorf("%s: code %q", tt.name, code)
			}
		}
	}
	// The header does as well as the field, for scripts.
	r := do(t, designer, "POST", e.ts.URL+"/console/forms/census/schedule", "application/x-www-form-urlencoded", "open_at=", e.csrf(t, designer)...)
	if r.status != http.StatusSeeOther {
		t.Errorf("schedule with the header: %d %s", r.status, r.body)
	}
	// A bearer token carries no ambient credential: no CSRF token needed.
	tok, _, err := e.accounts.NewToken(t.Context(), "test", "designer", "ci", []security.Permission{security.PermFormsWrite}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r = do(t, noFollow, "POST", e.ts.URL+"/console/forms/census/schedule", "application/x-www-form-urlencoded",
		"close_at=2099-01-01", "Authorization", "Bearer "+tok)
	if r.status != http.StatusSeeOther {
		t.Errorf("schedule with an API token: %d %s", r.status, r.body)
	}
	// Logout is a staff POST too.
	if r := do(t, other, "POST", e.ts.URL+"/logout", "", ""); r.status != http.StatusForbidden {
		t.Errorf("logout without a token: %d", r.status)
	}
}

// TestConsoleUpload: problems listed as sheet!row with 422, a new form
// and its versions, an unchanged upload, each audited.
func TestConsoleUpload(t *testing.T) {
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{})
	c := e.session(t, "designer")
	token := e.csrf(t, c)[1]

	r := e.upload(t, c, "console_broken.md", readTestdata(t, "console_broken.md"), token)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("broken form: %d %s", r.status, r.body)
	}
	// The expected places are those form.Parse reports, read here.
	_, err := form.Parse("console_broken.md", readTestdata(t, "console_broken.md"))
	fe, ok := err.(*form.Error)
	if !ok || len(fe.Problems) < 2 {
		t.Fatalf("the broken testdata is not broken enough: %v", err)
	}
	for _, p := range fe.Problems {
		want := fmt.Sprintf(`<td class="where">%s!%d</td>`, p.Sheet, p.Row)
		if !strings.Contains(r.body, want) {
			t.Errorf("problem table lacks %s", want)
		}
	}
	if !strings.Contains(r.body, fmt.Sprintf("The form has %d problem(s)", len(fe.Problems))) {
		t.Errorf("no summary of the problems:\n%s", r.body)
	}
	if r := e.upload(t, c, "", nil, token); r.status != http.StatusBadRequest {
		t.Errorf("no file: %d", r.status)
	}
	if r := e.upload(t, c, "big.xlsx", bytes.Repeat([]byte("x"), maxUpload+1), token); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("a file past the limit: %d", r.status)
	}
	if r := e.upload(t, c, "bigger.xlsx", bytes.Repeat([]byte("x"), maxUploadRequest+1), token); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("a body past the upload route's limit: %d", r.status)
	}
	data, name, err := form.Template("netizen_2019")
	if err != nil {
		t.Fatal(err)
	}
	r = e.upload(t, c, name, data, token)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/console/forms/netizen_2019/versions?lang=en&created=1") {
		t.Fatalf("netizen upload: %d %q %s", r.status, r.header.Get("Location"), r.body)
	}
	page := do(t, c, "GET", e.ts.URL+r.header.Get("Location"), "", "")
	if page.status != http.StatusOK || !strings.Contains(page.body, "Saved: netizen_2019 version 1.") || !strings.Contains(page.body, name) {
		t.Errorf("versions page: %d\n%s", page.status, page.body)
	}
	r = e.upload(t, c, name, data, token)
	if loc := r.header.Get("Location"); !strings.Contains(loc, "unchanged=1") {
		t.Errorf("second upload: %d → %q", r.status, loc)
	}
	entries, _, err := security.ReadAudit(t.Context(), e.raw)
	if err != nil {
		t.Fatal(err)
	}
	var log []string
	for _, en := range entries {
		if en.Action == security.ActionFormChange {
			log = append(log, en.Actor+" "+en.Object+" "+en.Outcome+" "+en.Detail)
		}
	}
	want := []string{
		fmt.Sprintf("designer file:console_broken.md failed upload problems=%d", len(fe.Problems)),
		"designer form:netizen_2019 ok upload revision=1 file=netizen_2019.xlsx",
		"designer form:netizen_2019 ok upload unchanged revision=1 file=netizen_2019.xlsx",
	}
	if strings.Join(log, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit:\n%s\nwant\n%s", strings.Join(log, "\n"), strings.Join(want, "\n"))
	}
	// Chinese by default.
	if page := do(t, c, "GET", e.ts.URL+"/console/upload", "", ""); !strings.Contains(page.body, "上传 XLSForm 问卷") {
		t.Error("upload page is not in Chinese by default")
	}

	// A form past the 1 MiB that caps other requests: a cascade of 40,000
	// townships is accepted.
	var big strings.Builder
	big.WriteString("# towns\n\n| survey |\n| | type | name | label |\n| | select_one town | town | Town |\n\n| choices |\n| | list_name | name | label |\n")
	for i := range 40000 {
		fmt.Fprintf(&big, "| | town | t%05d | 第%d镇 Township number %d |\n", i, i, i)
	}
	big.WriteString("\n| settings |\n| | form_id | version |\n| | towns | 1 |\n")
	if big.Len() <= maxRequestBody {
		t.Fatalf("the big form is only %d bytes", big.Len())
	}
	if r := e.upload(t, c, "towns.md", []byte(big.String()), token); r.status != http.StatusSeeOther {
		t.Errorf("a %d-byte form: %d %s", big.Len(), r.status, r.body)
	}
}

// TestConsoleShareSchedule: the share page's link and QR code, and the
// collection period stored as a new revision the respondent form obeys.
func TestConsoleShareSchedule(t *testing.T) {
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{})
	if _, _, _, err := collect.AddForm(t.Context(), e.sealing, "console.md", readTestdata(t, "console.md")); err != nil {
		t.Fatal(err)
	}
	c := e.session(t, "designer")
	page := do(t, c, "GET", e.ts.URL+"/console/forms/census/share?lang=en", "", "")
	if page.status != http.StatusOK || !strings.Contains(page.body, e.ts.URL+"/f/census") || !strings.Contains(page.body, "collecting") {
		t.Fatalf("share page: %d\n%s", page.status, page.body)
	}
	svg := do(t, c, "GET", e.ts.URL+"/console/forms/census/qr.svg", "", "")
	if svg.status != http.StatusOK || svg.header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(svg.body, "<svg") || !strings.Contains(svg.body, "M4 4h1v1h-1z") {
		t.Errorf("qr.svg: %d %q %.80s", svg.status, svg.header.Get("Content-Type"), svg.body)
	}
	pngr := do(t, c, "GET", e.ts.URL+"/console/forms/census/qr.png", "", "")
	img, err := png.Decode(strings.NewReader(pngr.body))
	if err != nil {
		t.Fatalf("qr.png: %v", err)
	}
	if b := img.Bounds(); b.Dx() != b.Dy() || b.Dx() < 21*8 {
		t.Errorf("qr.png is %v", b)
	}
	if r := do(t, c, "GET", e.ts.URL+"/console/forms/nosuch/qr.svg", "", ""); r.status != http.StatusNotFound {
		t.Errorf("QR of a missing form: %d", r.status)
	}

	// Opens in the future: a new revision, and the respondent form waits.
	r := e.postForm(t, c, "/console/forms/census/schedule?lang=en", url.Values{"open_at": {"2099-01-01T08:00"}, "close_at": {""}})
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "saved=2") {
		t.Fatalf("schedule: %d %q %s", r.status, r.header.Get("Location"), r.body)
	}
	fv, err := e.sealing.Form(t.Context(), "census")
	if err != nil || fv.Revision != 2 || !strings.HasSuffix(fv.SourceName, ".xlsx") {
		t.Fatalf("after scheduling: %+v %v", fv.Revision, err)
	}
	f, err := form.Parse(fv.SourceName, fv.Source)
	if err != nil || f.Settings["open_at"] != "2099-01-01T08:00" || f.Question("province") == nil {
		t.Errorf("the stored source: settings %v, %v", f.Settings, err)
	}
	page = do(t, c, "GET", e.ts.URL+"/console/forms/census/share?lang=en&saved=2", "", "")
	if !strings.Contains(page.body, "not open yet") || !strings.Contains(page.body, `value="2099-01-01T08:00"`) {
		t.Errorf("share page after scheduling:\n%s", page.body)
	}
	// The collector looks the latest revision up every couple of seconds.
	var waiting reply
	for range 40 {
		if waiting = do(t, http.DefaultClient, "GET", e.ts.URL+"/f/census?lang=en", "", ""); strings.Contains(waiting.body, "This survey opens on 2099-01-01 08:00") {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if !strings.Contains(waiting.body, "This survey opens on 2099-01-01 08:00") {
		t.Errorf("respondent form before opening:\n%.600s", waiting.body)
	}
	// Clearing it opens the form again; a period that ends before it
	// starts is refused.
	if r := e.postForm(t, c, "/console/forms/census/schedule", url.Values{"open_at": {"2030-01-02"}, "close_at": {"2030-01-01"}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("inverted period: %d %s", r.status, r.body)
	}
	if r := e.postForm(t, c, "/console/forms/census/schedule", url.Values{"open_at": {"tomorrow"}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("bad time: %d %s", r.status, r.body)
	}
	if r := e.postForm(t, c, "/console/forms/census/schedule", url.Values{}); r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "saved=3") {
		t.Errorf("clearing: %d %q", r.status, r.header.Get("Location"))
	}
	if r := e.postForm(t, c, "/console/forms/census/schedule", url.Values{}); !strings.Contains(r.header.Get("Location"), "unchanged=1") {
		t.Errorf("clearing twice: %q", r.header.Get("Location"))
	}
}

// TestConsolePreview: the respondent form, marked as a preview, whose
// submit target stores nothing.
func TestConsolePreview(t *testing.T) {
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{})
	c := e.session(t, "analyst")
	page := do(t, c, "GET", e.ts.URL+"/console/forms/privacy/preview?lang=en", "", "")
	if page.status != http.StatusOK || !strings.Contains(page.body, "data-preview=") || !strings.Contains(page.body, `data-submit="/console/preview-not-stored"`) ||
		!strings.Contains(page.body, `id="q-gender"`) || page.header.Get("Set-Cookie") != "" {
		t.Fatalf("preview: %d %v\n%s", page.status, page.header, page.body)
	}
	r := do(t, c, "POST", e.ts.URL+"/console/preview-not-stored", "application/json", `{"instance_id":"p1","answers":{}}`)
	if r.status != http.StatusNotFound {
		t.Errorf("preview submit target: %d", r.status)
	}
	if n, _ := e.raw.CountResponses(t.Context(), "privacy"); n != 0 {
		t.Errorf("%d responses stored", n)
	}
}

// TestConsoleProgress: the counts come from the store, on both backends.
func TestConsoleProgress(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newStaffEnv(t, b.Open(t), Options{})
			if _, _, _, err := collect.AddForm(t.Context(), e.sealing, "console.md", readTestdata(t, "console.md")); err != nil {
				t.Fatal(err)
			}
			c := e.session(t, "auditor")
			get := func() progress {
				t.Helper()
				r := do(t, c, "GET", e.ts.URL+"/api/v1/forms/census/progress?lang=en", "", "")
				if r.status != http.StatusOK {
					t.Fatalf("progress: %d %s", r.status, r.body)
				}
				var p progress
				if err := json.Unmarshal([]byte(r.body), &p); err != nil {
					t.Fatal(err)
				}
				return p
			}
			p := get()
			if p.Total != 0 || p.MedianSeconds != nil || !p.HasProvince || len(p.Provinces) != 0 || len(p.Hourly) != 24 || p.CompletionRate != nil || p.CompletionNote == "" {
				t.Errorf("empty form: %+v", p)
			}
			now := time.Now()
			for i, sub := range []struct {
				province string
				minutes  int
			}{{"zhejiang", 3}, {"zhejiang", 5}, {"beijing", 10}} {
				body := fmt.Sprintf(`{"instance_id":"i%d","started":%q,"ended":%q,"answers":{"province":%q,"age":"30"}}`, i,
					now.Add(-time.Duration(sub.minutes)*time.Minute).Format(time.RFC3339), now.Format(time.RFC3339), sub.province)
				if r := do(t, http.DefaultClient, "POST", e.ts.URL+"/api/v1/forms/census/submissions", "application/json", body); r.status != http.StatusCreated {
					t.Fatalf("submit: %d %s", r.status, r.body)
				}
			}
			p = get()
			hourly := 0
			for _, h := range p.Hourly {
				hourly += h.N
			}
			if p.Total != 3 || p.Today != 3 || hourly != 3 || p.Hourly[23].N+p.Hourly[22].N != 3 || p.Timed != 3 || p.MedianSeconds == nil || *p.MedianSeconds != 300 {
				t.Errorf("after 3 submissions: %+v", p)
			}
			// The tally of the empty form is not kept long once responses
			// came (a quarter of a second for so small a form).
			for i := 0; i < 40 && len(p.Provinces) == 0; i++ {
				time.Sleep(100 * time.Millisecond)
				p = get()
			}
			if len(p.Provinces) != 2 || (p.Provinces[0].Label != "Zhejiang" || p.Provinces[0].N != 2 || p.Provinces[1].N != 1 || p.Provinces[0].Pct != 100 || p.Provinces[1].Pct != 50) {
				t.Errorf("provinces: %+v", p.Provinces)
			}
			page := do(t, c, "GET", e.ts.URL+"/console/forms/census/collection", "", "")
			if page.status != http.StatusOK || !regexp.MustCompile(`id="total">3<`).MatchString(page.body) || !strings.Contains(page.body, "收集进度") {
				t.Errorf("collection page: %d\n%s", page.status, page.body)
			}
			if r := do(t, c, "GET", e.ts.URL+"/api/v1/forms/nosuch/progress", "", ""); r.status != http.StatusNotFound {
				t.Errorf("progress of a missing form: %d", r.status)
			}
		})
	}
}

// TestProvinceTally: a fresh tally ranks by count, labels in the
// request's language.
func TestProvinceTally(t *testing.T) {
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{})
	if _, _, _, err := collect.AddForm(t.Context(), e.sealing, "console.md", readTestdata(t, "console.md")); err != nil {
		t.Fatal(err)
	}
	for i, prov := range []string{"guangdong", "zhejiang", "zhejiang", "beijing", "zhejiang", "guangdong"} {
		body := fmt.Sprintf(`{"instance_id":"t%d","answers":{"province":%q}}`, i, prov)
		if r := do(t, http.DefaultClient, "POST", e.ts.URL+"/api/v1/forms/census/submissions", "application/json", body); r.status != http.StatusCreated {
			t.Fatalf("submit: %d %s", r.status, r.body)
		}
	}
	pc := &provinceCache{maxAge: time.Hour, m: map[string]provinceEntry{}}
	p, err := e.srv.progressOf(t.Context(), pc, "census", "zh")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, pr := range p.Provinces {
		got = append(got, fmt.Sprintf("%s=%d/%d%%", pr.Label, pr.N, pr.Pct))
	}
	if want := "浙江=3/100% 广东=2/66% 北京=1/33%"; strings.Join(got, " ") != want {
		t.Errorf("provinces %s, want %s", strings.Join(got, " "), want)
	}
}

// TestConsoleAdmin: users, roles, tokens, the audit viewer and the keys
// page, as their roles use them.
func TestConsoleAdmin(t *testing.T) {
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{})
	admin := e.session(t, "admin")
	page := do(t, admin, "GET", e.ts.URL+"/console/admin/users?lang=en", "", "")
	if page.status != http.StatusOK || !strings.Contains(page.body, `id="user-analyst"`) {
		t.Fatalf("users page: %d\n%s", page.status, page.body)
	}
	if r := e.postForm(t, admin, "/console/admin/users?lang=en", url.Values{"name": {"zhang.wei"}, "password": {"short"}, "role": {"analyst"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `role="alert"`) {
		t.Errorf("weak password: %d", r.status)
	}
	if r := e.postForm(t, admin, "/console/admin/users", url.Values{"name": {"zhang.wei"}, "password": {staffPassword}, "role": {"wizard"}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("unknown role: %d", r.status)
	}
	if r := e.postForm(t, admin, "/console/admin/users", url.Values{"name": {"zhang.wei"}, "password": {staffPassword}, "role": {"analyst"}}); r.status != http.StatusSeeOther {
		t.Fatalf("add user: %d %s", r.status, r.body)
	}
	if r := e.postForm(t, admin, "/console/admin/users/zhang.wei/roles", url.Values{"role": {"analyst", "publisher"}}); r.status != http.StatusSeeOther {
		t.Errorf("set roles: %d %s", r.status, r.body)
	}
	u, err := e.sealing.User(t.Context(), "zhang.wei")
	if err != nil || strings.Join(u.Roles, ",") != "analyst,publisher" {
		t.Errorf("stored roles %v, %v", u.Roles, err)
	}
	zw := e.session(t, "zhang.wei")
	if r := e.postForm(t, admin, "/console/admin/users/zhang.wei/disabled", url.Values{"disabled": {"1"}}); r.status != http.StatusSeeOther {
		t.Errorf("disable: %d", r.status)
	}
	if r := do(t, zw, "GET", e.ts.URL+"/api/v1/forms", "", ""); r.status != http.StatusUnauthorized {
		t.Errorf("a disabled user's session: %d", r.status)
	}
	if r := e.postForm(t, admin, "/console/admin/users/admin/disabled", url.Values{"disabled": {"1"}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("disabling oneself: %d", r.status)
	}
	if r := e.postForm(t, admin, "/console/admin/users/nosuch/roles", url.Values{"role": {"analyst"}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("roles of a missing user: %d", r.status)
	}

	// A token: shown once, works, is revoked.
	r := e.postForm(t, admin, "/console/admin/tokens?lang=en", url.Values{"owner": {"analyst"}, "name": {"nightly"}, "days": {"30"}, "scope": {"forms.read"}})
	m := regexp.MustCompile(`id="secret">([^<]+)<`).FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m == nil {
		t.Fatalf("new token: %d\n%s", r.status, r.body)
	}
	bearer := []string{"Authorization", "Bearer " + m[1]}
	if r := do(t, http.DefaultClient, "GET", e.ts.URL+"/api/v1/forms", "", "", bearer...); r.status != http.StatusOK {
		t.Errorf("the new token: %d", r.status)
	}
	if page := do(t, admin, "GET", e.ts.URL+"/console/admin/tokens", "", ""); strings.Contains(page.body, m[1]) {
		t.Error("the token list shows the secret again")
	}
	if r := e.postForm(t, admin, "/console/admin/tokens", url.Values{"owner": {"analyst"}, "name": {"x"}, "days": {"30"}, "scope": {"users.manage"}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("a scope beyond the owner's roles: %d", r.status)
	}
	toks, _ := e.accounts.Tokens(t.Context(), "analyst")
	if len(toks) != 1 {
		t.Fatalf("%d tokens", len(toks))
	}
	if r := e.postForm(t, admin, "/console/admin/tokens/"+toks[0].Hash[:16]+"/revoke", url.Values{"owner": {"analyst"}}); r.status != http.StatusSeeOther {
		t.Errorf("revoke: %d %s", r.status, r.body)
	}
	if r := do(t, http.DefaultClient, "GET", e.ts.URL+"/api/v1/forms", "", "", bearer...); r.status != http.StatusUnauthorized {
		t.Errorf("a revoked token: %d", r.status)
	}

	// The keys page.
	page = do(t, admin, "GET", e.ts.URL+"/console/admin/keys?lang=en", "", "")
	if page.status != http.StatusOK || !strings.Contains(page.body, e.sealing.Sealer().Keyring().MasterCheckValue()) {
		t.Errorf("keys page: %d\n%s", page.status, page.body)
	}

	// The audit viewer: everything above is there, filtered and paged.
	auditor := e.session(t, "auditor")
	page = do(t, auditor, "GET", e.ts.URL+"/console/admin/audit?lang=en&user=admin&action=tokens.revoke", "", "")
	if page.status != http.StatusOK || !strings.Contains(page.body, "Chain verified") || !strings.Contains(page.body, "owner=analyst") ||
		!strings.Contains(page.body, "1 matching entries.") || strings.Contains(page.body, "tokens.create</td>") {
		t.Errorf("audit viewer, filtered:\n%s", page.body)
	}
	entries, _, _ := security.ReadAudit(t.Context(), e.raw)
	for i := len(entries); i < auditPage+5; i++ {
		if _, err := e.log.Record(t.Context(), security.AuditEvent{Actor: "system", Action: "test.fill", Object: "x", Outcome: security.OutcomeOK}); err != nil {
			t.Fatal(err)
		}
	}
	page = do(t, auditor, "GET", e.ts.URL+"/console/admin/audit", "", "")
	older := regexp.MustCompile(`href="(/console/admin/audit\?[^"]+)" id="older"`).FindStringSubmatch(page.body)
	if older == nil || strings.Count(page.body, "<tr><td class=\"num\">") != auditPage {
		t.Fatalf("first audit page has no link to older entries or not %d rows", auditPage)
	}
	page = do(t, auditor, "GET", e.ts.URL+strings.ReplaceAll(older[1], "&amp;", "&"), "", "")
	if n := strings.Count(page.body, "<tr><td class=\"num\">"); n != auditPage+5-auditPage || !strings.Contains(page.body, "<td class=\"num\">1</td>") {
		t.Errorf("second audit page: %d rows\n%s", n, page.body)
	}
}
