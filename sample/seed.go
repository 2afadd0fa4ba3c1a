package sample

import (
	"fmt"
	"math"
	"strings"
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
// half up, and may sum past 100: a choice a select_multiple's target does
// not list is never chosen.
//
// With By and Group set, the target holds within one group only: the
// responses whose answer to the select_one By is Group (the seed's figures
// by job role). The question's responses outside every such group follow
// its target without By, or illustrative shares.
type Target struct {
	Field  string
	Shares []Share
	Source string // where the figures come from: a section of the seed report, or "illustrative"
	By     string // a select_one answered before Field; empty: all responses
	Group  string // a choice of By
}

// The seed report is /work/shared/seeds/000_3a2a9b0fdcd40da0.txt (the 2019
// national netizen cybersecurity satisfaction survey). Section numbers
// below are the report's own. Questions the report gives no figures for
// get illustrative shares, marked as such.
var seedTargets = map[string][]Target{
	"netizen_2019": {
		{Field: "gender", Shares: shares("male", 67, "female", 33), Source: "seed 二(一)1"},
		{Field: "age_band", Shares: shares("a12_18", 22.46, "a19_24", 34.84, "a25_30", 17.94, "a31_45", 18.44, "a46_60", 5.60, "a60_80", 0.73), Source: "seed 二(一)2"},
		{Field: "education", Shares: shares("junior_or_below", 9.32, "high_school", 18.09, "vocational", 7.06, "college", 22.95,
			"bachelor", 36.67, "master", 4.27, "doctor", 1.63), Source: "seed 二(一)3"},
		{Field: "net_age", Shares: shares("y1_3", 9.18, "y4_6", 22.37, "y7_9", 18.44, "y10_12", 23.52, "y13_15", 11.13,
			"y16_18", 5.69, "y19_30", 9.68), Source: "seed 二(一)4"},
		// The report lists eleven occupations; "other" is what they leave
		// of 100%.
		{Field: "occupation", Shares: shares("student", 35, "employee", 14.48, "teacher", 11.56, "engineer", 7.19, "manager", 5.22,
			"civil_servant", 3.03, "physician", 1.29, "farmer", 1.27, "media", 1, "researcher", 0.54, "legal", 0.39,
			"other", 19.03), Source: "seed 二(一)5"},
		// The report only says Zhejiang and Guangdong lead and the north-east,
		// north-west, south-west, Hong Kong, Macau and Taiwan trail.
		{Field: "province", Shares: provinceShares(), Source: "illustrative, after seed 二(一)6"},
		{Field: "overall_safety", Shares: shares("very_safe", 11.38, "safe", 39.87, "neutral", 38.16, "unsafe", 7.47, "very_unsafe", 3.13), Source: "seed 三(一)"},
		{Field: "safety_change", Shares: shares("big_up", 14.17, "up", 34.59, "same", 40.76, "down", 10.48), Source: "seed 三(二)"},

		// Chapter 四. The figures are pictures; what the text states is
		// reproduced, the rest of each distribution is illustrative and
		// follows the text's words ("两成左右", "近五成", "超过五成").
		{Field: "used_gov_online", Shares: shares("yes", 85.4, "no", 14.6), Source: "seed 四(一), 图 4-1: 没有使用过 14.6%"},
		// Of those who used any (the question's relevance, and the base
		// of the report's table); the seed's text does not say whether its
		// percentages are of users or of all netizens.
		{Field: "gov_services_used", Shares: shares("bank", 59.58, "transport", 50.3, "education", 48.82, "social_security", 46.89,
			"medical", 44.89, "tourism", 22, "employment", 21, "business", 20, "tax", 19, "housing", 18),
			Source: "seed 四(一)1, 图 4-2: bank … medical; tourism … housing (两成左右) illustrative"},
		{Field: "gov_services_need", Shares: shares("education", 51.35, "medical", 48, "transport", 47, "employment", 46,
			"social_security", 45, "housing", 35, "tax", 25, "business", 22, "bank", 30, "tourism", 20),
			Source: "seed 四(一)2, 图 4-3: education; the rest (近五成 …) illustrative"},
		{Field: "convenient", Shares: shares("convenient", 66, "not_convenient", 14, "unsure", 20),
			Source: "seed 四(二), 图 4-4: convenient 66%; the rest illustrative"},
		{Field: "convenience_improve", Shares: shares("timeliness", 72.43, "feedback", 58, "disclosure", 56, "submission", 54,
			"complaints", 52, "other", 5), Source: "seed 四(二), 图 4-5: timeliness; the rest (超过五成) illustrative"},
		// 72.16% very safe or safe (the report's net); the split is illustrative.
		{Field: "gov_security", Shares: shares("very_safe", 22.16, "safe", 50, "neutral", 22, "unsafe", 4, "very_unsafe", 1.84),
			Source: "seed 四(三), 图 4-6: very_safe + safe = 72.16%; the split illustrative"},
		{Field: "gov_risks", Shares: shares("pii_leak", 65.76, "ops_mgmt", 49, "data_concentration", 48, "phishing", 40, "other", 5),
			Source: "seed 四(三)1, 图 4-7: pii_leak; the rest (接近 50%) illustrative"},
		{Field: "leak_domains", Shares: shares("medical", 51.7, "education", 50.5, "employment", 45.33, "transport", 44.31,
			"housing", 44.18, "tourism", 35, "social_security", 33, "tax", 32, "bank", 30, "business", 28),
			Source: "seed 四(三)2, 图 4-8: medical … housing; the rest (更少) illustrative"},
		{Field: "legislation_view", Shares: shares("standards_fill_gap", 17.2, "dedicated_law", 31.26, "mandatory_standards", 30.81,
			"convert_standards", 20.73), Source: "seed 四(三)4, 图 4-10"},
		{Field: "gov_security_services", Shares: shares("knowledge", 57.2, "info_query", 56.4, "risk_alert", 42.6, "free_tools", 38.1,
			"complaint_report", 37.53), Source: "seed 四(四)1, 图 4-11: risk_alert, free_tools, complaint_report; knowledge, info_query (超过 56%) illustrative"},
		{Field: "gov_should", Shares: shares("laws_crackdown", 77.96, "supervision", 62, "awareness", 61, "talent", 45, "other", 3),
			Source: "seed 四(四)1, 图 4-12: laws_crackdown; the rest (六成以上) illustrative"},
	},
	"practitioner_2019": append([]Target{
		{Field: "gender", Shares: shares("male", 70.21, "female", 29.79), Source: "seed 二(一)1"},
		{Field: "age_band", Shares: shares("a12_18", 4.84, "a19_24", 33.82, "a25_30", 32.04, "a31_45", 25.31, "a46_60", 3.45, "a60_80", 0.55), Source: "seed 二(一)2"},
		{Field: "education", Shares: shares("below_high_school", 4.24, "high_or_vocational", 10.22, "college", 24.24, "bachelor", 50.08,
			"master", 8.72, "doctor", 2.50), Source: "seed 二(一)3"},
		// Counts out of 26,513. The report's last line repeats the
		// state-owned enterprises' 2,971; "other organisations" are the
		// 6,378 the seven other counts leave.
		{Field: "job_role", Shares: shares("nsp_security", 4430, "nsp_other", 4645, "security_vendor", 3705, "industry_assoc", 915,
			"gov_regulator", 1027, "soe", 2971, "research_univ", 2442, "other_org", 6378), Source: "seed 二(一)7 (counts)"},
		// These sum to 99.97%: no counts of 26,513 round to all four (at
		// most 26,509 do), so 39.58 and 44.48 come out as 39.59 and 44.49.
		{Field: "years_in_industry", Shares: shares("y1_3", 39.58, "y4_10", 44.48, "y11_15", 9.09, "y16_30", 6.82), Source: "seed 二(一)8"},
		{Field: "service_scope", Shares: shares("basic_industry", 20.99, "av", 20.65, "news", 19.71, "datacenter", 18.35, "travel", 16.41,
			"cloud", 16.07, "gaming", 15.06, "ecommerce", 13.23, "access", 10.9, "email", 10.5, "software_download", 9.82,
			"finance", 9.68, "im", 7.67, "search", 7.65, "forum_weibo", 7.38, "cdn", 7.02, "dns", 6.16, "app_store", 5.33,
			"other", 17.38), Source: "seed 二(一)9, table 2-1"},

		// The figures by job role (图 3-3, 4-9, 4-13, 4-14) are pictures;
		// the text gives a few of their numbers, reproduced in their
		// group. Every role has a target of its own, so that each group
		// has exactly its shares at any scale; the shares the text does
		// not give are illustrative, after its words.
	}, roleTargets()...),
}

// roleTargets are the practitioners' attitudes by job role: the seed's
// 图 3-3, 4-9, 4-13 and 4-14.
func roleTargets() []Target {
	roles := []string{"nsp_security", "nsp_other", "security_vendor", "industry_assoc", "gov_regulator", "soe", "research_univ", "other_org"}
	var out []Target
	add := func(field, source string, byRole map[string][]Share, sources map[string]string) {
		for _, r := range roles {
			src := source
			if s, ok := sources[r]; ok {
				src = s
			}
			out = append(out, Target{Field: field, By: "job_role", Group: r, Shares: byRole[r], Source: src})
		}
	}
	// 三(三): "网络行业协会、政府网络安全监督管理部门、和一般联网使用单位"
	// over 40% good, research institutes and universities 26.04%, fair
	// about half everywhere, worrying under 20%.
	add("security_status", "illustrative, after seed 三(三), 图 3-3", map[string][]Share{
		"nsp_security":    shares("good", 38, "fair", 50, "worrying", 12),
		"nsp_other":       shares("good", 36, "fair", 51, "worrying", 13),
		"security_vendor": shares("good", 37, "fair", 49, "worrying", 14),
		"industry_assoc":  shares("good", 46, "fair", 45, "worrying", 9),
		"gov_regulator":   shares("good", 44, "fair", 48, "worrying", 8),
		"soe":             shares("good", 39, "fair", 50, "worrying", 11),
		"research_univ":   shares("good", 26.04, "fair", 55.96, "worrying", 18),
		"other_org":       shares("good", 41, "fair", 49, "worrying", 10),
	}, map[string]string{"research_univ": "seed 三(三), 图 3-3: good 26.04%; fair and worrying illustrative"})
	// 四(三)3 gives no numbers: regulators and associations more satisfied
	// than state-owned enterprises and other organisations.
	add("pi_protection", "illustrative, after seed 四(三)3, 图 4-9", map[string][]Share{
		"nsp_security":    shares("very_satisfied", 15, "satisfied", 36, "neutral", 35, "dissatisfied", 10, "very_dissatisfied", 4),
		"nsp_other":       shares("very_satisfied", 13, "satisfied", 34, "neutral", 37, "dissatisfied", 11, "very_dissatisfied", 5),
		"security_vendor": shares("very_satisfied", 14, "satisfied", 35, "neutral", 36, "dissatisfied", 11, "very_dissatisfied", 4),
		"industry_assoc":  shares("very_satisfied", 21, "satisfied", 40, "neutral", 29, "dissatisfied", 7, "very_dissatisfied", 3),
		"gov_regulator":   shares("very_satisfied", 24, "satisfied", 40, "neutral", 26, "dissatisfied", 7, "very_dissatisfied", 3),
		"soe":             shares("very_satisfied", 12, "satisfied", 33, "neutral", 38, "dissatisfied", 12, "very_dissatisfied", 5),
		"research_univ":   shares("very_satisfied", 13, "satisfied", 34, "neutral", 37, "dissatisfied", 11, "very_dissatisfied", 5),
		"other_org":       shares("very_satisfied", 11, "satisfied", 32, "neutral", 39, "dissatisfied", 12, "very_dissatisfied", 6),
	}, nil)
	// 四(四)2: talent shortage over 50% in every role, 75% of the
	// regulators ("多达75%": 770 of 1,027 is 74.98%, the nearest).
	gaps := func(talent, funding float64) []Share {
		return shares("talent_shortage", talent, "funding", funding, "low_capability", 40, "system_risk", 36, "leadership", 30, "other", 4)
	}
	add("supervision_gaps", "illustrative, after seed 四(四)2, 图 4-13 (talent shortage over 50% in every role)", map[string][]Share{
		"nsp_security": gaps(58, 45), "nsp_other": gaps(54, 45), "security_vendor": gaps(60, 45), "industry_assoc": gaps(62, 45),
		"gov_regulator": gaps(75, 52), "soe": gaps(57, 45), "research_univ": gaps(55, 45), "other_org": gaps(53, 45),
	}, map[string]string{"gov_regulator": "seed 四(四)2, 图 4-13: talent_shortage 75%; the rest illustrative"})
	// 四(四)2: personal-information protection first for most, 76.67% of
	// state-owned enterprises and 76.82% of other organisations (no share
	// of 6,378 people: 4,900, 76.83%, is the nearest); platform liability
	// first for service providers' security staff, 61.11%; regulators
	// stress cybercrime, critical infrastructure and data rights.
	legis := func(pi, platform, crime, cii, rights float64) []Share {
		return shares("pi_protection", pi, "platform_liability", platform, "data_security", 52, "mlps", 45,
			"cybercrime", crime, "cii", cii, "data_rights", rights, "other", 3)
	}
	add("legislation_priorities", "illustrative, after seed 四(四)2, 图 4-14", map[string][]Share{
		"nsp_security": legis(58, 61.11, 42, 30, 25), "nsp_other": legis(72, 55, 42, 30, 25), "security_vendor": legis(70, 55, 42, 30, 25),
		"industry_assoc": legis(74, 55, 42, 30, 25), "gov_regulator": legis(72, 55, 60, 48, 40), "soe": legis(76.67, 55, 42, 30, 25),
		"research_univ": legis(73, 55, 42, 30, 25), "other_org": legis(76.82, 55, 42, 30, 25),
	}, map[string]string{
		"nsp_security": "seed 四(四)2, 图 4-14: platform_liability 61.11%; the rest illustrative",
		"soe":          "seed 四(四)2, 图 4-14: pi_protection 76.67%; the rest illustrative",
		"other_org":    "seed 四(四)2, 图 4-14: pi_protection 76.82%; the rest illustrative",
	})
	return out
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
// of the built-in forms ("netizen_2019", "practitioner_2019") or of their
// 2018 waves ("netizen_2018", "practitioner_2018"; seed2018.go).
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
	// Each wave is collected in its own year, from 1 July.
	year := 2019
	if strings.HasSuffix(formID, "_2018") {
		year = 2018
	}
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
		Seed:  uint64(year),
		Start: time.Date(year, 7, 1, 8, 0, 0, 0, time.FixedZone("CST", 8*3600)),
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
