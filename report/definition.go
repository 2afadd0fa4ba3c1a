package report

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"unicode"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/stats"
)

// Chart kinds of a figure.
const (
	KindBar     = "bar"     // vertical bars, one per choice
	KindHBar    = "hbar"    // horizontal bars, one per choice (long labels, select_multiple)
	KindPie     = "pie"     // a pie of a single-choice question
	KindDonut   = "donut"   // a ring of a single-choice question
	KindStacked = "stacked" // 100% stacked bars, one per group of By
	KindGrouped = "grouped" // two bars per choice: the base wave and this one
	KindRanked  = "ranked"  // horizontal bars sorted largest first (provinces)
	KindTable   = "table"   // a numbered table (表 N-M) without a chart
)

var kinds = []string{KindBar, KindHBar, KindPie, KindDonut, KindStacked, KindGrouped, KindRanked, KindTable}

// Text is a piece of text in several languages, keyed by language code
// ("zh", "en"). In JSON it is an object, or a plain string for every
// language.
type Text map[string]string

// In returns the text in lang, falling back to Chinese, then to any.
func (t Text) In(lang string) string {
	if s := t[lang]; s != "" {
		return s
	}
	if s := t["zh"]; s != "" {
		return s
	}
	for _, k := range slices.Sorted(maps.Keys(t)) {
		if t[k] != "" {
			return t[k]
		}
	}
	return ""
}

func (t *Text) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*t = Text{"zh": s, "en": s}
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("report: text: want a string or an object of languages: %w", err)
	}
	*t = m
	return nil
}

// Definition says what a report of one form holds. It is read from and
// written to JSON (docs/reports.md); DefaultDefinition makes one from a
// form, DefinitionFor returns the built-in one of a seed form.
type Definition struct {
	FormID string `json:"form_id"`
	// Title is the report's title by language. A language it lacks gets
	// the form's title in that language + "调查报告" / " — report", else
	// (English) the form id: an English report never shows a Chinese title
	// unless the definition gives one for every language (a plain string).
	Title Text `json:"title,omitempty"`
	// Population names the respondents in sentences ("参与调查的公众网民").
	Population Text `json:"population,omitempty"`
	// BaseFormID is the earlier wave that "grouped" figures and wave
	// sentences compare with; empty: no comparison.
	BaseFormID string `json:"base_form_id,omitempty"`
	// BaseLabel names the base wave in text ("2018"); empty: the base
	// form's version.
	BaseLabel string `json:"base_label,omitempty"`
	Nets      []Net  `json:"nets,omitempty"`
	// Weighting, when set, weights every figure not marked unweighted.
	Weighting *WeightingSpec `json:"weighting,omitempty"`
	CI        string         `json:"ci,omitempty"`    // logit (default), wilson, beta or mean
	Level     float64        `json:"level,omitempty"` // confidence level and 1 − significance level; 0: 0.95
	// MinBase suppresses percentages whose base is below it (0: none):
	// the cell shows "–" and sentences leave the group out.
	MinBase  int           `json:"min_base,omitempty"`
	Chapters []ChapterSpec `json:"chapters"`
}

// Net is a named group of choices reported beside them, e.g. "improved" =
// big_up + up (stats.Net), with a label for text.
type Net struct {
	Question string   `json:"question"`
	Name     string   `json:"name"`
	Choices  []string `json:"choices"`
	Label    Text     `json:"label,omitempty"`
}

// WeightingSpec names population margins (a CONTRACTS.md §5 CSV, relative
// to the definition file) and the method.
type WeightingSpec struct {
	Margins  string  `json:"margins"`
	Method   string  `json:"method,omitempty"` // rake (default), poststratify, linear, raking
	TrimLow  float64 `json:"trim_low,omitempty"`
	TrimHigh float64 `json:"trim_high,omitempty"`
}

// ChapterSpec is one numbered chapter of figures. Chapter 1 is always the
// methods chapter the report writes itself; the definition's chapters are
// numbered from 2.
type ChapterSpec struct {
	Title   Text         `json:"title"`
	Intro   Text         `json:"intro,omitempty"`
	Figures []FigureSpec `json:"figures"`
}

