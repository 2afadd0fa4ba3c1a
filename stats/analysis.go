package stats

import (
	"math"
	"strconv"
)

// Num is a number in the output documents; an undefined one (a percent of
// an empty base) is written as null.
type Num float64

func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Num(math.NaN())
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	*n = Num(f)
	return err
}

// Analysis is the CONTRACTS.md §4 document for one form.
type Analysis struct {
	FormID          string         `json:"form_id"`
	FormVersion     string         `json:"form_version,omitempty"`
	Collected       int            `json:"collected"`
	Valid           int            `json:"valid"`
	InvalidByReason map[string]int `json:"invalid_by_reason"`
	Filter          []string       `json:"filter,omitempty"`
	// Weights is null for unweighted tables, whose SEs and CIs treat the
	// valid responses as a simple random sample.
	Weights *WeightsInfo `json:"weights"`
	// Design is the sample design the SEs were computed under (strata,
	// clusters by stage, FPCs, the lonely-PSU rule); absent: the responses
	// are taken as a simple random sample drawn with replacement.
	Design    *DesignInfo     `json:"design,omitempty"`
	CIMethod  CIMethod        `json:"ci_method"`
	CILevel   float64         `json:"ci_level"`
	Questions []QuestionTable `json:"questions"`
	Crosstabs []Crosstab      `json:"crosstabs,omitempty"`
}

// QuestionTable is one question's table: its base and a row per choice
// (and per net), or a numeric summary.
type QuestionTable struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Label string `json:"label,omitempty"`
	// Base is the valid responses for which the question was relevant and
	// answered (in the group, for a cross-tab); WeightedBase their weight.
	Base         int              `json:"base"`
	WeightedBase *Num             `json:"weighted_base,omitempty"`
	Choices      []ChoiceEstimate `json:"choices,omitempty"`
	Nets         []ChoiceEstimate `json:"nets,omitempty"`
	Summary      *NumericSummary  `json:"summary,omitempty"`
	// NotRelevant counts answers left out because the question was not
	// relevant; NotAChoice answers that are no choice of the list.
	NotRelevant int `json:"not_relevant,omitempty"`
	NotAChoice  int `json:"not_a_choice,omitempty"`
}

// ChoiceEstimate is one choice (or net) of a question: count, percent of
// the question's base, its standard error and confidence interval, all in
// percentage points.
type ChoiceEstimate struct {
	Name            string   `json:"name"`
	Label           string   `json:"label,omitempty"`
	Choices         []string `json:"choices,omitempty"` // a net's choices
	Count           Num      `json:"count"`             // weighted when weighted
	UnweightedCount *int     `json:"unweighted_count,omitempty"`
	Percent         Num      `json:"percent"`
	SE              Num      `json:"se"`
	CILow           Num      `json:"ci_low"`
	CIHigh          Num      `json:"ci_high"`
}

// NumericSummary describes a numeric question over its base.
type NumericSummary struct {
	Mean   Num `json:"mean"`
	SE     Num `json:"se"`
	CILow  Num `json:"ci_low"`
	CIHigh Num `json:"ci_high"`
	Min    Num `json:"min"`
	Max    Num `json:"max"`
}

// Crosstab is every question tabulated within the groups of one
// single-choice field, with a Rao–Scott test of association for each
// single-choice question.
type Crosstab struct {
	By     string          `json:"by"`
	Label  string          `json:"label,omitempty"`
	Groups []CrosstabGroup `json:"groups"`
	Tests  []Association   `json:"tests,omitempty"`
}

// CrosstabGroup is one group of a cross-tab.
type CrosstabGroup struct {
	Name         string          `json:"name"`
	Label        string          `json:"label,omitempty"`
	Base         int             `json:"base"`
	WeightedBase *Num            `json:"weighted_base,omitempty"`
	Questions    []QuestionTable `json:"questions"`
}

// Association is the test of independence of a question and a cross-tab's
// field.
type Association struct {
	Question string `json:"question"`
	ChiSqTest
}
