package collect

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/form/expr"
)

// FieldError refuses a submission because of one field (HTTP 422). The
// web form shows the same rules before sending, so a respondent meets this
// only when the page was tampered with or an API client is wrong.
type FieldError struct {
	Field string // the field's name
	Code  string // unknown_field, bad_type, invalid_value, not_relevant, required, constraint
	Value string // the offending choice, for invalid_value
	q     *form.Question
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("collect: field %s: %s", e.Field, e.Code)
}

// Message is the error for a respondent in lang ("zh" or "en"): the form's
// own required or constraint message when it has one.
func (e *FieldError) Message(lang string) string {
	if e.q != nil {
		switch e.Code {
		case "required":
			if m := e.q.RequiredMessage.In(lang); m != "" {
				return m
			}
		case "constraint":
			if m := e.q.ConstraintMessage.In(lang); m != "" {
				return m
			}
		}
	}
	m := fieldMessages[e.Code]
	if lang == "en" {
		return fmt.Sprintf(m[1], e.Value)
	}
	return fmt.Sprintf(m[0], e.Value)
}

// fieldMessages are the default messages, Chinese then English; %[1]s is
// the offending value (used by invalid_value only).
var fieldMessages = map[string][2]string{
	"unknown_field": {"问卷中没有此题。%.0s", "The form has no such question.%.0s"},
	"bad_type":      {"答案格式不正确。%.0s", "The answer is not in the right format.%.0s"},
	"invalid_value": {"“%s”不是本题的选项。", "'%s' is not a choice of this question."},
	"not_relevant":  {"根据前面的回答，本题无需作答。%.0s", "Given the earlier answers, this question does not apply.%.0s"},
	"required":      {"此题为必答题。%.0s", "This question is required.%.0s"},
	"constraint":    {"答案不符合本题要求。%.0s", "This answer is not accepted.%.0s"},
}

// rules is what validating a submission needs of one form version, built
// once per compiled form: every question and group in sheet order with
// its expressions parsed.
type rules struct {
	f      *form.Form
	items  []*rule
	fields map[string]*rule // by name and by group path
	// pos is each item's form.FieldPosition by name (-1: not a field),
	// where checked.encode places its answer. Every field has one: both
	// sides are the form's answer-holding questions (HoldsAnswer).
	pos []int
}

type rule struct {
	q        *form.Question
	index    int
	parent   *rule // enclosing group, nil at the top
	field    bool  // holds an answer
	relevant *expr.Expr
	// required is true for a plain "yes"; requiredIf for an expression.
	required     bool
	requiredIf   *expr.Expr
	constraint   *expr.Expr
	calculation  *expr.Expr
	choiceFilter *expr.Expr
	choices      []form.Choice
	choiceIndex  map[string]int
}

// rulesCache maps a compiled *form.Form to its rules. Forms are cached by
// Forms for the life of the process, so the map stays as small as they.
var rulesCache sync.Map

