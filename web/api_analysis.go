package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/govsurvey/govsurvey/clean"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/stats"
	"github.com/govsurvey/govsurvey/store"
)

// Analysis, cleaning and analyst exports over HTTP (issues 6, 7 and 11):
// the CONTRACTS.md §4 document of a form, the cleaning funnel and the
// flagged responses with overrides, the analyst export formats, and the
// console pages over them. Every route is staff-only, registered here and
// gated by authorize with the permission it names.

// routesAnalysis registers the routes of this file and its siblings
// (api_exports.go, console_cleaning.go, console_analysis.go).
func (s *Server) routesAnalysis() {
	s.staff("GET /api/v1/forms/{form_id}/analysis", security.PermAnalysisRead, s.analysisAPI)
	// POST: the same, with the margins (CONTRACTS.md §5 CSV) as the body,
	// or a console form with a margins field.
	s.staff("POST /api/v1/forms/{form_id}/analysis", security.PermAnalysisRead, s.analysisAPI)
	// Personal columns need PermResponsesExportPersonal besides, checked
	// and audited in the handler, as for /responses.
	s.staff("GET /api/v1/forms/{form_id}/export", security.PermResponsesExport, s.exportAPI)
	s.staff("GET /api/v1/forms/{form_id}/cleaning", security.PermResponsesClean, s.cleaningAPI)
	s.staff("POST /api/v1/forms/{form_id}/cleaning", security.PermResponsesClean, s.recleanAPI)
	s.staff("POST /api/v1/forms/{form_id}/overrides", security.PermResponsesClean, s.overrideAPI)
	s.staff("GET /console/forms/{form_id}/cleaning", security.PermResponsesClean, s.consoleCleaning)
	s.staff("POST /console/forms/{form_id}/cleaning", security.PermResponsesClean, s.consoleReclean)
	s.staff("GET /console/forms/{form_id}/analysis", security.PermAnalysisRead, s.consoleAnalysis)
	s.staff("POST /console/forms/{form_id}/analysis", security.PermAnalysisRead, s.consoleAnalysis)
	// The vendored ECharts (report/charts) and its licence, for the
	// analysis page's charts.
	s.staff("GET /console/assets/echarts.js", security.PermAnalysisRead, s.echartsJS)
	s.staff("GET /console/assets/echarts-licence.txt", security.PermAnalysisRead, s.echartsLicence)
}

// maxMargins bounds a margins body or field: a §5 file is a few lines per
// weighting field.
const maxMargins = 1 << 20

// paramError is a bad request parameter, answered 400 naming it.
type paramError struct {
	field, msg string
}

func (e *paramError) Error() string { return e.field + ": " + e.msg }

// analysisInput is one analysis request: the options as text, which rows
// to take, the format, and the margins when weighted.
type analysisInput struct {
	text        stats.OptionText
	all         bool   // every collected response, not only the valid ones
	format      string // json, csv or xlsx
	margins     []stats.MarginSpec
	marginsText string // as given, for the console to send again
	weighted    bool
}

// readAnalysisInput reads an analysis request. GET takes query parameters;
// POST takes a form (console: the parameters, "weights" on and a
// "margins" field) or a §5 CSV body with the parameters in the query.
func readAnalysisInput(w http.ResponseWriter, r *http.Request) (analysisInput, error) {
	var in analysisInput
	vals := r.URL.Query()
	var body string
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxMargins)
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch ct {
		case "application/x-www-form-urlencoded", "multipart/form-data":
			if err := r.ParseMultipartForm(maxMargins); err != nil && !errors.Is(err, http.ErrNotMultipart) {
				return in, &paramError{"margins", "the form could not be read: " + err.Error()}
			}
			vals = r.Form
			if isOn(vals.Get("weights")) {
				body = vals.Get("margins")
				if strings.TrimSpace(body) == "" {
					return in, &paramError{"margins", "weights are on but no margins were given (CONTRACTS.md §5: field,choice,share)"}
				}
			}
			in.marginsText = vals.Get("margins")
		default:
			b, err := io.ReadAll(r.Body)
			if err != nil {
				return in, &paramError{"margins", "the body could not be read: " + err.Error()}
			}
			body = string(b)
			if strings.TrimSpace(body) == "" {
				return in, &paramError{"margins", "POST the margins (CONTRACTS.md §5 CSV) as the body, or use GET"}
			}
		}
	} else if v := vals.Get("weights"); v != "" {
		// There is no margins store: the margins travel with the request.
		return in, &paramError{"weights", "margins are not stored on the server; POST the margins file (CONTRACTS.md §5 CSV) as the request body"}
	}
	in.text = stats.OptionText{
		By: nonEmpty(vals["by"]), Filters: nonEmpty(vals["filter"]), Questions: nonEmpty(vals["question"]),
		Nets: nonEmpty(vals["net"]), CI: vals.Get("ci"), Level: vals.Get("level"), Lang: vals.Get("lang"),
		Weighting: vals.Get("weighting"), Trim: vals.Get("trim"),
		Strata: vals.Get("strata"), Cluster: strings.Join(nonEmpty(vals["cluster"]), ","),
		FPC: strings.Join(nonEmpty(vals["fpc"]), ","), LonelyPSU: vals.Get("lonely_psu"),
	}
	in.all = isOn(vals.Get("all_responses"))
	in.format = vals.Get("format")
	switch in.format {
	case "":
		in.format = "json"
	case "json", "csv", "xlsx":
	default:
		return in, &paramError{"format", fmt.Sprintf("format %q: json, csv or xlsx", in.format)}
	}
	if body != "" {
		m, err := stats.ReadMargins(strings.NewReader(body))
		if err != nil {
			return in, &paramError{"margins", err.Error()}
		}
		in.margins, in.weighted = m, true
	}
	return in, nil
}

