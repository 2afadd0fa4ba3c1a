package stats

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestReadMargins(t *testing.T) {
	tests := []struct {
		name, in string
		want     []MarginSpec
		err      string
	}{
		{"shares", "\ufefffield,choice,share\ngender,male,0.51\ngender,female,0.49\nage,young,1\n",
			[]MarginSpec{{"gender", []string{"male", "female"}, []float64{0.51, 0.49}, true}, {"age", []string{"young"}, []float64{1}, true}}, ""},
		{"population", "field,choice,population\ngender,male,700\ngender,female,680\n",
			[]MarginSpec{{"gender", []string{"male", "female"}, []float64{700, 680}, false}}, ""},
		{"shares not summing to 1", "field,choice,share\ngender,male,0.5\ngender,female,0.4\n", nil, "sum to 0.9"},
		{"bad header", "field,level,share\n", nil, "header"},
		{"negative", "field,choice,population\ngender,male,-3\n", nil, "line 2"},
		{"twice", "field,choice,share\ngender,male,0.5\ngender,male,0.5\n", nil, "twice"},
		{"empty", "", nil, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadMargins(strings.NewReader(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v", got)
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				if g.Field != w.Field || g.Shares != w.Shares || strings.Join(g.Choices, " ") != strings.Join(w.Choices, " ") || len(g.Values) != len(w.Values) {
					t.Fatalf("got %+v, want %+v", g, w)
				}
				for j := range g.Values {
					if g.Values[j] != w.Values[j] {
						t.Fatalf("got %+v, want %+v", g, w)
					}
				}
			}
		})
	}
}

