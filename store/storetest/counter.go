package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/store"
)

// testCounters is the ClusterStore part of the contract: windowed
// counters shared by serve nodes, and the ping.
func testCounters(t *testing.T, st store.Store) {
	// First, on the empty store: it counts every expired counter swept.
	t.Run("ListResetSweep", func(t *testing.T) { testCountersList(t, st) })
	t.Run("Add", func(t *testing.T) { testAddCounter(t, st) })
	t.Run("Take", func(t *testing.T) { testTakeCounter(t, st) })
	t.Run("AddConcurrent", func(t *testing.T) { testAddCounterConcurrent(t, st) })
	t.Run("TakeConcurrent", func(t *testing.T) { testTakeCounterConcurrent(t, st) })
	t.Run("Refused", func(t *testing.T) { testCounterRefused(t, st) })
	t.Run("Ping", func(t *testing.T) {
		if err := st.Ping(t.Context()); err != nil {
			t.Errorf("Ping: %v", err)
		}
	})
}

var counterT0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func testAddCounter(t *testing.T, st store.Store) {
	const window = time.Hour
	steps := []struct {
		name string
		n    int
		at   time.Duration // after counterT0
		want int
	}{
		{"first hit", 1, 0, 1},
		{"adds n", 5, time.Minute, 6},
		{"within the window of the last hit", 1, time.Minute + 59*time.Minute, 7},
		// The window runs from the last hit (at 1h), so this is inside.
		{"window slides with each hit", 2, 2*time.Hour - time.Second, 9},
		{"expired: starts again", 3, 3*time.Hour + time.Minute, 3},
	}
	for _, s := range steps {
		got, err := st.AddCounter(t.Context(), "add:a", s.n, window, counterT0.Add(s.at))
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got != s.want {
			t.Errorf("%s: AddCounter = %d, want %d", s.name, got, s.want)
		}
	}
	// Another name is another counter.
	if got, err := st.AddCounter(t.Context(), "add:b", 1, window, counterT0); err != nil || got != 1 {
		t.Errorf("AddCounter of another name = %d, %v; want 1", got, err)
	}
}

// gapAfter2 lets two hits through at once, then asks for a second per
// further hit beyond them.
func gapAfter2(n int) time.Duration {
	if n < 2 {
		return 0
	}
	return time.Duration(n-1) * time.Second
}

func testTakeCounter(t *testing.T, st store.Store) {
	const window = time.Hour
	steps := []struct {
		name      string
		at        time.Duration
		wantCount int
		wantWait  time.Duration
	}{
		{"first", 0, 1, 0},
		{"gap(1) is zero", 0, 2, 0},
		{"gap(2) is 1s: refused", 500 * time.Millisecond, 2, 500 * time.Millisecond},
		{"refusal counted nothing", time.Second, 3, 0},
		{"gap(3) is 2s from the last hit", 2 * time.Second, 3, time.Second},
		{"taken at the gap", 3 * time.Second, 4, 0},
		{"expired: starts again", 3*time.Second + window, 1, 0},
	}
	for _, s := range steps {
		count, wait, err := st.TakeCounter(t.Context(), "take:a", window, counterT0.Add(s.at), gapAfter2)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if count != s.wantCount || wait != s.wantWait {
			t.Errorf("%s: TakeCounter = %d, %v; want %d, %v", s.name, count, wait, s.wantCount, s.wantWait)
		}
	}
}

