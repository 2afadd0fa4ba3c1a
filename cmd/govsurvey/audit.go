package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
)

const auditUsage = `usage: govsurvey audit verify [--public-key FILE]...
       govsurvey audit export --out FILE (- for standard output)
       govsurvey audit public-key`

// cmdAudit verifies and exports the audit log.
func cmdAudit(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usagef("%s", auditUsage)
	}
	switch args[0] {
	case "verify":
		return auditVerify(ctx, a, args[1:])
	case "export":
		return auditExport(ctx, a, args[1:])
	case "public-key":
		return auditPublicKey(ctx, a, args[1:])
	}
	return usagef("unknown audit subcommand %q\n%s", args[0], auditUsage)
}

// stringsFlag collects a repeated flag.
type stringsFlag []string

func (s *stringsFlag) String() string     { return fmt.Sprint(*s) }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

// auditVerify checks the chain and the signed checkpoints. The keys that
// vouch for checkpoints are, in order of trust: --public-key files (kept
// by the auditor, off the database), else the signing key opened with the
// master key, else the public key stored in the database, which a rogue
// DBA could have replaced, and the output says so.
func auditVerify(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("audit verify")
	var keyFiles stringsFlag
	fs.Var(&keyFiles, "public-key", "PEM file of an SM2 public key that may have signed checkpoints (repeatable)")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("%s", auditUsage)
	}
	st, err := a.openSecure(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	var keys []*security.AuditVerifier
	var source string
	switch {
	case len(keyFiles) > 0:
		for _, path := range keyFiles {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			v, err := security.ParseAuditVerifier(b)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			keys = append(keys, v)
		}
		source = "the given public key"
	case st.keys != nil:
		keys = append(keys, st.keys.Audit.Verifier())
		source = "the signing key opened with the master key"
	default:
		v, err := security.StoredAuditVerifier(ctx, st)
		if errors.Is(err, store.ErrNotFound) {
			return errors.New("no audit public key: pass --public-key FILE or configure the master key")
		}
		if err != nil {
			return err
		}
		keys = append(keys, v)
		source = "the public key stored in the database (pass --public-key for a check independent of it)"
	}
	rep, err := security.VerifyAudit(ctx, st, keys...)
	var ce *security.ChainError
	if errors.As(err, &ce) {
		fmt.Fprintf(a.stdout, "audit log ALTERED: %d entries, %d checkpoints, checked against %s\n", rep.Entries, rep.Checkpoints, source)
		for _, p := range ce.Problems {
			fmt.Fprintf(a.stdout, "  %s\n", p)
		}
		return fmt.Errorf("audit verify: %d problems found", len(ce.Problems))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "audit log intact: %d entries (last seq %d), %d checkpoints, checked against %s\n",
		rep.Entries, rep.LastSeq, rep.Checkpoints, source)
	if rep.Unsigned > 0 {
		fmt.Fprintf(a.stdout, "%d entries after the last checkpoint are protected by the hash chain only\n", rep.Unsigned)
	}
	return nil
}

// auditExport writes the log as JSON lines for an external archive. The
// export is audited, and checkpointed first, so the archive ends signed.
func auditExport(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("audit export")
	out := fs.String("out", "", "file to write (required; - for standard output)")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *out == "" {
		return usagef("%s", auditUsage)
	}
	st, err := a.openSecure(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.record(ctx, security.ActionAuditExport, "audit", security.OutcomeOK, "to "+filepath.Base(*out)); err != nil {
		return err
	}
	if st.keys != nil {
		if err := st.audit.Checkpoint(ctx); err != nil {
			return err
		}
	}
	if *out == "-" {
		_, err := security.ExportAudit(ctx, st, a.stdout)
		return err
	}
	n, err := writeFileAtomically(*out, func(w io.Writer) (int, error) { return security.ExportAudit(ctx, st, w) })
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "wrote %d audit entries and their checkpoints to %s\n", n, *out)
	return nil
}

// writeFileAtomically writes through a temporary file beside path and
// renames it into place, so a failure never leaves a truncated file.
func writeFileAtomically(path string, write func(io.Writer) (int, error)) (int, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".govsurvey-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	n, err := write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, err
	}
	return n, os.Rename(tmp.Name(), path)
}

func auditPublicKey(ctx context.Context, a *app, args []string) error {
	st, err := a.openKeyed(ctx, a.newFlags("audit public-key"), args, auditUsage)
	if err != nil {
		return err
	}
	defer st.Close()
	pemBytes, err := st.keys.Audit.Verifier().MarshalPEM()
	if err != nil {
		return err
	}
	_, err = a.stdout.Write(pemBytes)
	return err
}

const retentionUsage = `usage: govsurvey retention run [--default-days N]`

// cmdRetention erases personal data past each form's retention_days.
func cmdRetention(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 || args[0] != "run" {
		return usagef("%s", retentionUsage)
	}
	fs := a.newFlags("retention run")
	def := fs.Int("default-days", 0, "retention of forms that set no retention_days (0: keep)")
	pos, err := a.parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 || *def < 0 {
		return usagef("%s", retentionUsage)
	}
	st, err := a.openSecure(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := security.ApplyRetention(ctx, st, st.audit, st.actor, *def, time.Now())
	for _, r := range res {
		fmt.Fprintf(a.stdout, "form %s: retention %d days: personal data of %d responses submitted before %s erased\n",
			r.FormID, r.Days, r.Erased, r.Before.UTC().Format(time.RFC3339))
	}
	if err != nil {
		return err
	}
	if len(res) == 0 {
		fmt.Fprintln(a.stdout, "no form sets retention_days: nothing to do")
	}
	return nil
}
