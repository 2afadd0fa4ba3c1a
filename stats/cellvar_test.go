package stats

import (
	"fmt"
	"path/filepath"
	"testing"
)

// rowSums accumulates a class's cell sums row by row, the slow obvious way.
func rowSums(cm *cellModel, y []float64, in []bool) *classSums {
	s := &classSums{}
	cm.alloc(s)
	for i, c := range cm.cellOf {
		if !in[i] {
			continue
		}
		w, b := cm.d.w[i], cm.base[i]
		s.y[c] += y[i]
		s.d[c] += b * y[i]
		s.w[c] += w * y[i]
		s.w2[c] += w * w * y[i]
		s.yy[cm.stratum[c]] += w * w * y[i] * y[i]
	}
	return s
}

// TestCellRoute checks that the cell route gives the row route's means,
// variances and covariances, on the panel data under every weighting the
// tables use, with strata, domains and a numeric variable.
func TestCellRoute(t *testing.T) {
	fr := readFrame(t, filepath.Join("testdata", "panel.csv"))
	margin := func(name string, shares map[string]float64) Margin {
		codes, levels := fr.factor(t, name)
		tot := make([]float64, len(levels))
		for l, lv := range levels {
			tot[l] = 1e6 * shares[lv]
		}
		return Margin{Field: name, Codes: codes, Levels: levels, Totals: tot}
	}
	gender := margin("gender", map[string]float64{"male": 0.51, "female": 0.49})
	age := margin("age", map[string]float64{"a12_18": 0.15, "a19_24": 0.2, "a25_30": 0.2, "a31_45": 0.25, "a46_80": 0.2})
	region := margin("region", map[string]float64{"r1": 0.25, "r2": 0.2, "r3": 0.2, "r4": 0.15, "r5": 0.1, "r6": 0.1})
	strata, _ := fr.factor(t, "region")
	basew := fr.numeric(t, "basew")

	type designCase struct {
		name  string
		build func() (*Design, error)
	}
	plain := func(spec DesignSpec) func() (*Design, error) {
		return func() (*Design, error) { return NewDesign(spec) }
	}
	raked := func(spec DesignSpec, ms ...Margin) func() (*Design, error) {
		return func() (*Design, error) {
			d, err := NewDesign(spec)
			if err != nil {
				return nil, err
			}
			d, _, err = Rake(d, ms, RakeOptions{})
			return d, err
		}
	}
	cases := []designCase{
		{"unweighted", plain(DesignSpec{Rows: fr.n})},
		{"base weights and strata", plain(DesignSpec{Weights: basew, Strata: strata})},
		{"rake", raked(DesignSpec{Rows: fr.n}, gender, age, region)},
		{"rake with strata and base weights", raked(DesignSpec{Weights: basew, Strata: strata}, gender, age)},
		{"postStratify", func() (*Design, error) {
			d, _ := NewDesign(DesignSpec{Weights: basew})
			return PostStratify(d, age)
		}},
		{"calibrate linear", func() (*Design, error) {
			d, _ := NewDesign(DesignSpec{Rows: fr.n})
			d, _, err := CalibrateMargins(d, []Margin{gender, age, region}, CalOptions{})
			return d, err
		}},
		{"calibrate raking, strata", func() (*Design, error) {
			d, _ := NewDesign(DesignSpec{Weights: basew, Strata: strata})
			d, _, err := CalibrateMargins(d, []Margin{gender, age}, CalOptions{CalFun: CalRaking})
			return d, err
		}},
		{"rake then trim", func() (*Design, error) {
			d, err := raked(DesignSpec{Rows: fr.n}, gender, age)()
			if err != nil {
				return nil, err
			}
			s := d.SummarizeWeights()
			d, _, err = TrimWeights(d, 0, s.Min+0.8*(s.Max-s.Min), false)
			return d, err
		}},
	}
	safety, safetyLevels := fr.factor(t, "safety")
	ageCodes, _ := fr.factor(t, "age")
	score := fr.numeric(t, "score")
	all := make([]bool, fr.n)
	young := make([]bool, fr.n)
	for i := range all {
		all[i] = true
		young[i] = ageCodes[i] == 0
	}
	for _, dc := range cases {
		t.Run(dc.name, func(t *testing.T) {
			d, err := dc.build()
			if err != nil {
				t.Fatal(err)
			}
			cm, err := newCellModel(d)
			if err != nil {
				t.Fatal(err)
			}
			for _, dom := range []struct {
				name string
				in   []bool
			}{{"all", all}, {"young", young}} {
				sub, err := d.Subset(dom.in)
				if err != nil {
					t.Fatal(err)
				}
				ones := make([]float64, fr.n)
				for i := range ones {
					ones[i] = 1
				}
				domSums := rowSums(cm, ones, dom.in)
				// The choices of safety: a partition of the domain, with
				// the full covariance matrix.
				vars := Indicators("safety", safety, safetyLevels)
				want, err := Mean(sub, vars...)
				if err != nil {
					t.Fatal(err)
				}
				ests := make([]*cellEstimate, len(vars))
				for j, v := range vars {
					ests[j] = &cellEstimate{}
					cm.estimate(domSums, rowSums(cm, v.X, dom.in), ests[j])
					if d := relDiff(ests[j].mu, want.Value[j], 1e-12); d > 1e-12 {
						t.Errorf("%s %s: mean %.17g, row route %.17g", dom.name, v.Name, ests[j].mu, want.Value[j])
					}
				}
				for a := range vars {
					for b := range vars {
						got := cm.cov(ests[a], ests[b], a == b)
						scale := want.SE(a) * want.SE(b)
						if d := relDiff(got, want.Cov[a][b], scale); d > 1e-9 {
							t.Errorf("%s cov(%s, %s) = %.17g, row route %.17g (%.3g)", dom.name, vars[a].Name, vars[b].Name, got, want.Cov[a][b], d)
						}
					}
				}
				// Counts give the same sums when weights are constant in cells.
				if cm.constant {
					counts := make([]float64, cm.nCells)
					for i, c := range cm.cellOf {
						if dom.in[i] && safety[i] == 2 {
							counts[c]++
						}
					}
					var fromCounts classSums
					cm.fromCounts(&fromCounts, counts)
					e := &cellEstimate{}
					cm.estimate(domSums, &fromCounts, e)
					if d := relDiff(cm.variance(e), want.Cov[2][2], 0); d > 1e-9 {
						t.Errorf("%s: variance from counts %.17g, row route %.17g", dom.name, cm.variance(e), want.Cov[2][2])
					}
				}
				// A numeric variable.
				wantScore, err := Mean(sub, Variable{Name: "score", X: score})
				if err != nil {
					t.Fatal(err)
				}
				e := &cellEstimate{}
				cm.estimate(domSums, rowSums(cm, score, dom.in), e)
				if d := relDiff(e.mu, wantScore.Value[0], 0); d > 1e-12 {
					t.Errorf("%s score mean %.17g, row route %.17g", dom.name, e.mu, wantScore.Value[0])
				}
				if d := relDiff(cm.variance(e), wantScore.Cov[0][0], 0); d > 1e-9 {
					t.Errorf("%s score variance %.17g, row route %.17g (%.3g)", dom.name, cm.variance(e), wantScore.Cov[0][0], d)
				}
			}
			t.Log(fmt.Sprintf("%d cells, weights constant in cells: %v", cm.nCells, cm.constant))
		})
	}
}
