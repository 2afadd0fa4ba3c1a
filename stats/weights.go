package stats

import (
	"errors"
	"fmt"
)

// WeightingMethod names how a data set is weighted to its margins.
type WeightingMethod string

const (
	WeightRake         WeightingMethod = "rake"         // iterative proportional fitting (R's rake)
	WeightPostStratify WeightingMethod = "poststratify" // one field (R's postStratify)
	WeightLinear       WeightingMethod = "linear"       // linear calibration, GREG (R's calibrate(calfun="linear"))
	WeightRaking       WeightingMethod = "raking"       // raking calibration (R's calibrate(calfun="raking"))
)

// ParseWeightingMethod reads a method name.
func ParseWeightingMethod(s string) (WeightingMethod, error) {
	switch m := WeightingMethod(s); m {
	case "", WeightRake:
		return WeightRake, nil
	case WeightPostStratify, WeightLinear, WeightRaking:
		return m, nil
	case "poststratification", "post-stratify":
		return WeightPostStratify, nil
	}
	return "", fmt.Errorf("stats: unknown weighting %q (rake, poststratify, linear or raking)", s)
}

// Weighting says how to weight a data set.
type Weighting struct {
	Method  WeightingMethod
	Margins []MarginSpec
	Source  string // where the margins came from, for the report
	// TrimLow and TrimHigh bound the final weights as multiples of their
	// mean (R's trimWeights, the trimmed amount spread over the other
	// weights, repeated until none is outside); 0: no bound.
	TrimLow, TrimHigh float64
	// Tolerance and MaxSweeps tune raking (RakeOptions).
	Tolerance float64
	MaxSweeps int
}

// WeightsInfo is the "weights" object of the CONTRACTS.md §4 document:
// how the weights were made and what they look like.
type WeightsInfo struct {
	Method     WeightingMethod `json:"method"`
	Source     string          `json:"source,omitempty"`
	Fields     []string        `json:"fields"`
	Iterations int             `json:"iterations"`
	Converged  bool            `json:"converged"`
	MaxError   float64         `json:"max_error"` // largest relative difference from a target
	TrimLow    float64         `json:"trim_low,omitempty"`
	TrimHigh   float64         `json:"trim_high,omitempty"`
	Trimmed    bool            `json:"trimmed,omitempty"`
	WeightSummary
	Variance string `json:"variance"`
}

const varianceNote = "Taylor linearisation including the weighting adjustment (as R survey's svymean after rake/postStratify/calibrate)"

// Weight weights the data set (all its rows) to the margins and returns
// the weighted design with a description of the weights. A weighting that
// does not converge is an error naming the field.
func (ds *Dataset) Weight(w Weighting) (*Design, *WeightsInfo, error) {
	return ds.WeightDesign(DesignSpec{Rows: ds.Rows}, w)
}

// WeightDesign weights the data set drawn by the design spec (its strata,
// clusters and FPCs; DesignSpec) as Weight does: the weighting's residuals
// enter that design's variance, as R's rake/calibrate on a svydesign.
func (ds *Dataset) WeightDesign(spec DesignSpec, w Weighting) (*Design, *WeightsInfo, error) {
	if ds.Rows == 0 {
		return nil, nil, errors.New("stats: no responses to weight")
	}
	d, err := NewDesign(spec)
	if err != nil {
		return nil, nil, err
	}
	return ds.weightOn(d, w)
}

// weightOn weights the rows of design d, made for ds.
func (ds *Dataset) weightOn(d *Design, w Weighting) (*Design, *WeightsInfo, error) {
	var err error
	if len(w.Margins) == 0 {
		return nil, nil, errors.New("stats: weighting needs margins")
	}
	method, err := ParseWeightingMethod(string(w.Method))
	if err != nil {
		return nil, nil, err
	}
	info := &WeightsInfo{Method: method, Source: w.Source, Variance: varianceNote}
	margins := make([]Margin, len(w.Margins))
	for j, spec := range w.Margins {
		if margins[j], err = ds.margin(spec, float64(ds.Rows)); err != nil {
			return nil, nil, err
		}
		info.Fields = append(info.Fields, spec.Field)
	}
	var rep WeightingReport
	switch method {
	case WeightRake:
		d, rep, err = Rake(d, margins, RakeOptions{Tolerance: w.Tolerance, MaxSweeps: w.MaxSweeps})
	case WeightPostStratify:
		if len(margins) != 1 {
			return nil, nil, fmt.Errorf("stats: post-stratification takes one field (its cells' shares); %d fields given: rake or calibrate to several margins", len(margins))
		}
		d, err = PostStratify(d, margins[0])
		rep = WeightingReport{Method: "postStratify", Iterations: 1, Converged: true}
		if err == nil {
			rep.MaxError, rep.Field = marginErrorRows(d.w, margins)
		}
	case WeightLinear, WeightRaking:
		opts := CalOptions{}
		if method == WeightRaking {
			opts.CalFun = CalRaking
		}
		d, rep, err = CalibrateMargins(d, margins, opts)
		if err == nil {
			rep.MaxError, rep.Field = marginErrorRows(d.w, margins)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	info.Iterations, info.Converged, info.MaxError = rep.Iterations, rep.Converged, rep.MaxError
	if w.TrimLow > 0 || w.TrimHigh > 0 {
		s := d.SummarizeWeights()
		mean := s.Sum / float64(s.N)
		lo, hi := w.TrimLow*mean, w.TrimHigh*mean
		if w.TrimHigh <= 0 {
			hi = 0 // unbounded
		}
		info.TrimLow, info.TrimHigh = lo, hi
		var trep WeightingReport
		if d, trep, err = TrimWeights(d, lo, hi, true); err != nil {
			return nil, nil, err
		}
		info.Trimmed = trep.Iterations > 0
	}
	info.WeightSummary = d.SummarizeWeights()
	return d, info, nil
}

// marginErrorRows is the largest relative miss of a margin, row by row.
func marginErrorRows(w []float64, margins []Margin) (float64, string) {
	worst, field := 0.0, ""
	for _, m := range margins {
		sums := make([]float64, len(m.Levels))
		for i, c := range m.Codes {
			if c >= 0 {
				sums[c] += w[i]
			}
		}
		for l, t := range m.Totals {
			if t == 0 {
				continue
			}
			if e := abs(sums[l]-t) / t; e > worst || field == "" {
				worst, field = e, m.Field
			}
		}
	}
	return worst, field
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
