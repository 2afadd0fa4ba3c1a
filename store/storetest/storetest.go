// Package storetest is the contract every store.Store implementation passes:
// the SQLite and PostgreSQL stores run the same Run against real databases.
package storetest

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/store"
)

// Run runs the contract against the store open returns. open is called once
// per subtest and must return a new, empty store that it closes when its t
// ends (t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st store.Store)
	}{
		{"FormNotFound", testFormNotFound},
		{"AddForm", testAddForm},
		{"FormsOrder", testFormsOrder},
		{"AddFormInvalid", testAddFormInvalid},
		{"AddFormConcurrent", testAddFormConcurrent},
		{"ResponseRoundTrip", testResponseRoundTrip},
		{"ResponseNotFound", testResponseNotFound},
		{"AddResponsesIdempotent", testAddResponsesIdempotent},
		{"AddResponsesRefused", testAddResponsesRefused},
		{"AddResponsesCanceled", testAddResponsesCanceled},
		{"AddResponsesConcurrent", testAddResponsesConcurrent},
		{"CountResponses", testCountResponses},
		{"CollectionCounts", testCollectionCounts},
		{"Starts", testStarts},
		{"EachResponseOrder", testEachResponseOrder},
		{"EachResponseStop", testEachResponseStop},
		{"EachResponseCancel", testEachResponseCancel},
		{"EachResponseLong", testEachResponseLong},
		{"CleaningNotFound", testCleaningNotFound},
		{"ReplaceFlags", testReplaceFlags},
		{"EachFlagFilter", testEachFlagFilter},
		{"ReplaceFlagsRefused", testReplaceFlagsRefused},
		{"ReplaceFlagsWithdrawn", testReplaceFlagsWithdrawn},
		{"Overrides", testOverrides},
		{"OverridesRefused", testOverridesRefused},
		{"ReceiptRoundTrip", testReceiptRoundTrip},
		{"WithdrawResponse", testWithdrawResponse},
		{"WithdrawConcurrent", testWithdrawConcurrent},
		{"Secret", testSecret},
		{"WithdrawErasesSealed", testWithdrawErasesSealed},
		{"EraseSealed", testEraseSealed},
		{"RawArchive", testRawArchive}, // raw.go
		{"ReplaceSecret", testReplaceSecret},
		{"Users", testUsers},
		{"Sessions", testSessions},
		{"APITokens", testAPITokens},
		{"AuditAppend", testAuditAppend},
		{"AuditAppendConcurrent", testAuditAppendConcurrent},
		{"AuditCheckpoints", testAuditCheckpoints},
		{"Publish", testPublish}, // publish.go
		{"Admission", testAdmission},
		{"Counters", testCounters}, // counter.go
		{"Jobs", testJobs},         // jobs.go
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

// OpenSQLite returns a new SQLite store in t.TempDir(), closed when t ends:
// a real store for the tests of other packages.
func OpenSQLite(t testing.TB) store.Store {
	t.Helper()
	st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "govsurvey.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	return st
}

// base is an arbitrary instant with sub-microsecond digits, in a zone other
// than UTC, so that the round trip has something to normalise.
var base = time.Date(2019, 11, 3, 9, 30, 15, 123456789, time.FixedZone("CST", 8*3600))

func formVersion(id, hash string) store.FormVersion {
	return store.FormVersion{
		FormID:     id,
		Version:    "2019110301",
		Title:      "网民网络安全感满意度调查 " + id,
		Hash:       hash,
		Definition: []byte(`{"id":"` + id + `","hash":"` + hash + `"}`),
		Source:     []byte{'P', 'K', 0x03, 0x04, 0x00, 0x00, 0xff, 0x00},
		SourceName: id + ".xlsx",
	}
}

func mustAddForm(t *testing.T, st store.Store, fv store.FormVersion) store.FormVersion {
	t.Helper()
	got, _, err := st.AddForm(t.Context(), fv)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func mustAdd(t *testing.T, st store.Store, rs []store.Response) []bool {
	t.Helper()
	added, err := st.AddResponses(t.Context(), rs)
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != len(rs) {
		t.Fatalf("AddResponses returned %d flags for %d responses", len(added), len(rs))
	}
	return added
}

func response(formID string, revision int, id string, submitted time.Time) store.Response {
	return store.Response{
		FormID:      formID,
		Revision:    revision,
		InstanceID:  id,
		Started:     submitted.Add(-9 * time.Minute),
		Ended:       submitted.Add(-time.Second),
		SubmittedAt: submitted,
		Client:      "c-" + id,
		Channel:     "web",
		Answers:     []byte("answers of " + id + "\x00"),
	}
}

// stored is what reading r back must give: every time in UTC, cut to the
// microsecond (toward the past, as Truncate does).
func stored(r store.Response) store.Response {
	r.Started = r.Started.Truncate(time.Microsecond).UTC()
	r.Ended = r.Ended.Truncate(time.Microsecond).UTC()
	r.SubmittedAt = r.SubmittedAt.Truncate(time.Microsecond).UTC()
	return r
}

func sameTime(got, want time.Time) bool {
	if got.IsZero() || want.IsZero() {
		return got.IsZero() && want.IsZero()
	}
	return got.Equal(want) && got.Location() == time.UTC
}

// diffResponse describes how got differs from want, or is "".
func diffResponse(got, want store.Response) string {
	want = stored(want)
	var d []string
	check := func(ok bool, field string, g, w any) {
		if !ok {
			d = append(d, fmt.Sprintf("%s = %v, want %v", field, g, w))
		}
	}
	check(got.FormID == want.FormID, "FormID", got.FormID, want.FormID)
	check(got.Revision == want.Revision, "Revision", got.Revision, want.Revision)
	check(got.InstanceID == want.InstanceID, "InstanceID", got.InstanceID, want.InstanceID)
	check(sameTime(got.Started, want.Started), "Started", got.Started, want.Started)
	check(sameTime(got.Ended, want.Ended), "Ended", got.Ended, want.Ended)
	check(sameTime(got.SubmittedAt, want.SubmittedAt), "SubmittedAt", got.SubmittedAt, want.SubmittedAt)
	check(got.Client == want.Client, "Client", got.Client, want.Client)
	check(got.Channel == want.Channel, "Channel", got.Channel, want.Channel)
	check(bytes.Equal(got.Answers, want.Answers), "Answers", got.Answers, want.Answers)
	check(bytes.Equal(got.Sealed, want.Sealed), "Sealed", got.Sealed, want.Sealed)
	check(got.Honeypot == want.Honeypot, "Honeypot", got.Honeypot, want.Honeypot)
	check(got.Receipt == want.Receipt, "Receipt", got.Receipt, want.Receipt)
	check(bytes.Equal(got.Paradata, want.Paradata), "Paradata", got.Paradata, want.Paradata)
	check(bytes.Equal(got.Raw, want.Raw) && (got.Raw == nil) == (len(want.Raw) == 0), "Raw", got.Raw, want.Raw)
	return strings.Join(d, "; ")
}

func diffForm(got, want store.FormVersion) string {
	var d []string
	check := func(ok bool, field string, g, w any) {
		if !ok {
			d = append(d, fmt.Sprintf("%s = %v, want %v", field, g, w))
		}
	}
	check(got.FormID == want.FormID, "FormID", got.FormID, want.FormID)
	check(got.Revision == want.Revision, "Revision", got.Revision, want.Revision)
	check(got.Version == want.Version, "Version", got.Version, want.Version)
	check(got.Title == want.Title, "Title", got.Title, want.Title)
	check(got.Hash == want.Hash, "Hash", got.Hash, want.Hash)
	check(bytes.Equal(got.Definition, want.Definition), "Definition", got.Definition, want.Definition)
	check(bytes.Equal(got.Source, want.Source), "Source", got.Source, want.Source)
	check(got.SourceName == want.SourceName, "SourceName", got.SourceName, want.SourceName)
	check(sameTime(got.CreatedAt, want.CreatedAt), "CreatedAt", got.CreatedAt, want.CreatedAt)
	return strings.Join(d, "; ")
}

func testFormNotFound(t *testing.T, st store.Store) {
	ctx := t.Context()
	if _, err := st.Form(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Form of a missing form: err = %v, want ErrNotFound", err)
	}
	if _, err := st.FormRevision(ctx, "nope", 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("FormRevision of a missing form: err = %v, want ErrNotFound", err)
	}
	forms, err := st.Forms(ctx)
	if err != nil || len(forms) != 0 {
		t.Errorf("Forms of an empty store = %d forms, %v; want none", len(forms), err)
	}
}

func testAddForm(t *testing.T, st store.Store) {
	ctx := t.Context()
	v1 := formVersion("netizen_2019", "h1")

	got1, added, err := st.AddForm(ctx, v1)
	if err != nil || !added {
		t.Fatalf("first AddForm: added = %v, err = %v; want a new form", added, err)
	}
	want1 := v1
	want1.Revision = 1
	want1.CreatedAt = got1.CreatedAt
	if d := diffForm(got1, want1); d != "" {
		t.Errorf("first AddForm returned %s", d)
	}
	if got1.CreatedAt.IsZero() || got1.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want a UTC time", got1.CreatedAt)
	}

	// The same hash is the same form, whatever else differs.
	same := v1
	same.Title = "another title"
	gotSame, added, err := st.AddForm(ctx, same)
	if err != nil || added {
		t.Fatalf("AddForm of an unchanged form: added = %v, err = %v; want unchanged", added, err)
	}
	if d := diffForm(gotSame, got1); d != "" {
		t.Errorf("AddForm of an unchanged form returned %s", d)
	}

	v2 := formVersion("netizen_2019", "h2")
	v2.Source = nil // an empty source reads back empty
	got2, added, err := st.AddForm(ctx, v2)
	if err != nil || !added || got2.Revision != 2 {
		t.Fatalf("AddForm of a changed form: revision %d, added = %v, err = %v; want revision 2, new", got2.Revision, added, err)
	}

	tests := []struct {
		name string
		get  func() (store.FormVersion, error)
		want store.FormVersion
	}{
		{"latest", func() (store.FormVersion, error) { return st.Form(ctx, "netizen_2019") }, got2},
		{"revision 1", func() (store.FormVersion, error) { return st.FormRevision(ctx, "netizen_2019", 1) }, got1},
		{"revision 2", func() (store.FormVersion, error) { return st.FormRevision(ctx, "netizen_2019", 2) }, got2},
	}
	for _, tt := range tests {
		got, err := tt.get()
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if d := diffForm(got, tt.want); d != "" {
			t.Errorf("%s: %s", tt.name, d)
		}
	}
	if _, err := st.FormRevision(ctx, "netizen_2019", 3); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("FormRevision 3: err = %v, want ErrNotFound", err)
	}
	// Going back to an earlier definition is a change too: a new revision.
	if got3, added, err := st.AddForm(ctx, v1); err != nil || !added || got3.Revision != 3 {
		t.Errorf("AddForm of the first definition again: revision %d, added = %v, err = %v; want revision 3, new", got3.Revision, added, err)
	}
}