func isOn(v string) bool { return v == "1" || v == "true" || v == "on" || v == "yes" }

func nonEmpty(vs []string) []string {
	var out []string
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// validity is a form's cleaning verdict for analysis and exports.
type validity struct {
	invalid  map[string]bool
	byReason map[string]int // the rules' findings by reason, before overrides, as clean prints them
}

// loadValidity reads the verdict of the form's last cleaning run, with the
// overrides applied (clean.Invalid): exactly what `govsurvey analyze`
// excludes. A form never cleaned is clean.ErrNotCleaned.
func loadValidity(ctx context.Context, st store.Store, formID string) (validity, error) {
	invalid, err := clean.Invalid(ctx, st, formID)
	if err != nil {
		return validity{}, err
	}
	byReason := map[string]int{}
	err = st.EachFlag(ctx, store.FlagFilter{FormID: formID}, func(fl store.Flag) error {
		for _, r := range fl.Reasons {
			byReason[r]++
		}
		return nil
	})
	return validity{invalid: invalid, byReason: byReason}, err
}

// runAnalysis computes the §4 document as `govsurvey analyze` does: the
// valid responses (all of them with in.all), the options parsed by
// stats.OptionText, stats.Analyze.
func (s *Server) runAnalysis(ctx context.Context, f *form.Form, in analysisInput) (*stats.Analysis, error) {
	source := ""
	if in.weighted {
		source = "margins given with the request"
	}
	var margins []stats.MarginSpec
	if in.weighted {
		margins = in.margins
	}
	if err := in.text.CheckNets(f); err != nil {
		return nil, err
	}
	opts, err := in.text.Options(f, margins, source)
	if err != nil {
		return nil, err
	}
	lo := stats.LoadOptions{}
	if !in.all {
		v, err := loadValidity(ctx, s.st, f.ID)
		if err != nil {
			return nil, err
		}
		lo.Valid = func(id string) bool { return !v.invalid[id] }
		opts.InvalidByReason = v.byReason
	} else {
		opts.InvalidByReason = map[string]int{}
	}
	ds, err := stats.Load(ctx, s.st, f, lo)
	if err != nil {
		return nil, err
	}
	an, err := stats.Analyze(ds, opts)
	if _, ok := stats.IsOptionError(err); ok {
		return nil, err // a design field the responses lack: 400 naming it
	}
	if err != nil && opts.Design != nil && opts.Weighting == nil {
		// The design the request names cannot be estimated (a stratum
		// with one PSU under lonely_psu=fail, a PSU in two strata…).
		return nil, &paramError{designParam(in.text), "the design cannot be estimated: " + err.Error()}
	}
	if err != nil && opts.Weighting != nil {
		// Weighting fails on the caller's margins (a choice nobody chose,
		// no convergence): a problem with the request.
		return nil, &paramError{"margins", err.Error()}
	}
	return an, err
}

// designParam is the design parameter a refused design is reported
// under: the innermost one given.
func designParam(t stats.OptionText) string {
	switch {
	case t.Cluster != "":
		return "cluster"
	case t.Strata != "":
		return "strata"
	}
	return "fpc"
}

// analysisFail answers an analysis error: a bad parameter 400 naming it,
// a form never cleaned 409, the rest as fail does.
func (s *Server) analysisFail(w http.ResponseWriter, r *http.Request, err error) {
	var pe *paramError
	var bad *form.SettingError
	if oe, ok := stats.IsOptionError(err); ok {
		s.writeError(w, http.StatusBadRequest, "bad_parameter", oe.Error(), oe.Option)
		return
	}
	switch {
	case errors.As(err, &pe):
		s.writeError(w, http.StatusBadRequest, "bad_parameter", pe.Error(), pe.field)
	case errors.As(err, &bad):
		// A bad settings cell (nets) of a form stored before settings
		// were checked: name it.
		s.writeError(w, http.StatusUnprocessableEntity, "bad_setting", bad.Error(), bad.Column)
	case errors.Is(err, clean.ErrNotCleaned):
		s.writeError(w, http.StatusConflict, "not_cleaned",
			"the form has not been cleaned yet: run cleaning first (POST /api/v1/forms/{form_id}/cleaning), or ask for all_responses=1", "all_responses")
	default:
		s.fail(w, r, err)
	}
}

// analysisAPI serves GET and POST /api/v1/forms/{form_id}/analysis.
func (s *Server) analysisAPI(w http.ResponseWriter, r *http.Request, p security.Principal) {
	in, err := readAnalysisInput(w, r)
	if err != nil {
		s.analysisFail(w, r, err)
		return
	}
	_, f, err := s.forms.Latest(r.Context(), r.PathValue("form_id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	an, err := s.runAnalysis(r.Context(), f, in)
	if err != nil {
		s.analysisFail(w, r, err)
		return
	}
	s.writeAnalysis(w, r, an, in.format)
}

// writeAnalysis writes the document as JSON (indented, byte for byte what
// `govsurvey analyze --format json` prints), or the long table as a CSV or
// XLSX download.
func (s *Server) writeAnalysis(w http.ResponseWriter, r *http.Request, an *stats.Analysis, format string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	switch format {
	case "csv":
		var buf bytes.Buffer
		if err := an.WriteCSV(&buf); err != nil {
			s.fail(w, r, err)
			return
		}
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="`+an.FormID+`-analysis.csv"`)
		w.Write(buf.Bytes())
	case "xlsx":
		b, err := analysisXLSX(an)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		h.Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		h.Set("Content-Disposition", `attachment; filename="`+an.FormID+`-analysis.xlsx"`)
		w.Write(b)
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		if err := enc.Encode(an); err != nil {
			s.fail(w, r, err)
			return
		}
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.Write(buf.Bytes())
	}
}

// analysisXLSX is the long table in one sheet, numbers as numbers.
func analysisXLSX(an *stats.Analysis) ([]byte, error) {
	x := excelize.NewFile()
	defer x.Close()
	const sheet = "tables"
	if err := x.SetSheetName("Sheet1", sheet); err != nil {
		return nil, fmt.Errorf("web: xlsx: %w", err)
	}
	sw, err := x.NewStreamWriter(sheet)
	if err != nil {
		return nil, fmt.Errorf("web: xlsx: %w", err)
	}
	row := 1
	put := func(cells []string) error {
		vals := make([]any, len(cells))
		for i, c := range cells {
			vals[i] = c
			if i >= 4 && c != "" { // base … mean are numbers
				if f, err := strconv.ParseFloat(c, 64); err == nil {
					vals[i] = f
				}
			}
		}
		cell, _ := excelize.CoordinatesToCellName(1, row)
		row++
		return sw.SetRow(cell, vals)
	}
	if err := put(stats.TableHeader); err != nil {
		return nil, fmt.Errorf("web: xlsx: %w", err)
	}
	if err := an.TableRows(put); err != nil {
		return nil, fmt.Errorf("web: xlsx: %w", err)
	}
	if err := sw.Flush(); err != nil {
		return nil, fmt.Errorf("web: xlsx: %w", err)
	}
	var buf bytes.Buffer
	if err := x.Write(&buf); err != nil {
		return nil, fmt.Errorf("web: xlsx: %w", err)
	}
	return buf.Bytes(), nil
}

// analysisQuery writes in back as a query string (the console's links).
func analysisQuery(in analysisInput, format string) string {
	v := url.Values{}
	for _, b := range in.text.By {
		v.Add("by", b)
	}
	for _, q := range in.text.Questions {
		v.Add("question", q)
	}
	for _, f := range in.text.Filters {
		v.Add("filter", f)
	}
	if in.text.CI != "" {
		v.Set("ci", in.text.CI)
	}
	if in.all {
		v.Set("all_responses", "1")
	}
	if format != "" {
		v.Set("format", format)
	}
	return v.Encode()
}
