package stats

import (
	"fmt"
	"math"
)

// calStep is one weighting step as the variance sees it (an element of R's
// design$postStrata): it replaces influence columns by their residuals
// from the step's weighting model.
type calStep interface {
	// residualize replaces each column of u (n rows) by its residual.
	residualize(u [][]float64)
	// name says what the step was, for reports ("rake", …).
	name() string
}

// variance returns the linearised variance–covariance matrix of the totals
// of the influence columns u (one slice per column, n rows each), as R's
// svyrecvar(): residuals against every weighting step, then the
// between-PSU variance within strata. u is overwritten.
func (d *Design) variance(u [][]float64) ([][]float64, error) {
	for _, s := range d.steps {
		s.residualize(u)
	}
	v, err := d.psuVariance(u)
	if err != nil || d.popPSU == nil || len(d.later) == 0 {
		// Without an FPC the first stage is taken as drawn with
		// replacement: its variance is the whole (R's multistage()).
		return v, err
	}
	if err := d.laterVariance(u, v); err != nil {
		return nil, err
	}
	return v, nil
}

// laterVariance adds the variance of the stages after the first to v, as
// R's multistage() recursion: for stage t, within each stratum s (nested
// in a unit of stage t−1), the between-unit variance of the unit totals of
// u as at the first stage (FPC, lonely rule), times π_s, the product of
// the sampling fractions n/N of the strata above s:
//
//	V = V₁ + Σ_t Σ_s π_s f_s n_s/(n_s−1) Σ_{q∈s} (X_q − X̄_s)(X_q − X̄_s)ᵀ
//
// The lonely rule "average" scales, as R's onestage() does within each
// unit of the stage above, by (strata in the unit)/(strata with more than
// one unit); a unit all of whose strata are lonely makes the variance NaN,
// as in R.
func (d *Design) laterVariance(u [][]float64, v [][]float64) error {
	k := len(u)
	if k == 0 {
		return nil
	}
	// frac[p] is π of the strata inside unit p of the stage above: the
	// sampling fractions of the stages above down to p's own stratum.
	frac := make([]float64, d.nPSU)
	for p, h := range d.psuStratum {
		frac[p] = samplingFraction(d.sampled[h], d.popPSU[h])
	}
	dev := make([]float64, k)
	for t, ls := range d.later {
		stage := t + 2
		// Unit totals, per column.
		totals := u
		nUnit := d.n
		unitStratum := ls.stratum
		if ls.unit != nil {
			nUnit = ls.nUnit
			unitStratum = ls.unitStratum
			totals = make([][]float64, k)
			for j := range u {
				tot := make([]float64, nUnit)
				for i, x := range u[j] {
					tot[ls.unit[i]] += x
				}
				totals[j] = tot
			}
		}
		means := stratumMeans(totals, unitStratum, ls.sampled, ls.nStrat)
		// Per stratum: scale (with π), centring; per parent unit: its
		// strata and those not lonely under "average".
		scale := make([]float64, ls.nStrat)
		centre := make([]bool, ls.nStrat)
		present := d.present(ls.stratum, ls.nStrat)
		var strata, ok map[int32]int
		if d.lonely == LonelyAverage {
			strata, ok = map[int32]int{}, map[int32]int{}
		}
		for h := range scale {
			if present != nil && !present[h] {
				continue
			}
			nh := ls.sampled[h]
			f := 1.0
			if ls.pop != nil && !math.IsInf(ls.pop[h], 1) {
				f = (ls.pop[h] - float64(nh)) / ls.pop[h]
			}
			pi := frac[ls.parent[h]]
			centre[h] = true
			if strata != nil {
				strata[ls.parent[h]]++
				ok[ls.parent[h]]++
			}
			switch {
			case f < 1e-7:
			case nh > 1:
				scale[h] = pi * f * float64(nh) / float64(nh-1)
			default:
				switch d.lonely {
				case LonelyFail:
					return fmt.Errorf("stats: stage %d: the stratum of row %d, within its unit of stage %d, has only one unit (choose a lonely-PSU rule)",
						stage, firstRow(ls.stratum, int32(h))+1, stage-1)
				case LonelyAdjust:
					scale[h] = pi * f
					centre[h] = false
				case LonelyAverage:
					ok[ls.parent[h]]--
				}
			}
		}
		for p, n := range strata {
			if ok[p] == 0 {
				// R: the sum of no stratum's variance times n/0.
				for a := range v {
					for b := range v[a] {
						v[a][b] = math.NaN()
					}
				}
				return nil
			}
			if ok[p] != n {
				c := float64(n) / float64(ok[p])
				for h := range scale {
					if ls.parent[h] == p {
						scale[h] *= c
					}
				}
			}
		}
		for q := range nUnit {
			h := unitStratum[q]
			s := scale[h]
			if s == 0 {
				continue
			}
			for j := range totals {
				dev[j] = totals[j][q]
				if centre[h] {
					dev[j] -= means[j][h]
				}
			}
			for a := range k {
				da := s * dev[a]
				for b := range k {
					v[a][b] += da * dev[b]
				}
			}
		}
		if t+1 < len(d.later) {
			// The fractions for the next stage's strata, inside this
			// stage's units.
			next := make([]float64, nUnit)
			for q := range nUnit {
				h := unitStratum[q]
				next[q] = frac[ls.parent[h]] * samplingFraction(ls.sampled[h], ls.pop[h])
			}
			frac = next
		}
	}
	return nil
}

