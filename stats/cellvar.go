package stats

import (
	"fmt"
	"math"
)

// The cell route to the variance of domain means.
//
// A table holds many estimates: every choice of every question, in every
// group of a cross-tab. Materialising one influence vector per estimate
// and residualising it against the weighting (ten backfitting sweeps for
// rake) costs passes over all rows per estimate. When the design has no
// clusters and at most one categorical weighting step, every row's weight
// and every quantity the residualisation uses are functions of the row's
// cell (its stratum and its levels of the weighting variables), so the
// variance of a domain mean needs only per-cell sums of the estimate's
// variable, which the table code accumulates in one pass:
//
//	influence  x_i = w_i (z_i − φ_c(i)),  z_i = (y_i − μ)·1_D(i)/W_D
//	variance   Σ_h f_h n_h/(n_h−1) [Σ_{i∈h} x_i² − (Σ_{i∈h} x_i)²/n_h]
//
// with φ, the step's fitted values, computed on cells. The results equal
// the row route's (Mean on a Subset) up to rounding; tests check it.

// cellModel is a design seen through cells.
type cellModel struct {
	d       *Design
	nCells  int
	cellOf  []int32   // per row
	stratum []int32   // per cell
	n       []float64 // per cell: rows
	D       []float64 // per cell: Σ of the step's weights before (d)
	W, W2   []float64 // per cell: Σ w, Σ w²
	// constant is set when every row of a cell has the same w and d (then
	// a table needs only counts); cw and cd are those values.
	constant bool
	cw, cd   []float64
	// base is each row's weight before the step (d); the current weights
	// when there is no step.
	base []float64

	// per stratum: variance scale f n/(n−1) (or the lonely rule's), whether
	// PSU totals are centred, and n_h.
	scale   []float64
	centre  []bool
	nh      []float64
	average float64 // the lonely "average" rule's factor, 1 otherwise

	kind stepKind
	tau  []float64 // per cell: current weight / the step's weights after
	// post-stratification
	postLevel []int32 // per cell
	postD     []float64
	// raking
	rakeLev [][]int32   // per margin, per cell
	rho     [][]float64 // per margin, per cell: psw_m / w
	offset  []int       // per margin: first index of its levels in K
	nmk     []float64   // per margin level (K): rows
	R       [][]float64 // K×K backfitting matrix
	// calibration
	gregUnit []int32 // per cell
	greg     *gregStep
}

type stepKind uint8

const (
	stepNone stepKind = iota
	stepPost
	stepRake
	stepGreg
)

