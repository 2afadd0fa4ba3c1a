package web

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/govsurvey/govsurvey/clean"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/report/charts"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/stats"
)

// The console's analysis page (issue 9 part 4): pick questions, cross-tab
// by a single-choice question, weight to margins sent with the form,
// percents with confidence intervals and the Rao–Scott test, CSV and XLSX
// downloads. A plain form: no script. It computes exactly what the API
// does (runAnalysis).

// anTable is one question's table as the page shows it.
type anTable struct {
	Name, Label, Type string
	Columns           []string // group labels; one "all" column without a cross-tab
	Bases             []int
	Rows              []anRow
	Test              string // the Rao–Scott test, for a cross-tab
	Significant       bool   // its p < 0.05
	Chart             string // JSON for analysis.js: categories and a series per column
}

// anChartData is what analysis.js draws: percents of each row (category),
// a bar series per column (group).
type anChartData struct {
	Categories []string        `json:"categories"`
	Series     []anChartSeries `json:"series"`
}

type anChartSeries struct {
	Name string     `json:"name"`
	Data []*float64 `json:"data"` // nil: no estimate
}

// chart fills t.Chart from its rows; a numeric summary gets none.
func (t *anTable) chart(cols [][]stats.ChoiceEstimate) {
	if len(cols) == 0 || len(cols[0]) == 0 {
		return
	}
	d := anChartData{}
	for _, c := range cols[0] {
		d.Categories = append(d.Categories, choiceName(c))
	}
	for k, col := range cols {
		sr := anChartSeries{Name: t.Columns[k]}
		for j := range d.Categories {
			var v *float64
			if j < len(col) && !math.IsNaN(float64(col[j].Percent)) {
				x := math.Round(float64(col[j].Percent)*10) / 10
				v = &x
			}
			sr.Data = append(sr.Data, v)
		}
		d.Series = append(d.Series, sr)
	}
	b, err := json.Marshal(d)
	if err == nil {
		t.Chart = string(b)
	}
}

type anRow struct {
	Label string
	Cells []anCell
}

type anCell struct {
	Percent, CI, Count string
}

type anOption struct {
	Name, Label string
	Selected    bool
}

func fmtPct(x stats.Num) string {
	if math.IsNaN(float64(x)) {
		return "–"
	}
	return strconv.FormatFloat(float64(x), 'f', 1, 64)
}

func cellOf(c stats.ChoiceEstimate) anCell {
	cell := anCell{Percent: fmtPct(c.Percent), Count: strconv.FormatFloat(float64(c.Count), 'f', 0, 64)}
	if !math.IsNaN(float64(c.CILow)) && !math.IsNaN(float64(c.CIHigh)) {
		cell.CI = fmtPct(c.CILow) + "–" + fmtPct(c.CIHigh)
	}
	return cell
}

func summaryCell(sm *stats.NumericSummary) anCell {
	cell := anCell{Percent: fmtPct(sm.Mean)}
	if !math.IsNaN(float64(sm.CILow)) {
		cell.CI = fmtPct(sm.CILow) + "–" + fmtPct(sm.CIHigh)
	}
	return cell
}

// overallTables are the tables of the whole data set, one column each.
func overallTables(an *stats.Analysis, all string) []anTable {
	var out []anTable
	for _, q := range an.Questions {
		t := anTable{Name: q.Name, Label: q.Label, Type: q.Type, Columns: []string{all}, Bases: []int{q.Base}}
		if q.Summary != nil {
			t.Rows = append(t.Rows, anRow{Label: "mean", Cells: []anCell{summaryCell(q.Summary)}})
		}
		all := append(append([]stats.ChoiceEstimate(nil), q.Choices...), q.Nets...)
		for _, c := range all {
			t.Rows = append(t.Rows, anRow{Label: choiceName(c), Cells: []anCell{cellOf(c)}})
		}
		t.chart([][]stats.ChoiceEstimate{all})
		out = append(out, t)
	}
	return out
}

func choiceName(c stats.ChoiceEstimate) string {
	if c.Label != "" {
		return c.Label
	}
	return c.Name
}

