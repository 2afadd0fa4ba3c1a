package sample

import (
	"fmt"
	"math"
	"time"
)

// Share is one choice's published share of the valid responses, in percent.
type Share struct {
	Choice  string
	Percent float64
}

// Target is the distribution one question must have among the valid
// responses of a Plan. A select_one's shares are allocated exactly over
// the responses for which it is relevant (largest remainder, after scaling
// the shares to sum to 100: published percentages are rounded); a
// select_multiple's are each choice's share of those responses, rounded
// half up, and may sum past 100.
type Target struct {
	Field  string
	Shares []Share
	Source string // where the figures come from: a section of the seed report, or "illustrative"
}

// The seed report is /work/shared/seeds/000_3a2a9b0fdcd40da0.txt (the 2019
// national netizen cybersecurity satisfaction survey). Section numbers
// below are the report's own. Questions the report gives no figures for
// get illustrative shares, marked as such.
var seedTargets = map[string][]Target{
	"netizen_2019": {
		{"gender", shares("male", 67, "female", 33), "seed 二(一)1"},
		{"age_band", shares("a12_18", 22.46, "a19_24", 34.84, "a25_30", 17.94, "a31_45", 18.44, "a46_60", 5.60, "a60_80", 0.73), "seed 二(一)2"},
		{"education", shares("junior_or_below", 9.32, "high_school", 18.09, "vocational", 7.06, "college", 22.95,
			"bachelor", 36.67, "master", 4.27, "doctor", 1.63), "seed 二(一)3"},
		{"net_age", shares("y1_3", 9.18, "y4_6", 22.37, "y7_9", 18.44, "y10_12", 23.52, "y13_15", 11.13,
			"y16_18", 5.69, "y19_30", 9.68), "seed 二(一)4"},
		// The report lists eleven occupations; "other" is what they leave
		// of 100%.
		{"occupation", shares("student", 35, "employee", 14.48, "teacher", 11.56, "engineer", 7.19, "manager", 5.22,
			"civil_servant", 3.03, "physician", 1.29, "farmer", 1.27, "media", 1, "researcher", 0.54, "legal", 0.39,
			"other", 19.03), "seed 二(一)5"},
		// The report only says Zhejiang and Guangdong lead and the north-east,
		// north-west, south-west, Hong Kong, Macau and Taiwan trail.
		{"province", provinceShares(), "illustrative, after seed 二(一)6"},
		{"overall_safety", shares("very_safe", 11.38, "safe", 39.87, "neutral", 38.16, "unsafe", 7.47, "very_unsafe", 3.13), "seed 三(一)"},
		{"safety_change", shares("big_up", 14.17, "up", 34.59, "same", 40.76, "down", 10.48), "seed 三(二)"},
	},
	"practitioner_2019": {
		{"gender", shares("male", 70.21, "female", 29.79), "seed 二(一)1"},
		{"age_band", shares("a12_18", 4.84, "a19_24", 33.82, "a25_30", 32.04, "a31_45", 25.31, "a46_60", 3.45, "a60_80", 0.55), "seed 二(一)2"},
		{"education", shares("below_high_school", 4.24, "high_or_vocational", 10.22, "college", 24.24, "bachelor", 50.08,
			"master", 8.72, "doctor", 2.50), "seed 二(一)3"},
		// Counts out of 26,513. The report's last line repeats the
		// state-owned enterprises' 2,971; "other organisations" are the
		// 6,378 the seven other counts leave.
		{"job_role", shares("nsp_security", 4430, "nsp_other", 4645, "security_vendor", 3705, "industry_assoc", 915,
			"gov_regulator", 1027, "soe", 2971, "research_univ", 2442, "other_org", 6378), "seed 二(一)7 (counts)"},
		{"years_in_industry", shares("y1_3", 39.58, "y4_10", 44.48, "y11_15", 9.09, "y16_30", 6.82), "seed 二(一)8"},
		{"service_scope", shares("basic_industry", 20.99, "av", 20.65, "news", 19.71, "datacenter", 18.35, "travel", 16.41,
			"cloud", 16.07, "gaming", 15.06, "ecommerce", 13.23, "access", 10.9, "email", 10.5, "software_download", 9.82,
			"finance", 9.68, "im", 7.67, "search", 7.65, "forum_weibo", 7.38, "cdn", 7.02, "dns", 6.16, "app_store", 5.33,
			"other", 17.38), "seed 二(一)9, table 2-1"},
	},
}

// seedFunnels are the report's collected and valid counts (seed 二(一)).
var seedFunnels = map[string]struct{ collected, valid int }{
	"netizen_2019":      {189495, 172075},
	"practitioner_2019": {31771, 26513},
}