// newCellModel returns d's cell model, or an error saying why the cell
// route does not apply (then the row route must be used).
func newCellModel(d *Design) (*cellModel, error) {
	if d.psu != nil {
		return nil, fmt.Errorf("stats: cell route: the design has clusters")
	}
	if len(d.steps) > 1 {
		return nil, fmt.Errorf("stats: cell route: %d weighting steps", len(d.steps))
	}
	for _, w := range d.w {
		if w == 0 {
			return nil, fmt.Errorf("stats: cell route: the design has rows of zero weight")
		}
	}
	cm := &cellModel{d: d, base: d.w, average: 1}
	// The step's own cells.
	stepCell := make([]int32, d.n)
	nStepCells := 1
	psw := func(i int) float64 { return d.w[i] }
	if len(d.steps) == 1 {
		switch s := d.steps[0].(type) {
		case *postStratStep:
			cm.kind = stepPost
			copy(stepCell, s.codes)
			nStepCells = s.k
			cm.base = s.oldw
			psw = func(i int) float64 { return s.oldw[i] * s.factor[s.codes[i]] }
		case *rakeStep:
			cm.kind = stepRake
			copy(stepCell, s.cells.cellOf)
			nStepCells = s.cells.n
			cm.base = s.base
			last := s.after[len(s.after)-1]
			psw = func(i int) float64 { return s.base[i] * last[s.cells.cellOf[i]] }
		case *gregStep:
			if s.cellOf == nil {
				return nil, fmt.Errorf("stats: cell route: calibration to numeric variables")
			}
			cm.kind = stepGreg
			cm.greg = s
			copy(stepCell, s.cellOf)
			nStepCells = len(s.g)
			cm.base = s.ww
			psw = func(i int) float64 { return s.ww[i] * s.g[s.cellOf[i]] }
		default:
			return nil, fmt.Errorf("stats: cell route: step %s", s.name())
		}
	}
	ct := newCellTable(d.n, [][]int32{d.strata, stepCell}, []int{d.nStrat, nStepCells}, nil)
	for i, c := range ct.cellOf {
		if c < 0 {
			return nil, fmt.Errorf("stats: cell route: row %d has no weighting cell", i+1)
		}
	}
	cm.nCells, cm.cellOf, cm.stratum = ct.n, ct.cellOf, ct.levels[0]
	C := ct.n
	cm.n, cm.D, cm.W, cm.W2 = make([]float64, C), make([]float64, C), make([]float64, C), make([]float64, C)
	cm.cw, cm.cd, cm.tau = make([]float64, C), make([]float64, C), make([]float64, C)
	seen := make([]bool, C)
	cm.constant = true
	tauOK := true
	for i, c := range ct.cellOf {
		w, b := d.w[i], cm.base[i]
		cm.n[c]++
		cm.D[c] += b
		cm.W[c] += w
		cm.W2[c] += w * w
		t := w / psw(i)
		if !seen[c] {
			seen[c] = true
			cm.cw[c], cm.cd[c], cm.tau[c] = w, b, t
			continue
		}
		if w != cm.cw[c] || b != cm.cd[c] {
			cm.constant = false
		}
		if math.Abs(t-cm.tau[c]) > 1e-12*cm.tau[c] {
			tauOK = false
		}
	}
	if !tauOK {
		return nil, fmt.Errorf("stats: cell route: weights changed after weighting vary within cells")
	}
	if err := cm.strataScales(); err != nil {
		return nil, err
	}
	switch cm.kind {
	case stepPost:
		s := d.steps[0].(*postStratStep)
		cm.postLevel = ct.levels[1]
		cm.postD = make([]float64, s.k)
		for c, l := range cm.postLevel {
			cm.postD[l] += cm.D[c]
		}
	case stepRake:
		cm.initRake(d.steps[0].(*rakeStep), ct.levels[1])
	case stepGreg:
		cm.gregUnit = ct.levels[1]
	}
	return cm, nil
}

// strataScales sets the per-stratum variance factors as psuVariance does.
func (cm *cellModel) strataScales() error {
	d := cm.d
	cm.scale, cm.centre, cm.nh = make([]float64, d.nStrat), make([]bool, d.nStrat), make([]float64, d.nStrat)
	ok := 0
	for h := range cm.scale {
		f := 1.0
		if d.popPSU != nil && !math.IsInf(d.popPSU[h], 1) {
			f = (d.popPSU[h] - float64(d.sampled[h])) / d.popPSU[h]
		}
		nh := d.sampled[h]
		cm.nh[h] = float64(nh)
		cm.centre[h] = true
		ok++
		switch {
		case f < 1e-7:
		case nh > 1:
			cm.scale[h] = f * float64(nh) / float64(nh-1)
		default:
			switch d.lonely {
			case LonelyFail:
				return fmt.Errorf("stats: stratum %d has only one PSU (choose a lonely-PSU rule)", h+1)
			case LonelyAdjust:
				cm.scale[h] = f
				cm.centre[h] = false
			case LonelyAverage:
				ok--
				cm.average = 0 // marks that a correction is due
			}
		}
	}
	if cm.average == 0 {
		cm.average = 1
		if ok > 0 {
			cm.average = float64(d.nStrat) / float64(ok)
		}
	}
	return nil
}

func (cm *cellModel) initRake(s *rakeStep, rakeCell []int32) {
	M := len(s.after)
	last := s.after[M-1]
	cm.rakeLev = make([][]int32, M)
	cm.rho = make([][]float64, M)
	cm.offset = make([]int, M+1)
	for m := range M {
		cm.offset[m+1] = cm.offset[m] + s.nLevels[m]
		lev := make([]int32, cm.nCells)
		rho := make([]float64, cm.nCells)
		for c, rc := range rakeCell {
			lev[c] = s.cells.levels[m][rc]
			rho[c] = s.after[m][rc] / (last[rc] * cm.tau[c])
		}
		cm.rakeLev[m], cm.rho[m] = lev, rho
	}
	K := cm.offset[M]
	cm.nmk = make([]float64, K)
	cm.R = newSquare(K)
	for c := range cm.nCells {
		for m := range M {
			k := cm.offset[m] + int(cm.rakeLev[m][c])
			cm.nmk[k] += cm.n[c]
			for m2 := range M {
				k2 := cm.offset[m2] + int(cm.rakeLev[m2][c])
				cm.R[k][k2] += cm.n[c] * cm.rho[m2][c] / cm.rho[m][c]
			}
		}
	}
}

