package report

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/govsurvey/govsurvey/clean"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/stats"
	"github.com/govsurvey/govsurvey/store"
)

// wave is one form's valid responses and what the methods section says
// about how they were collected and cleaned.
type wave struct {
	form     *form.Form
	ds       *stats.Dataset
	funnel   Funnel
	first    time.Time // first and last submission of the collected responses
	last     time.Time
	cleaning store.Cleaning
}

// Funnel is how the collected responses of a form became the valid ones,
// as the last cleaning run left them.
type Funnel struct {
	Collected int
	Valid     int
	// Flagged counts responses with at least one reason, Several those
	// with two or more; InvalidByReason counts each reason once per
	// response, so its sum can exceed Flagged.
	Flagged         int
	Several         int
	InvalidByReason map[string]int
	Reasons         []string // InvalidByReason's keys in cleaning's order
	// Overridden is the net effect of analysts' overrides: Valid −
	// (Collected − Flagged).
	Overridden  int
	RuleVersion string
	CleanedAt   time.Time
}

// ErrNotCleaned is returned (wrapped) when a wave has not been cleaned:
// a report is of valid responses only.
var ErrNotCleaned = errors.New("report: form not cleaned")

// loadWave streams a form's responses once: cleaning's verdicts select the
// valid ones for the data set, and every collected response's submission
// time bounds the collection period.
func loadWave(ctx context.Context, st store.Store, f *form.Form) (*wave, error) {
	invalid, err := clean.Invalid(ctx, st, f.ID)
	if errors.Is(err, clean.ErrNotCleaned) {
		return nil, fmt.Errorf("%w: run 'govsurvey clean --form %s' first", ErrNotCleaned, f.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("report: %s: %w", f.ID, err)
	}
	w := &wave{form: f}
	if w.cleaning, err = st.Cleaning(ctx, f.ID); err != nil {
		return nil, fmt.Errorf("report: %s: %w", f.ID, err)
	}
	fun := Funnel{InvalidByReason: map[string]int{}, RuleVersion: w.cleaning.RuleVersion, CleanedAt: w.cleaning.CleanedAt}
	err = st.EachFlag(ctx, store.FlagFilter{FormID: f.ID}, func(fl store.Flag) error {
		if len(fl.Reasons) == 0 {
			return nil
		}
		fun.Flagged++
		if len(fl.Reasons) > 1 {
			fun.Several++
		}
		for _, r := range fl.Reasons {
			fun.InvalidByReason[r]++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("report: %s: %w", f.ID, err)
	}
	fun.Reasons = clean.Funnel{InvalidByReason: fun.InvalidByReason}.Reasons()

	opts := stats.LoadOptions{
		Valid:    func(id string) bool { return !invalid[id] },
		Revision: stats.StoreRevisions(ctx, st, f.ID),
	}
	if n, err := st.CountResponses(ctx, f.ID); err == nil {
		opts.Expect = n
	}
	l, err := stats.NewLoader(f, opts)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	streamErr := st.EachResponse(ctx, store.ResponseFilter{FormID: f.ID}, func(r store.Response) error {
		if w.first.IsZero() || r.SubmittedAt.Before(w.first) {
			w.first = r.SubmittedAt
		}
		if r.SubmittedAt.After(w.last) {
			w.last = r.SubmittedAt
		}
		return l.Add(r)
	})
	ds, err := l.Finish()
	if streamErr != nil {
		return nil, fmt.Errorf("report: %s: %w", f.ID, streamErr)
	}
	if err != nil {
		return nil, fmt.Errorf("report: %s: %w", f.ID, err)
	}
	w.ds = ds
	fun.Collected, fun.Valid = ds.Collected, ds.Rows
	fun.Overridden = fun.Valid - (fun.Collected - fun.Flagged)
	w.funnel = fun
	return w, nil
}
