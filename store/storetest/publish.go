package storetest

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/store"
)

// testPublish is the open-data part of the contract: releases, open API
// keys and their usage counters.
func testPublish(t *testing.T, st store.Store) {
	t.Run("Releases", func(t *testing.T) { testReleases(t, st) })
	t.Run("OpenKeys", func(t *testing.T) { testOpenKeys(t, st) })
	t.Run("OpenUsage", func(t *testing.T) { testOpenUsage(t, st) })
	t.Run("OpenUsageConcurrent", func(t *testing.T) { testOpenUsageConcurrent(t, st) })
}

func testReleases(t *testing.T, st store.Store) {
	ctx := t.Context()
	v, err := st.NextReleaseVersion(ctx, "f1")
	if err != nil || v != 1 {
		t.Fatalf("NextReleaseVersion of a form without releases = %d, %v; want 1", v, err)
	}
	if _, err := st.Release(ctx, "f1-r1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Release of a missing id: %v, want ErrNotFound", err)
	}
	body := []byte("\xef\xbb\xbfa,b\n1,2\n")
	r := store.Release{ID: "f1-r1", FormID: "f1", Version: 1, Metadata: []byte(`{"k":"值"}`),
		Files: []store.ReleaseFile{{Name: "tables/a.csv", Body: body}, {Name: "empty.txt", Body: []byte{}}}}
	got, err := st.AddRelease(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.IsZero() || len(got.Files) != 2 || got.Files[0].Size != int64(len(body)) {
		t.Errorf("AddRelease returned %+v", got)
	}
	for _, dup := range []store.Release{
		{ID: "f1-r1", FormID: "f1", Version: 2, Metadata: []byte(`{}`)},
		{ID: "f1-other", FormID: "f1", Version: 1, Metadata: []byte(`{}`)},
	} {
		if _, err := st.AddRelease(ctx, dup); !errors.Is(err, store.ErrExists) {
			t.Errorf("AddRelease %s v%d again: %v, want ErrExists", dup.ID, dup.Version, err)
		}
	}
	if _, err := st.AddRelease(ctx, store.Release{ID: "f1-r9", FormID: "f1", Version: 9, Metadata: []byte(`{}`),
		Files: []store.ReleaseFile{{Name: "x"}, {Name: "x"}}}); err == nil {
		t.Error("a release with one file name twice was stored")
	}
	// A refused release leaves nothing behind.
	if _, err := st.Release(ctx, "f1-r9"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("refused release: %v, want ErrNotFound", err)
	}
	if v, _ := st.NextReleaseVersion(ctx, "f1"); v != 2 {
		t.Errorf("NextReleaseVersion = %d, want 2", v)
	}
	if _, err := st.AddRelease(ctx, store.Release{ID: "f1-r2", FormID: "f1", Version: 2, Metadata: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddRelease(ctx, store.Release{ID: "g-r1", FormID: "g", Version: 1, Metadata: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	back, err := st.Release(ctx, "f1-r1")
	if err != nil {
		t.Fatal(err)
	}
	if back.FormID != "f1" || back.Version != 1 || string(back.Metadata) != `{"k":"值"}` || !back.CreatedAt.Equal(got.CreatedAt) {
		t.Errorf("Release = %+v", back)
	}
	if len(back.Files) != 2 || back.Files[0].Name != "empty.txt" || back.Files[1].Name != "tables/a.csv" ||
		back.Files[1].Size != int64(len(body)) || back.Files[1].Body != nil {
		t.Errorf("Release files = %+v, want names and sizes by name, no bodies", back.Files)
	}
	f, err := st.ReleaseFile(ctx, "f1-r1", "tables/a.csv")
	if err != nil || !bytes.Equal(f.Body, body) {
		t.Errorf("ReleaseFile = %q, %v", f.Body, err)
	}
	if f, err := st.ReleaseFile(ctx, "f1-r1", "empty.txt"); err != nil || f.Body == nil || len(f.Body) != 0 {
		t.Errorf("empty ReleaseFile = %#v, %v", f.Body, err)
	}
	if _, err := st.ReleaseFile(ctx, "f1-r1", "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing file: %v", err)
	}
	list, err := st.Releases(ctx, "f1")
	if err != nil || len(list) != 2 || list[0].ID != "f1-r2" || list[1].ID != "f1-r1" {
		t.Errorf("Releases(f1) = %v, %v; want f1-r2, f1-r1", ids(list), err)
	}
	all, err := st.Releases(ctx, "")
	if err != nil || len(all) != 3 {
		t.Errorf("Releases() = %v, %v; want 3", ids(all), err)
	}
}

func ids(rs []store.Release) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func testOpenKeys(t *testing.T, st store.Store) {
	ctx := t.Context()
	k := store.OpenKey{Hash: "h1", Name: "统计局", Owner: "alice", PerDay: 100, PerMinute: 5, HoursFrom: 8, HoursTo: 20, CreatedAt: base}
	if err := st.AddOpenKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := st.AddOpenKey(ctx, k); !errors.Is(err, store.ErrExists) {
		t.Errorf("AddOpenKey twice: %v, want ErrExists", err)
	}
	for _, bad := range []store.OpenKey{
		{Hash: "b1", HoursFrom: 10, HoursTo: 10},
		{Hash: "b2", HoursFrom: 0, HoursTo: 25},
		{Hash: "b3", HoursTo: 24, PerDay: -1},
		{Name: "no hash", HoursTo: 24},
	} {
		if err := st.AddOpenKey(ctx, bad); err == nil {
			t.Errorf("AddOpenKey(%+v) accepted", bad)
		}
	}
	if err := st.AddOpenKey(ctx, store.OpenKey{Hash: "h2", Name: "b", Owner: "bob", HoursTo: 24, CreatedAt: base.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	got, err := st.OpenKey(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != k.Name || got.Owner != "alice" || got.PerDay != 100 || got.PerMinute != 5 || got.HoursFrom != 8 ||
		got.HoursTo != 20 || !sameTime(got.CreatedAt, base.Truncate(time.Microsecond)) || !got.RevokedAt.IsZero() {
		t.Errorf("OpenKey = %+v", got)
	}
	if _, err := st.OpenKey(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing key: %v", err)
	}
	at := base.Add(time.Hour)
	if err := st.RevokeOpenKey(ctx, "h1", at); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeOpenKey(ctx, "h1", at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeOpenKey(ctx, "nope", at); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoking a missing key: %v", err)
	}
	keys, err := st.OpenKeys(ctx)
	if err != nil || len(keys) != 2 || keys[0].Hash != "h1" || keys[1].Hash != "h2" {
		t.Fatalf("OpenKeys = %+v, %v", keys, err)
	}
	if !sameTime(keys[0].RevokedAt, at.Truncate(time.Microsecond)) {
		t.Errorf("revoked at %v, want the first revocation %v", keys[0].RevokedAt, at)
	}
}

func testOpenUsage(t *testing.T, st store.Store) {
	ctx := t.Context()
	use := func(day string, perDay int, minute string, perMinute int) (int, int, bool) {
		t.Helper()
		d, m, ok, err := st.UseOpenKey(ctx, "k", day, perDay, minute, perMinute)
		if err != nil {
			t.Fatal(err)
		}
		return d, m, ok
	}
	// Per minute 2: the third request of a minute is refused and not
	// counted; the next minute starts again.
	steps := []struct {
		day, minute string
		d, m        int
		ok          bool
	}{
		{"2026-01-01", "2026-01-01T10:00", 1, 1, true},
		{"2026-01-01", "2026-01-01T10:00", 2, 2, true},
		{"2026-01-01", "2026-01-01T10:00", 2, 2, false},
		{"2026-01-01", "2026-01-01T10:01", 3, 1, true},
		{"2026-01-01", "2026-01-01T10:02", 4, 1, true},
		// Per day 4: the fifth is refused whatever the minute.
		{"2026-01-01", "2026-01-01T10:03", 4, 0, false},
		{"2026-01-02", "2026-01-02T00:00", 1, 1, true},
	}
	for i, s := range steps {
		d, m, ok := use(s.day, 4, s.minute, 2)
		if d != s.d || m != s.m || ok != s.ok {
			t.Errorf("step %d: day %d, minute %d, ok %v; want %d, %d, %v", i, d, m, ok, s.d, s.m, s.ok)
		}
	}
	if d, _, ok := use("2026-01-03", 0, "2026-01-03T00:00", 0); d != 1 || !ok {
		t.Errorf("unbounded key: %d, %v", d, ok)
	}
	u, err := st.OpenUsage(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	want := []store.OpenUsage{{KeyHash: "k", Day: "2026-01-01", Requests: 4}, {KeyHash: "k", Day: "2026-01-02", Requests: 1}, {KeyHash: "k", Day: "2026-01-03", Requests: 1}}
	if len(u) != len(want) {
		t.Fatalf("OpenUsage = %+v, want %+v", u, want)
	}
	for i := range want {
		if u[i] != want[i] {
			t.Errorf("OpenUsage[%d] = %+v, want %+v", i, u[i], want[i])
		}
	}
	if all, err := st.OpenUsage(ctx, ""); err != nil || len(all) != 3 {
		t.Errorf("OpenUsage(all) = %+v, %v", all, err)
	}
}

// testOpenUsageConcurrent: requests racing on one key never count past
// its limit, as with several serve nodes on one database.
func testOpenUsageConcurrent(t *testing.T, st store.Store) {
	ctx := t.Context()
	const workers, each, limit = 8, 5, 17
	var mu sync.Mutex
	granted := 0
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				_, _, ok, err := st.UseOpenKey(ctx, "race", "2026-01-01", limit, "2026-01-01T00:00", 0)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					mu.Lock()
					granted++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if granted != limit {
		t.Errorf("granted %d requests, want exactly %d", granted, limit)
	}
}