// classSums are per-cell sums of an estimate's variable y over the rows
// of a class in the domain: Σ y, Σ d·y, Σ w·y, Σ w²·y; and per stratum
// Σ w²·y². For the domain itself y = 1.
type classSums struct {
	y, d, w, w2 []float64
	yy          []float64 // per stratum
	// counts is set when the sums come from counts of 0/1 rows in a model
	// whose weights are constant within cells: the variance can then be
	// summed exactly, without the cancellation of the expanded form.
	counts bool
}

// fromCounts fills s from per-cell counts of indicator rows, for a model
// whose weights are constant within cells.
func (cm *cellModel) fromCounts(s *classSums, counts []float64) {
	cm.alloc(s)
	clear(s.yy)
	for c, k := range counts {
		s.y[c] = k
		s.d[c] = k * cm.cd[c]
		s.w[c] = k * cm.cw[c]
		s.w2[c] = k * cm.cw[c] * cm.cw[c]
		s.yy[cm.stratum[c]] += s.w2[c]
	}
	s.counts = true
}

func (cm *cellModel) alloc(s *classSums) {
	if len(s.y) != cm.nCells {
		s.y, s.d, s.w, s.w2 = make([]float64, cm.nCells), make([]float64, cm.nCells), make([]float64, cm.nCells), make([]float64, cm.nCells)
	}
	if len(s.yy) != cm.d.nStrat {
		s.yy = make([]float64, cm.d.nStrat)
	}
}

// cellEstimate is one domain mean on the cell route.
type cellEstimate struct {
	mu     float64
	sw2    []float64 // per cell Σ w² z
	phi    []float64 // per cell fitted value of the step
	s1     []float64 // per stratum Σ x
	domain *classSums
	cls    *classSums
}

// estimate computes the domain mean of y and what its variance needs.
// scratch may be reused between calls (it is overwritten).
func (cm *cellModel) estimate(dom, cls *classSums, e *cellEstimate) {
	C := cm.nCells
	if len(e.sw2) != C {
		e.sw2, e.phi = make([]float64, C), make([]float64, C)
		e.s1 = make([]float64, cm.d.nStrat)
	}
	e.domain, e.cls = dom, cls
	var WD, WY float64
	for c := range C {
		WD += dom.w[c]
		WY += cls.w[c]
	}
	if WD == 0 {
		e.mu = math.NaN()
		return
	}
	mu := WY / WD
	e.mu = mu
	for c := range C {
		e.sw2[c] = (cls.w2[c] - mu*dom.w2[c]) / WD
	}
	cm.fit(dom, cls, mu, WD, e.phi)
	clear(e.s1)
	for c := range C {
		sw := (cls.w[c] - mu*dom.w[c]) / WD
		e.s1[cm.stratum[c]] += sw - e.phi[c]*cm.W[c]
	}
}

