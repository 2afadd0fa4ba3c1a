package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/govsurvey/govsurvey/bench"
	"github.com/govsurvey/govsurvey/clean"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/stats"
	"github.com/govsurvey/govsurvey/store"
)

const analyzeUsage = `usage: govsurvey analyze --form ID [--by FIELD]… [--weights MARGINS.csv] [--format json|table|csv]
  more: --weighting rake|poststratify|linear|raking, --trim LOW,HIGH (× the mean weight),
        --filter FIELD=CHOICE[,CHOICE]…, --question NAME…, --net QUESTION.NAME=A+B…,
        --ci logit|wilson|beta|mean, --level 0.95, --lang zh|en, --all-responses,
        --strata FIELD, --cluster FIELD[,FIELD…] (stages, outermost first), --fpc FIELD[,FIELD…],
        --lonely-psu fail|adjust|certainty|remove|average`

// listFlag is a flag that may be given several times.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// analysisFlags are the flags analyze and compare share.
type analysisFlags struct {
	weights, weighting, trim, ci, lang string
	strata, cluster, fpc, lonelyPSU    string
	level                              float64
	by, filters, questions, nets       listFlag
	allResponses                       bool
}

func (af *analysisFlags) register(a *app, name string, withBy bool) *flag.FlagSet {
	fs := a.newFlags(name)
	fs.StringVar(&af.weights, "weights", "", "population margins (CONTRACTS.md §5 CSV) to weight to")
	fs.StringVar(&af.weighting, "weighting", "rake", "rake, poststratify, linear or raking (calibration)")
	fs.StringVar(&af.trim, "trim", "", "bound the weights to LOW,HIGH times their mean (e.g. 0.2,5)")
	fs.StringVar(&af.ci, "ci", "logit", "confidence interval: logit, wilson, beta or mean")
	fs.Float64Var(&af.level, "level", 0.95, "confidence level")
	fs.StringVar(&af.lang, "lang", "", "label language (default: the form's)")
	fs.Var(&af.filters, "filter", "only responses with FIELD=CHOICE[,CHOICE…] (repeatable)")
	fs.Var(&af.questions, "question", "tabulate only this question (repeatable)")
	fs.Var(&af.nets, "net", "a net QUESTION.NAME=CHOICE+CHOICE (repeatable; also the form's settings column 'nets')")
	fs.StringVar(&af.strata, "strata", "", "the question whose answer is the stratum of the sample design")
	fs.StringVar(&af.cluster, "cluster", "", "the questions whose answers are the clusters, FIELD[,FIELD…] by stage, outermost first")
	fs.StringVar(&af.fpc, "fpc", "", "population sizes or sampling fractions, one question per stage, FIELD[,FIELD…]")
	fs.StringVar(&af.lonelyPSU, "lonely-psu", "fail", "a stratum with one PSU: fail, adjust, certainty, remove or average (R's survey.lonely.psu)")
	fs.BoolVar(&af.allResponses, "all-responses", false, "analyse every collected response, not only the valid ones")
	if withBy {
		fs.Var(&af.by, "by", "cross-tab by this single-choice field, or FIELD,FIELD crossed (repeatable)")
	}
	return fs
}

// options turns the flags into analysis options for form f, through
// stats.OptionText, the parser the HTTP API's analysis endpoint uses too.
// A malformed option is a usage error; one naming what the form lacks is
// a user error.
func (af *analysisFlags) options(f *form.Form) (stats.AnalysisOptions, error) {
	if af.level <= 0 || af.level >= 1 {
		return stats.AnalysisOptions{}, usagef("--level %v is not between 0 and 1", af.level)
	}
	text := stats.OptionText{By: af.by, Filters: af.filters, Questions: af.questions, Nets: af.nets,
		CI: af.ci, Level: strconv.FormatFloat(af.level, 'g', -1, 64), Lang: af.lang, Weighting: af.weighting, Trim: af.trim,
		Strata: af.strata, Cluster: af.cluster, FPC: af.fpc, LonelyPSU: af.lonelyPSU}
	var margins []stats.MarginSpec
	source := ""
	if af.weights != "" {
		// The method is checked before the file is read, as before.
		if _, err := stats.ParseWeightingMethod(af.weighting); err != nil {
			return stats.AnalysisOptions{}, usagef("%v", err)
		}
		file, err := os.Open(af.weights)
		if err != nil {
			return stats.AnalysisOptions{}, err
		}
		margins, err = stats.ReadMargins(file)
		file.Close()
		if err != nil {
			return stats.AnalysisOptions{}, fmt.Errorf("%s: %w", af.weights, err)
		}
		source = filepath.Base(af.weights)
	} else {
		text.Weighting = "" // only meaningful with --weights
	}
	opts, err := text.Options(f, margins, source)
	if oe, ok := stats.IsOptionError(err); ok {
		switch oe.Option {
		case "strata", "cluster", "fpc", "lonely_psu":
			// The design flags name the form's fields: a usage error naming the flag.
			return opts, designError(err)
		}
		if oe.Unknown {
			return opts, err
		}
		switch oe.Option {
		case "trim":
			if af.weights == "" {
				return opts, usagef("--trim needs --weights")
			}
			return opts, usagef("--trim wants LOW,HIGH (multiples of the mean weight), e.g. 0.2,5")
		}
		return opts, usagef("%v", oe.Err)
	}
	return opts, err
}

