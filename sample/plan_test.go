package sample_test

import (
	"bytes"
	"encoding/csv"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/form/expr"
	"github.com/govsurvey/govsurvey/sample"
)

func builtin(t *testing.T, id string) *form.Form {
	t.Helper()
	f, err := form.ParseTemplate(id)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestSeedPlanSizes(t *testing.T) {
	tests := []struct {
		form             string
		divisor          int
		collected, valid int
	}{
		// The seed report's own numbers (seed 二(一)).
		{"netizen_2019", 1, 189495, 172075},
		{"practitioner_2019", 1, 31771, 26513},
		// 1/100, each rounded to the nearest response.
		{"netizen_2019", 100, 1895, 1721},
		{"practitioner_2019", 100, 318, 265},
	}
	for _, tt := range tests {
		p, err := sample.SeedPlan(tt.form, tt.divisor)
		if err != nil {
			t.Fatal(err)
		}
		if p.Collected() != tt.collected || p.Valid != tt.valid {
			t.Errorf("SeedPlan(%s, %d): collected %d, valid %d; want %d, %d", tt.form, tt.divisor, p.Collected(), p.Valid, tt.collected, tt.valid)
		}
		d := p.Defects
		for name, n := range map[string]int{"duplicates": d.Duplicates, "speeders": d.Speeders, "inconsistent": d.Inconsistent,
			"incomplete": d.Incomplete, "invalid values": d.InvalidValues, "speeding and inconsistent": d.SpeedingInconsistent} {
			if n == 0 {
				t.Errorf("SeedPlan(%s, %d) injects no %s", tt.form, tt.divisor, name)
			}
		}
	}
	if _, err := sample.SeedPlan("nope", 1); err == nil {
		t.Error("SeedPlan of an unknown form succeeded")
	}
}

// checkEnv evaluates checks over generated answers, independently of
// package clean.
type checkEnv form.Answers

func (e checkEnv) Value(name string) (string, bool) { return e[name], true }
func (e checkEnv) Current() string                  { return "" }
func (e checkEnv) Now() time.Time                   { return time.Time{} }

func TestPlanMatchesTargets(t *testing.T) {
	for _, id := range []string{"netizen_2019", "practitioner_2019"} {
		t.Run(id, func(t *testing.T) {
			f := builtin(t, id)
			p, err := sample.SeedPlan(id, 100)
			if err != nil {
				t.Fatal(err)
			}
			var all []sample.Response
			if err := p.Generate(f, func(r sample.Response) error { all = append(all, r); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(all) != p.Collected() {
				t.Fatalf("%d responses, want %d", len(all), p.Collected())
			}
			var valid []sample.Response
			reasons := map[string]int{}
			several := 0
			ids := map[string]bool{}
			clients := map[string]int{}
			for i, r := range all {
				if ids[r.InstanceID] {
					t.Errorf("instance id %s twice", r.InstanceID)
				}
				ids[r.InstanceID] = true
				clients[r.Client]++
				if i > 0 && !r.SubmittedAt.After(all[i-1].SubmittedAt) {
					t.Errorf("response %d not after the one before", i)
				}
				if len(r.Reasons) == 0 {
					valid = append(valid, r)
				}
				for _, c := range r.Reasons {
					reasons[c]++
				}
				if len(r.Reasons) > 1 {
					several++
				}
			}
			if len(valid) != p.Valid {
				t.Errorf("%d valid responses, want %d", len(valid), p.Valid)
			}
			d := p.Defects
			consistency := 0
			for c, n := range reasons {
				if strings.HasPrefix(c, "consistency:") {
					consistency += n
				}
			}
			if reasons["duplicate"] != d.Duplicates || reasons["speeding"] != d.Speeders+d.SpeedingInconsistent ||
				reasons["incomplete"] != d.Incomplete || reasons["invalid_value"] != d.InvalidValues ||
				consistency != d.Inconsistent+d.SpeedingInconsistent || several != d.SpeedingInconsistent {
				t.Errorf("reasons %v (several %d) do not match the defects %+v", reasons, several, d)
			}
			// Only duplicates share a client.
			shared := 0
			for _, n := range clients {
				shared += n - 1
			}
			if shared != d.Duplicates {
				t.Errorf("%d responses share a client, want the %d duplicates", shared, d.Duplicates)
			}

			checks := make(map[string]*expr.Expr)
			for _, c := range f.Checks {
				e, err := expr.Parse(c.Expression)
				if err != nil {
					t.Fatal(err)
				}
				checks[c.Name] = e
			}
			for _, r := range valid {
				for name, e := range checks {
					if !e.EvalBool(checkEnv(r.Answers)) {
						t.Errorf("valid response %s breaks check %s", r.InstanceID, name)
					}
				}
				if dur := r.Ended.Sub(r.Started); dur < 150*time.Second || dur > 450*time.Second {
					t.Errorf("valid response %s took %v", r.InstanceID, dur)
				}
				for _, q := range f.Fields() {
					if q.Required && q.Relevant == "" && r.Answers[q.Name] == "" {
						t.Errorf("valid response %s leaves %s unanswered", r.InstanceID, q.Name)
					}
				}
			}

			// Every target is met exactly among the valid responses of
			// its group (By = Group), or of no group with a target of its
			// own, for which the question is relevant.
			grouped := map[string]map[string]bool{} // field → groups with their own target
			for _, tg := range p.Targets {
				if tg.By != "" {
					if grouped[tg.Field] == nil {
						grouped[tg.Field] = map[string]bool{}
					}
					grouped[tg.Field][tg.By+"="+tg.Group] = true
				}
			}
			for _, tg := range p.Targets {
				q := f.Question(tg.Field)
				var rel *expr.Expr
				if q.Relevant != "" {
					var err error
					if rel, err = expr.Parse(q.Relevant); err != nil {
						t.Fatal(err)
					}
				}
				counts := map[string]int{}
				base, inScope := 0, 0
				for _, r := range valid {
					if tg.By != "" && r.Answers[tg.By] != tg.Group {
						continue
					}
					if tg.By == "" && len(grouped[tg.Field]) > 0 {
						own := false
						for g := range grouped[tg.Field] {
							by, group, _ := strings.Cut(g, "=")
							own = own || r.Answers[by] == group
						}
						if own {
							continue
						}
					}
					if rel == nil || rel.EvalBool(checkEnv(r.Answers)) {
						inScope++
					}
					v := r.Answers[tg.Field]
					if v == "" {
						continue
					}
					base++
					for _, c := range strings.Fields(v) {
						counts[c]++
					}
				}
				if base != inScope || base == 0 {
					t.Errorf("%s (%s=%s) answered by %d of the %d valid responses it is relevant for", tg.Field, tg.By, tg.Group, base, inScope)
				}
				var sum float64
				for _, s := range tg.Shares {
					sum += s.Percent
				}
				total := 0
				for _, s := range tg.Shares {
					got := counts[s.Choice]
					total += got
					if q.Type == "select_multiple" {
						if want := int(math.Floor(s.Percent/100*float64(base) + 0.5)); got != want {
							t.Errorf("%s=%s: %d, want %d (%.2f%% of %d)", tg.Field, s.Choice, got, want, s.Percent, base)
						}
						continue
					}
					// Largest remainder: the floor or the ceiling of the quota.
					quota := float64(base) * s.Percent / sum
					if float64(got) < math.Floor(quota)-1e-9 || float64(got) > math.Ceil(quota)+1e-9 {
						t.Errorf("%s=%s: %d, want %.3f rounded", tg.Field, s.Choice, got, quota)
					}
				}
				if q.Type == "select_one" && total != base {
					t.Errorf("%s: counts sum to %d, want %d", tg.Field, total, base)
				}
			}
		})
	}
}

func TestPlanDeterministic(t *testing.T) {
	f := builtin(t, "practitioner_2019")
	p, err := sample.SeedPlan("practitioner_2019", 100)
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	if err := p.WriteCSV(&a, f); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteCSV(&b, f); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("the same plan gave different responses")
	}
	rows, err := csv.NewReader(&a).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != p.Collected()+1 || !slices.Equal(rows[0][:5], []string{"instance_id", "started", "ended", "submitted_at", "client"}) {
		t.Errorf("CSV has %d rows, header %v", len(rows), rows[0])
	}
	p.Seed++
	var c bytes.Buffer
	if err := p.WriteCSV(&c, f); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Error("another seed gave the same responses")
	}
}

// TestGroupTargetErrors: a target by group must name a select_one that
// comes first, one of its choices, one By per field, and fields no check
// reads (repairs swap those between responses, across groups).
func TestGroupTargetErrors(t *testing.T) {
	f := builtin(t, "practitioner_2019")
	status := []sample.Share{{Choice: "good", Percent: 30}, {Choice: "fair", Percent: 50}, {Choice: "worrying", Percent: 20}}
	tests := []struct {
		name    string
		targets []sample.Target
		want    string
	}{
		{"by is later", []sample.Target{{Field: "job_role", By: "security_status", Group: "good", Shares: []sample.Share{{Choice: "soe", Percent: 100}}}}, "must come first"},
		{"by is multiple", []sample.Target{{Field: "security_status", By: "service_scope", Group: "av", Shares: status}}, "not a select_one"},
		{"no such group", []sample.Target{{Field: "security_status", By: "job_role", Group: "nope", Shares: status}}, `"nope" is not a choice`},
		{"two bys", []sample.Target{
			{Field: "security_status", By: "job_role", Group: "soe", Shares: status},
			{Field: "security_status", By: "gender", Group: "male", Shares: status},
		}, "by both"},
		{"twice", []sample.Target{
			{Field: "security_status", By: "job_role", Group: "soe", Shares: status},
			{Field: "security_status", By: "job_role", Group: "soe", Shares: status},
		}, "two targets"},
		{"check reads by", []sample.Target{{Field: "security_status", By: "age_band", Group: "a12_18", Shares: status}}, "check reads age_band"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := sample.Plan{FormID: f.ID, Valid: 20, Targets: tt.targets}
			err := p.Generate(f, func(sample.Response) error { return nil })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}
