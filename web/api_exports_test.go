package web

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/govsurvey/govsurvey/clean"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// TestExportAPI: the analyst export formats, valid responses only by
// default and every one with a validity column on all=1; personal columns
// only for a data officer with a purpose; every export audited with its
// row count; the volume alert.
func TestExportAPI(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newStaffEnv(t, b.Open(t), Options{ExportAlertRows: 900})
			seedAnalysis(t, e)
			ctx := t.Context()
			analyst := e.session(t, "analyst")
			base := e.ts.URL + "/api/v1/forms/analysis/export"

			if r := do(t, analyst, "GET", base, "", ""); r.status != http.StatusConflict {
				t.Errorf("before cleaning: %d %s", r.status, r.body)
			}
			fun, err := clean.Run(ctx, e.sealing.Joined(), "analysis")
			if err != nil {
				t.Fatal(err)
			}
			invalid, err := clean.Invalid(ctx, e.sealing, "analysis")
			if err != nil {
				t.Fatal(err)
			}

			// CSV: the valid responses, de-identified.
			r := do(t, analyst, "GET", base, "", "")
			if r.status != http.StatusOK {
				t.Fatalf("csv: %d %s", r.status, r.body)
			}
			rows := readCSV(t, r.body)
			if len(rows) != 1+fun.Valid || slices.Contains(rows[0], "fullname") || slices.Contains(rows[0], "valid") {
				t.Errorf("csv: %d rows (want %d), header %v", len(rows)-1, fun.Valid, rows[0])
			}
			for _, row := range rows[1:] {
				if invalid[row[0]] {
					t.Errorf("csv holds invalid response %s", row[0])
				}
			}
			if strings.Contains(r.body, "王") {
				t.Error("a de-identified export holds a personal answer")
			}

			// all=1: every response, with valid and invalid_reasons.
			r = do(t, analyst, "GET", base+"?all=1", "", "")
			rows = readCSV(t, r.body)
			n := len(rows[0])
			if len(rows) != 1+fun.Collected || !slices.Equal(rows[0][n-2:], []string{"valid", "invalid_reasons"}) {
				t.Fatalf("all=1: %d rows (want %d), header %v", len(rows)-1, fun.Collected, rows[0])
			}
			for _, row := range rows[1:] {
				if (row[n-2] == "0") != invalid[row[0]] || (row[n-1] == "") == invalid[row[0]] {
					t.Errorf("all=1: %s valid=%q reasons=%q, invalid %v", row[0], row[n-2], row[n-1], invalid[row[0]])
				}
			}
			r = do(t, analyst, "GET", base+"?all=1&format=xlsx", "", "")
			x, err := excelize.OpenReader(strings.NewReader(r.body))
			if err != nil {
				t.Fatalf("xlsx: %v", err)
			}
			xrows, err := x.GetRows("responses")
			if err != nil || len(xrows) != 1+fun.Collected || !slices.Equal(xrows[0], rows[0]) {
				t.Errorf("xlsx all=1: %v, %d rows, header %v", err, len(xrows), xrows[0])
			}
			r = do(t, analyst, "GET", base+"?format=xlsx", "", "")
			if x, err = excelize.OpenReader(strings.NewReader(r.body)); err != nil {
				t.Fatalf("xlsx: %v", err)
			}
			if xrows, _ = x.GetRows("responses"); len(xrows) != 1+fun.Valid {
				t.Errorf("xlsx: %d rows, want %d", len(xrows)-1, fun.Valid)
			}

			// The analyst formats: their magic, and rows in the audit log.
			for _, c := range []struct{ query, magic, want string }{
				{"?format=sav", "$FL2", ""},
				{"?format=dta", "<stata_dta>", ""},
				{"?format=parquet", "PAR1", ""},
				{"?format=sav&all=1", "$FL2", "invalid_reasons"},
				{"?format=codebook", "# Codebook", "only the valid responses are exported"},
				{"?format=codebook&kind=html&all=1", "<!doctype html>", "invalid_reasons"},
			} {
				r := do(t, analyst, "GET", base+c.query, "", "")
				if r.status != http.StatusOK || !strings.HasPrefix(strings.ToLower(r.body), strings.ToLower(c.magic)) || !strings.Contains(r.body, c.want) {
					t.Errorf("%s: %d %.80q", c.query, r.status, r.body)
				}
			}
			if r := do(t, analyst, "GET", base+"?format=pdf", "", ""); r.status != http.StatusBadRequest {
				t.Errorf("format=pdf: %d", r.status)
			}

			// Personal columns: not for an analyst; a data officer with a purpose.
			if r := do(t, analyst, "GET", base+"?personal=1&purpose=x", "", ""); r.status != http.StatusForbidden {
				t.Errorf("analyst personal: %d", r.status)
			}
			officer := e.session(t, "data-officer")
			if r := do(t, officer, "GET", base+"?personal=1", "", ""); r.status != http.StatusBadRequest {
				t.Errorf("personal without purpose: %d", r.status)
			}
			r = do(t, officer, "GET", base+"?personal=1&purpose="+url.QueryEscape("抽奖联系"), "", "")
			if rows = readCSV(t, r.body); !slices.Contains(rows[0], "fullname") || !strings.Contains(r.body, "王0") {
				t.Errorf("personal export: header %v", rows[0])
			}
			// Roles without the export right.
			for _, user := range []string{"publisher", "designer", "auditor"} {
				if r := do(t, e.session(t, user), "GET", base, "", ""); r.status != http.StatusForbidden {
					t.Errorf("%s: %d", user, r.status)
				}
			}

			log := auditText(t, e)
			for _, w := range []string{
				"analyst responses.export ok form:analysis format=csv valid_only started",
				"analyst responses.export ok form:analysis format=csv valid_only rows=" + itoa(fun.Valid) + " finished",
				"analyst responses.export ok form:analysis format=csv all=1 rows=" + itoa(fun.Collected) + " finished",
				"analyst responses.export ok form:analysis format=sav valid_only rows=" + itoa(fun.Valid) + " finished",
				"analyst responses.export ok form:analysis format=parquet valid_only rows=" + itoa(fun.Valid) + " finished",
				"analyst responses.export_personal denied form:analysis no right",
				"data-officer responses.export_personal ok form:analysis format=csv valid_only purpose=抽奖联系 rows=" + itoa(fun.Valid) + " finished",
				"system responses.export_alert ok user:analyst",
			} {
				if !strings.Contains(log, w) {
					t.Errorf("audit log lacks %q:\n%s", w, log)
				}
			}
			if bytes.Contains([]byte(log), []byte("王")) {
				t.Error("an answer reached the audit log")
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
