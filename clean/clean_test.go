package clean_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/clean"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/store/storetest"
)

var t0 = time.Date(2019, 7, 1, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))

// resp is one response of a test case. dur is ended − started; noTimes
// leaves both timestamps out.
type resp struct {
	id       string
	client   string
	at       time.Duration // submitted at t0 + at
	dur      time.Duration
	noTimes  bool
	set      form.Answers // changes to the complete, consistent base answers; "" removes
	honeypot bool
}

// base answers every required question, consistently.
func base() form.Answers {
	return form.Answers{
		"age_band": "a19_60", "education": "school", "used": "no", "employed": "no",
		"s1": "agree", "s2": "neutral", "s3": "disagree", "s4": "agree", "check_item": "no_opinion",
	}
}

// r is a response with defaults: its own client, submitted id-th second,
// five minutes long.
func r(id string, set form.Answers) resp {
	return resp{id: id, client: "c-" + id, dur: 5 * time.Minute, set: set}
}

func addForm(t *testing.T, st store.Store, path string) *form.Form {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, f, err := register(t.Context(), st, strings.TrimPrefix(path, "testdata/"), data)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func store1(t *testing.T, st store.Store, f *form.Form, rs []resp) {
	t.Helper()
	var out []store.Response
	for i, x := range rs {
		a := base()
		for k, v := range x.set {
			if v == "" {
				delete(a, k)
			} else {
				a[k] = v
			}
		}
		enc, err := f.EncodeAnswers(a)
		if err != nil {
			t.Fatal(err)
		}
		at := x.at
		if at == 0 {
			at = time.Duration(i+1) * time.Second
		}
		sr := store.Response{
			FormID: f.ID, Revision: 1, InstanceID: x.id, SubmittedAt: t0.Add(at),
			Client: x.client, Channel: "web", Answers: enc, Honeypot: x.honeypot,
		}
		if !x.noTimes {
			sr.Ended = sr.SubmittedAt.Add(-2 * time.Second)
			sr.Started = sr.Ended.Add(-x.dur)
		}
		out = append(out, sr)
	}
	if _, err := st.AddResponses(t.Context(), out); err != nil {
		t.Fatal(err)
	}
}

// register compiles an XLSForm and stores it as a form revision, as
// 'govsurvey form add' does.
func register(ctx context.Context, st store.Store, name string, data []byte) (store.FormVersion, *form.Form, error) {
	f, err := form.Parse(name, data)
	if err != nil {
		return store.FormVersion{}, nil, err
	}
	def, err := f.Definition()
	if err != nil {
		return store.FormVersion{}, nil, err
	}
	sum := sha256.Sum256(def)
	fv, _, err := st.AddForm(ctx, store.FormVersion{FormID: f.ID, Version: f.Version, Title: f.Title,
		Hash: hex.EncodeToString(sum[:]), Definition: def, Source: data, SourceName: name})
	return fv, f, err
}

// flagsOf reads the stored flags as instance id → "reason reason".
func flagsOf(t *testing.T, st store.Store, formID string) map[string]string {
	t.Helper()
	got := map[string]string{}
	if err := st.EachFlag(t.Context(), store.FlagFilter{FormID: formID}, func(fl store.Flag) error {
		if fl.RuleVersion != clean.RuleVersion {
			t.Errorf("flag of %s has rule version %q, want %q", fl.InstanceID, fl.RuleVersion, clean.RuleVersion)
		}
		got[fl.InstanceID] = strings.Join(fl.Reasons, " ")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

// wantFunnel is the funnel the expected flags imply, without overrides.
func wantFunnel(collected int, flags map[string]string) (byReason map[string]int, several, valid int) {
	byReason = map[string]int{}
	for _, rs := range flags {
		codes := strings.Fields(rs)
		for _, c := range codes {
			byReason[c]++
		}
		if len(codes) > 1 {
			several++
		}
	}
	return byReason, several, collected - len(flags)
}

func TestRules(t *testing.T) {
	// Four ordinary responses around the median, so that in every case
	// the median is five minutes and the speeding limit 90 s.
	pad := []resp{r("p1", nil), r("p2", nil), r("p3", nil), r("p4", nil)}
	tests := []struct {
		name     string
		settings *clean.Settings
		rs       []resp
		want     map[string]string // instance id → reasons, in canonical order
	}{
		{"clean data", nil, []resp{r("a", nil), r("b", map[string]string{"used": "yes", "services": "bank tax"})}, nil},
		{
			"duplicates with different instance ids",
			nil,
			[]resp{
				{id: "first", client: "k1", at: 10 * time.Second, dur: 5 * time.Minute, set: form.Answers{"nickname": "x"}},
				{id: "again", client: "k1", at: 20 * time.Second, dur: 4 * time.Minute, set: form.Answers{"nickname": "x"}},
				{id: "third", client: "k1", at: 30 * time.Second, dur: 6 * time.Minute, set: form.Answers{"nickname": "x"}},
				// Another client, or other answers: not a duplicate.
				{id: "other-client", client: "k2", at: 40 * time.Second, dur: 5 * time.Minute, set: form.Answers{"nickname": "x"}},
				{id: "other-answers", client: "k1", at: 50 * time.Second, dur: 5 * time.Minute, set: form.Answers{"nickname": "y"}},
				// An empty client never matches, not even another empty client.
				{id: "anon1", at: 60 * time.Second, dur: 5 * time.Minute, set: form.Answers{"nickname": "x"}},
				{id: "anon2", at: 70 * time.Second, dur: 5 * time.Minute, set: form.Answers{"nickname": "x"}},
			},
			map[string]string{"again": "duplicate", "third": "duplicate"},
		},
		{
			"duplicates submitted in the same microsecond: the smaller instance id is earlier",
			nil,
			[]resp{
				{id: "b-later-id", client: "k", at: time.Minute, dur: 5 * time.Minute},
				{id: "a-earlier-id", client: "k", at: time.Minute, dur: 5 * time.Minute},
			},
			map[string]string{"b-later-id": "duplicate"},
		},
		{
			"speeding: strictly below 0.3 of the median, of responses with both times",
			nil,
			[]resp{
				{id: "d20", client: "1", dur: 20 * time.Second},
				{id: "d75", client: "2", dur: 75 * time.Second}, // exactly 0.3 × 250 s: not below
				{id: "d200", client: "3", dur: 200 * time.Second},
				{id: "d300", client: "4", dur: 300 * time.Second},
				{id: "d400", client: "5", dur: 400 * time.Second},
				{id: "d500", client: "6", dur: 500 * time.Second},
				// No timestamps: not checked, and not in the median
				// (which would be 300 s with it, the limit 90 s).
				{id: "untimed", client: "7", noTimes: true},
			},
			map[string]string{"d20": "speeding"},
		},
		{
			"a speeder that is also inconsistent",
			nil,
			append(slices.Clone(pad), resp{id: "both", client: "k", dur: 30 * time.Second,
				set: form.Answers{"age_band": "a12_18", "education": "doctor"}}),
			map[string]string{"both": "speeding consistency:teen_degree"},
		},
		{
			"unanswered questions in checks: the empty string",
			nil,
			append(slices.Clone(pad),
				// nickname unanswered: ${nickname} != 'admin' is true.
				r("no-nick", form.Answers{"nickname": ""}),
				r("admin", form.Answers{"nickname": "admin"}),
				// age_years unanswered: '' < 12 is false (NaN), so not(…) holds.
				r("no-years", form.Answers{"age_years": ""}),
				r("young", form.Answers{"age_years": "9"}),
				// ${nickname} != '' is false when unanswered.
				r("elder-no-nick", form.Answers{"age_band": "a60_80"}),
				r("elder-nick", form.Answers{"age_band": "a60_80", "nickname": "lao"}),
				// teen_degree with education unanswered: holds, but incomplete.
				r("teen-no-edu", form.Answers{"age_band": "a12_18", "education": ""}),
			),
			map[string]string{
				"admin":         "consistency:not_admin",
				"young":         "consistency:adult_years",
				"elder-no-nick": "consistency:elder_nick",
				"teen-no-edu":   "incomplete",
			},
		},
		{
			"incomplete: required, relevant and unanswered",
			nil,
			append(slices.Clone(pad),
				r("no-age", form.Answers{"age_band": ""}),
				r("services-missing", form.Answers{"used": "yes"}),
				r("services-not-relevant", form.Answers{"used": "no", "services": ""}),
				r("job-missing", form.Answers{"employed": "yes"}),
				r("job-group-not-relevant", form.Answers{"employed": "no", "job": ""}),
				r("phone-required", form.Answers{"employed": "yes", "job": "clerk", "contact": "yes"}),
				r("phone-not-required", form.Answers{"employed": "yes", "job": "clerk", "contact": "no"}),
				r("phone-in-hidden-group", form.Answers{"employed": "no", "contact": "yes"}),
				r("unanswered-optional", form.Answers{"nickname": "", "income": "", "born": ""}),
			),
			map[string]string{
				"no-age":           "incomplete",
				"services-missing": "incomplete",
				"job-missing":      "incomplete",
				"phone-required":   "incomplete",
			},
		},
		{
			"invalid values",
			nil,
			append(slices.Clone(pad),
				r("select-one", form.Answers{"education": "phd"}),
				r("select-multiple", form.Answers{"used": "yes", "services": "bank post"}),
				r("select-multiple-ok", form.Answers{"used": "yes", "services": "tax bank"}),
				r("integer", form.Answers{"age_years": "12.5"}),
				r("integer-ok", form.Answers{"age_years": "+30"}),
				r("decimal", form.Answers{"income": "NaN"}),
				r("decimal-ok", form.Answers{"income": "1.5e3"}),
				r("date", form.Answers{"born": "2001-02-30"}),
				r("date-ok", form.Answers{"born": "2001-02-28"}),
				// Several invalid answers are one reason.
				r("two", form.Answers{"education": "phd", "born": "yesterday"}),
			),
			map[string]string{
				"select-one":      "invalid_value",
				"select-multiple": "invalid_value",
				"integer":         "invalid_value",
				"decimal":         "invalid_value",
				"date":            "invalid_value",
				"two":             "invalid_value",
			},
		},
		{
			"honeypot",
			nil,
			append(slices.Clone(pad), resp{id: "bot", client: "b", dur: 5 * time.Minute, honeypot: true}),
			map[string]string{"bot": "honeypot"},
		},
		{
			"every §3 reason at once, in canonical order",
			nil,
			append(slices.Clone(pad),
				resp{id: "orig", client: "k", at: time.Hour, dur: 5 * time.Minute,
					set: form.Answers{"age_band": "a12_18", "education": "doctor", "nickname": "admin", "born": "x", "used": "yes"}},
				resp{id: "copy", client: "k", at: 2 * time.Hour, dur: time.Second, honeypot: true,
					set: form.Answers{"age_band": "a12_18", "education": "doctor", "nickname": "admin", "born": "x", "used": "yes"}},
			),
			map[string]string{
				"orig": "incomplete invalid_value consistency:not_admin consistency:teen_degree",
				"copy": "duplicate speeding incomplete invalid_value consistency:not_admin consistency:teen_degree honeypot",
			},
		},
		{
			"rules turned off",
			func() *clean.Settings {
				s := clean.DefaultSettings()
				s.Duplicate, s.Speeding, s.Incomplete, s.InvalidValue, s.Consistency, s.Honeypot = false, false, false, false, false, false
				return &s
			}(),
			append(slices.Clone(pad),
				resp{id: "orig", client: "k", at: time.Hour, dur: 5 * time.Minute, set: form.Answers{"education": "phd", "age_band": ""}},
				resp{id: "copy", client: "k", at: 2 * time.Hour, dur: time.Second, honeypot: true, set: form.Answers{"education": "phd", "age_band": ""}},
			),
			nil,
		},
		{
			"speeding ratio changed",
			func() *clean.Settings { s := clean.DefaultSettings(); s.SpeedingRatio = 0.5; return &s }(),
			append(slices.Clone(pad), resp{id: "d149", client: "x", dur: 149 * time.Second}, resp{id: "d150", client: "y", dur: 150 * time.Second},
				resp{id: "d301", client: "z", dur: 301 * time.Second}),
			map[string]string{"d149": "speeding"},
		},
	}
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					st := b.Open(t)
					f := addForm(t, st, "testdata/rules.md")
					store1(t, st, f, tt.rs)
					var settings []clean.Settings
					if tt.settings != nil {
						settings = append(settings, *tt.settings)
					}
					fun, err := clean.Run(t.Context(), st, f.ID, settings...)
					if err != nil {
						t.Fatal(err)
					}
					want := tt.want
					if want == nil {
						want = map[string]string{}
					}
					got := flagsOf(t, st, f.ID)
					if !maps.Equal(got, want) {
						t.Errorf("flags:\n got %v\nwant %v", got, want)
					}
					byReason, several, valid := wantFunnel(len(tt.rs), want)
					if fun.Collected != len(tt.rs) || fun.Flagged != len(want) || fun.SeveralReasons != several ||
						fun.Valid != valid || !maps.Equal(fun.InvalidByReason, byReason) {
						t.Errorf("funnel = %+v; want collected %d, flagged %d, several %d, valid %d, by reason %v",
							fun, len(tt.rs), len(want), several, valid, byReason)
					}
					// Re-running gives identical flags.
					if _, err := clean.Run(t.Context(), st, f.ID, settings...); err != nil {
						t.Fatal(err)
					}
					if again := flagsOf(t, st, f.ID); !maps.Equal(again, got) {
						t.Errorf("second run: %v, first %v", again, got)
					}
				})
			}
		})
	}
}

