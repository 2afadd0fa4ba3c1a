package expr

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// caseFile is testdata/cases.json, shared with the browser test of expr.js.
type caseFile struct {
	Now      string     `json:"now"`      // the clock of every case, RFC 3339
	Timezone string     `json:"timezone"` // an IANA zone with now's offset, for the browser
	Cases    []testCase `json:"cases"`
}

type testCase struct {
	Expr    string            `json:"expr"`
	Answers map[string]string `json:"answers"` // absent key: no such field
	Current string            `json:"current"`
	Want    *want             `json:"want"`
	Error   string            `json:"error"` // substring of the parse error
	Note    string            `json:"note"`
}

// want holds one expected conversion of the result, and optionally its type.
type want struct {
	String *string          `json:"string"`
	Bool   *bool            `json:"bool"`
	Number *json.RawMessage `json:"number"` // a JSON number, or "NaN", "Infinity", "-Infinity"
	Type   string           `json:"type"`
}

func loadCases(t testing.TB) caseFile {
	t.Helper()
	b, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cf caseFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cf); err != nil {
		t.Fatalf("testdata/cases.json: %v", err)
	}
	return cf
}

func (cf caseFile) now(t testing.TB) time.Time {
	now, err := time.Parse(time.RFC3339, cf.Now)
	if err != nil {
		t.Fatal(err)
	}
	return now
}

func (w *want) number() (float64, error) {
	var f float64
	if err := json.Unmarshal(*w.Number, &f); err == nil {
		return f, nil
	}
	var s string
	if err := json.Unmarshal(*w.Number, &s); err != nil {
		return 0, err
	}
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	}
	return 0, strconv.ErrSyntax
}

// check compares v with w and describes any difference.
func (w *want) check(v Value) string {
	var problems []string
	if w.Type != "" && v.Kind().String() != w.Type {
		problems = append(problems, "type "+v.Kind().String()+", want "+w.Type)
	}
	switch {
	case w.String != nil:
		if got := v.String(); got != *w.String {
			problems = append(problems, strconv.Quote(got)+", want "+strconv.Quote(*w.String))
		}
	case w.Bool != nil:
		if got := v.Bool(); got != *w.Bool {
			problems = append(problems, "bool "+strconv.FormatBool(got)+", want "+strconv.FormatBool(*w.Bool))
		}
	case w.Number != nil:
		f, err := w.number()
		if err != nil {
			return "bad want.number " + string(*w.Number)
		}
		got := v.Number()
		if !(got == f || math.IsNaN(got) && math.IsNaN(f)) {
			problems = append(problems, "number "+FormatNumber(got)+", want "+FormatNumber(f))
		}
	default:
		return "case has no want"
	}
	return strings.Join(problems, "; ")
}

func TestCases(t *testing.T) {
	cf := loadCases(t)
	now := cf.now(t)
	for i, c := range cf.Cases {
		t.Run(strconv.Itoa(i)+":"+c.Expr, func(t *testing.T) {
			e, err := Parse(c.Expr)
			if c.Error != "" {
				if err == nil {
					t.Fatalf("Parse(%q) succeeded, want error containing %q", c.Expr, c.Error)
				}
				if !strings.Contains(err.Error(), c.Error) {
					t.Fatalf("Parse(%q) error %q, want it to contain %q", c.Expr, err, c.Error)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.Expr, err)
			}
			v := e.Eval(MapEnv{Answers: c.Answers, CurrentValue: c.Current, Time: now})
			if msg := c.Want.check(v); msg != "" {
				t.Errorf("%s with answers %v, current %q: %s", c.Expr, c.Answers, c.Current, msg)
			}
		})
	}
}

// TestStringRoundTrip checks that the canonical form of every case parses
// back to the same tree, and that printing is stable.
func TestStringRoundTrip(t *testing.T) {
	for _, c := range loadCases(t).Cases {
		e, err := Parse(c.Expr)
		if err != nil {
			continue
		}
		assertRoundTrip(t, e)
	}
}

func assertRoundTrip(t testing.TB, e *Expr) {
	t.Helper()
	s := e.String()
	back, err := Parse(s)
	if err != nil {
		t.Fatalf("String() of %q is %q, which does not parse: %v", e.Source(), s, err)
	}
	a1, err1 := e.AST()
	a2, err2 := back.AST()
	if err1 != nil || err2 != nil {
		t.Fatalf("AST of %q: %v, %v", e.Source(), err1, err2)
	}
	if !bytes.Equal(a1, a2) {
		t.Fatalf("%q printed as %q parses to a different tree:\n%s\n%s", e.Source(), s, a1, a2)
	}
	if s2 := back.String(); s2 != s {
		t.Fatalf("String() not stable: %q then %q", s, s2)
	}
}

func TestString(t *testing.T) {
	tests := []struct{ src, want string }{
		{"1+2*3", "1 + 2 * 3"},
		{"(1+2)*3", "(1 + 2) * 3"},
		{"1-(2-3)", "1 - (2 - 3)"},
		{"(1-2)-3", "1 - 2 - 3"},
		{"-(1+2)", "-(1 + 2)"},
		{"- -1", "--1"},
		{"3 - -2", "3 - -2"},
		{"not( ${a}='x' )", "not(${a} = 'x')"},
		{`"it's"`, `"it's"`},
		{`"plain"`, `'plain'`},
		{"1.50", "1.5"},
		{"a or b and c", "a or b and c"},
		{"(a or b) and c", "(a or b) and c"},
		{"a and (b or c)", "a and (b or c)"},
		{"1 = (2 = 3)", "1 = (2 = 3)"},
		{"(1 < 2) = (3 > 4)", "1 < 2 = 3 > 4"},
		{"/data/x", "/data/x"},
		{"../x", "../x"},
		{" . ", "."},
		{"concat( 'a' ,${b},1 )", "concat('a', ${b}, 1)"},
		{"1000000000000000000000000", "1000000000000000000000000"},
		{"0.00000001", "0.00000001"},
		{"if(${a}mod 2=0,'even','odd')", "if(${a} mod 2 = 0, 'even', 'odd')"},
	}
	for _, tt := range tests {
		e, err := Parse(tt.src)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.src, err)
		}
		if got := e.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.src, got, tt.want)
		}
		assertRoundTrip(t, e)
	}
}

