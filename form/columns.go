package form

import (
	"fmt"
	"strings"
)

// Column vocabularies of the sheets govsurvey interprets. Other columns are
// kept as written in Extra.
var (
	surveyColumns = set("type", "name", "label", "hint", "guidance_hint", "required", "required_message",
		"relevant", "constraint", "constraint_message", "calculation", "default", "read_only",
		"choice_filter", "appearance", "parameters", "classification",
		"image", "big-image", "audio", "video", "media")
	surveyAliases = map[string]string{
		"relevance": "relevant", "bind::relevant": "relevant",
		"calculate": "calculation", "bind::calculate": "calculation",
		"readonly": "read_only", "bind::readonly": "read_only",
		"constraint message": "constraint_message", "constraining_message": "constraint_message",
		"jr:constraintmsg": "constraint_message", "bind::jr:constraintmsg": "constraint_message",
		"requiredmsg": "required_message", "jr:requiredmsg": "required_message", "bind::jr:requiredmsg": "required_message",
		"bind::required": "required", "bind::constraint": "constraint",
		"caption": "label", "command": "type", "tag": "name", "value": "name",
		"control::appearance": "appearance", "guidance": "guidance_hint",
	}
	choicesColumns = set("list_name", "name", "label", "image", "big-image", "audio", "video")
	choicesAliases = map[string]string{"caption": "label", "value": "name"}
	checksColumns  = set("name", "expression", "message")
	// translatable columns may carry a ::language suffix.
	translatable = set("label", "hint", "guidance_hint", "required_message", "constraint_message", "message",
		"image", "big-image", "audio", "video", "media")
	// media columns are recorded for their languages but kept in Extra.
	mediaColumns = set("image", "big-image", "audio", "video", "media")
)

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// column is one header cell read against a sheet's vocabulary.
type column struct {
	header string // as written
	base   string // canonical name, "" for a column kept in Extra
	lang   string // language of a translatable column, "" for none
}

// snake normalises a header as pyxform does: words joined by "_", lower case.
func snake(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), "_"))
}

// parseHeader reads one header: "label::English (en)" is label in English;
// the legacy "label:English" too when no header of the sheet uses "::".
func parseHeader(h string, doubleColon bool, known map[string]bool, aliases map[string]string) (base, lang string) {
	s := snake(h)
	if known[s] {
		return s, ""
	}
	if a, ok := aliases[s]; ok {
		return a, ""
	}
	if a, ok := aliases[strings.ToLower(strings.TrimSpace(h))]; ok {
		return a, ""
	}
	var tokens []string
	if doubleColon || strings.Contains(h, "::") {
		tokens = strings.Split(h, "::")
	} else {
		for _, t := range strings.Split(h, ":") {
			// "jr:count" and the like keep their namespace prefix.
			if n := len(tokens); n > 0 && strings.TrimSpace(tokens[n-1]) == "jr" {
				tokens[n-1] = "jr:" + t
				continue
			}
			tokens = append(tokens, t)
		}
	}
	for i := range tokens {
		tokens[i] = strings.TrimSpace(tokens[i])
	}
	first := snake(tokens[0])
	if first == "media" && len(tokens) > 1 {
		tokens = tokens[1:]
		first = snake(tokens[0])
	}
	if a, ok := aliases[first]; ok {
		first = a
	}
	if !known[first] {
		return "", ""
	}
	if len(tokens) == 1 {
		return first, ""
	}
	if !translatable[first] {
		return "", ""
	}
	return first, strings.Join(tokens[1:], "::")
}

// readColumns reads a sheet's header against its vocabulary. Two headers
// meaning the same column ("name" and "value") are a problem: one would
// silently win.
func (c *compiler) readColumns(s *Sheet, known map[string]bool, aliases map[string]string) []column {
	doubleColon := false
	for _, h := range s.Header {
		if strings.Contains(h, "::") {
			doubleColon = true
		}
	}
	cols := make([]column, 0, len(s.Header))
	seen := make(map[string]string)
	for _, h := range s.Header {
		if h == "" {
			continue
		}
		col := column{header: h}
		col.base, col.lang = parseHeader(h, doubleColon, known, aliases)
		if col.base != "" {
			key := col.base + "\x00" + col.lang
			if other, dup := seen[key]; dup && other != h {
				c.problem(s.Name, 1, "columns '%s' and '%s' are the same column; keep one", other, h)
				continue
			}
			seen[key] = h
			if col.lang != "" {
				c.language(col.lang)
			}
		}
		cols = append(cols, col)
	}
	return cols
}

// hasColumn reports whether cols hold the canonical column base.
func hasColumn(cols []column, base string) bool {
	for _, c := range cols {
		if c.base == base {
			return true
		}
	}
	return false
}

// cells are one row's values read through its sheet's columns.
type cells struct {
	num   int
	value map[string]string // base → value, for columns without a language
	text  map[string]Text   // base → text, for translatable columns
	extra map[string]string // header as written → value, for columns kept as written
}

func readCells(r Row, cols []column, clean func(base, v string) string) cells {
	out := cells{num: r.Num}
	for _, col := range cols {
		v := r.Cells[col.header]
		if v == "" {
			continue
		}
		if clean != nil {
			v = clean(col.base, v)
		}
		switch {
		case col.base == "" || mediaColumns[col.base]:
			if out.extra == nil {
				out.extra = make(map[string]string)
			}
			out.extra[col.header] = v
		case translatable[col.base]:
			if out.text == nil {
				out.text = make(map[string]Text)
			}
			t := out.text[col.base]
			if t == nil {
				t = make(Text)
				out.text[col.base] = t
			}
			t[col.lang] = v
		default:
			if out.value == nil {
				out.value = make(map[string]string)
			}
			out.value[col.base] = v
		}
	}
	return out
}

func (c cells) get(base string) string { return c.value[base] }

func (c cells) textOf(base string) Text { return c.text[base] }

// empty reports a row with nothing govsurvey reads in it.
func (c cells) empty() bool { return len(c.value) == 0 && len(c.text) == 0 }

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("'%s'", n)
	}
	return strings.Join(q, ", ")
}
