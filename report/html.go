package report

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"

	"github.com/govsurvey/govsurvey/report/charts"
)

//go:embed templates/report.html
var templateFS embed.FS

// HTML writes the report as one self-contained page: styles, the ECharts
// library and every chart's option are inline, so the page makes no
// request. Each figure's table and bases are under its chart.
func (r *Report) HTML(w io.Writer) error {
	tmpl, err := template.ParseFS(templateFS, "templates/report.html")
	if err != nil {
		return fmt.Errorf("report: template: %w", err)
	}
	type figureView struct {
		*Figure
		OptionJS template.JS
		Tall     bool
	}
	type chapterView struct {
		*Chapter
		Figures []figureView
	}
	view := struct {
		Lang, Title, Meta string
		Chapters          []chapterView
		ECharts           template.JS
	}{Lang: r.Lang, Title: r.Title}
	view.Meta = r.meta()
	for _, ch := range r.Chapters {
		cv := chapterView{Chapter: ch}
		for _, f := range ch.Figures {
			// json.Marshal escapes <, > and &, so an option cannot end
			// its script element.
			cv.Figures = append(cv.Figures, figureView{Figure: f, OptionJS: template.JS(f.option), Tall: f.tall()})
		}
		view.Chapters = append(view.Chapters, cv)
	}
	// The library is inlined as it is; a "</script" inside one of its
	// strings would end the element early, so it is written "<\/script".
	js := bytes.ReplaceAll(charts.ECharts(), []byte("</script"), []byte(`<\/script`))
	view.ECharts = template.JS(js)
	if err := tmpl.Execute(w, view); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	return nil
}

// meta is the line under the title: form, valid responses, waves.
func (r *Report) meta() string {
	if r.Lang == "en" {
		s := fmt.Sprintf("Form %s · %s valid responses", r.FormID, count(float64(r.Funnel.Valid)))
		if r.BaseFormID != "" {
			s += " · compared with " + r.BaseFormID
		}
		return s
	}
	s := fmt.Sprintf("表单 %s · 有效问卷 %s 份", r.FormID, count(float64(r.Funnel.Valid)))
	if r.BaseFormID != "" {
		s += " · 对比 " + r.BaseFormID
	}
	return s
}

// tall reports whether a chart needs more height: many categories on the
// vertical axis.
func (f *Figure) tall() bool {
	switch f.Kind {
	case KindRanked, KindStacked:
		return true
	case KindHBar:
		return len(f.Table.Rows) > 10
	}
	return false
}
