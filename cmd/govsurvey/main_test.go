package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

const instruments = "../../../shared/instruments"

// runCLI runs the command in-process and returns exit code, stdout, stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "Commands:"},
		{[]string{"help"}, 0, "Commands:"},
		{[]string{"nonsense"}, 2, "unknown command"},
		{[]string{"form"}, 2, "subcommand"},
		{[]string{"form", "check"}, 2, "needs one or more"},
		{[]string{"form", "check", "--no-such-flag", "x.md"}, 2, "no-such-flag"},
		{[]string{"clean"}, 2, "usage: govsurvey clean"},
		{[]string{"report", "--form", "x"}, 2, "usage: govsurvey report"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, "_"), func(t *testing.T) {
			code, out, errs := runCLI(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, errs)
			}
			if !strings.Contains(out+errs, tt.want) {
				t.Errorf("output %q lacks %q", out+errs, tt.want)
			}
		})
	}
}

func TestFormCheckInstruments(t *testing.T) {
	for _, name := range []string{"netizen_2019.md", "practitioner_2019.md"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(instruments, name)
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("instrument missing (shared/ must sit beside the repo): %v", err)
			}
			code, out, errs := runCLI(t, "form", "check", path)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if !strings.Contains(out, "ok") {
				t.Errorf("stdout %q", out)
			}
		})
	}
}

// The acceptance case: an unknown choice list, a duplicate name and
// an unmatched end_group are all named, by sheet!row, in one run.
func TestFormCheckNamesEveryProblem(t *testing.T) {
	code, _, errs := runCLI(t, "form", "check", "testdata/bad_form.md")
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr %q", code, errs)
	}
	for _, want := range []string{
		"testdata/bad_form.md: survey!3: ",
		"testdata/bad_form.md: survey!5: ",
		"testdata/bad_form.md: survey!7: ",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	for _, re := range []string{`survey!3: .*edu`, `survey!5: .*q2`, `survey!7: .*end_group`} {
		if !regexp.MustCompile(re).MatchString(errs) {
			t.Errorf("stderr does not match %q:\n%s", re, errs)
		}
	}
}

func TestFormAddListExport(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "gs.db")
	xlsx := filepath.Join(dir, "netizen_2019.xlsx")

	code, out, errs := runCLI(t, "form", "export", "netizen_2019", "--db", db, "--out", xlsx)
	if code != 0 {
		t.Fatalf("export template: exit %d: %s", code, errs)
	}
	code, out, errs = runCLI(t, "form", "add", xlsx, "--db", db)
	if code != 0 || !strings.Contains(out, "revision 1") {
		t.Fatalf("add: exit %d, out %q, err %q", code, out, errs)
	}
	code, out, _ = runCLI(t, "form", "add", xlsx, "--db", db)
	if code != 0 || !strings.Contains(out, "unchanged") {
		t.Fatalf("re-add: exit %d, out %q", code, out)
	}
	// The practitioner form under the netizen id is a changed form: revision 2.
	changed, err := os.ReadFile(filepath.Join(instruments, "practitioner_2019.md"))
	if err != nil {
		t.Fatal(err)
	}
	md := filepath.Join(dir, "changed.md")
	os.WriteFile(md, bytes.Replace(changed, []byte("| practitioner_2019 |"), []byte("| netizen_2019      |"), 1), 0o644)
	code, out, errs = runCLI(t, "form", "add", md, "--db", db)
	if code != 0 || !strings.Contains(out, "revision 2") {
		t.Fatalf("changed add: exit %d, out %q, err %q", code, out, errs)
	}
	code, out, _ = runCLI(t, "form", "list", "--db", db)
	if code != 0 || !regexp.MustCompile(`netizen_2019\s+2\s`).MatchString(out) {
		t.Fatalf("list: exit %d, out %q", code, out)
	}
	// Revision 1 is still there, byte for byte.
	back := filepath.Join(dir, "back.xlsx")
	if code, _, errs = runCLI(t, "form", "export", "netizen_2019", "--revision", "1", "--db", db, "--out", back); code != 0 {
		t.Fatalf("export r1: %s", errs)
	}
	a, _ := os.ReadFile(xlsx)
	b, _ := os.ReadFile(back)
	if !bytes.Equal(a, b) {
		t.Errorf("revision 1 exported %d bytes, added %d bytes: not identical", len(b), len(a))
	}
}

// syncBuffer lets the test read what the server goroutine prints.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestDemoServesForms(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errs syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--addr", "127.0.0.1:0", "--data", dir, "--responses", "50"},
			strings.NewReader(""), &out, &errs)
	}()
	urlRe := regexp.MustCompile(`(http://127\.0\.0\.1:\d+)/f/netizen_2019`)
	var base string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := urlRe.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("demo exited %d early: %s", code, errs.String())
		default:
		}
	}
	if base == "" {
		t.Fatalf("demo printed no URL; stdout %q stderr %q", out.String(), errs.String())
	}
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/f/netizen_2019"); code != 200 || !strings.Contains(body, "您的性别") {
		t.Errorf("/f/netizen_2019: %d %.200q", code, body)
	}
	if code, body := get("/f/netizen_2019?lang=en"); code != 200 || !strings.Contains(body, "Gender") {
		t.Errorf("/f/netizen_2019?lang=en: %d %.200q", code, body)
	}
	if code, body := get("/f/practitioner_2019"); code != 200 || !strings.Contains(body, "您的从业岗位") {
		t.Errorf("/f/practitioner_2019: %d %.200q", code, body)
	}
	if code, body := get("/f/no_such_form"); code != 404 || !strings.Contains(body, `"error"`) {
		t.Errorf("/f/no_such_form: %d %q", code, body)
	}
	if code, body := get("/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, `govsurvey_http_requests_total{code="200",route="GET /f/{form_id}"}`) {
		t.Errorf("/metrics: %d, no request counter for the form page", code)
	}
	// The demo made its master key beside the database, and printed a
	// staff login that opens the console.
	if fi, err := os.Stat(filepath.Join(dir, "master.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("demo master key: %v", err)
	}
	login := regexp.MustCompile(`login: demo / (\S+) \(shown once\)`).FindStringSubmatch(out.String())
	if login == nil {
		t.Fatalf("demo printed no login: %q", out.String())
	}
	if strings.Contains(errs.String(), login[1]) {
		t.Error("the demo password reached the log")
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.PostForm(base+"/login", url.Values{"user": {"demo"}, "password": {login[1]}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "netizen_2019") || resp.Request.URL.Path != "/console" {
		t.Errorf("console after login: %d %s %.300q", resp.StatusCode, resp.Request.URL, page)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("demo exit %d after shutdown: %s", code, errs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not shut down")
	}
	// The sample responses are in the demo's store.
	code, listing, errOut := runCLI(t, "form", "list", "--db", "sqlite:"+filepath.Join(dir, "govsurvey.db"))
	if code != 0 || !regexp.MustCompile(`netizen_2019\s+1\s+2019\s+50\s`).MatchString(listing) {
		t.Errorf("form list after demo: exit %d %q %q", code, listing, errOut)
	}
}
