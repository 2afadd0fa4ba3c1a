package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/sample"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/web"
)

func cmdServe(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("serve")
	addr := fs.String("addr", envOr("GOVSURVEY_ADDR", "127.0.0.1:8080"), "address to listen on")
	sf := submissionFlags(fs)
	sec := securityFlags(fs)
	timeouts := timeoutFlags(fs)
	publicURL := publicURLFlag(fs)
	keepRaw := keepRawFlag(fs)
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("serve takes no arguments")
	}
	if err := sec.check(); err != nil {
		return err
	}
	opts := sf.options(a.cfg.DB)
	opts.Collect.KeepRaw = *keepRaw
	if opts.PublicURL, err = checkPublicURL(*publicURL); err != nil {
		return err
	}
	raw, err := store.Open(ctx, a.cfg.DB)
	if err != nil {
		return err
	}
	defer raw.Close()
	return serve(ctx, a, raw, *addr, opts, *timeouts, sec, nil)
}

// submissionSettings are serve's flags for the submission API.
type submissionSettings struct {
	ipRate, clientRate   *float64
	ipBurst, clientBurst *int
	realIP               *string
	secure               *bool
}

func submissionFlags(fs *flag.FlagSet) submissionSettings {
	return submissionSettings{
		ipRate:      fs.Float64("ip-rate", 1, "submissions a second per client address after the burst (0: no limit)"),
		ipBurst:     fs.Int("ip-burst", 60, "submissions at once per client address"),
		clientRate:  fs.Float64("client-rate", 1.0/60, "submissions a second per browser after the burst (0: no limit)"),
		clientBurst: fs.Int("client-burst", 10, "submissions at once per browser"),
		realIP:      fs.String("real-ip-header", envOr("GOVSURVEY_REAL_IP_HEADER", ""), "header with the client address set by a reverse proxy (e.g. X-Real-IP)"),
		secure:      fs.Bool("secure-cookies", false, "mark cookies Secure (when served over HTTPS by a proxy)"),
	}
}

func (s submissionSettings) options(dsn string) web.Options {
	limit := func(rate float64, burst int) collect.Limit {
		if rate <= 0 {
			return collect.Limit{Rate: -1}
		}
		return collect.Limit{Rate: rate, Burst: burst}
	}
	o := web.Options{
		RealIPHeader: *s.realIP, SecureCookies: *s.secure,
		Collect: collect.Options{
			IPLimit:     limit(*s.ipRate, *s.ipBurst),
			ClientLimit: limit(*s.clientRate, *s.clientBurst),
		},
	}
	// PostgreSQL commits several transactions at once; SQLite has one writer.
	if storeKind(dsn) == "postgresql" {
		o.Collect.Commit.Committers = 4
	}
	return o
}

// serve runs the server on raw, opened through the keys (a server needs
// the master key: see serverSecurity), with the retention and checkpoint
// jobs beside it. banner, if not nil, is told the URL and the store.
func serve(ctx context.Context, a *app, raw store.Store, addr string, opts web.Options, timeouts web.Timeouts, sec securitySettings,
	banner func(url string, st *secureStore, accounts *security.Accounts)) error {
	st, accounts, err := a.serverSecurity(ctx, raw, *sec.initKeys)
	if err != nil {
		return err
	}
	opts.Store, opts.Logger, opts.Version = st, a.log, version()
	opts.Sealing, opts.Accounts, opts.Audit = st.SealingStore, accounts, st.audit
	opts.AuditVerifier = st.keys.Audit.Verifier()
	opts.PseudonymKey = &st.keys.Pseudonym
	opts.ReleaseSigner = a.releaseSigner(st) // publishing from the console (publish.go)
	opts.ExportAlertRows = *sec.exportAlertRows
	if opts.Collect.KeepRaw {
		a.log.Info("keeping each submission's raw body, sealed (--keep-raw)")
	}
	files := web.TLSFiles{Cert: *sec.tlsCert, Key: *sec.tlsKey}
	opts.TLS = files.Cert != ""
	srv, err := web.New(opts)
	if err != nil {
		return err
	}
	jobs, stopJobs := context.WithCancel(ctx)
	waitJobs := a.securityJobs(jobs, st, *sec.retentionDefault)
	defer func() {
		stopJobs()
		waitJobs() // and the shutdown checkpoint, after the last request
	}()
	// After the listener has shut down: store what group commit holds.
	defer srv.Close()
	return web.RunTimeouts(ctx, addr, files, timeouts, srv, a.log, func(url string) {
		a.log.Info("listening", "url", url)
		if banner != nil {
			banner(url, st, accounts)
		}
	})
}

