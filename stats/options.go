package stats

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/govsurvey/govsurvey/form"
)

// OptionText is analysis options written as text, as the command line's
// flags and the HTTP API's query parameters give them. One parser for both
// means `govsurvey analyze` and GET /api/v1/forms/{id}/analysis read the
// same words the same way.
type OptionText struct {
	By        []string // cross-tab fields ("a,b" crosses two)
	Filters   []string // FIELD=CHOICE[,CHOICE…]
	Questions []string // question names to tabulate
	Nets      []string // QUESTION.NAME=CHOICE+CHOICE…
	CI        string   // logit (""), wilson, beta or mean
	Level     string   // confidence level, e.g. "0.95" ("": 0.95)
	Lang      string   // label language ("": the form's)
	Weighting string   // rake (""), poststratify, linear or raking
	Trim      string   // LOW,HIGH as multiples of the mean weight ("": none)
	// The sample design (DesignFields): the question whose answer is the
	// stratum, the cluster questions of the stages ("c1,c2", outermost
	// first), their population sizes or sampling fractions ("f1,f2") and
	// the lonely-PSU rule (fail "", adjust, certainty, remove, average).
	Strata, Cluster, FPC, LonelyPSU string
}

// OptionError is a bad analysis option; Option names it as the caller
// wrote it (the flag or parameter name: "by", "filter", "level", …).
type OptionError struct {
	Option string
	Err    error
	// Unknown: the option is well formed but names something the form
	// lacks (a question, a choice); otherwise it is malformed.
	Unknown bool
}

func (e *OptionError) Error() string { return e.Option + ": " + e.Err.Error() }
func (e *OptionError) Unwrap() error { return e.Err }

func optErr(option, format string, args ...any) error {
	return &OptionError{Option: option, Err: fmt.Errorf(format, args...)}
}

// unknown is an option naming what the form lacks.
func unknown(option, format string, args ...any) error {
	return &OptionError{Option: option, Err: fmt.Errorf(format, args...), Unknown: true}
}

// Options turns the text into AnalysisOptions for form f: the form's own
// nets (settings column "nets") first, then t's. Names that f lacks are
// refused here, naming the option, so that a caller learns which of its
// words is wrong before any data is read (nets: CheckNets). margins, when not nil, weight
// the tables (source names where they came from, for the report); without
// them a Trim or Weighting is an error.
func (t OptionText) Options(f *form.Form, margins []MarginSpec, source string) (AnalysisOptions, error) {
	opts := AnalysisOptions{By: t.By, Questions: t.Questions, Lang: t.Lang, Level: 0.95}
	m, err := ParseCIMethod(t.CI)
	if t.CI == "" {
		m, err = CILogit, nil
	}
	if err != nil {
		return opts, &OptionError{Option: "ci", Err: err}
	}
	opts.CIMethod = m
	if t.Level != "" {
		l, err := strconv.ParseFloat(strings.TrimSpace(t.Level), 64)
		if err != nil || !(l > 0 && l < 1) {
			return opts, optErr("level", "%q is not a number between 0 and 1", t.Level)
		}
		opts.Level = l
	}
	for _, q := range t.Questions {
		if f.Question(q) == nil {
			return opts, unknown("question", "form %s has no question %q", f.ID, q)
		}
	}
	for _, by := range t.By {
		for _, name := range strings.Split(by, ",") {
			q := f.Question(strings.TrimSpace(name))
			if q == nil {
				return opts, unknown("by", "form %s has no question %q", f.ID, name)
			}
			if q.Type != "select_one" {
				return opts, unknown("by", "%s is a %s question; cross-tabs are by single-choice questions", q.Name, q.Type)
			}
		}
	}
	for _, s := range t.Filters {
		c, err := ParseCondition(s)
		if err != nil {
			return opts, &OptionError{Option: "filter", Err: err}
		}
		q := f.Question(c.Field)
		if q == nil {
			return opts, unknown("filter", "form %s has no question %q", f.ID, c.Field)
		}
		for _, ch := range c.Choices {
			if _, ok := f.Choice(q.ListName, ch); !ok {
				return opts, unknown("filter", "%q is not a choice of %s", ch, q.Name)
			}
		}
		opts.Filter = append(opts.Filter, c)
	}
	if col, s := f.Setting("nets"); s != "" {
		nets, err := ParseNets(s)
		if err != nil {
			return opts, fmt.Errorf("stats: form %s: %w", f.ID, f.NewSettingError(col, err))
		}
		opts.Nets = append(opts.Nets, nets...)
	}
	for _, s := range t.Nets {
		nets, err := ParseNets(s)
		if err != nil {
			return opts, &OptionError{Option: "net", Err: err}
		}
		opts.Nets = append(opts.Nets, nets...)
	}
	if opts.Design, err = t.designFields(f); err != nil {
		return opts, err
	}
	if margins == nil {
		if t.Trim != "" {
			return opts, optErr("trim", "trimming needs weights")
		}
		return opts, nil
	}
	method := WeightRake
	if t.Weighting != "" {
		if method, err = ParseWeightingMethod(t.Weighting); err != nil {
			return opts, &OptionError{Option: "weighting", Err: err}
		}
	}
	for _, mg := range margins {
		if q := f.Question(mg.Field); q == nil || q.Type != "select_one" {
			return opts, unknown("weights", "margins name %q, which is no single-choice question of form %s", mg.Field, f.ID)
		}
	}
	w := &Weighting{Method: method, Margins: margins, Source: source}
	if t.Trim != "" {
		lo, hi, ok := strings.Cut(t.Trim, ",")
		l, err1 := strconv.ParseFloat(strings.TrimSpace(lo), 64)
		h, err2 := strconv.ParseFloat(strings.TrimSpace(hi), 64)
		if !ok || err1 != nil || err2 != nil || l < 0 || (h != 0 && h < l) {
			return opts, optErr("trim", "write LOW,HIGH (multiples of the mean weight), e.g. 0.2,5")
		}
		w.TrimLow, w.TrimHigh = l, h
	}
	opts.Weighting = w
	return opts, nil
}

