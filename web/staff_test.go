package web

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/csv"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// staffEnv is a server with the whole security set-up: keys, a sealing
// store, accounts and the audit log, over a real store.
type staffEnv struct {
	ts       *httptest.Server
	srv      *Server
	raw      store.Store
	sealing  *security.SealingStore
	accounts *security.Accounts
	log      *security.AuditLog
}

const staffPassword = "Correct-Horse-7"

func newStaffEnv(t *testing.T, raw store.Store, opts Options) *staffEnv {
	t.Helper()
	ctx := t.Context()
	master, err := security.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := security.OpenKeys(ctx, raw, master, security.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sealing := security.NewSealingStore(raw, keys.Sealer())
	log := security.NewAuditLog(raw, keys.Audit, security.AuditOptions{CheckpointEvery: 1000})
	hasher, err := security.NewPasswordHasher(security.PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2)
	if err != nil {
		t.Fatal(err)
	}
	accounts, err := security.NewAccounts(sealing, security.AccountOptions{Audit: log, Hasher: hasher})
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range security.Roles() {
		if err := accounts.AddUser(ctx, "test", strings.ReplaceAll(string(role), "_", "-"), []security.Role{role}, staffPassword); err != nil {
			t.Fatal(err)
		}
	}
	if err := accounts.AddUser(ctx, "test", "nobody", nil, staffPassword); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"privacy.md"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := collect.AddForm(ctx, sealing, name, b); err != nil {
			t.Fatal(err)
		}
	}
	opts.Store, opts.Sealing, opts.Accounts, opts.Audit = sealing, sealing, accounts, log
	opts.AuditVerifier = keys.Audit.Verifier()
	opts.PseudonymKey = &keys.Pseudonym
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	return &staffEnv{ts: ts, srv: srv, raw: raw, sealing: sealing, accounts: accounts, log: log}
}

// session logs user in and returns a client holding the session cookie.
func (e *staffEnv) session(t *testing.T, user string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := url.Values{"user": {user}, "password": {staffPassword}, "next": {"/console"}}
	r := do(t, c, "POST", e.ts.URL+"/login", "application/x-www-form-urlencoded", form.Encode())
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/console" {
		t.Fatalf("login as %s: %d %s", user, r.status, r.body)
	}
	return c
}

// requestFor makes a request matching a route pattern: its method, and
// its path with each {wildcard} filled in.
func requestFor(t *testing.T, base, pattern string) (method, u string) {
	t.Helper()
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "GET", pattern
	}
	path = strings.TrimSuffix(path, "{$}")
	for {
		i := strings.Index(path, "{")
		if i < 0 {
			break
		}
		j := strings.Index(path[i:], "}")
		path = path[:i] + "privacy" + path[i+j+1:]
	}
	return method, base + path
}

// publicRoutes are the routes anyone may call. A route missing from here
// and not declared staff fails the test: making a route public is a
// decision, taken here.
var publicRoutes = []string{
	"GET /healthz", "GET /readyz", "GET /metrics", "GET /{$}", "GET /f/{form_id}", "GET /withdraw", "POST /withdraw",
	"GET /assets/{name}", "POST /api/v1/forms/{form_id}/submissions", "DELETE /api/v1/receipts/{receipt}",
	"/api/v1/forms/{form_id}/submissions", "/api/v1/receipts/{receipt}", "/",
	"GET /login", "POST /login",
	// The start beacon of form.js (console_starts.go): a count, nothing else.
	"POST /api/v1/forms/{form_id}/starts",
	// Open data (open.go): pages and downloads anonymous, the API behind its own key gate.
	"GET /open", "GET /open/echarts.js", "GET /open/echarts-licence.txt", "GET /open/{release}", "GET /open/{release}/files/{path...}",
	"GET /open/v1/releases", "GET /open/v1/releases/{release}", "GET /open/v1/releases/{release}/tables/{name}",
}