func testFormsOrder(t *testing.T, st store.Store) {
	ctx := t.Context()
	// Added out of order; "B" < "a" < "b" byte by byte, whatever the
	// database's locale says.
	for _, id := range []string{"b", "a", "B"} {
		mustAddForm(t, st, formVersion(id, "h1"))
	}
	mustAddForm(t, st, formVersion("a", "h2"))

	forms, err := st.Forms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, fv := range forms {
		got = append(got, fmt.Sprintf("%s/%d/%s", fv.FormID, fv.Revision, fv.Hash))
	}
	want := []string{"B/1/h1", "a/2/h2", "b/1/h1"}
	if !slices.Equal(got, want) {
		t.Errorf("Forms = %v, want %v", got, want)
	}
}

func testAddFormInvalid(t *testing.T, st store.Store) {
	tests := []struct {
		name   string
		change func(*store.FormVersion)
	}{
		{"no id", func(fv *store.FormVersion) { fv.FormID = "" }},
		{"no hash", func(fv *store.FormVersion) { fv.Hash = "" }},
		{"title not UTF-8", func(fv *store.FormVersion) { fv.Title = "bad \xff title" }},
		{"NUL in id", func(fv *store.FormVersion) { fv.FormID = "a\x00b" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fv := formVersion("f", "h1")
			tt.change(&fv)
			if _, _, err := st.AddForm(t.Context(), fv); err == nil {
				t.Errorf("AddForm accepted a form with %s", tt.name)
			}
		})
	}
	if forms, err := st.Forms(t.Context()); err != nil || len(forms) != 0 {
		t.Errorf("after refused forms: Forms = %d forms, %v; want none", len(forms), err)
	}
}

