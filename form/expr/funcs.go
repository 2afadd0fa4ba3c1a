package expr

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// function is one built-in: its arity and its implementation. Arguments
// are passed unevaluated so if(), coalesce() and once() evaluate only what
// they need and count() can see that its argument is a field.
type function struct {
	min, max int  // max < 0: any number
	nodeArg  bool // the first argument must be a field reference
	call     func(ev *evaluator, n *node) Value
}

func (f *function) arity() string {
	switch {
	case f.max == f.min && f.min == 1:
		return "1 argument"
	case f.max == f.min:
		return strconv.Itoa(f.min) + " arguments"
	case f.max < 0:
		return "at least " + strconv.Itoa(f.min) + " argument" + plural(f.min)
	}
	return strconv.Itoa(f.min) + " to " + strconv.Itoa(f.max) + " arguments"
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// The built-in functions: the ODK XForms set minus those that need a form
// instance (instance(), jr:choice-name(), indexed-repeat(), position(),
// pulldata(), geo functions) and digest(). expr.js implements the same
// list; keep them in step.
var functions = map[string]*function{
	// Control and logic.
	"if":                  {3, 3, false, fnIf},
	"coalesce":            {2, -1, false, fnCoalesce},
	"not":                 {1, 1, false, func(ev *evaluator, n *node) Value { return BoolValue(!ev.bool(n.args[0])) }},
	"true":                {0, 0, false, func(*evaluator, *node) Value { return BoolValue(true) }},
	"false":               {0, 0, false, func(*evaluator, *node) Value { return BoolValue(false) }},
	"boolean":             {1, 1, false, func(ev *evaluator, n *node) Value { return BoolValue(ev.bool(n.args[0])) }},
	"boolean-from-string": {1, 1, false, fnBooleanFromString},
	"once":                {1, 1, false, fnOnce},
	"checklist":           {2, -1, false, fnChecklist},

	// Conversion and numbers.
	"string":  {0, 1, false, func(ev *evaluator, n *node) Value { return StringValue(ev.argOrCurrent(n).String()) }},
	"number":  {0, 1, false, func(ev *evaluator, n *node) Value { return NumberValue(ev.argOrCurrent(n).Number()) }},
	"int":     {1, 1, false, num1(math.Trunc)},
	"round":   {1, 2, false, fnRound},
	"floor":   {1, 1, false, num1(math.Floor)},
	"ceiling": {1, 1, false, num1(math.Ceil)},
	"abs":     {1, 1, false, num1(math.Abs)},
	"pow":     {2, 2, false, func(ev *evaluator, n *node) Value { return NumberValue(pow(ev.num(n.args[0]), ev.num(n.args[1]))) }},
	"sqrt":    {1, 1, false, num1(math.Sqrt)},
	"exp":     {1, 1, false, num1(math.Exp)},
	"exp10":   {1, 1, false, num1(func(x float64) float64 { return pow(10, x) })},
	"log":     {1, 1, false, num1(math.Log)},
	"log10":   {1, 1, false, num1(log10)},
	"pi":      {0, 0, false, func(*evaluator, *node) Value { return NumberValue(math.Pi) }},
	"sin":     {1, 1, false, num1(math.Sin)},
	"cos":     {1, 1, false, num1(math.Cos)},
	"tan":     {1, 1, false, num1(math.Tan)},
	"asin":    {1, 1, false, num1(math.Asin)},
	"acos":    {1, 1, false, num1(math.Acos)},
	"atan":    {1, 1, false, num1(math.Atan)},
	"atan2": {2, 2, false, func(ev *evaluator, n *node) Value {
		return NumberValue(math.Atan2(ev.num(n.args[0]), ev.num(n.args[1])))
	}},
	"random": {0, 0, false, func(*evaluator, *node) Value { return NumberValue(rand.Float64()) }},

	// Strings. Lengths and positions count characters (code points), the
	// same in Go and in expr.js.
	"string-length": {0, 1, false, func(ev *evaluator, n *node) Value {
		return NumberValue(float64(utf8.RuneCountInString(ev.argOrCurrent(n).String())))
	}},
	"normalize-space":  {0, 1, false, func(ev *evaluator, n *node) Value { return StringValue(normalizeSpace(ev.argOrCurrent(n).String())) }},
	"concat":           {0, -1, false, fnConcat},
	"join":             {1, -1, false, fnJoin},
	"contains":         {2, 2, false, str2(strings.Contains)},
	"starts-with":      {2, 2, false, str2(strings.HasPrefix)},
	"ends-with":        {2, 2, false, str2(strings.HasSuffix)},
	"substr":           {2, 3, false, fnSubstr},
	"substring":        {2, 3, false, fnSubstring},
	"substring-before": {2, 2, false, fnSubstringBefore},
	"substring-after":  {2, 2, false, fnSubstringAfter},
	"translate":        {3, 3, false, fnTranslate},
	"regex":            {2, 2, false, fnRegex},
	"uuid":             {0, 1, false, fnUUID},

	// Multiple-choice answers: choice names separated by spaces.
	"selected":       {2, 2, false, fnSelected},
	"count-selected": {1, 1, false, func(ev *evaluator, n *node) Value { return NumberValue(float64(len(choices(ev.str(n.args[0]))))) }},
	"selected-at":    {2, 2, false, fnSelectedAt},

	// Aggregates. Without repeats a field is a node-set of one node.
	"sum":             {1, 1, true, fnSum},
	"count":           {1, 1, true, fnCount},
	"count-non-empty": {1, 1, true, fnCountNonEmpty},
	"max":             {1, -1, false, func(ev *evaluator, n *node) Value { return NumberValue(extreme(ev, n, 1)) }},
	"min":             {1, -1, false, func(ev *evaluator, n *node) Value { return NumberValue(extreme(ev, n, -1)) }},

	// Dates (see dates.go).
	"today":             {0, 0, false, func(ev *evaluator, _ *node) Value { return StringValue(todayString(ev.env.Now())) }},
	"now":               {0, 0, false, func(ev *evaluator, _ *node) Value { return StringValue(nowString(ev.env.Now())) }},
	"date":              {1, 1, false, fnDate},
	"decimal-date-time": {1, 1, false, fnDecimalDateTime},
	"format-date":       {2, 2, false, fnFormatDate},
	"format-date-time":  {2, 2, false, fnFormatDate},
}

func num1(f func(float64) float64) func(*evaluator, *node) Value {
	return func(ev *evaluator, n *node) Value { return NumberValue(f(ev.num(n.args[0]))) }
}

func str2(f func(string, string) bool) func(*evaluator, *node) Value {
	return func(ev *evaluator, n *node) Value { return BoolValue(f(ev.str(n.args[0]), ev.str(n.args[1]))) }
}

func fnIf(ev *evaluator, n *node) Value {
	if ev.bool(n.args[0]) {
		return ev.eval(n.args[1])
	}
	return ev.eval(n.args[2])
}

// coalesce returns the first argument that is neither "" nor NaN, else the
// last one.
func fnCoalesce(ev *evaluator, n *node) Value {
	var v Value
	for _, a := range n.args {
		v = ev.eval(a)
		if !(v.isEmptyString() || v.kind == KindNumber && math.IsNaN(v.n)) {
			return v
		}
	}
	return v
}

func fnBooleanFromString(ev *evaluator, n *node) Value {
	s := ev.str(n.args[0])
	return BoolValue(strings.EqualFold(s, "true") || s == "1")
}

// once keeps the question's value once it has one.
func fnOnce(ev *evaluator, n *node) Value {
	if cur := ev.env.Current(); cur != "" {
		return StringValue(cur)
	}
	return ev.eval(n.args[0])
}

// checklist(min, max, v…) is true when the number of true v is within
// [min, max]; a negative bound is no bound.
func fnChecklist(ev *evaluator, n *node) Value {
	lo, hi := toIndex(ev.num(n.args[0])), toIndex(ev.num(n.args[1]))
	count := 0
	for _, a := range n.args[2:] {
		if ev.bool(a) {
			count++
		}
	}
	return BoolValue((lo < 0 || count >= lo) && (hi < 0 || count <= hi))
}

func fnRound(ev *evaluator, n *node) Value {
	places := 0.0
	if len(n.args) == 2 {
		places = ev.num(n.args[1])
	}
	return NumberValue(roundPlaces(ev.num(n.args[0]), places))
}

// roundPlaces is ODK's round(x, places): decimal rounding of the shortest
// decimal form of x, halves toward +Infinity (so round(2.5) = 3,
// round(-2.5) = -2, round(1.005, 2) = 1.01 as the number is written, not
// as it is stored in binary). places is truncated; beyond ±30 gives NaN,
// as in JavaRosa. Negative places round to tens, hundreds, … .
func roundPlaces(x, places float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	d := toIndex(places)
	if d > 30 || d < -30 {
		return math.NaN()
	}
	if x == 0 {
		return 0
	}
	mant, expo, _ := strings.Cut(strconv.FormatFloat(math.Abs(x), 'e', -1, 64), "e")
	e, _ := strconv.Atoi(expo)
	digits := strings.Replace(mant, ".", "", 1)
	keep := e + 1 + d // significant digits left of the rounding point
	if keep >= len(digits) {
		return x
	}
	if keep < 0 {
		return 0
	}
	kept, rest := digits[:keep], strings.TrimRight(digits[keep:], "0")
	if kept == "" {
		kept = "0"
	}
	if rest != "" && (rest[0] > '5' || rest[0] == '5' && (len(rest) > 1 || x > 0)) {
		kept = incDecimal(kept)
	}
	r, _ := strconv.ParseFloat(kept+"e"+strconv.Itoa(e+1-keep), 64)
	if r == 0 {
		return 0
	}
	if x < 0 {
		r = -r
	}
	return r
}

// incDecimal adds one to a string of decimal digits.
func incDecimal(s string) string {
	b := []byte(s)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < '9' {
			b[i]++
			return string(b)
		}
		b[i] = '0'
	}
	return "1" + string(b)
}