// rulesFor returns the rules of f, building them on first use.
func rulesFor(f *form.Form) *rules {
	if r, ok := rulesCache.Load(f); ok {
		return r.(*rules)
	}
	rs := &rules{f: f, fields: make(map[string]*rule)}
	// An expression that does not parse is treated as absent, here and
	// in the browser (which gets no tree for it): compiling such a form
	// is allowed, as in pyxform.
	parse := func(src string) *expr.Expr {
		if src == "" {
			return nil
		}
		e, err := f.Expr(src)
		if err != nil {
			return nil
		}
		return e
	}
	var walk func(qs []*form.Question, parent *rule)
	walk = func(qs []*form.Question, parent *rule) {
		for _, q := range qs {
			r := &rule{
				q: q, index: len(rs.items), parent: parent, field: q.HoldsAnswer(),
				relevant: parse(q.Relevant), required: q.Required, requiredIf: parse(q.RequiredIf),
				constraint: parse(q.Constraint), calculation: parse(q.Calculation),
				choiceFilter: parse(q.ChoiceFilter),
			}
			if q.IsSelect() {
				r.choices = f.Choices[q.ListName]
				r.choiceIndex = make(map[string]int, len(r.choices))
				for i, c := range r.choices {
					if _, dup := r.choiceIndex[c.Name]; !dup {
						r.choiceIndex[c.Name] = i
					}
				}
			}
			rs.items = append(rs.items, r)
			if r.field {
				if _, dup := rs.fields[q.Name]; !dup {
					rs.fields[q.Name] = r
				}
				if q.Path != "" {
					if _, dup := rs.fields[q.Path]; !dup {
						rs.fields[q.Path] = r
					}
				}
			}
			if q.IsGroup() {
				walk(q.Children, r)
			}
		}
	}
	walk(f.Survey, nil)
	rs.pos = make([]int, len(rs.items))
	for i, r := range rs.items {
		rs.pos[i] = -1
		if r.field {
			rs.pos[i] = f.FieldPosition(r.q.Name)
		}
	}
	actual, _ := rulesCache.LoadOrStore(f, rs)
	return actual.(*rules)
}

// Validate checks answers against f as the web form does, in sheet order:
// each value is of its question's type (a choice of its list, passing the
// choice_filter), a question that is not relevant is unanswered, a
// relevant required one is answered, and every answer meets its
// constraint. Calculations are computed here and replace whatever was
// sent. It returns the answers in the §2 form (select_multiple as choice
// names in list order), or a *FieldError naming the first field at fault.
// now is today() and now() for the expressions.
func Validate(f *form.Form, in map[string]any, now time.Time) (form.Answers, error) {
	c, err := validate(f, in, now)
	if err != nil {
		return nil, err
	}
	defer c.release()
	return c.answers(len(in) + 1), nil
}

// checked is a submission's answers that passed validate: one value per
// rule (rules.items), "" unanswered, calculations computed.
type checked struct {
	rs   *rules
	vals []string
	sc   *scratch
}

