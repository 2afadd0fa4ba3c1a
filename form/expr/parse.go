package expr

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits that keep hostile input from exhausting the stack, here or in the
// browser: the source length, how deeply parentheses and calls nest, and
// the depth of the tree (a chain of 300 "or"s is 300 deep).
const (
	MaxLength    = 32 << 10 // bytes; an Excel cell holds at most 32,767 characters
	MaxNesting   = 200
	MaxTreeDepth = 1000
)

// Node operators. Binary nodes use the operator as written: or and = != <
// <= > >= + - * div mod.
const (
	opString  = "s"   // string literal
	opNumber  = "n"   // number literal
	opRef     = "r"   // ${name}
	opPath    = "p"   // /data/x, ./x, x: a field named by its last step
	opCurrent = "."   // the current question's value
	opNeg     = "neg" // unary minus
	opCall    = "f"   // function call
)

type node struct {
	op    string
	str   string  // literal text, ref name, path's last step, function name
	path  string  // full path text, for opPath
	num   float64 // number literal
	args  []*node // operands or arguments
	fn    *function
	re    *regexp.Regexp // regex() with a literal pattern, compiled once
	col   int
	depth int
}

// precedence of a node when printed; higher binds tighter.
func (n *node) prec() int {
	switch n.op {
	case "or":
		return 1
	case "and":
		return 2
	case "=", "!=":
		return 3
	case "<", "<=", ">", ">=":
		return 4
	case "+", "-":
		return 5
	case "*", "div", "mod":
		return 6
	case opNeg:
		return 7
	}
	return 8
}

type parser struct {
	toks []token
	pos  int
	nest int
}

func (p *parser) peek() token { return p.toks[p.pos] }
func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

// isOp reports whether the next token is one of the binary operators ops.
// Operator names (and, or, div, mod) are names the lexer cannot tell from
// paths; in operator position XPath reads them as operators.
func (p *parser) isOp(ops ...string) (string, bool) {
	t := p.peek()
	if t.kind != tPunct && t.kind != tName {
		return "", false
	}
	for _, o := range ops {
		if t.text == o {
			return o, true
		}
	}
	return "", false
}

func (p *parser) mk(n *node) (*node, error) {
	for _, a := range n.args {
		n.depth = max(n.depth, a.depth)
	}
	n.depth++
	if n.depth > MaxTreeDepth {
		return nil, errAt(n.col, "expression too deeply nested (more than %d levels)", MaxTreeDepth)
	}
	return n, nil
}

// levels lists the binary operators from loosest to tightest.
var levels = [][]string{
	{"or"},
	{"and"},
	{"=", "!="},
	{"<", "<=", ">", ">="},
	{"+", "-"},
	{"*", "div", "mod"},
}

// binary parses a left-associative chain at precedence level lv.
func (p *parser) binary(lv int) (*node, error) {
	if lv == len(levels) {
		return p.unary()
	}
	left, err := p.binary(lv + 1)
	if err != nil {
		return nil, err
	}
	for {
		op, ok := p.isOp(levels[lv]...)
		if !ok {
			return left, nil
		}
		t := p.next()
		right, err := p.binary(lv + 1)
		if err != nil {
			return nil, err
		}
		if left, err = p.mk(&node{op: op, args: []*node{left, right}, col: t.col}); err != nil {
			return nil, err
		}
	}
}

func (p *parser) unary() (*node, error) {
	var minus []token
	for t := p.peek(); t.kind == tPunct && t.text == "-"; t = p.peek() {
		minus = append(minus, p.next())
	}
	n, err := p.primary()
	if err != nil {
		return nil, err
	}
	for i := len(minus) - 1; i >= 0; i-- {
		if n, err = p.mk(&node{op: opNeg, args: []*node{n}, col: minus[i].col}); err != nil {
			return nil, err
		}
	}
	if t := p.peek(); t.kind == tPunct {
		switch t.text {
		case "|":
			return nil, errAt(t.col, "the union operator '|' is not supported")
		case "[":
			return nil, errAt(t.col, "predicates [...] are not supported")
		case "/", "//":
			return nil, errAt(t.col, "a path cannot follow a value or function call")
		}
	}
	return n, nil
}

func (p *parser) enter(col int) error {
	p.nest++
	if p.nest > MaxNesting {
		return errAt(col, "expression nested too deeply (more than %d levels)", MaxNesting)
	}
	return nil
}

