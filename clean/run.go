package clean

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
)

// RuleVersion names the rules of this package. It is stored with every
// flag; it changes whenever a rule's meaning does, so flags from different
// rules are never mistaken for one another.
const RuleVersion = "clean/1"

// Reason codes (CONTRACTS.md §3, then the further indices of docs/cleaning.md).
const (
	ReasonDuplicate         = "duplicate"
	ReasonSpeeding          = "speeding"
	ReasonIncomplete        = "incomplete"
	ReasonInvalidValue      = "invalid_value"
	ReasonConsistencyPrefix = "consistency:" // followed by the checks row's name
	ReasonHoneypot          = "honeypot"
	ReasonStraightlining    = "straightlining"
	ReasonAttention         = "attention"
	ReasonNearDuplicate     = "near_duplicate"
	ReasonBurst             = "burst"
)

// ErrNotCleaned is returned for a form that has never been cleaned.
var ErrNotCleaned = errors.New("clean: form not cleaned yet")

// Funnel is the outcome of a cleaning run: how the collected responses
// became the valid ones.
//
//	Valid = Collected − Flagged + OverriddenValid − OverriddenInvalid
//
// InvalidByReason and SeveralReasons count what the rules found, before
// overrides: a response with two reasons counts once in Flagged and once
// under each reason.
type Funnel struct {
	FormID            string            `json:"form_id"`
	RuleVersion       string            `json:"rule_version"`
	Collected         int               `json:"collected"`
	InvalidByReason   map[string]int    `json:"invalid_by_reason"`
	SeveralReasons    int               `json:"several_reasons"`    // responses flagged with two reasons or more
	Flagged           int               `json:"flagged"`            // responses flagged with at least one reason
	OverriddenValid   int               `json:"overridden_valid"`   // flagged, but an analyst says valid
	OverriddenInvalid int               `json:"overridden_invalid"` // not flagged, but an analyst says invalid
	Valid             int               `json:"valid"`
	Settings          map[string]string `json:"settings"` // what the run applied, as settings-sheet columns
}

// Reasons returns the reasons of InvalidByReason in canonical order: the
// CONTRACTS.md §3 table's, checks by name, then the further indices.
func (f Funnel) Reasons() []string {
	rs := make([]string, 0, len(f.InvalidByReason))
	for r := range f.InvalidByReason {
		rs = append(rs, r)
	}
	sort.Slice(rs, func(i, j int) bool { return reasonLess(rs[i], rs[j]) })
	return rs
}

// Run cleans a form: it applies the rules to every stored response, stores
// the flags (replacing the previous run's, in one transaction; responses
// and overrides are never changed) and returns the funnel with the
// overrides applied. Without settings it reads them from the latest form
// revision's settings sheet (SettingsFor); with them, it applies exactly
// the one given. The same stored data and settings give the same flags.
//
// Each response is judged against the questions of the revision it was
// collected with; the checks and settings are the latest revision's, so
// that adding a check re-cleans earlier data by it.
func Run(ctx context.Context, st store.Store, formID string, settings ...Settings) (Funnel, error) {
	if len(settings) > 1 {
		return Funnel{}, fmt.Errorf("clean: Run takes at most one Settings, got %d", len(settings))
	}
	forms := newForms(st, formID)
	latest, err := forms.latest(ctx)
	if err != nil {
		return Funnel{}, err
	}
	var s Settings
	if len(settings) == 1 {
		s = settings[0]
	} else if s, err = SettingsFor(latest); err != nil {
		return Funnel{}, err
	}
	if err := s.validate(); err != nil {
		return Funnel{}, err
	}
	overrides, err := latestOverrides(ctx, st, formID)
	if err != nil {
		return Funnel{}, err
	}
	load := func(rev int) (*form.Form, error) { return forms.revision(ctx, rev) }
	res, err := clean(ctx, st, formID, s, latest, load, overrides)
	if err != nil {
		return Funnel{}, err
	}
	record, err := json.Marshal(s.Record())
	if err != nil {
		return Funnel{}, fmt.Errorf("clean: %w", err)
	}
	if _, err := st.ReplaceFlags(ctx, store.Cleaning{
		FormID: formID, RuleVersion: RuleVersion, Settings: record, Collected: res.collected,
	}, res.flags); err != nil {
		return Funnel{}, err
	}
	return funnel(formID, s, res, overrides), nil
}