// testAddFormConcurrent adds one form from several goroutines at once, as
// several serve nodes may: revisions must be neither lost nor doubled.
func testAddFormConcurrent(t *testing.T, st store.Store) {
	const n = 6
	tests := []struct {
		name string
		hash func(i int) string
	}{
		{"same definition", func(int) string { return "same" }},
		{"different definitions", func(i int) string { return fmt.Sprintf("h%d", i) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			formID := "concurrent " + tt.name
			type result struct {
				fv    store.FormVersion
				added bool
				err   error
			}
			results := make([]result, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					fv, added, err := st.AddForm(t.Context(), formVersion(formID, tt.hash(i)))
					results[i] = result{fv, added, err}
				})
			}
			wg.Wait()
			var revisions []int
			for i, r := range results {
				if r.err != nil {
					t.Fatalf("goroutine %d: %v", i, r.err)
				}
				if r.added {
					revisions = append(revisions, r.fv.Revision)
				}
				if r.fv.Hash != tt.hash(i) {
					t.Errorf("goroutine %d got hash %q, want %q", i, r.fv.Hash, tt.hash(i))
				}
			}
			slices.Sort(revisions)
			distinct := map[string]bool{}
			for i := range n {
				distinct[tt.hash(i)] = true
			}
			var want []int
			for r := range len(distinct) {
				want = append(want, r+1)
			}
			if !slices.Equal(revisions, want) {
				t.Errorf("new revisions = %v, want %v", revisions, want)
			}
			latest, err := st.Form(t.Context(), formID)
			if err != nil || latest.Revision != len(distinct) {
				t.Errorf("latest revision = %d, %v; want %d", latest.Revision, err, len(distinct))
			}
		})
	}
}

