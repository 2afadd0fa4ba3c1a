package web

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/govsurvey/govsurvey/store"
)

// apiError is the body of every HTTP error (CONTRACTS.md §8).
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		s.log.Debug("writing response", "err", err)
	}
}

func (s *Server) writeError(w http.ResponseWriter, status int, code, message, field string) {
	s.writeJSON(w, status, apiError{Error: apiErrorBody{Code: code, Message: message, Field: field}})
}

// fail maps an error to its HTTP status in one place; server errors are
// logged with the request, never shown in detail to the caller.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.writeError(w, http.StatusNotFound, "not_found", "not found", "")
	default:
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		s.writeError(w, http.StatusInternalServerError, "internal", "internal server error", "")
	}
}
