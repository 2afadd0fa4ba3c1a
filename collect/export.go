package collect

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
)

// ExportOptions tune Export. The zero value writes de-identified CSV.
type ExportOptions struct {
	Format        string // "csv" (default) or "xlsx"
	SplitMultiple bool   // after each select_multiple column, a 0/1 column per choice, "field/choice" (KoboToolbox)
	IncludeClient bool   // add the client column; off by default so that exports are de-identified
	// IncludePersonal adds the questions classified personal or sensitive,
	// left out by default (security.Personal). Their answers, and free text
	// sealed for holding personal data, are in the responses only when st
	// is the joined view of the sealing store (security.SealingStore.Joined):
	// the caller checks the right to it and audits it.
	IncludePersonal bool
	Progress        func(Progress) // called at most a few times a second, and once at the end; nil: none
}

// Export writes every stored response of form fv.FormID, of all its
// revisions, in submission order, as CONTRACTS.md §2 CSV (with a BOM, for
// Excel) or as XLSX (one sheet, "responses", the same columns and text). It
// streams: memory does not grow with the number of responses.
//
// Columns: instance_id, started, ended, submitted_at, client (only with
// IncludeClient), then one per question of fv (f is its compiled form) by
// name, in form order, questions classified personal or sensitive only
// with IncludePersonal; with SplitMultiple each select_multiple column is
// followed by its 0/1 choice columns (empty when unanswered). Times are
// RFC 3339 in UTC, with fractional seconds only when there are some;
// unknown times are empty.
//
// Responses collected with an older revision are decoded with that
// revision's form and written under fv's columns by question name: a
// question fv no longer has is not exported (export that revision's form
// to see it), and one fv added is empty for them.
//
// Export writes back what Import read: a file in this shape, imported and
// exported again, comes out byte for byte the same.
func Export(ctx context.Context, st store.Store, fv store.FormVersion, f *form.Form, w io.Writer, opts ExportOptions) (rows int, err error) {
	var out rowWriter
	switch opts.Format {
	case "", "csv":
		out, err = newCSVRows(w)
	case "xlsx":
		out, err = newXLSXRows(w)
	default:
		return 0, fmt.Errorf("collect: unknown export format %q (csv or xlsx)", opts.Format)
	}
	if err != nil {
		return 0, err
	}
	ex := newExporter(st, fv, f, opts)
	if err := out.WriteRow(ex.header()); err != nil {
		out.Abort()
		return 0, fmt.Errorf("collect: export: %w", err)
	}
	tick := progressTicker{fn: opts.Progress}
	err = st.EachResponse(ctx, store.ResponseFilter{FormID: fv.FormID}, func(r store.Response) error {
		row, err := ex.row(ctx, r)
		if err != nil {
			return err
		}
		if err := out.WriteRow(row); err != nil {
			return fmt.Errorf("collect: export: %w", err)
		}
		rows++
		tick.update("exporting", 0, rows)
		return nil
	})
	if err != nil {
		out.Abort()
		return rows, err
	}
	if err := out.Close(); err != nil {
		return rows, fmt.Errorf("collect: export: %w", err)
	}
	tick.done("exporting", 0, rows)
	return rows, nil
}

// exporter turns stored responses into rows of fv's columns.
type exporter struct {
	forms  *Forms // older revisions, compiled once
	fv     store.FormVersion
	f      *form.Form
	opts   ExportOptions
	fields []*form.Question
	revs   map[int]*revisionColumns
	vals   []string // per field of fv, for the current response
	out    []string // the row being written, reused
}

// revisionColumns maps the fields of one revision onto fv's fields.
type revisionColumns struct {
	f   *form.Form
	buf []string // DecodeInto's destination, one per field of that revision
	to  []int    // index in fv's fields, or -1 for a question fv does not have
}

func newExporter(st store.Store, fv store.FormVersion, f *form.Form, opts ExportOptions) *exporter {
	var fields []*form.Question
	for _, q := range f.Fields() {
		if opts.IncludePersonal || !security.Personal(q) {
			fields = append(fields, q)
		}
	}
	return &exporter{
		forms: NewForms(st), fv: fv, f: f, opts: opts, fields: fields,
		revs: make(map[int]*revisionColumns),
		vals: make([]string, len(fields)),
	}
}

func (ex *exporter) header() []string {
	h := []string{"instance_id", "started", "ended", "submitted_at"}
	if ex.opts.IncludeClient {
		h = append(h, "client")
	}
	for _, q := range ex.fields {
		h = append(h, q.Name)
		if ex.split(q) {
			for _, c := range ex.f.Choices[q.ListName] {
				h = append(h, q.Name+"/"+c.Name)
			}
		}
	}
	return h
}

