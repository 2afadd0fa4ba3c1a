package web

import (
	"net/http"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// TestReadyz: /readyz answers 200 while the store answers and 503 (JSON,
// Retry-After) once it cannot; /healthz, liveness, stays 200.
func TestReadyz(t *testing.T) {
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{})
	if r := do(t, http.DefaultClient, "GET", e.ts.URL+"/readyz", "", ""); r.status != http.StatusOK || r.json(t)["status"] != "ready" {
		t.Errorf("/readyz with the store up: %d %s", r.status, r.body)
	}
	e.raw.Close() // the database is gone (the cleanup's second Close is harmless)
	r := do(t, http.DefaultClient, "GET", e.ts.URL+"/readyz", "", "")
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Errorf("/readyz with the store closed: %d %s (Retry-After %q)", r.status, r.body, r.header.Get("Retry-After"))
	}
	if code, _ := r.errorOf(t); code != "unavailable" {
		t.Errorf("/readyz error code %q, want unavailable", code)
	}
	if r := do(t, http.DefaultClient, "GET", e.ts.URL+"/healthz", "", ""); r.status != http.StatusOK {
		t.Errorf("/healthz with the store closed: %d (liveness must not follow the database)", r.status)
	}
}

// TestExportAlertTwoNodes: two servers on one database count a user's
// exported rows together. Exports of 3 rows at once through both, 24 rows
// in all against a threshold of 10 (each node alone sees 12), raise the
// alert exactly once, and both consoles show it.
func TestExportAlertTwoNodes(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			const threshold, rows, exports = 10, 3, 8
			e := newStaffEnv(t, b.Open(t), Options{ExportAlertRows: threshold})
			key, err := security.GeneratePseudonymKey()
			if err != nil {
				t.Fatal(err)
			}
			other, err := New(Options{Store: e.sealing, Sealing: e.sealing, Accounts: e.accounts, Audit: e.log,
				PseudonymKey: &key, ExportAlertRows: threshold})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(other.Close)
			nodes := []*Server{e.srv, other}
			p := security.Principal{User: "analyst", Roles: []security.Role{security.RoleAnalyst}}
			var wg sync.WaitGroup
			for i := range exports {
				wg.Go(func() { nodes[i%2].exported(t.Context(), p, "privacy", rows) })
			}
			wg.Wait()

			alerts := counterValue(t, e.srv.exportAlerts) + counterValue(t, other.exportAlerts)
			if alerts != 1 {
				t.Errorf("%v alerts raised across the nodes, want 1", alerts)
			}
			entries, _, err := security.ReadAudit(t.Context(), e.raw)
			if err != nil {
				t.Fatal(err)
			}
			audited := 0
			for _, en := range entries {
				if en.Action == actionExportAlert {
					audited++
					if en.Object != "user:analyst" {
						t.Errorf("alert audited for %q", en.Object)
					}
				}
			}
			if audited != 1 {
				t.Errorf("%d export alerts audited, want 1", audited)
			}
			for i, n := range nodes {
				got := n.recentAlerts(t.Context())
				// The crossing export took the count to 12: the first
				// multiple of 3 at or past 10.
				if len(got) != 1 || got[0].User != "analyst" || got[0].Rows != 12 {
					t.Errorf("node %d's console alerts = %+v, want one for analyst at 12 rows", i, got)
				}
			}
		})
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
