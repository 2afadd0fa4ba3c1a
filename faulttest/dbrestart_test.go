package faulttest

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/internal/proctest"
	"github.com/govsurvey/govsurvey/store"
)

// TestDatabaseRestart stops the node's PostgreSQL under load and starts it
// again. While it is away, submissions get 503 with the "unavailable" code
// and a Retry-After header — never 500, never a dropped connection; once it
// is back the node stores submissions again without being restarted (the
// pool dials anew); and every submission acknowledged before, during or
// after is stored. /readyz follows the database (200, 503 while it is
// away, 200 again) while /healthz, liveness, stays 200 throughout.
func TestDatabaseRestart(t *testing.T) {
	processTest(t)
	c := newCluster(t)
	dsn := c.url()
	proctest.AddTemplate(t, dsn, "netizen_2019")
	n := startServe(t, dsn, proctest.MasterKey())

	l := startLoad(t, []string{n.URL}, 6, "restart", func(a answer) string {
		switch {
		case a.err != nil:
			return "no answer (the node must stay up): " + a.String()
		case a.status == http.StatusServiceUnavailable && a.errorCode() == "unavailable":
			if a.retryAfter == "" {
				return "503 without Retry-After"
			}
			return ""
		default:
			return "want 201, 200 or 503 unavailable; got " + a.String()
		}
	})
	defer l.stop()

	client := &http.Client{Timeout: 30 * time.Second}
	if a := get(client, n.URL+"/readyz"); a.status != http.StatusOK {
		t.Errorf("/readyz with the database up: %v", a)
	}
	waitFor(t, "acknowledgements before the stop", func() bool { return l.ackedCount() >= 150 })
	c.stop(t)
	var unready answer
	waitFor(t, "/readyz to say 503 while the database is away", func() bool {
		unready = get(client, n.URL+"/readyz")
		return unready.status != http.StatusOK
	})
	if unready.status != http.StatusServiceUnavailable || unready.errorCode() != "unavailable" || unready.retryAfter == "" {
		t.Errorf("/readyz with the database stopped: want 503 unavailable with Retry-After, got %v", unready)
	}
	if a := get(client, n.URL+"/healthz"); a.status != http.StatusOK {
		t.Errorf("/healthz with the database stopped: %v (liveness must not follow the database)", a)
	}
	before := l.ackedCount()
	waitFor(t, "503 answers while the database is away", func() bool { return l.refused("503 unavailable") >= 20 })
	// Nothing can be acknowledged without the database.
	if got := l.ackedCount(); got > before+6 {
		t.Errorf("%d submissions acknowledged with the database stopped", got-before)
	}
	c.start(t)
	during := l.ackedCount()
	waitFor(t, "/readyz to say 200 after the restart", func() bool {
		return get(client, n.URL+"/readyz").status == http.StatusOK
	})
	waitFor(t, "acknowledgements after the restart", func() bool { return l.ackedCount() >= during+150 })
	acked := l.stop()

	checkStored(t, dsn, acked, -1)
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stored, err := st.CountResponses(context.Background(), "netizen_2019")
	if err != nil {
		t.Fatal(err)
	}
	// A submission whose commit raced the shutdown may be stored without
	// its client having heard so: at most one per client, the one it was
	// retrying when the load stopped.
	if stored < len(acked) || stored > len(acked)+6 {
		t.Errorf("%d responses stored for %d acknowledged", stored, len(acked))
	}
	t.Logf("%d acknowledged (%d before the stop, %d after the restart); %d stored; refusals %v",
		len(acked), before, len(acked)-during, stored, l.refusals)
}

// get fetches url: its status, body and Retry-After.
func get(client *http.Client, url string) answer {
	resp, err := client.Get(url)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: b, retryAfter: resp.Header.Get("Retry-After"), err: err}
}