func TestParseNets(t *testing.T) {
	nets, err := ParseNets("safety_change.improved = big_up + up;\n overall_safety.safe=very_safe+safe")
	if err != nil {
		t.Fatal(err)
	}
	if len(nets) != 2 || nets[0].Question != "safety_change" || nets[0].Name != "improved" ||
		strings.Join(nets[0].Choices, ",") != "big_up,up" || strings.Join(nets[1].Choices, ",") != "very_safe,safe" {
		t.Fatalf("%+v", nets)
	}
	for _, bad := range []string{"improved=big_up+up", "safety_change.improved=", "safety_change.=up"} {
		if _, err := ParseNets(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestWeightingErrors checks that weighting refuses what R refuses and
// names the field when raking cannot meet its margins.
func TestWeightingErrors(t *testing.T) {
	d, _ := NewDesign(DesignSpec{Rows: 6})
	sex := Margin{Field: "gender", Codes: []int32{0, 0, 0, 1, 1, 1}, Levels: []string{"m", "f"}, Totals: []float64{51, 49}}
	// Totals that contradict each other: no weights meet both margins.
	age := Margin{Field: "age_band", Codes: []int32{0, 1, 0, 1, 0, 1}, Levels: []string{"y", "o"}, Totals: []float64{30, 40}}
	_, rep, err := Rake(d, []Margin{sex, age}, RakeOptions{MaxSweeps: 20})
	if !errors.Is(err, ErrNotConverged) || rep.Converged || !strings.Contains(err.Error(), "gender") && !strings.Contains(err.Error(), "age_band") {
		t.Errorf("contradictory margins: %v, %+v", err, rep)
	}
	empty := Margin{Field: "region", Codes: []int32{0, 0, 0, 0, 0, 0}, Levels: []string{"north", "south"}, Totals: []float64{50, 50}}
	if _, err := PostStratify(d, empty); err == nil || !strings.Contains(err.Error(), "south") {
		t.Errorf("level without respondents: %v", err)
	}
	nopop := Margin{Field: "region", Codes: []int32{0, 1, 0, 1, 0, 1}, Levels: []string{"north", "south"}, Totals: []float64{100, 0}}
	if _, _, err := Rake(d, []Margin{nopop}, RakeOptions{}); err == nil || !strings.Contains(err.Error(), "no population") {
		t.Errorf("level without population: %v", err)
	}
	missing := Margin{Field: "gender", Codes: []int32{0, -1, 0, 1, 1, 1}, Levels: []string{"m", "f"}, Totals: []float64{51, 49}}
	if _, _, err := Rake(d, []Margin{missing}, RakeOptions{}); err == nil || !strings.Contains(err.Error(), "row 2") {
		t.Errorf("row without a level: %v", err)
	}
	if _, err := NewDesign(DesignSpec{Clusters: []int32{1, 1, 2}, Strata: []int32{1, 2, 2}}); err == nil {
		t.Error("clusters across strata accepted")
	}
	one, _ := NewDesign(DesignSpec{Strata: []int32{1, 2, 2}})
	if _, err := Mean(one, Variable{"x", []float64{1, 2, 3}}); err == nil || !strings.Contains(err.Error(), "one PSU") {
		t.Errorf("lonely PSU with the fail rule: %v", err)
	}
}

// TestWeightSummary checks the Kish design effect against its definition
// written out.
func TestWeightSummary(t *testing.T) {
	w := []float64{1, 2, 2, 5, 0}
	d, _ := NewDesign(DesignSpec{Weights: w})
	s := d.SummarizeWeights()
	// n Σw²/(Σw)² over the four non-zero weights: 4·34/100.
	if s.N != 4 || s.Min != 1 || s.Max != 5 || s.Ratio != 5 || math.Abs(s.KishDeff-1.36) > 1e-15 || math.Abs(s.EffectiveN-100.0/34) > 1e-14 {
		t.Fatalf("%+v", s)
	}
}

// TestCompareMath checks §6's arithmetic on hand-made tables.
func TestCompareMath(t *testing.T) {
	cur := &Analysis{FormID: "w2", Questions: []QuestionTable{{Name: "q", Base: 100, Choices: []ChoiceEstimate{
		{Name: "a", Percent: 60, SE: 3}, {Name: "b", Percent: 40, SE: 4}, {Name: "new", Percent: 1, SE: 1}}}, {Name: "only_now", Base: 5}}}
	base := &Analysis{FormID: "w1", Questions: []QuestionTable{{Name: "q", Base: 80, Choices: []ChoiceEstimate{
		{Name: "a", Percent: 50, SE: 4}, {Name: "b", Percent: 40, SE: 0}}}}}
	c := Compare(cur, base)
	if len(c.Questions) != 1 || c.Unmatched == nil || c.Unmatched.Current[0] != "only_now" {
		t.Fatalf("%+v", c)
	}
	q := c.Questions[0]
	if q.Base != 100 || q.BaseBase != 80 || len(q.Choices) != 2 {
		t.Fatalf("%+v", q)
	}
	a := q.Choices[0]
	// diff 10 with se √(9+16) = 5: z = 2, two-sided p = 0.0455002638963584.
	if a.Diff != 10 || a.SE != 5 || math.Abs(float64(a.PValue)-0.0455002638963584) > 1e-15 {
		t.Errorf("%+v", a)
	}
	if b := q.Choices[1]; b.Diff != 0 || b.SE != 4 || b.PValue != 1 {
		t.Errorf("%+v", b)
	}
}

// TestPropCIFormulas checks the intervals against their formulas written
// out for a simple random sample: p = 0.3 of n = 100 with SE √(p(1−p)/99).
func TestPropCIFormulas(t *testing.T) {
	p, n := 0.3, 100
	v := p * (1 - p) / float64(n-1)
	tq := 1.9842169515864172 // qt(0.975, 99) in R
	tests := []struct {
		m      CIMethod
		lo, hi float64
	}{
		{CIMean, p - tq*math.Sqrt(v), p + tq*math.Sqrt(v)},
		{CILogit, expit(math.Log(p/(1-p)) - tq*math.Sqrt(v)/(p*(1-p))), expit(math.Log(p/(1-p)) + tq*math.Sqrt(v)/(p*(1-p)))},
	}
	for _, tt := range tests {
		got, err := propCI(p, v, n-1, n, tt.m, 0.95)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got.Low-tt.lo) > 1e-12 || math.Abs(got.High-tt.hi) > 1e-12 {
			t.Errorf("%s: %+v, want [%v, %v]", tt.m, got, tt.lo, tt.hi)
		}
	}
	// A share of 0: beta still gives Clopper–Pearson's upper bound on n.
	got, _ := propCI(0, 0, n-1, n, CIBeta, 0.95)
	if got.Low != 0 || got.High <= 0 || got.High > 0.05 {
		t.Errorf("beta at 0: %+v", got)
	}
	// A share fixed by the weighting has no interval to speak of.
	if got, _ := propCI(0.51, 0, n-1, n, CIWilson, 0.95); got.Low != 0.51 || got.High != 0.51 {
		t.Errorf("zero variance: %+v", got)
	}
}