// toIndex converts a number to an int as Java's (int) cast does: truncate,
// NaN to 0, saturate at the int32 range.
func toIndex(f float64) int {
	switch {
	case math.IsNaN(f):
		return 0
	case f >= math.MaxInt32:
		return math.MaxInt32
	case f <= math.MinInt32:
		return math.MinInt32
	}
	return int(f)
}

// pow follows Java and JavaScript rather than C where they differ (a NaN
// exponent, or ±1 to an infinite power, is NaN). A small integer exponent
// is computed by repeated squaring, the same steps in expr.js, so that
// pow(10, -4) is exactly 0.0001 on both sides.
func pow(x, y float64) float64 {
	switch {
	case math.IsNaN(y):
		return math.NaN()
	case math.IsInf(y, 0) && math.Abs(x) == 1:
		return math.NaN()
	case y == math.Trunc(y) && math.Abs(y) <= 64:
		r, b := 1.0, x
		for k := int(math.Abs(y)); k > 0; k >>= 1 {
			if k&1 == 1 {
				r *= b
			}
			b *= b
		}
		if y < 0 {
			return 1 / r
		}
		return r
	}
	return math.Pow(x, y)
}

// log10 is exact for powers of ten (Go's math.Log10(0.1) is
// -0.9999999999999999); elsewhere the last digit may differ from the
// browser's Math.log10, as for the other transcendental functions.
func log10(x float64) float64 {
	r := math.Log10(x)
	if k := math.Round(r); !math.IsInf(k, 0) && !math.IsNaN(k) {
		if p, err := strconv.ParseFloat("1e"+strconv.Itoa(int(k)), 64); err == nil && p == x {
			return k
		}
	}
	return r
}

