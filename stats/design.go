package stats

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// LonelyPSU says what to do with a stratum that has a single primary
// sampling unit, whose variance cannot be estimated (R's
// options(survey.lonely.psu=…)).
type LonelyPSU int

const (
	// LonelyFail refuses the variance, as R does by default.
	LonelyFail LonelyPSU = iota
	// LonelyRemove and LonelyCertainty give the stratum no variance.
	LonelyRemove
	LonelyCertainty
	// LonelyAdjust measures the PSU against the grand mean.
	LonelyAdjust
	// LonelyAverage gives the stratum the average variance of the others.
	LonelyAverage
)

func (l LonelyPSU) String() string {
	switch l {
	case LonelyFail:
		return "fail"
	case LonelyRemove:
		return "remove"
	case LonelyCertainty:
		return "certainty"
	case LonelyAdjust:
		return "adjust"
	case LonelyAverage:
		return "average"
	}
	return fmt.Sprintf("LonelyPSU(%d)", int(l))
}

// DesignSpec describes how a sample was drawn, one entry a row, as R's
// svydesign(ids=~Clusters, strata=~Strata, weights=~Weights, fpc=~FPC).
// A multi-stage design, R's svydesign(ids=~psu+ssu, strata=~st,
// fpc=~N1+N2), gives its later stages in Stages. The variance is R's
// default (survey.ultimate.cluster=FALSE): without an FPC the first stage
// is taken as drawn with replacement and its between-PSU variance is the
// whole variance, later stages ignored; with FPCs the multistage estimator
// adds, for each later stage, the variance between its units within the
// strata inside each unit of the stage above, weighted by the sampling
// fractions of the stages above (Särndal, Swensson & Wretman §4.3).
type DesignSpec struct {
	// Rows is the number of rows; it may be left 0 when another field
	// gives it.
	Rows int
	// Weights are the sampling weights (inverse inclusion probabilities);
	// nil: with an FPC, the product over stages of N/n (R's svydesign
	// without weights), without one every row weighs 1.
	Weights []float64
	// Strata are the rows' strata, any codes; nil: one stratum.
	Strata []int32
	// Clusters are the rows' primary sampling units, any codes, each
	// within one stratum; nil: every row is its own PSU.
	Clusters []int32
	// FPC is, per row, the number of PSUs in the population of its
	// stratum (all values ≥ 1) or the stratum's sampling fraction (all
	// values < 1), constant within a stratum; nil: sampling with
	// replacement.
	FPC []float64
	// Stages are the stages after the first, in order (R's ids=~psu+ssu+…,
	// fpc=~N1+N2+…). They need Clusters, and an FPC at every stage or at
	// none (R refuses fpc columns fewer than the stages).
	Stages []Stage
	// Lonely is the rule for strata with a single PSU, at every stage (R's
	// survey.lonely.psu; at a later stage the "stratum" is a stratum within
	// a unit of the stage above, e.g. a PSU in which one SSU was drawn).
	Lonely LonelyPSU
}

// Stage is a stage after the first of a multi-stage design: units drawn
// within each unit of the stage above, R's second and later columns of
// ids, strata and fpc.
type Stage struct {
	// Clusters are the rows' units at this stage, any codes, read within
	// the unit of the stage above (the same code under two PSUs is two
	// units, as R's svydesign nests them); nil: every row is its own unit.
	Clusters []int32
	// Strata are the strata of this stage within each unit of the stage
	// above, any codes; nil: none (R's default: each unit of the stage
	// above is one stratum).
	Strata []int32
	// FPC is, per row, the number of this stage's units in the population
	// of its stratum (within its unit of the stage above), or the sampling
	// fraction; population sizes or fractions throughout the design, as
	// DesignSpec.FPC.
	FPC []float64
}