func (ex *exporter) split(q *form.Question) bool {
	return ex.opts.SplitMultiple && q.Type == "select_multiple"
}

func (ex *exporter) row(ctx context.Context, r store.Response) ([]string, error) {
	rc, err := ex.revision(ctx, r.Revision)
	if err != nil {
		return nil, err
	}
	if err := rc.f.DecodeInto(r.Answers, rc.buf); err != nil {
		return nil, fmt.Errorf("collect: export: response %s: %w", r.InstanceID, err)
	}
	clear(ex.vals)
	for j, v := range rc.buf {
		if k := rc.to[j]; k >= 0 {
			ex.vals[k] = v
		}
	}
	row := append(ex.out[:0], r.InstanceID, formatTime(r.Started), formatTime(r.Ended), formatTime(r.SubmittedAt))
	if ex.opts.IncludeClient {
		row = append(row, r.Client)
	}
	for i, q := range ex.fields {
		v := ex.vals[i]
		row = append(row, v)
		if ex.split(q) {
			chosen := strings.Fields(v)
			for _, c := range ex.f.Choices[q.ListName] {
				switch {
				case v == "":
					row = append(row, "")
				case slices.Contains(chosen, c.Name):
					row = append(row, "1")
				default:
					row = append(row, "0")
				}
			}
		}
	}
	ex.out = row
	return row, nil
}

func (ex *exporter) revision(ctx context.Context, rev int) (*revisionColumns, error) {
	if rc, ok := ex.revs[rev]; ok {
		return rc, nil
	}
	f := ex.f
	if rev != ex.fv.Revision {
		var err error
		if f, err = ex.forms.Revision(ctx, ex.fv.FormID, rev); err != nil {
			return nil, fmt.Errorf("collect: export: form %s revision %d: %w", ex.fv.FormID, rev, err)
		}
	}
	index := make(map[string]int, len(ex.fields))
	for i, q := range ex.fields {
		index[q.Name] = i
	}
	fields := f.Fields()
	rc := &revisionColumns{f: f, buf: make([]string, len(fields)), to: make([]int, len(fields))}
	for j, q := range fields {
		k, ok := index[q.Name]
		if !ok {
			k = -1
		}
		rc.to[j] = k
	}
	ex.revs[rev] = rc
	return rc, nil
}

// formatTime writes a time as §2 does: RFC 3339 in UTC, fractional seconds
// only when non-zero, empty when unknown.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// rowWriter is one export file format.
type rowWriter interface {
	WriteRow([]string) error
	Close() error // finishes the file
	Abort()       // releases resources after a failure
}

type csvRows struct{ cw *csv.Writer }

func newCSVRows(w io.Writer) (*csvRows, error) {
	if _, err := w.Write(utf8BOM); err != nil {
		return nil, fmt.Errorf("collect: export: %w", err)
	}
	return &csvRows{cw: csv.NewWriter(w)}, nil
}

func (c *csvRows) WriteRow(row []string) error { return c.cw.Write(row) }

func (c *csvRows) Close() error {
	c.cw.Flush()
	return c.cw.Error()
}

func (c *csvRows) Abort() { c.cw.Flush() }

// xlsxRows streams rows into one sheet; excelize keeps them in a temporary
// file, not in memory, until the workbook is written.
type xlsxRows struct {
	w     io.Writer
	f     *excelize.File
	sw    *excelize.StreamWriter
	n     int
	cells []any
}

const xlsxSheet = "responses"

func newXLSXRows(w io.Writer) (*xlsxRows, error) {
	f := excelize.NewFile()
	if err := f.SetSheetName(f.GetSheetName(0), xlsxSheet); err != nil {
		f.Close()
		return nil, fmt.Errorf("collect: export: %w", err)
	}
	sw, err := f.NewStreamWriter(xlsxSheet)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("collect: export: %w", err)
	}
	return &xlsxRows{w: w, f: f, sw: sw}, nil
}

func (x *xlsxRows) WriteRow(row []string) error {
	x.n++
	x.cells = x.cells[:0]
	for _, v := range row {
		if v == "" {
			x.cells = append(x.cells, nil) // no cell at all, as Excel writes a blank
		} else {
			x.cells = append(x.cells, v) // text, never guessed numbers or dates
		}
	}
	cell, err := excelize.CoordinatesToCellName(1, x.n)
	if err != nil {
		return err
	}
	return x.sw.SetRow(cell, x.cells)
}

func (x *xlsxRows) Close() error {
	defer x.f.Close()
	if err := x.sw.Flush(); err != nil {
		return err
	}
	return x.f.Write(x.w)
}

func (x *xlsxRows) Abort() { x.f.Close() }
