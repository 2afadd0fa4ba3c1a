// Package web is the HTTP side of govsurvey: the route table, the
// respondent web form and its API (submissions, withdrawals), staff login,
// the console and the staff API, each staff route with the permission it
// needs, and the hardening around them all (security headers, CSRF
// refusal, limits, TLS). It wires the other packages together and is
// imported by nothing but cmd.
package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
)

// Options configure a Server.
type Options struct {
	Store   store.Store
	Logger  *slog.Logger
	Version string // govsurvey's own version, shown in /healthz and metrics
	// Collect configures submissions. Store, Forms, Logger and
	// PseudonymKey are filled in by New.
	Collect collect.Options
	// PseudonymKey keys the client and rate-limit pseudonyms (serve passes
	// the installation's sealed key, security.Keys); nil, for tests and
	// benchmarks only: a key kept in the store in the clear, generated
	// there at first start, which security.OpenKeys later seals.
	PseudonymKey *security.PseudonymKey
	// MaxBody bounds a submission's body (default 64 KiB): beyond it, 413.
	MaxBody int64
	// RealIPHeader names the header holding the client address when a
	// reverse proxy sits in front ("X-Real-IP", "X-Forwarded-For"); empty:
	// the connection's address. Only the rate limits use it.
	RealIPHeader string
	// SecureCookies marks the client and session cookies Secure (behind a
	// TLS proxy; TLS sets it too).
	SecureCookies bool
	// TLS says the server is reached over HTTPS: cookies are Secure and
	// HSTS is sent.
	TLS bool

	// Staff access. Without Accounts every staff route answers 401.
	Accounts *security.Accounts
	// Audit records staff actions and withdrawals; nil: withdrawals are
	// only logged, and staff routes that must audit fail.
	Audit *security.AuditLog
	// AuditVerifier checks checkpoints for GET /api/v1/audit/verify.
	AuditVerifier *security.AuditVerifier
	// Sealing is the store's sealing view (Store is usually Sealing
	// itself): personal exports read its Joined view. Nil: no personal
	// export.
	Sealing *security.SealingStore
	// ExportAlertRows raises an export volume alert when one user exports
	// more rows than this in a day (0: never).
	ExportAlertRows int
	// PublicURL is the respondents' address of the server
	// ("https://survey.example.gov.cn", a path prefix allowed): the
	// console's share link and QR code use it instead of the host the
	// staff member's browser reached. Empty: that host.
	PublicURL string
	// ReleaseSigner signs the releases published from the console
	// (console_open.go); nil: the console cannot publish.
	ReleaseSigner ReleaseSigner
}

// Server answers govsurvey's HTTP routes.
type Server struct {
	st        store.Store
	forms     *collect.Forms
	collector *collect.Collector
	assets    *assets
	log       *slog.Logger

	maxBody       int64
	realIPHeader  string
	secureCookies bool
	tls           bool

	table           []route // every registered route, public or staff
	accounts        *security.Accounts
	auditLog        *security.AuditLog
	auditKey        *security.AuditVerifier
	sealing         *security.SealingStore
	pseudonymKey    security.PseudonymKey
	exportAlertRows int
	releaseSigner   ReleaseSigner
	exportAlerts    prometheus.Counter
	handler         http.Handler // mux, hardened

	version  string
	pages    *template.Template
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	mux      *http.ServeMux

	starts    *startCounter // the start beacon's counts not yet stored (console_starts.go)
	publicURL string        // Options.PublicURL
}

