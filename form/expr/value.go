package expr

import (
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Kind is the XPath type of a Value.
type Kind uint8

const (
	KindString Kind = iota
	KindNumber
	KindBool
)

func (k Kind) String() string {
	switch k {
	case KindNumber:
		return "number"
	case KindBool:
		return "boolean"
	}
	return "string"
}

// Value is an XPath 1.0 value: a string, a number or a boolean. A field
// reference evaluates to its answer as a string, as JavaRosa unpacks a
// single-node node-set. The zero Value is the empty string.
type Value struct {
	kind Kind
	s    string
	n    float64
	b    bool
}

// StringValue, NumberValue and BoolValue make Values of each kind.
func StringValue(s string) Value    { return Value{kind: KindString, s: s} }
func NumberValue(f float64) Value   { return Value{kind: KindNumber, n: f} }
func BoolValue(b bool) Value        { return Value{kind: KindBool, b: b} }
func (v Value) Kind() Kind          { return v.kind }
func (v Value) isEmptyString() bool { return v.kind == KindString && v.s == "" }

// String converts v by the XPath 1.0 string() rules: integers without a
// decimal point, never an exponent, "NaN", "Infinity", "-Infinity", and
// "true"/"false" for booleans.
func (v Value) String() string {
	switch v.kind {
	case KindNumber:
		return FormatNumber(v.n)
	case KindBool:
		if v.b {
			return "true"
		}
		return "false"
	}
	return v.s
}

// Number converts v by the XPath 1.0 number() rules, extended for dates:
// see ParseNumber.
func (v Value) Number() float64 {
	switch v.kind {
	case KindNumber:
		return v.n
	case KindBool:
		if v.b {
			return 1
		}
		return 0
	}
	return ParseNumber(v.s)
}

// Bool converts v by the XPath 1.0 boolean() rules: a string is true when
// non-empty, a number when neither zero nor NaN.
func (v Value) Bool() bool {
	switch v.kind {
	case KindNumber:
		return v.n != 0 && !math.IsNaN(v.n)
	case KindBool:
		return v.b
	}
	return v.s != ""
}

// FormatNumber is XPath 1.0 number-to-string: the shortest decimal that
// reads back as f, with no exponent ("1000000000000000000000", "0.0000001").
func FormatNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0" // both zeros
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// xpathNumber is the XPath 1.0 Number production with its surrounding
// whitespace: no sign but '-', no exponent, no "Infinity".
var xpathNumber = regexp.MustCompile(`^[ \t\r\n]*(-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))[ \t\r\n]*$`)

// ParseNumber is XPath 1.0 string-to-number: an optionally negative decimal
// with optional surrounding whitespace, else NaN. One extension, because
// every answer reaches the engine as a string while ODK keeps typed date
// values: a date ("2019-07-01") or date-time ("2019-07-01T10:20:30+08:00")
// converts to days since 1970-01-01 (UTC midnight; fractional for a time),
// so date arithmetic and ${d} < today() work as in ODK.
func ParseNumber(s string) float64 {
	if m := xpathNumber.FindStringSubmatch(s); m != nil {
		f, err := strconv.ParseFloat(m[1], 64)
		if err != nil && !math.IsInf(f, 0) { // out of range gives ±Inf, as in JS
			return math.NaN()
		}
		return f
	}
	if d, ok := parseDateTime(strings.Trim(s, " \t\r\n")); ok {
		return d.epochDays()
	}
	return math.NaN()
}

// compare applies XPath 1.0 comparison to two non-node-set values.
func compare(op string, a, b Value) bool {
	switch op {
	case "=", "!=":
		var eq bool
		switch {
		case a.kind == KindBool || b.kind == KindBool:
			eq = a.Bool() == b.Bool()
		case a.kind == KindNumber || b.kind == KindNumber:
			eq = a.Number() == b.Number()
		default:
			eq = a.s == b.s
		}
		return eq == (op == "=")
	}
	x, y := a.Number(), b.Number()
	switch op {
	case "<":
		return x < y
	case "<=":
		return x <= y
	case ">":
		return x > y
	case ">=":
		return x >= y
	}
	return false
}

// arith applies an XPath 1.0 arithmetic operator. mod is the truncating
// remainder (sign of the dividend), like Java's % and JavaScript's %.
func arith(op string, x, y float64) float64 {
	switch op {
	case "+":
		return x + y
	case "-":
		return x - y
	case "*":
		return x * y
	case "div":
		return x / y
	case "mod":
		return math.Mod(x, y)
	}
	return math.NaN()
}