// Design is a survey design: rows with their weights, strata and primary
// sampling units, and the weighting steps already applied to them. Every
// estimator takes one. A Design is immutable: weighting and Subset return
// new designs that share what did not change.
type Design struct {
	n      int
	w      []float64 // current weights; zero outside a domain
	strata []int32   // dense stratum index per row
	nStrat int
	psu    []int32 // dense PSU index per row; nil: each row is its own PSU
	nPSU   int
	// psuStratum is each PSU's stratum (only with psu).
	psuStratum []int32
	// sampled is the number of PSUs per stratum in the design (R's
	// fpc$sampsize); it is fixed when the design is made, so that a domain
	// keeps the PSU count of its stratum.
	sampled []int
	// popPSU is the number of PSUs per stratum in the population; nil
	// without an FPC.
	popPSU []float64
	lonely LonelyPSU
	// steps are the weighting steps in the order applied; their residuals
	// enter the variance.
	steps []calStep
	// stale is set when the weights were changed after the last step
	// (trimming), so that step's weights are not the current ones.
	stale bool
	// hasStrata and hasClusters record what the spec gave, for reports.
	hasStrata, hasClusters bool
	// later are the stages after the first (nil: one stage). Their
	// variance is added only with an FPC (popPSU not nil), as in R.
	later []*laterStage
}

// laterStage is one stage after the first. Its strata are nested in the
// units of the stage above (parent), its units in its strata; indices are
// dense over the whole design.
type laterStage struct {
	unit        []int32 // per row; nil: every row is its own unit
	nUnit       int
	stratum     []int32 // per row
	nStrat      int
	unitStratum []int32   // per unit (only with unit)
	parent      []int32   // per stratum: its unit of the stage above
	sampled     []int     // per stratum: units drawn (R's fpc$sampsize)
	pop         []float64 // per stratum: units in the population; nil without an FPC
}