func testCountersList(t *testing.T, st store.Store) {
	ctx := t.Context()
	add := func(name string, n int, window time.Duration) {
		t.Helper()
		if _, err := st.AddCounter(ctx, name, n, window, counterT0); err != nil {
			t.Fatal(err)
		}
	}
	add("alert:2026-03-02:bob", 7, 48*time.Hour)
	add("alert:2026-03-01:alice", 5, 48*time.Hour)
	add("alert:2026-03-02:short", 1, time.Minute)
	add("alerts", 1, time.Hour)     // shares the prefix without the colon
	add("alert;", 1, time.Hour)     // the byte after ':'
	add("login:x", 1, 48*time.Hour) // another prefix
	add("alert9", 1, 48*time.Hour)  // '9' sorts before ':'
	add("alert:\u00e9t\u00e9", 2, 48*time.Hour)

	names := func(at time.Time) []string {
		t.Helper()
		cs, err := st.Counters(ctx, "alert:", at)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cs {
			out = append(out, c.Name)
		}
		return out
	}
	want := []string{"alert:2026-03-01:alice", "alert:2026-03-02:bob", "alert:2026-03-02:short", "alert:\u00e9t\u00e9"}
	if got := names(counterT0); !slices.Equal(got, want) {
		t.Errorf("Counters(alert:) = %q, want %q", got, want)
	}
	cs, err := st.Counters(ctx, "alert:2026-03-02:b", counterT0)
	if err != nil || len(cs) != 1 {
		t.Fatalf("Counters of bob = %v, %v", cs, err)
	}
	if c := cs[0]; c.Count != 7 || !c.Last.Equal(counterT0) || !c.Expires.Equal(counterT0.Add(48*time.Hour)) {
		t.Errorf("bob's counter = %+v", c)
	}
	// An expired counter is not listed, before or after the sweep.
	later := counterT0.Add(time.Hour)
	if got := names(later); slices.Contains(got, "alert:2026-03-02:short") {
		t.Errorf("expired counter listed: %q", got)
	}
	n, err := st.DeleteExpiredCounters(ctx, later)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 { // short, alerts and alert; (an hour's window ends at later)
		t.Errorf("DeleteExpiredCounters = %d, want 3", n)
	}
	if err := st.ResetCounter(ctx, "alert:2026-03-02:bob"); err != nil {
		t.Fatal(err)
	}
	if err := st.ResetCounter(ctx, "alert:none"); err != nil {
		t.Errorf("ResetCounter of a missing counter: %v", err)
	}
	want = []string{"alert:2026-03-01:alice", "alert:\u00e9t\u00e9"}
	if got := names(later); !slices.Equal(got, want) {
		t.Errorf("after reset and sweep, Counters = %q, want %q", got, want)
	}
	if got, err := st.AddCounter(ctx, "alert:2026-03-02:bob", 1, time.Hour, later); err != nil || got != 1 {
		t.Errorf("AddCounter after reset = %d, %v; want 1", got, err)
	}
}

// testAddCounterConcurrent: concurrent adds (several nodes) each see a
// different count, and none is lost.
func testAddCounterConcurrent(t *testing.T, st store.Store) {
	const workers, each = 8, 10
	var wg sync.WaitGroup
	seen := make(chan int, workers*each)
	for range workers {
		wg.Go(func() {
			for range each {
				n, err := st.AddCounter(t.Context(), "conc:add", 1, time.Hour, counterT0)
				if err != nil {
					t.Error(err)
					return
				}
				seen <- n
			}
		})
	}
	wg.Wait()
	close(seen)
	var got []int
	for n := range seen {
		got = append(got, n)
	}
	slices.Sort(got)
	for i, n := range got {
		if n != i+1 {
			t.Fatalf("counts seen by concurrent adds = %v, want 1..%d once each", got, workers*each)
		}
	}
	if len(got) != workers*each {
		t.Errorf("%d adds succeeded, want %d", len(got), workers*each)
	}
}

// testTakeCounterConcurrent: at one instant, a gap that allows three hits
// lets exactly three of many concurrent takers through.
func testTakeCounterConcurrent(t *testing.T, st store.Store) {
	const takers, allowed = 12, 3
	gap := func(n int) time.Duration {
		if n < allowed {
			return 0
		}
		return time.Minute
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	taken := 0
	for range takers {
		wg.Go(func() {
			_, wait, err := st.TakeCounter(t.Context(), "conc:take", time.Hour, counterT0, gap)
			if err != nil {
				t.Error(err)
				return
			}
			if wait == 0 {
				mu.Lock()
				taken++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if taken != allowed {
		t.Errorf("%d of %d concurrent takers got through, want %d", taken, takers, allowed)
	}
	cs, err := st.Counters(t.Context(), "conc:take", counterT0)
	if err != nil || len(cs) != 1 || cs[0].Count != allowed {
		t.Errorf("counter after concurrent takes = %+v, %v; want count %d", cs, err, allowed)
	}
}

func testCounterRefused(t *testing.T, st store.Store) {
	ctx := t.Context()
	if _, err := st.AddCounter(ctx, "", 1, time.Hour, counterT0); err == nil {
		t.Error("AddCounter without a name accepted")
	}
	if _, err := st.AddCounter(ctx, "r", 0, time.Hour, counterT0); err == nil {
		t.Error("AddCounter of zero accepted")
	}
	if _, err := st.AddCounter(ctx, "r", 1, 0, counterT0); err == nil {
		t.Error("AddCounter without a window accepted")
	}
	if _, _, err := st.TakeCounter(ctx, "r", 0, counterT0, gapAfter2); err == nil {
		t.Error("TakeCounter without a window accepted")
	}
	if _, err := st.Counters(ctx, "", counterT0); err == nil {
		t.Error("Counters with an empty prefix accepted")
	}
	if _, err := st.Counters(ctx, "caf\u00e9", counterT0); err == nil {
		t.Error("Counters with a non-ASCII last character accepted")
	}
}