// samplingFraction is n/N, 0 for an infinite population (R's
// nPSUs/fpcs).
func samplingFraction(n int, pop float64) float64 {
	if math.IsInf(pop, 1) {
		return 0
	}
	return float64(n) / pop
}

// present says which strata (codes per row, k of them) hold a row of the
// domain (a non-zero weight); nil when every stratum counts. R's domain
// of a design without weighting steps drops the rows outside it (with
// steps it keeps them at weight zero): a stratum left without rows is not
// there, so its lonely PSU is no failure and the rule "average" does not
// count it. Absent PSUs of a stratum still present count, as R's
// zero-padding to the stratum's sample size does.
// stratumMeans is, for each column of totals (one total a unit), the mean
// of the units' totals in each stratum: their sum over the units drawn
// there (sampled).
func stratumMeans(totals [][]float64, stratumOf []int32, sampled []int, nStrat int) [][]float64 {
	means := make([][]float64, len(totals))
	for j := range totals {
		m := make([]float64, nStrat)
		for u, x := range totals[j] {
			m[stratumOf[u]] += x
		}
		for h := range m {
			m[h] /= float64(sampled[h])
		}
		means[j] = m
	}
	return means
}

func (d *Design) present(strata []int32, k int) []bool {
	if len(d.steps) > 0 {
		return nil
	}
	p := make([]bool, k)
	all := true
	for i, w := range d.w {
		if w != 0 {
			p[strata[i]] = true
		} else {
			all = false
		}
	}
	if all {
		return nil
	}
	return p
}

// psuVariance is R's onestage()/onestrat() for one stage of sampling: per
// stratum h with n_h PSUs and finite-population factor f_h,
//
//	V_h = f_h n_h/(n_h−1) Σ_p (X_p − X̄_h)(X_p − X̄_h)ᵀ
//
// where X_p are the PSU totals of u.
func (d *Design) psuVariance(u [][]float64) ([][]float64, error) {
	k := len(u)
	v := newSquare(k)
	if k == 0 {
		return v, nil
	}
	// PSU totals, grouped by stratum.
	var totals [][]float64 // per column, per PSU
	var psuStratum []int32
	if d.psu == nil {
		totals = u
		psuStratum = d.strata
	} else {
		totals = make([][]float64, k)
		for j := range u {
			t := make([]float64, d.nPSU)
			for i, x := range u[j] {
				t[d.psu[i]] += x
			}
			totals[j] = t
		}
		psuStratum = d.psuStratum
	}
	// Stratum means of the PSU totals.
	means := stratumMeans(totals, psuStratum, d.sampled, d.nStrat)
	scale := make([]float64, d.nStrat)
	centre := make([]bool, d.nStrat)
	present := d.present(d.strata, d.nStrat)
	okStrata, nStrata := 0, 0
	average := false
	for h := range scale {
		if present != nil && !present[h] {
			continue
		}
		f := 1.0
		if d.popPSU != nil && !math.IsInf(d.popPSU[h], 1) {
			f = (d.popPSU[h] - float64(d.sampled[h])) / d.popPSU[h]
		}
		nh := d.sampled[h]
		centre[h] = true
		okStrata++
		nStrata++
		switch {
		case f < 1e-7:
			scale[h] = 0
		case nh > 1:
			scale[h] = f * float64(nh) / float64(nh-1)
		default:
			switch d.lonely {
			case LonelyFail:
				return nil, fmt.Errorf("stats: stratum %d has only one PSU (choose a lonely-PSU rule)", h+1)
			case LonelyRemove, LonelyCertainty:
				scale[h] = 0
			case LonelyAdjust:
				scale[h] = f
				centre[h] = false
			case LonelyAverage:
				scale[h] = 0
				okStrata--
				average = true
			}
		}
	}
	// Σ scale_h (X_p − X̄_h)(X_p − X̄_h)ᵀ, two passes so that centring
	// happens before squaring, as in R.
	dev := make([]float64, k)
	for p := range totals[0] {
		h := psuStratum[p]
		s := scale[h]
		if s == 0 {
			continue
		}
		for j := range totals {
			dev[j] = totals[j][p]
			if centre[h] {
				dev[j] -= means[j][h]
			}
		}
		for a := range k {
			da := s * dev[a]
			row := v[a]
			for b := a; b < k; b++ {
				row[b] += da * dev[b]
			}
		}
	}
	for a := range k {
		for b := 0; b < a; b++ {
			v[a][b] = v[b][a]
		}
	}
	if average && okStrata > 0 {
		c := float64(nStrata) / float64(okStrata)
		for a := range v {
			for b := range v[a] {
				v[a][b] *= c
			}
		}
	}
	return v, nil
}

