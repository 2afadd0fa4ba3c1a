// Package web is the HTTP side of govsurvey: the route table, the
// respondent web form and its API (submissions, withdrawals), and, later,
// the console. It wires the other packages together and is imported by
// nothing but cmd.
package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strconv"
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
	// PseudonymKey keys the client and rate-limit pseudonyms; nil: the
	// key kept in the store, generated there at first start.
	PseudonymKey *security.PseudonymKey
	// MaxBody bounds a submission's body (default 64 KiB): beyond it, 413.
	MaxBody int64
	// RealIPHeader names the header holding the client address when a
	// reverse proxy sits in front ("X-Real-IP", "X-Forwarded-For"); empty:
	// the connection's address. Only the rate limits use it.
	RealIPHeader string
	// SecureCookies marks the client cookie Secure (behind a TLS proxy).
	SecureCookies bool
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

	version  string
	pages    *template.Template
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	mux      *http.ServeMux
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
	collector, err := collect.NewCollector(co)
	if err != nil {
		return nil, err
	}
	s := &Server{
		st:            opts.Store,
		forms:         forms,
		collector:     collector,
		assets:        as,
		maxBody:       opts.MaxBody,
		realIPHeader:  opts.RealIPHeader,
		secureCookies: opts.SecureCookies,
		log:           opts.Logger,
		version:       opts.Version,
		pages:         pages,
		registry:      prometheus.NewRegistry(),
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
		s.requests, s.latency,
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
	return s, nil
}

// routes is the whole route table, in one place.
func (s *Server) routes() {
	s.handle("GET /healthz", s.healthz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	s.handle("GET /{$}", s.home)
	s.handle("GET /f/{form_id}", s.formPage)
	s.handle("GET /withdraw", s.withdrawPage)
	s.handle("POST /withdraw", s.withdrawPage)
	s.handle("GET /assets/{name}", s.asset)
	s.handle("POST /api/v1/forms/{form_id}/submissions", s.submit)
	s.handle("DELETE /api/v1/receipts/{receipt}", s.withdrawAPI)
	s.handle("/api/v1/forms/{form_id}/submissions", s.methodNotAllowed("POST"))
	s.handle("/api/v1/receipts/{receipt}", s.methodNotAllowed("DELETE"))
	s.handle("/", s.notFound)
}

// Close stores the submissions still queued for group commit. Call it
// after the HTTP server has shut down.
func (s *Server) Close() { s.collector.Close() }

// Collector is the server's submission collector (for benchmarks and
// tests that look at group commit).
func (s *Server) Collector() *collect.Collector { return s.collector }

// handle registers h under pattern with metrics and panic recovery.
func (s *Server) handle(pattern string, h http.HandlerFunc) {
	s.mux.Handle(pattern, s.instrument(pattern, h))
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

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
			s.requests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
			s.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
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
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      10 * time.Minute, // exports stream for a while
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if ready != nil {
		ready("http://" + ln.Addr().String())
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