func testResponseRoundTrip(t *testing.T, st store.Store) {
	ctx := t.Context()
	mustAddForm(t, st, formVersion("f", "h1"))
	big := make([]byte, 64<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.UintN(256))
	}
	tests := []struct {
		name string
		r    store.Response
	}{
		{"full", response("f", 1, "uuid-full", base)},
		{"zero start and end", store.Response{FormID: "f", Revision: 1, InstanceID: "no-times",
			SubmittedAt: base, Channel: "api", Answers: []byte{1}}},
		{"zero submitted_at", store.Response{FormID: "f", Revision: 1, InstanceID: "zero-submitted",
			Started: base, Channel: "import", Answers: []byte{2}}},
		{"binary answers", store.Response{FormID: "f", Revision: 1, InstanceID: "binary",
			SubmittedAt: base, Answers: []byte{0x00, 0x00, 0xff, 0x80, 0x00, 0x27, 0x5c}}},
		{"large answers", store.Response{FormID: "f", Revision: 1, InstanceID: "large",
			SubmittedAt: base, Answers: big}},
		{"empty answers", store.Response{FormID: "f", Revision: 1, InstanceID: "empty",
			SubmittedAt: base, Answers: []byte{}}},
		{"nil answers", store.Response{FormID: "f", Revision: 1, InstanceID: "nil",
			SubmittedAt: base}},
		{"before 1970, last nanosecond of a second", store.Response{FormID: "f", Revision: 1, InstanceID: "old",
			Started:     time.Date(1969, 12, 31, 23, 59, 58, 999999999, time.UTC),
			SubmittedAt: time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.FixedZone("", -5*3600))}},
		{"far future", store.Response{FormID: "f", Revision: 1, InstanceID: "future",
			SubmittedAt: time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)}},
		{"honeypot filled in", store.Response{FormID: "f", Revision: 1, InstanceID: "bot",
			SubmittedAt: base, Channel: "web", Answers: []byte{3}, Honeypot: true}},
		{"sealed part", store.Response{FormID: "f", Revision: 1, InstanceID: "sealed",
			SubmittedAt: base, Channel: "web", Answers: []byte{4}, Sealed: []byte{1, 0, 0, 0, 1, 0xff, 0x00, 0x27}}},
		{"text", store.Response{FormID: "f", Revision: 1, InstanceID: "uuid:2b1f-é-中文-'\"",
			SubmittedAt: base, Client: "客户端 'x' \"y\" \\ %_", Channel: "web"}},
	}
	var rs []store.Response
	for _, tt := range tests {
		rs = append(rs, tt.r)
	}
	for i, added := range mustAdd(t, st, rs) {
		if !added {
			t.Errorf("%s: not added", tests[i].name)
		}
	}
	for _, tt := range tests {
		got, err := st.Response(ctx, tt.r.FormID, tt.r.InstanceID)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if d := diffResponse(got, tt.r); d != "" {
			t.Errorf("%s: %s", tt.name, d)
		}
	}
	// The stream reads the same values as Response.
	seen := 0
	err := st.EachResponse(ctx, store.ResponseFilter{FormID: "f"}, func(got store.Response) error {
		for _, tt := range tests {
			if tt.r.InstanceID == got.InstanceID {
				seen++
				if d := diffResponse(got, tt.r); d != "" {
					t.Errorf("streamed %s: %s", tt.name, d)
				}
			}
		}
		return nil
	})
	if err != nil || seen != len(tests) {
		t.Errorf("EachResponse saw %d of %d responses, err = %v", seen, len(tests), err)
	}
}

