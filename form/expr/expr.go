// Package expr is the expression language of govsurvey questionnaires:
// the XLSForm/ODK XPath subset used by relevant, constraint, calculation,
// choice_filter and the checks sheet, with XPath 1.0 semantics and the
// ODK XForms functions. An expression is parsed once into a tree; the
// server evaluates the tree in Go, and the respondent's browser evaluates
// the same tree, sent as JSON by AST, with the small evaluator JS, so both
// sides reach the same answers without a second parser.
package expr

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Env is what an expression reads while it is evaluated.
type Env interface {
	// Value is the current answer of ${name} ("" when unanswered), and
	// false if the form has no such field.
	Value(name string) (string, bool)
	// Current is the value of "." (the question being checked).
	Current() string
	// Now is the clock for today() and now(), in the respondent's location.
	Now() time.Time
}

// PathEnv is implemented by an Env that resolves location paths itself,
// such as the choice_filter of a select, where "state" names a column of
// the choice being filtered while ${state} is a field. Without it a path
// names the field of its last step (/data/demo/age reads ${age}), which
// holds because XLSForm names are unique within a form.
type PathEnv interface {
	Path(path string) (string, bool)
}

// MapEnv is an Env over a map of answers: a field absent from the map does
// not exist. Time is used by today() and now().
type MapEnv struct {
	Answers      map[string]string
	CurrentValue string
	Time         time.Time
}

func (m MapEnv) Value(name string) (string, bool) {
	v, ok := m.Answers[name]
	return v, ok
}
func (m MapEnv) Current() string { return m.CurrentValue }
func (m MapEnv) Now() time.Time  { return m.Time }

// Expr is a parsed expression. It is immutable and safe for concurrent use.
type Expr struct {
	src       string
	canonical string
	root      *node
	refs      []string
	paths     []string
}

// Parse parses src. Errors are *SyntaxError values naming the column, such
// as "expr: col 7: unexpected ')'"; an unknown function or a wrong number
// of arguments is an error here, not when the expression runs.
func Parse(src string) (*Expr, error) {
	root, err := parse(src)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	printNode(&b, root)
	if b.Len() > MaxLength {
		// Spaces around operators can make the canonical form longer than
		// the source; refusing it here keeps Parse(e.String()) working.
		return nil, &SyntaxError{Msg: "expression too long (" + strconv.Itoa(b.Len()) + " bytes in canonical form, at most " + strconv.Itoa(MaxLength) + ")"}
	}
	e := &Expr{src: src, canonical: b.String(), root: root}
	seenRef, seenPath := map[string]bool{}, map[string]bool{}
	walk(root, func(n *node) {
		switch {
		case n.op == opRef && !seenRef[n.str]:
			seenRef[n.str] = true
			e.refs = append(e.refs, n.str)
		case n.op == opPath && !seenPath[n.path]:
			seenPath[n.path] = true
			e.paths = append(e.paths, n.path)
		}
	})
	return e, nil
}

// walk visits n and its descendants in source order.
func walk(n *node, visit func(*node)) {
	visit(n)
	for _, a := range n.args {
		walk(a, visit)
	}
}

// Source returns the text the expression was parsed from.
func (e *Expr) Source() string { return e.src }

// Refs returns the distinct ${name} references in order of first use.
func (e *Expr) Refs() []string { return append([]string(nil), e.refs...) }

// Paths returns the distinct location paths (/data/x, ./x, x) in order of
// first use, as written.
func (e *Expr) Paths() []string { return append([]string(nil), e.paths...) }

// String prints the expression in canonical form: single spaces around
// operators, parentheses only where precedence needs them, numbers in
// XPath form. It parses back to the same tree.
func (e *Expr) String() string { return e.canonical }

func printNode(b *strings.Builder, n *node) {
	switch n.op {
	case opString:
		q := "'"
		if strings.Contains(n.str, "'") {
			q = `"`
		}
		b.WriteString(q + n.str + q)
	case opNumber:
		b.WriteString(FormatNumber(n.num))
	case opRef:
		b.WriteString("${" + n.str + "}")
	case opPath:
		b.WriteString(n.path)
	case opCurrent:
		b.WriteString(".")
	case opNeg:
		b.WriteString("-")
		printOperand(b, n.args[0], n.args[0].prec() < n.prec())
	case opCall:
		b.WriteString(n.str + "(")
		for i, a := range n.args {
			if i > 0 {
				b.WriteString(", ")
			}
			printNode(b, a)
		}
		b.WriteString(")")
	default:
		printOperand(b, n.args[0], n.args[0].prec() < n.prec())
		b.WriteString(" " + n.op + " ")
		printOperand(b, n.args[1], n.args[1].prec() <= n.prec())
	}
}

