package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
)

func cmdImport(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("import")
	formID := fs.String("form", "", "form id the responses belong to (required)")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if *formID == "" || len(pos) != 1 {
		return usagef("usage: govsurvey import --form ID FILE.csv (- for standard input)")
	}
	st, fv, f, err := a.openForm(ctx, *formID)
	if err != nil {
		return err
	}
	defer st.Close()
	src := collect.ImportSource{Name: pos[0], Path: pos[0]}
	if pos[0] == "-" {
		spooled, remove, err := collect.Spool("stdin", a.stdin)
		if err != nil {
			return err
		}
		defer remove()
		src = spooled
	}
	res, err := collect.Import(ctx, st, fv, f, src, collect.ImportOptions{
		Progress: collect.TerminalProgress(a.stderr, "import "+filepath.Base(pos[0])),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%s: %d rows: %d added, %d already present, %d refused\n",
		pos[0], res.Rows, res.Added, res.AlreadyPresent, res.Refused)
	return nil
}

func cmdExport(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("export")
	formID := fs.String("form", "", "form id (required)")
	format := fs.String("format", "csv", "csv, xlsx, sav (SPSS), dta (Stata 118), parquet or codebook")
	out := fs.String("out", "", "file to write (required; - for standard output)")
	split := fs.Bool("split-multiple", false, "add one 0/1 column per choice of each select_multiple (field/choice)")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if *formID == "" || *out == "" || len(pos) > 0 {
		return usagef("usage: govsurvey export --form ID --format csv|xlsx|sav|dta|parquet|codebook --out FILE")
	}
	switch *format {
	case "csv", "xlsx":
	case "sav", "parquet", "dta", "codebook":
		return exportAnalyst(ctx, a, *formID, *format, *out)
	default:
		return usagef("unknown export format %q (csv or xlsx)", *format)
	}
	st, fv, f, err := a.openForm(ctx, *formID)
	if err != nil {
		return err
	}
	defer st.Close()
	opts := collect.ExportOptions{Format: *format, SplitMultiple: *split}
	if *out == "-" {
		_, err := collect.Export(ctx, st, fv, f, a.stdout, opts)
		return err
	}
	// Write beside the target and rename, so a failed export never leaves a
	// truncated file where a good one was.
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".govsurvey-export-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	opts.Progress = collect.TerminalProgress(a.stderr, "export "+filepath.Base(*out))
	n, err := collect.Export(ctx, st, fv, f, tmp, opts)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "wrote %d responses to %s\n", n, *out)
	return nil
}

// openForm opens the store and the latest revision of a registered form.
// The caller closes the store.
func (a *app) openForm(ctx context.Context, formID string) (store.Store, store.FormVersion, *form.Form, error) {
	st, err := a.openStore(ctx)
	if err != nil {
		return nil, store.FormVersion{}, nil, err
	}
	fv, f, err := collect.NewForms(st).Latest(ctx, formID)
	if err != nil {
		st.Close()
		if errors.Is(err, store.ErrNotFound) {
			err = fmt.Errorf("form %q is not registered (add it first with 'govsurvey form add')", formID)
		}
		return nil, store.FormVersion{}, nil, err
	}
	return st, fv, f, nil
}
