package stats

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// ErrNotConverged is wrapped by the error of a weighting that did not meet
// its targets; the design it comes with carries the last weights.
var ErrNotConverged = errors.New("stats: weighting did not converge")

// Margin is one categorical weighting variable with its population totals.
type Margin struct {
	Field  string    // the variable's name, used in reports and errors
	Codes  []int32   // level index per row, 0..len(Levels)-1; every row needs one
	Levels []string  // level names
	Totals []float64 // population total per level
}

func (m Margin) check(d *Design) error {
	if len(m.Codes) != d.n {
		return fmt.Errorf("stats: margin %s has %d rows, the design %d", m.Field, len(m.Codes), d.n)
	}
	if len(m.Totals) != len(m.Levels) {
		return fmt.Errorf("stats: margin %s has %d levels and %d totals", m.Field, len(m.Levels), len(m.Totals))
	}
	for l, t := range m.Totals {
		if math.IsNaN(t) || math.IsInf(t, 0) || t < 0 {
			return fmt.Errorf("stats: margin %s: total %v of %s is not a finite non-negative number", m.Field, t, m.Levels[l])
		}
	}
	for i, c := range m.Codes {
		if (c < 0 || int(c) >= len(m.Levels)) && d.w[i] != 0 {
			return fmt.Errorf("stats: margin %s: row %d has no level (weighting needs every row's)", m.Field, i+1)
		}
	}
	return nil
}

// levelFactors returns, per level, the factor that scales the level's
// weighted sum sums[l] to its total (R's postStratify with partial=FALSE).
// A level with respondents but no population, or population but no
// respondents, is an error; a level with neither gets factor 0.
func levelFactors(m Margin, sums []float64) ([]float64, error) {
	factor := make([]float64, len(m.Levels))
	for l := range sums {
		switch {
		case sums[l] == 0 && m.Totals[l] == 0:
		case sums[l] == 0:
			return nil, fmt.Errorf("stats: %s = %s has a population total but no respondents", m.Field, m.Levels[l])
		case m.Totals[l] == 0:
			return nil, fmt.Errorf("stats: %s = %s has respondents but no population", m.Field, m.Levels[l])
		default:
			factor[l] = m.Totals[l] / sums[l]
		}
	}
	return factor, nil
}

// PostStratify returns the design post-stratified on m (R's postStratify):
// the weights of each level sum to its population total.
func PostStratify(d *Design, m Margin) (*Design, error) {
	if err := m.check(d); err != nil {
		return nil, err
	}
	sums := make([]float64, len(m.Levels))
	for i, c := range m.Codes {
		if d.w[i] != 0 {
			sums[c] += d.w[i]
		}
	}
	factor, err := levelFactors(m, sums)
	if err != nil {
		return nil, err
	}
	w := make([]float64, d.n)
	for i, c := range m.Codes {
		if d.w[i] != 0 {
			w[i] = d.w[i] * factor[c]
		}
	}
	return d.withWeights(w, &postStratStep{codes: m.Codes, k: len(m.Levels), oldw: d.w, factor: factor, field: m.Field}), nil
}

// polishTo is the relative margin error below which raking stops even when
// it still gains.
const polishTo = 1e-14

// RakeOptions tune Rake.
type RakeOptions struct {
	// Tolerance is the largest relative difference between a margin's
	// weighted total and its target that counts as met; 0: 1e-9
	// (CONTRACTS.md §5).
	Tolerance float64
	// MaxSweeps bounds the iterations; 0: 100.
	MaxSweeps int
}

// WeightingReport says how a weighting went.
type WeightingReport struct {
	Method     string  // "rake", "postStratify", "calibrate(linear)", "calibrate(raking)", "trim"
	Iterations int     // raking sweeps or calibration Newton steps
	Converged  bool    // every target met within the tolerance
	MaxError   float64 // the largest relative difference from a target at the end
	Field      string  // the field with that difference
}

