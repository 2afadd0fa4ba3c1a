package web

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// Readiness for load balancers (docs/operations.md): /healthz says the
// process answers (liveness: restart it if not); /readyz says this node
// can serve, which it cannot while its database is unreachable: the
// balancer should send requests to other nodes meanwhile, without
// restarting this one, which recovers by itself when the database is back.

// readyTimeout bounds the database check, so that a hung connection makes
// the node unready rather than hanging the balancer's probe.
const readyTimeout = 2 * time.Second

func (s *Server) routesReady() {
	s.public("GET /readyz", s.readyz)
}

// readyz serves GET /readyz: 200 when the store answers a query, else 503
// with a JSON error and Retry-After.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	w.Header().Set("Cache-Control", "no-store")
	if err := s.st.Ping(ctx); err != nil {
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "not ready: database unreachable", slog.Any("err", err))
		w.Header().Set("Retry-After", "5")
		s.writeError(w, http.StatusServiceUnavailable, "unavailable", "database unreachable", "")
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "version": s.version})
}
