package web

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/form"
)

// The respondent web form. The server renders every question of the form
// into one page, one <section> per top-level group; form.js shows one
// section at a time and applies relevance, required, constraint and
// choice_filter by evaluating, with expr.js, the same expression trees
// the server checks the submission with (collect.Validate). What form.js
// needs of the form travels as JSON in the form element's data-spec.

// clientCookie names the first-party random cookie whose keyed hash is a
// response's client key. It is never stored as such.
const clientCookie = "gs_client"

// webPage is one page of the respondent form: a top-level group, or a run
// of top-level questions outside any group.
type webPage struct {
	Name  string // the group's name, or "page-N"
	Title string
	Items []webItem
}

// webItem is a question, a note or the heading of a nested group.
type webItem struct {
	Name     string
	ID       string // element id of the input (or fieldset)
	Kind     string // radio, checkbox, dropdown, text, textarea, integer, decimal, date, time, datetime, note, acknowledge, group, unsupported
	Label    string
	Hint     string
	Required bool // required without condition: marked with an asterisk
	Parent   string
	Depth    int
	Choices  []webChoice
	Type     string            // XLSForm type
	T        map[string]string // the page's words
}

type webChoice struct {
	Name, Label, ID string
}

// spec is what form.js needs: per item its type, parent group and
// expression trees, the default messages, and the order to evaluate in.
type spec struct {
	Form     string               `json:"form"`
	Revision int                  `json:"revision"`
	Lang     string               `json:"lang"`
	Order    []string             `json:"order"`
	Items    map[string]*specItem `json:"items"`
	Pages    []string             `json:"pages"`
	Msg      map[string]string    `json:"msg"`
}

type specItem struct {
	Type     string          `json:"t"`
	Parent   string          `json:"p,omitempty"`
	Field    bool            `json:"f,omitempty"`
	Relevant json.RawMessage `json:"rel,omitempty"`
	Required bool            `json:"req,omitempty"`
	ReqIf    json.RawMessage `json:"reqIf,omitempty"`
	Con      json.RawMessage `json:"con,omitempty"`
	Calc     json.RawMessage `json:"calc,omitempty"`
	Filter   json.RawMessage `json:"cf,omitempty"`
	// Extra choice columns, for choice_filter: choice name → column → value.
	ChoiceCols map[string]map[string]string `json:"cols,omitempty"`
	ReqMsg     string                       `json:"reqMsg,omitempty"`
	ConMsg     string                       `json:"conMsg,omitempty"`
}

// hiddenTypes hold answers but are not shown: calculations, and metadata
// the web form does not collect (a device id or phone number would
// identify the respondent; start and end are the submission's own).
var hiddenTypes = map[string]bool{
	"calculate": true, "hidden": true, "start": true, "end": true, "today": true,
	"deviceid": true, "subscriberid": true, "simserial": true, "username": true,
	"phonenumber": true, "email": true, "audit": true, "start-geopoint": true,
	"background-geopoint": true, "background-audio": true, "xml-external": true, "csv-external": true,
}

// tree is an expression's AST for expr.js; nil when there is no
// expression or it does not parse (then it is absent on both sides).
func tree(f *form.Form, src string) json.RawMessage {
	if src == "" {
		return nil
	}
	e, err := f.Expr(src)
	if err != nil {
		return nil
	}
	b, err := e.AST()
	if err != nil {
		return nil
	}
	return b
}

// dropdownAt is the number of choices from which a select_one is a
// drop-down list instead of radio buttons: 34 provinces as radios are a
// long scroll on a phone.
const dropdownAt = 16

// buildForm lays out f in lang.
func buildForm(f *form.Form, formID string, revision int, lang string) ([]webPage, spec) {
	sp := spec{Form: formID, Revision: revision, Lang: lang, Items: map[string]*specItem{}, Msg: ui[lang]}
	var pages []webPage
	loose := -1 // index of the page collecting top-level questions outside groups
	n := 0
	var add func(p *webPage, q *form.Question, parent string, depth int)
	add = func(p *webPage, q *form.Question, parent string, depth int) {
		n++
		si := &specItem{Type: q.Type, Parent: parent, Field: q.HoldsAnswer(),
			Relevant: tree(f, q.Relevant), Required: q.Required, ReqIf: tree(f, q.RequiredIf),
			Con: tree(f, q.Constraint), Calc: tree(f, q.Calculation), Filter: tree(f, q.ChoiceFilter),
			ReqMsg: q.RequiredMessage.In(lang), ConMsg: q.ConstraintMessage.In(lang)}
		name := q.Name
		if name == "" {
			name = fmt.Sprintf("_item%d", n)
		}
		sp.Items[name] = si
		sp.Order = append(sp.Order, name)
		it := webItem{Name: name, ID: "q-" + name, Label: q.Label.In(lang), Hint: q.Hint.In(lang),
			Required: q.Required, Parent: parent, Depth: depth, Type: q.Type, T: ui[lang]}
		switch {
		case q.IsGroup() && q.Type == "group":
			it.Kind = "group"
			p.Items = append(p.Items, it)
			for _, c := range q.Children {
				add(p, c, name, depth+1)
			}
			return
		case hiddenTypes[q.Type]:
			return
		case unsupported(q):
			it.Kind = "unsupported"
			si.Field = false // never sent, never required in the browser
		default:
			it.Kind = kindOf(q, len(f.Choices[q.ListName]))
		}
		if q.IsSelect() {
			for i, c := range f.Choices[q.ListName] {
				it.Choices = append(it.Choices, webChoice{Name: c.Name, Label: c.Label.In(lang), ID: fmt.Sprintf("%s-%d", it.ID, i)})
				if si.Filter != nil && len(c.Extra) > 0 {
					if si.ChoiceCols == nil {
						si.ChoiceCols = map[string]map[string]string{}
					}
					si.ChoiceCols[c.Name] = c.Extra
				}
			}
		}
		p.Items = append(p.Items, it)
	}
	for _, q := range f.Survey {
		if q.Type == "group" {
			pages = append(pages, webPage{Name: q.Name, Title: q.Label.In(lang)})
			loose = -1
			p := &pages[len(pages)-1]
			// The group itself is in the spec (its relevance hides the
			// page) but not drawn as a heading: the page title is.
			n++
			sp.Items[q.Name] = &specItem{Type: "group", Relevant: tree(f, q.Relevant)}
			sp.Order = append(sp.Order, q.Name)
			for _, c := range q.Children {
				add(p, c, q.Name, 0)
			}
			continue
		}
		if hiddenTypes[q.Type] {
			add(&webPage{}, q, "", 0) // in the spec, for calculations
			continue
		}
		if loose < 0 {
			pages = append(pages, webPage{Name: fmt.Sprintf("page-%d", len(pages)+1), Title: f.Title})
			loose = len(pages) - 1
		}
		add(&pages[loose], q, "", 0)
	}
	for _, p := range pages {
		sp.Pages = append(sp.Pages, p.Name)
	}
	return pages, sp
}

