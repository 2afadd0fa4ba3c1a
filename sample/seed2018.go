package sample

import (
	"fmt"
	"strings"

	"github.com/govsurvey/govsurvey/form"
)

// The 2018 waves. The seed report compares 2019 with 2018 in its section
// 二(二) and in 三(二); the instruments are the 2019 ones with form_id and
// version changed (shared/instruments/README.md), so that waves are
// compared by field name.
//
// Gender: section 二(二)1 gives 2018 "男性占比 77%，女性占比 23%" for the
// netizens and, a paragraph later, "2018 年男性占比 67%，女性占比 33%" for the
// practitioners; 77/23 is the netizens' and 67/33 the practitioners'.
//
// Safety change (三(二)): 2019 "improved" (big_up + up) is 48.76%, "比去年增加
// 了 16.29%", so 2018's is 48.76 − 16.29 = 32.47%; "declined" fell by 2.82
// points from 13.30% to 10.48%. The seed does not split 2018's 32.47% into
// big_up and up: the split below follows 2019's proportions (illustrative).
//
// Questions the seed gives no 2018 figures for keep 2019's distributions,
// so the wave comparison shows no change for them.
func init() {
	seedTargets["netizen_2018"] = wave2018(seedTargets["netizen_2019"], []Target{
		{Field: "gender", Shares: shares("male", 77, "female", 23), Source: "seed 二(二)1 (2018)"},
		{Field: "age_band", Shares: shares("a12_18", 22.58, "a19_24", 44.89, "a25_30", 17.19, "a31_45", 12.06, "a46_60", 2.92, "a60_80", 0.36), Source: "seed 二(二)2 (2018)"},
		{Field: "education", Shares: shares("junior_or_below", 10.97, "high_school", 18.72, "vocational", 6.22, "college", 20.08,
			"bachelor", 39.16, "master", 3.70, "doctor", 1.34), Source: "seed 二(二)3 (2018)"},
		{Field: "safety_change", Shares: shares("big_up", 9.44, "up", 23.03, "same", 54.23, "down", 13.30),
			Source: "seed 三(二): improved 48.76 − 16.29 = 32.47, declined 10.48 + 2.82 = 13.30; the big_up/up split is illustrative"},
	})
	seedTargets["practitioner_2018"] = wave2018(seedTargets["practitioner_2019"], []Target{
		{Field: "gender", Shares: shares("male", 67, "female", 33), Source: "seed 二(二)1 (2018, practitioners)"},
		{Field: "age_band", Shares: shares("a12_18", 3.75, "a19_24", 34.63, "a25_30", 32.66, "a31_45", 25.51, "a46_60", 3.26, "a60_80", 0.35), Source: "seed 二(二)2 (2018, practitioners)"},
		{Field: "education", Shares: shares("below_high_school", 4.33, "high_or_vocational", 17.75, "college", 25.75, "bachelor", 45.05,
			"master", 5.49, "doctor", 1.63), Source: "seed 二(二)3 (2018, practitioners)"},
	})
	// The seed gives no 2018 funnel. The netizens' valid count is the
	// example of CONTRACTS.md §6; the rest is illustrative.
	seedFunnels["netizen_2018"] = struct{ collected, valid int }{152000, 140523}
	seedFunnels["practitioner_2018"] = struct{ collected, valid int }{26000, 22000}
}

// wave2018 is base with the fields of changed replaced.
func wave2018(base, changed []Target) []Target {
	out := make([]Target, 0, len(base))
	for _, t := range base {
		for _, c := range changed {
			if c.Field == t.Field && c.By == t.By && c.Group == t.Group {
				t = c
				break
			}
		}
		if !strings.Contains(t.Source, "2018") {
			t.Source = "2019's, the seed giving no 2018 figure (" + t.Source + ")"
		}
		out = append(out, t)
	}
	return out
}

// SeedForm returns a built-in form of the seed survey by form id: the
// 2019 templates as they are, and the 2018 waves ("netizen_2018",
// "practitioner_2018") as the 2019 instrument with form_id, version and
// title changed.
func SeedForm(formID string) (*form.Form, error) {
	base, year := formID, ""
	if stem, ok := strings.CutSuffix(formID, "_2018"); ok {
		base, year = stem+"_2019", "2018"
	}
	f, err := form.ParseTemplate(base)
	if err != nil {
		return nil, fmt.Errorf("sample: %w", err)
	}
	if year == "" {
		return f, nil
	}
	f.ID, f.Version = formID, year
	f.Title = strings.ReplaceAll(f.Title, "2019", year)
	if f.Settings != nil {
		f.Settings["form_id"], f.Settings["version"] = f.ID, f.Version
		if t, ok := f.Settings["form_title"]; ok {
			f.Settings["form_title"] = strings.ReplaceAll(t, "2019", year)
		}
	}
	return f, nil
}