func printOperand(b *strings.Builder, n *node, paren bool) {
	if paren {
		b.WriteString("(")
	}
	printNode(b, n)
	if paren {
		b.WriteString(")")
	}
}

// AST returns the tree as compact JSON for expr.js. Each node is an array
// whose first element says what it is:
//
//	["s", "text"]             string literal
//	["n", 1.5]                number literal
//	["r", "name"]             ${name}
//	["p", "name", "/data/x"]  location path: its last step, then as written
//	["."]                     the current value
//	["neg", x]                unary minus
//	[op, a, b]                op one of or and = != < <= > >= + - * div mod
//	["f", "name", args…]      function call
func (e *Expr) AST() ([]byte, error) {
	return json.Marshal(astOf(e.root))
}

func astOf(n *node) []any {
	switch n.op {
	case opString, opRef:
		return []any{n.op, n.str}
	case opNumber:
		return []any{n.op, n.num}
	case opPath:
		return []any{n.op, n.str, n.path}
	case opCurrent:
		return []any{n.op}
	case opCall:
		out := []any{n.op, n.str}
		for _, a := range n.args {
			out = append(out, astOf(a))
		}
		return out
	}
	out := []any{n.op}
	for _, a := range n.args {
		out = append(out, astOf(a))
	}
	return out
}

// Eval evaluates the expression. It never fails: as in XPath, a value of
// the wrong kind converts (a non-numeric answer is NaN in arithmetic, and
// NaN compares false), and date functions given something that is not a
// date return "". A nil env has no fields, an empty current value and the
// system clock.
func (e *Expr) Eval(env Env) Value {
	if env == nil {
		env = MapEnv{Time: time.Now()}
	}
	ev := &evaluator{env: env}
	return ev.eval(e.root)
}

// EvalBool evaluates the expression as a boolean, as relevant, constraint
// and checks use it.
func (e *Expr) EvalBool(env Env) bool { return e.Eval(env).Bool() }

type evaluator struct{ env Env }

func (ev *evaluator) eval(n *node) Value {
	switch n.op {
	case opString:
		return StringValue(n.str)
	case opNumber:
		return NumberValue(n.num)
	case opRef, opPath, opCurrent:
		s, _ := ev.field(n)
		return StringValue(s)
	case opNeg:
		return NumberValue(-ev.num(n.args[0]))
	case opCall:
		return n.fn.call(ev, n)
	case "or":
		return BoolValue(ev.bool(n.args[0]) || ev.bool(n.args[1]))
	case "and":
		return BoolValue(ev.bool(n.args[0]) && ev.bool(n.args[1]))
	case "=", "!=", "<", "<=", ">", ">=":
		return BoolValue(compare(n.op, ev.eval(n.args[0]), ev.eval(n.args[1])))
	}
	return NumberValue(arith(n.op, ev.num(n.args[0]), ev.num(n.args[1])))
}

// field reads a reference, path or "."; ok is false when there is no such
// field.
func (ev *evaluator) field(n *node) (string, bool) {
	switch n.op {
	case opRef:
		return ev.env.Value(n.str)
	case opPath:
		if pe, ok := ev.env.(PathEnv); ok {
			return pe.Path(n.path)
		}
		return ev.env.Value(n.str)
	}
	return ev.env.Current(), true
}

func (ev *evaluator) str(n *node) string  { return ev.eval(n).String() }
func (ev *evaluator) num(n *node) float64 { return ev.eval(n).Number() }
func (ev *evaluator) bool(n *node) bool   { return ev.eval(n).Bool() }

// argOrCurrent is the single optional argument of string(), number(),
// string-length() and normalize-space(), which default to ".".
func (ev *evaluator) argOrCurrent(n *node) Value {
	if len(n.args) == 0 {
		return StringValue(ev.env.Current())
	}
	return ev.eval(n.args[0])
}