func unsupported(q *form.Question) bool {
	switch q.Type {
	case "select_one", "select_multiple":
		return strings.Contains(q.ListName, "${")
	case "text", "integer", "decimal", "range", "date", "time", "dateTime", "note", "acknowledge":
		return false
	}
	return true
}

func kindOf(q *form.Question, choices int) string {
	app := strings.ToLower(q.Appearance)
	switch q.Type {
	case "select_one":
		if strings.Contains(app, "minimal") || (choices >= dropdownAt && !strings.Contains(app, "full")) {
			return "dropdown"
		}
		return "radio"
	case "select_multiple":
		return "checkbox"
	case "text":
		if strings.Contains(app, "multiline") {
			return "textarea"
		}
		return "text"
	case "integer":
		return "integer"
	case "decimal", "range":
		return "decimal"
	case "date":
		return "date"
	case "time":
		return "time"
	case "dateTime":
		return "datetime"
	case "note":
		return "note"
	case "acknowledge":
		return "acknowledge"
	}
	return "unsupported"
}

// consent is the privacy notice shown before the first question: the
// form's settings column consent (consent::中文 (zh), consent::English
// (en)), one paragraph a line, or the default, which states the purpose,
// what is kept, for how long, and the right to withdraw.
func consent(f *form.Form, lang string) []string {
	t := form.Text{}
	for k, v := range f.Settings {
		base, l, _ := strings.Cut(k, "::")
		if strings.EqualFold(strings.TrimSpace(base), "consent") {
			t[strings.TrimSpace(l)] = v
		}
	}
	text := t.In(lang)
	if text == "" {
		text = ui[lang]["consent_default"]
	}
	var paras []string
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			paras = append(paras, line)
		}
	}
	return paras
}

// ensureClientCookie sets the random first-party cookie if the browser
// has none. It identifies a browser, not a person, and only its keyed hash
// is stored (collect.ClientKey).
func (s *Server) ensureClientCookie(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(clientCookie); err == nil && validCookie(c.Value) {
		return
	}
	b := make([]byte, 16)
	rand.Read(b)
	http.SetCookie(w, &http.Cookie{
		Name: clientCookie, Value: hex.EncodeToString(b), Path: "/",
		MaxAge: 365 * 24 * 3600, HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: s.secureCookies || r.TLS != nil,
	})
}

func validCookie(v string) bool {
	if len(v) != 32 {
		return false
	}
	_, err := hex.DecodeString(v)
	return err == nil
}

// cookieValue is the client cookie of a request, "" when absent or forged
// into something that is not one.
func cookieValue(r *http.Request) string {
	c, err := r.Cookie(clientCookie)
	if err != nil || !validCookie(c.Value) {
		return ""
	}
	return c.Value
}

// formPage serves GET /f/{form_id}: the consent page, the questions and
// the thank-you page, one shown at a time.
func (s *Server) formPage(w http.ResponseWriter, r *http.Request) {
	fv, f, err := s.collector.Form(r.Context(), r.PathValue("form_id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := lang(r)
	data := map[string]any{
		"Lang": l, "T": ui[l], "FormID": fv.FormID, "Title": f.Title, "Revision": fv.Revision,
		"Assets": s.assets.version,
	}
	var closed *collect.ClosedError
	if err := s.collector.Open(f); errors.As(err, &closed) {
		data["Closed"] = closedMessage(closed, l)
		s.render(w, r, "form.html", data)
		return
	}
	if s.invitationPage(w, r, f, l, data) { // submit_admission.go
		return
	}
	s.ensureClientCookie(w, r)
	pages, sp := buildForm(f, fv.FormID, fv.Revision, l)
	specJSON, err := json.Marshal(sp)
	if err != nil {
		s.fail(w, r, fmt.Errorf("web: form spec: %w", err))
		return
	}
	data["Pages"] = pages
	data["Spec"] = string(specJSON)
	data["Consent"] = consent(f, l)
	data["Unsupported"] = f.Unsupported
	data["Languages"] = f.Languages
	s.render(w, r, "form.html", data)
}

// closedMessage says, in lang, why a form takes no answers. The opening
// time is shown as the schedule was read: in the collector's location
// (collect.Options.Location), or in the offset open_at was written with.
func closedMessage(e *collect.ClosedError, lang string) string {
	if e.NotYet {
		return fmt.Sprintf(ui[lang]["not_open"], e.Opens.Format("2006-01-02 15:04"))
	}
	return ui[lang]["closed"]
}
