package stats

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Variable is one analysis variable: a value per row of the design.
type Variable struct {
	Name string
	X    []float64
}

// Indicators turns a categorical variable into one 0/1 variable per level
// (R's model.matrix(~0+factor)): codes are level indexes 0..len(levels)-1.
// A negative code is missing: every indicator of that row is NaN, so an
// estimator refuses it unless the row lies outside the domain.
func Indicators(name string, codes []int32, levels []string) []Variable {
	out := make([]Variable, len(levels))
	for l := range levels {
		x := make([]float64, len(codes))
		for i, c := range codes {
			switch {
			case c < 0:
				x[i] = math.NaN()
			case int(c) == l:
				x[i] = 1
			}
		}
		out[l] = Variable{Name: name + levels[l], X: x}
	}
	return out
}

// Estimate is the result of an estimator: the values and their
// variance–covariance matrix, with what confidence intervals need.
type Estimate struct {
	Statistic string      // "mean", "total", "ratio"
	Names     []string    // what each value estimates
	Value     []float64   // the estimates
	Cov       [][]float64 // their linearised variance–covariance matrix
	DF        int         // design degrees of freedom (R's degf)
	N         int         // rows with a non-zero weight
}

// SE returns the standard error of value i.
func (e Estimate) SE(i int) float64 { return math.Sqrt(e.Cov[i][i]) }

// Mean estimates the population mean of each variable (R's svymean): the
// weighted mean, with the variance of its influence function
// w_i (x_i − x̄)/Σw.
func Mean(d *Design, vars ...Variable) (Estimate, error) {
	if err := d.check(vars); err != nil {
		return Estimate{}, err
	}
	var psum float64
	for _, w := range d.w {
		psum += w
	}
	if psum == 0 {
		return Estimate{}, errors.New("stats: mean over a domain with no weight")
	}
	e := d.newEstimate("mean", vars)
	u := make([][]float64, len(vars))
	for j, v := range vars {
		var s float64
		for i, x := range v.X {
			if d.w[i] != 0 {
				s += x * d.w[i] / psum
			}
		}
		e.Value[j] = s
		col := make([]float64, d.n)
		for i, x := range v.X {
			if d.w[i] != 0 {
				col[i] = (x - s) * d.w[i] / psum
			}
		}
		u[j] = col
	}
	var err error
	e.Cov, err = d.variance(u)
	return e, err
}

// Total estimates the population total of each variable (R's svytotal).
func Total(d *Design, vars ...Variable) (Estimate, error) {
	if err := d.check(vars); err != nil {
		return Estimate{}, err
	}
	e := d.newEstimate("total", vars)
	u := make([][]float64, len(vars))
	for j, v := range vars {
		col := make([]float64, d.n)
		var s float64
		for i, x := range v.X {
			if d.w[i] != 0 {
				col[i] = x * d.w[i]
				s += col[i]
			}
		}
		e.Value[j] = s
		u[j] = col
	}
	var err error
	e.Cov, err = d.variance(u)
	return e, err
}

// Ratio estimates the ratio of two population totals (R's svyratio), with
// the influence function w_i (y_i − R x_i)/Σ w x.
func Ratio(d *Design, num, den Variable) (Estimate, error) {
	if err := d.check([]Variable{num, den}); err != nil {
		return Estimate{}, err
	}
	var ty, tx float64
	for i, w := range d.w {
		if w != 0 {
			ty += num.X[i] * w
			tx += den.X[i] * w
		}
	}
	if tx == 0 {
		return Estimate{}, fmt.Errorf("stats: ratio %s/%s: the denominator's total is zero", num.Name, den.Name)
	}
	r := ty / tx
	col := make([]float64, d.n)
	for i, w := range d.w {
		if w != 0 {
			col[i] = (num.X[i] - r*den.X[i]) / tx * w
		}
	}
	e := d.newEstimate("ratio", []Variable{{Name: num.Name + "/" + den.Name}})
	e.Value[0] = r
	var err error
	e.Cov, err = d.variance([][]float64{col})
	return e, err
}

// Proportions estimates the share of each level of a categorical variable
// (R's svymean(~factor)).
func Proportions(d *Design, name string, codes []int32, levels []string) (Estimate, error) {
	return Mean(d, Indicators(name, codes, levels)...)
}

func (d *Design) check(vars []Variable) error {
	if len(vars) == 0 {
		return errors.New("stats: no variables to estimate")
	}
	for _, v := range vars {
		if len(v.X) != d.n {
			return fmt.Errorf("stats: variable %s has %d rows, the design %d", v.Name, len(v.X), d.n)
		}
		for i, x := range v.X {
			if d.w[i] != 0 && (math.IsNaN(x) || math.IsInf(x, 0)) {
				return fmt.Errorf("stats: variable %s is missing in row %d (estimate on a Subset without it)", v.Name, i+1)
			}
		}
	}
	return nil
}

func (d *Design) newEstimate(stat string, vars []Variable) Estimate {
	e := Estimate{Statistic: stat, Names: make([]string, len(vars)), Value: make([]float64, len(vars)),
		DF: d.DF(), N: d.InDomain()}
	for j, v := range vars {
		e.Names[j] = v.Name
	}
	return e
}

// cholesky solves with a symmetric positive definite matrix.
type cholesky struct{ c mat.Cholesky }

func newCholesky(a [][]float64) (*cholesky, error) {
	p := len(a)
	s := mat.NewSymDense(p, nil)
	for i := range p {
		for j := i; j < p; j++ {
			s.SetSym(i, j, a[i][j])
		}
	}
	ch := &cholesky{}
	if !ch.c.Factorize(s) {
		return nil, errors.New("not positive definite")
	}
	return ch, nil
}

func (ch *cholesky) solve(b []float64) []float64 {
	var x mat.VecDense
	if err := ch.c.SolveVecTo(&x, mat.NewVecDense(len(b), b)); err != nil {
		// Factorize succeeded, so only a near-singular matrix gets here;
		// gonum still returns its best solution.
		_ = err
	}
	out := make([]float64, len(b))
	for i := range out {
		out[i] = x.AtVec(i)
	}
	return out
}
