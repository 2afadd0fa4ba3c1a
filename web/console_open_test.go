package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/govsurvey/govsurvey/clean"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/publish"
	"github.com/govsurvey/govsurvey/publish/publishtest"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// testReleaseSigner is an office key made for the test, and its public
// key to verify against.
func testReleaseSigner(t *testing.T) (ReleaseSigner, []byte) {
	t.Helper()
	s := publishtest.Signer(t, "Test Office")
	pub, err := s.PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	return func(*form.Form) (*publish.Signer, error) { return s, nil }, pub
}

// TestConsolePublish: only publishers see the page; a publish needs the
// session's CSRF token and a cleaned form; one made in the console is
// stored, audited, verifies against the office's key and publishes no
// small count.
func TestConsolePublish(t *testing.T) {
	signer, pub := testReleaseSigner(t)
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{ReleaseSigner: signer})
	seedAnalysis(t, e)
	ctx := t.Context()
	publisher, analyst := e.session(t, "publisher"), e.session(t, "analyst")

	page := do(t, publisher, "GET", e.ts.URL+"/console/open?lang=en", "", "")
	if page.status != 200 || !strings.Contains(page.body, `id="publish-analysis"`) || !strings.Contains(page.body, `id="nav-open"`) {
		t.Fatalf("publisher's page: %d %s", page.status, page.body)
	}
	// The personal question is not offered.
	if strings.Contains(page.body, `value="fullname"`) {
		t.Error("the page offers a personal question")
	}
	if r := do(t, analyst, "GET", e.ts.URL+"/console/open", "", ""); r.status != http.StatusForbidden {
		t.Errorf("analyst: %d", r.status)
	}
	if r := do(t, analyst, "GET", e.ts.URL+"/console?lang=en", "", ""); strings.Contains(r.body, "/console/open") {
		t.Error("the analyst's nav links to publishing")
	}

	path := "/console/open/forms/analysis/publish?lang=en"
	fields := func() url.Values {
		return url.Values{"question": {"gender", "satisfied"}, "by": {"age_band"}, "min_count": {"20"},
			"microdata": {"1"}, "k": {"5"}, "qi": {"gender", "age_band"}}
	}
	// Not cleaned yet: refused, said why.
	if r := e.postForm(t, publisher, path, fields()); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "not been cleaned") {
		t.Errorf("publish before cleaning: %d %s", r.status, r.body)
	}
	if _, err := clean.Run(ctx, e.sealing.Joined(), "analysis"); err != nil {
		t.Fatal(err)
	}
	// Without the token, and by an analyst: refused, nothing stored.
	v := fields()
	if r := do(t, publisher, "POST", e.ts.URL+path, "application/x-www-form-urlencoded", v.Encode()); r.status != http.StatusForbidden {
		t.Errorf("publish without CSRF token: %d", r.status)
	}
	v.Set("csrf", "forged")
	if r := do(t, publisher, "POST", e.ts.URL+path, "application/x-www-form-urlencoded", v.Encode()); r.status != http.StatusForbidden {
		t.Errorf("publish with a forged CSRF token: %d", r.status)
	}
	if r := e.postForm(t, analyst, path, fields()); r.status != http.StatusForbidden {
		t.Errorf("analyst publishes: %d", r.status)
	}
	bad := fields()
	bad.Set("min_count", "0")
	if r := e.postForm(t, publisher, path, bad); r.status != http.StatusUnprocessableEntity {
		t.Errorf("min count 0: %d", r.status)
	}
	// Every question ticked publishes the public ones as microdata, never
	// an internal one: this form has none.
	all := fields()
	all["question"] = []string{"gender", "age_band", "satisfied", "channels"}
	if r := e.postForm(t, publisher, path, all); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "classified public") {
		t.Errorf("microdata of every question: %d %s", r.status, r.body)
	}
	personal := fields()
	personal["question"] = []string{"gender", "fullname"}
	if r := e.postForm(t, publisher, path, personal); r.status != http.StatusUnprocessableEntity {
		t.Errorf("a personal question: %d", r.status)
	}
	if rs, err := e.raw.Releases(ctx, ""); err != nil || len(rs) != 0 {
		t.Fatalf("releases after refusals: %v %v", rs, err)
	}

	r := e.postForm(t, publisher, path, fields())
	if r.status != 200 || !strings.Contains(r.body, `id="published"`) || !strings.Contains(r.body, `href="/open/analysis-r1?lang=en"`) {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}

	// The stored release, written out, verifies against the office's key.
	rel, err := e.raw.Release(ctx, "analysis-r1")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	suppressed, tables := 0, 0
	for _, f := range rel.Files {
		rf, err := e.raw.ReleaseFile(ctx, rel.ID, f.Name)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, rf.Body, 0o644); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(f.Name, "tables/") && strings.HasSuffix(f.Name, ".csv") {
			tables++
			recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(rf.Body, []byte("\ufeff")))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			ci, si := slices.Index(recs[0], "count"), slices.Index(recs[0], "suppressed")
			for _, row := range recs[1:] {
				if n, err := strconv.Atoi(row[ci]); err == nil && n > 0 && n < 20 {
					t.Errorf("%s publishes %v", f.Name, row)
				}
				if row[si] == "true" {
					suppressed++
				}
			}
		}
	}
	rep, err := publish.VerifyDir(dir, pub)
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	// gender, satisfied, and each by age_band.
	if tables != 4 {
		t.Errorf("%d tables", tables)
	}
	if suppressed == 0 {
		t.Error("nothing suppressed: the test publishes no small cell")
	}
	if !strings.Contains(r.body, "cells suppressed (minimum count 20)") || !strings.Contains(r.body, ": 4 tables, "+strconv.Itoa(suppressed)+" cells suppressed") {
		t.Errorf("the page does not say %d cells were suppressed:\n%s", suppressed, r.body)
	}
	if _, err := os.Stat(filepath.Join(dir, "microdata", "microdata.csv")); err != nil || !strings.Contains(r.body, `id="published-microdata"`) {
		t.Errorf("microdata: %v", err)
	}
	// Listed, and audited under the publisher's name.
	if r := do(t, publisher, "GET", e.ts.URL+"/console/open", "", ""); !strings.Contains(r.body, `<a href="/open/analysis-r1?lang=zh">analysis-r1</a>`) {
		t.Errorf("list: %s", r.body)
	}
	entries, _, err := security.ReadAudit(ctx, e.raw)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, en := range entries {
		found = found || en.Action == security.ActionPublish && en.Object == "release:analysis-r1" && en.Actor == "publisher"
	}
	if !found {
		t.Error("the publish is not in the audit log")
	}
}