// TestRouteTable walks every registered route: each is public by
// decision, or staff, and no staff route answers an anonymous caller
// (401), a caller without its permission (403), by session or by token,
// or a disabled or logged-out user.
func TestRouteTable(t *testing.T) {
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{})
	anon := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	sessions := map[string]*http.Client{}
	for _, role := range security.Roles() {
		name := strings.ReplaceAll(string(role), "_", "-")
		sessions[name] = e.session(t, name)
	}
	noRoles := e.session(t, "nobody")
	staffRoutes := 0
	for _, rt := range e.srv.table {
		if !rt.staff {
			if !slices.Contains(publicRoutes, rt.pattern) {
				t.Errorf("route %q is public but not in the test's list of public routes", rt.pattern)
			}
			continue
		}
		staffRoutes++
		method, u := requestFor(t, e.ts.URL, rt.pattern)
		t.Run(rt.pattern, func(t *testing.T) {
			// Anonymous, with no credentials, a forged cookie and a forged
			// token: 401 JSON.
			for _, hdr := range [][]string{nil, {"Cookie", "govsurvey_session=forged"}, {"Authorization", "Bearer gst_" + strings.Repeat("a", 52)}} {
				r := do(t, anon, method, u, "", "", hdr...)
				if r.status != http.StatusUnauthorized || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
					t.Errorf("anonymous %v: %d %q", hdr, r.status, r.body)
				} else if code, _ := r.errorOf(t); code != "unauthenticated" {
					t.Errorf("anonymous: code %q", code)
				}
			}
			// A browser loading the page is sent to the login page, not
			// shown it.
			if method == "GET" {
				r := do(t, anon, method, u, "", "", "Accept", "text/html")
				if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
					t.Errorf("anonymous browser: %d %q", r.status, r.header.Get("Location"))
				}
			}
			if rt.perm == "" {
				// A fresh session: this route may be logout.
				nobody := e.session(t, "nobody")
				r := do(t, nobody, method, u, "", "", e.csrf(t, nobody)...)
				if r.status == http.StatusUnauthorized || r.status == http.StatusForbidden {
					t.Errorf("a logged-in user without roles: %d", r.status)
				}
				return
			}
			// Every role without the permission: 403 JSON.
			for name, c := range sessions {
				if security.Can(security.Role(strings.ReplaceAll(name, "-", "_")), rt.perm) {
					continue
				}
				r := do(t, c, method, u, "", "")
				if r.status != http.StatusForbidden {
					t.Errorf("role %s without %s: %d %q", name, rt.perm, r.status, r.body)
				} else if code, _ := r.errorOf(t); code != "forbidden" {
					t.Errorf("role %s: code %q", name, code)
				}
			}
			if r := do(t, noRoles, method, u, "", ""); r.status != http.StatusForbidden {
				t.Errorf("user without roles: %d", r.status)
			}
		})
	}
	if staffRoutes < 5 {
		t.Fatalf("only %d staff routes in the table", staffRoutes)
	}

	// A token answers to its scope, not to its owner's whole role.
	ctx := t.Context()
	tok, _, err := e.accounts.NewToken(ctx, "test", "data-officer", "t", []security.Permission{security.PermFormsRead}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	bearer := []string{"Authorization", "Bearer " + tok}
	if r := do(t, anon, "GET", e.ts.URL+"/api/v1/forms", "", "", bearer...); r.status != http.StatusOK {
		t.Errorf("token in scope: %d %s", r.status, r.body)
	}
	if r := do(t, anon, "GET", e.ts.URL+"/api/v1/forms/privacy/responses", "", "", bearer...); r.status != http.StatusForbidden {
		t.Errorf("token out of scope: %d %s", r.status, r.body)
	}

	// Logged out or disabled: anonymous again.
	c := sessions["analyst"]
	if r := do(t, c, "GET", e.ts.URL+"/api/v1/forms", "", ""); r.status != http.StatusOK {
		t.Fatalf("analyst: %d", r.status)
	}
	if err := e.accounts.SetDisabled(ctx, "test", "analyst", true); err != nil {
		t.Fatal(err)
	}
	if r := do(t, c, "GET", e.ts.URL+"/api/v1/forms", "", ""); r.status != http.StatusUnauthorized {
		t.Errorf("disabled analyst: %d", r.status)
	}
	c = sessions["auditor"]
	if r := do(t, c, "POST", e.ts.URL+"/logout", "", "", e.csrf(t, c)...); r.status != http.StatusSeeOther {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	if r := do(t, c, "GET", e.ts.URL+"/api/v1/audit/verify", "", ""); r.status != http.StatusUnauthorized {
		t.Errorf("after logout: %d", r.status)
	}
}

func TestLogin(t *testing.T) {
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{})
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page := do(t, c, "GET", e.ts.URL+"/login?lang=en", "", "")
	if page.status != http.StatusOK || !strings.Contains(page.body, "Staff login") {
		t.Fatalf("login page: %d", page.status)
	}
	zh := do(t, c, "GET", e.ts.URL+"/login", "", "")
	if !strings.Contains(zh.body, "工作人员登录") {
		t.Error("login page is not in Chinese by default")
	}
	form := url.Values{"user": {"analyst"}, "password": {"wrong-password-1"}}
	r := do(t, c, "POST", e.ts.URL+"/login", "application/x-www-form-urlencoded", form.Encode())
	if r.status != http.StatusUnauthorized || r.header.Get("Set-Cookie") != "" {
		t.Errorf("wrong password: %d, cookie %q", r.status, r.header.Get("Set-Cookie"))
	}
	form.Set("password", staffPassword)
	form.Set("next", "https://evil.example/")
	r = do(t, c, "POST", e.ts.URL+"/login", "application/x-www-form-urlencoded", form.Encode())
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/console" {
		t.Errorf("login with a foreign next: %d → %q", r.status, r.header.Get("Location"))
	}
	ck := r.header.Get("Set-Cookie")
	for _, want := range []string{"govsurvey_session=", "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(ck, want) {
			t.Errorf("session cookie %q lacks %s", ck, want)
		}
	}
	// A login posted from another site is refused (CSRF).
	r = do(t, c, "POST", e.ts.URL+"/login", "application/x-www-form-urlencoded", form.Encode(),
		"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if r.status != http.StatusForbidden {
		t.Errorf("cross-site login: %d", r.status)
	}
	// Throttling: after three failures, even the right password waits.
	form.Set("password", "wrong-password-1")
	for range 4 {
		do(t, c, "POST", e.ts.URL+"/login", "application/x-www-form-urlencoded", form.Encode())
	}
	form.Set("password", staffPassword)
	r = do(t, c, "POST", e.ts.URL+"/login", "application/x-www-form-urlencoded", form.Encode())
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Errorf("throttled login: %d", r.status)
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{})
	for _, path := range []string{"/", "/login", "/api/v1/forms", "/healthz", "/nowhere"} {
		r := do(t, http.DefaultClient, "GET", e.ts.URL+path, "", "")
		h := r.header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "script-src 'self'") && !strings.HasPrefix(path, "/api/") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		// A JSON API's answer may load and run nothing at all.
		if strings.HasPrefix(path, "/api/") && csp != "default-src 'none'; frame-ancestors 'none'" {
			t.Errorf("%s: CSP %q, want the API's", path, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", path, h)
		}
		// Referrer-Policy and COOP only mean something on a document.
		page := !strings.HasPrefix(path, "/api/")
		if (h.Get("Referrer-Policy") == "same-origin") != page || (h.Get("Cross-Origin-Opener-Policy") == "same-origin") != page {
			t.Errorf("%s: Referrer-Policy %q, Cross-Origin-Opener-Policy %q", path, h.Get("Referrer-Policy"), h.Get("Cross-Origin-Opener-Policy"))
		}
	}
	// Internal errors say nothing of the inside.
	if r := do(t, http.DefaultClient, "GET", e.ts.URL+"/nowhere", "", ""); r.status != http.StatusNotFound {
		t.Errorf("/nowhere: %d", r.status)
	}
}

