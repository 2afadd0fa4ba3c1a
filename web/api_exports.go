package web

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/govsurvey/govsurvey/clean"
	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/export"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
)

// exportFormats are the formats of GET /api/v1/forms/{form_id}/export.
var exportFormats = map[string]struct{ contentType, ext string }{
	"csv":      {"text/csv; charset=utf-8", "csv"},
	"xlsx":     {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"},
	"sav":      {"application/x-spss-sav", "sav"},
	"dta":      {"application/x-stata-dta", "dta"},
	"parquet":  {"application/vnd.apache.parquet", "parquet"},
	"codebook": {"text/markdown; charset=utf-8", "md"},
}

// exportAPI serves GET /api/v1/forms/{form_id}/export: the analyst
// formats (csv, xlsx, sav, dta, parquet, codebook), streamed. Only the
// valid responses of the last cleaning run, overrides applied, unless
// all=1, which exports every response with a validity column. Personal
// columns, as for /responses: personal=1 with the right and a purpose.
// Audited before the first byte and with the row count at the end; the
// rows count toward the export volume alert.
func (s *Server) exportAPI(w http.ResponseWriter, r *http.Request, p security.Principal) {
	q := r.URL.Query()
	format := q.Get("format")
	if format == "" {
		format = "csv"
	}
	ft, ok := exportFormats[format]
	if !ok {
		s.writeError(w, http.StatusBadRequest, "bad_format", "format is csv, xlsx, sav, dta, parquet or codebook", "format")
		return
	}
	codebookKind := "markdown"
	if format == "codebook" && q.Get("kind") == "html" {
		codebookKind = "html"
		ft.contentType, ft.ext = "text/html; charset=utf-8", "html"
	}
	all := isOn(q.Get("all"))
	ex, ok := s.openExport(w, r, p)
	if !ok {
		return
	}
	fv, f, src, personal := ex.fv, ex.f, ex.src, ex.personal
	verdict, err := s.exportVerdict(r.Context(), fv.FormID)
	if errors.Is(err, clean.ErrNotCleaned) {
		s.writeError(w, http.StatusConflict, "not_cleaned",
			"the form has not been cleaned yet: run cleaning first (POST /api/v1/forms/{form_id}/cleaning); exports hold the valid responses", "")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	verdict.KeepInvalid = all
	detail := "format=" + format
	if all {
		detail += " all=1"
	} else {
		detail += " valid_only"
	}
	if !s.startExport(w, r, ex, detail) {
		return
	}
	h := w.Header()
	h.Set("Content-Type", ft.contentType)
	h.Set("Content-Disposition", `attachment; filename="`+fv.FormID+"-export."+ft.ext+`"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	opts := export.Options{Format: format, IncludePersonal: personal, IncludeClient: personal, Cleaning: verdict,
		Language: q.Get("lang")}
	var rows int
	switch format {
	case "codebook":
		err = export.Codebook(r.Context(), src, fv, f, w, codebookKind, opts)
	case "csv", "xlsx":
		rows, err = s.exportTable(r.Context(), src, fv, f, w, format, personal, verdict)
	default:
		var res export.Result
		res, err = export.Export(r.Context(), src, fv, f, w, opts)
		rows = res.Rows
	}
	s.finishExport(r, ex, rows, err)
}

// exportVerdict is the last cleaning run's verdict, overrides applied
// (the command line's export uses the same).
func (s *Server) exportVerdict(ctx context.Context, formID string) (*export.Cleaning, error) {
	return export.Verdict(ctx, s.st, formID)
}

// exportTable writes §2 rows as CSV or XLSX under the verdict: valid
// responses only, or every response with valid and invalid_reasons.
func (s *Server) exportTable(ctx context.Context, src store.Store, fv store.FormVersion, f *form.Form, w io.Writer, format string, personal bool, verdict *export.Cleaning) (int, error) {
	opts := collect.ExportOptions{Format: format, IncludeClient: personal, IncludePersonal: personal}
	return export.Table(ctx, src, fv, f, w, opts, verdict)
}