// designError makes a design field that the data cannot carry (a
// response without it) a usage error naming the flag; other errors (stats
// refusing a design, e.g. a lonely PSU under --lonely-psu fail) pass as
// they are.
func designError(err error) error {
	if oe, ok := stats.IsOptionError(err); ok {
		return usagef("--%s: %v", strings.ReplaceAll(oe.Option, "_", "-"), oe.Err)
	}
	return err
}

// loadDataset loads a form's valid responses (all with --all-responses)
// and the counts of its last cleaning by reason.
func (af *analysisFlags) loadDataset(ctx context.Context, st store.Store, f *form.Form) (*stats.Dataset, map[string]int, error) {
	opts := stats.LoadOptions{}
	byReason := map[string]int{}
	if !af.allResponses {
		invalid, err := clean.Invalid(ctx, st, f.ID)
		if errors.Is(err, clean.ErrNotCleaned) {
			return nil, nil, fmt.Errorf("form %s has not been cleaned: run 'govsurvey clean --form %s' first (or analyse every response with --all-responses)", f.ID, f.ID)
		}
		if err != nil {
			return nil, nil, err
		}
		opts.Valid = func(id string) bool { return !invalid[id] }
		// The rules' findings by reason, before overrides, as clean prints them.
		err = st.EachFlag(ctx, store.FlagFilter{FormID: f.ID}, func(fl store.Flag) error {
			for _, r := range fl.Reasons {
				byReason[r]++
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	ds, err := stats.Load(ctx, st, f, opts)
	return ds, byReason, err
}

// cmdAnalyze writes the CONTRACTS.md §4 document of a form.
func cmdAnalyze(ctx context.Context, a *app, args []string) error {
	var af analysisFlags
	fs := af.register(a, "analyze", true)
	formID := fs.String("form", "", "form id (required)")
	format := fs.String("format", "json", "json, table or csv")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if *formID == "" || len(pos) > 0 {
		return usagef("%s", analyzeUsage)
	}
	if *format != "json" && *format != "table" && *format != "csv" {
		return usagef("unknown format %q (json, table or csv)", *format)
	}
	st, _, f, err := a.openForm(ctx, *formID)
	if err != nil {
		return err
	}
	defer st.Close()
	opts, err := af.options(f)
	if err != nil {
		return err
	}
	ds, byReason, err := af.loadDataset(ctx, st, f)
	if err != nil {
		return err
	}
	opts.InvalidByReason = byReason
	an, err := stats.Analyze(ds, opts)
	if err != nil {
		return designError(err)
	}
	switch *format {
	case "table":
		return printAnalysis(a.stdout, an)
	case "csv":
		return writeAnalysisCSV(a.stdout, an)
	}
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(an)
}

const compareUsage = `usage: govsurvey compare --form ID --base ID [--format json|table] [--weights MARGINS.csv] [--net QUESTION.NAME=A+B]…`

// cmdCompare compares two waves (CONTRACTS.md §6).
func cmdCompare(ctx context.Context, a *app, args []string) error {
	var af analysisFlags
	fs := af.register(a, "compare", false)
	formID := fs.String("form", "", "form id of the later wave (required)")
	baseID := fs.String("base", "", "form id of the earlier wave (required)")
	format := fs.String("format", "json", "json or table")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if *formID == "" || *baseID == "" || len(pos) > 0 {
		return usagef("%s", compareUsage)
	}
	if *format != "json" && *format != "table" {
		return usagef("unknown format %q (json or table)", *format)
	}
	st, _, f, err := a.openForm(ctx, *formID)
	if err != nil {
		return err
	}
	defer st.Close()
	_, bf, err := formOf(ctx, st, *baseID)
	if err != nil {
		return err
	}
	var analyses [2]*stats.Analysis
	for k, fm := range []*form.Form{f, bf} {
		opts, err := af.options(fm)
		if err != nil {
			return err
		}
		// Nets and questions name the later wave's; the base wave may lack some.
		opts.Nets = stats.NetsIn(opts.Nets, fm)
		ds, byReason, err := af.loadDataset(ctx, st, fm)
		if err != nil {
			return err
		}
		opts.InvalidByReason = byReason
		if analyses[k], err = stats.Analyze(ds, opts); err != nil {
			return fmt.Errorf("%s: %w", fm.ID, designError(err))
		}
	}
	cmp := stats.Compare(analyses[0], analyses[1])
	if *format == "table" {
		return printComparison(a.stdout, cmp)
	}
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(cmp)
}

// formOf reads the latest revision of a registered form.
func formOf(ctx context.Context, st store.Store, formID string) (store.FormVersion, *form.Form, error) {
	fv, err := st.Form(ctx, formID)
	if errors.Is(err, store.ErrNotFound) {
		return fv, nil, fmt.Errorf("form %q is not registered (add it first with 'govsurvey form add')", formID)
	}
	if err != nil {
		return fv, nil, err
	}
	f, err := form.FromDefinition(fv.Definition)
	return fv, f, err
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// pct formats percentage points for tables.
func pct(x stats.Num) string {
	if math.IsNaN(float64(x)) {
		return "–"
	}
	return strconv.FormatFloat(float64(x), 'f', 2, 64)
}

func printAnalysis(w io.Writer, an *stats.Analysis) error {
	fmt.Fprintf(w, "form %s: %d collected, %d valid", an.FormID, an.Collected, an.Valid)
	if len(an.Filter) > 0 {
		fmt.Fprintf(w, ", filter %s", strings.Join(an.Filter, " and "))
	}
	fmt.Fprintln(w)
	if wi := an.Weights; wi != nil {
		fmt.Fprintf(w, "weights: %s to %s (%s), %d iterations, converged %v; range %.4g–%.4g (ratio %.3g), Kish deff %.4f, effective n %.0f\n",
			wi.Method, strings.Join(wi.Fields, ", "), wi.Source, wi.Iterations, wi.Converged, wi.Min, wi.Max, wi.Ratio, wi.KishDeff, wi.EffectiveN)
	} else if an.Design == nil {
		fmt.Fprintln(w, "unweighted: SEs treat the valid responses as a simple random sample")
	}
	if d := an.Design; d != nil {
		fmt.Fprintf(w, "design: strata %s, clusters %s, fpc %s, lonely PSU %s; %d PSUs in %d strata\n",
			orNone(d.Strata), orNone(strings.Join(d.Clusters, ", ")), orNone(strings.Join(d.FPC, ", ")), d.LonelyPSU, d.NPSU, d.NStrata)
	}
	fmt.Fprintf(w, "percent, SE and %g%% CI (%s) in percentage points\n", 100*an.CILevel, an.CIMethod)
	weighted := an.Weights != nil
	for _, q := range an.Questions {
		printQuestion(w, q, weighted)
	}
	for _, ct := range an.Crosstabs {
		fmt.Fprintf(w, "\n== by %s %s\n", ct.By, ct.Label)
		for k := range ct.Groups[0].Questions {
			q0 := ct.Groups[0].Questions[k]
			fmt.Fprintf(w, "\n%s  %s (percent of base)\n", q0.Name, q0.Label)
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprint(tw, "\t")
			for _, g := range ct.Groups {
				fmt.Fprintf(tw, "%s\t", g.Name)
			}
			fmt.Fprintln(tw)
			fmt.Fprint(tw, "base\t")
			for _, g := range ct.Groups {
				fmt.Fprintf(tw, "%d\t", g.Questions[k].Base)
			}
			fmt.Fprintln(tw)
			rows := append(append([]stats.ChoiceEstimate(nil), q0.Choices...), q0.Nets...)
			for j, ch := range rows {
				fmt.Fprintf(tw, "%s\t", ch.Name)
				for _, g := range ct.Groups {
					all := append(append([]stats.ChoiceEstimate(nil), g.Questions[k].Choices...), g.Questions[k].Nets...)
					if q0.Summary != nil {
						break
					}
					fmt.Fprintf(tw, "%s\t", pct(all[j].Percent))
				}
				fmt.Fprintln(tw)
			}
			if q0.Summary != nil {
				fmt.Fprint(tw, "mean\t")
				for _, g := range ct.Groups {
					fmt.Fprintf(tw, "%s\t", pct(g.Questions[k].Summary.Mean))
				}
				fmt.Fprintln(tw)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, t := range ct.Tests {
				if t.Question == q0.Name {
					fmt.Fprintf(w, "Rao–Scott F = %.4g on %.3g and %.4g df, p = %.3g\n", t.Value, t.NDF, t.DDF, t.PValue)
				}
			}
		}
	}
	return nil
}

func printQuestion(w io.Writer, q stats.QuestionTable, weighted bool) {
	fmt.Fprintf(w, "\n%s  %s  (%s, base %d)\n", q.Name, q.Label, q.Type, q.Base)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	if q.Summary != nil {
		s := q.Summary
		fmt.Fprintf(tw, "mean\tSE\tCI\tmin\tmax\t\n%s\t%s\t%s–%s\t%s\t%s\t\n", pct(s.Mean), pct(s.SE), pct(s.CILow), pct(s.CIHigh), pct(s.Min), pct(s.Max))
		tw.Flush()
		return
	}
	if weighted {
		fmt.Fprint(tw, "choice\tweighted\tcount\tpercent\tSE\tCI\t\n")
	} else {
		fmt.Fprint(tw, "choice\tcount\tpercent\tSE\tCI\t\n")
	}
	for _, c := range append(append([]stats.ChoiceEstimate(nil), q.Choices...), q.Nets...) {
		name := c.Name
		if c.Label != "" {
			name += " " + c.Label
		}
		if len(c.Choices) > 0 {
			name += " (" + strings.Join(c.Choices, "+") + ")"
		}
		if weighted {
			fmt.Fprintf(tw, "%s\t%.1f\t%d\t%s\t%s\t%s–%s\t\n", name, float64(c.Count), *c.UnweightedCount, pct(c.Percent), pct(c.SE), pct(c.CILow), pct(c.CIHigh))
		} else {
			fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s–%s\t\n", name, float64(c.Count), pct(c.Percent), pct(c.SE), pct(c.CILow), pct(c.CIHigh))
		}
	}
	tw.Flush()
}

// writeAnalysisCSV writes the tables long: one row per (cross-tab group,
// question, choice), as the HTTP API's CSV download (stats.Analysis.WriteCSV).
func writeAnalysisCSV(w io.Writer, an *stats.Analysis) error { return an.WriteCSV(w) }

func printComparison(w io.Writer, c *stats.Comparison) error {
	fmt.Fprintf(w, "%s compared with %s (percentage points; p from the normal distribution, independent samples)\n", c.FormID, c.BaseFormID)
	for _, q := range c.Questions {
		fmt.Fprintf(w, "\n%s  %s  (base %d, base wave %d)\n", q.Name, q.Label, q.Base, q.BaseBase)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprint(tw, "choice\tpercent\tbase wave\tdiff\tSE\tp\t\n")
		for _, ch := range append(append([]stats.ChoiceChange(nil), q.Choices...), q.Nets...) {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.3g\t\n", ch.Name, pct(ch.Percent), pct(ch.BasePercent), pct(ch.Diff), pct(ch.SE), float64(ch.PValue))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// benchAnalyze runs the analysis benchmark (bench.Analyze) and prints each
// stage; with --csv it also writes the valid responses for timing R
// (bench/analyze.R) on the same data.
func benchAnalyze(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("bench analyze")
	n := fs.Int("n", 1_000_000, "responses to analyse (10000000 for the large run)")
	csvPath := fs.String("csv", "", "also write the valid responses' answers here, for R")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *n <= 0 {
		return usagef("usage: govsurvey bench analyze [--n ROWS] [--csv FILE]")
	}
	opts := bench.AnalyzeOptions{Rows: *n}
	if *csvPath != "" {
		out, err := os.Create(*csvPath)
		if err != nil {
			return err
		}
		defer out.Close()
		opts.CSV = out
	}
	if isTerminal(a.stderr) {
		opts.Progress = func(stage string) { fmt.Fprintf(a.stderr, "analyze: %s…\n", stage) }
	}
	res, err := bench.Analyze(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "analyze: %s\n", res)
	return nil
}

// isTerminal reports whether w is a terminal (progress goes there only).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
