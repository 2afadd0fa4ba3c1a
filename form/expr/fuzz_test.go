package expr

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// seedExpressions are the expressions of cases.json and of the pyxform
// corpus (testdata/corpus.txt).
func seedExpressions(f *testing.F) []string {
	var out []string
	for _, c := range loadCases(f).Cases {
		out = append(out, c.Expr)
	}
	b, err := os.ReadFile("testdata/corpus.txt")
	if err != nil {
		f.Fatal(err)
	}
	return append(out, strings.Split(strings.TrimSpace(string(b)), "\n")...)
}

// FuzzParse: Parse never panics, fails only with a *SyntaxError, and what
// it accepts prints back to the same tree and encodes as an AST.
func FuzzParse(f *testing.F) {
	for _, src := range seedExpressions(f) {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || !strings.HasPrefix(err.Error(), "expr: ") {
				t.Fatalf("Parse(%q): unexpected error %T %v", src, err, err)
			}
			return
		}
		assertRoundTrip(t, e)
	})
}

// FuzzEval: evaluating any expression over any answers never panics and
// its value converts to every type. Every reference reads one of the two
// fuzzed answers, so comparisons and functions see arbitrary strings.
func FuzzEval(f *testing.F) {
	for i, src := range seedExpressions(f) {
		a, b := []string{"", "12", "a b c", "2019-07-01", "-0.5", "中文"}[i%6], []string{"yes", "", "1e3", " 7 "}[i%4]
		f.Add(src, a, b, b)
	}
	now := time.Date(2019, 7, 1, 10, 20, 30, 0, time.FixedZone("", 8*3600))
	f.Fuzz(func(t *testing.T, src, a, b, current string) {
		e, err := Parse(src)
		if err != nil {
			return
		}
		answers := map[string]string{}
		for i, name := range e.Refs() {
			answers[name] = []string{a, b}[i%2]
		}
		for i, p := range e.Paths() {
			answers[p[strings.LastIndex(p, "/")+1:]] = []string{b, a}[i%2]
		}
		v := e.Eval(MapEnv{Answers: answers, CurrentValue: current, Time: now})
		_, _, _ = v.String(), v.Number(), v.Bool()
	})
}
