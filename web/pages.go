package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"

	"github.com/govsurvey/govsurvey/form"
)

//go:embed templates/*.html
var templateFS embed.FS

func parsePages() (*template.Template, error) {
	t, err := template.New("").ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	return t, nil
}

// render executes a page into a buffer first, so a template error becomes a
// clean 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, data any) {
	var buf bytes.Buffer
	if err := s.pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.fail(w, r, fmt.Errorf("web: render %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
	w.Write(buf.Bytes())
}

// lang picks the page language: ?lang=, else Chinese.
func lang(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "en" || l == "zh" {
		return l
	}
	return "zh"
}

// ui holds the few words of page chrome in both languages.
var ui = map[string]map[string]string{
	"zh": {
		"forms": "问卷", "questions": "题目", "required": "必答", "shown_if": "显示条件",
		"multi": "多选", "preview": "本页列出问卷题目；在线填写表单将在后续版本提供。",
		"no_forms": "尚无问卷。", "other_lang": "English", "other_code": "en", "type": "题型",
		"title": "govsurvey 问卷平台", "not_rendered": "暂不支持网页填写的题型",
	},
	"en": {
		"forms": "Forms", "questions": "Questions", "required": "required", "shown_if": "shown if",
		"multi": "select all that apply", "preview": "This page lists the questionnaire; the fillable web form comes in a later version.",
		"no_forms": "No forms yet.", "other_lang": "中文", "other_code": "zh", "type": "type",
		"title": "govsurvey survey platform", "not_rendered": "question types the web form cannot show yet",
	},
}

type homeForm struct {
	ID, Title string
	Revision  int
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	fvs, err := s.st.Forms(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := lang(r)
	var forms []homeForm
	for _, fv := range fvs {
		forms = append(forms, homeForm{ID: fv.FormID, Title: fv.Title, Revision: fv.Revision})
	}
	s.render(w, r, "home.html", map[string]any{"Lang": l, "T": ui[l], "Forms": forms})
}

// pageItem is one line of the questionnaire listing.
type pageItem struct {
	Group    bool
	Depth    int
	Name     string
	Label    string
	Type     string
	Required bool
	Relevant string
	Multi    bool
	Choices  []string
}

func (s *Server) formPage(w http.ResponseWriter, r *http.Request) {
	fv, f, err := s.forms.Latest(r.Context(), r.PathValue("form_id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := lang(r)
	var items []pageItem
	var walk func(qs []*form.Question, depth int)
	walk = func(qs []*form.Question, depth int) {
		for _, q := range qs {
			switch {
			case q.IsGroup():
				items = append(items, pageItem{Group: true, Depth: depth, Name: q.Name, Label: q.Label.In(l)})
				walk(q.Children, depth+1)
				continue
			case q.Type == "start" || q.Type == "end":
				continue
			}
			it := pageItem{Depth: depth, Name: q.Name, Label: q.Label.In(l), Type: q.Type,
				Required: q.Required, Relevant: q.Relevant, Multi: q.Type == "select_multiple"}
			for _, c := range f.Choices[q.ListName] {
				it.Choices = append(it.Choices, c.Label.In(l))
			}
			items = append(items, it)
		}
	}
	walk(f.Survey, 0)
	s.render(w, r, "form.html", map[string]any{
		"Lang": l, "T": ui[l], "FormID": fv.FormID, "Title": f.Title, "Revision": fv.Revision,
		"Items": items, "Unsupported": f.Unsupported,
	})
}
