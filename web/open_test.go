package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/publish"
	"github.com/govsurvey/govsurvey/publish/publishtest"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/stats"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// openRelease builds and stores a small signed release: q × g with two
// small cells.
func openRelease(t *testing.T, e *staffEnv) *publish.Release {
	t.Helper()
	f := &form.Form{ID: "town", Title: "镇调查",
		Survey: []*form.Question{
			{Type: "select_one", Name: "q", ListName: "yn", Label: form.Text{"中文 (zh)": "安全吗", "English (en)": "Feel safe?"}},
			{Type: "select_one", Name: "g", ListName: "g", Label: form.Text{"中文 (zh)": "组", "English (en)": "Group"}},
		},
		Choices: map[string][]form.Choice{
			"yn": {{Name: "yes", Label: form.Text{"中文 (zh)": "是", "English (en)": "Yes"}}, {Name: "no", Label: form.Text{"中文 (zh)": "否", "English (en)": "No"}}},
			"g":  {{Name: "a"}, {Name: "b"}, {Name: "c"}},
		},
	}
	cells := [][]int{{40, 3}, {30, 25}, {4, 15}} // groups × yes/no
	an := &stats.Analysis{FormID: "town", Collected: 117, Valid: 117}
	ct := stats.Crosstab{By: "g"}
	all := []int{0, 0}
	for k, name := range []string{"a", "b", "c"} {
		base := cells[k][0] + cells[k][1]
		var cs []stats.ChoiceEstimate
		for j, ch := range []string{"yes", "no"} {
			all[j] += cells[k][j]
			cs = append(cs, stats.ChoiceEstimate{Name: ch, Count: stats.Num(cells[k][j]), Percent: stats.Num(100 * float64(cells[k][j]) / float64(base))})
		}
		ct.Groups = append(ct.Groups, stats.CrosstabGroup{Name: name, Base: base,
			Questions: []stats.QuestionTable{{Name: "q", Type: "select_one", Base: base, Choices: cs}}})
	}
	an.Questions = []stats.QuestionTable{{Name: "q", Type: "select_one", Base: 117, Choices: []stats.ChoiceEstimate{
		{Name: "yes", Count: stats.Num(all[0]), Percent: stats.Num(100 * float64(all[0]) / 117)},
		{Name: "no", Count: stats.Num(all[1]), Percent: stats.Num(100 * float64(all[1]) / 117)}}}}
	an.Crosstabs = []stats.Crosstab{ct}
	signer := publishtest.Signer(t, "Town Office")
	rel, err := publish.Build(an, f, publish.Options{Version: 1, Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	sr, err := rel.StoreRelease()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.raw.AddRelease(t.Context(), sr); err != nil {
		t.Fatal(err)
	}
	return rel
}

func TestOpenPages(t *testing.T) {
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{})
	rel := openRelease(t, e)
	anon := &http.Client{}
	if r := do(t, anon, "GET", e.ts.URL+"/open", "", ""); r.status != 200 || !strings.Contains(r.body, "/open/town-r1") {
		t.Errorf("index: %d %s", r.status, r.body)
	}
	for _, tt := range []struct{ lang, title string }{{"zh", "安全吗 × 组"}, {"en", "Feel safe? by Group"}} {
		r := do(t, anon, "GET", e.ts.URL+"/open/town-r1?lang="+tt.lang, "", "")
		if r.status != 200 || !strings.Contains(r.body, tt.title) || !strings.Contains(r.body, "<td>x</td>") {
			t.Errorf("page %s: %d, title %q or a suppressed cell missing", tt.lang, r.status, tt.title)
		}
		// The small cells' counts appear nowhere as cells.
		for _, small := range []string{"<td>3 (", "<td>4 ("} {
			if strings.Contains(r.body, small) {
				t.Errorf("page %s shows %q", tt.lang, small)
			}
		}
	}
	var csvBody []byte
	for _, f := range rel.Files {
		if f.Name == "tables/q_by_g.csv" {
			csvBody = f.Body
		}
	}
	r := do(t, anon, "GET", e.ts.URL+"/open/town-r1/files/tables/q_by_g.csv", "", "")
	if r.status != 200 || r.body != string(csvBody) || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Errorf("download: %d %q", r.status, r.header.Get("Content-Type"))
	}
	if r := do(t, anon, "GET", e.ts.URL+"/open/town-r1/files/nope.csv", "", ""); r.status != 404 {
		t.Errorf("missing file: %d", r.status)
	}
	if r := do(t, anon, "GET", e.ts.URL+"/open/nope", "", ""); r.status != 404 {
		t.Errorf("missing release: %d", r.status)
	}
}

func TestOpenAPIKeys(t *testing.T) {
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{})
	openRelease(t, e)
	anon := &http.Client{}
	if r := do(t, anon, "GET", e.ts.URL+"/open/v1/releases", "", ""); r.status != 401 {
		t.Errorf("no key: %d %s", r.status, r.body)
	}
	pub := e.session(t, "publisher")
	// One request a day and a minute: the second is refused whether the
	// minute turned or not.
	r := do(t, pub, "POST", e.ts.URL+"/api/v1/open/keys", "application/json",
		`{"name":"统计局","per_day":1,"per_minute":1}`, e.csrf(t, pub)...)
	if r.status != 201 {
		t.Fatalf("create key: %d %s", r.status, r.body)
	}
	created := r.json(t)
	secret, _ := created["key"].(string)
	hash, _ := created["hash"].(string)
	if secret == "" || hash != publish.HashOpenKey(secret) {
		t.Fatalf("created %v", created)
	}
	r = do(t, anon, "GET", e.ts.URL+"/open/v1/releases", "", "", "Authorization", "Bearer "+secret)
	if r.status != 200 || !strings.Contains(r.body, `"town-r1"`) || r.header.Get("RateLimit-Limit") != "1" || r.header.Get("RateLimit-Remaining") != "0" {
		t.Errorf("first request: %d %v %s", r.status, r.header, r.body)
	}
	r = do(t, anon, "GET", e.ts.URL+"/open/v1/releases/town-r1/tables/q_by_g", "", "", "X-API-Key", secret)
	if r.status != 429 || r.header.Get("Retry-After") == "" || r.header.Get("RateLimit-Remaining") != "0" {
		t.Errorf("second request: %d %v", r.status, r.header)
	}
	// Usage and audit.
	r = do(t, pub, "GET", e.ts.URL+"/api/v1/open/keys", "", "")
	if r.status != 200 || !strings.Contains(r.body, `"requests":1`) || strings.Contains(r.body, secret) {
		t.Errorf("list keys: %d %s", r.status, r.body)
	}
	entries, _, err := security.ReadAudit(t.Context(), e.raw)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, en := range entries {
		actions = append(actions, en.Action)
	}
	if !strings.Contains(strings.Join(actions, " "), "open.key_create") || !strings.Contains(strings.Join(actions, " "), "open.request") {
		t.Errorf("audit actions %v", actions)
	}
	// Revoked: refused.
	if r := do(t, pub, "DELETE", e.ts.URL+"/api/v1/open/keys/"+hash, "", "", e.csrf(t, pub)...); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := do(t, anon, "GET", e.ts.URL+"/open/v1/releases", "", "", "Authorization", "Bearer "+secret); r.status != 401 {
		t.Errorf("revoked key: %d", r.status)
	}
	// Analysts may not make keys.
	an := e.session(t, "analyst")
	if r := do(t, an, "POST", e.ts.URL+"/api/v1/open/keys", "application/json", `{"name":"x"}`, e.csrf(t, an)...); r.status != 403 {
		t.Errorf("analyst makes a key: %d", r.status)
	}
}