// FigureSpec is one numbered figure (图 N-M) or table (表 N-M): one
// question, its chart kind and what to set beside it.
type FigureSpec struct {
	Question string `json:"question"`
	Kind     string `json:"kind"`
	Title    Text   `json:"title,omitempty"` // empty: the question's label
	// Section, when set, is a heading written before the figure
	// ("1.参与调查的网民性别分布").
	Section Text `json:"section,omitempty"`
	// By is the single-choice field a "stacked" figure groups by.
	By string `json:"by,omitempty"`
	// Sort "desc" orders choices largest first (default for hbar of a
	// select_multiple and for ranked).
	Sort string `json:"sort,omitempty"`
	// Labels replace choice labels in text and tables ("male": "男性").
	Labels map[string]Text `json:"labels,omitempty"`
	// Unweighted figures describe the sample as collected even when the
	// report is weighted (the sample chapter).
	Unweighted bool `json:"unweighted,omitempty"`
	// Top limits how many choices a sentence names (0: all, or 3 for
	// lists longer than 12).
	Top int `json:"top,omitempty"`
	// Forms, with kind "grouped", sets other surveys' answers to the same
	// question beside this form's instead of the base wave's: one bar per
	// form for every choice, matched by choice name (the seed's 图 2-1:
	// netizens and practitioners). Each form is read from the store as
	// its last cleaning left it, unweighted like this form's figure; one
	// not registered or not cleaned is left out, with a note.
	Forms []string `json:"forms,omitempty"`
}

//go:embed definitions/*.json
var builtin embed.FS

// DefinitionFor returns the built-in definition of a form when there is
// one (the seed survey's forms), else DefaultDefinition(f).
func DefinitionFor(f *form.Form) (*Definition, error) {
	b, err := builtin.ReadFile("definitions/" + f.ID + ".json")
	if err != nil {
		return DefaultDefinition(f), nil
	}
	d, err := ReadDefinition(strings.NewReader(string(b)))
	if err != nil {
		return nil, fmt.Errorf("report: built-in definition of %s: %w", f.ID, err)
	}
	return d, nil
}

// DefaultDefinition makes a definition from a form: one chapter per
// top-level group (or one chapter), every single- and multiple-choice
// question in order, with a kind that suits it: a pie for a single choice
// of at most 3 choices, a donut up to 6, vertical bars up to 12, ranked
// bars beyond; horizontal bars sorted largest first for a multiple choice.
// Questions classified personal or sensitive are left out (Check refuses
// them). The title is set in Chinese and English, to be edited.
func DefaultDefinition(f *form.Form) *Definition {
	d := &Definition{FormID: f.ID, Population: Text{"zh": "参与调查的受访者", "en": "respondents"},
		Title: Text{"zh": defaultTitle(f, "zh"), "en": defaultTitle(f, "en")}}
	var loose ChapterSpec
	var walk func(qs []*form.Question, ch *ChapterSpec)
	walk = func(qs []*form.Question, ch *ChapterSpec) {
		for _, q := range qs {
			if q.IsGroup() {
				walk(q.Children, ch)
				continue
			}
			if fs, ok := defaultFigure(f, q); ok {
				ch.Figures = append(ch.Figures, fs)
			}
		}
	}
	for _, q := range f.Survey {
		if !q.IsGroup() {
			walk([]*form.Question{q}, &loose)
			continue
		}
		ch := ChapterSpec{Title: textOf(q.Label, f)}
		if len(ch.Title) == 0 {
			ch.Title = Text{"zh": q.Name, "en": q.Name}
		}
		walk(q.Children, &ch)
		if len(ch.Figures) > 0 {
			if len(loose.Figures) > 0 {
				loose.Title = Text{"zh": "调查结果", "en": "Results"}
				d.Chapters = append(d.Chapters, loose)
				loose = ChapterSpec{}
			}
			d.Chapters = append(d.Chapters, ch)
		}
	}
	if len(loose.Figures) > 0 {
		loose.Title = Text{"zh": "调查结果", "en": "Results"}
		d.Chapters = append(d.Chapters, loose)
	}
	return d
}

