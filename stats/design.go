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
// Only the first stage of a multi-stage design is described: with
// replacement at the first stage (no FPC) that is the whole variance, as in
// R; with an FPC, later stages are ignored (R adds them).
type DesignSpec struct {
	// Rows is the number of rows; it may be left 0 when another field
	// gives it.
	Rows int
	// Weights are the sampling weights (inverse inclusion probabilities);
	// nil: every row weighs 1.
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
	// Lonely is the rule for strata with a single PSU.
	Lonely LonelyPSU
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
}

// NewDesign checks spec and returns its design.
func NewDesign(spec DesignSpec) (*Design, error) {
	n := spec.Rows
	for _, l := range []int{len(spec.Weights), len(spec.Strata), len(spec.Clusters), len(spec.FPC)} {
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
	if spec.FPC != nil {
		if err := d.setFPC(spec.FPC); err != nil {
			return nil, err
		}
	}
	return d, nil
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

func (d *Design) setFPC(fpc []float64) error {
	anyAbove, allAtLeast := false, true
	for i, f := range fpc {
		if math.IsNaN(f) || f <= 0 {
			return fmt.Errorf("stats: row %d: fpc %v is not positive", i+1, f)
		}
		if f > 1 {
			anyAbove = true
		}
		if f < 1 {
			allAtLeast = false
		}
	}
	if anyAbove != allAtLeast {
		return errors.New("stats: fpc must be all population sizes (>= 1) or all sampling fractions (<= 1)")
	}
	d.popPSU = make([]float64, d.nStrat)
	for h := range d.popPSU {
		d.popPSU[h] = math.NaN()
	}
	for i, f := range fpc {
		h := d.strata[i]
		pop := f
		if !anyAbove {
			pop = float64(d.sampled[h]) / f
		}
		switch {
		case math.IsNaN(d.popPSU[h]):
			d.popPSU[h] = pop
		case d.popPSU[h] != pop:
			return fmt.Errorf("stats: fpc varies within stratum (row %d)", i+1)
		}
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