// Rake returns the design raked to the margins (R's rake(): iterative
// proportional fitting, post-stratifying on each margin in turn until every
// margin's weighted totals are within opts.Tolerance of their targets). If
// it does not converge, the design with the last weights is returned with
// an error wrapping ErrNotConverged that names the field furthest off.
func Rake(d *Design, margins []Margin, opts RakeOptions) (*Design, WeightingReport, error) {
	rep := WeightingReport{Method: "rake"}
	if len(margins) == 0 {
		return nil, rep, errors.New("stats: rake needs at least one margin")
	}
	for _, m := range margins {
		if err := m.check(d); err != nil {
			return nil, rep, err
		}
	}
	tol := opts.Tolerance
	if tol <= 0 {
		tol = 1e-9
	}
	maxSweeps := opts.MaxSweeps
	if maxSweeps <= 0 {
		maxSweeps = 100
	}
	// Raking multiplies each row's weight by one factor per margin level,
	// so the sweeps run over cells (combinations of the margins' levels)
	// holding their rows' weight sums: the same arithmetic as R's sweeps
	// over rows, in far fewer operations.
	vars := make([][]int32, len(margins))
	nLevels := make([]int, len(margins))
	for m, mg := range margins {
		vars[m], nLevels[m] = mg.Codes, len(mg.Levels)
	}
	ct := newCellTable(d.n, vars, nLevels, func(i int) bool { return d.w[i] == 0 })
	base := ct.sums(d.w)
	F := make([]float64, ct.n)
	for c := range F {
		F[c] = 1
	}
	after := make([][]float64, len(margins))
	for sweep := 1; sweep <= maxSweeps; sweep++ {
		for m, mg := range margins {
			sums := make([]float64, len(mg.Levels))
			for c, l := range ct.levels[m] {
				sums[l] += base[c] * F[c]
			}
			factor, err := levelFactors(mg, sums)
			if err != nil {
				return nil, rep, err
			}
			for c, l := range ct.levels[m] {
				F[c] *= factor[l]
			}
			after[m] = slices.Clone(F)
		}
		rep.Iterations = sweep
		prev := rep.MaxError
		rep.MaxError, rep.Field = cellMarginError(ct, base, F, margins)
		if rep.MaxError <= tol {
			rep.Converged = true
		}
		// Sweeps over cells are cheap, so once the tolerance is met raking
		// goes on while it still gains, towards rounding level: the weights
		// then equal R's rake() run to convergence, and the variance of a
		// weighting variable's own shares is zero to rounding.
		if rep.Converged && (rep.MaxError <= polishTo || (sweep > 1 && rep.MaxError > prev/2)) {
			break
		}
	}
	w := make([]float64, d.n)
	for i, c := range ct.cellOf {
		if c >= 0 {
			w[i] = d.w[i] * F[c]
		}
	}
	step := &rakeStep{base: d.w, cells: ct, after: after, fields: make([]string, len(margins)), nLevels: nLevels}
	for m, mg := range margins {
		step.fields[m] = mg.Field
	}
	out := d.withWeights(w, step)
	if !rep.Converged {
		return out, rep, fmt.Errorf("%w: raking after %d sweeps: %s is %.3g off its margin (relative)", ErrNotConverged, rep.Iterations, rep.Field, rep.MaxError)
	}
	return out, rep, nil
}

// cellMarginError returns the largest relative difference between a margin
// level's weighted total and its target, and the margin's field.
func cellMarginError(ct cellTable, base, F []float64, margins []Margin) (float64, string) {
	worst, field := 0.0, ""
	for m, mg := range margins {
		sums := make([]float64, len(mg.Levels))
		for c, l := range ct.levels[m] {
			sums[l] += base[c] * F[c]
		}
		for l, t := range mg.Totals {
			var e float64
			switch {
			case t == 0 && sums[l] == 0:
				continue
			case t == 0:
				e = math.Inf(1)
			default:
				e = math.Abs(sums[l]-t) / t
			}
			if e > worst || field == "" {
				worst, field = e, mg.Field
			}
		}
	}
	return worst, field
}

