package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sync"
	"time"

	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
)

// What serve and demo add for security: the keys (required to serve), the
// accounts, TLS, and the jobs beside the server (retention, audit
// checkpoints).

type securitySettings struct {
	initKeys         *bool
	tlsCert, tlsKey  *string
	exportAlertRows  *int
	retentionDefault *int
}

func securityFlags(fs *flag.FlagSet) securitySettings {
	return securitySettings{
		initKeys: fs.Bool("init-keys", false, "on first start with the embedded store and no master key configured, "+
			"create master.key beside the database (fine for trying out; in production keep the key elsewhere)"),
		tlsCert:          fs.String("tls-cert", envOr("GOVSURVEY_TLS_CERT", ""), "PEM certificate (chain) file: serve HTTPS"),
		tlsKey:           fs.String("tls-key", envOr("GOVSURVEY_TLS_KEY", ""), "PEM private key file of --tls-cert"),
		exportAlertRows:  fs.Int("export-alert-rows", 100000, "alert when one user exports more rows than this in a day (0: never)"),
		retentionDefault: fs.Int("retention-default-days", 0, "erase personal data after this many days for forms that set no retention_days (0: keep)"),
	}
}

func (s securitySettings) check() error {
	if (*s.tlsCert == "") != (*s.tlsKey == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	if *s.exportAlertRows < 0 || *s.retentionDefault < 0 {
		return usagef("--export-alert-rows and --retention-default-days cannot be negative")
	}
	return nil
}

// serverSecurity opens the keys a server needs (refusing to run without a
// master key, so that personal answers are never refused at submission
// time) and the accounts over the store.
func (a *app) serverSecurity(ctx context.Context, raw store.Store, initKeys bool) (*secureStore, *security.Accounts, error) {
	if initKeys {
		if err := a.initMasterKey(); err != nil {
			return nil, nil, err
		}
	}
	st, err := a.secure(ctx, raw)
	if err != nil {
		return nil, nil, err
	}
	if err := st.requireKeys(); err != nil {
		return nil, nil, err
	}
	st.actor = "system"
	// The login throttle lives in the database: serve nodes sharing it
	// give an attacker one budget, not one each (docs/operations.md).
	throttle := security.NewStoreThrottle(st, st.keys.Pseudonym, security.DefaultThrottlePolicy(), nil)
	accounts, err := security.NewAccounts(st, security.AccountOptions{Audit: st.audit, Throttle: throttle})
	if err != nil {
		return nil, nil, err
	}
	return st, accounts, nil
}

// Intervals of the jobs beside the server.
const (
	retentionEvery  = time.Hour
	checkpointEvery = 10 * time.Minute
	// A quota slot whose submission was never stored (a commit that
	// failed, a client that never retried) goes back after quotaGrace,
	// far longer than any commit takes.
	quotaReconcileEvery = 5 * time.Minute
	quotaGrace          = 10 * time.Minute
)

// securityJobs runs retention, audit checkpoints and the quota
// reconciliation until ctx ends; the returned function waits for them and
// writes the shutdown checkpoint.
func (a *app) securityJobs(ctx context.Context, st *secureStore, retentionDefault int) (stop func()) {
	var wg sync.WaitGroup
	wg.Go(func() {
		run := func() {
			// One node at a time on a shared database (docs/operations.md).
			_, err := store.RunExclusive(ctx, st.Unwrap(), "retention", func(ctx context.Context) error {
				res, err := security.ApplyRetention(ctx, st, st.audit, "system", retentionDefault, time.Now())
				for _, r := range res {
					if r.Erased > 0 {
						a.log.Info("retention: personal data erased", "form", r.FormID, "days", r.Days, "responses", r.Erased)
					}
				}
				return err
			})
			if err != nil && ctx.Err() == nil {
				a.log.Error("retention failed", "err", err)
			}
		}
		run()
		everyTick(ctx, retentionEvery, run)
	})
	wg.Go(func() {
		everyTick(ctx, quotaReconcileEvery, func() {
			_, err := store.RunExclusive(ctx, st.Unwrap(), "quota-reconcile", func(ctx context.Context) error {
				n, err := st.Unwrap().ReleaseStaleQuotas(ctx, time.Now(), quotaGrace)
				if n > 0 {
					a.log.Info("quotas: slots of submissions never stored freed", "slots", n, "grace", quotaGrace)
				}
				return err
			})
			if err != nil && ctx.Err() == nil {
				a.log.Error("quota reconciliation failed", "err", err)
			}
		})
	})
	wg.Go(func() {
		everyTick(ctx, checkpointEvery, func() {
			if err := st.audit.Checkpoint(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("audit checkpoint failed", "err", err)
			}
		})
	})
	wg.Go(func() { a.reloadKeysEvery(ctx, st, keyringReloadEvery) })
	return func() {
		wg.Wait()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := st.audit.Checkpoint(shutdown); err != nil {
			a.log.Error("audit checkpoint at shutdown failed", "err", err)
		}
	}
}

// everyTick calls fn every interval until ctx ends.
func everyTick(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// demoUser is the demo's staff account: every role but admin, so that
// every console page and export can be tried.
const demoUser = "demo"

// demoAccount makes the demo's account on first start and returns the
// line to print: the password is shown then, and never stored in the
// clear.
func demoAccount(ctx context.Context, st *secureStore, accounts *security.Accounts) (string, error) {
	_, err := st.User(ctx, demoUser)
	switch {
	case err == nil:
		return fmt.Sprintf("login: %s (password as printed at first start; 'govsurvey user passwd %s' sets a new one)", demoUser, demoUser), nil
	case !errors.Is(err, store.ErrNotFound):
		return "", err
	}
	pw := generatePassword(demoUser)
	roles := []security.Role{security.RoleDesigner, security.RoleAnalyst, security.RoleDataOfficer, security.RoleAuditor, security.RolePublisher}
	if err := accounts.AddUser(ctx, "system", demoUser, roles, pw); err != nil {
		return "", err
	}
	return fmt.Sprintf("login: %s / %s (shown once)", demoUser, pw), nil
}
