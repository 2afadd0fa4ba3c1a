package stats

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// The reference suite: testdata/reference.R runs every case with R's
// survey package and writes its specification and R's results to
// testdata/reference.json; here each case is rebuilt from the
// specification and compared. Tolerances are the issue's: estimates 1e-9,
// standard errors and what is derived from them 1e-6, relative.
const (
	estTol = 1e-9
	seTol  = 1e-6
)

type refDoc struct {
	RVersion      string    `json:"r_version"`
	SurveyVersion string    `json:"survey_version"`
	Cases         []refCase `json:"cases"`
}

type refCase struct {
	Name   string `json:"name"`
	Design struct {
		Data    string  `json:"data"`
		IDs     strList `json:"ids"`
		Strata  strList `json:"strata"`
		Weights string  `json:"weights"`
		FPC     strList `json:"fpc"`
	} `json:"design"`
	Steps  []refStep `json:"steps"`
	Domain *struct {
		Var string `json:"var"`
		Eq  string `json:"eq"`
	} `json:"domain"`
	Estimator struct {
		Type      string   `json:"type"`
		Vars      []string `json:"vars"`
		Factor    string   `json:"factor"`
		Num       string   `json:"num"`
		Den       string   `json:"den"`
		Var       string   `json:"var"`
		Level     string   `json:"level"`
		Method    string   `json:"method"`
		LevelCI   float64  `json:"level.ci"`
		Rows      string   `json:"rows"`
		Cols      string   `json:"cols"`
		Statistic string   `json:"statistic"`
	} `json:"estimator"`
	Lonely string `json:"lonely"`
	Result struct {
		Names     []string    `json:"names"`
		Value     []float64   `json:"value"`
		SE        []float64   `json:"se"`
		Cov       [][]float64 `json:"cov"`
		CI        []float64   `json:"ci"`
		DF        *int        `json:"df"`
		Statistic float64     `json:"statistic"`
		Parameter []float64   `json:"parameter"`
		PValue    float64     `json:"p_value"`
		NDesign   int         `json:"n_design"`
		// Error is R's error message when R refused (the lonely-PSU rule
		// "fail"); Go must refuse too.
		Error string `json:"error"`
	} `json:"result"`
}

// strList is one name per stage: R's writer gives a single name as a
// string, several as an array.
type strList []string

func (l *strList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = strList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*l = many
	return nil
}

// at returns the name for stage t (0-based), "" when none.
func (l strList) at(t int) string {
	if t < len(l) {
		return l[t]
	}
	return ""
}

type refMargin struct {
	Var    string    `json:"var"`
	Levels []string  `json:"levels"`
	Totals []float64 `json:"totals"`
}

type refStep struct {
	Type    string      `json:"type"`
	Vars    []string    `json:"vars"`
	Cells   []refCell   `json:"cells"`
	Margins []refMargin `json:"margins"`
	CalFun  string      `json:"calfun"`
	Bounds  []float64   `json:"bounds"`
	Terms   []string    `json:"terms"`
	Totals  []float64   `json:"totals"`
	Lower   float64     `json:"lower"`
	Upper   float64     `json:"upper"`
	Strict  bool        `json:"strict"`
}

type refCell struct {
	Levels []string `json:"levels"`
	Total  float64  `json:"total"`
}

// frame is a CSV data set read as text, converted per use.
type frame struct {
	n    int
	cols map[string][]string
}

func readFrame(t testing.TB, path string) *frame {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	fr := &frame{n: len(recs) - 1, cols: map[string][]string{}}
	for j, h := range recs[0] {
		col := make([]string, fr.n)
		for i := range col {
			col[i] = recs[i+1][j]
		}
		fr.cols[h] = col
	}
	return fr
}

func (fr *frame) col(t testing.TB, name string) []string {
	t.Helper()
	c, ok := fr.cols[name]
	if !ok {
		t.Fatalf("no column %q", name)
	}
	return c
}

// numeric reads a column as numbers; empty is NaN.
func (fr *frame) numeric(t testing.TB, name string) []float64 {
	t.Helper()
	c := fr.col(t, name)
	out := make([]float64, len(c))
	for i, s := range c {
		if s == "" || s == "NA" {
			out[i] = math.NaN()
			continue
		}
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("column %s row %d: %v", name, i+1, err)
		}
		out[i] = x
	}
	return out
}

