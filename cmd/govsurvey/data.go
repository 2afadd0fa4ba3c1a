package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/export"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
)

// actionImport records a CSV import in the audit log.
const actionImport = "responses.import"

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
	if err := st.record(ctx, actionImport, "form:"+fv.FormID, security.OutcomeOK,
		fmt.Sprintf("file=%s rows=%d added=%d present=%d refused=%d", filepath.Base(pos[0]), res.Rows, res.Added, res.AlreadyPresent, res.Refused)); err != nil {
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
	personal := fs.Bool("personal", false, "include the client column and personal and sensitive fields (csv, xlsx; needs the master key and --purpose; audited)")
	purpose := fs.String("purpose", "", "why personal fields are exported (with --personal)")
	all := fs.Bool("all-responses", false, "export every stored response, with columns valid and invalid_reasons when the form has been cleaned (default: only the valid responses of the last cleaning run)")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if *formID == "" || *out == "" || len(pos) > 0 {
		return usagef("usage: govsurvey export --form ID --format csv|xlsx|sav|dta|parquet|codebook --out FILE [--all-responses]")
	}
	switch *format {
	case "csv", "xlsx":
	case "sav", "parquet", "dta", "codebook":
		if *personal {
			return usagef("--personal is for csv and xlsx; the analyst formats are de-identified")
		}
		return exportAnalyst(ctx, a, *formID, *format, *out, *all)
	default:
		return usagef("unknown export format %q (csv or xlsx)", *format)
	}
	if *personal && strings.TrimSpace(*purpose) == "" {
		return usagef("--personal needs --purpose: why personal fields leave the server (recorded in the audit log)")
	}
	st, fv, f, err := a.openForm(ctx, *formID)
	if err != nil {
		return err
	}
	defer st.Close()
	// De-identified by default. Personal fields are the joined view of
	// the sealing store, which needs the master key; the command line is
	// the operator's, so the purpose is what the audit log keeps.
	verdict, err := exportVerdict(ctx, st, fv.FormID, *all)
	if err != nil {
		return err
	}
	src := store.Store(st)
	action, detail := security.ActionExport, "format="+*format+verdictDetail(verdict)
	if *personal {
		if err := st.requireKeys(); err != nil {
			return err
		}
		src = st.Joined()
		action = security.ActionExportPersonal
		detail += " purpose=" + strings.ReplaceAll(strings.TrimSpace(*purpose), "\n", " ")
	}
	object := "form:" + fv.FormID
	if err := st.record(ctx, action, object, security.OutcomeOK, detail+" started"); err != nil {
		return err
	}
	opts := collect.ExportOptions{Format: *format, SplitMultiple: *split, IncludeClient: *personal, IncludePersonal: *personal}
	finish := func(n int, err error) error {
		outcome := security.OutcomeOK
		if err != nil {
			outcome = security.OutcomeFailed
		}
		if aerr := st.record(context.WithoutCancel(ctx), action, object, outcome, fmt.Sprintf("%s rows=%d finished", detail, n)); err == nil {
			err = aerr
		}
		return err
	}
	write := func(w io.Writer) (int, error) {
		if verdict == nil {
			return collect.Export(ctx, src, fv, f, w, opts)
		}
		return export.Table(ctx, src, fv, f, w, opts, verdict)
	}
	if *out == "-" {
		return finish(write(a.stdout))
	}
	opts.Progress = collect.TerminalProgress(a.stderr, "export "+filepath.Base(*out))
	n, err := writeFileAtomically(*out, write)
	if err := finish(n, err); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "wrote %d %s to %s\n", n, verdictRows(verdict), *out)
	return nil
}

// openForm opens the store and the latest revision of a registered form.
// The caller closes the store.
func (a *app) openForm(ctx context.Context, formID string) (*secureStore, store.FormVersion, *form.Form, error) {
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
