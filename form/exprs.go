package form

import (
	"github.com/govsurvey/govsurvey/form/expr"
)

// exprResult is one expression source parsed once.
type exprResult struct {
	e   *expr.Expr
	err error
}

// parseExpressions parses every expression of the form once, at load:
// relevant, constraint, calculation, choice_filter, required and read_only
// when they are expressions, dynamic defaults, and the checks. A syntax
// error in a checks row is a problem (the checks sheet is govsurvey's own
// and cleaning runs it); in the standard XLSForm columns it is not, since
// pyxform does not validate XPath either and such forms work elsewhere —
// Expr reports the error to whoever evaluates it.
func (c *compiler) parseExpressions(f *Form) {
	parse := func(src string) *exprResult {
		if r, ok := c.exprs[src]; ok {
			return r
		}
		e, err := expr.Parse(src)
		r := &exprResult{e: e, err: err}
		c.exprs[src] = r
		return r
	}
	f.Walk(func(q *Question) {
		for _, src := range q.expressions() {
			parse(src)
		}
	})
	for _, ch := range f.Checks {
		if ch.Expression == "" {
			continue
		}
		if r := parse(ch.Expression); r.err != nil {
			c.problem(c.checksSheet(), ch.Row, "check '%s': %v", ch.Name, r.err)
		}
	}
	if len(c.problems) == 0 {
		cache := make(map[string]*exprResult, len(c.exprs))
		for k, v := range c.exprs {
			cache[k] = v
		}
		f.exprs.Store(&cache)
	}
}

func (c *compiler) checksSheet() string {
	if s := c.wb.Sheet("checks"); s != nil {
		return s.Name
	}
	return "checks"
}

// expressions lists the question's cells that hold an expression.
func (q *Question) expressions() []string {
	var out []string
	for _, s := range []string{q.Relevant, q.Constraint, q.Calculation, q.ChoiceFilter, q.RequiredIf, q.Extra["read_only"]} {
		if s != "" {
			out = append(out, s)
		}
	}
	if q.Default != "" && defaultIsDynamic(q.Default, q.Type) {
		out = append(out, q.Default)
	}
	return out
}

// Expr returns the parsed form of an expression of this form (a relevant,
// constraint, calculation, choice_filter, required or read_only cell, a
// dynamic default or a check), parsed once when the form was compiled, so
// cleaning and the web form do not parse it again. A source the form does
// not hold is parsed on the spot and not kept. The error is the
// expression's syntax error: pyxform accepts forms whose standard columns
// do not parse, and so does Compile; only the checks sheet is refused for
// it.
func (f *Form) Expr(src string) (*expr.Expr, error) {
	m := f.exprs.Load()
	if m == nil {
		m = f.parseAll()
		if !f.exprs.CompareAndSwap(nil, m) {
			m = f.exprs.Load()
		}
	}
	if r, ok := (*m)[src]; ok {
		return r.e, r.err
	}
	return expr.Parse(src)
}

// parseAll parses the expressions of a form that did not come from
// Compile.
func (f *Form) parseAll() *map[string]*exprResult {
	m := make(map[string]*exprResult)
	add := func(src string) {
		if _, ok := m[src]; !ok {
			e, err := expr.Parse(src)
			m[src] = &exprResult{e: e, err: err}
		}
	}
	f.Walk(func(q *Question) {
		for _, src := range q.expressions() {
			add(src)
		}
	})
	for _, ch := range f.Checks {
		if ch.Expression != "" {
			add(ch.Expression)
		}
	}
	return &m
}
