package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/store"
)

// webResponse is a response as the web form stores it: with a receipt and
// paradata.
func webResponse(formID, id string, submitted time.Time) store.Response {
	r := response(formID, 1, id, submitted)
	r.Receipt = "R-" + id
	r.Paradata = []byte(`{"lang":"zh","pages":[{"page":"p1","ms":1200}]}`)
	return r
}

func testReceiptRoundTrip(t *testing.T, st store.Store) {
	ctx := t.Context()
	mustAddForm(t, st, formVersion("f", "h1"))
	mustAddForm(t, st, formVersion("g", "h1"))
	rs := []store.Response{
		webResponse("f", "a", base),
		webResponse("g", "b", base),
		response("f", 1, "imported", base), // no receipt, no paradata
	}
	for i, added := range mustAdd(t, st, rs) {
		if !added {
			t.Errorf("%s not added", rs[i].InstanceID)
		}
	}
	for _, want := range rs {
		got, err := st.Response(ctx, want.FormID, want.InstanceID)
		if err != nil {
			t.Fatal(err)
		}
		if d := diffResponse(got, want); d != "" {
			t.Errorf("%s: %s", want.InstanceID, d)
		}
		if !got.WithdrawnAt.IsZero() {
			t.Errorf("%s: withdrawn at %v before any withdrawal", want.InstanceID, got.WithdrawnAt)
		}
	}
	// A receipt names one response in the whole store: another response
	// with it is refused, and so is its whole batch.
	clash := webResponse("g", "c", base)
	clash.Receipt = "R-a"
	if _, err := st.AddResponses(ctx, []store.Response{webResponse("g", "d", base), clash}); err == nil {
		t.Error("a second response with receipt R-a was accepted")
	}
	if _, err := st.Response(ctx, "g", "d"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused batch left response d behind: %v", err)
	}
	// Invalid text is refused in a receipt as in every text column.
	bad := webResponse("f", "bad", base)
	bad.Receipt = "R\x00"
	if _, err := st.AddResponses(ctx, []store.Response{bad}); err == nil {
		t.Error("a receipt with a NUL byte was accepted")
	}
}

