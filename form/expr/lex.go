package expr

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF    tokKind = iota
	tNumber         // 12, 1.5, .5
	tString         // 'a' or "a", text without quotes
	tRef            // ${name}, text is the name
	tName           // NCName or prefix:NCName; also and/or/div/mod, told apart by the parser
	tPunct          // operators and punctuation, text is the symbol
)

type token struct {
	kind tokKind
	text string
	col  int // 1-based, in characters
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of expression"
	case tString:
		return "string '" + t.text + "'"
	case tRef:
		return "${" + t.text + "}"
	}
	return "'" + t.text + "'"
}

// SyntaxError is a problem found while parsing, with the 1-based column
// (in characters) where it was found.
type SyntaxError struct {
	Col int
	Msg string
	// colLast puts the column after the message, for the function-name
	// errors whose wording starts with the name ("unknown function 'foo'").
	colLast bool
}

func (e *SyntaxError) Error() string {
	switch {
	case e.Col <= 0:
		return "expr: " + e.Msg
	case e.colLast:
		return fmt.Sprintf("expr: %s (col %d)", e.Msg, e.Col)
	}
	return fmt.Sprintf("expr: col %d: %s", e.Col, e.Msg)
}

func errAt(col int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Col: col, Msg: fmt.Sprintf(format, args...)}
}

func isNameStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }
func isNameChar(r rune) bool {
	return isNameStart(r) || unicode.IsDigit(r) || r == '.' || r == '-' || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)
}
func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// lex splits src into tokens. Whitespace is any Unicode space, so a
// full-width space pasted from a Chinese editor is harmless.
func lex(src string) ([]token, error) {
	rs := []rune(src)
	var toks []token
	for i := 0; i < len(rs); {
		r := rs[i]
		col := i + 1
		switch {
		case unicode.IsSpace(r):
			i++
		case isDigit(r) || (r == '.' && i+1 < len(rs) && isDigit(rs[i+1])):
			j := i
			for j < len(rs) && isDigit(rs[j]) {
				j++
			}
			if j < len(rs) && rs[j] == '.' {
				j++
				for j < len(rs) && isDigit(rs[j]) {
					j++
				}
			}
			toks = append(toks, token{tNumber, string(rs[i:j]), col})
			i = j
		case r == '\'' || r == '"':
			j := i + 1
			for j < len(rs) && rs[j] != r {
				j++
			}
			if j == len(rs) {
				return nil, errAt(col, "unterminated string (no closing %c)", r)
			}
			toks = append(toks, token{tString, string(rs[i+1 : j]), col})
			i = j + 1
		case r == '$':
			if i+1 == len(rs) || rs[i+1] != '{' {
				return nil, errAt(col, "'$' must start a ${name} reference")
			}
			j := i + 2
			for j < len(rs) && rs[j] != '}' {
				j++
			}
			if j == len(rs) {
				return nil, errAt(col, "unterminated ${ (no closing '}')")
			}
			name := string(rs[i+2 : j])
			if !validName(name) {
				return nil, errAt(col, "invalid field name in ${%s}", name)
			}
			toks = append(toks, token{tRef, name, col})
			i = j + 1
		case isNameStart(r):
			j := i + 1
			for j < len(rs) && isNameChar(rs[j]) {
				j++
			}
			// A prefixed function name such as jr:choice-name.
			if j+1 < len(rs) && rs[j] == ':' && isNameStart(rs[j+1]) {
				j += 2
				for j < len(rs) && isNameChar(rs[j]) {
					j++
				}
			}
			toks = append(toks, token{tName, string(rs[i:j]), col})
			i = j
		default:
			sym := string(r)
			if i+1 < len(rs) {
				switch two := string(rs[i : i+2]); two {
				case "!=", "<=", ">=", "..", "//":
					sym = two
				}
			}
			switch sym {
			case "!=", "<=", ">=", "..", "//", "=", "<", ">", "+", "-", "*", "|", "(", ")", ",", "/", ".", "[", "]", "@", ":":
			case "!":
				return nil, errAt(col, "unexpected '!' (use != or not())")
			default:
				return nil, errAt(col, "unexpected character %s", quoteRune(r))
			}
			toks = append(toks, token{tPunct, sym, col})
			i += utf8.RuneCountInString(sym)
		}
	}
	return append(toks, token{kind: tEOF, col: len(rs) + 1}), nil
}

// validName reports whether s is an XLSForm field name: a letter or '_'
// then letters, digits, '_', '-' or '.'.
func validName(s string) bool {
	for i, r := range s {
		if i == 0 && !isNameStart(r) || !isNameChar(r) {
			return false
		}
	}
	return s != ""
}

// quoteRune names a character in an error, with a hint for the full-width
// punctuation that Chinese input methods produce.
func quoteRune(r rune) string {
	q := "'" + string(r) + "'"
	if !unicode.IsPrint(r) {
		q = fmt.Sprintf("%U", r)
	}
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		return q + " (a full-width character; use ASCII '" + string(r-0xFEE0) + "')"
	case strings.ContainsRune("‘’“”", r):
		return q + " (a curly quote; use ' or \")"
	}
	return q
}
