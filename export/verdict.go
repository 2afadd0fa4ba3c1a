package export

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/govsurvey/govsurvey/clean"
	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
)

// Verdict is the verdict of form formID's last cleaning run, the
// analysts' overrides applied, for Options.Cleaning and Table: the web
// API and the command line export the same responses. A form never
// cleaned is clean.ErrNotCleaned (wrapped). KeepInvalid is left false.
func Verdict(ctx context.Context, st store.Store, formID string) (*Cleaning, error) {
	c, err := st.Cleaning(ctx, formID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("export: form %s: %w", formID, clean.ErrNotCleaned)
	}
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	invalid, err := clean.Invalid(ctx, st, formID)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	reasons := make(map[string]string, len(invalid))
	err = st.EachFlag(ctx, store.FlagFilter{FormID: formID}, func(fl store.Flag) error {
		if invalid[fl.InstanceID] {
			reasons[fl.InstanceID] = strings.Join(fl.Reasons, " ")
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return &Cleaning{
		Run: fmt.Sprintf("%s at %s, %d responses", c.RuleVersion, c.CleanedAt.UTC().Format(time.RFC3339), c.Collected),
		Invalid: func(id string) (string, bool) {
			if !invalid[id] {
				return "", false
			}
			if rs, ok := reasons[id]; ok {
				return rs, true
			}
			// Invalid without a flag: an analyst's override.
			return "override", true
		},
	}, nil
}

// Table writes the responses export of package collect (CONTRACTS.md §2,
// CSV or XLSX as opts.Format says) under cleaning verdict c. Without
// c.KeepInvalid, only the valid responses. With it, every response, each
// row with valid (1/0) and invalid_reasons appended: collect's CSV is read
// back as it streams and written again as CSV or XLSX (all cells text).
// It returns the rows written.
func Table(ctx context.Context, src store.Store, fv store.FormVersion, f *form.Form, w io.Writer, opts collect.ExportOptions, c *Cleaning) (int, error) {
	if c == nil || c.Invalid == nil {
		return 0, fmt.Errorf("export: table without a cleaning verdict")
	}
	if !c.KeepInvalid {
		return collect.Export(ctx, validOnly{src, c.Invalid}, fv, f, w, opts)
	}
	format := opts.Format
	opts.Format = "csv"
	pr, pw := io.Pipe()
	go func() {
		_, err := collect.Export(ctx, src, fv, f, pw, opts)
		pw.CloseWithError(err)
	}()
	defer pr.Close() // unblocks the writer if we stop early
	cr := csv.NewReader(pr)
	cr.ReuseRecord = true
	var out interface {
		write([]string) error
		close() error
	}
	if format == "xlsx" {
		x, err := newXLSXTable(w)
		if err != nil {
			return 0, err
		}
		out = x
	} else {
		if _, err := io.WriteString(w, "\ufeff"); err != nil {
			return 0, err
		}
		out = csvTable{csv.NewWriter(w)}
	}
	rows := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return rows, fmt.Errorf("export: %w", err)
		}
		if rows == 0 && len(rec) > 0 && strings.HasPrefix(rec[0], "\ufeff") {
			rec[0] = strings.TrimPrefix(rec[0], "\ufeff")
			rec = append(rec, "valid", "invalid_reasons")
			rows = -1 // the header is no row
		} else {
			reasons, bad := c.Invalid(rec[0])
			valid := "1"
			if bad {
				valid = "0"
			}
			rec = append(rec, valid, reasons)
		}
		if err := out.write(rec); err != nil {
			return rows, err
		}
		rows++
	}
	return rows, out.close()
}

type csvTable struct{ w *csv.Writer }

func (c csvTable) write(rec []string) error { return c.w.Write(rec) }
func (c csvTable) close() error {
	c.w.Flush()
	return c.w.Error()
}

// xlsxTable streams rows of text into one sheet, "responses".
type xlsxTable struct {
	x   *excelize.File
	sw  *excelize.StreamWriter
	w   io.Writer
	row int
}

func newXLSXTable(w io.Writer) (*xlsxTable, error) {
	x := excelize.NewFile()
	if err := x.SetSheetName("Sheet1", "responses"); err != nil {
		return nil, fmt.Errorf("export: xlsx: %w", err)
	}
	sw, err := x.NewStreamWriter("responses")
	if err != nil {
		return nil, fmt.Errorf("export: xlsx: %w", err)
	}
	return &xlsxTable{x: x, sw: sw, w: w, row: 1}, nil
}

func (t *xlsxTable) write(rec []string) error {
	vals := make([]any, len(rec))
	for i, v := range rec {
		vals[i] = v
	}
	cell, _ := excelize.CoordinatesToCellName(1, t.row)
	t.row++
	return t.sw.SetRow(cell, vals)
}

func (t *xlsxTable) close() error {
	defer t.x.Close()
	if err := t.sw.Flush(); err != nil {
		return fmt.Errorf("export: xlsx: %w", err)
	}
	if err := t.x.Write(t.w); err != nil {
		return fmt.Errorf("export: xlsx: %w", err)
	}
	return nil
}