// normalizeSpace trims and collapses XPath whitespace (space, tab, CR, LF).
func normalizeSpace(s string) string {
	return strings.Join(strings.FieldsFunc(s, isXPathSpace), " ")
}

func isXPathSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' }

func fnConcat(ev *evaluator, n *node) Value {
	var b strings.Builder
	for _, a := range n.args {
		b.WriteString(ev.str(a))
	}
	return StringValue(b.String())
}

func fnJoin(ev *evaluator, n *node) Value {
	sep := ev.str(n.args[0])
	parts := make([]string, 0, len(n.args)-1)
	for _, a := range n.args[1:] {
		parts = append(parts, ev.str(a))
	}
	return StringValue(strings.Join(parts, sep))
}

// substr(s, start[, end]) is ODK's: 0-based, end exclusive, negative
// positions count from the end.
func fnSubstr(ev *evaluator, n *node) Value {
	rs := []rune(ev.str(n.args[0]))
	l := len(rs)
	start, end := toIndex(ev.num(n.args[1])), l
	if len(n.args) == 3 {
		end = toIndex(ev.num(n.args[2]))
	}
	if start < 0 {
		start += l
	}
	if end < 0 {
		end += l
	}
	start, end = min(max(start, 0), l), min(max(end, 0), l)
	if start > end {
		return StringValue("")
	}
	return StringValue(string(rs[start:end]))
}

