package stats

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

// CIMethod is how a confidence interval for a proportion is made.
type CIMethod string

const (
	// CILogit is R's svyciprop(method="logit"), the default: a Wald
	// interval on the logit scale, logit(p) ± t·SE/(p(1−p)), transformed
	// back. It stays inside (0, 1).
	CILogit CIMethod = "logit"
	// CIBeta is R's svyciprop(method="beta"): Clopper–Pearson with the
	// effective sample size n* = p(1−p)/V, itself scaled by
	// (t_{n−1}/t_{df})², the Korn–Graubard interval.
	CIBeta CIMethod = "beta"
	// CIMean is R's svyciprop(method="mean"): p ± t·SE.
	CIMean CIMethod = "mean"
	// CIWilson is the Wilson score interval (Wilson 1927) on the effective
	// sample size n* = p(1−p)/V:
	//
	//	(p + t²/2n* ± t √(p(1−p)/n* + t²/4n*²)) / (1 + t²/n*)
	//
	// with t the design-df quantile as in the other methods. R's survey
	// has no Wilson method; this is ours.
	CIWilson CIMethod = "wilson"
)

// ParseCIMethod reads a method name.
func ParseCIMethod(s string) (CIMethod, error) {
	switch m := CIMethod(s); m {
	case CILogit, CIBeta, CIMean, CIWilson:
		return m, nil
	case "clopper-pearson", "clopper_pearson":
		return CIBeta, nil
	}
	return "", fmt.Errorf("stats: unknown confidence interval method %q (logit, wilson, beta or mean)", s)
}

// Interval is a confidence interval.
type Interval struct{ Low, High float64 }

// PropCI returns the confidence interval at level (0.95 for 95%) for value
// i of e, a proportion, as R's svyciprop. Degrees of freedom are e.DF, as
// R's default df=degf(design); for CIBeta, n is e.N (the rows with a
// non-zero weight; R uses nrow(design), which for a domain of a calibrated
// design counts the rows outside it too). When the variance is zero (a
// proportion of 0 or 1) the effective sample size is taken as e.N.
func PropCI(e Estimate, i int, method CIMethod, level float64) (Interval, error) {
	return propCI(e.Value[i], e.Cov[i][i], e.DF, e.N, method, level)
}

func propCI(p, v float64, df, n int, method CIMethod, level float64) (Interval, error) {
	if level <= 0 || level >= 1 {
		return Interval{}, fmt.Errorf("stats: confidence level %v is not in (0, 1)", level)
	}
	alpha := 1 - level
	// Rounding can put a proportion of 0 or 1 a hair off it (or outside).
	switch {
	case p < 1e-12:
		p = 0
	case p > 1-1e-12:
		p = 1
	}
	v = math.Max(v, 0)
	se := math.Sqrt(v)
	if v == 0 && p > 0 && p < 1 {
		// A share fixed by the weighting (a margin's own level): no
		// sampling error, whatever the method.
		return Interval{p, p}, nil
	}
	switch method {
	case CIMean:
		t := tQuantile(1-alpha/2, df)
		return Interval{p - t*se, p + t*se}, nil
	case CILogit, "":
		if p <= 0 || p >= 1 {
			return Interval{p, p}, nil
		}
		t := tQuantile(1-alpha/2, df)
		l := math.Log(p / (1 - p))
		h := t * se / (p * (1 - p))
		return Interval{expit(l - h), expit(l + h)}, nil
	case CIBeta:
		neff := effectiveN(p, v, n)
		if n > 1 && df > 0 {
			r := tQuantile(alpha/2, n-1) / tQuantile(alpha/2, df)
			neff *= r * r
		}
		lo, hi := 0.0, 1.0
		if a := neff * p; a > 0 {
			lo = betaQuantile(alpha/2, a, neff*(1-p)+1)
		}
		if b := neff * (1 - p); b > 0 {
			hi = betaQuantile(1-alpha/2, neff*p+1, b)
		}
		return Interval{lo, hi}, nil
	case CIWilson:
		neff := effectiveN(p, v, n)
		t := tQuantile(1-alpha/2, df)
		t2 := t * t
		den := 1 + t2/neff
		centre := (p + t2/(2*neff)) / den
		half := t * math.Sqrt(p*(1-p)/neff+t2/(4*neff*neff)) / den
		return Interval{centre - half, centre + half}, nil
	}
	return Interval{}, fmt.Errorf("stats: unknown confidence interval method %q", method)
}

func effectiveN(p, v float64, n int) float64 {
	if v > 0 {
		if ne := p * (1 - p) / v; ne > 0 && !math.IsInf(ne, 0) {
			return ne
		}
	}
	return float64(n)
}

func expit(x float64) float64 { return 1 - 1/(1+math.Exp(x)) }

// tQuantile is the Student t quantile; df ≤ 0 gives NaN as in R. Beyond
// a million degrees of freedom gonum's inverse incomplete beta loses
// digits, so the Cornish–Fisher expansion around the normal quantile is
// used there (its error is below 1e-13 at that size).
func tQuantile(p float64, df int) float64 {
	switch {
	case df <= 0:
		return math.NaN()
	case df > 1e6:
		z := distuv.UnitNormal.Quantile(p)
		n := float64(df)
		z3, z5 := z*z*z, z*z*z*z*z
		return z + (z3+z)/(4*n) + (5*z5+16*z3+3*z)/(96*n*n)
	}
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.Quantile(p)
}

func betaQuantile(p, a, b float64) float64 {
	if !(a > 0 && b > 0) || math.IsInf(a, 0) || math.IsInf(b, 0) {
		return math.NaN()
	}
	return mathext.InvRegIncBeta(a, b, p)
}

// fUpper is P(F > x) for F(d1, d2), computed without the cancellation of
// 1 − CDF so that small p-values keep their digits.
func fUpper(x, d1, d2 float64) float64 {
	if x <= 0 {
		return 1
	}
	return mathext.RegIncBeta(d2/2, d1/2, d2/(d2+d1*x))
}

// chiSqUpper is P(χ²_k > x).
func chiSqUpper(x, k float64) float64 {
	if x <= 0 {
		return 1
	}
	return mathext.GammaIncRegComp(k/2, x/2)
}

// normalTwoSided is the two-sided p-value of a standard normal statistic.
func normalTwoSided(z float64) float64 {
	return math.Erfc(math.Abs(z) / math.Sqrt2)
}
