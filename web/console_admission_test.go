package web

import (
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// addWebform stores testdata/webform.md with the settings given
// ("name=value") in st; testServer serves it.
func addWebform(t *testing.T, st store.Store, settings ...string) {
	t.Helper()
	b, err := os.ReadFile("testdata/webform.md")
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	for _, s := range settings {
		name, value, _ := strings.Cut(s, "=")
		md = strings.Replace(md, "| form_id | version |", "| form_id | version | "+name+" |", 1)
		md = strings.Replace(md, "| webform | 1       |", "| webform | 1       | "+value+" |", 1)
	}
	if _, _, _, err := collect.AddForm(t.Context(), st, "webform.md", []byte(md)); err != nil {
		t.Fatal(err)
	}
}

// progressOfWebform reads the progress JSON's invitations and quotas.
func progressOfWebform(t *testing.T, e *staffEnv, c *http.Client) (map[string]any, []any) {
	t.Helper()
	r := do(t, c, "GET", e.ts.URL+"/api/v1/forms/webform/progress?lang=en", "", "")
	if r.status != http.StatusOK {
		t.Fatalf("progress: %d %s", r.status, r.body)
	}
	m := r.json(t)
	inv, _ := m["invitations"].(map[string]any)
	qs, ok := m["quotas"].([]any)
	if inv == nil || !ok {
		t.Fatalf("progress without invitations or quotas: %s", r.body)
	}
	return inv, qs
}

func invitationCounts(t *testing.T, st store.Store) store.InvitationCounts {
	t.Helper()
	c, err := st.InvitationCounts(t.Context(), "webform")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestConsoleInvitations: the page says the form is invitation-only; a
// designer's POST answers with a CSV of N tokens whose links are under
// the public URL, each admitting one submission; the counts follow; the
// write is audited, refused without forms.write, without the session's
// CSRF token, or with N out of range, and nothing is made then.
func TestConsoleInvitations(t *testing.T) {
	const base = "https://survey.example.org/s"
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{PublicURL: base + "/"})
	addWebform(t, e.sealing, "invitation=required")
	designer := e.session(t, "designer")
	path := "/console/forms/webform/invitations?lang=en"

	page := do(t, designer, "GET", e.ts.URL+path, "", "")
	if page.status != http.StatusOK || !strings.Contains(page.body, "by invitation only") ||
		!strings.Contains(page.body, `<dd id="inv-total">0</dd>`) || !strings.Contains(page.body, `name="csrf"`) ||
		!strings.Contains(page.body, "Only a hash of each token is stored") || !strings.Contains(page.body, "<code>"+base+"/f/webform?t=…</code>") {
		t.Fatalf("page: %d\n%s", page.status, page.body)
	}

	// Refusals make nothing.
	other := e.session(t, "designer")
	readOnly, _, err := e.accounts.NewToken(t.Context(), "test", "designer", "ro", []security.Permission{security.PermFormsRead}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	type refusal struct {
		name   string
		c      *http.Client
		body   string
		hdr    []string
		status int
		code   string // JSON error code; "" for the page
	}
	refusals := []refusal{
		{"no csrf field", designer, "n=3", nil, http.StatusForbidden, "csrf"},
		{"another session's csrf", designer, "n=3&csrf=" + e.csrf(t, other)[1], nil, http.StatusForbidden, "csrf"},
		{"forms.read token", http.DefaultClient, "n=3", []string{"Authorization", "Bearer " + readOnly}, http.StatusForbidden, "forbidden"},
	}
	for _, role := range []string{"analyst", "auditor", "publisher", "admin", "data-officer"} {
		c := e.session(t, role)
		refusals = append(refusals, refusal{role, c, "n=3&csrf=" + url.QueryEscape(e.csrf(t, c)[1]), nil, http.StatusForbidden, "forbidden"})
	}
	for _, n := range []string{"0", "100001", "-1", "abc", ""} {
		refusals = append(refusals, refusal{"n=" + n, designer, "n=" + url.QueryEscape(n) + "&csrf=" + url.QueryEscape(e.csrf(t, designer)[1]), nil, http.StatusUnprocessableEntity, ""})
	}
	for _, rf := range refusals {
		r := do(t, rf.c, "POST", e.ts.URL+path, "application/x-www-form-urlencoded", rf.body, rf.hdr...)
		if r.status != rf.status {
			t.Errorf("%s: %d, want %d: %.300s", rf.name, r.status, rf.status, r.body)
			continue
		}
		if rf.code != "" {
			if code, _ := r.errorOf(t); code != rf.code {
				t.Errorf("%s: code %q, want %q", rf.name, code, rf.code)
			}
		} else if !strings.Contains(r.body, "whole number from 1 to 100000") || strings.Contains(r.header.Get("Content-Type"), "csv") {
			t.Errorf("%s: the page does not say what is wrong: %.300s", rf.name, r.body)
		}
	}
	if c := invitationCounts(t, e.raw); c.Total != 0 {
		t.Fatalf("refused requests made %d invitations", c.Total)
	}

	// Made: the CSV is the tokens' one copy.
	const n = 3
	r := e.postForm(t, designer, path, url.Values{"n": {"3"}})
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(r.header.Get("Content-Disposition"), `attachment; filename="webform-invitations-`) ||
		r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("make: %d %v\n%s", r.status, r.header, r.body)
	}
	rows := readCSV(t, r.body)
	if len(rows) != n+1 || !slices.Equal(rows[0], []string{"n", "token", "link"}) {
		t.Fatalf("CSV: %q", rows)
	}
	var tokens []string
	for i, row := range rows[1:] {
		tok := row[1]
		if row[0] != strconv.Itoa(i+1) || !regexp.MustCompile(`^[a-z2-7]{26}$`).MatchString(tok) ||
			row[2] != base+"/f/webform?t="+tok || slices.Contains(tokens, tok) {
			t.Errorf("CSV row %d: %q", i+1, row)
		}
		tokens = append(tokens, tok)
	}
	if c := invitationCounts(t, e.raw); c != (store.InvitationCounts{Total: n}) {
		t.Errorf("after making %d: %+v", n, c)
	}

	// Each token admits one submission, once; the counts follow, on the
	// page and in the progress JSON.
	anon := &http.Client{}
	sub := e.ts.URL + "/api/v1/forms/webform/submissions"
	if r := do(t, anon, "POST", sub, "application/json", bodyWith("i0", "abcdefghijklmnopqrstuvwxyz", "p1")); r.status != http.StatusForbidden {
		t.Errorf("a token not made here: %d %s", r.status, r.body)
	}
	for i, tok := range tokens[:2] {
		id := "inv" + string(rune('a'+i))
		if r := do(t, anon, "POST", sub, "application/json", bodyWith(id, tok, "p1")); r.status != http.StatusCreated {
			t.Errorf("token %d: %d %s", i+1, r.status, r.body)
		}
		if r := do(t, anon, "POST", sub, "application/json", bodyWith(id+"x", tok, "p1")); r.status != http.StatusForbidden {
			t.Errorf("token %d again: %d %s", i+1, r.status, r.body)
		} else if code, _ := r.errorOf(t); code != "invitation_used" {
			t.Errorf("token %d again: code %s", i+1, code)
		}
	}
	// The link opens the form with its token.
	link, _ := url.Parse(rows[3][2])
	if page := do(t, anon, "GET", e.ts.URL+strings.TrimPrefix(link.Path, "/s")+"?"+link.RawQuery, "", ""); !strings.Contains(page.body, `value="`+tokens[2]+`"`) {
		t.Errorf("the link's form page does not carry its token: %d", page.status)
	}
	if c := invitationCounts(t, e.raw); c != (store.InvitationCounts{Total: n, Used: 2}) {
		t.Errorf("after two submissions: %+v", c)
	}
	inv, _ := progressOfWebform(t, e, designer)
	if inv["required"] != true || inv["total"] != float64(n) || inv["used"] != float64(2) || inv["unused"] != float64(1) {
		t.Errorf("progress invitations: %v", inv)
	}
	page = do(t, designer, "GET", e.ts.URL+path, "", "")
	if !strings.Contains(page.body, `<dd id="inv-total">3</dd>`) || !strings.Contains(page.body, `<dd id="inv-used">2</dd>`) {
		t.Errorf("page counts:\n%s", page.body)
	}
	// The collection page shows them too, for an invitation-only form.
	if page := do(t, designer, "GET", e.ts.URL+"/console/forms/webform/collection", "", ""); !strings.Contains(page.body, `<span id="inv-used">2</span> / <span id="inv-total">3</span>`) {
		t.Errorf("collection page without the invitation counts:\n%s", page.body)
	}

	// An API token with forms.write needs no CSRF field.
	writer, _, err := e.accounts.NewToken(t.Context(), "test", "designer", "rw", []security.Permission{security.PermFormsWrite}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	r = do(t, http.DefaultClient, "POST", e.ts.URL+path, "application/x-www-form-urlencoded", "n=2", "Authorization", "Bearer "+writer)
	if r.status != http.StatusOK || len(readCSV(t, r.body)) != 3 {
		t.Errorf("API token: %d %s", r.status, r.body)
	}

	// Audited: how many, by whom, never a token.
	entries, _, err := security.ReadAudit(t.Context(), e.raw)
	if err != nil {
		t.Fatal(err)
	}
	var log []string
	for _, en := range entries {
		if en.Action == collect.ActionInvitations {
			log = append(log, en.Actor+" "+en.Object+" "+en.Outcome+" "+en.Detail)
			for _, tok := range tokens {
				if strings.Contains(en.Detail, tok) {
					t.Errorf("a token in the audit log: %q", en.Detail)
				}
			}
		}
	}
	if len(log) != 2 || log[0] != "designer form:webform ok n=3" || !strings.HasPrefix(log[1], "designer (token ") || !strings.HasSuffix(log[1], " form:webform ok n=2") {
		t.Errorf("audit: %q", log)
	}

	// A reader sees the counts but no form to make invitations.
	page = do(t, e.session(t, "analyst"), "GET", e.ts.URL+path, "", "")
	if page.status != http.StatusOK || strings.Contains(page.body, `id="invite-form"`) || !strings.Contains(page.body, "forms.write") {
		t.Errorf("analyst's page: %d\n%s", page.status, page.body)
	}
}

// TestConsoleQuotas: each quota's label, limit, taken and remaining, on
// the admission and collection pages and in the progress JSON, following
// submissions and withdrawals.
func TestConsoleQuotas(t *testing.T) {
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{})
	addWebform(t, e.sealing, "quotas=province=p1:2; province=p2:1")
	c := e.session(t, "analyst")
	anon := &http.Client{}
	sub := e.ts.URL + "/api/v1/forms/webform/submissions"
	var receipt string
	for i, prov := range []string{"p1", "p2", "p2"} {
		want := http.StatusCreated
		if i == 2 {
			want = http.StatusConflict // p2's one slot is taken
		}
		r := do(t, anon, "POST", sub, "application/json", bodyWith("q"+string(rune('a'+i)), "", prov))
		if r.status != want {
			t.Fatalf("submission %d (%s): %d %s", i, prov, r.status, r.body)
		}
		if i == 1 {
			receipt, _ = r.json(t)["receipt"].(string)
		}
	}
	type row struct {
		label                   string
		limit, taken, left, pct int
	}
	check := func(when string, want []row) {
		t.Helper()
		inv, qs := progressOfWebform(t, e, c)
		if inv["required"] != false {
			t.Errorf("%s: an open form is invitation-only: %v", when, inv)
		}
		if len(qs) != len(want) {
			t.Fatalf("%s: quotas %v", when, qs)
		}
		page := do(t, c, "GET", e.ts.URL+"/console/forms/webform/invitations?lang=en", "", "")
		coll := do(t, c, "GET", e.ts.URL+"/console/forms/webform/collection?lang=en", "", "")
		for i, w := range want {
			q := qs[i].(map[string]any)
			got := row{q["label"].(string), int(q["limit"].(float64)), int(q["taken"].(float64)), int(q["remaining"].(float64)), int(q["pct"].(float64))}
			if got != w {
				t.Errorf("%s: quota %d: %+v, want %+v", when, i, got, w)
			}
			for name, p := range map[string]reply{"admission": page, "collection": coll} {
				cells := `<td class="num">` + strconv.Itoa(w.limit) + `</td><td class="num" id="quota-taken-` + strconv.Itoa(i) + `">` + strconv.Itoa(w.taken) +
					`</td><td class="num" id="quota-left-` + strconv.Itoa(i) + `">` + strconv.Itoa(w.left) + `</td>`
				if !strings.Contains(p.body, w.label) || !strings.Contains(p.body, cells) {
					t.Errorf("%s: %s page lacks quota %d %s", when, name, i, cells)
				}
			}
		}
	}
	check("after three submissions", []row{{"Province: P1", 2, 1, 1, 50}, {"Province: P2", 1, 1, 0, 100}})
	if r := do(t, anon, "DELETE", e.ts.URL+"/api/v1/receipts/"+receipt, "", ""); r.status != http.StatusOK {
		t.Fatalf("withdraw: %d %s", r.status, r.body)
	}
	check("after a withdrawal", []row{{"Province: P1", 2, 1, 1, 50}, {"Province: P2", 1, 0, 1, 0}})

	// A form without quotas says so, and its JSON has an empty list.
	page := do(t, c, "GET", e.ts.URL+"/console/forms/privacy/invitations?lang=en", "", "")
	if page.status != http.StatusOK || !strings.Contains(page.body, "no quotas") || !strings.Contains(page.body, "does not require an invitation") {
		t.Errorf("privacy form page: %d\n%s", page.status, page.body)
	}
	if r := do(t, c, "GET", e.ts.URL+"/api/v1/forms/privacy/progress", "", ""); !strings.Contains(r.body, `"quotas":[]`) {
		t.Errorf("privacy progress: %s", r.body)
	}
}
