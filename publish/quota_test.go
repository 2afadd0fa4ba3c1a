package publish

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// clock is a settable time for the gate.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// cst builds a time in China Standard Time.
func cst(day, hour, min, sec int) time.Time {
	return time.Date(2026, 3, day, hour, min, sec, 0, time.FixedZone("CST", 8*3600))
}

func newKey(t *testing.T, st store.Store, k store.OpenKey) string {
	t.Helper()
	secret, hash, err := NewOpenKey()
	if err != nil {
		t.Fatal(err)
	}
	k.Hash = hash
	if k.HoursTo == 0 {
		k.HoursTo = 24
	}
	if err := st.AddOpenKey(t.Context(), k); err != nil {
		t.Fatal(err)
	}
	return secret
}

type want struct {
	status                  int
	limit, remaining, reset string // "" : header absent
	retryAfter              string
}

func check(t *testing.T, g *Gate, secret string, header string, w want) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/open/v1/releases", nil)
	switch header {
	case "bearer":
		r.Header.Set("Authorization", "Bearer "+secret)
	case "x-api-key":
		r.Header.Set("X-API-Key", secret)
	}
	d, err := g.Check(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	got := want{d.Status, d.Header.Get("RateLimit-Limit"), d.Header.Get("RateLimit-Remaining"),
		d.Header.Get("RateLimit-Reset"), d.Header.Get("Retry-After")}
	if got != w {
		t.Errorf("%+v (%s), want %+v", got, d.Message, w)
	}
}

func TestGateDailyQuota(t *testing.T) {
	st := storetest.OpenSQLite(t)
	c := &clock{cst(2, 23, 59, 0)} // 60 s to midnight
	g := &Gate{Store: st, Now: c.now}
	key := newKey(t, st, store.OpenKey{Name: "bureau", PerDay: 3})
	check(t, g, key, "bearer", want{200, "3", "2", "60", ""})
	c.t = c.t.Add(10 * time.Second)
	check(t, g, key, "x-api-key", want{200, "3", "1", "50", ""})
	check(t, g, key, "bearer", want{200, "3", "0", "50", ""})
	check(t, g, key, "bearer", want{429, "3", "0", "50", "50"})
	check(t, g, key, "bearer", want{429, "3", "0", "50", "50"})
	// A new day in China Standard Time (16:00 UTC) starts a new count.
	c.t = cst(3, 0, 0, 0)
	check(t, g, key, "bearer", want{200, "3", "2", "86400", ""})
}

func TestGateRate(t *testing.T) {
	st := storetest.OpenSQLite(t)
	c := &clock{cst(2, 10, 0, 45)}
	g := &Gate{Store: st, Now: c.now}
	key := newKey(t, st, store.OpenKey{Name: "app", PerDay: 100, PerMinute: 2})
	check(t, g, key, "bearer", want{200, "2", "1", "15", ""})
	check(t, g, key, "bearer", want{200, "2", "0", "15", ""})
	check(t, g, key, "bearer", want{429, "2", "0", "15", "15"})
	c.t = cst(2, 10, 1, 0)
	check(t, g, key, "bearer", want{200, "2", "1", "60", ""})
	// Refused requests did not count against the day: 3 of 100 used.
	u, err := st.OpenUsage(t.Context(), HashOpenKey(key))
	if err != nil || len(u) != 1 || u[0].Requests != 3 || u[0].Day != "2026-03-02" {
		t.Errorf("usage %+v, %v; want 3 requests on 2026-03-02", u, err)
	}
}

func TestGateHours(t *testing.T) {
	st := storetest.OpenSQLite(t)
	c := &clock{}
	g := &Gate{Store: st, Now: c.now}
	key := newKey(t, st, store.OpenKey{Name: "office hours", HoursFrom: 9, HoursTo: 17})
	tests := []struct {
		at time.Time
		w  want
	}{
		{cst(2, 8, 59, 30), want{status: 403, retryAfter: "30"}},
		{cst(2, 9, 0, 0), want{status: 200}},
		{cst(2, 16, 59, 59), want{status: 200}},
		{cst(2, 17, 0, 0), want{status: 403, retryAfter: strconv.Itoa(16 * 3600)}},
		// 01:00 UTC is 09:00 in China: allowed, whatever the server's zone.
		{time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC), want{status: 200}},
	}
	for _, tt := range tests {
		c.t = tt.at
		check(t, g, key, "bearer", tt.w)
	}
}

func TestGateKeys(t *testing.T) {
	st := storetest.OpenSQLite(t)
	c := &clock{cst(2, 12, 0, 0)}
	g := &Gate{Store: st, Now: c.now}
	key := newKey(t, st, store.OpenKey{Name: "x"})
	check(t, g, key, "bearer", want{status: 200})
	check(t, g, key, "", want{status: 401})
	check(t, g, key+"x", "bearer", want{status: 401})
	if err := st.RevokeOpenKey(t.Context(), HashOpenKey(key), c.t); err != nil {
		t.Fatal(err)
	}
	check(t, g, key, "bearer", want{status: 401})
}