func TestRefsAndPaths(t *testing.T) {
	e, err := Parse("${a} + ${b} * ${a} + /data/c + count(${b}) + ./d + /data/c")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.Refs(), []string{"a", "b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Refs() = %v, want %v", got, want)
	}
	if got, want := e.Paths(), []string{"/data/c", "./d"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Paths() = %v, want %v", got, want)
	}
	e.Refs()[0] = "changed"
	if e.Refs()[0] != "a" {
		t.Error("Refs() exposes the expression's own slice")
	}
	if e, _ := Parse("1 + 1"); e.Refs() != nil {
		t.Errorf("Refs() of a constant = %v, want none", e.Refs())
	}
}

func TestAST(t *testing.T) {
	tests := []struct{ src, want string }{
		{"${a} = 'x'", `["=",["r","a"],["s","x"]]`},
		{"not(1.5)", `["f","not",["n",1.5]]`},
		{"-./x", `["neg",["p","x","./x"]]`},
		{". and today()", `["and",["."],["f","today"]]`},
		{"1 div 3 mod 2", `["mod",["div",["n",1],["n",3]],["n",2]]`},
		{"1000000000000000000000000", `["n",1e+24]`},
	}
	for _, tt := range tests {
		e, err := Parse(tt.src)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.src, err)
		}
		got, err := e.AST()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("AST(%q) = %s, want %s", tt.src, got, tt.want)
		}
	}
}

func TestLimits(t *testing.T) {
	tests := []struct {
		name, src, err string
	}{
		{"too long", strings.Repeat("1+", MaxLength/2) + "1", "expression too long"},
		{"nested parentheses", strings.Repeat("(", MaxNesting+1) + "1" + strings.Repeat(")", MaxNesting+1), "nested too deeply"},
		{"nested calls", strings.Repeat("not(", MaxNesting+1) + "1" + strings.Repeat(")", MaxNesting+1), "nested too deeply"},
		{"long chain", strings.Repeat("1 or ", MaxTreeDepth) + "1", "too deeply nested"},
		{"unary chain", strings.Repeat("-", MaxTreeDepth) + "1", "too deeply nested"},
		{"long canonical form", "concat(" + strings.Repeat("1,", 12000) + "1)", "bytes in canonical form"},
		{"number overflow", "1" + strings.Repeat("0", 309), "col 1: number 1000"},
		{"invalid UTF-8", "'\xff'", "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.src)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want it to contain %q", err, tt.err)
			}
		})
	}
	// Just inside the limits still parses.
	for _, src := range []string{
		strings.Repeat("(", MaxNesting) + "1" + strings.Repeat(")", MaxNesting),
		strings.Repeat("1 or ", MaxTreeDepth-2) + "1",
		"1" + strings.Repeat("0", 300),
	} {
		if _, err := Parse(src); err != nil {
			t.Errorf("Parse(%.40q…): %v", src, err)
		}
	}
}

// TestCorpus parses the expressions of the pyxform test forms: the ones
// using features outside the subset must fail with a message, the others
// must parse and print back to the same tree.
func TestCorpus(t *testing.T) {
	b, err := os.ReadFile("testdata/corpus.txt")
	if err != nil {
		t.Fatal(err)
	}
	parsed := 0
	for _, src := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		e, err := Parse(src)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "expr: ") {
				t.Errorf("Parse(%q): error without prefix: %v", src, err)
			}
			continue
		}
		parsed++
		assertRoundTrip(t, e)
	}
	if parsed == 0 {
		t.Fatal("no corpus expression parsed")
	}
}

// pathEnv resolves paths itself, as a choice_filter environment does.
type pathEnv struct{ MapEnv }

func (p pathEnv) Path(path string) (string, bool) {
	if path == "state" {
		return "choice-state", true
	}
	return "", false
}

func TestPathEnv(t *testing.T) {
	e, err := Parse("state = ${state}")
	if err != nil {
		t.Fatal(err)
	}
	env := pathEnv{MapEnv{Answers: map[string]string{"state": "choice-state"}}}
	if !e.EvalBool(env) {
		t.Error("path did not resolve through PathEnv")
	}
	env.Answers["state"] = "other"
	if e.EvalBool(env) {
		t.Error("${state} resolved through PathEnv instead of Value")
	}
}

func TestNilEnv(t *testing.T) {
	e, err := Parse("${a} = '' and . = '' and string-length(today()) = 10")
	if err != nil {
		t.Fatal(err)
	}
	if !e.EvalBool(nil) {
		t.Error("nil env: want no fields, empty current value and a clock")
	}
}

func TestConcurrentEval(t *testing.T) {
	e, err := Parse("regex(${a}, '[0-9]+') and ${a} > 5")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan bool)
	for i := range 4 {
		go func() {
			env := MapEnv{Answers: map[string]string{"a": strconv.Itoa(i + 4)}}
			done <- e.EvalBool(env) == (i+4 > 5)
		}()
	}
	for range 4 {
		if !<-done {
			t.Error("wrong result under concurrent evaluation")
		}
	}
}
