package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
)

// Key custody on the command line.
//
// The master key comes from GOVSURVEY_MASTER_KEY (the key itself) or
// GOVSURVEY_MASTER_KEY_FILE (a file holding it), never from a flag, so it
// stays out of shell history and process lists. With neither set and the
// embedded store, the file master.key beside the database is used if it
// exists: that is where 'govsurvey demo', 'govsurvey serve --init-keys'
// and 'govsurvey keys init' put a new key. A key kept beside the database
// does not protect a copy of the data directory, so production moves it
// elsewhere (see SECURITY.md). The key, the keyring and the other keys are
// never printed or logged; only check values are.

const (
	masterKeyEnv      = "GOVSURVEY_MASTER_KEY"
	masterKeyFileName = "master.key"
)

// errNoMasterKey explains what to do when there is no master key.
var errNoMasterKey = errors.New("no master key: set GOVSURVEY_MASTER_KEY_FILE (or GOVSURVEY_MASTER_KEY), " +
	"or create one with 'govsurvey keys init' (serve: --init-keys)")

// dataDir is the directory of the embedded database, "" for PostgreSQL.
func dataDir(dsn string) string {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return ""
	case strings.HasPrefix(dsn, "sqlite:"):
		return filepath.Dir(strings.TrimPrefix(dsn, "sqlite:"))
	default:
		return filepath.Dir(dsn)
	}
}

// masterKey loads the master key and says where it came from. It returns
// security.ErrKeyNotSet when none is configured.
func (a *app) masterKey() (security.MasterKey, string, error) {
	k, err := security.LoadMasterKey(os.LookupEnv, masterKeyEnv)
	switch {
	case err == nil:
		src := masterKeyEnv
		if _, ok := os.LookupEnv(masterKeyEnv + "_FILE"); ok {
			src = masterKeyEnv + "_FILE"
		}
		return k, src, nil
	case !errors.Is(err, security.ErrKeyNotSet):
		return security.MasterKey{}, "", err
	}
	dir := dataDir(a.cfg.DB)
	if dir == "" {
		return security.MasterKey{}, "", security.ErrKeyNotSet
	}
	path := filepath.Join(dir, masterKeyFileName)
	if _, err := os.Stat(path); err != nil {
		return security.MasterKey{}, "", security.ErrKeyNotSet
	}
	k, err = security.LoadMasterKey(func(name string) (string, bool) {
		return path, name == "K_FILE"
	}, "K")
	if err != nil {
		return security.MasterKey{}, "", fmt.Errorf("%s: %w", path, err)
	}
	return k, path, nil
}

// initMasterKey creates master.key beside the embedded database when no
// master key is configured at all, for the demo and a first serve.
func (a *app) initMasterKey() error {
	if _, _, err := a.masterKey(); !errors.Is(err, security.ErrKeyNotSet) {
		return err
	}
	dir := dataDir(a.cfg.DB)
	if dir == "" {
		return fmt.Errorf("--init-keys needs the embedded store; with PostgreSQL create a key with 'govsurvey keys init --out FILE' and set GOVSURVEY_MASTER_KEY_FILE")
	}
	_, err := a.writeMasterKey(filepath.Join(dir, masterKeyFileName))
	return err
}

func (a *app) writeMasterKey(path string) (security.MasterKey, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return security.MasterKey{}, err
	}
	k, err := security.GenerateMasterKey()
	if err != nil {
		return security.MasterKey{}, err
	}
	if err := security.WriteMasterKeyFile(path, k); err != nil {
		return security.MasterKey{}, err
	}
	a.log.Warn("created a new master key file: keep an offline copy, and in production move it out of the data directory",
		"path", path, "check", k.CheckValue())
	return k, nil
}

// secureStore is the store every command works on: responses are split
// and sealed on the way in, and keys, when a master key is configured,
// are open. Without a master key keys is nil: the store still works, and
// refuses to store or open personal answers (security.ErrNoKeyring).
type secureStore struct {
	*security.SealingStore
	keys  *security.Keys
	audit *security.AuditLog
	actor string // who the command acts as, for the audit log
}