// scratch is the memory of one validation, reused: a submission's checks
// would otherwise allocate a kilobyte or two for a few microseconds.
type scratch struct {
	vals     []string
	relevant []int8
	env      answerEnv
	placed   []string // checked.encode's
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// getScratch returns a scratch with n empty values.
func getScratch(n int) *scratch {
	sc := scratchPool.Get().(*scratch)
	if cap(sc.vals) < n {
		sc.vals, sc.relevant = make([]string, n), make([]int8, n)
	}
	sc.vals, sc.relevant = sc.vals[:n], sc.relevant[:n]
	return sc
}

// release returns sc, emptied, to the pool.
func (sc *scratch) release() {
	clear(sc.vals)
	clear(sc.relevant)
	clear(sc.placed)
	sc.env = answerEnv{}
	scratchPool.Put(sc)
}

// release gives c's memory back; c must not be used after.
func (c checked) release() {
	if c.sc != nil {
		c.sc.release()
	}
}

// answers returns c in the §2 form.
func (c checked) answers(size int) form.Answers {
	out := make(form.Answers, size)
	for _, r := range c.rs.items {
		if r.field && c.vals[r.index] != "" {
			out[r.q.Name] = c.vals[r.index]
		}
	}
	return out
}

// answer is the answer to the field named name ("" unanswered).
func (c checked) answer(name string) string {
	if r := c.rs.fields[name]; r != nil {
		return c.vals[r.index]
	}
	return ""
}

// encode encodes c as form.EncodeAnswers(c.answers()) does.
func (c checked) encode() []byte {
	f := c.rs.f
	n := f.NumFields()
	if cap(c.sc.placed) < n {
		c.sc.placed = make([]string, n)
	}
	vals := c.sc.placed[:n]
	for _, r := range c.rs.items {
		if v := c.vals[r.index]; r.field && v != "" {
			vals[c.rs.pos[r.index]] = v
		}
	}
	return f.EncodeValues(vals)
}

// validate is Validate without the map.
func validate(f *form.Form, in map[string]any, now time.Time) (checked, error) {
	rs := rulesFor(f)
	sc := getScratch(len(rs.items))
	vals := sc.vals
	for k, v := range in {
		r := rs.fields[k]
		if r == nil {
			sc.release()
			return checked{}, &FieldError{Field: k, Code: "unknown_field"}
		}
		s, err := r.normalize(v)
		if err != nil {
			sc.release()
			return checked{}, err
		}
		if s == "" {
			continue
		}
		if vals[r.index] != "" && vals[r.index] != s {
			sc.release()
			return checked{}, &FieldError{Field: r.q.Name, Code: "bad_type", q: r.q}
		}
		vals[r.index] = s
	}
	env := &sc.env
	*env = answerEnv{rs: rs, vals: vals, relevant: sc.relevant, now: now}
	for _, r := range rs.items {
		rel := r.parent == nil || env.relevant[r.parent.index] == 1
		if rel && r.relevant != nil {
			env.current = ""
			rel = r.relevant.EvalBool(env)
		}
		env.relevant[r.index] = -1
		if rel {
			env.relevant[r.index] = 1
		}
		if !r.field {
			continue
		}
		v := vals[r.index]
		if r.q.Type == "calculate" {
			vals[r.index] = ""
			if rel && r.calculation != nil {
				env.current = ""
				vals[r.index] = r.calculation.Eval(env).String()
			}
			continue
		}
		if !rel {
			if v != "" {
				sc.release()
				return checked{}, &FieldError{Field: r.q.Name, Code: "not_relevant", q: r.q}
			}
			continue
		}
		if v == "" {
			env.current = ""
			if r.required || (r.requiredIf != nil && r.requiredIf.EvalBool(env)) {
				sc.release()
				return checked{}, &FieldError{Field: r.q.Name, Code: "required", q: r.q}
			}
			continue
		}
		if r.constraint != nil {
			env.current = v
			if !r.constraint.EvalBool(env) {
				sc.release()
				return checked{}, &FieldError{Field: r.q.Name, Code: "constraint", q: r.q}
			}
		}
		if r.choiceFilter != nil {
			for _, name := range strings.Fields(v) {
				ce := choiceEnv{answerEnv: env, choice: r.choices[r.choiceIndex[name]]}
				if !r.choiceFilter.EvalBool(ce) {
					sc.release()
					return checked{}, &FieldError{Field: r.q.Name, Code: "invalid_value", Value: name, q: r.q}
				}
			}
		}
	}
	return checked{rs: rs, vals: vals, sc: sc}, nil
}

// answerEnv is the expression environment of a submission being checked.
// A question found not relevant reads as unanswered, as in ODK.
type answerEnv struct {
	rs       *rules
	vals     []string
	relevant []int8 // 0: not yet evaluated, 1: relevant, -1: not
	current  string
	now      time.Time
}

func (e *answerEnv) Value(name string) (string, bool) {
	r := e.rs.fields[name]
	if r == nil {
		return "", false
	}
	if e.relevant[r.index] < 0 {
		return "", true
	}
	return e.vals[r.index], true
}

func (e *answerEnv) Current() string { return e.current }
func (e *answerEnv) Now() time.Time  { return e.now }

// choiceEnv evaluates a choice_filter for one choice: a bare path names a
// column of the choices sheet ("name" or an extra column such as "state"),
// while ${x} still reads the answer to x. form.js resolves paths the same
// way.
type choiceEnv struct {
	*answerEnv
	choice form.Choice
}

func (c choiceEnv) Path(p string) (string, bool) {
	col := p
	if i := strings.LastIndexByte(col, '/'); i >= 0 {
		col = col[i+1:]
	}
	if col == "name" {
		return c.choice.Name, true
	}
	v, ok := c.choice.Extra[col]
	return v, ok
}

// normalize turns one JSON answer into its §2 string, checking its type.
func (r *rule) normalize(v any) (string, error) {
	bad := func() error { return &FieldError{Field: r.q.Name, Code: "bad_type", q: r.q} }
	var s string
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		s = x
	case json.Number:
		if r.q.IsSelect() {
			return "", bad()
		}
		s = x.String()
	case bool:
		if r.q.Type != "acknowledge" {
			return "", bad()
		}
		if x {
			return "OK", nil
		}
		return "", nil
	case []any:
		if r.q.Type != "select_multiple" && r.q.Type != "rank" {
			return "", bad()
		}
		var buf [32]string // most sets: no allocation
		names := buf[:0]
		for _, e := range x {
			n, ok := e.(string)
			if !ok {
				return "", bad()
			}
			names = append(names, n)
		}
		return r.choiceSet(names, r.q.Type == "rank")
	default:
		return "", bad()
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "", bad()
	}
	switch r.q.Type {
	case "select_one":
		s = strings.TrimSpace(s)
		if s == "" {
			return "", nil
		}
		if len(r.choices) == 0 { // a list from a file: not checked here
			return s, nil
		}
		if _, ok := r.choiceIndex[s]; !ok {
			return "", &FieldError{Field: r.q.Name, Code: "invalid_value", Value: s, q: r.q}
		}
		return s, nil
	case "select_multiple", "rank":
		return r.choiceSet(strings.Fields(s), r.q.Type == "rank")
	case "integer":
		s = strings.TrimSpace(s)
		if s == "" {
			return "", nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return "", bad()
		}
		return strconv.FormatInt(n, 10), nil
	case "decimal", "range":
		s = strings.TrimSpace(s)
		if s == "" {
			return "", nil
		}
		x, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
			return "", bad()
		}
		return s, nil
	case "date":
		return r.layout(strings.TrimSpace(s), "2006-01-02")
	case "time":
		return r.layout(strings.TrimSpace(s), "15:04", "15:04:05", "15:04:05.000Z07:00", "15:04:05Z07:00")
	case "dateTime":
		return r.layout(strings.TrimSpace(s), time.RFC3339Nano, "2006-01-02T15:04")
	case "acknowledge":
		s = strings.TrimSpace(s)
		if s == "" {
			return "", nil
		}
		if s != "OK" {
			return "", bad()
		}
		return s, nil
	}
	return s, nil
}