func TestOverrides(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			st := b.Open(t)
			f := addForm(t, st, "testdata/rules.md")
			store1(t, st, f, []resp{
				r("ok1", nil), r("ok2", nil), r("ok3", nil),
				r("bad", form.Answers{"education": "phd"}),
				r("bad2", form.Answers{"nickname": "admin"}),
			})
			if _, err := clean.Invalid(ctx, st, f.ID); !errors.Is(err, clean.ErrNotCleaned) {
				t.Errorf("Invalid before any run: err = %v, want ErrNotCleaned", err)
			}
			if _, err := clean.Run(ctx, st, f.ID); err != nil {
				t.Fatal(err)
			}
			for _, o := range []store.Override{
				{FormID: f.ID, InstanceID: "bad", Valid: true, Note: "phd is a doctorate, typed by hand", Actor: "analyst"},
				{FormID: f.ID, InstanceID: "ok1", Valid: false, Note: "interviewer's test entry", Actor: "analyst"},
				// Marked valid, then back to invalid: the latest counts.
				{FormID: f.ID, InstanceID: "bad2", Valid: true, Note: "hmm", Actor: "a"},
				{FormID: f.ID, InstanceID: "bad2", Valid: false, Note: "no, really admin", Actor: "b"},
			} {
				if _, err := clean.AddOverride(ctx, st, o); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := clean.AddOverride(ctx, st, store.Override{FormID: f.ID, InstanceID: "nope", Valid: true, Note: "n", Actor: "a"}); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("override of a missing response: err = %v, want ErrNotFound", err)
			}
			// The overrides survive re-cleaning, which does not change the flags.
			fun, err := clean.Run(ctx, st, f.ID)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[string]string{"bad": "invalid_value", "bad2": "consistency:not_admin"}; !maps.Equal(flagsOf(t, st, f.ID), want) {
				t.Errorf("flags = %v, want %v", flagsOf(t, st, f.ID), want)
			}
			if fun.Collected != 5 || fun.Flagged != 2 || fun.OverriddenValid != 1 || fun.OverriddenInvalid != 1 || fun.Valid != 3 {
				t.Errorf("funnel = %+v; want 5 collected, 2 flagged, 1 overridden each way, 3 valid", fun)
			}
			invalid, err := clean.Invalid(ctx, st, f.ID)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[string]bool{"ok1": true, "bad2": true}; !maps.Equal(invalid, want) {
				t.Errorf("Invalid = %v, want %v", invalid, want)
			}
		})
	}
}

