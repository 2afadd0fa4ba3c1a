package form

import (
	"strings"
)

// readMarkdown reads XLSForm markdown tables the way pyxform's md reader
// does (xls2json_backends.md_to_dict), so that the corpus of pyxform tests
// and the instruments read the same here:
//
//   - only lines that start with "|" are table lines; prose is ignored;
//   - lines starting with "#" are skipped, and a trailing "# …" after the
//     last "|" is dropped;
//   - a row whose first cell is non-empty starts a sheet named by it; the
//     next row is that sheet's header;
//   - cells are trimmed, "\|" is a literal pipe, empty cells are absent, and
//     rows with no values are dropped (so they do not count in row numbers).
func readMarkdown(data []byte) (*Workbook, []Problem) {
	data = trimBOM(data)
	text, ok := validText(data)
	var problems []Problem
	if !ok {
		problems = utf8Problems("", data)
	}

	type rawSheet struct {
		name string
		rows [][]string // cells after the first column; "" is an empty cell
	}
	var sheets []rawSheet
	var cur *rawSheet
	for _, line := range strings.Split(text, "\n") {
		cells, ok := markdownCells(line)
		if !ok {
			continue
		}
		if cells[0] != "" {
			// pyxform keeps a sheet only once it has at least one row
			// (its header); a sheet-name line directly followed by another
			// is dropped.
			if cur != nil && len(cur.rows) > 0 {
				sheets = append(sheets, *cur)
			}
			cur = &rawSheet{name: cells[0]}
		}
		rest := cells[1:]
		if cur != nil && !allEmpty(rest) {
			cur.rows = append(cur.rows, rest)
		}
	}
	if cur != nil {
		sheets = append(sheets, *cur)
	}

	wb := newWorkbook()
	for _, rs := range sheets {
		s := &Sheet{Name: rs.name}
		if len(rs.rows) > 0 {
			s.Header = rs.rows[0]
			for i, cells := range rs.rows[1:] {
				if r, ok := rowFromCells(i+2, s.Header, cells); ok {
					s.Rows = append(s.Rows, r)
				}
			}
		}
		problems = append(problems, duplicateHeaders(s)...)
		wb.add(s)
	}
	return wb, problems
}

// markdownCells splits one line into trimmed cells, or reports false for a
// line that is not a table row (prose, a comment, a |---| separator).
func markdownCells(line string) ([]string, bool) {
	if strings.HasPrefix(strings.TrimSpace(line), "#") {
		return nil, false
	}
	line = strings.TrimSpace(dropInlineComment(line))
	if !strings.HasPrefix(line, "|") {
		return nil, false
	}
	last := strings.LastIndexByte(line, '|')
	if last == 0 {
		return nil, false
	}
	inner := line[1:last]
	if isSeparator(inner) {
		return nil, false
	}
	var cells []string
	start := 0
	for i := 0; i < len(inner); i++ {
		if inner[i] == '|' && (i == 0 || inner[i-1] != '\\') {
			cells = append(cells, markdownCell(inner[start:i]))
			start = i + 1
		}
	}
	cells = append(cells, markdownCell(inner[start:]))
	return cells, true
}

func markdownCell(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), `\|`, "|")
}

// dropInlineComment removes a trailing "#…" that has no "|" after it, as
// pyxform's regular expression ^(.*)(#[^|]+)$ does: the comment starts at
// the last "#" after the last "|" that still has a character after it.
func dropInlineComment(line string) string {
	lastPipe := strings.LastIndexByte(line, '|')
	for i := len(line) - 2; i > lastPipe; i-- {
		if line[i] == '#' {
			return line[:i]
		}
	}
	return line
}

// isSeparator reports a markdown header separator such as "---|---"; like
// pyxform, only a run of '-' and '|' without spaces counts.
func isSeparator(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '-' && s[i] != '|' {
			return false
		}
	}
	return true
}

func allEmpty(cells []string) bool {
	for _, c := range cells {
		if c != "" {
			return false
		}
	}
	return true
}
