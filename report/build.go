package report

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/stats"
	"github.com/govsurvey/govsurvey/store"
)

// Inputs are what Build needs.
type Inputs struct {
	Store store.Store
	Form  *form.Form
	// BaseForm is the earlier wave; nil: none, even when the definition
	// names one (its grouped figures then show this wave alone).
	BaseForm *form.Form
	// Definition nil: DefinitionFor(Form).
	Definition *Definition
	// DefinitionDir resolves the definition's margins file.
	DefinitionDir string
	// Weighting overrides the definition's.
	Weighting *stats.Weighting
	Lang      string // "zh" (default) or "en"
	// Progress, when set, is told each stage as it starts, in Lang.
	Progress func(stage string)
}

// Report is a built report: chapters of numbered figures, each with its
// table, narrative and chart, ready for HTML, XLSX, DOCX or PDF.
type Report struct {
	Lang       string
	Title      string
	FormID     string
	BaseFormID string
	Chapters   []*Chapter
	// The analyses every number comes from: this wave (weighted when the
	// report is), unweighted, and the base wave's; the comparisons.
	Analysis     *stats.Analysis
	Unweighted   *stats.Analysis
	Base         *stats.Analysis
	BaseWeighted *stats.Analysis
	Comparison   *stats.Comparison // unweighted waves
	ComparisonW  *stats.Comparison // weighted waves (nil when unweighted)
	Funnel       Funnel
	BaseFunnel   *Funnel
}

// Chapter is one numbered chapter of the built report.
type Chapter struct {
	Number  int
	Heading string // "二、我国网民…" or "2. The sample"
	Intro   []string
	Figures []*Figure
}

// Figure is one numbered figure or table: its caption, the sentences
// about it, its table and its chart.
type Figure struct {
	ID        string // "fig-2-1", "tab-2-1": unique in the report, used for files and images
	Number    string // "图 2-1", "Figure 2-1", "表 2-1"
	Title     string
	Section   string // a heading before the figure, "" for none
	Kind      string
	Question  string
	Narrative []string
	Table     Table
	option    json.RawMessage
}

// Caption is the figure's number and title.
func (f *Figure) Caption() string { return f.Number + " " + f.Title }

// Chart reports whether the figure has a chart (a table figure has none).
func (f *Figure) Chart() bool { return f.option != nil }

// Option returns the figure's ECharts option as JSON (nil for a table
// figure): the page renders it, and report/charts renders the same option
// to PNG or SVG for Word and PDF.
func (f *Figure) Option() json.RawMessage { return f.option }

// Table is a figure's data: every number a sentence quotes is one of its
// cells, formatted the same way.
type Table struct {
	Header []string
	Rows   [][]Cell
	Notes  []string // bases, the question type's caveats
}

// Cell is one table cell: its text, and its number for the workbook.
type Cell struct {
	Text  string
	Value float64
	Num   bool   // Value is meaningful
	Unit  string // "%" or "pp" for percentages and points, "" for counts
}

func textCell(s string) Cell      { return Cell{Text: s} }
func pctCell(x stats.Num) Cell    { return numCell(pct(x), float64(x), "%") }
func pointsCell(x stats.Num) Cell { return numCell(pct(x), float64(x), "pp") }
func countCell(x float64) Cell    { return numCell(count(x), x, "") }
func numCell(s string, v float64, unit string) Cell {
	if s == "–" {
		return Cell{Text: s}
	}
	return Cell{Text: s, Value: v, Num: true, Unit: unit}
}

// Figures returns every figure of the report in order.
func (r *Report) Figures() []*Figure {
	var out []*Figure
	for _, ch := range r.Chapters {
		out = append(out, ch.Figures...)
	}
	return out
}