func TestSettingsFor(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]string
		want     func(*clean.Settings)
		err      string
	}{
		{"none", nil, func(*clean.Settings) {}, ""},
		{"ratio and rules", map[string]string{"speeding_ratio": "0.5", "Duplicate Rule": "off", "burst_rule": "yes", "burst_window": "90"},
			func(s *clean.Settings) {
				s.SpeedingRatio, s.Duplicate, s.Burst, s.BurstWindow = 0.5, false, true, 90*time.Second
			}, ""},
		{"go duration", map[string]string{"burst_window": "1h30m", "burst_max": "3", "straightlining_run": "4"},
			func(s *clean.Settings) { s.BurstWindow, s.BurstMax, s.StraightliningRun = 90*time.Minute, 3, 4 }, ""},
		{"other columns are not cleaning's", map[string]string{"form_title": "x", "instance_name": "y"}, func(*clean.Settings) {}, ""},
		{"bad ratio", map[string]string{"speeding_ratio": "1.5"}, nil, "settings!2: column speeding_ratio: \"1.5\" is not a share"},
		{"bad switch", map[string]string{"honeypot_rule": "maybe"}, nil, "settings!2: column honeypot_rule: \"maybe\" is not on or off"},
		{"bad count", map[string]string{"burst_max": "0"}, nil, "settings!2: column burst_max"},
		{"bad window", map[string]string{"burst_window": "soon"}, nil, "settings!2: column burst_window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := clean.SettingsFor(&form.Form{ID: "f", Settings: tt.settings})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := clean.DefaultSettings()
			tt.want(&want)
			if got != want {
				t.Errorf("SettingsFor = %+v\nwant %+v", got, want)
			}
		})
	}
	// The defaults are CONTRACTS.md §3's.
	d := clean.DefaultSettings()
	if !d.Duplicate || !d.Speeding || d.SpeedingRatio != 0.3 || !d.Incomplete || !d.InvalidValue || !d.Consistency || !d.Honeypot ||
		d.Straightlining || d.Attention || d.NearDuplicate || d.Burst {
		t.Errorf("defaults = %+v", d)
	}
}

