package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/govsurvey/govsurvey/clean"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
)

const cleanUsage = `usage: govsurvey clean --form ID [--format table|json]
       govsurvey clean override --form ID --instance ID --valid|--invalid --note TEXT --actor NAME`

// cmdClean applies the cleaning rules (CONTRACTS.md §3) to a form and
// prints the funnel; 'clean override' records an analyst's verdict on one
// response.
func cmdClean(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 && args[0] == "override" {
		return cleanOverride(ctx, a, args[1:])
	}
	fs := a.newFlags("clean")
	formID := fs.String("form", "", "form id (required)")
	format := fs.String("format", "table", "table or json")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if *formID == "" || len(pos) > 0 {
		return usagef("%s", cleanUsage)
	}
	if *format != "table" && *format != "json" {
		return usagef("unknown format %q (table or json)", *format)
	}
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	// The rules judge every answer, sealed ones too: the joined view. It
	// needs the master key only when there are sealed answers; the funnel
	// and the flags hold no answer.
	fun, err := clean.Run(ctx, st.Joined(), *formID)
	if errors.Is(err, security.ErrNoKeyring) {
		return fmt.Errorf("form %q has encrypted personal answers, which cleaning must read: %w", *formID, errNoMasterKey)
	}
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("form %q is not registered", *formID)
	}
	if err != nil {
		return err
	}
	if *format == "json" {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(fun)
	}
	return printFunnel(a.stdout, fun)
}

// printFunnel writes the funnel as a table: collected, each reason, the
// responses with several reasons, the overrides, valid. Labels are left
// aligned and counts right aligned.
func printFunnel(w io.Writer, f clean.Funnel) error {
	type line struct {
		label string
		n     int
	}
	lines := []line{{"collected", f.Collected}}
	for _, r := range f.Reasons() {
		lines = append(lines, line{"  " + r, f.InvalidByReason[r]})
	}
	lines = append(lines,
		line{"several reasons", f.SeveralReasons},
		line{"invalid", f.Flagged},
		line{"overridden to valid", f.OverriddenValid},
		line{"overridden to invalid", f.OverriddenInvalid},
		line{"valid", f.Valid})
	labelWidth, numWidth := 0, 0
	for _, l := range lines {
		labelWidth = max(labelWidth, utf8.RuneCountInString(l.label))
		numWidth = max(numWidth, len(strconv.Itoa(l.n)))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "form %s, rules %s\n", f.FormID, f.RuleVersion)
	for _, l := range lines {
		pad := labelWidth - utf8.RuneCountInString(l.label)
		fmt.Fprintf(&b, "%s%s  %*d\n", l.label, strings.Repeat(" ", pad), numWidth, l.n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func cleanOverride(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("clean override")
	formID := fs.String("form", "", "form id (required)")
	instance := fs.String("instance", "", "instance id of the response (required)")
	valid := fs.Bool("valid", false, "count the response as valid whatever its flags")
	invalid := fs.Bool("invalid", false, "count the response as invalid whatever its flags")
	note := fs.String("note", "", "why (required)")
	actor := fs.String("actor", "", "who decides (required)")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if *formID == "" || *instance == "" || *note == "" || *actor == "" || *valid == *invalid || len(pos) > 0 {
		return usagef("%s", cleanUsage)
	}
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	o, err := clean.AddOverride(ctx, st, store.Override{
		FormID: *formID, InstanceID: *instance, Valid: *valid, Note: *note, Actor: *actor,
	})
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("form %q has no response %q", *formID, *instance)
	}
	if err != nil {
		return err
	}
	// The note stays in the override row; the audit entry says who
	// decided what, on whose word.
	if err := st.record(ctx, security.ActionCleanOverride, "form:"+o.FormID+"/"+o.InstanceID, security.OutcomeOK,
		fmt.Sprintf("override=%d valid=%t by=%s", o.ID, o.Valid, o.Actor)); err != nil {
		return err
	}
	verdict := "invalid"
	if o.Valid {
		verdict = "valid"
	}
	fmt.Fprintf(a.stdout, "response %s of form %s is now %s (override %d by %s); 'govsurvey clean --form %s' shows the funnel\n",
		o.InstanceID, o.FormID, verdict, o.ID, o.Actor, o.FormID)
	return nil
}