func (fr *frame) isNumeric(name string) bool {
	for _, s := range fr.cols[name] {
		if s == "" {
			continue
		}
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return false
		}
	}
	return true
}

// factor reads a column as a categorical variable with levels in byte
// order, as R's factor() in the C locale; empty is missing (-1).
func (fr *frame) factor(t testing.TB, name string) ([]int32, []string) {
	t.Helper()
	c := fr.col(t, name)
	var levels []string
	for _, s := range c {
		if s != "" {
			levels = append(levels, s)
		}
	}
	slices.Sort(levels)
	levels = slices.Compact(levels)
	codes := make([]int32, len(c))
	for i, s := range c {
		codes[i] = -1
		if s != "" {
			j, _ := slices.BinarySearch(levels, s)
			codes[i] = int32(j)
		}
	}
	return codes, levels
}

func (fr *frame) margin(t testing.TB, m refMargin) Margin {
	codes, levels := fr.factor(t, m.Var)
	totals := make([]float64, len(levels))
	for k, l := range m.Levels {
		j, ok := slices.BinarySearch(levels, l)
		if !ok {
			t.Fatalf("margin %s: level %s not in the data", m.Var, l)
		}
		totals[j] = m.Totals[k]
	}
	return Margin{Field: m.Var, Codes: codes, Levels: levels, Totals: totals}
}