func shares(kv ...any) []Share {
	out := make([]Share, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		var p float64
		switch v := kv[i+1].(type) {
		case int:
			p = float64(v)
		case float64:
			p = v
		}
		out = append(out, Share{kv[i].(string), p})
	}
	return out
}

func provinceShares() []Share {
	weights := map[string]float64{
		"zhejiang": 14, "guangdong": 12, "jiangsu": 6, "shandong": 5, "henan": 5, "sichuan": 4, "hubei": 4, "hunan": 4,
		"fujian": 4, "beijing": 4, "shanghai": 4, "anhui": 3, "hebei": 3, "jiangxi": 3, "guangxi": 3, "chongqing": 2.5,
		"shaanxi": 2.5, "tianjin": 2, "shanxi": 2, "yunnan": 2, "guizhou": 2, "liaoning": 1.5, "jilin": 1, "heilongjiang": 1,
		"neimenggu": 1, "hainan": 1, "gansu": 1, "xinjiang": 0.8, "ningxia": 0.5, "qinghai": 0.4, "xizang": 0.3,
		"hongkong": 0.3, "macau": 0.1, "taiwan": 0.1,
	}
	order := []string{"beijing", "tianjin", "hebei", "shanxi", "neimenggu", "liaoning", "jilin", "heilongjiang", "shanghai",
		"jiangsu", "zhejiang", "anhui", "fujian", "jiangxi", "shandong", "henan", "hubei", "hunan", "guangdong", "guangxi",
		"hainan", "chongqing", "sichuan", "guizhou", "yunnan", "xizang", "shaanxi", "gansu", "qinghai", "ningxia", "xinjiang",
		"hongkong", "macau", "taiwan"}
	out := make([]Share, len(order))
	for i, p := range order {
		out[i] = Share{p, weights[p]}
	}
	return out
}

// SeedTargets returns the seed report's published distributions for one
// of the built-in forms ("netizen_2019", "practitioner_2019").
func SeedTargets(formID string) ([]Target, error) {
	ts, ok := seedTargets[formID]
	if !ok {
		return nil, fmt.Errorf("sample: no seed figures for form %q", formID)
	}
	return ts, nil
}

// defectMix is how a seed plan splits the invalid responses between the
// kinds of defect. The report gives no breakdown of its cleaning; these
// shares are this project's choice, kept so that every reason is present
// at every scale down to 1/100.
var defectMix = []float64{
	35, // duplicates
	30, // speeders
	15, // inconsistent
	10, // incomplete
	5,  // invalid values
	5,  // speeding and inconsistent
}

// SeedPlan returns the plan that reproduces the seed report's funnel for
// a built-in form, scaled down by divisor (1: full size, 189,495 collected
// and 172,075 valid for the netizens, 31,771 and 26,513 for the
// practitioners; 100: 1,895 and 1,721). Collected and valid are each
// rounded to the nearest response; the difference is injected as defects.
func SeedPlan(formID string, divisor int) (Plan, error) {
	fn, ok := seedFunnels[formID]
	if !ok {
		return Plan{}, fmt.Errorf("sample: no seed figures for form %q", formID)
	}
	if divisor < 1 {
		return Plan{}, fmt.Errorf("sample: divisor %d is not at least 1", divisor)
	}
	ts, _ := SeedTargets(formID)
	collected := int(math.Round(float64(fn.collected) / float64(divisor)))
	valid := int(math.Round(float64(fn.valid) / float64(divisor)))
	n := largestRemainder(collected-valid, defectMix)
	return Plan{
		FormID:  formID,
		Valid:   valid,
		Targets: ts,
		Defects: Defects{
			Duplicates:           n[0],
			Speeders:             n[1],
			Inconsistent:         n[2],
			Incomplete:           n[3],
			InvalidValues:        n[4],
			SpeedingInconsistent: n[5],
		},
		Seed:  2019,
		Start: time.Date(2019, 7, 1, 8, 0, 0, 0, time.FixedZone("CST", 8*3600)),
	}, nil
}

// largestRemainder splits n in proportion to weights: each part is the
// floor of its quota, and the units left go to the largest remainders
// (ties to the earlier weight). The parts sum to n exactly.
func largestRemainder(n int, weights []float64) []int {
	var sum float64
	for _, w := range weights {
		sum += w
	}
	out := make([]int, len(weights))
	if n <= 0 || sum <= 0 {
		return out
	}
	rem := make([]float64, len(weights))
	given := 0
	for i, w := range weights {
		q := float64(n) * w / sum
		out[i] = int(math.Floor(q))
		rem[i] = q - float64(out[i])
		given += out[i]
	}
	for ; given < n; given++ {
		best := 0
		for i := range rem {
			if rem[i] > rem[best] {
				best = i
			}
		}
		out[best]++
		rem[best] = -1
	}
	return out
}