// CheckNets refuses nets naming a question or choice f lacks. Options
// does not, so that the command line's compare can apply one wave's nets
// to another and keep those that fit.
func (t OptionText) CheckNets(f *form.Form) error {
	for _, s := range t.Nets {
		nets, err := ParseNets(s)
		if err != nil {
			return &OptionError{Option: "net", Err: err}
		}
		for _, n := range nets {
			q := f.Question(n.Question)
			if q == nil {
				return unknown("net", "form %s has no question %q", f.ID, n.Question)
			}
			for _, ch := range n.Choices {
				if _, ok := f.Choice(q.ListName, ch); !ok {
					return unknown("net", "%q is not a choice of %s", ch, q.Name)
				}
			}
		}
	}
	return nil
}

// NetsIn keeps the nets whose question and choices f has: one wave's
// nets applied to another wave, which may lack some (the command line's
// compare, a report's base wave).
func NetsIn(nets []Net, f *form.Form) []Net {
	var out []Net
	for _, n := range nets {
		q := f.Question(n.Question)
		if q == nil {
			continue
		}
		ok := true
		for _, c := range n.Choices {
			if _, found := f.Choice(q.ListName, c); !found {
				ok = false
			}
		}
		if ok {
			out = append(out, n)
		}
	}
	return out
}

// FormNets reads the nets of f's settings column nets and refuses those
// naming a question or choice f lacks, with a *form.SettingError
// (wrapped): a form's own nets must fit the form, which is checked when
// the form is added.
func FormNets(f *form.Form) ([]Net, error) {
	col, s := f.Setting("nets")
	if s == "" {
		return nil, nil
	}
	bad := func(err error) error { return fmt.Errorf("stats: form %s: %w", f.ID, f.NewSettingError(col, err)) }
	nets, err := ParseNets(s)
	if err != nil {
		return nil, bad(err)
	}
	for _, n := range nets {
		q := f.Question(n.Question)
		if q == nil || !q.IsSelect() {
			return nil, bad(fmt.Errorf("net %s.%s: the form has no choice question %q", n.Question, n.Name, n.Question))
		}
		for _, ch := range n.Choices {
			if _, ok := f.Choice(q.ListName, ch); !ok {
				return nil, bad(fmt.Errorf("net %s.%s: %q is not a choice of %s", n.Question, n.Name, ch, q.Name))
			}
		}
	}
	return nets, nil
}

// IsOptionError reports whether err is a bad option, and which.
func IsOptionError(err error) (*OptionError, bool) {
	var oe *OptionError
	ok := errors.As(err, &oe)
	return oe, ok
}