// openSecure opens the configured database with its keys.
func (a *app) openSecure(ctx context.Context) (*secureStore, error) {
	raw, err := store.Open(ctx, a.cfg.DB)
	if err != nil {
		return nil, err
	}
	s, err := a.secure(ctx, raw)
	if err != nil {
		raw.Close()
		return nil, err
	}
	return s, nil
}

func (a *app) secure(ctx context.Context, raw store.Store) (*secureStore, error) {
	s := &secureStore{actor: cliActor()}
	master, src, err := a.masterKey()
	switch {
	case errors.Is(err, security.ErrKeyNotSet):
		s.SealingStore = security.NewSealingStore(raw, security.NewSealer(nil))
		s.audit = security.NewAuditLog(raw, nil, security.AuditOptions{})
		return s, nil
	case err != nil:
		return nil, err
	}
	var opts security.KeyOptions
	if pk, err := security.LoadPseudonymKey(os.LookupEnv, "GOVSURVEY_PSEUDONYM_KEY"); err == nil {
		opts.Pseudonym = &pk
	} else if !errors.Is(err, security.ErrKeyNotSet) {
		return nil, err
	}
	if path := os.Getenv("GOVSURVEY_AUDIT_KEY_FILE"); path != "" {
		pemBytes, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		signer, err := security.ParseAuditSigner(pemBytes)
		clear(pemBytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		opts.Audit = signer
	}
	keys, err := security.OpenKeys(ctx, raw, master, opts)
	if errors.Is(err, security.ErrWrongMasterKey) {
		return nil, fmt.Errorf("the master key from %s (check value %s) is not the one this database's keys are wrapped with", src, master.CheckValue())
	}
	if err != nil {
		return nil, err
	}
	s.keys = keys
	s.SealingStore = security.NewSealingStore(raw, keys.Sealer())
	s.SealingStore.ReloadOnUnknownKey(keys.Reload)
	s.audit = security.NewAuditLog(raw, keys.Audit, security.AuditOptions{})
	return s, nil
}

// requireKeys fails unless the master key is configured.
// openKeyed parses a command that takes flags only, then opens the store
// with its keys loaded. The caller closes the store.
func (a *app) openKeyed(ctx context.Context, fs *flag.FlagSet, args []string, usage string) (*secureStore, error) {
	pos, err := a.parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, usagef("%s", usage)
	}
	st, err := a.openSecure(ctx)
	if err != nil {
		return nil, err
	}
	if err := st.requireKeys(); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

func (s *secureStore) requireKeys() error {
	if s.keys == nil {
		return errNoMasterKey
	}
	return nil
}

// record audits a command-line action as s.actor.
func (s *secureStore) record(ctx context.Context, action, object, outcome, detail string) error {
	_, err := s.audit.Record(ctx, security.AuditEvent{Actor: s.actor, Action: action, Object: object, Outcome: outcome, Detail: detail})
	return err
}

// cliActor names whoever runs a command, for the audit log: the command
// line is the operator's (it holds the database and the master key), so
// its actions are recorded under the operating-system account.
func cliActor() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	return "cli:" + name
}

const keysUsage = `usage: govsurvey keys init [--out FILE]
       govsurvey keys status
       govsurvey keys rotate
       govsurvey keys rewrap --new-key-file FILE [--generate]`

// cmdKeys manages the installation's keys.
func cmdKeys(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usagef("%s", keysUsage)
	}
	switch args[0] {
	case "init":
		return keysInit(ctx, a, args[1:])
	case "status":
		return keysStatus(ctx, a, args[1:])
	case "rotate":
		return keysRotate(ctx, a, args[1:])
	case "rewrap":
		return keysRewrap(ctx, a, args[1:])
	}
	return usagef("unknown keys subcommand %q\n%s", args[0], keysUsage)
}

