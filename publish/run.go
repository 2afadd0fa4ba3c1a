package publish

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/govsurvey/govsurvey/clean"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/stats"
	"github.com/govsurvey/govsurvey/store"
)

// The whole of making a release from the store, shared by `govsurvey
// publish` and the console's publish form, so both publish the same
// thing from the same request.

// Spec is one release to make.
type Spec struct {
	// Analysis is how the tables are computed (questions, cross-tabs,
	// filter, weighting…), as stats.OptionText parses it. Its Questions
	// are the release's questions and, with Microdata, its columns.
	Analysis stats.AnalysisOptions
	// AllResponses analyses every collected response instead of only the
	// valid ones of the last cleaning run.
	AllResponses bool
	Rule         Rule // zero: DefaultRule
	ReportDir    string
	// Microdata adds k-anonymous microdata: the Analysis questions (else
	// those classified public) with the quasi-identifiers QIs (else those
	// the form marks in a quasi_identifier column).
	Microdata bool
	QIs       []string
	// Columns are the microdata's columns; nil: the Analysis questions
	// when named; empty (or nil with none named): those classified
	// public.
	Columns []string
	K       KOptions
	Signer  *Signer
	Now     time.Time
	// Stored, when set, is called once the store has taken or refused the
	// release, with the store's error: nil, or store.ErrExists when a
	// concurrent publish took the version. Callers audit here rather than
	// before storing: the audit chain is append-only, so an entry written
	// before the outcome is known could not be taken back when the store
	// refuses. Its error is returned (with the store's, if any).
	Stored func(ctx context.Context, rel *Release, err error) error
}

// ErrNotCleaned: the valid responses are asked for but the form has no
// cleaning run (errors.Is with clean.ErrNotCleaned holds too).
var ErrNotCleaned = clean.ErrNotCleaned

// ErrNoQuasiIdentifiers and ErrNoMicrodataColumns are microdata asked for
// without the quasi-identifiers or the columns to publish.
var (
	ErrNoQuasiIdentifiers = errors.New("publish: microdata needs quasi-identifiers (named, or a quasi_identifier column in the form)")
	ErrNoMicrodataColumns = errors.New("publish: microdata publishes the questions named, or those classified public in the form; there are none")
)

// Publish makes a release of form f from the store — the valid
// responses, the analysis, the suppressed tables, the microdata — signs
// it and stores it under the form's next version. The caller writes its
// files out (Release.WriteDir) if it wants them on disk.
func Publish(ctx context.Context, st store.Store, f *form.Form, spec Spec) (*Release, error) {
	if spec.Signer == nil {
		return nil, errors.New("publish: a release must be signed (no signer)")
	}
	lo := stats.LoadOptions{}
	byReason := map[string]int{}
	if !spec.AllResponses {
		invalid, err := clean.Invalid(ctx, st, f.ID)
		if err != nil {
			return nil, fmt.Errorf("publish: form %s: %w", f.ID, err)
		}
		lo.Valid = func(id string) bool { return !invalid[id] }
		// The rules' findings by reason, before overrides, as clean prints them.
		err = st.EachFlag(ctx, store.FlagFilter{FormID: f.ID}, func(fl store.Flag) error {
			for _, r := range fl.Reasons {
				byReason[r]++
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	ds, err := stats.Load(ctx, st, f, lo)
	if err != nil {
		return nil, err
	}
	opts := spec.Analysis
	opts.InvalidByReason = byReason
	an, err := stats.Analyze(ds, opts)
	if err != nil {
		return nil, err
	}
	var md *Microdata
	if spec.Microdata {
		cols := spec.Columns
		if cols == nil {
			cols = opts.Questions
		}
		if md, err = microdataOf(ds, f, spec.QIs, cols, spec.K); err != nil {
			return nil, err
		}
	}
	version, err := st.NextReleaseVersion(ctx, f.ID)
	if err != nil {
		return nil, err
	}
	rel, err := Build(an, f, Options{Version: version, Questions: opts.Questions, Rule: spec.Rule,
		ReportDir: spec.ReportDir, Microdata: md, Signer: spec.Signer, Now: spec.Now})
	if err != nil {
		return nil, err
	}
	sr, err := rel.StoreRelease()
	if err != nil {
		return nil, err
	}
	_, err = st.AddRelease(ctx, sr)
	if spec.Stored != nil {
		// The outcome is recorded even when the caller has gone away.
		if herr := spec.Stored(context.WithoutCancel(ctx), rel, err); herr != nil {
			return nil, errors.Join(err, herr)
		}
	}
	if err != nil {
		return nil, err
	}
	return rel, nil
}

// microdataOf picks the columns and quasi-identifiers of a microdata
// release: the named questions (default: those classified public; an
// internal question is published only when named) and the
// quasi-identifiers named, else those the form marks in a
// quasi_identifier column. Personal and sensitive questions never are.
func microdataOf(ds *stats.Dataset, f *form.Form, qis, questions []string, opts KOptions) (*Microdata, error) {
	if len(qis) == 0 {
		for _, q := range f.Fields() {
			switch strings.ToLower(q.Extra["quasi_identifier"]) {
			case "yes", "true", "1":
				qis = append(qis, q.Name)
			}
		}
	}
	if len(qis) == 0 {
		return nil, ErrNoQuasiIdentifiers
	}
	cols := questions
	if len(cols) == 0 {
		for _, c := range ds.Columns {
			if c.Question.Classification == security.ClassPublic {
				cols = append(cols, c.Question.Name)
			}
		}
	}
	if len(cols) == 0 {
		return nil, ErrNoMicrodataColumns
	}
	return MicrodataFromDataset(ds, qis, cols, opts)
}

// Suppressed is the number of table cells suppressed, primary and
// complementary.
func (r *Release) Suppressed() int {
	n := 0
	for _, t := range r.Tables {
		n += t.Mask.Primary + t.Mask.Complementary
	}
	return n
}