// NewDesign checks spec and returns its design.
func NewDesign(spec DesignSpec) (*Design, error) {
	n := spec.Rows
	lens := []int{len(spec.Weights), len(spec.Strata), len(spec.Clusters), len(spec.FPC)}
	for _, st := range spec.Stages {
		lens = append(lens, len(st.Clusters), len(st.Strata), len(st.FPC))
	}
	for _, l := range lens {
		if l == 0 {
			continue
		}
		if n == 0 {
			n = l
		}
		if l != n {
			return nil, fmt.Errorf("stats: design columns have different lengths (%d and %d rows)", n, l)
		}
	}
	if n == 0 {
		return nil, errors.New("stats: design has no rows")
	}
	d := &Design{n: n, lonely: spec.Lonely, hasStrata: spec.Strata != nil, hasClusters: spec.Clusters != nil}
	if spec.Lonely < LonelyFail || spec.Lonely > LonelyAverage {
		return nil, fmt.Errorf("stats: unknown lonely-PSU rule %d", int(spec.Lonely))
	}
	d.w = make([]float64, n)
	if spec.Weights == nil {
		for i := range d.w {
			d.w[i] = 1
		}
	} else {
		for i, w := range spec.Weights {
			if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
				return nil, fmt.Errorf("stats: row %d: weight %v is not a finite non-negative number", i+1, w)
			}
			d.w[i] = w
		}
	}
	d.strata = make([]int32, n)
	if spec.Strata != nil {
		d.nStrat = denseCodes(spec.Strata, d.strata)
	} else {
		d.nStrat = 1
	}
	if spec.Clusters != nil {
		d.psu = make([]int32, n)
		d.nPSU = denseCodes(spec.Clusters, d.psu)
		d.psuStratum = make([]int32, d.nPSU)
		for i := range d.psuStratum {
			d.psuStratum[i] = -1
		}
		for i, p := range d.psu {
			switch h := d.psuStratum[p]; {
			case h < 0:
				d.psuStratum[p] = d.strata[i]
			case h != d.strata[i]:
				return nil, fmt.Errorf("stats: cluster %d lies in two strata; clusters must be nested in strata", spec.Clusters[i])
			}
		}
		d.sampled = make([]int, d.nStrat)
		for _, h := range d.psuStratum {
			d.sampled[h]++
		}
	} else {
		d.nPSU = n
		d.sampled = make([]int, d.nStrat)
		for _, h := range d.strata {
			d.sampled[h]++
		}
	}
	if d.nPSU == 1 && !d.hasStrata {
		return nil, errors.New("stats: design has only one primary sampling unit")
	}
	if err := d.setStages(spec); err != nil {
		return nil, err
	}
	popsize, err := fpcKind(spec)
	if err != nil {
		return nil, err
	}
	if spec.FPC != nil {
		if err := d.setFPC(spec.FPC, popsize); err != nil {
			return nil, err
		}
	}
	for t, st := range spec.Stages {
		if err := d.later[t].setFPC(t+2, st.FPC, popsize); err != nil {
			return nil, err
		}
	}
	if spec.Weights == nil && spec.FPC != nil {
		// R's svydesign without weights: the inverse of the inclusion
		// probability, the product over stages of N/n.
		if err := d.fpcWeights(); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// fpcKind checks that the FPCs of every stage are given together and
// says whether they are population sizes (true) or sampling fractions:
// as R's as.fpc, all values ≥ 1 (some above) or all ≤ 1, over every stage.
func fpcKind(spec DesignSpec) (popsize bool, err error) {
	cols := [][]float64{spec.FPC}
	for t, st := range spec.Stages {
		if (st.FPC == nil) != (spec.FPC == nil) {
			return false, fmt.Errorf("stats: stage %d: give an fpc at every stage or at none", t+2)
		}
		cols = append(cols, st.FPC)
	}
	if spec.FPC == nil {
		return false, nil
	}
	anyAbove, allAtLeast := false, true
	for t, col := range cols {
		for i, f := range col {
			if math.IsNaN(f) || f <= 0 {
				return false, fmt.Errorf("stats: row %d: stage %d fpc %v is not positive", i+1, t+1, f)
			}
			if f > 1 {
				anyAbove = true
			}
			if f < 1 {
				allAtLeast = false
			}
		}
	}
	if anyAbove != allAtLeast {
		return false, errors.New("stats: fpc must be all population sizes (>= 1) or all sampling fractions (<= 1)")
	}
	return anyAbove, nil
}

// setStages builds the stages after the first: each stage's strata are
// its Strata codes within the unit of the stage above (that unit when
// none), its units its Clusters codes within that unit, as R's
// svydesign(nest=FALSE) makes them with interaction().
func (d *Design) setStages(spec DesignSpec) error {
	if len(spec.Stages) == 0 {
		return nil
	}
	if d.psu == nil {
		return errors.New("stats: a multi-stage design needs the first stage's clusters")
	}
	parent := d.psu
	for t, st := range spec.Stages {
		stage := t + 2
		if parent == nil {
			return fmt.Errorf("stats: stage %d follows a stage whose units are the rows", stage)
		}
		ls := &laterStage{stratum: make([]int32, d.n)}
		strata := map[[2]int32]int32{}
		for i := range d.n {
			key := [2]int32{parent[i], 0}
			if st.Strata != nil {
				key[1] = st.Strata[i]
			}
			h, ok := strata[key]
			if !ok {
				h = int32(len(strata))
				strata[key] = h
				ls.parent = append(ls.parent, parent[i])
			}
			ls.stratum[i] = h
		}
		ls.nStrat = len(strata)
		ls.sampled = make([]int, ls.nStrat)
		if st.Clusters == nil {
			for _, h := range ls.stratum {
				ls.sampled[h]++
			}
		} else {
			ls.unit = make([]int32, d.n)
			units := map[[2]int32]int32{}
			for i := range d.n {
				key := [2]int32{parent[i], st.Clusters[i]}
				u, ok := units[key]
				if !ok {
					u = int32(len(units))
					units[key] = u
					ls.unitStratum = append(ls.unitStratum, ls.stratum[i])
					ls.sampled[ls.stratum[i]]++
				}
				if ls.unitStratum[u] != ls.stratum[i] {
					return fmt.Errorf("stats: stage %d: cluster %d lies in two strata; clusters must be nested in strata", stage, st.Clusters[i])
				}
				ls.unit[i] = u
			}
			ls.nUnit = len(units)
		}
		d.later = append(d.later, ls)
		parent = ls.unit
	}
	return nil
}

// setFPC sets the population size of each of the stage's strata.
func (ls *laterStage) setFPC(stage int, fpc []float64, popsize bool) error {
	if fpc == nil {
		return nil
	}
	var bad int
	if ls.pop, bad = stratumPopulations(fpc, ls.stratum, ls.sampled, ls.nStrat, popsize); bad >= 0 {
		return fmt.Errorf("stats: stage %d: fpc varies within stratum (row %d)", stage, bad+1)
	}
	for h, pop := range ls.pop {
		if pop < float64(ls.sampled[h]) {
			return fmt.Errorf("stats: stage %d: fpc implies more than 100%% sampling in a stratum (%v units of %v)", stage, ls.sampled[h], pop)
		}
	}
	return nil
}

// fpcWeights sets each row's weight to the product over stages of its
// strata's N/n.
func (d *Design) fpcWeights() error {
	for i := range d.w {
		h := d.strata[i]
		w := d.popPSU[h] / float64(d.sampled[h])
		for _, ls := range d.later {
			h := ls.stratum[i]
			w *= ls.pop[h] / float64(ls.sampled[h])
		}
		if math.IsInf(w, 0) {
			return fmt.Errorf("stats: row %d: an infinite population gives no weight; give the weights", i+1)
		}
		d.w[i] = w
	}
	return nil
}

// denseCodes maps arbitrary codes to 0..k-1 in increasing code order and
// returns k.
func denseCodes(codes []int32, out []int32) int {
	distinct := slices.Clone(codes)
	slices.Sort(distinct)
	distinct = slices.Compact(distinct)
	index := make(map[int32]int32, len(distinct))
	for i, c := range distinct {
		index[c] = int32(i)
	}
	for i, c := range codes {
		out[i] = index[c]
	}
	return len(distinct)
}

// stratumPopulations reads fpc, one value a row (the population size of
// the row's stratum, or with !popsize its sampling fraction), into one
// population size a stratum (NaN for a stratum without rows). bad is the
// first row whose value disagrees with an earlier row of its stratum, or
// -1.
func stratumPopulations(fpc []float64, stratum []int32, sampled []int, nStrat int, popsize bool) (pop []float64, bad int) {
	pop = make([]float64, nStrat)
	for h := range pop {
		pop[h] = math.NaN()
	}
	for i, f := range fpc {
		h := stratum[i]
		p := f
		if !popsize {
			p = float64(sampled[h]) / f
		}
		switch {
		case math.IsNaN(pop[h]):
			pop[h] = p
		case pop[h] != p:
			return pop, i
		}
	}
	return pop, -1
}

func (d *Design) setFPC(fpc []float64, popsize bool) error {
	var bad int
	if d.popPSU, bad = stratumPopulations(fpc, d.strata, d.sampled, d.nStrat, popsize); bad >= 0 {
		return fmt.Errorf("stats: fpc varies within stratum (row %d)", bad+1)
	}
	for h, pop := range d.popPSU {
		if pop < float64(d.sampled[h]) {
			return fmt.Errorf("stats: fpc implies more than 100%% sampling in a stratum (%v PSUs of %v)", d.sampled[h], pop)
		}
	}
	return nil
}

// Rows returns the number of rows of the design, those outside a domain
// included.
func (d *Design) Rows() int { return d.n }

// Weights returns a copy of the current weights (zero outside a domain).
func (d *Design) Weights() []float64 { return slices.Clone(d.w) }

// Weight returns row i's current weight.
func (d *Design) Weight(i int) float64 { return d.w[i] }

// InDomain returns the number of rows with a non-zero weight.
func (d *Design) InDomain() int {
	k := 0
	for _, w := range d.w {
		if w != 0 {
			k++
		}
	}
	return k
}

// DF returns the design degrees of freedom, R's degf(): PSUs minus strata
// among the rows with a non-zero weight.
func (d *Design) DF() int {
	psus := make(map[int32]bool)
	strata := make(map[int32]bool)
	for i, w := range d.w {
		if w == 0 {
			continue
		}
		strata[d.strata[i]] = true
		if d.psu != nil {
			psus[d.psu[i]] = true
		} else {
			psus[int32(i)] = true
		}
	}
	return len(psus) - len(strata)
}

// Subset returns the design restricted to a domain (R's subset()): rows
// where in is false keep their place, PSU and stratum with a zero weight,
// so estimates are the domain's and their variance accounts for the
// domain's size being random. Weighting steps applied before stay in force.
func (d *Design) Subset(in []bool) (*Design, error) {
	if len(in) != d.n {
		return nil, fmt.Errorf("stats: domain has %d rows, the design %d", len(in), d.n)
	}
	out := *d
	out.w = make([]float64, d.n)
	for i, ok := range in {
		if ok {
			out.w[i] = d.w[i]
		}
	}
	out.stale = d.stale
	return &out, nil
}

// withWeights returns a copy of d with new weights and one more step.
func (d *Design) withWeights(w []float64, step calStep) *Design {
	out := *d
	out.w = w
	out.steps = append(slices.Clip(d.steps), step)
	out.stale = false
	return &out
}
