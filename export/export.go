package export

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
)

// Formats are the formats Export writes.
var Formats = []string{"sav", "dta", "parquet"}

// Options tune Export and Codebook. The zero value writes a de-identified,
// compressed .sav with labels in the form's default language.
type Options struct {
	Format   string // "sav" (default), "dta" or "parquet"
	Language string // label language, as the form names it ("中文 (zh)") or its code ("en"); "" is the form's default
	// IncludePersonal keeps questions classified personal or sensitive.
	// Off by default; the caller decides who may turn it on.
	IncludePersonal bool
	// IncludeClient adds the pseudonymous client column. Off by default.
	IncludeClient bool
	// Weights adds a weight variable (SPSS: the file's weight variable).
	Weights *Weights
	// Location is the zone SPSS and Stata date-times are written in
	// (neither format keeps one); nil is UTC. Parquet timestamps are UTC.
	Location *time.Location
	// SAVUncompressed writes .sav data uncompressed; by default it is
	// bytecode-compressed, as SPSS itself writes.
	SAVUncompressed bool
	// RowGroupRows is the number of rows in a Parquet row group, which is
	// what the writer holds in memory; 0 is 65,536.
	RowGroupRows int
	// TempDir holds the spool of .sav and .dta exports; "" is os.TempDir.
	TempDir string
	// Now stamps the file's creation time; zero is the time of the call.
	Now time.Time
	// Progress is called at most a few times a second, and once at the
	// end; nil: none.
	Progress func(collect.Progress)
	// Cleaning applies a cleaning verdict; nil exports every stored
	// response and says so in the codebook.
	Cleaning *Cleaning
}

// Cleaning is the verdict of a cleaning run (with the analysts'
// overrides) applied to an export: by default only the valid responses are
// written; with KeepInvalid every response is, with two more variables,
// valid (1/0) and invalid_reasons (the rules' reason codes).
type Cleaning struct {
	Run string // the run, for the codebook, e.g. "clean/1 at 2026-11-23T14:00:00Z, 1200 responses"
	// Invalid tells an invalid response and its reasons (space-separated
	// reason codes; "override" for one an analyst declared invalid).
	Invalid     func(instanceID string) (reasons string, invalid bool)
	KeepInvalid bool
}

// validOnly is st with the invalid responses left out of EachResponse.
type validOnly struct {
	store.Store
	invalid func(string) (string, bool)
}

func (v validOnly) EachResponse(ctx context.Context, f store.ResponseFilter, fn func(store.Response) error) error {
	return v.Store.EachResponse(ctx, f, func(r store.Response) error {
		if _, bad := v.invalid(r.InstanceID); bad {
			return nil
		}
		return fn(r)
	})
}

// source is the store the rows come from: st, or its valid responses only.
func (opts Options) source(st store.Store) store.Store {
	if c := opts.Cleaning; c != nil && c.Invalid != nil && !c.KeepInvalid {
		return validOnly{st, c.Invalid}
	}
	return st
}

// Weights are per-response weights, from a weighting step.
type Weights struct {
	Name   string                                  // variable name; "" is "weight"
	Label  string                                  // variable label; "" is 权重 / Weight
	Method string                                  // how they were made, for the codebook, e.g. "raking on gender, age_band (stats.Rake)"
	Of     func(instanceID string) (float64, bool) // a response's weight; false: none (missing)
}

// Result says what Export wrote.
type Result struct {
	Rows      int
	Variables int
	Omitted   []string // questions left out, by name
	Truncated int      // string values cut to the format's limit (SPSS: 32,767 bytes)
	// Invalid counts the answers written as missing because they fail their
	// question's type or choices (a name not in the list, a number that
	// does not parse); cleaning flags such responses invalid_value.
	Invalid    int
	Dictionary *Dictionary
}

// Export writes every stored response of form fv (f is its compiled form),
// of all its revisions, in submission order, to w in opts.Format.
func Export(ctx context.Context, st store.Store, fv store.FormVersion, f *form.Form, w io.Writer, opts Options) (Result, error) {
	d, err := NewDictionary(fv, f, opts)
	if err != nil {
		return Result{}, err
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if c := opts.Cleaning; c != nil && c.Invalid == nil {
		return Result{}, fmt.Errorf("export: cleaning without the verdict (Cleaning.Invalid)")
	}
	st = opts.source(st)
	res := Result{Variables: len(d.Variables), Dictionary: d}
	for _, o := range d.Omitted {
		res.Omitted = append(res.Omitted, o.Question.Name)
	}
	tick := progressTicker{fn: opts.Progress}
	switch opts.Format {
	case "", "sav", "dta":
		var rows, trunc int
		if opts.Format == "dta" {
			rows, err = writeDTA(ctx, st, fv, f, d, w, opts, &tick)
		} else {
			rows, trunc, err = writeSAV(ctx, st, fv, f, d, w, opts, &tick)
		}
		res.Rows, res.Truncated = rows, trunc
	case "parquet":
		res.Rows, err = writeParquet(ctx, st, fv, f, d, w, opts, &tick)
	default:
		return Result{}, fmt.Errorf("export: unknown format %q (sav, dta or parquet)", opts.Format)
	}
	res.Invalid = tick.invalid
	if err != nil {
		return res, err
	}
	tick.done(res.Rows)
	return res, nil
}

// scan is the first pass of .sav and .dta: it converts every response,
// spools the row and measures what the header must declare.
func scan(ctx context.Context, st store.Store, fv store.FormVersion, f *form.Form, d *Dictionary, opts Options, tick *progressTicker) (*spool, measures, error) {
	kinds := make([]Kind, len(d.Variables))
	for i, v := range d.Variables {
		kinds[i] = v.Kind
	}
	m := measures{width: make([]int, len(kinds)), strLBytes: make([]int64, len(kinds))}
	sp, err := newSpool(opts.TempDir)
	if err != nil {
		return nil, m, err
	}
	conv := newConverter(st, fv, f, d, opts, true)
	err = st.EachResponse(ctx, store.ResponseFilter{FormID: fv.FormID}, func(r store.Response) error {
		row, err := conv.convert(ctx, r)
		if err != nil {
			return err
		}
		for i, v := range row {
			if kinds[i] != KindString {
				continue
			}
			n := len(v.str)
			if n > m.width[i] {
				m.width[i] = n
			}
			if n > 0 {
				m.strLBytes[i] += gsoHeader + int64(n) + 1
			}
		}
		if err := sp.write(row, kinds); err != nil {
			return fmt.Errorf("export: spool: %w", err)
		}
		tick.invalid = conv.Invalid
		m.rows++
		tick.update("reading", m.rows)
		return nil
	})
	if err != nil {
		sp.close()
		return nil, m, err
	}
	return sp, m, nil
}

// progressTicker reports progress at most every quarter of a second.
type progressTicker struct {
	invalid int // answers written as missing for failing their question (converter.Invalid)
	fn      func(collect.Progress)
	last    time.Time
	n       int
}

func (t *progressTicker) update(phase string, rows int) {
	if t.fn == nil {
		return
	}
	if t.n++; t.n%256 != 0 {
		return
	}
	if now := time.Now(); now.Sub(t.last) >= 250*time.Millisecond {
		t.last = now
		t.fn(collect.Progress{Phase: phase, Rows: rows})
	}
}

func (t *progressTicker) done(rows int) {
	if t.fn != nil {
		t.fn(collect.Progress{Phase: "exporting", Rows: rows, Done: true})
	}
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
