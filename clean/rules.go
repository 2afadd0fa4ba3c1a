package clean

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/form/expr"
)

// revision is what the per-response rules need of one form revision,
// compiled once: a response is judged against the questions it was
// collected with (what its respondent saw).
type revision struct {
	number int
	f      *form.Form
	fields []*form.Question
	pos    map[string]int // field name and group path → position in fields

	required  []requiredField
	values    []valueField
	batteries [][]int // positions of each battery's items, in sheet order
	attention []attentionField
	byName    []int // positions ordered by field name, for the duplicate digest
}

// relevance is a question's own relevant and those of its enclosing groups,
// outermost first: the question is relevant when all are true.
type relevance []*expr.Expr

type requiredField struct {
	pos        int
	requiredIf *expr.Expr // nil: always required
	relevant   relevance
}

type valueKind uint8

const (
	kindChoice  valueKind = iota + 1
	kindChoices           // select_multiple, rank: space-separated choice names
	kindInteger
	kindDecimal
	kindDate
	kindTime
	kindDateTime
)

type valueField struct {
	pos     int
	kind    valueKind
	choices map[string]bool // kindChoice, kindChoices
	// memo remembers the verdict on whole select_multiple values: a few
	// hundred distinct sets recur across a million responses, and one map
	// lookup is cheaper than splitting and looking up every token.
	memo map[string]bool
}

// memoLimit bounds a memo: past it, verdicts are computed, not kept.
const memoLimit = 1 << 14

type attentionField struct {
	pos      int
	want     string
	relevant relevance
}

// compileRevision prepares the rules of one form revision. Expressions were
// checked when the form was added; an error here means a stored definition
// this version of govsurvey cannot read.
func compileRevision(number int, f *form.Form) (*revision, error) {
	rv := &revision{number: number, f: f, fields: f.Fields(), pos: make(map[string]int)}
	for i, q := range rv.fields {
		if _, dup := rv.pos[q.Name]; !dup {
			rv.pos[q.Name] = i
		}
		if q.Path != "" {
			if _, dup := rv.pos[q.Path]; !dup {
				rv.pos[q.Path] = i
			}
		}
	}
	parsed := make(map[string]*expr.Expr)
	parse := func(q *form.Question, what, src string) (*expr.Expr, error) {
		if e, ok := parsed[src]; ok {
			return e, nil
		}
		e, err := expr.Parse(src)
		if err != nil {
			return nil, fmt.Errorf("clean: form %s revision %d: %s: %s: %w", f.ID, number, q.Name, what, err)
		}
		parsed[src] = e
		return e, nil
	}
	batteries := make(map[string][]int)
	var batteryOrder []string
	var walk func(qs []*form.Question, inherited relevance) error
	walk = func(qs []*form.Question, inherited relevance) error {
		for _, q := range qs {
			rel := inherited
			if q.Relevant != "" {
				e, err := parse(q, "relevant", q.Relevant)
				if err != nil {
					return err
				}
				rel = append(append(relevance(nil), inherited...), e)
			}
			if q.IsGroup() {
				if err := walk(q.Children, rel); err != nil {
					return err
				}
				continue
			}
			if !q.HoldsAnswer() {
				continue
			}
			i, ok := rv.pos[q.Name]
			if !ok || rv.fields[i] != q {
				continue // a repeated name: the codec keeps the first
			}
			if q.Type != "calculate" && (q.Required || q.RequiredIf != "") {
				rf := requiredField{pos: i, relevant: rel}
				if q.RequiredIf != "" {
					e, err := parse(q, "required", q.RequiredIf)
					if err != nil {
						return err
					}
					rf.requiredIf = e
				}
				rv.required = append(rv.required, rf)
			}
			if vf, ok := valueRule(f, q, i); ok {
				rv.values = append(rv.values, vf)
			}
			if b := extra(q, "battery"); b != "" {
				if _, seen := batteries[b]; !seen {
					batteryOrder = append(batteryOrder, b)
				}
				batteries[b] = append(batteries[b], i)
			}
			if a := extra(q, "attention"); a != "" {
				rv.attention = append(rv.attention, attentionField{pos: i, want: a, relevant: rel})
			}
		}
		return nil
	}
	if err := walk(f.Survey, nil); err != nil {
		return nil, err
	}
	for _, b := range batteryOrder {
		if len(batteries[b]) >= 2 {
			rv.batteries = append(rv.batteries, batteries[b])
		}
	}
	rv.byName = make([]int, len(rv.fields))
	for i := range rv.byName {
		rv.byName[i] = i
	}
	sortByName(rv.byName, rv.fields)
	return rv, nil
}