func testWithdrawResponse(t *testing.T, st store.Store) {
	ctx := t.Context()
	mustAddForm(t, st, formVersion("f", "h1"))
	var rs []store.Response
	for i, id := range []string{"keep1", "gone", "keep2"} {
		rs = append(rs, webResponse("f", id, base.Add(time.Duration(i)*time.Second)))
	}
	mustAdd(t, st, rs)
	if _, err := st.ReplaceFlags(ctx, store.Cleaning{FormID: "f", RuleVersion: "clean/test", Collected: 3},
		[]store.Flag{flag("f", "gone", "speeding", "duplicate"), flag("f", "keep2", "speeding")}); err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)

	got, err := st.WithdrawResponse(ctx, "R-gone")
	if err != nil {
		t.Fatal(err)
	}
	want := stored(rs[1])
	switch {
	case got.FormID != "f" || got.InstanceID != "gone" || got.Receipt != "R-gone":
		t.Errorf("withdrew %s/%s (receipt %s), want f/gone", got.FormID, got.InstanceID, got.Receipt)
	case len(got.Answers) != 0 || got.Paradata != nil || got.Client != "":
		t.Errorf("withdrawn response keeps answers %q, paradata %q, client %q", got.Answers, got.Paradata, got.Client)
	case got.WithdrawnAt.Before(before) || got.WithdrawnAt.Location() != time.UTC:
		t.Errorf("WithdrawnAt = %v, want a UTC time after %v", got.WithdrawnAt, before)
	case !sameTime(got.SubmittedAt, want.SubmittedAt) || !sameTime(got.Started, want.Started):
		t.Errorf("withdrawal changed the times: %+v", got)
	}
	read, err := st.Response(ctx, "f", "gone")
	if err != nil {
		t.Fatal(err)
	}
	if !read.WithdrawnAt.Equal(got.WithdrawnAt) || len(read.Answers) != 0 || read.Client != "" || read.Paradata != nil {
		t.Errorf("Response after withdrawal = %+v, want %+v", read, got)
	}

	// Out of the analysis: the stream, the count and the flags.
	var streamed []string
	if err := st.EachResponse(ctx, store.ResponseFilter{FormID: "f"}, func(r store.Response) error {
		streamed = append(streamed, r.InstanceID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(streamed, []string{"keep1", "keep2"}) {
		t.Errorf("EachResponse after withdrawal = %v", streamed)
	}
	if n, err := st.CountResponses(ctx, "f"); err != nil || n != 2 {
		t.Errorf("CountResponses after withdrawal = %d, %v; want 2", n, err)
	}
	if fl := flagsOf(t, st, store.FlagFilter{FormID: "f"}); !slices.Equal(fl, []string{"keep2:speeding"}) {
		t.Errorf("flags after withdrawal = %v", fl)
	}
	if fl := flagsOf(t, st, store.FlagFilter{FormID: "f", Reason: "duplicate"}); len(fl) != 0 {
		t.Errorf("duplicate flags after withdrawal = %v", fl)
	}

	// A retried submission of the instance stores nothing.
	if added := mustAdd(t, st, []store.Response{webResponse("f", "gone", base)}); added[0] {
		t.Error("re-submitting a withdrawn instance stored it again")
	}
	// Withdrawing again changes nothing.
	again, err := st.WithdrawResponse(ctx, "R-gone")
	if err != nil {
		t.Fatal(err)
	}
	if !again.WithdrawnAt.Equal(got.WithdrawnAt) {
		t.Errorf("second withdrawal moved WithdrawnAt from %v to %v", got.WithdrawnAt, again.WithdrawnAt)
	}
	for _, receipt := range []string{"R-none", "", "r-gone"} {
		if _, err := st.WithdrawResponse(ctx, receipt); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("WithdrawResponse(%q) = %v, want ErrNotFound", receipt, err)
		}
	}
	// The others are untouched.
	for _, r := range []store.Response{rs[0], rs[2]} {
		got, err := st.Response(ctx, r.FormID, r.InstanceID)
		if err != nil {
			t.Fatal(err)
		}
		if d := diffResponse(got, r); d != "" || !got.WithdrawnAt.IsZero() {
			t.Errorf("%s after another's withdrawal: %s (withdrawn %v)", r.InstanceID, d, got.WithdrawnAt)
		}
	}
}

// Two withdrawals of one receipt at once both succeed and agree.
func testWithdrawConcurrent(t *testing.T, st store.Store) {
	mustAddForm(t, st, formVersion("f", "h1"))
	mustAdd(t, st, []store.Response{webResponse("f", "x", base)})
	const n = 4
	got := make([]store.Response, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = st.WithdrawResponse(t.Context(), "R-x") })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("withdrawal %d: %v", i, errs[i])
		}
		if !got[i].WithdrawnAt.Equal(got[0].WithdrawnAt) {
			t.Errorf("withdrawal %d at %v, withdrawal 0 at %v", i, got[i].WithdrawnAt, got[0].WithdrawnAt)
		}
	}
}

func testSecret(t *testing.T, st store.Store) {
	ctx := t.Context()
	first, err := st.Secret(ctx, "pseudonym", []byte{1, 2, 3, 0, 255})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, []byte{1, 2, 3, 0, 255}) {
		t.Errorf("first Secret = %x", first)
	}
	second, err := st.Secret(ctx, "pseudonym", []byte("another"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(second, first) {
		t.Errorf("second Secret = %x, want the first value %x", second, first)
	}
	other, err := st.Secret(ctx, "other", []byte("o"))
	if err != nil || string(other) != "o" {
		t.Errorf("Secret(other) = %q, %v", other, err)
	}
	for _, bad := range []struct {
		name  string
		value []byte
	}{{"", []byte("v")}, {"empty", nil}, {"nul\x00", []byte("v")}} {
		if _, err := st.Secret(ctx, bad.name, bad.value); err == nil {
			t.Errorf("Secret(%q, %q) accepted", bad.name, bad.value)
		}
	}

	// Nodes starting at once agree on one value.
	const n = 6
	vals := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { vals[i], errs[i] = st.Secret(ctx, "race", []byte(fmt.Sprint("node", i))) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !bytes.Equal(vals[i], vals[0]) {
			t.Errorf("node %d got %q, node 0 got %q", i, vals[i], vals[0])
		}
	}
}
