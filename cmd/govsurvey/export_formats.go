package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/export"
)

// exportAnalyst writes the analyst formats of package export: sav, dta,
// parquet, and the codebook (Markdown, or HTML when the file name ends in
// .html or .htm). Exports are de-identified: no option here includes
// personal or sensitive questions or the client column, because that
// needs the role check of the security work.
func exportAnalyst(ctx context.Context, a *app, formID, format, out string) error {
	st, fv, f, err := a.openForm(ctx, formID)
	if err != nil {
		return err
	}
	defer st.Close()
	opts := export.Options{Format: format}
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
		msg := fmt.Sprintf("wrote %d responses, %d variables to %s", res.Rows, res.Variables, out)
		if len(res.Omitted) > 0 {
			msg += fmt.Sprintf(" (de-identified: left out %s)", strings.Join(res.Omitted, ", "))
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
	// Write beside the target and rename, so a failed export never leaves a
	// truncated file where a good one was.
	tmp, err := os.CreateTemp(filepath.Dir(out), ".govsurvey-export-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	opts.Progress = collect.TerminalProgress(a.stderr, "export "+filepath.Base(out))
	msg, err := write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, msg)
	return nil
}