// CalFun is a calibration distance (R's calfun).
type CalFun int

const (
	// CalLinear is the chi-square distance: g = 1 + xᵀλ (GREG).
	CalLinear CalFun = iota
	// CalRaking is the raking ratio: g = exp(xᵀλ); with categorical margins
	// it gives raking's weights.
	CalRaking
)

func (c CalFun) String() string {
	if c == CalRaking {
		return "raking"
	}
	return "linear"
}

// CalOptions tune Calibrate.
type CalOptions struct {
	CalFun CalFun
	// Lower and Upper bound the g-weights (weight after / weight before);
	// zero values mean unbounded.
	Lower, Upper float64
	// Epsilon is the convergence criterion, R's: every
	// |target − total|/(1 + |target|) below it; 0: 1e-10.
	Epsilon float64
	// MaxIter bounds the Newton steps; 0: 50.
	MaxIter int
}

// Calibrate returns the design calibrated so that the weighted totals of
// the variables x equal totals (R's calibrate(design, ~x, population,
// calfun=…)). The variables are the model matrix's columns, an intercept
// included if wanted. A variable whose sample and population totals are
// both zero and that is zero in every row is dropped, as R does.
func Calibrate(d *Design, x []Variable, totals []float64, opts CalOptions) (*Design, WeightingReport, error) {
	if len(x) != len(totals) {
		return nil, WeightingReport{}, fmt.Errorf("stats: %d calibration variables and %d totals", len(x), len(totals))
	}
	if err := d.check(x); err != nil {
		return nil, WeightingReport{}, err
	}
	var mm [][]float64
	var pop []float64
	var names []string
	for j, v := range x {
		allZero := true
		for i, xi := range v.X {
			if xi != 0 && d.w[i] != 0 {
				allZero = false
				break
			}
		}
		if allZero && totals[j] == 0 {
			continue
		}
		mm = append(mm, v.X)
		pop = append(pop, totals[j])
		names = append(names, v.Name)
	}
	// Every row is its own unit.
	return calibrate(d, calUnits{mm: mm, ww: d.w}, pop, names, opts)
}

// CalibrateMargins calibrates to categorical margins (R's calibrate(design,
// ~a+b+…, population) with treatment contrasts): the model matrix is an
// intercept and one indicator per level but the first of each margin, and
// the population total is the first margin's sum. With CalRaking the
// weights are raking's, reached by Newton steps instead of sweeps. The
// g-weights depend only on a row's combination of levels, so the Newton
// steps run over those cells.
func CalibrateMargins(d *Design, margins []Margin, opts CalOptions) (*Design, WeightingReport, error) {
	if len(margins) == 0 {
		return nil, WeightingReport{}, errors.New("stats: calibration needs at least one margin")
	}
	var N float64
	vars := make([][]int32, len(margins))
	nLevels := make([]int, len(margins))
	for j, m := range margins {
		if err := m.check(d); err != nil {
			return nil, WeightingReport{}, err
		}
		var s float64
		for _, t := range m.Totals {
			s += t
		}
		if j == 0 {
			N = s
		} else if math.Abs(s-N) > 1e-9*N {
			return nil, WeightingReport{}, fmt.Errorf("stats: margin %s sums to %v, margin %s to %v; calibration needs one population size", m.Field, s, margins[0].Field, N)
		}
		vars[j], nLevels[j] = m.Codes, len(m.Levels)
	}
	ct := newCellTable(d.n, vars, nLevels, func(i int) bool { return d.w[i] == 0 })
	// The model matrix over cells: intercept, then per margin the
	// indicators of its levels but the first. A level no cell has and
	// whose total is zero is dropped, as R drops such columns.
	mm := [][]float64{make([]float64, ct.n)}
	for c := range mm[0] {
		mm[0][c] = 1
	}
	pop := []float64{N}
	names := []string{"(Intercept)"}
	for m, mg := range margins {
		for l := 1; l < len(mg.Levels); l++ {
			col := make([]float64, ct.n)
			seen := false
			for c, lv := range ct.levels[m] {
				if int(lv) == l {
					col[c] = 1
					seen = true
				}
			}
			if !seen && mg.Totals[l] == 0 {
				continue
			}
			mm = append(mm, col)
			pop = append(pop, mg.Totals[l])
			names = append(names, mg.Field+"="+mg.Levels[l])
		}
	}
	u := calUnits{mm: mm, ww: ct.sums(d.w), cells: &ct, rowW: d.w}
	return calibrate(d, u, pop, names, opts)
}

