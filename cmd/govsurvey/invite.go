package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/security"
)

// actionInvite records the making of invitations in the audit log (how
// many, never the tokens).
const actionInvite = collect.ActionInvitations

const inviteUsage = `usage: govsurvey invite --form ID --n N [--out FILE] [--base-url URL]

Makes N one-time invitation tokens for a form and writes them, with their
links (/f/ID?t=TOKEN), as CSV to FILE (default: standard output). Only a
hash of each token is stored: the CSV is the one copy of the tokens, so
keep it safe. A form takes submissions only with a token when its XLSForm
settings sheet has the column invitation = required.`

func cmdInvite(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("invite")
	formID := fs.String("form", "", "form id")
	n := fs.Int("n", 0, "number of invitations to make (1 to "+strconv.Itoa(collect.MaxInvitations)+")")
	out := fs.String("out", "-", "CSV file to write (must not exist yet; - for standard output)")
	base := fs.String("base-url", envOr("GOVSURVEY_BASE_URL", ""), "the server's public address, to make the links absolute (e.g. https://survey.example.org)")
	fs.Usage = func() { fmt.Fprintln(a.stderr, inviteUsage); fs.PrintDefaults() }
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if *formID == "" || len(pos) > 0 {
		return usagef("%s", inviteUsage)
	}
	if *n < 1 || *n > collect.MaxInvitations {
		return usagef("--n must be between 1 and %d", collect.MaxInvitations)
	}
	prefix := strings.TrimRight(*base, "/")
	if prefix != "" {
		if u, err := url.Parse(prefix); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usagef("--base-url %q is not an http(s) address", *base)
		}
	}
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	_, f, err := collect.NewForms(st).Latest(ctx, *formID)
	if err != nil {
		return fmt.Errorf("invite: form %s: %w", *formID, err)
	}
	if required, err := collect.InvitationRequired(f); err != nil {
		return err
	} else if !required {
		fmt.Fprintf(a.stderr, "note: form %s does not require an invitation (settings column invitation = required); the links work, but so does the form without them\n", *formID)
	}
	// The file is opened before the tokens are made: tokens stored but
	// never written anywhere would be lost for good.
	w, closeOut, err := inviteOutput(a, *out)
	if err != nil {
		return err
	}
	tokens, err := collect.CreateInvitations(ctx, st, *formID, *n)
	if err != nil {
		closeOut(false)
		return err
	}
	if err := collect.WriteInvitationsCSV(w, prefix, *formID, tokens); err != nil {
		closeOut(false)
		return fmt.Errorf("invite: writing %s: %w", *out, err)
	}
	if err := closeOut(true); err != nil {
		return err
	}
	if err := st.record(ctx, actionInvite, "form:"+*formID, security.OutcomeOK, fmt.Sprintf("n=%d", *n)); err != nil {
		return err
	}
	if *out != "-" {
		fmt.Fprintf(a.stderr, "%d invitations for form %s written to %s (the only copy of the tokens)\n", *n, *formID, *out)
	}
	return nil
}

// inviteOutput opens where the tokens go: a new file readable by its
// owner only, never one that exists (it may hold earlier tokens), or
// standard output. closeOut syncs and closes it; ok false removes a file
// left incomplete.
func inviteOutput(a *app, path string) (io.Writer, func(ok bool) error, error) {
	if path == "-" {
		return a.stdout, func(bool) error { return nil }, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("invite: %w", err)
	}
	return f, func(ok bool) error {
		if !ok {
			f.Close()
			os.Remove(path)
			return nil
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("invite: writing %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("invite: writing %s: %w", path, err)
		}
		return nil
	}, nil
}