func (p *parser) primary() (*node, error) {
	t := p.peek()
	switch t.kind {
	case tNumber:
		p.next()
		// The lexer admits only digits and one '.', so the only failure is
		// range: overflow is refused, underflow reads as 0 as in JavaScript.
		f, _ := strconv.ParseFloat(t.text, 64)
		if math.IsInf(f, 0) {
			return nil, errAt(t.col, "number %s is too large", t.text)
		}
		return p.mk(&node{op: opNumber, num: f, col: t.col})
	case tString:
		p.next()
		return p.mk(&node{op: opString, str: t.text, col: t.col})
	case tRef:
		p.next()
		return p.mk(&node{op: opRef, str: t.text, col: t.col})
	case tName:
		if nt := p.toks[p.pos+1]; nt.kind == tPunct && nt.text == "(" {
			return p.call()
		}
		return p.locationPath()
	case tPunct:
		switch t.text {
		case "(":
			p.next()
			if err := p.enter(t.col); err != nil {
				return nil, err
			}
			n, err := p.binary(0)
			if err != nil {
				return nil, err
			}
			if c := p.next(); c.kind != tPunct || c.text != ")" {
				return nil, errAt(c.col, "expected ')' to close '(' at col %d, found %s", t.col, c.describe())
			}
			p.nest--
			return n, nil
		case ".", "..", "/":
			return p.locationPath()
		case "//":
			return nil, errAt(t.col, "'//' paths are not supported")
		case "@":
			return nil, errAt(t.col, "attributes (@) are not supported")
		case "*":
			return nil, errAt(t.col, "wildcard '*' is not supported")
		}
	case tEOF:
		return nil, errAt(t.col, "unexpected end of expression")
	}
	return nil, errAt(t.col, "unexpected %s", t.describe())
}

// locationPath parses a path of child steps. It must end in a name, which
// names the field; "." alone is the current value. ".." may appear before
// the last step (pyxform writes relative paths that way).
func (p *parser) locationPath() (*node, error) {
	start := p.peek()
	var b strings.Builder
	last := ""
	if start.kind == tPunct && start.text == "/" {
		p.next()
		b.WriteString("/")
	}
	for {
		t := p.next()
		switch {
		case t.kind == tName:
			last = t.text
		case t.kind == tPunct && (t.text == "." || t.text == ".."):
			last = ""
		case t.kind == tPunct && t.text == "*":
			return nil, errAt(t.col, "wildcard '*' is not supported")
		case t.kind == tPunct && t.text == "@":
			return nil, errAt(t.col, "attributes (@) are not supported")
		default:
			return nil, errAt(t.col, "expected a path step, found %s", t.describe())
		}
		b.WriteString(t.text)
		if strings.Contains(t.text, ":") {
			return nil, errAt(t.col, "'%s' is not a field name", t.text)
		}
		nt := p.peek()
		if nt.kind == tPunct && nt.text == "[" {
			return nil, errAt(nt.col, "predicates [...] are not supported")
		}
		if nt.kind != tPunct || nt.text != "/" {
			break
		}
		p.next()
		b.WriteString("/")
	}
	text := b.String()
	switch {
	case text == ".":
		return p.mk(&node{op: opCurrent, col: start.col})
	case last == "":
		return nil, errAt(start.col, "path '%s' must end in a field name", text)
	}
	return p.mk(&node{op: opPath, str: last, path: text, col: start.col})
}

func (p *parser) call() (*node, error) {
	name := p.next()
	open := p.next() // "("
	if err := p.enter(open.col); err != nil {
		return nil, err
	}
	n := &node{op: opCall, str: name.text, col: name.col}
	if t := p.peek(); t.kind == tPunct && t.text == ")" {
		p.next()
	} else {
		for {
			a, err := p.binary(0)
			if err != nil {
				return nil, err
			}
			n.args = append(n.args, a)
			t := p.next()
			if t.kind == tPunct && t.text == ")" {
				break
			}
			if t.kind != tPunct || t.text != "," {
				return nil, errAt(t.col, "expected ',' or ')' in call of %s(), found %s", name.text, t.describe())
			}
		}
	}
	p.nest--
	if err := bind(n); err != nil {
		return nil, err
	}
	return p.mk(n)
}

// bind looks the function up and checks what can be checked before any
// answer exists: the number of arguments, field-reference arguments, and
// literal regular expressions.
func bind(n *node) error {
	f, ok := functions[n.str]
	if !ok {
		return &SyntaxError{Col: n.col, Msg: "unknown function '" + n.str + "'", colLast: true}
	}
	if len(n.args) < f.min || f.max >= 0 && len(n.args) > f.max {
		return &SyntaxError{Col: n.col, Msg: "function '" + n.str + "' takes " + f.arity() + ", got " + strconv.Itoa(len(n.args)), colLast: true}
	}
	if f.nodeArg {
		switch n.args[0].op {
		case opRef, opPath, opCurrent:
		default:
			return errAt(n.args[0].col, "%s() needs a field reference such as ${name}", n.str)
		}
	}
	n.fn = f
	if n.str == "regex" && n.args[1].op == opString {
		re, err := compileRegex(n.args[1].str)
		if err != nil {
			return errAt(n.args[1].col, "invalid regular expression: %v", err)
		}
		n.re = re
	}
	return nil
}

func parse(src string) (*node, error) {
	if len(src) > MaxLength {
		return nil, &SyntaxError{Msg: "expression too long (" + strconv.Itoa(len(src)) + " bytes, at most " + strconv.Itoa(MaxLength) + ")"}
	}
	if !utf8.ValidString(src) {
		return nil, &SyntaxError{Msg: "expression is not valid UTF-8"}
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	if toks[0].kind == tEOF {
		return nil, &SyntaxError{Msg: "empty expression"}
	}
	p := &parser{toks: toks}
	n, err := p.binary(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, errAt(t.col, "unexpected %s", t.describe())
	}
	return n, nil
}