func defaultFigure(f *form.Form, q *form.Question) (FigureSpec, bool) {
	n := len(f.Choices[q.ListName])
	switch {
	case n == 0, security.Personal(q):
		return FigureSpec{}, false
	case q.Type == "select_one":
		kind := KindRanked
		switch {
		case n <= 3:
			kind = KindPie
		case n <= 6:
			kind = KindDonut
		case n <= 12:
			kind = KindBar
		}
		return FigureSpec{Question: q.Name, Kind: kind}, true
	case q.Type == "select_multiple":
		return FigureSpec{Question: q.Name, Kind: KindHBar, Sort: "desc"}, true
	}
	return FigureSpec{}, false
}

// reportTitle is the report's title in lang: the definition's, else the
// default (defaultTitle). Chinese falls back to any language the
// definition has; another language does not, so that an English report
// does not carry a Chinese title.
func reportTitle(d *Definition, f *form.Form, lang string) string {
	if s := d.Title[lang]; s != "" {
		return s
	}
	if lang == "zh" {
		if s := d.Title.In(lang); s != "" {
			return s
		}
	}
	return defaultTitle(f, lang)
}

// defaultTitle is the form's title in lang + "调查报告" (" — report"), or in
// English, when the form has no English title, its id + " — report".
func defaultTitle(f *form.Form, lang string) string {
	if lang == "zh" {
		return formTitle(f, lang) + "调查报告"
	}
	if s := formTitle(f, lang); s != "" {
		return s + " — report"
	}
	return f.ID + " — report"
}

// formTitle is the form's title in lang: a settings column
// form_title::Language (code) for it, else the form's title when it is
// in that language (the default language is lang, or for English a title
// without Chinese characters); "" when the form has none in lang.
func formTitle(f *form.Form, lang string) string {
	for _, k := range slices.Sorted(maps.Keys(f.Settings)) {
		base, l, ok := strings.Cut(k, "::")
		switch strings.ToLower(strings.TrimSpace(base)) {
		case "form_title", "title", "set_form_title":
			if ok && form.LanguageCode(l) == lang && f.Settings[k] != "" {
				return f.Settings[k]
			}
		}
	}
	if lang == "zh" || form.LanguageCode(f.DefaultLanguage) == lang {
		return f.Title
	}
	if lang == "en" && !strings.ContainsFunc(f.Title, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
		return f.Title
	}
	return ""
}

// textOf turns a form label into a Text keyed by language code.
func textOf(t form.Text, f *form.Form) Text {
	out := Text{}
	for k, v := range t {
		if v == "" {
			continue
		}
		code := form.LanguageCode(k)
		if k == "" {
			code = form.LanguageCode(f.DefaultLanguage)
		}
		out[code] = v
	}
	return out
}

// ReadDefinition reads a definition's JSON; unknown keys are errors, so
// that a misspelt key is not silently ignored.
func ReadDefinition(r io.Reader) (*Definition, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var d Definition
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("report: definition: %w", err)
	}
	if d.FormID == "" {
		return nil, errors.New("report: definition: no form_id")
	}
	for i, ch := range d.Chapters {
		for j, fs := range ch.Figures {
			if !slices.Contains(kinds, fs.Kind) {
				return nil, fmt.Errorf("report: definition: chapter %d figure %d (%s): kind %q is not one of %s",
					i+1, j+1, fs.Question, fs.Kind, strings.Join(kinds, ", "))
			}
			if fs.Kind == KindStacked && fs.By == "" {
				return nil, fmt.Errorf("report: definition: chapter %d figure %d (%s): a stacked figure needs by", i+1, j+1, fs.Question)
			}
		}
	}
	return &d, nil
}

// WriteTo writes the definition as indented JSON.
func (d *Definition) WriteTo(w io.Writer) (int64, error) {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return 0, fmt.Errorf("report: definition: %w", err)
	}
	n, err := w.Write(append(b, '\n'))
	return int64(n), err
}