// TestSettingsSheet checks that Run reads the form's settings sheet.
func TestSettingsSheet(t *testing.T) {
	st := storetest.OpenSQLite(t)
	data, err := os.ReadFile("testdata/rules.md")
	if err != nil {
		t.Fatal(err)
	}
	md := strings.Replace(string(data),
		"|          | form_id | version |\n|          | rules   | 1       |",
		"|          | form_id | version | duplicate_rule | speeding_ratio |\n|          | rules   | 1       | off            | 0.5            |", 1)
	_, f, err := register(t.Context(), st, "rules.md", []byte(md))
	if err != nil {
		t.Fatal(err)
	}
	store1(t, st, f, []resp{
		r("p1", nil), r("p2", nil), r("p3", nil),
		{id: "orig", client: "k", dur: 5 * time.Minute}, {id: "copy", client: "k", dur: 5 * time.Minute},
		{id: "d140", client: "s", dur: 140 * time.Second},
	})
	fun, err := clean.Run(t.Context(), st, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"d140": "speeding"}; !maps.Equal(flagsOf(t, st, f.ID), want) {
		t.Errorf("flags = %v, want %v", flagsOf(t, st, f.ID), want)
	}
	if fun.Settings["duplicate_rule"] != "off" || fun.Settings["speeding_ratio"] != "0.5" {
		t.Errorf("funnel settings = %v", fun.Settings)
	}
	c, err := st.Cleaning(t.Context(), f.ID)
	if err != nil || !strings.Contains(string(c.Settings), `"speeding_ratio":"0.5"`) || c.Collected != 6 {
		t.Errorf("stored run = %+v (%s), %v", c, c.Settings, err)
	}
}