// cmdDemo makes a ready-to-look-at installation in ./govsurvey-data: the
// built-in 2019 forms and their 2018 waves with the seed plan's responses
// at 1/--demo-divisor of the seed report, cleaned, so that every console
// page has something to show (only the first time: an existing demo keeps
// its data), then serves it. --responses N instead loads N plain random
// responses into each 2019 form, with no 2018 wave and no cleaning.
func cmdDemo(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("demo")
	addr := fs.String("addr", envOr("GOVSURVEY_ADDR", "127.0.0.1:8080"), "address to listen on")
	dir := fs.String("data", "govsurvey-data", "directory of the demo's embedded database")
	n := fs.Int("responses", 0, "instead of the seed sample: this many random responses for each 2019 form, not cleaned")
	divisor := fs.Int("demo-divisor", 100, "seed sample size: the seed report's funnel divided by this (1: full size, 189,495 netizens)")
	sec := securityFlags(fs)
	publicURL := publicURLFlag(fs)
	keepRaw := keepRawFlag(fs)
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("demo takes no arguments")
	}
	if *divisor < 1 {
		return usagef("--demo-divisor must be at least 1")
	}
	pub, err := checkPublicURL(*publicURL)
	if err != nil {
		return err
	}
	if !flagSet(fs, "db") && os.Getenv("GOVSURVEY_DB") == "" {
		a.cfg.DB = "sqlite:" + filepath.Join(*dir, "govsurvey.db")
	}
	if err := sec.check(); err != nil {
		return err
	}
	// The demo makes its own master key, beside its database, the first
	// time (with the embedded store and none configured), so that its
	// sample responses are stored through the keys like any others.
	if err := a.initMasterKey(); err != nil {
		return err
	}
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	var loaded []demoLoaded
	if flagSet(fs, "responses") {
		err = loadDemo(ctx, a, st, *n)
	} else {
		loaded, err = loadSeedDemo(ctx, a, st, *divisor)
	}
	if err != nil {
		return err
	}
	opts := web.Options{PublicURL: pub, Collect: collect.Options{KeepRaw: *keepRaw}}
	return serve(ctx, a, st.Unwrap(), *addr, opts, web.DefaultTimeouts(), sec, func(url string, st *secureStore, accounts *security.Accounts) {
		login, err := demoAccount(ctx, st, accounts)
		if err != nil {
			a.log.Error("demo account", "err", err)
		}
		fmt.Fprintf(a.stdout, "\ngovsurvey demo is running / 演示已启动\n")
		for _, id := range form.Templates() {
			fmt.Fprintf(a.stdout, "  %s/f/%s\n", url, id)
		}
		printDemoLoaded(a.stdout, loaded, *divisor)
		fmt.Fprintf(a.stdout, "  console / 管理控制台: %s/console  %s\n", url, login)
		fmt.Fprintf(a.stdout, "  %s/metrics  %s/healthz\n", url, url)
		fmt.Fprintf(a.stdout, "The CLI works on %s. Press Ctrl-C to stop. 按 Ctrl-C 停止。\n", a.cfg.DB)
	})
}

func flagSet(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			found = true
		}
	})
	return found
}

func loadDemo(ctx context.Context, a *app, st store.Store, n int) error {
	for i, id := range form.Templates() {
		data, name, err := form.Template(id)
		if err != nil {
			return err
		}
		fv, f, created, err := collect.AddForm(ctx, st, name, data)
		if err != nil {
			return fmt.Errorf("demo: built-in form %s: %w", id, err)
		}
		if created {
			a.log.Info("form added", "form", fv.FormID, "revision", fv.Revision)
		}
		have, err := st.CountResponses(ctx, fv.FormID)
		if err != nil {
			return err
		}
		if have > 0 || n <= 0 {
			continue
		}
		g, err := sample.New(f, sample.Options{
			Seed: uint64(2019 + i), DuplicateRate: 0.02, SpeederRate: 0.03,
			Start: time.Date(2019, 7, 1, 0, 0, 0, 0, time.UTC),
		})
		if err != nil {
			return err
		}
		rs := make([]store.Response, 0, n)
		for range n {
			r := g.Next()
			enc, err := f.EncodeAnswers(r.Answers)
			if err != nil {
				return err
			}
			rs = append(rs, store.Response{
				FormID: fv.FormID, Revision: fv.Revision, InstanceID: r.InstanceID,
				Started: r.Started, Ended: r.Ended, SubmittedAt: r.SubmittedAt,
				Client: r.Client, Channel: "sample", Answers: enc,
			})
		}
		if _, err := st.AddResponses(ctx, rs); err != nil {
			return err
		}
		a.log.Info("sample responses added", "form", fv.FormID, "count", n)
	}
	return nil
}