func testResponseNotFound(t *testing.T, st store.Store) {
	mustAddForm(t, st, formVersion("f", "h1"))
	mustAdd(t, st, []store.Response{response("f", 1, "a", base)})
	tests := []struct{ formID, instanceID string }{
		{"f", "b"},
		{"g", "a"},
		{"f", "A"},
	}
	for _, tt := range tests {
		if _, err := st.Response(t.Context(), tt.formID, tt.instanceID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Response(%q, %q): err = %v, want ErrNotFound", tt.formID, tt.instanceID, err)
		}
	}
}

func testAddResponsesIdempotent(t *testing.T, st store.Store) {
	ctx := t.Context()
	mustAddForm(t, st, formVersion("f", "h1"))
	mustAddForm(t, st, formVersion("g", "h1"))

	first := response("f", 1, "a", base)
	changed := first
	changed.Answers = []byte("something else")
	changed.Client = "someone else"

	steps := []struct {
		name  string
		batch []store.Response
		added []bool
	}{
		{"empty batch", nil, []bool{}},
		{"new", []store.Response{first, response("f", 1, "b", base)}, []bool{true, true}},
		{"again, changed", []store.Response{changed}, []bool{false}},
		{"twice in one batch", []store.Response{response("f", 1, "c", base), response("f", 1, "c", base.Add(time.Hour))}, []bool{true, false}},
		{"old and new mixed", []store.Response{response("f", 1, "d", base), first, response("f", 1, "d", base), response("f", 1, "e", base)}, []bool{true, false, false, true}},
		{"same instance id in another form", []store.Response{response("g", 1, "a", base)}, []bool{true}},
	}
	for _, s := range steps {
		added := mustAdd(t, st, s.batch)
		if !slices.Equal(added, s.added) {
			t.Errorf("%s: added = %v, want %v", s.name, added, s.added)
		}
	}
	for _, c := range []struct {
		formID string
		want   int
	}{{"f", 5}, {"g", 1}} {
		if n, err := st.CountResponses(ctx, c.formID); err != nil || n != c.want {
			t.Errorf("CountResponses(%s) = %d, %v; want %d", c.formID, n, err, c.want)
		}
	}
	// The first stored version stays.
	if got, err := st.Response(ctx, "f", "a"); err != nil || diffResponse(got, first) != "" {
		t.Errorf("response a after a changed re-submission: %v; %s", err, diffResponse(got, first))
	}
	if got, err := st.Response(ctx, "f", "c"); err != nil || !got.SubmittedAt.Equal(base.Truncate(time.Microsecond)) {
		t.Errorf("response c: submitted %v, %v; want the first of the batch (%v)", got.SubmittedAt, err, base)
	}
}

// testAddResponsesRefused checks that a batch with one bad response stores
// none of it.
func testAddResponsesRefused(t *testing.T, st store.Store) {
	mustAddForm(t, st, formVersion("f", "h1"))
	good := response("f", 1, "good", base)
	tests := []struct {
		name     string
		bad      store.Response
		notFound bool
	}{
		{"unknown form", response("nope", 1, "x", base), true},
		{"unknown revision", response("f", 2, "x", base), true},
		{"no instance id", response("f", 1, "", base), false},
		{"no form id", response("", 1, "x", base), false},
		{"revision 0", response("f", 0, "x", base), false},
		{"instance id not UTF-8", response("f", 1, "x\xfe", base), false},
		{"NUL in client", func() store.Response { r := response("f", 1, "x", base); r.Client = "a\x00"; return r }(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			added, err := st.AddResponses(t.Context(), []store.Response{good, tt.bad})
			if err == nil {
				t.Fatalf("AddResponses accepted a batch with %s (added %v)", tt.name, added)
			}
			if tt.notFound != errors.Is(err, store.ErrNotFound) {
				t.Errorf("err = %v; ErrNotFound = %v, want %v", err, errors.Is(err, store.ErrNotFound), tt.notFound)
			}
			if n, err := st.CountResponses(t.Context(), "f"); err != nil || n != 0 {
				t.Errorf("after a refused batch: %d responses stored, %v; want none", n, err)
			}
		})
	}
}

