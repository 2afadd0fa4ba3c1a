package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// rawSubmission is a body as a client sends it: spacing and key order
// that no re-encoding would give back, and personal answers.
func rawSubmission(id string) string {
	return "{ \"answers\": {\"fullname\": \"" + secretValues[0] + "\", \"income\": \"" + secretValues[3] + "\",\n" +
		"  \"gender\": \"f\", \"channels\": [\"web1\"], \"comment\": \"电话 " + secretValues[1] + "\", \"age\": \"33\"},\n" +
		"  \"instance_id\": \"uuid:" + id + "\" }"
}

// serveAndSubmit runs 'govsurvey serve' with extra flags, posts each body
// to the privacy form's submission API and returns the receipts, then
// stops the server.
func serveAndSubmit(t *testing.T, dsn string, extra []string, bodies ...string) []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		args := append([]string{"serve", "--db", dsn, "--addr", "127.0.0.1:0"}, extra...)
		done <- run(ctx, args, strings.NewReader(""), &out, &errb)
	}()
	urlRe := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)`)
	var base string
	for deadline := time.Now().Add(60 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := urlRe.FindStringSubmatch(errb.String()); m != nil {
			base = m[1]
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d early: %s", code, errb.String())
		default:
		}
	}
	if base == "" {
		t.Fatalf("serve is not listening: %s", errb.String())
	}
	var receipts []string
	for _, body := range bodies {
		resp, err := http.Post(base+"/api/v1/forms/privacy/submissions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var rc struct{ Receipt string }
		if resp.StatusCode != http.StatusCreated || json.Unmarshal(b, &rc) != nil {
			t.Fatalf("submission: %d %s", resp.StatusCode, b)
		}
		receipts = append(receipts, rc.Receipt)
	}
	if len(receipts) > 0 {
		// Withdraw the last one, through the respondent's API.
		req, _ := http.NewRequest(http.MethodDelete, base+"/api/v1/receipts/"+receipts[len(receipts)-1], nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("withdrawal: %d", resp.StatusCode)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve: exit %d: %s", code, errb.String())
	}
	return receipts
}

// TestKeepRaw serves the privacy form with and without --keep-raw, posts
// bodies to it, and reads them back with 'govsurvey raw': byte for byte
// when kept (sealed at rest, the read audited), nothing by default, and
// nothing once withdrawn.
func TestKeepRaw(t *testing.T) {
	tests := []struct {
		name  string
		flags []string
		kept  bool
	}{
		{"default", nil, false},
		{"keep-raw", []string{"--keep-raw"}, true},
	}
	for _, db := range cliDBs(t) {
		for _, tt := range tests {
			t.Run(db.name+"/"+tt.name, func(t *testing.T) {
				dsn, _ := db.open(t)
				if db.name == "sqlite" {
					mustRun(t, "", "keys", "init", "--db", dsn)
				}
				mustRun(t, "", "form", "add", "--db", dsn, "testdata/privacy.md")
				serveAndSubmit(t, dsn, tt.flags, rawSubmission("raw-1"), rawSubmission("raw-gone"))
				checkAtRest(t, db.name, dsn)

				for _, id := range []string{"raw-1", "uuid:raw-1"} {
					code, out, errs := runCLIIn(t, "", "raw", "--db", dsn, "--form", "privacy", "--instance", id, "--purpose", "申诉核查")
					switch {
					case tt.kept && (code != 0 || out != rawSubmission("raw-1")):
						t.Errorf("raw %s: exit %d, stdout %q, want the body as sent %q; stderr %s", id, code, out, rawSubmission("raw-1"), errs)
					case !tt.kept && (code != 1 || out != "" || !strings.Contains(errs, "no archived body") || !strings.Contains(errs, "--keep-raw")):
						t.Errorf("raw %s without --keep-raw: exit %d, stdout %q, stderr %q", id, code, out, errs)
					}
				}
				if code, out, errs := runCLIIn(t, "", "raw", "--db", dsn, "--form", "privacy", "--instance", "raw-gone"); code != 1 || out != "" || !strings.Contains(errs, "withdrawn") {
					t.Errorf("raw of a withdrawn response: exit %d, stdout %q, stderr %q", code, out, errs)
				}
				if code, _, errs := runCLIIn(t, "", "raw", "--db", dsn, "--form", "privacy", "--instance", "nobody"); code != 1 || !strings.Contains(errs, "not found") {
					t.Errorf("raw of an unknown response: exit %d, %q", code, errs)
				}
				if code, _, _ := runCLIIn(t, "", "raw", "--db", dsn, "--form", "privacy"); code != 2 {
					t.Errorf("raw without --instance: exit %d, want 2", code)
				}

				audit := mustRun(t, "", "audit", "export", "--db", dsn, "--out", "-")
				want := `"action":"responses.read_raw","object":"form:privacy/raw-1","outcome":"failed"`
				if tt.kept {
					want = `"action":"responses.read_raw","object":"form:privacy/raw-1","outcome":"ok","detail":"purpose=申诉核查 bytes=`
				}
				if !strings.Contains(audit, want) {
					t.Errorf("audit log lacks %s:\n%s", want, audit)
				}
				for _, s := range secretValues {
					if strings.Contains(audit, s) {
						t.Errorf("the audit log holds %q", s)
					}
				}
			})
		}
	}
}