// clean streams the form's responses through the rules. Reading the store
// and judging responses overlap: the stream callback only hands batches to
// a second goroutine, so the two cores share the work.
func clean(ctx context.Context, st store.Store, formID string, s Settings, latest *form.Form, load func(int) (*form.Form, error), overrides map[string]bool) (result, error) {
	c, err := newCleaner(s, latest, load)
	if err != nil {
		return result{}, err
	}
	// A hint only: responses stored meanwhile are cleaned all the same.
	if n, err := st.CountResponses(ctx, formID); err == nil {
		c.reserve(n)
	}
	c.watch = make(map[string]bool, len(overrides))
	for id := range overrides {
		c.watch[id] = false
	}
	const batchSize = 512
	batches := make(chan []store.Response, 4)
	failed := make(chan struct{}) // closed when judging fails: the stream stops
	done := make(chan error, 1)
	go func() {
		var err error
		for b := range batches {
			if err != nil {
				continue // drain, so the reader never blocks
			}
			for _, r := range b {
				if err = c.add(r); err != nil {
					close(failed)
					break
				}
			}
		}
		done <- err
	}()
	errStopped := errors.New("clean: stopped")
	batch := make([]store.Response, 0, batchSize)
	streamErr := st.EachResponse(ctx, store.ResponseFilter{FormID: formID}, func(r store.Response) error {
		batch = append(batch, r)
		if len(batch) == batchSize {
			select {
			case batches <- batch:
			case <-failed:
				return errStopped
			case <-ctx.Done():
				return ctx.Err()
			}
			batch = make([]store.Response, 0, batchSize)
		}
		return nil
	})
	if streamErr == nil && len(batch) > 0 {
		batches <- batch
	}
	close(batches)
	addErr := <-done
	if errors.Is(streamErr, errStopped) {
		streamErr = nil // addErr says why
	}
	if err := errors.Join(streamErr, addErr); err != nil {
		return result{}, err
	}
	return c.finish(formID), nil
}

// latestOverrides returns each overridden response's latest verdict.
func latestOverrides(ctx context.Context, st store.Store, formID string) (map[string]bool, error) {
	all, err := st.Overrides(ctx, formID)
	if err != nil {
		return nil, err
	}
	m := make(map[string]bool, len(all))
	for _, o := range all { // oldest first: the latest wins
		m[o.InstanceID] = o.Valid
	}
	return m, nil
}

func funnel(formID string, s Settings, res result, overrides map[string]bool) Funnel {
	f := Funnel{
		FormID:          formID,
		RuleVersion:     RuleVersion,
		Collected:       res.collected,
		InvalidByReason: make(map[string]int),
		Flagged:         len(res.flags),
		Settings:        s.Record(),
	}
	flagged := make(map[string]bool, len(res.flags))
	for _, fl := range res.flags {
		flagged[fl.InstanceID] = true
		for _, r := range fl.Reasons {
			f.InvalidByReason[r]++
		}
		if len(fl.Reasons) > 1 {
			f.SeveralReasons++
		}
	}
	// Overrides of responses the run did not see (stored after it started)
	// do not count: they are not among Collected.
	for id, valid := range overrides {
		switch {
		case valid && flagged[id]:
			f.OverriddenValid++
		case !valid && !flagged[id] && res.watched[id]:
			f.OverriddenInvalid++
		}
	}
	f.Valid = f.Collected - f.Flagged + f.OverriddenValid - f.OverriddenInvalid
	return f
}

// Invalid returns the instance ids of a form's invalid responses as of its
// last cleaning run: flagged by the rules and not overridden valid, or
// overridden invalid. Analysis excludes exactly these. A form never
// cleaned is ErrNotCleaned.
func Invalid(ctx context.Context, st store.Store, formID string) (map[string]bool, error) {
	if _, err := st.Cleaning(ctx, formID); errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("clean: form %s: %w", formID, ErrNotCleaned)
	} else if err != nil {
		return nil, err
	}
	overrides, err := latestOverrides(ctx, st, formID)
	if err != nil {
		return nil, err
	}
	invalid := make(map[string]bool)
	err = st.EachFlag(ctx, store.FlagFilter{FormID: formID}, func(fl store.Flag) error {
		if valid, ok := overrides[fl.InstanceID]; !ok || !valid {
			invalid[fl.InstanceID] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for id, valid := range overrides {
		if !valid {
			invalid[id] = true
		}
	}
	return invalid, nil
}

// AddOverride records an analyst's verdict on one response: valid counts
// it as valid whatever its flags, !valid as invalid. A note and an actor
// are required. The verdict survives every later run; the latest verdict
// on a response is the one that counts.
//
// The actor and note are kept in the override row; the caller (the
// command line) records the override in the audit log.
func AddOverride(ctx context.Context, st store.Store, o store.Override) (store.Override, error) {
	return st.AddOverride(ctx, o)
}