// Build computes a report: it loads the valid responses of the form (and
// of the base wave), analyses them with package stats once per weighting,
// compares the waves, and writes every figure's table, chart and
// sentences from those analyses.
func Build(ctx context.Context, in Inputs) (*Report, error) {
	progress := in.Progress
	if progress == nil {
		progress = func(string) {}
	}
	lang := in.Lang
	switch lang {
	case "", "zh":
		lang = "zh"
	case "en":
	default:
		return nil, fmt.Errorf("report: language %q (zh or en)", in.Lang)
	}
	if in.Store == nil || in.Form == nil {
		return nil, fmt.Errorf("report: Build needs a store and a form")
	}
	def := in.Definition
	if def == nil {
		var err error
		if def, err = DefinitionFor(in.Form); err != nil {
			return nil, err
		}
	}
	if err := def.Check(in.Form); err != nil {
		return nil, err
	}
	if in.BaseForm != nil {
		if err := def.checkBase(in.BaseForm); err != nil {
			return nil, err
		}
	}
	weighting := in.Weighting
	if weighting == nil && def.Weighting != nil {
		w, err := def.Weighting.load(in.DefinitionDir)
		if err != nil {
			return nil, err
		}
		weighting = w
	}
	ci := stats.CILogit
	if def.CI != "" {
		var err error
		if ci, err = stats.ParseCIMethod(def.CI); err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
	}
	level := def.Level
	if level == 0 {
		level = 0.95
	}
	if level <= 0 || level >= 1 {
		return nil, fmt.Errorf("report: level %v is not between 0 and 1", level)
	}

	progress(stage(lang, "读取 %s 的问卷", "load %s", in.Form.ID))
	cur, err := loadWave(ctx, in.Store, in.Form)
	if err != nil {
		return nil, err
	}
	var base *wave
	if in.BaseForm != nil {
		progress(stage(lang, "读取 %s 的问卷", "load %s", in.BaseForm.ID))
		if base, err = loadWave(ctx, in.Store, in.BaseForm); err != nil {
			return nil, err
		}
	}

	var bys []string
	for _, ch := range def.Chapters {
		for _, fs := range ch.Figures {
			if fs.By != "" && !slices.Contains(bys, fs.By) {
				bys = append(bys, fs.By)
			}
		}
	}
	analyse := func(w *wave, wt *stats.Weighting, by []string) (*stats.Analysis, error) {
		opts := stats.AnalysisOptions{
			By: by, Weighting: wt, CIMethod: ci, Level: level, Lang: lang,
			Nets: def.statsNets(w.form), InvalidByReason: w.funnel.InvalidByReason,
		}
		a, err := stats.Analyze(w.ds, opts)
		if err != nil {
			return nil, fmt.Errorf("report: %s: %w", w.form.ID, err)
		}
		return a, nil
	}
	r := &Report{Lang: lang, FormID: in.Form.ID, Funnel: cur.funnel}
	progress(stage(lang, "统计 %s", "analyse %s", in.Form.ID))
	if r.Unweighted, err = analyse(cur, nil, bys); err != nil {
		return nil, err
	}
	r.Analysis = r.Unweighted
	if weighting != nil {
		progress(stage(lang, "加权统计 %s", "weight %s", in.Form.ID))
		if r.Analysis, err = analyse(cur, weighting, bys); err != nil {
			return nil, err
		}
	}
	if base != nil {
		r.BaseFormID = base.form.ID
		bf := base.funnel
		r.BaseFunnel = &bf
		progress(stage(lang, "统计 %s", "analyse %s", base.form.ID))
		if r.Base, err = analyse(base, nil, nil); err != nil {
			return nil, err
		}
		r.Comparison = stats.Compare(r.Unweighted, r.Base)
		if weighting != nil {
			if r.BaseWeighted, err = analyse(base, weighting, nil); err != nil {
				return nil, err
			}
			r.ComparisonW = stats.Compare(r.Analysis, r.BaseWeighted)
		}
	}

	b := &builder{r: r, def: def, lang: lang, f: in.Form, cur: cur, base: base, level: level, weighting: weighting}
	if b.others, err = loadOthers(ctx, in.Store, def, lang, progress, func(w *wave) (*stats.Analysis, error) { return analyse(w, nil, nil) }); err != nil {
		return nil, err
	}
	progress(stage(lang, "撰写图表与文字", "write figures"))
	r.Title = reportTitle(def, in.Form, lang)
	r.Chapters = append(r.Chapters, b.methods())
	for i, chs := range def.Chapters {
		ch := &Chapter{Number: i + 2}
		ch.Heading = b.heading(ch.Number, chs.Title.In(lang))
		if s := chs.Intro.In(lang); s != "" {
			ch.Intro = []string{s}
		}
		nFig, nTab := 0, 0
		for _, fs := range chs.Figures {
			fig, err := b.figure(fs)
			if err != nil {
				return nil, err
			}
			if fs.Kind == KindTable {
				nTab++
				fig.ID = fmt.Sprintf("tab-%d-%d", ch.Number, nTab)
				fig.Number = b.t("表 ", "Table ") + strconv.Itoa(ch.Number) + "-" + strconv.Itoa(nTab)
			} else {
				nFig++
				fig.ID = fmt.Sprintf("fig-%d-%d", ch.Number, nFig)
				fig.Number = b.t("图 ", "Figure ") + strconv.Itoa(ch.Number) + "-" + strconv.Itoa(nFig)
			}
			ch.Figures = append(ch.Figures, fig)
		}
		r.Chapters = append(r.Chapters, ch)
	}
	return r, nil
}

// load reads the margins file of a definition's weighting.
func (ws *WeightingSpec) load(dir string) (*stats.Weighting, error) {
	method, err := stats.ParseWeightingMethod(ws.Method)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	path := ws.Margins
	if !filepath.IsAbs(path) && dir != "" {
		path = filepath.Join(dir, path)
	}
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("report: weighting: %w", err)
	}
	defer file.Close()
	margins, err := stats.ReadMargins(file)
	if err != nil {
		return nil, fmt.Errorf("report: %s: %w", path, err)
	}
	return &stats.Weighting{Method: method, Margins: margins, Source: filepath.Base(path), TrimLow: ws.TrimLow, TrimHigh: ws.TrimHigh}, nil
}

// builder writes the figures of one report.
type builder struct {
	r         *Report
	def       *Definition
	lang      string
	f         *form.Form
	cur, base *wave
	level     float64
	weighting *stats.Weighting
	others    map[string]*other // by form id: the forms figures set beside this one (FigureSpec.Forms)
}

// stage is a progress stage in the report's language: the console shows
// it to whoever asked for the report. args fill the %s of either text.
func stage(lang, zh, en string, args ...any) string {
	if lang == "en" {
		return fmt.Sprintf(en, args...)
	}
	return fmt.Sprintf(zh, args...)
}

// t picks the Chinese or the English of a phrase.
func (b *builder) t(zh, en string) string {
	if b.lang == "en" {
		return en
	}
	return zh
}

func (b *builder) heading(n int, title string) string {
	if b.lang == "en" {
		return strconv.Itoa(n) + ". " + title
	}
	return chineseNumeral(n) + "、" + title
}