// substring(s, start[, length]) is XPath 1.0's: 1-based, with the
// positions rounded, so NaN and infinities fall out of the comparisons.
func fnSubstring(ev *evaluator, n *node) Value {
	s := ev.str(n.args[0])
	start := xpathRound(ev.num(n.args[1]))
	end := math.Inf(1)
	if len(n.args) == 3 {
		end = start + xpathRound(ev.num(n.args[2]))
	}
	var b strings.Builder
	p := 0.0
	for _, r := range s {
		p++
		if p >= start && p < end {
			b.WriteRune(r)
		}
	}
	return StringValue(b.String())
}

// xpathRound is XPath 1.0 round(): nearest integer, halves toward +Infinity.
func xpathRound(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	r := math.Floor(x)
	if x-r >= 0.5 {
		r++
	}
	return r
}

func fnSubstringBefore(ev *evaluator, n *node) Value {
	s, sep := ev.str(n.args[0]), ev.str(n.args[1])
	before, _, ok := strings.Cut(s, sep)
	if !ok {
		return StringValue("")
	}
	return StringValue(before)
}

func fnSubstringAfter(ev *evaluator, n *node) Value {
	s, sep := ev.str(n.args[0]), ev.str(n.args[1])
	_, after, ok := strings.Cut(s, sep)
	if !ok {
		return StringValue("")
	}
	return StringValue(after)
}

// translate maps each character of from to the one at the same place in
// to, deleting it when to is shorter; the first occurrence in from wins.
func fnTranslate(ev *evaluator, n *node) Value {
	s := ev.str(n.args[0])
	from, to := []rune(ev.str(n.args[1])), []rune(ev.str(n.args[2]))
	var b strings.Builder
	for _, r := range s {
		i := indexRune(from, r)
		switch {
		case i < 0:
			b.WriteRune(r)
		case i < len(to):
			b.WriteRune(to[i])
		}
	}
	return StringValue(b.String())
}

func indexRune(rs []rune, r rune) int {
	for i, c := range rs {
		if c == r {
			return i
		}
	}
	return -1
}

// compileRegex anchors a pattern at both ends, as Java's
// Pattern.matches() (what ODK Collect uses) matches the whole value.
//
// ODK's regex() is Java regex; this is Go's RE2 (and the browser's
// RegExp in expr.js). The common XLSForm patterns agree (classes, [0-9],
// \d, {n,m}, alternation, ^ $). They differ in: lookaround (?=…) (?!…)
// (?<=…), backreferences \1, possessive quantifiers and atomic groups
// (Java and JavaScript only, refused here: a literal pattern is a parse
// error, a pattern read from an answer matches nothing); inline flags
// (?i) (Go and Java; older browsers refuse them); \s (Go: ASCII space,
// \t \n \f \r; Java adds \x0B; JavaScript adds Unicode spaces); \p{…}
// class names (Go and JavaScript use Unicode names, Java also POSIX
// ones such as \p{Alpha}).
func compileRegex(p string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(p); err != nil {
		return nil, err
	}
	return regexp.Compile(`^(?:` + p + `)$`)
}