// New builds a Server; templates are parsed here, once.
func New(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	as, err := loadAssets()
	if err != nil {
		return nil, err
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 64 << 10
	}
	if opts.Accounts != nil && opts.Audit == nil {
		return nil, errors.New("web: staff accounts need the audit log (Options.Audit)")
	}
	forms := collect.NewForms(opts.Store)
	co := opts.Collect
	co.Store, co.Forms = opts.Store, forms
	if co.Logger == nil {
		co.Logger = opts.Logger
	}
	if opts.PseudonymKey != nil {
		co.PseudonymKey = *opts.PseudonymKey
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		co.PseudonymKey, err = collect.PseudonymKey(ctx, opts.Store)
		cancel()
		if err != nil {
			return nil, err
		}
	}
	if co.Withdrawn == nil && opts.Audit != nil {
		audit := opts.Audit
		co.Withdrawn = func(ctx context.Context, r store.Response) {
			// The respondent is anonymous: the object names the response.
			if _, err := audit.Record(context.WithoutCancel(ctx), security.AuditEvent{Actor: "respondent",
				Action: security.ActionWithdraw, Object: "form:" + r.FormID + "/" + r.InstanceID, Outcome: security.OutcomeOK}); err != nil {
				opts.Logger.Error("audit of a withdrawal failed", "form", r.FormID, "err", err)
			}
		}
	}
	collector, err := collect.NewCollector(co)
	if err != nil {
		return nil, err
	}
	s := &Server{
		st:              opts.Store,
		forms:           forms,
		collector:       collector,
		assets:          as,
		maxBody:         opts.MaxBody,
		realIPHeader:    opts.RealIPHeader,
		secureCookies:   opts.SecureCookies || opts.TLS,
		tls:             opts.TLS,
		accounts:        opts.Accounts,
		auditLog:        opts.Audit,
		auditKey:        opts.AuditVerifier,
		sealing:         opts.Sealing,
		pseudonymKey:    co.PseudonymKey,
		exportAlertRows: opts.ExportAlertRows,
		publicURL:       opts.PublicURL,
		releaseSigner:   opts.ReleaseSigner,
		exportAlerts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "govsurvey_export_alerts_total",
			Help: "Times a user's exported rows in a day passed the alert threshold.",
		}),
		log:      opts.Logger,
		version:  opts.Version,
		pages:    pages,
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "govsurvey_http_requests_total",
			Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "govsurvey_http_request_duration_seconds",
			Help:    "HTTP request latency by route.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		mux: http.NewServeMux(),
	}
	s.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		s.requests, s.latency, s.exportAlerts,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "govsurvey_build_info",
			Help:        "Always 1; the version label names the running govsurvey.",
			ConstLabels: prometheus.Labels{"version": opts.Version},
		}, func() float64 { return 1 }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "govsurvey_submissions_stored_total",
			Help: "Submissions in committed group-commit transactions (re-submissions included).",
		}, func() float64 { return float64(collector.CommitStats().Responses.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "govsurvey_commit_batches_total",
			Help: "Group-commit transactions tried.",
		}, func() float64 { return float64(collector.CommitStats().Batches.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "govsurvey_commit_seconds_total",
			Help: "Time spent committing group-commit transactions.",
		}, func() float64 { return float64(collector.CommitStats().CommitNS.Load()) / 1e9 }),
	)
	s.routes()
	s.handler = s.harden(s.mux)
	return s, nil
}

// routes is the whole route table, in one place. A staff route names the
// permission it needs (security/roles.go says which role has it); one gate,
// authorize, enforces it, and TestRouteTable walks this table.
func (s *Server) routes() {
	metrics := promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})
	s.public("GET /healthz", s.healthz)
	// GET /readyz for load balancers (readyz.go).
	s.routesReady()
	s.public("GET /metrics", metrics.ServeHTTP) // operators: firewall it (SECURITY.md)
	s.public("GET /{$}", s.home)
	s.public("GET /f/{form_id}", s.formPage)
	s.public("GET /withdraw", s.withdrawPage)
	s.public("POST /withdraw", s.withdrawPage)
	s.public("GET /assets/{name}", s.asset)
	s.public("POST /api/v1/forms/{form_id}/submissions", s.submit)
	s.public("DELETE /api/v1/receipts/{receipt}", s.withdrawAPI)
	s.public("/api/v1/forms/{form_id}/submissions", s.methodNotAllowed("POST"))
	s.public("/api/v1/receipts/{receipt}", s.methodNotAllowed("DELETE"))
	s.public("GET /login", s.loginPage)
	s.public("POST /login", s.login)

	s.staff("POST /logout", "", s.logout)
	s.staff("GET /console", security.PermFormsRead, s.console)
	s.staff("GET /console/forms/{form_id}", security.PermFormsRead, s.consoleForm)
	s.staff("GET /api/v1/forms", security.PermFormsRead, s.listForms)
	s.staff("GET /api/v1/forms/{form_id}", security.PermFormsRead, s.getForm)
	// The personal variant (?personal=1) needs PermResponsesExportPersonal
	// besides, checked and audited in the handler.
	s.staff("GET /api/v1/forms/{form_id}/responses", security.PermResponsesExport, s.exportResponses)
	s.staff("GET /api/v1/audit/verify", security.PermAuditRead, s.verifyAudit)
	s.staff("GET /api/v1/audit/export", security.PermAuditExport, s.exportAudit)
	// GET /api/v1/forms/{form_id}/analysis (CONTRACTS.md §8) joins this
	// table with the statistics work, as a staff route needing
	// security.PermAnalysisRead.
	s.routesAnalysis() // analysis, cleaning and analyst exports (api_analysis.go)

	s.routesConsole() // console_routes.go
	s.routesOpen()    // open data: release pages, downloads, the keyed API (open.go)
	s.routesConsoleOpen()
	s.routesConsoleAdmission() // invitations and quotas (console_admission.go)
	s.public("/", s.notFound)
}