func TestFurtherIndices(t *testing.T) {
	on := func(change func(*clean.Settings)) clean.Settings {
		s := clean.DefaultSettings()
		change(&s)
		return s
	}
	// pad's responses differ from each other in the battery, so that they
	// are neither straight-liners nor near-duplicates of one another.
	pad := []resp{
		r("p1", form.Answers{"nickname": "p1", "s1": "agree", "s2": "agree", "s3": "neutral", "s4": "disagree"}),
		r("p2", form.Answers{"nickname": "p2", "s1": "neutral", "s2": "disagree", "s3": "agree", "s4": "neutral"}),
		r("p3", form.Answers{"nickname": "p3", "s1": "disagree", "s2": "neutral", "s3": "neutral", "s4": "agree"}),
	}
	tests := []struct {
		name     string
		settings clean.Settings
		rs       []resp
		want     map[string]string
	}{
		{
			"straight-lining over the whole battery",
			on(func(s *clean.Settings) { s.Straightlining = true }),
			append(slices.Clone(pad),
				r("all-agree", form.Answers{"nickname": "a", "s1": "agree", "s2": "agree", "s3": "agree", "s4": "agree"}),
				r("three", form.Answers{"nickname": "b", "s1": "agree", "s2": "agree", "s3": "agree", "s4": "neutral"}),
				r("gap", form.Answers{"nickname": "c", "s1": "agree", "s2": "agree", "s3": "", "s4": "agree"}),
			),
			map[string]string{"all-agree": "straightlining"},
		},
		{
			"straight-lining, a run of three",
			on(func(s *clean.Settings) { s.Straightlining, s.StraightliningRun = true, 3 }),
			append(slices.Clone(pad),
				r("three", form.Answers{"nickname": "b", "s1": "neutral", "s2": "agree", "s3": "agree", "s4": "agree"}),
				r("two-twice", form.Answers{"nickname": "c", "s1": "agree", "s2": "agree", "s3": "neutral", "s4": "neutral"}),
			),
			map[string]string{"three": "straightlining"},
		},
		{
			"attention checks",
			on(func(s *clean.Settings) { s.Attention = true }),
			append(slices.Clone(pad),
				r("careless", form.Answers{"nickname": "a", "check_item": "agree"}),
				r("skipped", form.Answers{"nickname": "b", "check_item": ""}),
			),
			map[string]string{"careless": "attention", "skipped": "attention"},
		},
		{
			"near-duplicates across clients",
			on(func(s *clean.Settings) { s.NearDuplicate, s.NearDuplicateShare = true, 0.9 }),
			// 11 answered fields each; "near" differs from "src" in one
			// (10/11 ≥ 0.9), "far" in two (9/12 < 0.9).
			[]resp{
				r("src", form.Answers{"nickname": "n", "age_years": "33"}),
				r("near", form.Answers{"nickname": "n", "age_years": "34"}),
				r("far", form.Answers{"nickname": "n", "age_years": "35", "income": "10"}),
				// The same client's copy is the duplicate rule's business
				// (submitted before "near", it has only "src" to match).
				{id: "own-copy", client: "c-src", dur: 5 * time.Minute, at: 1500 * time.Millisecond, set: form.Answers{"nickname": "n", "age_years": "33"}},
			},
			map[string]string{"near": "near_duplicate", "own-copy": "duplicate"},
		},
		{
			"bursts from one client",
			on(func(s *clean.Settings) { s.Burst, s.BurstMax, s.BurstWindow = true, 2, time.Minute }),
			[]resp{
				{id: "b1", client: "k", at: 0 * time.Second, dur: 5 * time.Minute, set: form.Answers{"nickname": "1"}},
				{id: "b2", client: "k", at: 20 * time.Second, dur: 5 * time.Minute, set: form.Answers{"nickname": "2"}},
				{id: "b3", client: "k", at: 50 * time.Second, dur: 5 * time.Minute, set: form.Answers{"nickname": "3"}},  // third within 60 s of b1
				{id: "b4", client: "k", at: 100 * time.Second, dur: 5 * time.Minute, set: form.Answers{"nickname": "4"}}, // b2 is 80 s back: fine
				{id: "b5", client: "k", at: 109 * time.Second, dur: 5 * time.Minute, set: form.Answers{"nickname": "5"}}, // b3 59 s back
				{id: "o1", client: "other", at: 21 * time.Second, dur: 5 * time.Minute, set: form.Answers{"nickname": "6"}},
				{id: "n1", at: 22 * time.Second, dur: 5 * time.Minute, set: form.Answers{"nickname": "7"}},
				{id: "n2", at: 23 * time.Second, dur: 5 * time.Minute, set: form.Answers{"nickname": "8"}},
				{id: "n3", at: 24 * time.Second, dur: 5 * time.Minute, set: form.Answers{"nickname": "9"}},
			},
			map[string]string{"b3": "burst", "b5": "burst"},
		},
		{
			"the further indices are off by default",
			clean.DefaultSettings(),
			append(slices.Clone(pad),
				r("all-agree", form.Answers{"nickname": "a", "s1": "agree", "s2": "agree", "s3": "agree", "s4": "agree"}),
				r("careless", form.Answers{"nickname": "b", "check_item": "agree"}),
				r("near", form.Answers{"nickname": "p1", "s1": "agree", "s2": "agree", "s3": "neutral", "s4": "agree"}),
			),
			nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := storetest.OpenSQLite(t)
			f := addForm(t, st, "testdata/rules.md")
			store1(t, st, f, tt.rs)
			if _, err := clean.Run(t.Context(), st, f.ID, tt.settings); err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == nil {
				want = map[string]string{}
			}
			if got := flagsOf(t, st, f.ID); !maps.Equal(got, want) {
				t.Errorf("flags:\n got %v\nwant %v", got, want)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	st := storetest.OpenSQLite(t)
	ctx := context.Background()
	if _, err := clean.Run(ctx, st, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Run of a missing form: err = %v, want ErrNotFound", err)
	}
	f := addForm(t, st, "testdata/rules.md")
	bad := clean.DefaultSettings()
	bad.SpeedingRatio = 0
	if _, err := clean.Run(ctx, st, f.ID, bad); err == nil {
		t.Error("Run with a zero speeding ratio succeeded")
	}
	if _, err := clean.Run(ctx, st, f.ID, clean.DefaultSettings(), clean.DefaultSettings()); err == nil {
		t.Error("Run with two settings succeeded")
	}
	// An empty form cleans to an empty funnel, and the run is recorded.
	fun, err := clean.Run(ctx, st, f.ID)
	if err != nil || fun.Collected != 0 || fun.Valid != 0 {
		t.Errorf("empty form: %+v, %v", fun, err)
	}
	if _, err := st.Cleaning(ctx, f.ID); err != nil {
		t.Errorf("empty run not recorded: %v", err)
	}
	if got := fmt.Sprint(fun.Reasons()); got != "[]" {
		t.Errorf("Reasons of an empty funnel = %s", got)
	}

	// Answers the form cannot decode stop the run, naming the response,
	// and leave the previous run's flags alone.
	store1(t, st, f, []resp{r("a", map[string]string{"education": "phd"})})
	if _, err := clean.Run(ctx, st, f.ID); err != nil {
		t.Fatal(err)
	}
	var rs []store.Response
	for i := range 2000 { // more than a batch, so the stream has to stop
		rs = append(rs, store.Response{FormID: f.ID, Revision: 1, InstanceID: fmt.Sprintf("z%04d", i),
			SubmittedAt: t0.Add(time.Hour), Answers: []byte{9}})
	}
	if _, err := st.AddResponses(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if _, err := clean.Run(ctx, st, f.ID); err == nil || !strings.Contains(err.Error(), "response z0000") {
		t.Errorf("Run over undecodable answers: err = %v, want one naming response z0000", err)
	}
	if got := flagsOf(t, st, f.ID); !maps.Equal(got, map[string]string{"a": "invalid_value"}) {
		t.Errorf("flags after a failed run = %v, want the previous run's", got)
	}
}