// Check reports every question, choice and field of the definition that
// form f lacks, and every one that f classifies personal or sensitive: a
// report does not chart those (their answers are sealed, outside the data
// that statistics read), whichever definition names them.
func (d *Definition) Check(f *form.Form) error {
	var problems []string
	for i, ch := range d.Chapters {
		for j, fs := range ch.Figures {
			where := fmt.Sprintf("chapter %d figure %d", i+1, j+1)
			q := f.Question(fs.Question)
			if q == nil || !q.IsSelect() {
				problems = append(problems, fmt.Sprintf("%s: %q is no choice question of form %s", where, fs.Question, f.ID))
				continue
			}
			if security.Personal(q) {
				problems = append(problems, fmt.Sprintf("%s: question %q is classified %s: a report does not chart personal or sensitive answers", where, fs.Question, q.Classification))
			}
			if fs.By != "" {
				if b := f.Question(fs.By); b == nil || b.Type != "select_one" {
					problems = append(problems, fmt.Sprintf("%s: by %q is no single-choice question of form %s", where, fs.By, f.ID))
				} else if security.Personal(b) {
					problems = append(problems, fmt.Sprintf("%s: by %q is classified %s: a report does not group by personal or sensitive answers", where, fs.By, b.Classification))
				}
			}
			if len(fs.Forms) > 0 && (fs.Kind != KindGrouped || fs.By != "") {
				problems = append(problems, fmt.Sprintf("%s: forms beside this one need kind %q and no by", where, KindGrouped))
			}
			for k, id := range fs.Forms {
				if id == f.ID || id == "" || slices.Contains(fs.Forms[:k], id) {
					problems = append(problems, fmt.Sprintf("%s: form %q beside this one: empty, this form or twice", where, id))
				}
			}
			for c := range fs.Labels {
				if _, ok := f.Choice(q.ListName, c); !ok {
					problems = append(problems, fmt.Sprintf("%s: label for %q, no choice of %s", where, c, fs.Question))
				}
			}
		}
	}
	for _, n := range d.Nets {
		q := f.Question(n.Question)
		if q == nil || !q.IsSelect() {
			problems = append(problems, fmt.Sprintf("net %s: %q is no choice question of form %s", n.Name, n.Question, f.ID))
			continue
		}
		if security.Personal(q) {
			problems = append(problems, fmt.Sprintf("net %s: question %q is classified %s: a report does not chart personal or sensitive answers", n.Name, n.Question, q.Classification))
		}
		for _, c := range n.Choices {
			if _, ok := f.Choice(q.ListName, c); !ok {
				problems = append(problems, fmt.Sprintf("net %s: %q is no choice of %s", n.Name, c, n.Question))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("report: definition of %s does not fit the form:\n  %s", d.FormID, strings.Join(problems, "\n  "))
	}
	return nil
}

// checkBase refuses a base wave that classifies personal or sensitive a
// question the definition charts (Check has seen only this wave's form;
// the base wave may lack questions, which is no error).
func (d *Definition) checkBase(base *form.Form) error {
	var problems []string
	personal := func(where, name string) {
		if q := base.Question(name); q != nil && security.Personal(q) {
			problems = append(problems, fmt.Sprintf("%s: question %q is classified %s there: a report does not chart personal or sensitive answers", where, name, q.Classification))
		}
	}
	for i, ch := range d.Chapters {
		for j, fs := range ch.Figures {
			where := fmt.Sprintf("chapter %d figure %d", i+1, j+1)
			personal(where, fs.Question)
			if fs.By != "" {
				personal(where+" (by)", fs.By)
			}
		}
	}
	for _, n := range d.Nets {
		personal("net "+n.Name, n.Question)
	}
	if len(problems) > 0 {
		return fmt.Errorf("report: definition of %s does not fit base wave %s:\n  %s", d.FormID, base.ID, strings.Join(problems, "\n  "))
	}
	return nil
}

// statsNets are the nets for stats.Analyze of form f: those whose
// question and choices f has (a base wave may lack some).
func (d *Definition) statsNets(f *form.Form) []stats.Net {
	nets := make([]stats.Net, len(d.Nets))
	for i, n := range d.Nets {
		nets[i] = stats.Net{Question: n.Question, Name: n.Name, Choices: n.Choices}
	}
	return stats.NetsIn(nets, f)
}
