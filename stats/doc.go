// Package stats owns the statistics of govsurvey: the survey design object
// every estimator takes, weighting (post-stratification, raking, linear and
// raking calibration, trimming), design-based variance by Taylor
// linearisation, confidence intervals for proportions, the Rao–Scott
// chi-square for two-way tables, the columnar dataset of one form, the
// tables of CONTRACTS.md §4 and the wave comparison of §6.
//
// The estimators follow R's survey package (Lumley) definition by
// definition, and are checked against it (testdata/reference.R writes the
// values the tests compare with):
//
//   - NewDesign is svydesign(ids=~psu, strata=~st, weights=~w, fpc=~fpc),
//     and with DesignSpec.Stages the multi-stage svydesign(ids=~psu+ssu+…,
//     fpc=~N1+N2+…) with R's default multistage variance; Subset is
//     subset(design, …): rows outside the domain keep their place with zero
//     weight, so their influence is zero and the variance is the domain
//     variance of the full design (a stratum left without rows is absent
//     for the lonely-PSU rules, as R's dropped rows make it).
//   - Mean, Total, Ratio and Proportions are svymean, svytotal, svyratio and
//     svymean(~factor); their variance is svyrecvar's: the influence
//     functions are residualised against each weighting step (the
//     g-weighted regression residuals of calibrate(), the backfitted
//     residuals of rake(), the post-stratum means of postStratify()), then
//     summed by PSU within strata.
//   - PostStratify, Rake, Calibrate and TrimWeights are postStratify, rake,
//     calibrate(calfun="linear"|"raking") and trimWeights.
//   - PropCI is svyciprop (methods logit, beta, mean; Wilson is ours and
//     documented there); ChiSq is svychisq(statistic="F"|"Chisq").
//
// Raking and calibration to categorical margins iterate over cells (the
// combinations of the margins' levels) rather than rows: every row's
// factor depends only on its cell (cells.go).
//
// Tables over a whole data set do not materialise one influence vector per
// estimate: with no clusters and one categorical weighting step, every
// quantity the variance needs is a sum over weighting cells, so the table
// code accumulates per-cell counts in one pass per question and does the
// linear algebra on cells (cellvar.go). Tests check that this route and
// the row route (Mean on a Subset) give the same numbers.
//
// The Dataset (dataset.go, load.go) holds one form's valid responses column
// by column: select_one as choice codes, select_multiple as bitsets,
// numbers as float64 with NaN for missing. It is loaded by streaming
// store.EachResponse, reading choice codes straight from the stored
// encoding (decode.go); an answer to a question that was not relevant is
// left out of its base. Analyze makes the CONTRACTS.md §4 document from it,
// Compare the §6 one from two.
package stats
