package stats

import (
	"fmt"
	"math"
	"strings"

	"github.com/govsurvey/govsurvey/form"
)

// DesignFields names the questions of a form that carry how its sample
// was drawn (issue 7: strata and clusters are used when the data carry
// them), as R's svydesign(ids=~c1+c2, strata=~s, fpc=~f1+f2). A
// select_one question's choice, or an integer/decimal question's value,
// is the stratum or cluster id.
type DesignFields struct {
	Strata   string   // "": one stratum
	Clusters []string // the stages, outermost first; nil: every row its own PSU
	FPC      []string // one per stage (or one without clusters); nil: with replacement
	Lonely   LonelyPSU
}

// DesignInfo is the "design" object of the CONTRACTS.md §4 document: the
// sample design the SEs were computed under. It is null when the
// responses were treated as a simple random sample (weighted or not).
type DesignInfo struct {
	Strata    string   `json:"strata,omitempty"`
	Clusters  []string `json:"clusters,omitempty"`
	FPC       []string `json:"fpc,omitempty"`
	LonelyPSU string   `json:"lonely_psu"`
	// NStrata and NPSU count the first stage's strata and primary
	// sampling units in the data (every row is a PSU without clusters).
	NStrata int `json:"n_strata"`
	NPSU    int `json:"n_psu"`
}

// String writes the design as the options give it, for messages.
func (df DesignFields) String() string {
	var parts []string
	if df.Strata != "" {
		parts = append(parts, "strata "+df.Strata)
	}
	if df.Clusters != nil {
		parts = append(parts, "cluster "+strings.Join(df.Clusters, ","))
	}
	if df.FPC != nil {
		parts = append(parts, "fpc "+strings.Join(df.FPC, ","))
	}
	return "(" + strings.Join(append(parts, "lonely-psu "+df.Lonely.String()), ", ") + ")"
}

// option is the option a refused design is reported under: the
// innermost one given.
func (df DesignFields) option() string {
	switch {
	case df.Clusters != nil:
		return "cluster"
	case df.Strata != "":
		return "strata"
	}
	return "fpc"
}

// ParseLonelyPSU reads a lonely-PSU rule as R's survey.lonely.psu names
// it ("": fail, as R).
func ParseLonelyPSU(s string) (LonelyPSU, error) {
	for _, l := range []LonelyPSU{LonelyFail, LonelyAdjust, LonelyCertainty, LonelyRemove, LonelyAverage} {
		if s == l.String() {
			return l, nil
		}
	}
	if s == "" {
		return LonelyFail, nil
	}
	return LonelyFail, fmt.Errorf("stats: unknown lonely-PSU rule %q (fail, adjust, certainty, remove or average)", s)
}