func newSquare(k int) [][]float64 {
	v := make([][]float64, k)
	back := make([]float64, k*k)
	for i := range v {
		v[i] = back[i*k : (i+1)*k : (i+1)*k]
	}
	return v
}

// postStratStep is one postStratify(): rows in levels (codes), the weights
// before (oldw) and the factor of each level, so that the weights after
// are psw = oldw·factor. Its residual subtracts, per level, the
// old-weighted mean of u/psw times psw.
type postStratStep struct {
	codes  []int32
	k      int
	oldw   []float64
	factor []float64
	field  string
}

func (s *postStratStep) name() string { return "postStratify" }

func (s *postStratStep) residualize(u [][]float64) {
	den := make([]float64, s.k)
	for i, c := range s.codes {
		if s.oldw[i] != 0 {
			den[c] += s.oldw[i]
		}
	}
	num := make([]float64, s.k)
	for _, x := range u {
		clear(num)
		for i, c := range s.codes {
			if s.oldw[i] != 0 {
				// x·oldw/psw with psw = oldw·factor
				num[c] += x[i] / s.factor[c]
			}
		}
		for c := range num {
			if den[c] != 0 {
				num[c] /= den[c]
			}
		}
		for i, c := range s.codes {
			if s.oldw[i] != 0 {
				x[i] -= num[c] * s.oldw[i] * s.factor[c]
			}
		}
	}
}

// rakeStep is one rake(). R keeps the weights right after each margin's
// post-stratification in the last sweep (psw); here they are the weights
// before raking (base) times the cell's product of factors at that point
// (after[m][cell]). R's svyrecvar does not project exactly: it backfits
// the margins ten times, unweighted means of u/psw within each margin
// level; so do we.
type rakeStep struct {
	base    []float64
	cells   cellTable
	after   [][]float64
	fields  []string
	nLevels []int
}

// rakeBackfits is the number of backfitting sweeps in R's svyrecvar.
const rakeBackfits = 10

func (s *rakeStep) name() string { return "rake" }

func (s *rakeStep) residualize(u [][]float64) {
	ct := s.cells
	counts := make([][]float64, len(s.after))
	for m := range s.after {
		c := make([]float64, s.nLevels[m])
		for _, cell := range ct.cellOf {
			if cell >= 0 {
				c[ct.levels[m][cell]]++
			}
		}
		counts[m] = c
	}
	for _, x := range u {
		for range rakeBackfits {
			for m, fm := range s.after {
				lv := ct.levels[m]
				sum := make([]float64, s.nLevels[m])
				for i, cell := range ct.cellOf {
					if cell >= 0 {
						sum[lv[cell]] += x[i] / (s.base[i] * fm[cell])
					}
				}
				for l := range sum {
					if counts[m][l] != 0 {
						sum[l] /= counts[m][l]
					}
				}
				for i, cell := range ct.cellOf {
					if cell >= 0 {
						x[i] -= s.base[i] * fm[cell] * sum[lv[cell]]
					}
				}
			}
		}
	}
}

// gregStep is one calibrate(): the model matrix mm over units, the
// g-weights of the units and the weights before (ww, per row). Units are
// rows, or with cellOf the cells of categorical margins (levels). The
// residual is R's qr.resid(qr(mm·√ww), u/(g√ww))·g√ww, that is
// u − g·ww·mmβ with β = (mmᵀ diag(ww) mm)⁻¹ mmᵀ(u/g).
type gregStep struct {
	mm     [][]float64 // [variable][unit]
	g      []float64   // [unit]
	ww     []float64   // [row]
	cellOf []int32     // [row] → unit; nil: the row is the unit
	levels [][]int32   // with cellOf: per margin, per cell, the level
	chol   *cholesky
	calfun CalFun
}

func (s *gregStep) name() string { return "calibrate(" + s.calfun.String() + ")" }

func (s *gregStep) unit(i int) int {
	if s.cellOf == nil {
		return i
	}
	return int(s.cellOf[i])
}

func (s *gregStep) residualize(u [][]float64) {
	p := len(s.mm)
	rhs := make([]float64, p)
	for _, x := range u {
		clear(rhs)
		for i, xi := range x {
			k := s.unit(i)
			if k < 0 || s.ww[i] == 0 || s.g[k] == 0 || xi == 0 {
				continue
			}
			r := xi / s.g[k]
			for a := range p {
				rhs[a] += s.mm[a][k] * r
			}
		}
		beta := s.chol.solve(rhs)
		for i := range x {
			k := s.unit(i)
			if k < 0 || s.ww[i] == 0 {
				continue
			}
			var fit float64
			for a := range p {
				fit += s.mm[a][k] * beta[a]
			}
			x[i] -= s.g[k] * s.ww[i] * fit
		}
	}
}

// firstRow is the first row whose code is c (for messages).
func firstRow(codes []int32, c int32) int {
	for i, x := range codes {
		if x == c {
			return i
		}
	}
	return -1
}
