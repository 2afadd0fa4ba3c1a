package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/govsurvey/govsurvey/publish"
)

const verifyUsage = `usage: govsurvey verify [--public-key OFFICE.pem] [--manifest RELEASE_DIR] DIR|FILE`

// cmdVerify checks a release directory, or one file of a release, against
// its signed manifest: who signed it, and whether anything changed. It
// needs no database.
func cmdVerify(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("verify")
	pubFile := fs.String("public-key", "", "the office's SM2 public key (PEM): the signature must be by it")
	manifestDir := fs.String("manifest", "", "for a FILE: the release directory holding manifest.json (default: beside or above the file)")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("%s", verifyUsage)
	}
	var trusted []byte
	if *pubFile != "" {
		if trusted, err = os.ReadFile(*pubFile); err != nil {
			return err
		}
	}
	fi, err := os.Stat(pos[0])
	if err != nil {
		return err
	}
	var rep publish.VerifyReport
	if fi.IsDir() {
		rep, err = publish.VerifyDir(pos[0], trusted)
	} else {
		rep, err = publish.VerifyFile(pos[0], *manifestDir, trusted)
	}
	if err != nil {
		return err
	}
	w := a.stdout
	if rep.SignatureErr != nil {
		fmt.Fprintf(w, "release %s: SIGNATURE INVALID: %v\n", rep.Release, rep.SignatureErr)
	} else {
		by := rep.SignedBy
		fmt.Fprintf(w, "release %s: signed by %q", rep.Release, by.Name)
		if !by.Time.IsZero() {
			fmt.Fprintf(w, " at %s", by.Time.Format("2006-01-02 15:04:05 MST"))
		}
		fmt.Fprintf(w, "\nsigner's SM2 key, SM3 fingerprint: %s\n", by.Fingerprint)
		switch {
		case rep.Trusted:
			fmt.Fprintln(w, "the key is the one given with --public-key")
		case rep.KeyMismatch:
			fmt.Fprintln(w, "NOT the key given with --public-key: someone else signed this")
		default:
			fmt.Fprintln(w, "compare the fingerprint with the one the office publishes, or pass --public-key")
		}
	}
	for _, p := range rep.Changed {
		fmt.Fprintf(w, "CHANGED  %s\n", p)
	}
	for _, p := range rep.Missing {
		fmt.Fprintf(w, "MISSING  %s\n", p)
	}
	for _, p := range rep.Extra {
		fmt.Fprintf(w, "EXTRA    %s (not in the manifest)\n", p)
	}
	if !rep.OK() {
		return errors.New("verify: the release does not match its signed manifest")
	}
	fmt.Fprintf(w, "OK: %d file(s) match the signed manifest\n", len(rep.Checked))
	return nil
}