// TestConsolePublishNoSigner: a server without a signing key says so
// and stores nothing.
func TestConsolePublishNoSigner(t *testing.T) {
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{})
	seedAnalysis(t, e)
	if _, err := clean.Run(t.Context(), e.sealing.Joined(), "analysis"); err != nil {
		t.Fatal(err)
	}
	publisher := e.session(t, "publisher")
	r := e.postForm(t, publisher, "/console/open/forms/analysis/publish?lang=en", url.Values{"question": {"gender"}, "min_count": {"10"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "no signing key") {
		t.Errorf("%d %s", r.status, r.body)
	}
	if rs, _ := e.raw.Releases(t.Context(), ""); len(rs) != 0 {
		t.Errorf("stored %v", rs)
	}
}

// versionRace holds the first n NextReleaseVersion callers until all n
// have their version, so n publishes of one form are handed the same
// version, as concurrent ones can be.
type versionRace struct {
	store.Store
	mu      sync.Mutex
	waiting int
	all     chan struct{}
}

func (s *versionRace) NextReleaseVersion(ctx context.Context, formID string) (int, error) {
	v, err := s.Store.NextReleaseVersion(ctx, formID)
	s.mu.Lock()
	if s.waiting == 0 {
		s.mu.Unlock()
		return v, err
	}
	s.waiting--
	if s.waiting == 0 {
		close(s.all)
	}
	all := s.all
	s.mu.Unlock()
	select {
	case <-all:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return v, err
}

// TestConsolePublishRace: two publishers publish one form at once and
// are handed the same version; one release is stored, the other publish
// is refused (422), and the audit log says exactly that — one
// publish.release ok for the stored release, one failed for the refusal.
func TestConsolePublishRace(t *testing.T) {
	signer, _ := testReleaseSigner(t)
	race := &versionRace{Store: storetest.OpenSQLite(t)}
	e := newStaffEnv(t, race, Options{ReleaseSigner: signer})
	seedAnalysis(t, e)
	ctx := t.Context()
	if _, err := clean.Run(ctx, e.sealing.Joined(), "analysis"); err != nil {
		t.Fatal(err)
	}
	path := e.ts.URL + "/console/open/forms/analysis/publish?lang=en"
	var bodies []string
	var clients []*http.Client
	for range 2 {
		c := e.session(t, "publisher")
		v := url.Values{"question": {"gender", "satisfied"}, "min_count": {"20"}, "csrf": {e.csrf(t, c)[1]}}
		clients, bodies = append(clients, c), append(bodies, v.Encode())
	}
	race.mu.Lock()
	race.waiting, race.all = 2, make(chan struct{})
	race.mu.Unlock()

	statuses := make([]int, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			resp, err := clients[i].Post(path, "application/x-www-form-urlencoded", strings.NewReader(bodies[i]))
			if err != nil {
				errs[i] = err
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(statuses)
	if statuses[0] != http.StatusOK || statuses[1] != http.StatusUnprocessableEntity {
		t.Errorf("statuses %v, want one 200 and one 422", statuses)
	}
	rels, err := e.raw.Releases(ctx, "analysis")
	if err != nil || len(rels) != 1 || rels[0].ID != "analysis-r1" {
		t.Fatalf("releases %v %v, want analysis-r1 alone", rels, err)
	}
	entries, _, err := security.ReadAudit(ctx, e.raw)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, en := range entries {
		if en.Action == security.ActionPublish {
			got = append(got, en.Object+" "+en.Outcome)
		}
	}
	slices.Sort(got)
	want := []string{"release:analysis-r1 " + security.OutcomeFailed, "release:analysis-r1 " + security.OutcomeOK}
	if !slices.Equal(got, want) {
		t.Errorf("publish audit entries %q, want %q", got, want)
	}
}

var secretRE = regexp.MustCompile(`id="secret">([^<]+)<`)

// TestConsoleOpenKeys: a key made in the console is shown once, works
// on the open API within its quota, counts today's use and stops working
// when revoked; every write needs the CSRF token.
func TestConsoleOpenKeys(t *testing.T) {
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{})
	openRelease(t, e)
	publisher, analyst := e.session(t, "publisher"), e.session(t, "analyst")
	anon := &http.Client{}
	keys := e.ts.URL + "/console/open/keys"
	fields := url.Values{"name": {"市统计局"}, "per_day": {"5"}, "per_minute": {"0"}, "hours_from": {"0"}, "hours_to": {"24"}}

	if r := do(t, publisher, "POST", keys, "application/x-www-form-urlencoded", fields.Encode()); r.status != http.StatusForbidden {
		t.Errorf("without CSRF token: %d", r.status)
	}
	if r := e.postForm(t, analyst, "/console/open/keys", url.Values{"name": {"x"}}); r.status != http.StatusForbidden {
		t.Errorf("analyst: %d", r.status)
	}
	badHours := url.Values{"name": {"x"}, "hours_from": {"10"}, "hours_to": {"5"}}
	if r := e.postForm(t, publisher, "/console/open/keys", badHours); r.status != http.StatusUnprocessableEntity {
		t.Errorf("hours 10 to 5: %d", r.status)
	}
	if ks, _ := e.raw.OpenKeys(t.Context()); len(ks) != 0 {
		t.Fatalf("keys after refusals: %v", ks)
	}

	r := e.postForm(t, publisher, "/console/open/keys?lang=en", fields)
	m := secretRE.FindStringSubmatch(r.body)
	if r.status != 200 || m == nil {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	secret := m[1]
	hash := publish.HashOpenKey(secret)
	page := do(t, publisher, "GET", keys+"?lang=en", "", "")
	if page.status != 200 || strings.Contains(page.body, secret) || !strings.Contains(page.body, "市统计局") {
		t.Errorf("the list shows the secret again or not the key: %d", page.status)
	}
	// The key works, twice, and today's use says so.
	for range 2 {
		if r := do(t, anon, "GET", e.ts.URL+"/open/v1/releases", "", "", "Authorization", "Bearer "+secret); r.status != 200 || !strings.Contains(r.body, "town-r1") {
			t.Fatalf("open API with the key: %d %s", r.status, r.body)
		}
	}
	page = do(t, publisher, "GET", keys+"?lang=en", "", "")
	if !strings.Contains(page.body, `<td class="today">2</td>`) {
		t.Errorf("today's use is not 2:\n%s", page.body)
	}
	// Revoked: refused on the API, shown revoked, audited.
	if r := do(t, publisher, "POST", keys+"/"+hash+"/revoke", "application/x-www-form-urlencoded", ""); r.status != http.StatusForbidden {
		t.Errorf("revoke without CSRF token: %d", r.status)
	}
	if r := e.postForm(t, publisher, "/console/open/keys/"+hash+"/revoke?lang=en", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := do(t, anon, "GET", e.ts.URL+"/open/v1/releases", "", "", "X-API-Key", secret); r.status != http.StatusUnauthorized {
		t.Errorf("revoked key: %d", r.status)
	}
	entries, _, err := security.ReadAudit(t.Context(), e.raw)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, en := range entries {
		if strings.HasPrefix(en.Action, "open.key") {
			got = append(got, en.Actor+" "+en.Action+" "+en.Object)
		}
	}
	want := []string{"publisher open.key_create openkey:" + hash[:12], "publisher open.key_revoke openkey:" + hash[:12]}
	if !slices.Equal(got, want) {
		t.Errorf("audit %v, want %v", got, want)
	}
}
