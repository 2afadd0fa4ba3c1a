package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/govsurvey/govsurvey/clean"
	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/export"
	"github.com/govsurvey/govsurvey/store"
)

// exportVerdict is the cleaning an export applies, as the web API's
// export does: the valid responses of the form's last cleaning run
// (overrides applied); with all, every response, flagged by the verdict
// when there is one (nil when the form was never cleaned). Without all, a
// form never cleaned is an error that says what to do.
func exportVerdict(ctx context.Context, st store.Store, formID string, all bool) (*export.Cleaning, error) {
	v, err := export.Verdict(ctx, st, formID)
	if errors.Is(err, clean.ErrNotCleaned) {
		if all {
			return nil, nil
		}
		return nil, fmt.Errorf("form %q has not been cleaned: exports hold the valid responses of its last cleaning run; run 'govsurvey clean --form %s' first, or pass --all-responses to export every stored response", formID, formID)
	}
	if err != nil {
		return nil, err
	}
	v.KeepInvalid = all
	return v, nil
}

// verdictDetail is the audit log's word on the responses exported.
func verdictDetail(v *export.Cleaning) string {
	switch {
	case v == nil:
		return " all=1 not_cleaned"
	case v.KeepInvalid:
		return " all=1"
	}
	return " valid_only"
}

// verdictRows names the rows written, for the closing message.
func verdictRows(v *export.Cleaning) string {
	switch {
	case v == nil:
		return "responses (never cleaned: every stored response)"
	case v.KeepInvalid:
		return "responses (every stored response, with valid and invalid_reasons)"
	}
	return "valid responses"
}

// exportAnalyst writes the analyst formats of package export: sav, dta,
// parquet, and the codebook (Markdown, or HTML when the file name ends in
// .html or .htm), under the cleaning of exportVerdict; an answer failing
// its question's type or choices is written as missing. Exports are
// de-identified: no option here includes personal or sensitive questions
// or the client column, because that needs the role check of the security
// work.
func exportAnalyst(ctx context.Context, a *app, formID, format, out string, all bool) error {
	st, fv, f, err := a.openForm(ctx, formID)
	if err != nil {
		return err
	}
	defer st.Close()
	verdict, err := exportVerdict(ctx, st, fv.FormID, all)
	if err != nil {
		return err
	}
	opts := export.Options{Format: format, Cleaning: verdict}
	write := func(w io.Writer) (string, error) {
		if format == "codebook" {
			kind := "markdown"
			if ext := strings.ToLower(filepath.Ext(out)); ext == ".html" || ext == ".htm" {
				kind = "html"
			}
			if err := export.Codebook(ctx, st, fv, f, w, kind, opts); err != nil {
				return "", err
			}
			return "wrote the codebook of " + formID + " to " + out, nil
		}
		res, err := export.Export(ctx, st, fv, f, w, opts)
		if err != nil {
			return "", err
		}
		msg := fmt.Sprintf("wrote %d %s, %d variables to %s", res.Rows, verdictRows(verdict), res.Variables, out)
		if len(res.Omitted) > 0 {
			msg += fmt.Sprintf(" (de-identified: left out %s)", strings.Join(res.Omitted, ", "))
		}
		if res.Invalid > 0 {
			msg += fmt.Sprintf("; %d answers failing their question's type or choices written as missing", res.Invalid)
		}
		if res.Truncated > 0 {
			msg += fmt.Sprintf("; %d string values cut to the format's limit", res.Truncated)
		}
		return msg, nil
	}
	if out == "-" {
		_, err := write(a.stdout)
		return err
	}
	// Written beside the target and renamed, so a failed export never
	// leaves a truncated file where a good one was.
	opts.Progress = collect.TerminalProgress(a.stderr, "export "+filepath.Base(out))
	var msg string
	if _, err := writeFileAtomically(out, func(w io.Writer) (int, error) {
		var err error
		msg, err = write(w)
		return 0, err
	}); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, msg)
	return nil
}