// TestExportResponses: de-identified by default; personal fields only
// for a data officer with a purpose; both audited; a volume alert.
func TestExportResponses(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newStaffEnv(t, b.Open(t), Options{ExportAlertRows: 2})
			ctx := t.Context()
			sub := e.ts.URL + "/api/v1/forms/privacy/submissions"
			for i, id := range []string{"e1", "e2"} {
				body := `{"instance_id":"` + id + `","answers":{"fullname":"王小明","gender":"f","comment":"电话 1391234567` + string(rune('0'+i)) + `","age":"33"}}`
				if r := do(t, http.DefaultClient, "POST", sub, "application/json", body); r.status != http.StatusCreated {
					t.Fatalf("submit: %d %s", r.status, r.body)
				}
			}
			raw, err := e.raw.Response(ctx, "privacy", "e1")
			if err != nil {
				t.Fatal(err)
			}
			if raw.Sealed == nil || bytes.Contains(raw.Answers, []byte("王小明")) || bytes.Contains(raw.Answers, []byte("13912345670")) {
				t.Fatalf("a web submission was stored with personal answers in the clear")
			}

			analyst := e.session(t, "analyst")
			r := do(t, analyst, "GET", e.ts.URL+"/api/v1/forms/privacy/responses", "", "")
			if r.status != http.StatusOK {
				t.Fatalf("analyst export: %d %s", r.status, r.body)
			}
			rows := readCSV(t, r.body)
			if slices.Contains(rows[0], "fullname") || slices.Contains(rows[0], "client") || !slices.Contains(rows[0], "comment") {
				t.Errorf("de-identified header %v", rows[0])
			}
			if strings.Contains(r.body, "王小明") || strings.Contains(r.body, "1391234567") || len(rows) != 3 {
				t.Errorf("de-identified export:\n%s", r.body)
			}
			if r := do(t, analyst, "GET", e.ts.URL+"/api/v1/forms/privacy/responses?personal=1&purpose=x", "", ""); r.status != http.StatusForbidden {
				t.Errorf("analyst personal export: %d", r.status)
			}

			officer := e.session(t, "data-officer")
			// The console and the API show each question's classification.
			page := do(t, officer, "GET", e.ts.URL+"/console/forms/privacy?lang=en", "", "")
			if page.status != http.StatusOK || !strings.Contains(page.body, `class-personal">personal`) || !strings.Contains(page.body, "Export with personal fields") {
				t.Errorf("console form page: %d\n%s", page.status, page.body)
			}
			if page := do(t, analyst, "GET", e.ts.URL+"/console/forms/privacy?lang=en", "", ""); strings.Contains(page.body, "Export with personal fields") {
				t.Error("the analyst's console offers a personal export")
			}
			def := do(t, analyst, "GET", e.ts.URL+"/api/v1/forms/privacy", "", "")
			if def.status != http.StatusOK || !strings.Contains(def.body, `{"name":"fullname","type":"text","classification":"personal","sealed":true}`) {
				t.Errorf("form definition: %d %.400s", def.status, def.body)
			}
			if r := do(t, officer, "GET", e.ts.URL+"/api/v1/forms/privacy/responses?personal=1", "", ""); r.status != http.StatusBadRequest {
				t.Errorf("personal export without a purpose: %d", r.status)
			}
			r = do(t, officer, "GET", e.ts.URL+"/api/v1/forms/privacy/responses?personal=1&purpose="+url.QueryEscape("抽奖联系"), "", "")
			if r.status != http.StatusOK {
				t.Fatalf("personal export: %d %s", r.status, r.body)
			}
			rows = readCSV(t, r.body)
			if !slices.Contains(rows[0], "fullname") || !slices.Contains(rows[0], "client") || !strings.Contains(r.body, "王小明") || !strings.Contains(r.body, "13912345671") {
				t.Errorf("personal export:\n%s", r.body)
			}

			entries, _, err := security.ReadAudit(ctx, e.raw)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, en := range entries {
				lines = append(lines, en.Actor+" "+en.Action+" "+en.Outcome+" "+en.Detail)
			}
			log := strings.Join(lines, "\n")
			for _, want := range []string{
				"analyst responses.export ok format=csv rows=2 finished",
				"analyst responses.export_personal denied",
				"data-officer responses.export_personal ok format=csv purpose=抽奖联系 started",
				"data-officer responses.export_personal ok format=csv purpose=抽奖联系 rows=2 finished",
				"system responses.export_alert ok rows_today=2 threshold=2",
			} {
				if !strings.Contains(log, want) {
					t.Errorf("audit log lacks %q:\n%s", want, log)
				}
			}
			if strings.Contains(log, "王小明") {
				t.Error("an answer reached the audit log")
			}
			// The alert shows on an auditor's console.
			page = do(t, e.session(t, "auditor"), "GET", e.ts.URL+"/console?lang=en", "", "")
			if !strings.Contains(page.body, "data-officer") {
				t.Errorf("auditor console lacks the alert:\n%s", page.body)
			}

			// Withdrawal erases the sealed part, and is audited.
			if r := do(t, http.DefaultClient, "DELETE", e.ts.URL+"/api/v1/receipts/"+raw.Receipt, "", ""); r.status != http.StatusOK {
				t.Fatalf("withdraw: %d %s", r.status, r.body)
			}
			if got, _ := e.raw.Response(ctx, "privacy", "e1"); got.Sealed != nil || len(got.Answers) != 0 {
				t.Error("withdrawal left the sealed part")
			}
			entries, _, _ = security.ReadAudit(ctx, e.raw)
			if last := entries[len(entries)-1]; last.Action != security.ActionWithdraw || last.Object != "form:privacy/e1" {
				t.Errorf("last audit entry %+v, want the withdrawal", last)
			}
		})
	}
}