func testAddResponsesCanceled(t *testing.T, st store.Store) {
	mustAddForm(t, st, formVersion("f", "h1"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := st.AddResponses(ctx, []store.Response{response("f", 1, "a", base)}); err == nil {
		t.Error("AddResponses with a canceled context succeeded")
	}
	if n, err := st.CountResponses(t.Context(), "f"); err != nil || n != 0 {
		t.Errorf("after a canceled AddResponses: %d responses, %v; want none", n, err)
	}
	if err := st.EachResponse(ctx, store.ResponseFilter{FormID: "f"}, func(store.Response) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("EachResponse with a canceled context: err = %v, want context.Canceled", err)
	}
}

// testAddResponsesConcurrent has goroutines add overlapping batches in
// different orders: every instance is added exactly once, and none fails.
func testAddResponsesConcurrent(t *testing.T, st store.Store) {
	mustAddForm(t, st, formVersion("f", "h1"))
	const (
		workers   = 4
		batches   = 5
		batchSize = 40
		ids       = 300 // fewer than workers*batches*batchSize: they overlap
	)
	plans := make([][][]store.Response, workers)
	for w := range workers {
		rng := rand.New(rand.NewPCG(uint64(w), 7))
		for range batches {
			var b []store.Response
			for range batchSize {
				id := rng.IntN(ids)
				b = append(b, response("f", 1, fmt.Sprintf("id-%03d", id), base.Add(time.Duration(id)*time.Second)))
			}
			plans[w] = append(plans[w], b)
		}
	}
	distinct := map[string]bool{}
	for _, p := range plans {
		for _, b := range p {
			for _, r := range b {
				distinct[r.InstanceID] = true
			}
		}
	}
	addedBy := make([]map[string]int, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		addedBy[w] = map[string]int{}
		wg.Go(func() {
			for _, b := range plans[w] {
				added, err := st.AddResponses(t.Context(), b)
				if err != nil {
					errs[w] = err
					return
				}
				for i, a := range added {
					if a {
						addedBy[w][b[i].InstanceID]++
					}
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	total := map[string]int{}
	for _, m := range addedBy {
		for id, n := range m {
			total[id] += n
		}
	}
	for id := range distinct {
		if total[id] != 1 {
			t.Errorf("%s reported added %d times, want once", id, total[id])
		}
	}
	if n, err := st.CountResponses(t.Context(), "f"); err != nil || n != len(distinct) {
		t.Errorf("CountResponses = %d, %v; want %d", n, err, len(distinct))
	}
}

func testCountResponses(t *testing.T, st store.Store) {
	ctx := t.Context()
	mustAddForm(t, st, formVersion("f", "h1"))
	mustAddForm(t, st, formVersion("f", "h2"))
	mustAddForm(t, st, formVersion("g", "h1"))
	mustAdd(t, st, []store.Response{
		response("f", 1, "a", base), response("f", 2, "b", base), response("f", 2, "c", base),
		response("g", 1, "a", base),
	})
	for _, c := range []struct {
		formID string
		want   int
	}{{"f", 3}, {"g", 1}, {"none", 0}} {
		if n, err := st.CountResponses(ctx, c.formID); err != nil || n != c.want {
			t.Errorf("CountResponses(%s) = %d, %v; want %d", c.formID, n, err, c.want)
		}
	}
}

// collect streams f into a slice.
func collect(t *testing.T, st store.Store, f store.ResponseFilter) []store.Response {
	t.Helper()
	var got []store.Response
	if err := st.EachResponse(t.Context(), f, func(r store.Response) error {
		got = append(got, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

// sortSubmitted sorts as EachResponse must: SubmittedAt, then InstanceID
// byte by byte.
func sortSubmitted(rs []store.Response) {
	slices.SortFunc(rs, func(a, b store.Response) int {
		return cmp.Or(a.SubmittedAt.Compare(b.SubmittedAt), strings.Compare(a.InstanceID, b.InstanceID))
	})
}

func checkStream(t *testing.T, got, want []store.Response) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("streamed %d responses, want %d", len(got), len(want))
	}
	for i := range want {
		if d := diffResponse(got[i], want[i]); d != "" {
			t.Fatalf("response %d: %s", i, d)
		}
	}
}

func testEachResponseOrder(t *testing.T, st store.Store) {
	mustAddForm(t, st, formVersion("f", "h1"))
	mustAddForm(t, st, formVersion("f", "h2"))
	mustAddForm(t, st, formVersion("g", "h1"))
	// Ties in submitted_at are ordered by instance id byte by byte:
	// upper case before lower case, whatever the database's locale.
	// Times a fraction of a microsecond apart are the same once stored.
	var rs []store.Response
	for i, id := range []string{"b", "B", "a", "A", "_", "1", "ä", "z"} {
		rs = append(rs, response("f", 1+i%2, id, base.Add(time.Duration(i%3)*time.Minute)))
	}
	rs = append(rs, response("f", 1, "late", base.Add(time.Hour)))
	rs = append(rs, response("f", 2, "early", base.Add(-time.Hour)))
	rs = append(rs, response("f", 1, "sub-µs", base.Add(-100*time.Nanosecond)))
	mustAdd(t, st, rs)
	mustAdd(t, st, []store.Response{response("g", 1, "0", base)})

	var want []store.Response
	for _, r := range rs {
		want = append(want, stored(r))
	}
	sortSubmitted(want)
	tests := []struct {
		name     string
		revision int
	}{{"every revision", 0}, {"revision 1", 1}, {"revision 2", 2}, {"revision 3", 3}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w []store.Response
			for _, r := range want {
				if tt.revision == 0 || r.Revision == tt.revision {
					w = append(w, r)
				}
			}
			checkStream(t, collect(t, st, store.ResponseFilter{FormID: "f", Revision: tt.revision}), w)
		})
	}
	if got := collect(t, st, store.ResponseFilter{FormID: "none"}); len(got) != 0 {
		t.Errorf("a form without responses streamed %d", len(got))
	}
}

func testEachResponseStop(t *testing.T, st store.Store) {
	mustAddForm(t, st, formVersion("f", "h1"))
	var rs []store.Response
	for i := range 20 {
		rs = append(rs, response("f", 1, fmt.Sprintf("r%02d", i), base.Add(time.Duration(i)*time.Second)))
	}
	mustAdd(t, st, rs)
	stop := errors.New("enough")
	calls := 0
	err := st.EachResponse(t.Context(), store.ResponseFilter{FormID: "f"}, func(store.Response) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Errorf("EachResponse returned %v after %d calls; want fn's error after 3", err, calls)
	}
}

func testEachResponseCancel(t *testing.T, st store.Store) {
	mustAddForm(t, st, formVersion("f", "h1"))
	var rs []store.Response
	for i := range 20 {
		rs = append(rs, response("f", 1, fmt.Sprintf("r%02d", i), base.Add(time.Duration(i)*time.Second)))
	}
	mustAdd(t, st, rs)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	calls := 0
	err := st.EachResponse(ctx, store.ResponseFilter{FormID: "f"}, func(store.Response) error {
		calls++
		if calls == 5 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls != 5 {
		t.Errorf("EachResponse returned %v after %d calls; want context.Canceled after 5", err, calls)
	}
}

// testEachResponseLong streams a few thousand responses, with many ties in
// submitted_at, added in random order in several batches: a stream read in
// pages must neither skip nor repeat one at a page boundary.
func testEachResponseLong(t *testing.T, st store.Store) {
	const n = 3500
	mustAddForm(t, st, formVersion("f", "h1"))
	rng := rand.New(rand.NewPCG(3, 4))
	var rs []store.Response
	for _, i := range rng.Perm(n) {
		r := response("f", 1, fmt.Sprintf("%x", i*7919), base.Add(time.Duration(i/7)*time.Millisecond))
		r.Started, r.Ended = time.Time{}, time.Time{}
		rs = append(rs, r)
	}
	for b := range slices.Chunk(rs, 1000) {
		mustAdd(t, st, b)
	}
	want := make([]store.Response, 0, n)
	for _, r := range rs {
		want = append(want, stored(r))
	}
	sortSubmitted(want)
	checkStream(t, collect(t, st, store.ResponseFilter{FormID: "f"}), want)
}