func (r *rule) layout(s string, layouts ...string) (string, error) {
	if s == "" {
		return "", nil
	}
	for _, l := range layouts {
		if _, err := time.Parse(l, s); err == nil {
			return s, nil
		}
	}
	return "", &FieldError{Field: r.q.Name, Code: "bad_type", q: r.q}
}

// choiceSet checks chosen names and returns them in list order (ranked:
// in the order given), one space apart. A name given twice counts once.
func (r *rule) choiceSet(names []string, ordered bool) (string, error) {
	if len(names) == 0 {
		return "", nil
	}
	if len(r.choices) == 0 {
		return strings.Join(names, " "), nil
	}
	chosen := make([]bool, len(r.choices))
	var inOrder []string
	size := 0
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		i, ok := r.choiceIndex[n]
		if !ok {
			return "", &FieldError{Field: r.q.Name, Code: "invalid_value", Value: n, q: r.q}
		}
		if !chosen[i] {
			chosen[i] = true
			size += len(r.choices[i].Name) + 1
			if ordered {
				inOrder = append(inOrder, n)
			}
		}
	}
	if ordered {
		return strings.Join(inOrder, " "), nil
	}
	var b strings.Builder
	b.Grow(size)
	for i, c := range chosen {
		if c {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(r.choices[i].Name)
		}
	}
	return b.String(), nil
}
