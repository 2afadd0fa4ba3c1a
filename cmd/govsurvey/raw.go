package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
)

// The raw submission body archive (DESIGN.md: the raw body kept only as
// an archive). Off by default: it is a second copy of every personal
// answer, against data minimisation, and it costs ingest time. A
// deployment that must keep what respondents sent turns it on with
// --keep-raw; the bodies are sealed whole with the data keys, erased by
// withdrawal and retention, and read back one at a time with 'govsurvey
// raw', audited.

// keepRawFlag is serve's and demo's --keep-raw.
func keepRawFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("keep-raw", false, "keep each submission's body as received, sealed, as an archive "+
		"(read back with 'govsurvey raw'; erased by withdrawal and retention; off: a second copy of personal answers)")
}

const rawUsage = "usage: govsurvey raw --form ID --instance ID [--purpose TEXT]"

// cmdRaw prints the archived body of one response, opened with the master
// key, to standard output as it was received, byte for byte. The read is
// audited before the body is written: no audit, no body.
func cmdRaw(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("raw")
	formID := fs.String("form", "", "form id (required)")
	instance := fs.String("instance", "", "instance id of the response (required)")
	purpose := fs.String("purpose", "", "why the body is read (recorded in the audit log)")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if *formID == "" || *instance == "" || len(pos) > 0 {
		return usagef("%s", rawUsage)
	}
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.requireKeys(); err != nil {
		return err
	}
	// As the collector stores it: ODK's "uuid:" prefix dropped.
	id := *instance
	if n, ok := collect.InstanceID(id); ok {
		id = n
	}
	r, err := st.Joined().Response(ctx, *formID, id)
	object := "form:" + *formID + "/" + id
	detail := ""
	if p := strings.TrimSpace(*purpose); p != "" {
		detail = "purpose=" + strings.ReplaceAll(p, "\n", " ") + " "
	}
	var why error
	switch {
	case errors.Is(err, store.ErrNotFound):
		why = fmt.Errorf("response %s of form %s not found", id, *formID)
	case err != nil:
		why = err
	case !r.WithdrawnAt.IsZero():
		why = fmt.Errorf("response %s of form %s has no archived body: it was withdrawn, which erased it", id, *formID)
	case r.Raw == nil:
		why = fmt.Errorf("response %s of form %s has no archived body: bodies are kept only while the server runs with --keep-raw, and retention erases them", id, *formID)
	}
	if why != nil {
		return errors.Join(why, st.record(context.WithoutCancel(ctx), security.ActionRawRead, object, security.OutcomeFailed, detail+"no body"))
	}
	if err := st.record(ctx, security.ActionRawRead, object, security.OutcomeOK, fmt.Sprintf("%sbytes=%d", detail, len(r.Raw))); err != nil {
		return err
	}
	_, err = a.stdout.Write(r.Raw)
	return err
}
