package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
)

// cmdBackup writes an online, consistent copy of the SQLite store
// (store.BackupSQLite). For PostgreSQL it prints the pg_dump procedure
// and fails, rather than pretend to have made a backup.
func cmdBackup(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("backup")
	out := fs.String("out", "", "file to write the backup to (required)")
	force := fs.Bool("force", false, "overwrite --out if it exists")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("backup takes no arguments")
	}
	if storeKind(a.cfg.DB) == "postgresql" {
		fmt.Fprint(a.stdout, store.PostgresBackupProcedure(a.cfg.DB))
		return errors.New("backup: nothing written: back up PostgreSQL with pg_dump as shown above")
	}
	if *out == "" {
		return usagef("backup needs --out FILE")
	}
	path := backupSQLitePath(a.cfg.DB)
	info, err := store.BackupSQLite(ctx, path, *out, *force)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "backed up %s to %s: %d bytes, integrity ok, schema version %d, %d forms, %d responses, %d secrets (wrapped keys)\n",
		path, info.Path, info.Bytes, info.SchemaVersion, info.Forms, info.Responses, info.Secrets)
	fmt.Fprintln(a.stdout, "The master key is not in the backup: keep a copy of it elsewhere; without it the personal answers cannot be read.")
	if keyFile := filepath.Join(dataDir(a.cfg.DB), masterKeyFileName); backupFileExists(keyFile) {
		fmt.Fprintf(a.stdout, "This installation's master key is %s: store it apart from the backup.\n", keyFile)
	}
	return nil
}

// cmdRestore puts a backup in place as the SQLite store at --db and checks
// that the configured master key opens its keyring.
func cmdRestore(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("restore")
	in := fs.String("in", "", "backup file to restore (required)")
	force := fs.Bool("force", false, "replace the database at --db if it exists (stop every server on it first)")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("restore takes no arguments")
	}
	if storeKind(a.cfg.DB) == "postgresql" {
		fmt.Fprint(a.stdout, store.PostgresBackupProcedure(a.cfg.DB))
		return errors.New("restore: nothing restored: restore PostgreSQL with pg_restore as shown above")
	}
	if *in == "" {
		return usagef("restore needs --in FILE")
	}
	path := backupSQLitePath(a.cfg.DB)
	info, err := store.RestoreSQLite(ctx, *in, path, *force)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "restored %s to %s: integrity ok, schema version %d, %d forms, %d responses\n",
		*in, path, info.SchemaVersion, info.Forms, info.Responses)
	return a.checkRestoredKeys(ctx)
}

// checkRestoredKeys opens the restored store's keyring with the master key
// configured now: a restore is only as good as the key that reads it.
func (a *app) checkRestoredKeys(ctx context.Context) error {
	master, src, err := a.masterKey()
	if errors.Is(err, security.ErrKeyNotSet) {
		fmt.Fprintln(a.stdout, "No master key configured: set GOVSURVEY_MASTER_KEY or GOVSURVEY_MASTER_KEY_FILE to the installation's key before serving.")
		return nil
	}
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, a.cfg.DB)
	if err != nil {
		return err
	}
	defer st.Close()
	wrapped, err := st.LookupSecret(ctx, security.SecretKeyring)
	if errors.Is(err, store.ErrNotFound) {
		fmt.Fprintln(a.stdout, "The backup holds no keyring (keys were never set up).")
		return nil
	}
	if err != nil {
		return err
	}
	kr, err := security.LoadWrapped(master, wrapped)
	if err != nil {
		return fmt.Errorf("restore: the database is restored, but the master key from %s does not open its keyring: %w", src, err)
	}
	kr.Destroy()
	fmt.Fprintf(a.stdout, "The master key from %s opens the restored keyring.\n", src)
	return nil
}

// backupSQLitePath is the file of a SQLite DSN ("sqlite:PATH" or a bare path).
func backupSQLitePath(dsn string) string { return strings.TrimPrefix(dsn, "sqlite:") }

func backupFileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
