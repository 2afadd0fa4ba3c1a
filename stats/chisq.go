package stats

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// ChiSqStatistic chooses the Rao–Scott correction of the Pearson
// chi-square, as R's svychisq(statistic=…).
type ChiSqStatistic string

const (
	// ChiSqF is the second-order (Satterthwaite) correction referred to an
	// F distribution, R's default statistic="F".
	ChiSqF ChiSqStatistic = "F"
	// ChiSqFirstOrder is the first-order correction: X² divided by the
	// mean generalised design effect, referred to χ² with (r−1)(c−1) df
	// (statistic="Chisq").
	ChiSqFirstOrder ChiSqStatistic = "Chisq"
)

// ChiSqTest is the outcome of a test of independence in a two-way table.
type ChiSqTest struct {
	Statistic ChiSqStatistic `json:"statistic"`
	// Value is F for ChiSqF; for ChiSqFirstOrder it is Pearson's X², as R
	// prints it (the p-value uses X²/MeanDeff).
	Value    float64 `json:"value"`
	NDF      float64 `json:"ndf"`           // numerator df (F) or df (χ²)
	DDF      float64 `json:"ddf,omitempty"` // denominator df (F)
	PValue   float64 `json:"p_value"`
	Pearson  float64 `json:"pearson"`   // X² of the weighted table scaled to the sample size
	MeanDeff float64 `json:"mean_deff"` // mean of the generalised design effects, trace(Δ)/((r−1)(c−1))
}

// ChiSq tests the independence of two categorical variables (codes are
// level indexes; negative is missing) with the Rao–Scott correction, as
// R's svychisq(~rows+cols, design, statistic=…). Rows missing either
// variable are left out of the table, as R's na.rm=TRUE. Levels that no
// row with a non-zero weight has are left out too (R's unique()).
func ChiSq(d *Design, rows, cols []int32, stat ChiSqStatistic) (ChiSqTest, error) {
	if len(rows) != d.n || len(cols) != d.n {
		return ChiSqTest{}, errors.New("stats: chi-square variables and design differ in length")
	}
	rl, nr := presentLevels(d, rows)
	cl, nc := presentLevels(d, cols)
	if nr < 2 || nc < 2 {
		return ChiSqTest{}, fmt.Errorf("stats: chi-square needs two levels of each variable (%d×%d present)", nr, nc)
	}
	k := nr * nc
	complete := make([]bool, d.n)
	vars := make([]Variable, k)
	for j := range vars {
		vars[j] = Variable{Name: fmt.Sprint(j), X: make([]float64, d.n)}
	}
	N := 0
	for i := range d.n {
		if d.w[i] == 0 {
			continue
		}
		N++
		if rows[i] < 0 || cols[i] < 0 {
			continue
		}
		complete[i] = true
		cell := rl[rows[i]] + nr*cl[cols[i]]
		vars[cell].X[i] = 1
	}
	sub, err := d.Subset(complete)
	if err != nil {
		return ChiSqTest{}, err
	}
	mean2, err := Mean(sub, vars...)
	if err != nil {
		return ChiSqTest{}, err
	}
	table := make([]float64, k)
	for i := range d.n {
		if complete[i] {
			table[rl[rows[i]]+nr*cl[cols[i]]] += d.w[i]
		}
	}
	return raoScott(mean2.Value, mean2.Cov, table, float64(N), d.psuMinusStrata(), nr, nc, stat)
}

// presentLevels maps the levels that occur (with a non-zero weight) to
// 0..k-1 in code order.
func presentLevels(d *Design, codes []int32) (map[int32]int, int) {
	seen := map[int32]bool{}
	maxc := int32(-1)
	for i, c := range codes {
		if c >= 0 && d.w[i] != 0 {
			seen[c] = true
			maxc = max(maxc, c)
		}
	}
	m := make(map[int32]int, len(seen))
	k := 0
	for c := int32(0); c <= maxc; c++ {
		if seen[c] {
			m[c] = k
			k++
		}
	}
	return m, k
}

// psuMinusStrata is svychisq's ν: distinct PSUs minus distinct strata
// among the rows with a non-zero weight (R counts every row of the design
// object; the two agree for a design that is not a domain).
func (d *Design) psuMinusStrata() int { return d.DF() }