// calUnits are what calibration iterates over: rows, or cells of rows that
// share their model-matrix row.
type calUnits struct {
	mm    [][]float64 // model matrix, [variable][unit]
	ww    []float64   // weight of each unit before calibration
	cells *cellTable  // nil: units are rows
	rowW  []float64   // with cells: the rows' weights before calibration
}

func calibrate(d *Design, u calUnits, pop []float64, names []string, opts CalOptions) (*Design, WeightingReport, error) {
	rep := WeightingReport{Method: "calibrate(" + opts.CalFun.String() + ")"}
	p := len(u.mm)
	if p == 0 {
		return nil, rep, errors.New("stats: nothing to calibrate to")
	}
	sampleTotal := make([]float64, p)
	for a := range p {
		for k, x := range u.mm[a] {
			sampleTotal[a] += x * u.ww[k]
		}
	}
	lower, upper := opts.Lower, opts.Upper
	if lower == 0 && upper == 0 {
		lower, upper = math.Inf(-1), math.Inf(1)
	}
	if upper == 0 {
		upper = math.Inf(1)
	}
	ch, err := newCholesky(crossWeighted(u.mm, u.ww))
	if err != nil {
		return nil, rep, errors.New("stats: calibration variables are collinear in the sample")
	}
	var g []float64
	var failed error
	if opts.CalFun == CalLinear && math.IsInf(lower, -1) && math.IsInf(upper, 1) {
		// R's regcalibrate: one linear solve.
		diff := make([]float64, p)
		for a := range p {
			diff[a] = pop[a] - sampleTotal[a]
		}
		tT := ch.solve(diff)
		g = make([]float64, len(u.ww))
		for k := range g {
			s := 1.0
			for a := range p {
				s += u.mm[a][k] * tT[a]
			}
			g[k] = s
		}
		rep.Iterations, rep.Converged = 1, true
	} else {
		g, failed = grake(u.mm, u.ww, sampleTotal, pop, names, opts, lower, upper, &rep)
		if failed != nil && !errors.Is(failed, ErrNotConverged) {
			return nil, rep, failed
		}
	}
	w := make([]float64, d.n)
	step := &gregStep{mm: u.mm, g: g, chol: ch, calfun: opts.CalFun}
	if u.cells != nil {
		step.ww, step.cellOf = u.rowW, u.cells.cellOf
		for i, c := range u.cells.cellOf {
			if c >= 0 {
				w[i] = u.rowW[i] * g[c]
			}
		}
		step.levels = u.cells.levels
	} else {
		step.ww = u.ww
		for i := range w {
			w[i] = u.ww[i] * g[i]
		}
	}
	return d.withWeights(w, step), rep, failed
}

func crossWeighted(mm [][]float64, wt []float64) [][]float64 {
	p := len(mm)
	t := newSquare(p)
	for i, w := range wt {
		if w == 0 {
			continue
		}
		for a := range p {
			xa := mm[a][i] * w
			if xa == 0 {
				continue
			}
			for b := a; b < p; b++ {
				t[a][b] += xa * mm[b][i]
			}
		}
	}
	for a := range p {
		for b := 0; b < a; b++ {
			t[a][b] = t[b][a]
		}
	}
	return t
}

