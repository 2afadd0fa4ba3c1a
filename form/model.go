// Package form owns questionnaires: reading XLSForm workbooks (.xlsx, .csv
// bundles and markdown tables), validating them with every problem named as
// sheet!row, the questionnaire model the rest of govsurvey works from, and the
// compact encoding of one response's answers against a form version.
package form

import (
	"strings"
	"sync/atomic"
)

// Form is one version of a questionnaire, compiled from an XLSForm.
type Form struct {
	ID              string              `json:"id"`                    // settings form_id
	Version         string              `json:"version"`               // settings version
	Title           string              `json:"title"`                 // settings form_title
	DefaultLanguage string              `json:"default_language"`      // settings default_language, e.g. "中文 (zh)"
	Languages       []string            `json:"languages"`             // every language named in a ::lang column, in first-seen order
	Settings        map[string]string   `json:"settings"`              // every settings column, as written
	Survey          []*Question         `json:"survey"`                // top-level questions and groups, in sheet order
	Choices         map[string][]Choice `json:"choices"`               // list_name → choices in sheet order
	Checks          []Check             `json:"checks"`                // this project's consistency rules
	Unsupported     []string            `json:"unsupported,omitempty"` // question types accepted and stored but not yet rendered by the web form

	// index caches the field positions the answers codec needs; it is built
	// on first use, so a Form must not be changed once responses are
	// encoded or decoded with it.
	index atomic.Pointer[fieldIndex]
	// exprs holds every expression of the form parsed once (see Expr); it
	// is filled by Compile, or on first use for a form read back with
	// FromDefinition.
	exprs atomic.Pointer[map[string]*exprResult]
	// settingsSheet and settingsRow locate the settings row as written, so
	// that a bad setting is named sheet!row (see SettingError); a form read
	// back with FromDefinition has neither.
	settingsSheet string
	settingsRow   int
}

// Question is one row of the survey sheet: a question, a note, a metadata
// field, or a group/repeat holding Children.
type Question struct {
	Type              string            `json:"type"`                // base type: select_one, text, integer, begin_group → "group", begin_repeat → "repeat", start, …
	ListName          string            `json:"list_name,omitempty"` // choice list for select_one/select_multiple/rank
	OrOther           bool              `json:"or_other,omitempty"`
	Name              string            `json:"name"`
	Path              string            `json:"path"` // group path joined with "/", e.g. "demo/gender"
	Label             Text              `json:"label,omitempty"`
	Hint              Text              `json:"hint,omitempty"`
	Guidance          Text              `json:"guidance,omitempty"`
	Required          bool              `json:"required,omitempty"`
	RequiredIf        string            `json:"required_if,omitempty"` // a required cell holding an expression: required when it is true (Required is then false)
	RequiredMessage   Text              `json:"required_message,omitempty"`
	Relevant          string            `json:"relevant,omitempty"`
	Constraint        string            `json:"constraint,omitempty"`
	ConstraintMessage Text              `json:"constraint_message,omitempty"`
	Calculation       string            `json:"calculation,omitempty"`
	Default           string            `json:"default,omitempty"`
	ReadOnly          bool              `json:"read_only,omitempty"`
	ChoiceFilter      string            `json:"choice_filter,omitempty"`
	Appearance        string            `json:"appearance,omitempty"`
	Parameters        string            `json:"parameters,omitempty"`
	Classification    string            `json:"classification,omitempty"` // public, internal, personal, sensitive; "" means internal
	Row               int               `json:"row"`                      // survey sheet row, header = 1
	Children          []*Question       `json:"children,omitempty"`
	Extra             map[string]string `json:"extra,omitempty"` // columns govsurvey does not interpret, kept as written
}

// Choice is one row of the choices sheet.
type Choice struct {
	Name  string            `json:"name"`
	Label Text              `json:"label,omitempty"`
	Row   int               `json:"row"`
	Extra map[string]string `json:"extra,omitempty"` // e.g. columns used by choice_filter
}

// Check is one row of the checks sheet: a response for which Expression is
// false is flagged consistency:<Name> by cleaning.
type Check struct {
	Name       string `json:"name"`
	Expression string `json:"expression"`
	Message    Text   `json:"message,omitempty"`
	Row        int    `json:"row"`
}

// Text is a label, hint or message in several languages, keyed by the
// language as written in the column header ("中文 (zh)", "English (en)"), or
// "" for a column without a language.
type Text map[string]string

// In returns the text for lang, which may be a full language name
// ("English (en)") or just its code ("en"); it falls back to the
// language-less text, then to any text, so a label is never blank when one
// exists.
func (t Text) In(lang string) string {
	if len(t) == 0 {
		return ""
	}
	if s, ok := t[lang]; ok && s != "" {
		return s
	}
	if lang != "" {
		for k, s := range t {
			if s != "" && LanguageCode(k) == lang {
				return s
			}
		}
	}
	if s := t[""]; s != "" {
		return s
	}
	// Deterministic fallback: the smallest key with a value.
	best := ""
	found := false
	for k, s := range t {
		if s != "" && (!found || k < best) {
			best, found = k, true
		}
	}
	return t[best]
}

// LanguageCode returns the code in parentheses of an XLSForm language name:
// "中文 (zh)" → "zh"; a name without one is returned as is.
func LanguageCode(name string) string {
	i := strings.LastIndexByte(name, '(')
	j := strings.LastIndexByte(name, ')')
	if i >= 0 && j > i+1 {
		return strings.TrimSpace(name[i+1 : j])
	}
	return strings.TrimSpace(name)
}

// Question types that hold answers in a response. Groups, repeats and notes
// do not; start and end are carried in the response's own Started/Ended.
func (q *Question) IsGroup() bool { return q.Type == "group" || q.Type == "repeat" }

// IsSelect reports whether the answer is one or more choice names.
func (q *Question) IsSelect() bool {
	return q.Type == "select_one" || q.Type == "select_multiple" || q.Type == "rank"
}

// HoldsAnswer reports whether the question contributes a field (a CSV column)
// to a response.
func (q *Question) HoldsAnswer() bool {
	switch q.Type {
	case "group", "repeat", "note", "start", "end":
		return false
	}
	return true
}

// Fields returns every answer-holding question of the form, depth first in
// sheet order: the columns of a response.
func (f *Form) Fields() []*Question {
	var out []*Question
	var walk func([]*Question)
	walk = func(qs []*Question) {
		for _, q := range qs {
			if q.IsGroup() {
				walk(q.Children)
				continue
			}
			if q.HoldsAnswer() {
				out = append(out, q)
			}
		}
	}
	walk(f.Survey)
	return out
}

// Walk calls fn for every question, group and note in sheet order.
func (f *Form) Walk(fn func(*Question)) {
	var walk func([]*Question)
	walk = func(qs []*Question) {
		for _, q := range qs {
			fn(q)
			walk(q.Children)
		}
	}
	walk(f.Survey)
}

// Question returns the question with the given name (names are unique in a
// form), or nil.
func (f *Form) Question(name string) *Question {
	var found *Question
	f.Walk(func(q *Question) {
		if found == nil && q.Name == name {
			found = q
		}
	})
	return found
}

// Choice returns the choice called name in list, and whether it exists.
func (f *Form) Choice(list, name string) (Choice, bool) {
	for _, c := range f.Choices[list] {
		if c.Name == name {
			return c, true
		}
	}
	return Choice{}, false
}