func fnRegex(ev *evaluator, n *node) Value {
	s := ev.str(n.args[0])
	re := n.re
	if re == nil {
		var err error
		if re, err = compileRegex(ev.str(n.args[1])); err != nil {
			return BoolValue(false)
		}
	}
	return BoolValue(re.MatchString(s))
}

// fnUUID returns a random version-4 UUID, or with an argument a random
// string of that many letters and digits (at most 1024).
func fnUUID(ev *evaluator, n *node) Value {
	if len(n.args) == 1 {
		const alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		b := make([]byte, min(max(toIndex(ev.num(n.args[0])), 0), 1024))
		for i := range b {
			b[i] = alnum[rand.IntN(len(alnum))]
		}
		return StringValue(string(b))
	}
	var u [16]byte
	for i := range u {
		u[i] = byte(rand.Uint32())
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return StringValue(fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16]))
}

// selected(list, name) is true when name (trimmed) is one of the
// space-separated choices in list.
func fnSelected(ev *evaluator, n *node) Value {
	list := ev.str(n.args[0])
	name := strings.Trim(ev.str(n.args[1]), " \t\r\n")
	return BoolValue(strings.Contains(" "+list+" ", " "+name+" "))
}

func choices(list string) []string {
	var out []string
	for _, c := range strings.Split(list, " ") {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

// selected-at(list, i) is the i-th (0-based) choice, "" when out of range.
func fnSelectedAt(ev *evaluator, n *node) Value {
	cs := choices(ev.str(n.args[0]))
	i := toIndex(ev.num(n.args[1]))
	if i < 0 || i >= len(cs) {
		return StringValue("")
	}
	return StringValue(cs[i])
}

// sum over one field: its number, or 0 when it is not one (JavaRosa skips
// NaN values).
func fnSum(ev *evaluator, n *node) Value {
	s, _ := ev.field(n.args[0])
	f := ParseNumber(s)
	if math.IsNaN(f) {
		f = 0
	}
	return NumberValue(f)
}

func fnCount(ev *evaluator, n *node) Value {
	if _, ok := ev.field(n.args[0]); ok {
		return NumberValue(1)
	}
	return NumberValue(0)
}

func fnCountNonEmpty(ev *evaluator, n *node) Value {
	if s, ok := ev.field(n.args[0]); ok && s != "" {
		return NumberValue(1)
	}
	return NumberValue(0)
}

// extreme is max (sign 1) or min (sign -1) of the arguments as numbers,
// skipping NaN; NaN when none is a number.
func extreme(ev *evaluator, n *node, sign float64) float64 {
	best := math.NaN()
	for _, a := range n.args {
		f := ev.num(a)
		if math.IsNaN(f) {
			continue
		}
		if math.IsNaN(best) || (f-best)*sign > 0 {
			best = f
		}
	}
	return best
}

// date(x) is the calendar date of x: a number of days (truncated, as in
// JavaRosa), or the date part of a date or date-time string. Anything
// else, and years outside 0000–9999, give "".
func fnDate(ev *evaluator, n *node) Value {
	v := ev.eval(n.args[0])
	var c civil
	var ok bool
	if v.kind == KindString && !xpathNumber.MatchString(v.s) {
		c, ok = parseDateTime(strings.Trim(v.s, " \t\r\n"))
	} else {
		c, ok = civilFromNumber(math.Trunc(v.Number()))
	}
	if !ok || !c.inRange() {
		return StringValue("")
	}
	return StringValue(c.dateString())
}

// decimal-date-time(x) is x in days since the epoch; "" stays "".
func fnDecimalDateTime(ev *evaluator, n *node) Value {
	v := ev.eval(n.args[0])
	if v.isEmptyString() {
		return v
	}
	return NumberValue(v.Number())
}

func fnFormatDate(ev *evaluator, n *node) Value {
	c, ok := civilFromValue(ev.eval(n.args[0]))
	if !ok || !c.inRange() {
		return StringValue("")
	}
	return StringValue(formatDate(c, ev.str(n.args[1])))
}
