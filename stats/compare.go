package stats

import (
	"math"
)

// Comparison is the CONTRACTS.md §6 document: two waves of a survey
// compared question by question and choice by choice.
type Comparison struct {
	FormID     string              `json:"form_id"`
	BaseFormID string              `json:"base_form_id"`
	Questions  []QuestionChange    `json:"questions"`
	Weights    *WeightsInfo        `json:"weights,omitempty"`
	BaseWeight *WeightsInfo        `json:"base_weights,omitempty"`
	Unmatched  *UnmatchedQuestions `json:"unmatched,omitempty"`
}

// UnmatchedQuestions lists what only one wave has.
type UnmatchedQuestions struct {
	Current []string `json:"current,omitempty"` // questions of this wave the base wave lacks
	Base    []string `json:"base,omitempty"`    // and the other way round
}

// QuestionChange is one question present in both waves.
type QuestionChange struct {
	Name     string         `json:"name"`
	Label    string         `json:"label,omitempty"`
	Base     int            `json:"base"`
	BaseBase int            `json:"base_base"`
	Choices  []ChoiceChange `json:"choices"`
	Nets     []ChoiceChange `json:"nets,omitempty"`
}

// ChoiceChange is one choice (or net) in both waves: the percents, their
// difference in percentage points, its standard error and two-sided
// p-value. The waves are independent samples: se = √(se₁² + se₂²), and the
// p-value is from the normal distribution.
type ChoiceChange struct {
	Name        string `json:"name"`
	Label       string `json:"label,omitempty"`
	Percent     Num    `json:"percent"`
	BasePercent Num    `json:"base_percent"`
	Diff        Num    `json:"diff"`
	SE          Num    `json:"se"`
	PValue      Num    `json:"p_value"`
}

// Compare compares two analyses of two waves (cur the later, base the
// earlier) by question name and choice name; nets are matched by name
// too. Numeric questions are compared by their means.
func Compare(cur, base *Analysis) *Comparison {
	out := &Comparison{FormID: cur.FormID, BaseFormID: base.FormID, Weights: cur.Weights, BaseWeight: base.Weights}
	byName := make(map[string]*QuestionTable, len(base.Questions))
	for i := range base.Questions {
		byName[base.Questions[i].Name] = &base.Questions[i]
	}
	seen := map[string]bool{}
	un := &UnmatchedQuestions{}
	for _, q := range cur.Questions {
		b, ok := byName[q.Name]
		if !ok {
			un.Current = append(un.Current, q.Name)
			continue
		}
		seen[q.Name] = true
		qc := QuestionChange{Name: q.Name, Label: q.Label, Base: q.Base, BaseBase: b.Base}
		qc.Choices = changes(q.Choices, b.Choices)
		qc.Nets = changes(q.Nets, b.Nets)
		if q.Summary != nil && b.Summary != nil {
			qc.Choices = append(qc.Choices, change("mean", "", q.Summary.Mean, q.Summary.SE, b.Summary.Mean, b.Summary.SE))
		}
		out.Questions = append(out.Questions, qc)
	}
	for _, q := range base.Questions {
		if !seen[q.Name] {
			un.Base = append(un.Base, q.Name)
		}
	}
	if len(un.Current) > 0 || len(un.Base) > 0 {
		out.Unmatched = un
	}
	return out
}

func changes(cur, base []ChoiceEstimate) []ChoiceChange {
	idx := make(map[string]ChoiceEstimate, len(base))
	for _, c := range base {
		idx[c.Name] = c
	}
	var out []ChoiceChange
	for _, c := range cur {
		b, ok := idx[c.Name]
		if !ok {
			continue
		}
		out = append(out, change(c.Name, c.Label, c.Percent, c.SE, b.Percent, b.SE))
	}
	return out
}

func change(name, label string, p, se, bp, bse Num) ChoiceChange {
	c := ChoiceChange{Name: name, Label: label, Percent: p, BasePercent: bp, Diff: p - bp}
	s := math.Sqrt(float64(se)*float64(se) + float64(bse)*float64(bse))
	c.SE = Num(s)
	switch {
	case s > 0:
		c.PValue = Num(normalTwoSided(float64(c.Diff) / s))
	case c.Diff == 0:
		c.PValue = 1
	default:
		c.PValue = 0
	}
	if math.IsNaN(float64(c.Diff)) || math.IsNaN(s) {
		c.PValue = Num(math.NaN())
	}
	return c
}
