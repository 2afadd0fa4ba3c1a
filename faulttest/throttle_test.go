package faulttest

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/internal/proctest"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
)

// TestLoginThrottleTwoNodes guesses one account's password at two serve
// nodes on one database, alternately: the failures add up to one budget.
// With a throttle per node, each node would see half the failures and let
// twice the free failures through before the first refusal.
//
// The default policy lets 3 failures through freely and a 4th at once,
// then asks for 1 s, 2 s, 4 s, 8 s … from the last failure. The first
// refusal must come at the 5th attempt — later only if a password check
// took longer than the wait, which the doubling bounds: by the 8th attempt
// it would take 8 s. Two per-node throttles would refuse nothing before
// the 9th.
func TestLoginThrottleTwoNodes(t *testing.T) {
	dsn, _, a, b := twoNodes(t)
	nodes := []*proctest.Node{a, b}
	free := security.DefaultThrottlePolicy().FreeFailures + 1
	client := &http.Client{Timeout: 60 * time.Second}
	login := func(base string) answer {
		resp, err := client.PostForm(base+"/login", url.Values{"user": {"alice"}, "password": {"guess"}})
		if err != nil {
			return answer{err: err}
		}
		resp.Body.Close()
		return answer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
	}

	var statuses []int
	firstRefused := 0
	checked := 0 // attempts whose password was checked
	for i := 1; i <= 12 && firstRefused == 0; i++ {
		a := login(nodes[i%2].URL)
		statuses = append(statuses, a.status)
		switch {
		case a.status == http.StatusUnauthorized:
			checked++
		case a.status == http.StatusTooManyRequests:
			firstRefused = i
			if a.retryAfter == "" {
				t.Error("429 without Retry-After")
			}
		default:
			t.Fatalf("attempt %d: want 401 or 429, got %v", i, a)
		}
	}
	t.Logf("answers, alternating between the nodes: %v", statuses)
	switch {
	case firstRefused == 0:
		t.Fatalf("12 failed logins across two nodes, none refused")
	case firstRefused <= free:
		t.Errorf("refused at attempt %d: the budget is %d free attempts", firstRefused, free)
	case firstRefused > 8:
		t.Errorf("first refusal at attempt %d: the nodes do not share one budget", firstRefused)
	}

	// The database holds one counter for the account and client, with
	// every checked attempt, and names neither.
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cs, err := st.Counters(context.Background(), "login:", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Count != checked {
		t.Fatalf("login counters %+v, want one counting %d attempts", cs, checked)
	}
	if strings.Contains(cs[0].Name, "alice") || strings.Contains(cs[0].Name, "127.0.0.1") {
		t.Errorf("counter name %q names the account or the address", cs[0].Name)
	}
}
