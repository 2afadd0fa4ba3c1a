package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// bodyWith is body(id) with the invitation token and province given.
func bodyWith(id, token, province string) string {
	b := body(id)
	if province != "p1" {
		b = strings.Replace(b, `"province":"p1","city":"c1"`, `"province":"`+province+`","city":"c3"`, 1)
	}
	if token != "" {
		b = strings.Replace(b, `{"instance_id"`, `{"token":"`+token+`","instance_id"`, 1)
	}
	return b
}

func errorMessage(t *testing.T, r reply) string {
	t.Helper()
	e, _ := r.json(t)["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

func TestSubmitInvitationAPI(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := b.Open(t)
			ts := testServer(t, st, Options{}, "invitation=required")
			tokens, err := collect.CreateInvitations(t.Context(), st, "webform", 2)
			if err != nil {
				t.Fatal(err)
			}
			c := ts.Client()
			sub := ts.URL + "/api/v1/forms/webform/submissions"
			first := do(t, c, "POST", sub, "application/json", bodyWith("v1", tokens[0], "p1"))
			if first.status != http.StatusCreated {
				t.Fatalf("first: %d %s", first.status, first.body)
			}
			receipt := first.json(t)["receipt"]
			steps := []struct {
				name, query, body string
				status            int
				code              string
				zh, en            bool // message in Chinese, in English
			}{
				{"retry", "", bodyWith("v1", tokens[0], "p1"), 200, "", false, false},
				{"second instance", "", bodyWith("v2", tokens[0], "p1"), 403, "invitation_used", true, true},
				{"no token", "", bodyWith("v2", "", "p1"), 403, "invitation_required", true, true},
				{"unknown token", "", bodyWith("v2", "abcdefghijklmnopqrstuvwxyz", "p1"), 403, "invitation_invalid", true, true},
				{"used, in English", "?lang=en", bodyWith("v3", tokens[0], "p1"), 403, "invitation_used", false, true},
				{"used, in Chinese", "?lang=zh", bodyWith("v3", tokens[0], "p1"), 403, "invitation_used", true, false},
				{"second token", "", bodyWith("v2", tokens[1], "p1"), 201, "", false, false},
			}
			for _, s := range steps {
				r := do(t, c, "POST", sub+s.query, "application/json", s.body)
				if r.status != s.status {
					t.Errorf("%s: %d %s, want %d", s.name, r.status, r.body, s.status)
					continue
				}
				if s.status == 200 && r.json(t)["receipt"] != receipt {
					t.Errorf("%s: %s, want receipt %v", s.name, r.body, receipt)
				}
				if s.code == "" {
					continue
				}
				if code, _ := r.errorOf(t); code != s.code {
					t.Errorf("%s: code %s, want %s", s.name, code, s.code)
				}
				m := errorMessage(t, r)
				if strings.Contains(m, "邀请") != s.zh || strings.Contains(m, "invitation") != s.en {
					t.Errorf("%s: message %q, want Chinese %v, English %v", s.name, m, s.zh, s.en)
				}
			}
			if n, _ := st.CountResponses(t.Context(), "webform"); n != 2 {
				t.Errorf("%d responses stored, want 2", n)
			}

			// The page: without a token it says how to get in; with one it
			// carries it in the form for the submission.
			page := do(t, c, "GET", ts.URL+"/f/webform?lang=en", "", "")
			if page.status != 200 || !strings.Contains(page.body, "by invitation only") || strings.Contains(page.body, "data-spec") {
				t.Errorf("page without a token: %d %.300s", page.status, page.body)
			}
			page = do(t, c, "GET", ts.URL+"/f/webform?t="+tokens[1], "", "")
			if page.status != 200 || !strings.Contains(page.body, `id="invitation-token" value="`+tokens[1]+`"`) || !strings.Contains(page.body, "data-spec") {
				t.Errorf("page with a token: %d %.300s", page.status, page.body)
			}
		})
	}
}

func TestSubmitQuotaAPI(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := b.Open(t)
			ts := testServer(t, st, Options{}, "quotas=province=p1:1")
			c := ts.Client()
			sub := ts.URL + "/api/v1/forms/webform/submissions"
			first := do(t, c, "POST", sub, "application/json", bodyWith("q1", "", "p1"))
			if first.status != http.StatusCreated {
				t.Fatalf("first: %d %s", first.status, first.body)
			}
			if r := do(t, c, "POST", sub, "application/json", bodyWith("q1", "", "p1")); r.status != 200 || r.json(t)["receipt"] != first.json(t)["receipt"] {
				t.Errorf("retry: %d %s", r.status, r.body)
			}
			full := do(t, c, "POST", sub, "application/json", bodyWith("q2", "", "p1"))
			if full.status != http.StatusConflict {
				t.Fatalf("full quota: %d %s, want 409", full.status, full.body)
			}
			if code, field := full.errorOf(t); code != "quota_full" || field != "province" {
				t.Errorf("full quota: code %s field %s", code, field)
			}
			if m := errorMessage(t, full); !strings.Contains(m, "名额已满") || !strings.Contains(m, "quota is full") || !strings.Contains(m, "Province") {
				t.Errorf("full quota message %q", m)
			}
			if r := do(t, c, "POST", sub, "application/json", bodyWith("q3", "", "p2")); r.status != 201 {
				t.Errorf("another choice: %d %s", r.status, r.body)
			}
			// Withdrawing q1 frees its slot.
			receipt, _ := first.json(t)["receipt"].(string)
			if r := do(t, c, "DELETE", ts.URL+"/api/v1/receipts/"+receipt, "", ""); r.status != 200 {
				t.Fatalf("withdraw: %d %s", r.status, r.body)
			}
			if r := do(t, c, "POST", sub+"?lang=en", "application/json", bodyWith("q2", "", "p1")); r.status != 201 {
				t.Errorf("after the withdrawal: %d %s", r.status, r.body)
			}
			if r := do(t, c, "POST", sub+"?lang=en", "application/json", bodyWith("q4", "", "p1")); r.status != 409 ||
				strings.Contains(errorMessage(t, r), "名额") {
				t.Errorf("full again, in English: %d %s", r.status, r.body)
			}
		})
	}
}