func sortByName(pos []int, fields []*form.Question) {
	// Insertion sort keeps it dependency-free and forms are short; ties
	// (repeated names) keep sheet order.
	for i := 1; i < len(pos); i++ {
		for j := i; j > 0 && fields[pos[j]].Name < fields[pos[j-1]].Name; j-- {
			pos[j], pos[j-1] = pos[j-1], pos[j]
		}
	}
}

// extra returns the value of an uninterpreted survey column, matching its
// header as the form compiler matches headers.
func extra(q *form.Question, column string) string {
	for h, v := range q.Extra {
		if snake(h) == column {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// valueRule returns the invalid_value rule of a question, if its type has
// one. Selects whose choices live outside the form (from a file, external)
// are not checked: the form does not know their lists.
func valueRule(f *form.Form, q *form.Question, pos int) (valueField, bool) {
	switch q.Type {
	case "select_one", "select_multiple", "rank":
		list := f.Choices[q.ListName]
		if len(list) == 0 {
			return valueField{}, false
		}
		names := make(map[string]bool, len(list)+1)
		for _, c := range list {
			names[c.Name] = true
		}
		if q.OrOther {
			names["other"] = true
		}
		kind := kindChoices
		if q.Type == "select_one" {
			kind = kindChoice
		}
		return valueField{pos: pos, kind: kind, choices: names}, true
	case "integer":
		return valueField{pos: pos, kind: kindInteger}, true
	case "decimal", "range":
		return valueField{pos: pos, kind: kindDecimal}, true
	case "date", "today":
		return valueField{pos: pos, kind: kindDate}, true
	case "time":
		return valueField{pos: pos, kind: kindTime}, true
	case "dateTime":
		return valueField{pos: pos, kind: kindDateTime}, true
	}
	return valueField{}, false
}

// valid reports whether an answered value is acceptable for its question.
func (vf *valueField) valid(v string) bool {
	switch vf.kind {
	case kindChoice:
		return vf.choices[v]
	case kindChoices:
		if ok, seen := vf.memo[v]; seen {
			return ok
		}
		ok := vf.validChoices(v)
		if vf.memo == nil {
			vf.memo = make(map[string]bool)
		}
		if len(vf.memo) < memoLimit {
			vf.memo[v] = ok
		}
		return ok
	case kindInteger:
		_, err := strconv.ParseInt(v, 10, 64)
		return err == nil
	case kindDecimal:
		return isDecimal(v)
	case kindDate:
		_, err := time.Parse("2006-01-02", v)
		return err == nil
	case kindTime:
		for _, layout := range []string{"15:04", "15:04:05", "15:04:05.999999999", "15:04:05Z07:00", "15:04:05.999999999Z07:00"} {
			if _, err := time.Parse(layout, v); err == nil {
				return true
			}
		}
		return false
	case kindDateTime:
		_, err := time.Parse(time.RFC3339Nano, v)
		return err == nil
	}
	return true
}

func (vf *valueField) validChoices(v string) bool {
	n := 0
	for tok := range strings.FieldsSeq(v) {
		if !vf.choices[tok] {
			return false
		}
		n++
	}
	return n > 0
}

// isDecimal accepts what XLSForm decimals are written as: an optional sign,
// digits with an optional fraction, an optional exponent. strconv alone
// would also take "Inf", "NaN", hex floats and underscores.
func isDecimal(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return false
		}
	}
	_, err := strconv.ParseFloat(v, 64)
	return err == nil
}

// env is the expression environment of one response: its answers,
// positionally, read by name. One is reused for every response of a
// revision, so evaluating allocates nothing for the lookups.
type env struct {
	vals    []string
	pos     map[string]int
	current string
	now     time.Time
}

func (e *env) Value(name string) (string, bool) {
	i, ok := e.pos[name]
	if !ok {
		return "", false
	}
	return e.vals[i], true
}
func (e *env) Current() string { return e.current }
func (e *env) Now() time.Time  { return e.now }

func (r relevance) holds(e *env) bool {
	for _, x := range r {
		if !x.EvalBool(e) {
			return false
		}
	}
	return true
}
