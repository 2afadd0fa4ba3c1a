package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/formcheck"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
)

func cmdForm(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usagef("form needs a subcommand: check, add, list or export")
	}
	switch args[0] {
	case "check":
		return formCheck(ctx, a, args[1:])
	case "add":
		return formAdd(ctx, a, args[1:])
	case "list":
		return formList(ctx, a, args[1:])
	case "export":
		return formExport(ctx, a, args[1:])
	}
	return usagef("unknown form subcommand %q (check, add, list or export)", args[0])
}

// formCheck validates files without touching a database. Every file is
// checked and every problem printed; the exit status says whether all passed.
func formCheck(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("form check")
	files, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("form check needs one or more XLSForm files (.xlsx, .csv, .md)")
	}
	failed := 0
	for _, path := range files {
		f, err := formcheck.ParseFile(path)
		if err != nil {
			failed++
			var fe *form.Error
			if errors.As(err, &fe) {
				for _, p := range fe.Problems {
					fmt.Fprintf(a.stderr, "%s: %s\n", path, p)
				}
			} else {
				fmt.Fprintf(a.stderr, "%s: %v\n", path, err)
			}
			continue
		}
		fmt.Fprintf(a.stdout, "%s: ok — form %s version %s, %d questions, %d checks\n",
			path, f.ID, f.Version, len(f.Fields()), len(f.Checks))
		if len(f.Unsupported) > 0 {
			fmt.Fprintf(a.stdout, "%s: note: accepted and stored, but the web form cannot show yet: %v\n", path, f.Unsupported)
		}
	}
	if failed > 0 {
		return fmt.Errorf("form check: %d of %d files refused", failed, len(files))
	}
	return nil
}

func formAdd(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("form add")
	files, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("form add needs one or more XLSForm files")
	}
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fv, f, created, err := formcheck.AddForm(ctx, st, filepath.Base(path), data)
		if err != nil {
			return prefixProblems(path, err)
		}
		if created {
			if err := st.record(ctx, security.ActionFormChange, "form:"+fv.FormID, security.OutcomeOK,
				fmt.Sprintf("revision=%d file=%s hash=%s", fv.Revision, filepath.Base(path), fv.Hash)); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s: added form %s revision %d (%d questions)\n", path, fv.FormID, fv.Revision, len(f.Fields()))
		} else {
			fmt.Fprintf(a.stdout, "%s: form %s unchanged (revision %d)\n", path, fv.FormID, fv.Revision)
		}
	}
	return nil
}

// prefixProblems puts the file name before each sheet!row problem.
func prefixProblems(path string, err error) error {
	var fe *form.Error
	if !errors.As(err, &fe) {
		return fmt.Errorf("%s: %w", path, err)
	}
	msg := ""
	for i, p := range fe.Problems {
		if i > 0 {
			msg += "\n"
		}
		msg += path + ": " + p.String()
	}
	return errors.New(msg)
}

func formList(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("form list")
	if _, err := a.parse(fs, args); err != nil {
		return err
	}
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	fvs, err := st.Forms(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FORM\tREVISION\tVERSION\tRESPONSES\tTITLE")
	for _, fv := range fvs {
		n, err := st.CountResponses(ctx, fv.FormID)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\n", fv.FormID, fv.Revision, fv.Version, n, fv.Title)
	}
	return tw.Flush()
}

// formExport writes a form's source file back: the stored revision if the
// database has the form, else the built-in template of that name.
func formExport(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("form export")
	out := fs.String("out", "", "file to write (default: the form's own file name; - for standard output)")
	revision := fs.Int("revision", 0, "revision to export (default: the latest)")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("form export needs exactly one form id")
	}
	id := pos[0]
	data, name, err := storedFormSource(ctx, a, id, *revision)
	if errors.Is(err, store.ErrNotFound) && *revision == 0 {
		data, name, err = form.Template(id)
		if err != nil {
			return fmt.Errorf("form %q is neither stored nor a built-in template (built-in: %v)", id, form.Templates())
		}
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("form %q revision %d not found", id, *revision)
		}
		return err
	}
	if *out == "-" {
		_, err = a.stdout.Write(data)
		return err
	}
	if *out == "" {
		*out = name
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "wrote %s (%d bytes)\n", *out, len(data))
	return nil
}

func storedFormSource(ctx context.Context, a *app, id string, revision int) ([]byte, string, error) {
	st, err := a.openStore(ctx)
	if err != nil {
		return nil, "", err
	}
	defer st.Close()
	var fv store.FormVersion
	if revision == 0 {
		fv, err = st.Form(ctx, id)
	} else {
		fv, err = st.FormRevision(ctx, id, revision)
	}
	if err != nil {
		return nil, "", err
	}
	return fv.Source, fv.SourceName, nil
}