// fit writes the step's fitted values φ per cell for the influence
// z = (y − μ)1_D/W_D.
func (cm *cellModel) fit(dom, cls *classSums, mu, WD float64, phi []float64) {
	C := cm.nCells
	switch cm.kind {
	case stepNone:
		clear(phi)
	case stepPost:
		num := make([]float64, len(cm.postD))
		for c := range C {
			sd := (cls.d[c] - mu*dom.d[c]) / WD
			num[cm.postLevel[c]] += cm.tau[c] * sd
		}
		for c := range C {
			l := cm.postLevel[c]
			if cm.postD[l] != 0 {
				phi[c] = num[l] / cm.postD[l] / cm.tau[c]
			}
		}
	case stepRake:
		M := len(cm.rakeLev)
		K := len(cm.nmk)
		S := make([]float64, K)
		for c := range C {
			s0 := (cls.y[c] - mu*dom.y[c]) / WD
			for m := range M {
				S[cm.offset[m]+int(cm.rakeLev[m][c])] += s0 / cm.rho[m][c]
			}
		}
		A := make([]float64, K)
		for range rakeBackfits {
			for m := range M {
				for k := cm.offset[m]; k < cm.offset[m+1]; k++ {
					if cm.nmk[k] == 0 {
						continue
					}
					v := S[k]
					row := cm.R[k]
					for k2, a := range A {
						v -= row[k2] * a
					}
					A[k] += v / cm.nmk[k]
				}
			}
		}
		for c := range C {
			var f float64
			for m := range M {
				f += cm.rho[m][c] * A[cm.offset[m]+int(cm.rakeLev[m][c])]
			}
			phi[c] = f
		}
	case stepGreg:
		g := cm.greg
		p := len(g.mm)
		rhs := make([]float64, p)
		for c := range C {
			sd := (cls.d[c] - mu*dom.d[c]) / WD
			if sd == 0 {
				continue
			}
			u := cm.gregUnit[c]
			for a := range p {
				rhs[a] += g.mm[a][u] * cm.tau[c] * sd
			}
		}
		beta := g.chol.solve(rhs)
		for c := range C {
			u := cm.gregUnit[c]
			var f float64
			for a := range p {
				f += g.mm[a][u] * beta[a]
			}
			phi[c] = f / cm.tau[c]
		}
	}
}

// cov returns the covariance of two domain means over the same domain:
// the variance of a when same, else the covariance of two disjoint 0/1
// classes (the cells of a table).
func (cm *cellModel) cov(a, b *cellEstimate, same bool) float64 {
	if math.IsNaN(a.mu) || math.IsNaN(b.mu) {
		return math.NaN()
	}
	H := cm.d.nStrat
	WD := 0.0
	for c := range cm.nCells {
		WD += a.domain.w[c]
	}
	x := make([]float64, H)
	if a.cls.counts && b.cls.counts && a.domain.counts {
		// Every row of a cell has the same weight and, per class, one of
		// three influences: in the class, in the domain but not the class,
		// outside the domain. Summing their squares directly keeps the
		// digits of a variance that is (nearly) zero, such as that of a
		// weighting variable's own shares.
		for c := range cm.nCells {
			wc := cm.cw[c]
			nD, n := a.domain.y[c], cm.n[c]
			na := a.cls.y[c]
			a1 := (1-a.mu)/WD - a.phi[c]
			a0 := -a.mu/WD - a.phi[c]
			var t float64
			if same {
				t = na*a1*a1 + (nD-na)*a0*a0 + (n-nD)*a.phi[c]*a.phi[c]
			} else {
				nb := b.cls.y[c]
				b1 := (1-b.mu)/WD - b.phi[c]
				b0 := -b.mu/WD - b.phi[c]
				t = na*a1*b0 + nb*a0*b1 + (nD-na-nb)*a0*b0 + (n-nD)*a.phi[c]*b.phi[c]
			}
			x[cm.stratum[c]] += wc * wc * t
		}
	} else {
		// Σ w² (z_a − φ_a)(z_b − φ_b) expanded:
		// Σ w² z_a z_b = [Σw²y_a y_b − μ_b Σw²y_a − μ_a Σw²y_b + μ_a μ_b Σw²]/W_D²
		// (Σw²y_a y_b per stratum: yy for a variance, 0 for disjoint classes).
		for c := range cm.nCells {
			h := cm.stratum[c]
			x[h] += (-b.mu*a.cls.w2[c] - a.mu*b.cls.w2[c] + a.mu*b.mu*a.domain.w2[c]) / (WD * WD)
			x[h] -= a.phi[c]*b.sw2[c] + b.phi[c]*a.sw2[c]
			x[h] += a.phi[c] * b.phi[c] * cm.W2[c]
		}
		if same {
			for h := range H {
				x[h] += a.cls.yy[h] / (WD * WD)
			}
		}
	}
	var v float64
	for h := range H {
		if cm.scale[h] == 0 {
			continue
		}
		t := x[h]
		if cm.centre[h] {
			t -= a.s1[h] * b.s1[h] / cm.nh[h]
		}
		v += cm.scale[h] * t
	}
	return v * cm.average
}

// variance is the variance of a domain mean.
func (cm *cellModel) variance(e *cellEstimate) float64 { return cm.cov(e, e, true) }