func loadReference(t testing.TB) refDoc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc refDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestReference(t *testing.T) {
	doc := loadReference(t)
	if doc.RVersion == "" || doc.SurveyVersion == "" || len(doc.Cases) < 100 {
		t.Fatalf("reference.json looks incomplete: %q, survey %q, %d cases", doc.RVersion, doc.SurveyVersion, len(doc.Cases))
	}
	t.Logf("reference values from %s, survey %s: %d cases", doc.RVersion, doc.SurveyVersion, len(doc.Cases))
	frames := map[string]*frame{}
	var worstEst, worstSE float64
	var worstEstCase, worstSECase string
	for _, c := range doc.Cases {
		t.Run(c.Name, func(t *testing.T) {
			fr := frames[c.Design.Data]
			if fr == nil {
				fr = readFrame(t, filepath.Join("testdata", c.Design.Data+".csv"))
				frames[c.Design.Data] = fr
			}
			got, err := runCase(t, fr, c)
			if c.Result.Error != "" {
				if err == nil {
					t.Fatalf("R refused (%s), Go did not", c.Result.Error)
				}
				t.Logf("R: %s; Go: %v", c.Result.Error, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			e, s := compareCase(t, c, got)
			if e > worstEst {
				worstEst, worstEstCase = e, c.Name
			}
			if s > worstSE {
				worstSE, worstSECase = s, c.Name
			}
		})
	}
	t.Logf("largest relative differences from R: estimates %.3g (%s), standard errors and derived %.3g (%s)",
		worstEst, worstEstCase, worstSE, worstSECase)
}

// caseResult is what Go computed for a case.
type caseResult struct {
	est  Estimate
	ci   Interval
	chi  ChiSqTest
	kind string
}

func runCase(t *testing.T, fr *frame, c refCase) (caseResult, error) {
	spec := DesignSpec{Rows: fr.n}
	if c.Design.Weights != "" {
		spec.Weights = fr.numeric(t, c.Design.Weights)
	}
	if s := c.Design.Strata.at(0); s != "" {
		spec.Strata, _ = fr.factor(t, s)
	}
	if s := c.Design.IDs.at(0); s != "" {
		spec.Clusters, _ = fr.factor(t, s)
	}
	if s := c.Design.FPC.at(0); s != "" {
		spec.FPC = fr.numeric(t, s)
	}
	for st := 1; st < len(c.Design.IDs); st++ {
		var stage Stage
		stage.Clusters, _ = fr.factor(t, c.Design.IDs[st])
		if s := c.Design.Strata.at(st); s != "" {
			stage.Strata, _ = fr.factor(t, s)
		}
		if s := c.Design.FPC.at(st); s != "" {
			stage.FPC = fr.numeric(t, s)
		}
		spec.Stages = append(spec.Stages, stage)
	}
	switch c.Lonely {
	case "fail", "":
	case "adjust":
		spec.Lonely = LonelyAdjust
	case "average":
		spec.Lonely = LonelyAverage
	case "certainty":
		spec.Lonely = LonelyCertainty
	case "remove":
		spec.Lonely = LonelyRemove
	default:
		return caseResult{}, fmt.Errorf("lonely rule %q", c.Lonely)
	}
	d, err := NewDesign(spec)
	if err != nil {
		return caseResult{}, err
	}
	for _, st := range c.Steps {
		if d, err = applyStep(t, fr, d, st); err != nil {
			return caseResult{}, err
		}
	}
	if c.Domain != nil {
		v := fr.col(t, c.Domain.Var)
		in := make([]bool, fr.n)
		for i, s := range v {
			in[i] = s == c.Domain.Eq
		}
		if d, err = d.Subset(in); err != nil {
			return caseResult{}, err
		}
	}
	e := c.Estimator
	var res caseResult
	res.kind = e.Type
	switch e.Type {
	case "mean", "total":
		var vars []Variable
		if e.Factor != "" {
			codes, levels := fr.factor(t, e.Factor)
			vars = Indicators(e.Factor, codes, levels)
		} else {
			for _, name := range e.Vars {
				vars = append(vars, Variable{Name: name, X: fr.numeric(t, name)})
			}
		}
		if e.Type == "mean" {
			res.est, err = Mean(d, vars...)
		} else {
			res.est, err = Total(d, vars...)
		}
	case "ratio":
		res.est, err = Ratio(d, Variable{e.Num, fr.numeric(t, e.Num)}, Variable{e.Den, fr.numeric(t, e.Den)})
	case "ciprop":
		v := fr.col(t, e.Var)
		x := make([]float64, fr.n)
		for i, s := range v {
			if s == e.Level {
				x[i] = 1
			}
		}
		res.est, err = Mean(d, Variable{Name: e.Var, X: x})
		if err == nil {
			var m CIMethod
			if m, err = ParseCIMethod(e.Method); err == nil {
				res.ci, err = PropCI(res.est, 0, m, e.LevelCI)
			}
		}
	case "chisq":
		rows, _ := fr.factor(t, e.Rows)
		cols, _ := fr.factor(t, e.Cols)
		res.chi, err = ChiSq(d, rows, cols, ChiSqStatistic(e.Statistic))
	default:
		err = fmt.Errorf("unknown estimator %q", e.Type)
	}
	return res, err
}

func applyStep(t *testing.T, fr *frame, d *Design, st refStep) (*Design, error) {
	switch st.Type {
	case "postStratify":
		// A joint post-stratification: the cell of a row is its
		// combination of the variables' levels.
		cols := make([][]string, len(st.Vars))
		for j, v := range st.Vars {
			cols[j] = fr.col(t, v)
		}
		index := map[string]int32{}
		var levels []string
		var totals []float64
		for _, cell := range st.Cells {
			key := fmt.Sprint(cell.Levels)
			index[key] = int32(len(levels))
			levels = append(levels, key)
			totals = append(totals, cell.Total)
		}
		codes := make([]int32, fr.n)
		for i := range codes {
			key := make([]string, len(cols))
			for j := range cols {
				key[j] = cols[j][i]
			}
			c, ok := index[fmt.Sprint(key)]
			if !ok {
				return nil, fmt.Errorf("row %d: cell %v has no population", i+1, key)
			}
			codes[i] = c
		}
		return PostStratify(d, Margin{Field: fmt.Sprint(st.Vars), Codes: codes, Levels: levels, Totals: totals})
	case "rake":
		var ms []Margin
		for _, m := range st.Margins {
			ms = append(ms, fr.margin(t, m))
		}
		out, rep, err := Rake(d, ms, RakeOptions{Tolerance: 1e-13, MaxSweeps: 500})
		if err != nil {
			return nil, err
		}
		if !rep.Converged {
			return nil, fmt.Errorf("rake did not converge: %+v", rep)
		}
		return out, nil
	case "calibrate":
		opts := CalOptions{Epsilon: 1e-13, MaxIter: 100}
		if st.CalFun == "raking" {
			opts.CalFun = CalRaking
		}
		if len(st.Bounds) == 2 {
			opts.Lower, opts.Upper = st.Bounds[0], st.Bounds[1]
		}
		if st.Margins != nil {
			var ms []Margin
			for _, m := range st.Margins {
				ms = append(ms, fr.margin(t, m))
			}
			out, _, err := CalibrateMargins(d, ms, opts)
			return out, err
		}
		one := make([]float64, fr.n)
		for i := range one {
			one[i] = 1
		}
		vars := []Variable{{Name: "(Intercept)", X: one}}
		for _, term := range st.Terms {
			if fr.isNumeric(term) {
				vars = append(vars, Variable{Name: term, X: fr.numeric(t, term)})
				continue
			}
			codes, levels := fr.factor(t, term)
			vars = append(vars, Indicators(term, codes, levels)[1:]...)
		}
		out, _, err := Calibrate(d, vars, st.Totals, opts)
		return out, err
	case "trim":
		out, _, err := TrimWeights(d, st.Lower, st.Upper, st.Strict)
		return out, err
	}
	return nil, fmt.Errorf("unknown step %q", st.Type)
}

// relDiff is |got − want| relative to |want|, or to scale when want is
// (nearly) zero.
func relDiff(got, want, scale float64) float64 {
	den := math.Max(math.Abs(want), scale)
	if den == 0 {
		return math.Abs(got - want)
	}
	return math.Abs(got-want) / den
}

func compareCase(t *testing.T, c refCase, got caseResult) (worstEst, worstSE float64) {
	t.Helper()
	r := c.Result
	check := func(what string, g, w, scale, tol float64, worst *float64) {
		t.Helper()
		d := relDiff(g, w, scale)
		if math.IsNaN(g) != math.IsNaN(w) || d > tol {
			t.Errorf("%s: got %.17g, R %.17g (relative difference %.3g > %g)", what, g, w, d, tol)
		}
		if !math.IsNaN(d) {
			*worst = max(*worst, d)
		}
	}
	switch got.kind {
	case "mean", "total", "ratio", "ciprop":
		if len(got.est.Value) != len(r.Value) {
			t.Fatalf("%d values, R has %d", len(got.est.Value), len(r.Value))
		}
		// An SE below a billionth of its estimate is zero in exact
		// arithmetic (a calibration variable's own mean); R and Go then
		// differ only by rounding noise, so such SEs are compared against
		// that floor.
		floor := make([]float64, len(r.Value))
		for i := range r.Value {
			floor[i] = math.Max(r.SE[i], 1e-9*math.Abs(r.Value[i]))
			check(fmt.Sprintf("value %d", i), got.est.Value[i], r.Value[i], 1e-12, estTol, &worstEst)
			check(fmt.Sprintf("SE %d", i), got.est.SE(i), r.SE[i], floor[i], seTol, &worstSE)
		}
		for i := range r.Cov {
			for j := range r.Cov[i] {
				check(fmt.Sprintf("cov[%d][%d]", i, j), got.est.Cov[i][j], r.Cov[i][j], floor[i]*floor[j], seTol, &worstSE)
			}
		}
		if got.kind == "ciprop" {
			check("CI low", got.ci.Low, r.CI[0], 1e-12, seTol, &worstSE)
			check("CI high", got.ci.High, r.CI[1], 1e-12, seTol, &worstSE)
			if r.DF != nil && *r.DF != got.est.DF {
				t.Errorf("df %d, R %d", got.est.DF, *r.DF)
			}
		}
	case "chisq":
		check("statistic", got.chi.Value, r.Statistic, 0, seTol, &worstSE)
		check("p-value", got.chi.PValue, r.PValue, 0, seTol, &worstSE)
		if got.chi.Statistic == ChiSqF {
			check("ndf", got.chi.NDF, r.Parameter[0], 0, seTol, &worstSE)
			check("ddf", got.chi.DDF, r.Parameter[1], 0, seTol, &worstSE)
		} else {
			check("df", got.chi.NDF, r.Parameter[0], 0, seTol, &worstSE)
		}
	}
	return worstEst, worstSE
}