// grake is R's grake(): Newton steps on the calibration equations with the
// calibration function's inverse Fm1 and derivative dF, a pseudo-inverse
// for the Jacobian, and step halving when a g-weight is not finite.
func grake(mm [][]float64, ww0, sampleTotal0, pop []float64, names []string, opts CalOptions, lower, upper float64, rep *WeightingReport) ([]float64, error) {
	p := len(mm)
	n := len(ww0)
	eps := opts.Epsilon
	if eps <= 0 {
		eps = 1e-10
	}
	maxit := opts.MaxIter
	if maxit <= 0 {
		maxit = 50
	}
	var fm1, df func(u float64) float64
	switch opts.CalFun {
	case CalLinear:
		fm1 = func(u float64) float64 { return math.Min(math.Max(u+1, lower), upper) - 1 }
		df = func(u float64) float64 {
			if u < upper-1 && u > lower-1 {
				return 1
			}
			return 0
		}
	case CalRaking:
		fm1 = func(u float64) float64 { return math.Min(math.Max(math.Exp(u), lower), upper) - 1 }
		df = func(u float64) float64 {
			if u < upper-1 && u > lower-1 {
				return math.Exp(u)
			}
			return 0
		}
	default:
		return nil, fmt.Errorf("stats: unknown calibration function %d", int(opts.CalFun))
	}
	ww := ww0
	sampleTotal := sampleTotal0
	// R rescales the weights when every target is over twenty times the
	// sample total, so that bounds act on a sensible scale.
	scale := 0.0
	minScale := math.Inf(1)
	for a := range p {
		minScale = math.Min(minScale, pop[a]/sampleTotal[a])
	}
	if minScale > 20 {
		for a := range p {
			scale += pop[a] / sampleTotal[a]
		}
		scale /= float64(p)
		ww = make([]float64, n)
		sampleTotal = make([]float64, p)
		for i := range ww {
			ww[i] = ww0[i] * scale
		}
		for a := range p {
			sampleTotal[a] = sampleTotal0[a] * scale
		}
	}
	eta := make([]float64, p)
	xeta := make([]float64, n)
	g := make([]float64, n)
	deriv := make([]float64, n)
	update := func() bool {
		finite := true
		for i := range xeta {
			var s float64
			for a := range p {
				s += mm[a][i] * eta[a]
			}
			xeta[i] = s
			g[i] = 1 + fm1(s)
			deriv[i] = df(s)
			if math.IsNaN(g[i]) || math.IsInf(g[i], 0) || math.IsNaN(deriv[i]) || math.IsInf(deriv[i], 0) {
				finite = false
			}
		}
		return finite
	}
	update()
	misfit := func() []float64 {
		m := make([]float64, p)
		for a := range p {
			s := 0.0
			for i, x := range mm[a] {
				if x != 0 {
					s += x * ww[i] * fm1(xeta[i])
				}
			}
			m[a] = pop[a] - sampleTotal[a] - s
		}
		return m
	}
	iter := 1
	var failed error
	for {
		wd := make([]float64, n)
		for i := range wd {
			wd[i] = ww[i] * deriv[i]
		}
		deta := pseudoSolve(crossWeighted(mm, wd), misfit())
		for a := range p {
			eta[a] += deta[a]
		}
		finite := update()
		for iter < maxit && !finite {
			iter++
			for a := range p {
				deta[a] /= 2
				eta[a] -= deta[a]
			}
			finite = update()
		}
		mf := misfit()
		worst, at := 0.0, 0
		for a := range p {
			if e := math.Abs(mf[a]) / (1 + math.Abs(pop[a])); e > worst {
				worst, at = e, a
			}
		}
		rep.Iterations = iter
		rep.MaxError, rep.Field = worst, names[at]
		if worst < eps {
			rep.Converged = true
			break
		}
		iter++
		if iter > maxit {
			failed = fmt.Errorf("%w: calibration after %d steps: %s is %.3g off its total (relative)", ErrNotConverged, iter-1, names[at], worst)
			break
		}
	}
	if scale != 0 {
		for i := range g {
			g[i] *= scale
		}
	}
	return g, failed
}

