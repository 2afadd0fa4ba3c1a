package stats

import (
	"math"

	"github.com/govsurvey/govsurvey/form"
)

// The row route of the tables: for designs the cell route does not cover
// (clusters, several weighting steps, calibration to numeric variables),
// every estimate is a Mean on a Subset, with the full residualisation.
// Exact, and slow on large data sets.

// rowClass returns the 0/1 (or numeric) variable of class k of a column.
func rowClass(acc *accum, k, n int) []float64 {
	col := acc.col
	y := make([]float64, n)
	for i := range n {
		switch col.Kind {
		case Numeric:
			if v := col.Values[i]; v == v {
				y[i] = v
			}
		default:
			if k < acc.nChoices {
				if col.Chose(i, k) {
					y[i] = 1
				}
				continue
			}
			for _, ch := range acc.nets[k-acc.nChoices].Choices {
				if col.Chose(i, choiceIndex(col, ch)) {
					y[i] = 1
					break
				}
			}
		}
	}
	return y
}

// rowDomain returns the rows of group g (all groups when by is nil) in the
// filter that answered the question.
func (tb *Tabulator) rowDomain(acc *accum, g int) []bool {
	n := tb.ds.Rows
	in := make([]bool, n)
	for i := range n {
		if tb.filter != nil && !tb.filter[i] {
			continue
		}
		if acc.by != nil && int(acc.by.Codes[i]) != g+1 {
			continue
		}
		in[i] = acc.col.Answered(i)
	}
	return in
}

func (tb *Tabulator) rowTables(acc *accum) ([]QuestionTable, error) {
	col := acc.col
	n := tb.ds.Rows
	out := make([]QuestionTable, acc.G)
	classes := make([][]float64, acc.K)
	for k := range acc.K {
		if n > 0 {
			classes[k] = rowClass(acc, k, n)
		}
	}
	for g := range acc.G {
		qt := tb.header(col)
		if n == 0 {
			nan := Num(math.NaN())
			for k := range acc.K {
				if col.Kind == Numeric {
					qt.Summary = &NumericSummary{nan, nan, nan, nan, nan, nan}
					continue
				}
				est := ChoiceEstimate{Percent: nan, SE: nan, CILow: nan, CIHigh: nan}
				if k < acc.nChoices {
					est.Name, est.Label = col.Choices[k].Name, col.Choices[k].Label.In(tb.lang)
					qt.Choices = append(qt.Choices, est)
				} else {
					est.Name, est.Choices = acc.nets[k-acc.nChoices].Name, acc.nets[k-acc.nChoices].Choices
					qt.Nets = append(qt.Nets, est)
				}
			}
			out[g] = qt
			continue
		}
		in := tb.rowDomain(acc, g)
		sub, err := tb.d.Subset(in)
		if err != nil {
			return nil, err
		}
		nD, df := sub.InDomain(), sub.DF()
		qt.Base = nD
		var WD float64
		lo, hi := math.Inf(1), math.Inf(-1)
		for i, ok := range in {
			if ok {
				WD += tb.d.w[i]
				if col.Kind == Numeric {
					lo, hi = math.Min(lo, col.Values[i]), math.Max(hi, col.Values[i])
				}
			}
		}
		if tb.weighted() {
			wb := Num(WD)
			qt.WeightedBase = &wb
		}
		for k := range acc.K {
			var e Estimate
			if n < 2 && nD > 0 {
				// One response: a share, no variance.
				e = Estimate{Value: []float64{classes[k][slicesIndex(in)]}, Cov: [][]float64{{math.NaN()}}}
			} else if nD > 0 {
				if e, err = Mean(sub, Variable{Name: col.Question.Name, X: classes[k]}); err != nil {
					return nil, err
				}
			}
			if col.Kind == Numeric {
				mu, v := math.NaN(), math.NaN()
				if nD > 0 {
					mu, v = e.Value[0], e.Cov[0][0]
				}
				qt.Summary = tb.numericSummary(mu, v, df, lo, hi, nD)
				continue
			}
			var count float64
			unweighted := 0
			for i, ok := range in {
				if ok && classes[k][i] != 0 {
					count += tb.d.w[i]
					unweighted++
				}
			}
			est, ok := tb.choiceHeader(col, acc, k, count, unweighted, nD)
			if ok {
				tb.fillPercent(&est, e.Value[0], e.Cov[0][0], df, nD)
			}
			if k < acc.nChoices {
				qt.Choices = append(qt.Choices, est)
			} else {
				qt.Nets = append(qt.Nets, est)
			}
		}
		out[g] = qt
	}
	return out, nil
}

func (tb *Tabulator) rowAssociation(acc *accum) (ChiSqTest, error) {
	d := tb.d
	if tb.filter != nil {
		var err error
		if d, err = d.Subset(tb.filter); err != nil {
			return ChiSqTest{}, err
		}
	}
	n := tb.ds.Rows
	rows := make([]int32, n)
	cols := make([]int32, n)
	for i := range n {
		rows[i] = acc.col.Level(i)
		cols[i] = acc.by.Level(i)
	}
	return ChiSq(d, rows, cols, ChiSqF)
}

func formChoice(name, label string) form.Choice {
	return form.Choice{Name: name, Label: form.Text{"": label}}
}

// slicesIndex is the first row in the domain.
func slicesIndex(in []bool) int {
	for i, ok := range in {
		if ok {
			return i
		}
	}
	return 0
}