// keysInit creates a master key file and the keys it wraps.
func keysInit(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("keys init")
	out := fs.String("out", "", "where to write the new master key (default: master.key beside the embedded database)")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("%s", keysUsage)
	}
	if _, src, err := a.masterKey(); err == nil {
		return fmt.Errorf("a master key is already configured (%s); 'keys rewrap' replaces it", src)
	} else if !errors.Is(err, security.ErrKeyNotSet) {
		return err
	}
	path := *out
	if path == "" {
		dir := dataDir(a.cfg.DB)
		if dir == "" {
			return usagef("with PostgreSQL, say where the key goes: keys init --out FILE")
		}
		path = filepath.Join(dir, masterKeyFileName)
	}
	k, err := a.writeMasterKey(path)
	if err != nil {
		return err
	}
	raw, err := store.Open(ctx, a.cfg.DB)
	if err != nil {
		return err
	}
	defer raw.Close()
	keys, err := security.OpenKeys(ctx, raw, k, security.KeyOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "master key written to %s (check value %s); data key %d is current\n", path, k.CheckValue(), keys.Keyring().CurrentKeyID())
	if *out != "" {
		abs, _ := filepath.Abs(path)
		fmt.Fprintf(a.stdout, "use it with: GOVSURVEY_MASTER_KEY_FILE=%s\n", abs)
	}
	return nil
}

func keysStatus(ctx context.Context, a *app, args []string) error {
	st, err := a.openKeyed(ctx, a.newFlags("keys status"), args, keysUsage)
	if err != nil {
		return err
	}
	defer st.Close()
	_, src, _ := a.masterKey()
	kr := st.keys.Keyring()
	fmt.Fprintf(a.stdout, "master key: %s, check value %s\n", src, kr.MasterCheckValue())
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "data key\tcreated\tcurrent")
	for _, k := range kr.Keys() {
		cur := ""
		if k.Current {
			cur = "yes"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\n", k.ID, k.Created.UTC().Format(time.RFC3339), cur)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, "pseudonym key: present (sealed in the store, or from GOVSURVEY_PSEUDONYM_KEY)")
	fmt.Fprintln(a.stdout, "audit signing key: present; 'govsurvey audit public-key' prints its public half")
	return nil
}

func keysRotate(ctx context.Context, a *app, args []string) error {
	st, err := a.openKeyed(ctx, a.newFlags("keys rotate"), args, keysUsage)
	if err != nil {
		return err
	}
	defer st.Close()
	before := st.keys.Keyring().CurrentKeyID()
	id, err := st.keys.Rotate(ctx)
	if err != nil {
		st.record(ctx, security.ActionKeyRotate, "keyring", security.OutcomeFailed, "")
		return err
	}
	if err := st.record(ctx, security.ActionKeyRotate, "keyring", security.OutcomeOK, fmt.Sprintf("data key %d -> %d", before, id)); err != nil {
		return err
	}
	if err := st.audit.Checkpoint(ctx); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "data key %d is now current (was %d); stored answers keep their keys and stay readable\n", id, before)
	return nil
}

func keysRewrap(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("keys rewrap")
	newFile := fs.String("new-key-file", "", "file holding the new master key (required)")
	generate := fs.Bool("generate", false, "generate the new master key into --new-key-file (which must not exist)")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *newFile == "" {
		return usagef("%s", keysUsage)
	}
	st, err := a.openSecure(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.requireKeys(); err != nil {
		return err
	}
	var newMaster security.MasterKey
	if *generate {
		if newMaster, err = a.writeMasterKey(*newFile); err != nil {
			return err
		}
	} else {
		newMaster, err = security.LoadMasterKey(func(name string) (string, bool) { return *newFile, name == "K_FILE" }, "K")
		if err != nil {
			return fmt.Errorf("%s: %w", *newFile, err)
		}
	}
	old := st.keys.Keyring().MasterCheckValue()
	if newMaster.CheckValue() == old {
		return errors.New("the new master key is the current one")
	}
	if err := st.keys.Rewrap(ctx, newMaster); err != nil {
		st.record(ctx, security.ActionKeyRewrap, "keyring", security.OutcomeFailed, "")
		return err
	}
	if err := st.record(ctx, security.ActionKeyRewrap, "keyring", security.OutcomeOK,
		fmt.Sprintf("master %s -> %s", old, newMaster.CheckValue())); err != nil {
		return err
	}
	if err := st.audit.Checkpoint(ctx); err != nil {
		return err
	}
	abs, _ := filepath.Abs(*newFile)
	fmt.Fprintf(a.stdout, "the keys are now wrapped by the master key in %s (check value %s)\n", *newFile, newMaster.CheckValue())
	fmt.Fprintf(a.stdout, "set GOVSURVEY_MASTER_KEY_FILE=%s, restart every server, then destroy the old key (check value %s)\n", abs, old)
	return nil
}