// pseudoSolve returns ginv(a)·b with R's MASS::ginv tolerance
// (singular values below 256·ε·the largest are dropped).
func pseudoSolve(a [][]float64, b []float64) []float64 {
	p := len(a)
	m := mat.NewDense(p, p, nil)
	for i := range p {
		for j := range p {
			m.Set(i, j, a[i][j])
		}
	}
	var svd mat.SVD
	if !svd.Factorize(m, mat.SVDThin) {
		return make([]float64, p)
	}
	s := svd.Values(nil)
	var u, v mat.Dense
	svd.UTo(&u)
	svd.VTo(&v)
	tol := 256 * 2.220446049250313e-16 * s[0]
	out := make([]float64, p)
	for k, sk := range s {
		if sk <= tol {
			continue
		}
		var ub float64
		for i := range p {
			ub += u.At(i, k) * b[i]
		}
		ub /= sk
		for i := range p {
			out[i] += v.At(i, k) * ub
		}
	}
	return out
}

// TrimWeights returns the design with weights outside [lower, upper]
// moved to the bound and the amount trimmed spread equally over the other
// rows (R's trimWeights); with strict, repeated until no weight is outside.
// The weighting steps stay as they were for the variance, as in R.
func TrimWeights(d *Design, lower, upper float64, strict bool) (*Design, WeightingReport, error) {
	rep := WeightingReport{Method: "trim", Converged: true}
	if upper <= 0 {
		upper = math.Inf(1)
	}
	if lower > upper {
		return nil, rep, fmt.Errorf("stats: trimming bounds %v > %v", lower, upper)
	}
	w := slices.Clone(d.w)
	for {
		var trimmed float64
		inside := 0
		outside := false
		for _, x := range w {
			if x == 0 {
				continue
			}
			if x < lower || x > upper {
				outside = true
			} else {
				inside++
			}
		}
		if !outside {
			break
		}
		if inside == 0 {
			return nil, rep, fmt.Errorf("stats: every weight lies outside [%v, %v]", lower, upper)
		}
		in := make([]bool, len(w))
		for i, x := range w {
			if x == 0 {
				continue
			}
			nx := math.Max(lower, math.Min(x, upper))
			trimmed += x - nx
			in[i] = nx == x
			w[i] = nx
		}
		add := trimmed / float64(inside)
		for i := range w {
			if in[i] {
				w[i] += add
			}
		}
		rep.Iterations++
		if !strict {
			break
		}
		if rep.Iterations > 1000 {
			return nil, rep, fmt.Errorf("%w: trimming to [%v, %v] after 1000 rounds", ErrNotConverged, lower, upper)
		}
	}
	out := *d
	out.w = w
	out.stale = rep.Iterations > 0 || d.stale
	return &out, rep, nil
}

// WeightSummary describes a set of weights: their range and the design
// effect due to weighting.
type WeightSummary struct {
	N          int     `json:"n"` // rows with a non-zero weight
	Sum        float64 `json:"sum"`
	Min        float64 `json:"min"`
	Max        float64 `json:"max"`
	Ratio      float64 `json:"ratio"`       // Max/Min
	KishDeff   float64 `json:"kish_deff"`   // Kish's design effect due to weighting, n Σw²/(Σw)² = 1 + CV²
	EffectiveN float64 `json:"effective_n"` // (Σw)²/Σw², the sample size the weighted sample is worth
}

// SummarizeWeights describes the design's current weights.
func (d *Design) SummarizeWeights() WeightSummary {
	s := WeightSummary{Min: math.Inf(1), Max: math.Inf(-1)}
	var sum2 float64
	for _, w := range d.w {
		if w == 0 {
			continue
		}
		s.N++
		s.Sum += w
		sum2 += w * w
		s.Min = math.Min(s.Min, w)
		s.Max = math.Max(s.Max, w)
	}
	if s.N == 0 {
		return WeightSummary{}
	}
	s.Ratio = s.Max / s.Min
	s.KishDeff = float64(s.N) * sum2 / (s.Sum * s.Sum)
	s.EffectiveN = s.Sum * s.Sum / sum2
	return s
}
