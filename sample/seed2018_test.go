package sample_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/govsurvey/govsurvey/sample"
)

// TestSeed2018: the 2018 waves are the 2019 instruments under their own
// form id and version, and their data have the seed's 2018 figures.
func TestSeed2018(t *testing.T) {
	tests := []struct {
		form   string
		shares map[string]float64 // field=choice+choice → percent (seed 二(二), 三(二))
	}{
		{"netizen_2018", map[string]float64{"gender=male": 77, "gender=female": 23, "age_band=a19_24": 44.89,
			"education=bachelor": 39.16, "safety_change=big_up+up": 32.47, "safety_change=down": 13.30}},
		{"practitioner_2018", map[string]float64{"gender=male": 67, "age_band=a25_30": 32.66, "education=bachelor": 45.05}},
	}
	for _, tt := range tests {
		t.Run(tt.form, func(t *testing.T) {
			f, err := sample.SeedForm(tt.form)
			if err != nil {
				t.Fatal(err)
			}
			f19, err := sample.SeedForm(strings.Replace(tt.form, "2018", "2019", 1))
			if err != nil {
				t.Fatal(err)
			}
			if f.ID != tt.form || f.Version != "2018" || !strings.Contains(f.Title, "2018") || f.Settings["form_id"] != tt.form {
				t.Errorf("form %s version %s title %q", f.ID, f.Version, f.Title)
			}
			if len(f.Fields()) != len(f19.Fields()) {
				t.Errorf("%d fields, 2019 has %d", len(f.Fields()), len(f19.Fields()))
			}
			plan, err := sample.SeedPlan(tt.form, 10)
			if err != nil {
				t.Fatal(err)
			}
			if plan.FormID != tt.form || plan.Start.Year() != 2018 {
				t.Errorf("plan %s starts %v", plan.FormID, plan.Start)
			}
			var valid []sample.Response
			if err := plan.Generate(f, func(r sample.Response) error {
				if len(r.Reasons) == 0 {
					valid = append(valid, r)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(valid) != plan.Valid {
				t.Fatalf("%d valid, plan %d", len(valid), plan.Valid)
			}
			for key, want := range tt.shares {
				field, choices, _ := strings.Cut(key, "=")
				k := 0
				for _, r := range valid {
					if slices.Contains(strings.Split(choices, "+"), r.Answers[field]) {
						k++
					}
				}
				got := 100 * float64(k) / float64(len(valid))
				// Within one response, after the planner scales published
				// shares that do not sum to 100 (100.16 for the
				// practitioners' ages).
				if math.Abs(got-want) > 100/float64(len(valid))+0.1 {
					t.Errorf("%s: %.2f%%, seed %.2f%%", key, got, want)
				}
			}
		})
	}
}