// designFields reads the design options of t for form f; nil when t
// names no design field.
func (t OptionText) designFields(f *form.Form) (*DesignFields, error) {
	lonely, err := ParseLonelyPSU(strings.TrimSpace(t.LonelyPSU))
	if err != nil {
		return nil, &OptionError{Option: "lonely_psu", Err: err}
	}
	split := func(s string) []string {
		var out []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	df := &DesignFields{Strata: strings.TrimSpace(t.Strata), Clusters: split(t.Cluster), FPC: split(t.FPC), Lonely: lonely}
	if df.Strata == "" && df.Clusters == nil && df.FPC == nil {
		return nil, nil
	}
	check := func(option, name string, numericOnly bool) error {
		q := f.Question(name)
		if q == nil {
			return unknown(option, "form %s has no question %q", f.ID, name)
		}
		switch q.Type {
		case "integer", "decimal":
			return nil
		case "select_one":
			if !numericOnly {
				return nil
			}
		}
		if numericOnly {
			return unknown(option, "%s is a %s question; a population size or sampling fraction is an integer or decimal question", q.Name, q.Type)
		}
		return unknown(option, "%s is a %s question; a stratum or cluster id is a select_one, integer or decimal question", q.Name, q.Type)
	}
	if df.Strata != "" {
		if err := check("strata", df.Strata, false); err != nil {
			return nil, err
		}
	}
	for _, c := range df.Clusters {
		if err := check("cluster", c, false); err != nil {
			return nil, err
		}
	}
	for _, c := range df.FPC {
		if err := check("fpc", c, true); err != nil {
			return nil, err
		}
	}
	if stages := max(1, len(df.Clusters)); df.FPC != nil && len(df.FPC) != stages {
		return nil, optErr("fpc", "%d fpc fields for %d stages: give one per --cluster field (or none)", len(df.FPC), stages)
	}
	return df, nil
}

// DesignSpec reads the design fields of ds into a DesignSpec (every row
// weighing 1 unless FPCs give the weights, as R's svydesign without
// weights). A row without an answer to a design field is an
// *OptionError naming the option.
func (ds *Dataset) DesignSpec(df DesignFields) (DesignSpec, error) {
	spec := DesignSpec{Rows: ds.Rows, Lonely: df.Lonely}
	var err error
	if df.Strata != "" {
		if spec.Strata, err = ds.designCodes("strata", df.Strata); err != nil {
			return spec, err
		}
	}
	for k, name := range df.Clusters {
		codes, err := ds.designCodes("cluster", name)
		if err != nil {
			return spec, err
		}
		if k == 0 {
			spec.Clusters = codes
		} else {
			spec.Stages = append(spec.Stages, Stage{Clusters: codes})
		}
	}
	for k, name := range df.FPC {
		v, err := ds.designValues("fpc", name)
		if err != nil {
			return spec, err
		}
		if k == 0 {
			spec.FPC = v
		} else {
			spec.Stages[k-1].FPC = v
		}
	}
	return spec, nil
}

// designColumn is the column of a design field, every row answered.
func (ds *Dataset) designColumn(option, name string) (*Column, error) {
	col := ds.Column(name)
	if col == nil {
		return nil, unknown(option, "form %s has no question %q in the data", ds.Form.ID, name)
	}
	for i := 0; i < ds.Rows; i++ {
		if !col.Answered(i) {
			return nil, unknown(option, "%s is not answered in every response analysed (%d of %d lack it); every response needs its design ids",
				name, ds.Rows-countAnswered(col, ds.Rows), ds.Rows)
		}
	}
	return col, nil
}

func countAnswered(col *Column, n int) int {
	k := 0
	for i := 0; i < n; i++ {
		if col.Answered(i) {
			k++
		}
	}
	return k
}

// designCodes are a field's answers as ids: a choice's code, or a
// number's rank among the distinct values.
func (ds *Dataset) designCodes(option, name string) ([]int32, error) {
	col, err := ds.designColumn(option, name)
	if err != nil {
		return nil, err
	}
	out := make([]int32, ds.Rows)
	switch col.Kind {
	case SingleChoice:
		for i, c := range col.Codes[:ds.Rows] {
			out[i] = int32(c)
		}
	case Numeric:
		ids := map[float64]int32{}
		for i, v := range col.Values[:ds.Rows] {
			id, ok := ids[v]
			if !ok {
				id = int32(len(ids))
				ids[v] = id
			}
			out[i] = id
		}
	default:
		return nil, unknown(option, "%s is not a single-choice or numeric question", name)
	}
	return out, nil
}

func (ds *Dataset) designValues(option, name string) ([]float64, error) {
	col, err := ds.designColumn(option, name)
	if err != nil {
		return nil, err
	}
	if col.Kind != Numeric {
		return nil, unknown(option, "%s is not a numeric question", name)
	}
	for _, v := range col.Values[:ds.Rows] {
		if !(v > 0) || math.IsInf(v, 0) {
			return nil, unknown(option, "%s has the value %v; a population size or sampling fraction is positive", name, v)
		}
	}
	return col.Values[:ds.Rows], nil
}

// designInfo describes d, made from df, for the document.
func designInfo(df *DesignFields, d *Design) *DesignInfo {
	info := &DesignInfo{Strata: df.Strata, Clusters: df.Clusters, FPC: df.FPC, LonelyPSU: df.Lonely.String(), NStrata: d.nStrat, NPSU: d.nPSU}
	if d.psu == nil {
		info.NPSU = d.n
	}
	return info
}
