package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/govsurvey/govsurvey/collect"
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
	writeJSONHeader(w, status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		s.log.Debug("writing response", "err", err)
	}
}

// writeJSONHeader writes the headers every JSON answer carries, from
// shared values (no allocation), and the status.
func writeJSONHeader(w http.ResponseWriter, status int) {
	h := w.Header()
	h["Content-Type"] = jsonTypeValue
	h["X-Content-Type-Options"] = nosniffValue
	h["Cache-Control"] = noStoreValue
	w.WriteHeader(status)
}

func (s *Server) writeError(w http.ResponseWriter, status int, code, message, field string) {
	s.writeJSON(w, status, apiError{Error: apiErrorBody{Code: code, Message: message, Field: field}})
}

// fail maps an error to its HTTP status in one place; server errors are
// logged with the request, never shown in detail to the caller. Messages
// a respondent may read are in the request's language (apiLang).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		field  *collect.FieldError
		bad    *collect.BadRequestError
		closed *collect.ClosedError
	)
	l := apiLang(r)
	switch {
	case errors.As(err, &field):
		s.writeError(w, http.StatusUnprocessableEntity, field.Code, field.Message(l), field.Field)
	case errors.As(err, &bad):
		s.writeError(w, http.StatusBadRequest, "bad_request", bad.Msg, "")
	case errors.As(err, &closed):
		code := "form_closed"
		if closed.NotYet {
			code = "form_not_open"
		}
		s.writeError(w, http.StatusForbidden, code, closedMessage(closed, l), "")
	case errors.Is(err, collect.ErrBadReceipt):
		s.writeError(w, http.StatusBadRequest, "bad_receipt", ui[l]["withdraw_bad"], "receipt")
	case errors.Is(err, store.ErrNotFound):
		s.writeError(w, http.StatusNotFound, "not_found", "not found", "")
	case errors.Is(err, collect.ErrBusy), errors.Is(err, collect.ErrClosed):
		// Retrying is safe: the same instance_id is stored at most once.
		w.Header().Set("Retry-After", "1")
		s.writeError(w, http.StatusServiceUnavailable, "busy",
			"服务器繁忙，请稍后重试。The server is busy; please try again.", "")
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads this answer.
		s.writeError(w, http.StatusServiceUnavailable, "canceled", "request canceled", "")
	case store.DiskFull(err):
		// Nothing was acknowledged; the operator must free space (logged).
		s.log.LogAttrs(r.Context(), slog.LevelError, "database disk full",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		w.Header().Set("Retry-After", "60")
		s.writeError(w, http.StatusInsufficientStorage, "storage_full",
			"服务器存储空间不足，请稍后重试。The server is out of storage; please try again later.", "")
	case store.Unavailable(err):
		// The database is away (restart, failover); the node reconnects by
		// itself and a retry of the same instance_id is safe.
		s.log.LogAttrs(r.Context(), slog.LevelError, "database unavailable",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		w.Header().Set("Retry-After", "5")
		s.writeError(w, http.StatusServiceUnavailable, "unavailable",
			"服务暂时不可用，请稍后重试。The service is temporarily unavailable; please try again.", "")
	default:
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		s.writeError(w, http.StatusInternalServerError, "internal", "internal server error", "")
	}
}