// Close stores the submissions still queued for group commit, and the
// starts counted since the last write. Call it after the HTTP server has
// shut down.
func (s *Server) Close() {
	s.collector.Close()
	s.starts.Close()
}

// Collector is the server's submission collector (for benchmarks and
// tests that look at group commit).
func (s *Server) Collector() *collect.Collector { return s.collector }

// handle registers h under pattern with metrics and panic recovery.
func (s *Server) handle(pattern string, h http.HandlerFunc) {
	s.mux.Handle(pattern, s.instrument(pattern, h))
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (s *Server) instrument(route string, h http.HandlerFunc) http.Handler {
	// The route's series, looked up once here rather than by label on
	// every request; the counters by status as they first occur.
	latency := s.latency.WithLabelValues(route)
	var byStatus sync.Map // int → prometheus.Counter
	count := func(status int) {
		c, ok := byStatus.Load(status)
		if !ok {
			c, _ = byStatus.LoadOrStore(status, s.requests.WithLabelValues(route, strconv.Itoa(status)))
		}
		c.(prometheus.Counter).Inc()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p))
				if rec.status == 0 {
					s.writeError(rec, http.StatusInternalServerError, "internal", "internal server error", "")
				}
			}
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			count(rec.status)
			latency.Observe(time.Since(start).Seconds())
		}()
		h(rec, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.version})
}

// methodNotAllowed answers 405 on an API path called with the wrong
// method; without it the catch-all route would say 404.
func (s *Server) methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		s.writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use "+allow, "")
	}
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, http.StatusNotFound, "not_found", "no such page: "+r.URL.Path, "")
}

// Run serves h on addr until ctx is done, then shuts down gracefully,
// letting requests in flight finish (up to 15 s). ready, if not nil, is
// called with the base URL once the listener is open.
func Run(ctx context.Context, addr string, h http.Handler, log *slog.Logger, ready func(url string)) error {
	return RunTLS(ctx, addr, TLSFiles{}, h, log, ready)
}

// TLSFiles name a PEM certificate (chain) and its private key.
type TLSFiles struct{ Cert, Key string }

// RunTLS is Run over HTTPS when files names a certificate and key (TLS 1.2
// at least), and plain HTTP when it is empty.
func RunTLS(ctx context.Context, addr string, files TLSFiles, h http.Handler, log *slog.Logger, ready func(url string)) error {
	return RunTimeouts(ctx, addr, files, DefaultTimeouts(), h, log, ready)
}

// RunTimeouts is RunTLS with the connection timeouts t.
func RunTimeouts(ctx context.Context, addr string, files TLSFiles, t Timeouts, h http.Handler, log *slog.Logger, ready func(url string)) error {
	var cfg *tls.Config
	scheme := "http://"
	if files.Cert != "" || files.Key != "" {
		cert, err := tls.LoadX509KeyPair(files.Cert, files.Key)
		if err != nil {
			return fmt.Errorf("web: TLS: %w", err)
		}
		cfg = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		scheme = "https://"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	srv := &http.Server{
		TLSConfig:         cfg,
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write, // exports stream for a while
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if ready != nil {
		ready(scheme + ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("web: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("web: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("web: %w", err)
	}
	return nil
}
