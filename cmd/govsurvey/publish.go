package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/publish"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
)

const publishUsage = `usage: govsurvey publish --form ID --out DIR [--question NAME]… [--by FIELD]… [--min-count 10]
        [--report DIR] [--microdata [--qi FIELD]… [--k 10] [--max-drop 0.05]] [--office NAME] [--key SM2.pem]
  the analysis flags of 'govsurvey analyze' (--weights, --filter, …) apply too`

// cmdPublish freezes a release: the suppressed tables of an analysis, the
// report's files and optionally k-anonymous microdata, with a manifest
// signed by the office's SM2 key; it writes the release into --out and
// stores it, for the public pages and the open API.
func cmdPublish(ctx context.Context, a *app, args []string) error {
	var af analysisFlags
	fs := af.register(a, "publish", true)
	formID := fs.String("form", "", "form id (required)")
	out := fs.String("out", "", "directory to write the release into (new or empty; required)")
	minCount := fs.Int("min-count", publish.DefaultMinCount, "suppress counts below this (unweighted respondents)")
	reportDir := fs.String("report", "", "include this report directory ('govsurvey report --out')")
	microdata := fs.Bool("microdata", false, "include k-anonymous microdata")
	k := fs.Int("k", publish.DefaultK, "microdata: every combination of quasi-identifiers has at least k respondents")
	maxDrop := fs.Float64("max-drop", publish.DefaultMaxDrop, "microdata: share of rows that may be dropped instead of coarsening further")
	var qis listFlag
	fs.Var(&qis, "qi", "microdata: a quasi-identifier (repeatable; default: the form's quasi_identifier column)")
	office := fs.String("office", envOr("GOVSURVEY_OFFICE", ""), "the office that signs (env GOVSURVEY_OFFICE; default: the form's settings 'publisher')")
	keyFile := fs.String("key", envOr("GOVSURVEY_SIGNING_KEY_FILE", ""), "SM2 private key (PEM) to sign with instead of the installation's")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if *formID == "" || *out == "" || len(pos) > 0 {
		return usagef("%s", publishUsage)
	}
	if *minCount < 1 {
		return usagef("--min-count must be at least 1")
	}
	if entries, err := os.ReadDir(*out); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty: a release is written into a new directory", *out)
	}
	st, _, f, err := a.openForm(ctx, *formID)
	if err != nil {
		return err
	}
	defer st.Close()
	signer, err := a.publishSigner(st, f, *keyFile, *office)
	if err != nil {
		return err
	}
	opts, err := af.options(f)
	if err != nil {
		return err
	}
	spec := publish.Spec{Analysis: opts, AllResponses: af.allResponses,
		Rule: publish.Rule{MinCount: *minCount}, ReportDir: *reportDir, Microdata: *microdata, QIs: qis,
		K: publish.KOptions{K: *k, MaxDrop: *maxDrop}, Signer: signer}
	if st.audit != nil {
		// Recorded as soon as the store has taken or refused the release
		// (a concurrent publish may take the version), not after the
		// files are written: a release stored is a release published.
		spec.Stored = func(ctx context.Context, rel *publish.Release, stored error) error {
			outcome, detail := security.OutcomeOK, fmt.Sprintf("%d tables, %d files, min count %d", len(rel.Tables), len(rel.Files), *minCount)
			if errors.Is(stored, store.ErrExists) {
				outcome, detail = security.OutcomeFailed, "refused: version taken by a concurrent publish"
			} else if stored != nil {
				outcome, detail = security.OutcomeFailed, "refused: not stored"
			}
			return st.record(ctx, security.ActionPublish, "release:"+rel.ID, outcome, detail)
		}
	}
	rel, err := publish.Publish(ctx, st, f, spec)
	switch {
	case errors.Is(err, publish.ErrNotCleaned):
		return fmt.Errorf("form %s has not been cleaned: run 'govsurvey clean --form %s' first (or publish every response with --all-responses)", f.ID, f.ID)
	case errors.Is(err, publish.ErrNoQuasiIdentifiers):
		return usagef("--microdata needs quasi-identifiers: --qi FIELD (or a quasi_identifier column in the form)")
	case errors.Is(err, publish.ErrNoMicrodataColumns):
		return usagef("--microdata publishes the questions named with --question, or those classified public in the form; there are none")
	case err != nil:
		return err
	}
	if err := rel.WriteDir(*out); err != nil {
		return fmt.Errorf("%w (the release %s is stored; its files can be downloaded from /open/%s)", err, rel.ID, rel.ID)
	}
	suppressed := rel.Suppressed()
	pub, _ := signer.PublicKeyPEM()
	fp, _ := publish.PublicKeyFingerprint(pub)
	fmt.Fprintf(a.stdout, "release %s: %d tables (%d cells suppressed, min count %d), %d files in %s\n",
		rel.ID, len(rel.Tables), suppressed, *minCount, len(rel.Files), *out)
	if r := rel.Metadata.Microdata; r != nil {
		var co []string
		for _, c := range r.Coarsened {
			co = append(co, fmt.Sprintf("%s level %d/%d (%s)", c.Field, c.Level, c.Levels, c.Description))
		}
		fmt.Fprintf(a.stdout, "microdata: %d of %d rows kept, %d dropped in %d groups under k=%d; %s\n",
			r.Kept, r.Rows, r.Dropped, r.DroppedGroups, r.K, strings.Join(co, ", "))
	}
	fmt.Fprintf(a.stdout, "signed by %s, SM3 key fingerprint %s\n", signer.Name(), fp)
	return nil
}

// publishSigner is the office's signing key: --key, else the
// installation's SM2 key (the one that signs audit checkpoints).
func (a *app) publishSigner(st *secureStore, f *form.Form, keyFile, office string) (*publish.Signer, error) {
	if office == "" {
		_, office = f.Setting("publisher")
	}
	if office == "" {
		return nil, usagef("name the office that signs: --office NAME (or GOVSURVEY_OFFICE, or the form's settings column 'publisher')")
	}
	var pemKey []byte
	switch {
	case keyFile != "":
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, err
		}
		pemKey = b
	case st.keys != nil && st.keys.Audit != nil:
		b, err := st.keys.Audit.MarshalPEM()
		if err != nil {
			return nil, err
		}
		pemKey = b
	default:
		return nil, errors.Join(errors.New("no signing key: give --key SM2.pem, or configure the master key so the installation's key opens"), errNoMasterKey)
	}
	s, err := publish.NewSigner(pemKey, office)
	clear(pemKey)
	return s, err
}

// releaseSigner signs the releases published from the console as
// cmdPublish signs its own: the key of GOVSURVEY_SIGNING_KEY_FILE, else
// the installation's; the office of GOVSURVEY_OFFICE, else the form's
// settings column 'publisher'.
func (a *app) releaseSigner(st *secureStore) func(*form.Form) (*publish.Signer, error) {
	keyFile, office := envOr("GOVSURVEY_SIGNING_KEY_FILE", ""), envOr("GOVSURVEY_OFFICE", "")
	return func(f *form.Form) (*publish.Signer, error) { return a.publishSigner(st, f, keyFile, office) }
}
