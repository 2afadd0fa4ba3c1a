package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/store"
)

// testCollectionCounts: totals, a since window, hourly buckets (edges
// included at the start, excluded at the end), withdrawn responses left
// out, and the median duration for odd and even counts.
func testCollectionCounts(t *testing.T, st store.Store) {
	ctx := t.Context()
	mustAddForm(t, st, formVersion("f", "h1"))
	mustAddForm(t, st, formVersion("f", "h2"))
	mustAddForm(t, st, formVersion("g", "h1"))
	from := time.Date(2019, 11, 3, 0, 0, 0, 0, time.UTC)
	at := func(id string, rev int, offset, dur time.Duration) store.Response {
		r := response("f", rev, id, from.Add(offset))
		r.Started, r.Ended = r.SubmittedAt.Add(-dur-time.Second), r.SubmittedAt.Add(-time.Second)
		r.Receipt = "R" + id
		return r
	}
	noTimes := response("f", 1, "n", from.Add(3*time.Hour+time.Minute))
	noTimes.Started, noTimes.Ended = time.Time{}, time.Time{}
	mustAdd(t, st, []store.Response{
		at("before", 1, -time.Minute, 10*time.Minute),        // before the first bucket
		at("edge0", 1, 0, 2*time.Minute),                     // first instant of bucket 0
		at("b0", 2, 59*time.Minute, 4*time.Minute),           // bucket 0
		at("b2", 2, 2*time.Hour+30*time.Minute, time.Minute), // bucket 2
		at("end", 2, 4*time.Hour, 3*time.Minute),             // first instant after 4 buckets
		noTimes,                                              // bucket 3, no duration
		at("gone", 1, time.Hour, time.Hour),                  // withdrawn below
		response("g", 1, "other", from.Add(time.Hour)),       // another form
	})
	if _, err := st.WithdrawResponse(ctx, "Rgone"); err != nil {
		t.Fatal(err)
	}
	got, err := st.CollectionCounts(ctx, "f", store.CountsQuery{Since: from.Add(59 * time.Minute), HoursFrom: from, Hours: 4})
	if err != nil {
		t.Fatal(err)
	}
	// Durations of the 5 timed live responses: 1, 2, 3, 4, 10 min.
	want := store.CollectionCounts{Total: 6, Since: 4, Hourly: []int{2, 0, 1, 1}, Timed: 5, MedianDuration: 3 * time.Minute}
	if got.Total != want.Total || got.Since != want.Since || !slices.Equal(got.Hourly, want.Hourly) ||
		got.Timed != want.Timed || got.MedianDuration != want.MedianDuration {
		t.Errorf("CollectionCounts(f) = %+v\nwant %+v", got, want)
	}

	// An even count: the mean of the middle two (2 and 3 min without the
	// 10 min one).
	if _, err := st.WithdrawResponse(ctx, "Rbefore"); err != nil {
		t.Fatal(err)
	}
	got, err = st.CollectionCounts(ctx, "f", store.CountsQuery{Since: from.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Total != 5 || got.Since != 0 || len(got.Hourly) != 0 || got.Timed != 4 || got.MedianDuration != 150*time.Second {
		t.Errorf("after a second withdrawal: %+v", got)
	}

	// A form without responses, and one that does not exist.
	for _, id := range []string{"none"} {
		got, err := st.CollectionCounts(ctx, id, store.CountsQuery{HoursFrom: from, Hours: 24})
		if err != nil || got.Total != 0 || got.Timed != 0 || got.MedianDuration != 0 || len(got.Hourly) != 24 || slices.Max(got.Hourly) != 0 {
			t.Errorf("CollectionCounts(%s) = %+v, %v", id, got, err)
		}
	}
	if _, err := st.CollectionCounts(ctx, "f", store.CountsQuery{Hours: store.MaxCountHours + 1}); err == nil {
		t.Error("CollectionCounts took more hours than MaxCountHours")
	}
}

// testStarts: starts add up per form and hour, across calls (as several
// nodes add theirs), and CollectionCounts counts those in its hourly
// window only.
func testStarts(t *testing.T, st store.Store) {
	ctx := t.Context()
	from := time.Date(2019, 11, 3, 8, 0, 0, 0, time.UTC)
	if err := st.AddStarts(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for _, batch := range [][]store.StartCount{
		{{FormID: "f", Hour: from.Add(-time.Minute), N: 7}, // the hour before the window
			{FormID: "f", Hour: from, N: 2},
			{FormID: "f", Hour: from.Add(59 * time.Minute), N: 1}, // same hour
			{FormID: "g", Hour: from, N: 100}},                    // another form
		{{FormID: "f", Hour: from.Add(90 * time.Minute), N: 3}, // a second node
			{FormID: "f", Hour: from.Add(2 * time.Hour), N: 5}}, // after the window
	} {
		if err := st.AddStarts(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.CollectionCounts(ctx, "f", store.CountsQuery{HoursFrom: from, Hours: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got.Starts != 6 {
		t.Errorf("starts of f in 2 hours = %d, want 6", got.Starts)
	}
	// Without an hourly window there is no count of starts either.
	if got, err := st.CollectionCounts(ctx, "f", store.CountsQuery{}); err != nil || got.Starts != 0 {
		t.Errorf("no window: %d, %v", got.Starts, err)
	}
	if err := st.AddStarts(ctx, []store.StartCount{{FormID: "f", Hour: from, N: -1}}); err == nil {
		t.Error("AddStarts took a negative count")
	}
}
