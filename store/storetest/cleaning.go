package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/store"
)

// flagsOf streams the flags matching f as "instance:reason reason" strings.
func flagsOf(t *testing.T, st store.Store, f store.FlagFilter) []string {
	t.Helper()
	var got []string
	if err := st.EachFlag(t.Context(), f, func(fl store.Flag) error {
		if fl.FormID != f.FormID {
			t.Errorf("flag of %s streamed for form %s", fl.FormID, f.FormID)
		}
		got = append(got, fl.InstanceID+":"+strings.Join(fl.Reasons, " "))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func flag(formID, instanceID string, reasons ...string) store.Flag {
	return store.Flag{FormID: formID, InstanceID: instanceID, Reasons: reasons}
}

// addResponses stores one response per id in form formID (revision 1).
func addResponses(t *testing.T, st store.Store, formID string, ids ...string) {
	t.Helper()
	var rs []store.Response
	for i, id := range ids {
		rs = append(rs, response(formID, 1, id, base.Add(time.Duration(i)*time.Second)))
	}
	mustAdd(t, st, rs)
}

func testCleaningNotFound(t *testing.T, st store.Store) {
	if _, err := st.Cleaning(t.Context(), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Cleaning of a form never cleaned: err = %v, want ErrNotFound", err)
	}
	if got := flagsOf(t, st, store.FlagFilter{FormID: "nope"}); len(got) != 0 {
		t.Errorf("flags of a form never cleaned: %v", got)
	}
	if got, err := st.Overrides(t.Context(), "nope"); err != nil || len(got) != 0 {
		t.Errorf("Overrides of a form without any = %v, %v; want none", got, err)
	}
}

func testReplaceFlags(t *testing.T, st store.Store) {
	ctx := t.Context()
	mustAddForm(t, st, formVersion("f", "h1"))
	mustAddForm(t, st, formVersion("g", "h1"))
	addResponses(t, st, "f", "a", "b", "c", "B")
	addResponses(t, st, "g", "a")

	g, err := st.ReplaceFlags(ctx, store.Cleaning{FormID: "g", RuleVersion: "clean/1", Collected: 1, Settings: []byte(`{}`)},
		[]store.Flag{flag("g", "a", "honeypot")})
	if err != nil {
		t.Fatal(err)
	}

	settings := []byte(`{"speeding_ratio":0.3}`)
	run1, err := st.ReplaceFlags(ctx, store.Cleaning{FormID: "f", RuleVersion: "clean/1", Settings: settings, Collected: 4},
		[]store.Flag{
			flag("f", "b", "duplicate"),
			// Reasons keep the order they were given in.
			flag("f", "a", "speeding", "consistency:teen_degree", "duplicate"),
			flag("f", "B", "invalid_value"),
		})
	if err != nil {
		t.Fatal(err)
	}
	if run1.CleanedAt.IsZero() || run1.CleanedAt.Location() != time.UTC {
		t.Errorf("CleanedAt = %v, want a UTC time", run1.CleanedAt)
	}
	got, err := st.Cleaning(ctx, "f")
	if err != nil {
		t.Fatal(err)
	}
	if got.FormID != "f" || got.RuleVersion != "clean/1" || string(got.Settings) != string(settings) ||
		got.Collected != 4 || !got.CleanedAt.Equal(run1.CleanedAt) {
		t.Errorf("Cleaning = %+v, want %+v", got, run1)
	}
	// Byte order of instance ids: "B" before "a".
	want := []string{"B:invalid_value", "a:speeding consistency:teen_degree duplicate", "b:duplicate"}
	if got := flagsOf(t, st, store.FlagFilter{FormID: "f"}); !slices.Equal(got, want) {
		t.Errorf("flags after run 1 = %q, want %q", got, want)
	}
	if err := st.EachFlag(ctx, store.FlagFilter{FormID: "f"}, func(fl store.Flag) error {
		if fl.RuleVersion != "clean/1" || !fl.CleanedAt.Equal(run1.CleanedAt) || fl.CleanedAt.Location() != time.UTC {
			t.Errorf("flag %s: rule version %q, cleaned at %v; want the run's (%q, %v)", fl.InstanceID, fl.RuleVersion, fl.CleanedAt, run1.RuleVersion, run1.CleanedAt)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// The next run replaces the flags as a whole.
	run2, err := st.ReplaceFlags(ctx, store.Cleaning{FormID: "f", RuleVersion: "clean/2", Collected: 4},
		[]store.Flag{flag("f", "c", "speeding")})
	if err != nil {
		t.Fatal(err)
	}
	if got := flagsOf(t, st, store.FlagFilter{FormID: "f"}); !slices.Equal(got, []string{"c:speeding"}) {
		t.Errorf("flags after run 2 = %q, want [c:speeding]", got)
	}
	if got := flagsOf(t, st, store.FlagFilter{FormID: "f", Reason: "duplicate"}); len(got) != 0 {
		t.Errorf("run 1's reasons still indexed after run 2: %q", got)
	}
	if got, err := st.Cleaning(ctx, "f"); err != nil || got.RuleVersion != "clean/2" || len(got.Settings) != 0 || !got.CleanedAt.Equal(run2.CleanedAt) {
		t.Errorf("Cleaning after run 2 = %+v, %v", got, err)
	}

	// A run without flags leaves none, and is still recorded.
	if _, err := st.ReplaceFlags(ctx, store.Cleaning{FormID: "f", RuleVersion: "clean/2", Collected: 4}, nil); err != nil {
		t.Fatal(err)
	}
	if got := flagsOf(t, st, store.FlagFilter{FormID: "f"}); len(got) != 0 {
		t.Errorf("flags after an empty run = %q, want none", got)
	}
	if _, err := st.Cleaning(ctx, "f"); err != nil {
		t.Errorf("Cleaning after an empty run: %v", err)
	}

	// Other forms and the responses are untouched.
	if got := flagsOf(t, st, store.FlagFilter{FormID: "g"}); !slices.Equal(got, []string{"a:honeypot"}) {
		t.Errorf("flags of g = %q, want [a:honeypot]", got)
	}
	if got, err := st.Cleaning(ctx, "g"); err != nil || !got.CleanedAt.Equal(g.CleanedAt) {
		t.Errorf("Cleaning of g = %+v, %v; want %+v", got, err, g)
	}
	if n, err := st.CountResponses(ctx, "f"); err != nil || n != 4 {
		t.Errorf("CountResponses(f) = %d, %v; want 4", n, err)
	}
}

func testEachFlagFilter(t *testing.T, st store.Store) {
	ctx := t.Context()
	mustAddForm(t, st, formVersion("f", "h1"))
	var ids []string
	var flags []store.Flag
	for i := range 2500 {
		id := fmt.Sprintf("r%04d", i)
		ids = append(ids, id)
		switch {
		case i%5 == 0:
			flags = append(flags, flag("f", id, "speeding", "duplicate"))
		case i%2 == 0:
			flags = append(flags, flag("f", id, "duplicate"))
		}
	}
	addResponses(t, st, "f", ids...)
	if _, err := st.ReplaceFlags(ctx, store.Cleaning{FormID: "f", RuleVersion: "clean/1", Collected: len(ids)}, flags); err != nil {
		t.Fatal(err)
	}
	want := func(reason, after string, limit int) []string {
		var out []string
		for _, fl := range flags {
			if fl.InstanceID <= after || (reason != "" && !slices.Contains(fl.Reasons, reason)) {
				continue
			}
			if limit > 0 && len(out) == limit {
				break
			}
			out = append(out, fl.InstanceID+":"+strings.Join(fl.Reasons, " "))
		}
		return out
	}
	tests := []struct {
		name   string
		filter store.FlagFilter
	}{
		{"every flag", store.FlagFilter{}},
		{"one reason", store.FlagFilter{Reason: "speeding"}},
		{"another reason", store.FlagFilter{Reason: "duplicate"}},
		{"a reason nobody has", store.FlagFilter{Reason: "honeypot"}},
		{"a page", store.FlagFilter{After: "r0100", Limit: 7}},
		{"a page of one reason", store.FlagFilter{Reason: "speeding", After: "r0100", Limit: 7}},
		{"a page longer than a chunk", store.FlagFilter{Reason: "duplicate", After: "r0003", Limit: 1100}},
		{"after the last", store.FlagFilter{After: "r9999"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.filter.FormID = "f"
			got := flagsOf(t, st, tt.filter)
			w := want(tt.filter.Reason, tt.filter.After, tt.filter.Limit)
			if !slices.Equal(got, w) {
				t.Errorf("%d flags, want %d; first difference in %q vs %q", len(got), len(w), firstN(got, 3), firstN(w, 3))
			}
		})
	}
	// fn's error stops the stream.
	stop := errors.New("enough")
	calls := 0
	err := st.EachFlag(ctx, store.FlagFilter{FormID: "f"}, func(store.Flag) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 2 {
		t.Errorf("EachFlag returned %v after %d calls; want fn's error after 2", err, calls)
	}
}

func firstN(s []string, n int) []string { return s[:min(n, len(s))] }

// testReplaceFlagsRefused checks that a bad run changes nothing: the
// previous run's flags stay.
func testReplaceFlagsRefused(t *testing.T, st store.Store) {
	ctx := t.Context()
	mustAddForm(t, st, formVersion("f", "h1"))
	addResponses(t, st, "f", "a", "b")
	if _, err := st.ReplaceFlags(ctx, store.Cleaning{FormID: "f", RuleVersion: "clean/1", Collected: 2},
		[]store.Flag{flag("f", "a", "duplicate")}); err != nil {
		t.Fatal(err)
	}
	run := store.Cleaning{FormID: "f", RuleVersion: "clean/1", Collected: 2}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	tests := []struct {
		name  string
		ctx   context.Context
		run   store.Cleaning
		flags []store.Flag
	}{
		{"no form id", ctx, store.Cleaning{RuleVersion: "clean/1"}, nil},
		{"no rule version", ctx, store.Cleaning{FormID: "f"}, nil},
		{"flag of another form", ctx, run, []store.Flag{flag("g", "b", "speeding")}},
		{"no instance id", ctx, run, []store.Flag{flag("f", "", "speeding")}},
		{"no reason", ctx, run, []store.Flag{flag("f", "b")}},
		{"empty reason", ctx, run, []store.Flag{flag("f", "b", "")}},
		{"reason with a space", ctx, run, []store.Flag{flag("f", "b", "too fast")}},
		{"reason twice", ctx, run, []store.Flag{flag("f", "b", "speeding", "speeding")}},
		{"response twice", ctx, run, []store.Flag{flag("f", "b", "speeding"), flag("f", "b", "duplicate")}},
		{"reason not UTF-8", ctx, run, []store.Flag{flag("f", "b", "bad\xff")}},
		{"canceled", canceled, run, []store.Flag{flag("f", "b", "speeding")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := st.ReplaceFlags(tt.ctx, tt.run, tt.flags); err == nil {
				t.Fatal("ReplaceFlags succeeded")
			}
			if got := flagsOf(t, st, store.FlagFilter{FormID: "f"}); !slices.Equal(got, []string{"a:duplicate"}) {
				t.Errorf("flags after a refused run = %q, want the previous run's [a:duplicate]", got)
			}
		})
	}
}

func testOverrides(t *testing.T, st store.Store) {
	ctx := t.Context()
	mustAddForm(t, st, formVersion("f", "h1"))
	mustAddForm(t, st, formVersion("g", "h1"))
	addResponses(t, st, "f", "a", "b")
	addResponses(t, st, "g", "a")
	if _, err := st.ReplaceFlags(ctx, store.Cleaning{FormID: "f", RuleVersion: "clean/1", Collected: 2},
		[]store.Flag{flag("f", "a", "speeding")}); err != nil {
		t.Fatal(err)
	}
	adds := []store.Override{
		{FormID: "f", InstanceID: "a", Valid: true, Note: "timed on paper, entered later", Actor: "王分析"},
		{FormID: "g", InstanceID: "a", Valid: false, Note: "test entry", Actor: "ops"},
		{FormID: "f", InstanceID: "b", Valid: false, Note: "respondent asked to withdraw 'b'", Actor: "li"},
		{FormID: "f", InstanceID: "a", Valid: false, Note: "on second thought", Actor: "王分析"},
	}
	var stored []store.Override
	for _, o := range adds {
		got, err := st.AddOverride(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID == 0 || got.CreatedAt.IsZero() || got.CreatedAt.Location() != time.UTC {
			t.Errorf("AddOverride returned id %d, created %v; want an id and a UTC time", got.ID, got.CreatedAt)
		}
		if len(stored) > 0 && got.ID <= stored[len(stored)-1].ID {
			t.Errorf("override ids do not increase: %d after %d", got.ID, stored[len(stored)-1].ID)
		}
		stored = append(stored, got)
	}
	// Re-cleaning does not touch them.
	if _, err := st.ReplaceFlags(ctx, store.Cleaning{FormID: "f", RuleVersion: "clean/1", Collected: 2}, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		formID string
		want   []store.Override
	}{
		{"f", []store.Override{stored[0], stored[2], stored[3]}},
		{"g", []store.Override{stored[1]}},
	} {
		got, err := st.Overrides(ctx, c.formID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(c.want) {
			t.Fatalf("Overrides(%s) = %d, want %d", c.formID, len(got), len(c.want))
		}
		for i := range got {
			g, w := got[i], c.want[i]
			if g.ID != w.ID || g.FormID != w.FormID || g.InstanceID != w.InstanceID || g.Valid != w.Valid ||
				g.Note != w.Note || g.Actor != w.Actor || !g.CreatedAt.Equal(w.CreatedAt) {
				t.Errorf("Overrides(%s)[%d] = %+v, want %+v", c.formID, i, g, w)
			}
		}
	}
}

func testOverridesRefused(t *testing.T, st store.Store) {
	mustAddForm(t, st, formVersion("f", "h1"))
	addResponses(t, st, "f", "a")
	ok := store.Override{FormID: "f", InstanceID: "a", Valid: true, Note: "n", Actor: "x"}
	tests := []struct {
		name     string
		change   func(*store.Override)
		notFound bool
	}{
		{"unknown response", func(o *store.Override) { o.InstanceID = "zz" }, true},
		{"unknown form", func(o *store.Override) { o.FormID = "nope" }, true},
		{"no note", func(o *store.Override) { o.Note = " " }, false},
		{"no actor", func(o *store.Override) { o.Actor = "" }, false},
		{"no instance id", func(o *store.Override) { o.InstanceID = "" }, false},
		{"note not UTF-8", func(o *store.Override) { o.Note = "\xff" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.change(&o)
			_, err := st.AddOverride(t.Context(), o)
			if err == nil {
				t.Fatal("AddOverride succeeded")
			}
			if errors.Is(err, store.ErrNotFound) != tt.notFound {
				t.Errorf("err = %v; ErrNotFound = %v, want %v", err, errors.Is(err, store.ErrNotFound), tt.notFound)
			}
		})
	}
	if got, err := st.Overrides(t.Context(), "f"); err != nil || len(got) != 0 {
		t.Errorf("after refused overrides: %d stored, %v", len(got), err)
	}
}

// testReplaceFlagsWithdrawn flags a response withdrawn while the run was
// reading it: a withdrawn response keeps no flags.
func testReplaceFlagsWithdrawn(t *testing.T, st store.Store) {
	ctx := t.Context()
	mustAddForm(t, st, formVersion("f", "h1"))
	gone := response("f", 1, "gone", base)
	gone.Receipt = "R-flagged-gone"
	mustAdd(t, st, []store.Response{gone, response("f", 1, "kept", base)})
	if _, err := st.WithdrawResponse(ctx, gone.Receipt); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ReplaceFlags(ctx, store.Cleaning{FormID: "f", RuleVersion: "clean/1", Collected: 2},
		[]store.Flag{flag("f", "gone", "speeding"), flag("f", "kept", "speeding")}); err != nil {
		t.Fatal(err)
	}
	for _, reason := range []string{"", "speeding"} {
		if got := flagsOf(t, st, store.FlagFilter{FormID: "f", Reason: reason}); !slices.Equal(got, []string{"kept:speeding"}) {
			t.Errorf("flags (reason %q) = %q, want only [kept:speeding]", reason, got)
		}
	}
}