// raoScott is the body of R's svychisq for statistics F and Chisq, given
// the cell proportions (cells numbered row fastest) with their covariance,
// the weighted table, the sample size N and ν.
func raoScott(mean2 []float64, V [][]float64, table []float64, N float64, nu, nr, nc int, stat ChiSqStatistic) (ChiSqTest, error) {
	k := nr * nc
	// Pearson's X² of the table scaled to N.
	var tot float64
	for _, t := range table {
		tot += t
	}
	if tot == 0 {
		return ChiSqTest{}, errors.New("stats: chi-square of an empty table")
	}
	rowSum := make([]float64, nr)
	colSum := make([]float64, nc)
	obs := make([]float64, k)
	for c := range k {
		obs[c] = table[c] * N / tot
		rowSum[c%nr] += obs[c]
		colSum[c/nr] += obs[c]
	}
	var x2 float64
	for c := range k {
		e := rowSum[c%nr] * colSum[c/nr] / N
		if e > 0 {
			x2 += (obs[c] - e) * (obs[c] - e) / e
		}
	}
	// C: the interaction contrasts made orthogonal to the main effects
	// (R's qr.resid(qr(X1), X12[, -(1:(nr+nc-1))])).
	p1 := nr + nc - 1
	q := (nr - 1) * (nc - 1)
	X1 := mat.NewDense(k, p1, nil)
	X12 := mat.NewDense(k, q, nil)
	for c := range k {
		r, s := c%nr, c/nr
		X1.Set(c, 0, 1)
		if r > 0 {
			X1.Set(c, r, 1)
		}
		if s > 0 {
			X1.Set(c, nr-1+s, 1)
		}
		if r > 0 && s > 0 {
			X12.Set(c, (s-1)*(nr-1)+(r-1), 1)
		}
	}
	var qr mat.QR
	qr.Factorize(X1)
	var beta mat.Dense
	if err := qr.SolveTo(&beta, false, X12); err != nil {
		return ChiSqTest{}, fmt.Errorf("stats: chi-square contrasts: %w", err)
	}
	var fit, C mat.Dense
	fit.Mul(X1, &beta)
	C.Sub(X12, &fit)
	// iD C, with 1/p for p ≠ 0.
	iDC := mat.NewDense(k, q, nil)
	for c := range k {
		inv := 0.0
		if mean2[c] != 0 {
			inv = 1 / mean2[c]
		}
		for j := range q {
			iDC.Set(c, j, inv*C.At(c, j))
		}
	}
	var denom mat.Dense
	denom.Mul(C.T(), iDC)
	denom.Scale(1/N, &denom)
	Vm := mat.NewDense(k, k, nil)
	for a := range k {
		for b := range k {
			Vm.Set(a, b, V[a][b])
		}
	}
	var tmp, numr mat.Dense
	tmp.Mul(Vm, iDC)
	numr.Mul(iDC.T(), &tmp)
	var delta mat.Dense
	if err := delta.Solve(&denom, &numr); err != nil {
		return ChiSqTest{}, fmt.Errorf("stats: chi-square: %w", err)
	}
	var d2 mat.Dense
	d2.Mul(&delta, &delta)
	tr, tr2 := mat.Trace(&delta), mat.Trace(&d2)
	out := ChiSqTest{Statistic: stat, Pearson: x2, MeanDeff: tr / float64(q)}
	switch stat {
	case ChiSqF, "":
		out.Statistic = ChiSqF
		d0 := tr * tr / tr2
		out.Value = x2 / tr
		out.NDF, out.DDF = d0, d0*float64(nu)
		out.PValue = fUpper(out.Value, out.NDF, out.DDF)
	case ChiSqFirstOrder:
		out.Value = x2
		out.NDF = float64(q)
		out.PValue = chiSqUpper(x2/out.MeanDeff, out.NDF)
	default:
		return ChiSqTest{}, fmt.Errorf("stats: unknown chi-square statistic %q", stat)
	}
	for _, x := range []float64{out.Value, out.NDF, out.DDF, out.PValue, out.MeanDeff} {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return out, errors.New("stats: chi-square is not defined for this table (no design degrees of freedom, or no variation)")
		}
	}
	return out, nil
}
