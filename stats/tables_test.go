package stats

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/sample"
	"github.com/govsurvey/govsurvey/store"
)

func netizenForm(t testing.TB) *form.Form {
	t.Helper()
	f, err := form.ParseTemplate("netizen_2019")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// generated returns n sample responses of f and the dataset loaded from
// their encoding.
func generated(t testing.TB, f *form.Form, n int, seed uint64, opts LoadOptions) ([]sample.Response, *Dataset) {
	t.Helper()
	g, err := sample.New(f, sample.Options{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLoader(f, opts)
	if err != nil {
		t.Fatal(err)
	}
	var rs []sample.Response
	for range n {
		r := g.Next()
		enc, err := f.EncodeAnswers(r.Answers)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
		if err := l.Add(store.Response{FormID: f.ID, Revision: 1, InstanceID: r.InstanceID, SubmittedAt: r.SubmittedAt, Answers: enc}); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := l.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return rs, ds
}

// TestLoader checks that every answer lands in its column as the code of
// its choice, in stream order, and that invalid responses are left out.
func TestLoader(t *testing.T) {
	f := netizenForm(t)
	invalid := map[string]bool{}
	valid := func(id string) bool { return !invalid[id] }
	g, _ := sample.New(f, sample.Options{Seed: 7})
	var rs []sample.Response
	for i := range 5000 {
		r := g.Next()
		if i%7 == 3 {
			invalid[r.InstanceID] = true
		}
		rs = append(rs, r)
	}
	l, err := NewLoader(f, LoadOptions{Valid: valid, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		enc, err := f.EncodeAnswers(r.Answers)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Add(store.Response{InstanceID: r.InstanceID, Answers: enc, Revision: 1}); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := l.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if ds.Collected != len(rs) || ds.Rows != len(rs)-len(invalid) {
		t.Fatalf("collected %d valid %d, want %d and %d", ds.Collected, ds.Rows, len(rs), len(rs)-len(invalid))
	}
	row := 0
	for _, r := range rs {
		if invalid[r.InstanceID] {
			continue
		}
		for _, c := range ds.Columns {
			want := r.Answers[c.Question.Name]
			var got string
			switch c.Kind {
			case SingleChoice:
				if l := c.Level(row); l >= 0 {
					got = c.Choices[l].Name
				}
			case MultipleChoice:
				var names []string
				for j, ch := range c.Choices {
					if c.Chose(row, j) {
						names = append(names, ch.Name)
					}
				}
				got = strings.Join(names, " ")
			case Numeric:
				if v := c.Values[row]; v == v {
					got = fmt.Sprint(v)
				}
			}
			if got != want {
				t.Fatalf("row %d %s: got %q, want %q", row, c.Question.Name, got, want)
			}
		}
		row++
	}
	if c := ds.Column("gov_services_used"); c == nil || c.Kind != MultipleChoice {
		t.Fatal("gov_services_used is not a multiple-choice column")
	}
}

// TestLoaderRelevance checks that an answer to a question that was not
// relevant is left out of the base and counted.
func TestLoaderRelevance(t *testing.T) {
	f := netizenForm(t)
	g, _ := sample.New(f, sample.Options{Seed: 3})
	l, _ := NewLoader(f, LoadOptions{})
	stale := 0
	for i := range 400 {
		r := g.Next()
		if r.Answers["used_gov_online"] == "no" && i%2 == 0 {
			// An answer left over from before the respondent said no.
			r.Answers["gov_services_used"] = "bank tax"
			stale++
		}
		enc, err := f.EncodeAnswers(r.Answers)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Add(store.Response{Answers: enc, Revision: 1}); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := l.Finish()
	if err != nil {
		t.Fatal(err)
	}
	c := ds.Column("gov_services_used")
	used := ds.Column("used_gov_online")
	if stale == 0 || c.NotRelevant != stale {
		t.Fatalf("not relevant %d, want %d", c.NotRelevant, stale)
	}
	yes := choiceIndex(used, "yes")
	for i := range ds.Rows {
		if c.Answered(i) && used.Level(i) != int32(yes) {
			t.Fatalf("row %d answered gov_services_used without using government services", i)
		}
	}
}

// TestTablesCellRoute checks the tables of the cell route against the row
// route (every estimate a Mean on a Subset), unweighted and raked, with
// nets, a filter and cross-tabs with their tests.
func TestTablesCellRoute(t *testing.T) {
	f := netizenForm(t)
	_, ds := generated(t, f, 3000, 11, LoadOptions{})
	margins := []MarginSpec{
		{Field: "gender", Choices: []string{"male", "female"}, Values: []float64{0.51, 0.49}, Shares: true},
		{Field: "age_band", Choices: []string{"a12_18", "a19_24", "a25_30", "a31_45", "a46_60", "a60_80"},
			Values: []float64{0.1276, 0.1509, 0.1582, 0.3234, 0.1655, 0.0744}, Shares: true},
	}
	nets := []Net{{Question: "safety_change", Name: "improved", Choices: []string{"big_up", "up"}},
		{Question: "gov_risks", Name: "leak_or_phishing", Choices: []string{"pii_leak", "phishing"}}}
	for _, tc := range []struct {
		name string
		opts AnalysisOptions
	}{
		{"unweighted", AnalysisOptions{Nets: nets, By: []string{"gender", "education"}}},
		{"rake", AnalysisOptions{Nets: nets, By: []string{"gender", "convenient"}, Weighting: &Weighting{Margins: margins}}},
		{"calibrate linear, filter", AnalysisOptions{Nets: nets, By: []string{"age_band"}, Weighting: &Weighting{Method: WeightLinear, Margins: margins},
			Filter: []Condition{{Field: "used_gov_online", Choices: []string{"yes"}}}}},
		{"poststratify, wilson", AnalysisOptions{CIMethod: CIWilson, By: []string{"legislation_view"}, Weighting: &Weighting{Method: WeightPostStratify, Margins: margins[1:]}}},
		{"rake trimmed, beta", AnalysisOptions{CIMethod: CIBeta, By: []string{"gender,age_band"}, Weighting: &Weighting{Margins: margins, TrimHigh: 1.2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d *Design
			var err error
			if tc.opts.Weighting != nil {
				d, _, err = ds.Weight(*tc.opts.Weighting)
			} else {
				d, err = NewDesign(DesignSpec{Rows: ds.Rows})
			}
			if err != nil {
				t.Fatal(err)
			}
			cells, err := NewTabulator(ds, d, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !cells.CellRoute() {
				t.Fatal("the cell route does not apply")
			}
			rows, _ := NewTabulator(ds, d, tc.opts)
			rows.cm = nil
			gotQ, err := cells.Tables()
			if err != nil {
				t.Fatal(err)
			}
			wantQ, err := rows.Tables()
			if err != nil {
				t.Fatal(err)
			}
			compareTables(t, "", gotQ, wantQ)
			for _, by := range tc.opts.By {
				got, err := cells.Crosstab(by)
				if err != nil {
					t.Fatal(err)
				}
				want, err := rows.Crosstab(by)
				if err != nil {
					t.Fatal(err)
				}
				if len(got.Groups) != len(want.Groups) || len(got.Tests) == 0 {
					t.Fatalf("by %s: %d groups and %d tests, row route %d groups", by, len(got.Groups), len(got.Tests), len(want.Groups))
				}
				for g := range got.Groups {
					if got.Groups[g].Base != want.Groups[g].Base {
						t.Errorf("by %s group %s: base %d, row route %d", by, got.Groups[g].Name, got.Groups[g].Base, want.Groups[g].Base)
					}
					compareTables(t, by+"="+got.Groups[g].Name+" ", got.Groups[g].Questions, want.Groups[g].Questions)
				}
				// A table with structural zeros can make Δ singular; whether
				// that is detected may differ between the routes by rounding,
				// so tests are compared where both have one.
				rowTests := map[string]ChiSqTest{}
				for _, a := range want.Tests {
					rowTests[a.Question] = a.ChiSqTest
				}
				matched := 0
				for _, a := range got.Tests {
					b, ok := rowTests[a.Question]
					if !ok {
						continue
					}
					matched++
					for _, x := range [][3]float64{{a.Value, b.Value, 0}, {a.NDF, b.NDF, 0}, {a.DDF, b.DDF, 0}, {a.PValue, b.PValue, 1e-300}} {
						if d := relDiff(x[0], x[1], x[2]); d > 1e-8 {
							t.Errorf("by %s test %s: %.17g, row route %.17g", by, a.Question, x[0], x[1])
						}
					}
				}
				if matched < len(got.Tests)-1 {
					t.Errorf("by %s: %d tests, %d of them in the row route", by, len(got.Tests), matched)
				}
			}
		})
	}
}

func compareTables(t *testing.T, prefix string, got, want []QuestionTable) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s%d questions, row route %d", prefix, len(got), len(want))
	}
	for q := range got {
		g, w := got[q], want[q]
		if g.Base != w.Base {
			t.Errorf("%s%s: base %d, row route %d", prefix, g.Name, g.Base, w.Base)
		}
		if (g.Summary == nil) != (w.Summary == nil) {
			t.Fatalf("%s%s: summaries differ", prefix, g.Name)
		}
		if g.Summary != nil {
			checkNums(t, prefix+g.Name+" summary", []Num{g.Summary.Mean, g.Summary.SE, g.Summary.CILow, g.Summary.CIHigh, g.Summary.Min, g.Summary.Max},
				[]Num{w.Summary.Mean, w.Summary.SE, w.Summary.CILow, w.Summary.CIHigh, w.Summary.Min, w.Summary.Max})
		}
		gc := append(slices.Clone(g.Choices), g.Nets...)
		wc := append(slices.Clone(w.Choices), w.Nets...)
		if len(gc) != len(wc) {
			t.Fatalf("%s%s: %d choices, row route %d", prefix, g.Name, len(gc), len(wc))
		}
		for k := range gc {
			a, b := gc[k], wc[k]
			if a.Name != b.Name || (a.UnweightedCount == nil) != (b.UnweightedCount == nil) ||
				(a.UnweightedCount != nil && *a.UnweightedCount != *b.UnweightedCount) {
				t.Errorf("%s%s/%s: names or unweighted counts differ", prefix, g.Name, a.Name)
			}
			checkNums(t, prefix+g.Name+"/"+a.Name, []Num{a.Count, a.Percent, a.SE, a.CILow, a.CIHigh}, []Num{b.Count, b.Percent, b.SE, b.CILow, b.CIHigh})
		}
	}
}

func checkNums(t *testing.T, what string, got, want []Num) {
	t.Helper()
	names := []string{"count", "percent", "se", "ci_low", "ci_high", "max"}
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) && math.IsNaN(w) {
			continue
		}
		// Relative 1e-8, or 1e-10 percentage points for values that are
		// zero but for rounding (the SE of a weighting variable's share).
		if d := math.Abs(g - w); d > 1e-8*math.Abs(w)+1e-10 || math.IsNaN(d) {
			t.Errorf("%s %s: %.17g, row route %.17g", what, names[min(i, len(names)-1)], g, w)
		}
	}
}

// TestLoaderReadsCodes checks that reading choice codes straight from the
// stored encoding gives the same data set as DecodeInto, with stale
// answers, values that are no choice and unknown tokens among them.
func TestLoaderReadsCodes(t *testing.T) {
	f := netizenForm(t)
	g, _ := sample.New(f, sample.Options{Seed: 5})
	var encs [][]byte
	for i := range 3000 {
		r := g.Next()
		switch i % 11 {
		case 1:
			r.Answers["gov_services_used"] = "bank tax" // stale when used_gov_online = no
		case 2:
			r.Answers["education"] = "kindergarten" // no choice of the list
		case 3:
			r.Answers["gov_risks"] = "phishing aliens" // an unknown token
		case 4:
			r.Answers["gov_should"] = "talent awareness" // out of list order: stored as text
		}
		enc, err := f.EncodeAnswers(r.Answers)
		if err != nil {
			t.Fatal(err)
		}
		encs = append(encs, enc)
	}
	load := func(textOnly bool) *Dataset {
		l, err := NewLoader(f, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		l.textOnly = textOnly
		for _, enc := range encs {
			if err := l.Add(store.Response{Revision: 1, Answers: enc}); err != nil {
				t.Fatal(err)
			}
		}
		ds, err := l.Finish()
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	fast, slow := load(false), load(true)
	for k, c := range fast.Columns {
		s := slow.Columns[k]
		if !slices.Equal(c.Codes, s.Codes) || !slices.Equal(c.Sets, s.Sets) || c.NotChoice != s.NotChoice || c.NotRelevant != s.NotRelevant {
			t.Errorf("%s: the code reader and DecodeInto differ (not a choice %d/%d, not relevant %d/%d)",
				c.Question.Name, c.NotChoice, s.NotChoice, c.NotRelevant, s.NotRelevant)
		}
	}
	if c := fast.Column("education"); c.NotChoice == 0 {
		t.Error("no answer counted as not a choice")
	}
	if c := fast.Column("gov_services_used"); c.NotRelevant == 0 {
		t.Error("no answer counted as not relevant")
	}
}