func readCSV(t *testing.T, body string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatalf("CSV %q: %v", body, err)
	}
	return rows
}

// TestTLS serves over HTTPS with a certificate from files: HSTS is sent
// and the session cookie is Secure and __Host- prefixed.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeSelfSigned(t, certFile, keyFile)
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{TLS: true})
	ctx, cancel := context.WithCancel(t.Context())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- RunTLS(ctx, "127.0.0.1:0", TLSFiles{Cert: certFile, Key: keyFile}, e.srv, slog.New(slog.DiscardHandler), func(u string) { urls <- u })
	}()
	var base string
	select {
	case base = <-urls:
	case err := <-done:
		t.Fatal(err)
	}
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("base URL %s", base)
	}
	c := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // the test's own certificate
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	r := do(t, c, "GET", base+"/healthz", "", "")
	if r.status != http.StatusOK || !strings.Contains(r.header.Get("Strict-Transport-Security"), "max-age=") {
		t.Errorf("HTTPS /healthz: %d, HSTS %q", r.status, r.header.Get("Strict-Transport-Security"))
	}
	form := url.Values{"user": {"analyst"}, "password": {staffPassword}}
	r = do(t, c, "POST", base+"/login", "application/x-www-form-urlencoded", form.Encode())
	ck := r.header.Get("Set-Cookie")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(ck, "__Host-govsurvey_session=") || !strings.Contains(ck, "Secure") {
		t.Errorf("login over TLS: %d, cookie %q", r.status, ck)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("RunTLS: %v", err)
	}
	if err := RunTLS(t.Context(), "127.0.0.1:0", TLSFiles{Cert: certFile, Key: filepath.Join(dir, "none.pem")}, e.srv, slog.New(slog.DiscardHandler), nil); err == nil {
		t.Error("RunTLS with a missing key file started")
	}
}

func writeSelfSigned(t *testing.T, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
}