// crosstabTables turn a cross-tab into one table per question, a column
// per group.
func crosstabTables(ct stats.Crosstab) []anTable {
	if len(ct.Groups) == 0 {
		return nil
	}
	var out []anTable
	for k, q0 := range ct.Groups[0].Questions {
		t := anTable{Name: q0.Name, Label: q0.Label, Type: q0.Type}
		for _, g := range ct.Groups {
			l := g.Label
			if l == "" {
				l = g.Name
			}
			t.Columns = append(t.Columns, l)
			t.Bases = append(t.Bases, g.Questions[k].Base)
		}
		if q0.Summary != nil {
			row := anRow{Label: "mean"}
			for _, g := range ct.Groups {
				row.Cells = append(row.Cells, summaryCell(g.Questions[k].Summary))
			}
			t.Rows = append(t.Rows, row)
		}
		var cols [][]stats.ChoiceEstimate
		for _, g := range ct.Groups {
			cols = append(cols, append(append([]stats.ChoiceEstimate(nil), g.Questions[k].Choices...), g.Questions[k].Nets...))
		}
		t.chart(cols)
		n := len(q0.Choices) + len(q0.Nets)
		for j := 0; j < n; j++ {
			var row anRow
			for gi, g := range ct.Groups {
				all := append(append([]stats.ChoiceEstimate(nil), g.Questions[k].Choices...), g.Questions[k].Nets...)
				if j >= len(all) {
					row.Cells = append(row.Cells, anCell{Percent: "–"})
					continue
				}
				if gi == 0 {
					row.Label = choiceName(all[j])
				}
				row.Cells = append(row.Cells, cellOf(all[j]))
			}
			t.Rows = append(t.Rows, row)
		}
		for _, test := range ct.Tests {
			if test.Question == q0.Name {
				t.Test = fmt.Sprintf("Rao–Scott F = %.3g (%.3g, %.4g df), p = %.3g", test.Value, test.NDF, test.DDF, test.PValue)
				t.Significant = test.PValue < 0.05
			}
		}
		out = append(out, t)
	}
	return out
}

// consoleAnalysis serves GET and POST /console/forms/{form_id}/analysis:
// the form, and with a POST (or a GET with parameters) the tables.
func (s *Server) consoleAnalysis(w http.ResponseWriter, r *http.Request, p security.Principal) {
	fv, f, err := s.forms.Latest(r.Context(), r.PathValue("form_id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := lang(r)
	data := s.consoleData(r, p)
	t := data["T"].(map[string]string)
	for k, v := range analysisWords[l] {
		t[k] = v
	}
	data["Form"] = fv
	run := r.Method == http.MethodPost || r.URL.Query().Has("question") || r.URL.Query().Has("by")
	var in analysisInput
	if run {
		in, err = readAnalysisInput(w, r)
		if err != nil {
			data["Problem"] = err.Error()
			run = false
		}
	}
	if in.text.Lang == "" {
		in.text.Lang = l
	}
	picked := map[string]bool{}
	for _, q := range in.text.Questions {
		picked[q] = true
	}
	by := ""
	if len(in.text.By) > 0 {
		by = in.text.By[0]
	}
	var questions, byOptions []anOption
	for _, q := range f.Fields() {
		if !analysable(q) {
			continue
		}
		label := q.Label.In(l)
		questions = append(questions, anOption{Name: q.Name, Label: label, Selected: picked[q.Name]})
		if q.Type == "select_one" {
			byOptions = append(byOptions, anOption{Name: q.Name, Label: label, Selected: q.Name == by})
		}
	}
	data["Questions"] = questions
	data["ByOptions"] = byOptions
	data["Weighted"] = in.weighted
	data["Margins"] = in.marginsText
	data["AllResponses"] = in.all
	data["CI"] = in.text.CI
	data["CIMethods"] = []string{"logit", "wilson", "beta", "mean"}
	data["CanExport"] = p.Can(security.PermResponsesExport)
	data["CanExportPersonal"] = p.Can(security.PermResponsesExportPersonal)
	data["ExportFormats"] = []string{"csv", "xlsx", "sav", "dta", "parquet", "codebook"}
	status := http.StatusOK
	if run {
		an, err := s.runAnalysis(r.Context(), f, in)
		var bad *form.SettingError
		switch {
		case err == nil:
			data["Analysis"] = an
			data["Overall"] = overallTables(an, t["all"])
			if len(an.Crosstabs) > 0 {
				data["By"] = an.Crosstabs[0].By
				data["Crosstab"] = crosstabTables(an.Crosstabs[0])
			}
			if wi := an.Weights; wi != nil {
				data["WeightsLine"] = fmt.Sprintf("%s: %s, %d iterations, converged %v; range %.3g–%.3g, Kish deff %.3f, effective n %.0f",
					wi.Method, joinComma(wi.Fields), wi.Iterations, wi.Converged, wi.Min, wi.Max, wi.KishDeff, wi.EffectiveN)
			}
		default:
			if oe, ok := stats.IsOptionError(err); ok {
				data["Problem"] = oe.Error()
			} else if pe := (*paramError)(nil); errors.As(err, &pe) {
				data["Problem"] = pe.Error()
			} else if isNotCleaned(err) {
				data["Problem"] = t["not_cleaned_analysis"]
			} else if errors.As(err, &bad) {
				// A bad nets cell of a form stored before settings were
				// checked: the page names it (422), as the API does in JSON.
				data["Problem"] = t["bad_setting"] + " " + bad.Error()
				status = http.StatusUnprocessableEntity
			} else {
				s.fail(w, r, err)
				return
			}
		}
	}
	s.renderStatus(w, r, status, "console_analysis.html", data)
}

func isNotCleaned(err error) bool { return errors.Is(err, clean.ErrNotCleaned) }

// echartsGz is the vendored ECharts, gzipped once on first use.
var echartsGz struct {
	once sync.Once
	body []byte
}

// echartsJS serves GET /console/assets/echarts.js: report/charts' vendored
// ECharts, whose licence travels beside it (echarts-licence.txt).
func (s *Server) echartsJS(w http.ResponseWriter, r *http.Request, p security.Principal) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, max-age=86400")
	h.Set("Vary", "Accept-Encoding")
	body := charts.ECharts()
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		echartsGz.once.Do(func() {
			var b bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
			zw.Write(body)
			zw.Close()
			echartsGz.body = b.Bytes()
		})
		h.Set("Content-Encoding", "gzip")
		body = echartsGz.body
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// echartsLicence serves the licence and notice of ECharts.
func (s *Server) echartsLicence(w http.ResponseWriter, r *http.Request, p security.Principal) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(charts.Licence())
}

// analysable: the questions stats tabulates (choices and numbers).
func analysable(q *form.Question) bool {
	switch q.Type {
	case "select_one", "select_multiple", "integer", "decimal", "range":
		return q.Classification != security.ClassPersonal && q.Classification != security.ClassSensitive
	}
	return false
}

func joinComma(xs []string) string {
	out := ""
	for i, x := range xs {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

// analysisWords are the analysis page's words.
var analysisWords = map[string]map[string]string{
	"zh": {
		"analysis": "统计分析", "cleaning": "数据清理", "questions": "题目（不选则全部）", "crosstab_by": "交叉分析变量",
		"none": "（无）", "weights": "加权（按总体边际分布）", "margins": "边际分布（CSV：field,choice,share）",
		"ci_method": "置信区间方法", "all_responses": "包括无效回答", "show": "计算", "download": "下载",
		"all": "全部", "base": "基数", "significant": "差异显著（Rao–Scott 检验 p < 0.05）",
		"not_cleaned_analysis": "本问卷尚未清理：请先在“数据清理”页运行清理，或勾选“包括无效回答”。",
		"unweighted":           "未加权：标准误按简单随机样本计算", "percent_ci": "百分比（95% 置信区间）",
		"collected": "收集", "valid": "有效", "chart": "百分比条形图",
		"microdata": "导出个案数据（仅有效回答，去标识化）", "microdata_all": "含无效回答（附有效性变量）",
		"microdata_personal": "导出含个人信息字段", "purpose": "用途（必填，将记入审计日志）", "format": "格式", "export": "导出",
		"bad_setting": "问卷设置有误，修正该单元格并重新上传问卷前无法计算：",
	},
	"en": {
		"analysis": "Analysis", "cleaning": "Cleaning", "questions": "Questions (none picked: all)", "crosstab_by": "Cross-tab by",
		"none": "(none)", "weights": "Weight to population margins", "margins": "Margins (CSV: field,choice,share)",
		"ci_method": "Confidence interval", "all_responses": "Include invalid responses", "show": "Show", "download": "Download",
		"all": "all", "base": "base", "significant": "significant difference (Rao–Scott test, p < 0.05)",
		"not_cleaned_analysis": "This form has not been cleaned yet: run cleaning on the cleaning page, or include invalid responses.",
		"unweighted":           "Unweighted: SEs treat the valid responses as a simple random sample", "percent_ci": "percent (95% CI)",
		"collected": "collected", "valid": "valid", "chart": "bar chart of the percents",
		"microdata": "Export microdata (valid responses, de-identified)", "microdata_all": "with the invalid ones (and a validity column)",
		"microdata_personal": "Export with personal fields", "purpose": "Purpose (required; recorded in the audit log)", "format": "Format", "export": "Export",
		"bad_setting": "The form's settings are wrong; the tables cannot be computed until the cell is fixed and the form uploaded again:",
	},
}
