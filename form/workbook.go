package form

import (
	"bytes"
	"fmt"
	"path"
	"strings"
	"unicode/utf8"
)

// Workbook is a spreadsheet as the readers see it, before any XLSForm
// meaning is given to it: the same shape whether it came from .xlsx, .csv or
// markdown tables.
type Workbook struct {
	Sheets map[string]*Sheet // keyed by the lower-cased sheet name: XLSForm sheet names are case-insensitive
	Order  []string          // keys of Sheets in file order
}

// Sheet is one sheet: its header row and its non-empty data rows.
type Sheet struct {
	Name   string   // as written in the file
	Header []string // column headers as written (trimmed), in column order
	Rows   []Row    // data rows that hold at least one value, in order
}

// Row is one data row. Num is its spreadsheet row number with the header as
// row 1, so problems can name it; rows skipped for being empty keep their
// numbers in .xlsx and csv-bundle files, while markdown tables and
// single-file CSV count only table rows, as pyxform does.
type Row struct {
	Num   int
	Cells map[string]string // header → value; empty cells are absent
}

// Sheet returns the sheet called name, ignoring case, or nil.
func (w *Workbook) Sheet(name string) *Sheet {
	if w == nil {
		return nil
	}
	return w.Sheets[strings.ToLower(name)]
}

func newWorkbook() *Workbook {
	return &Workbook{Sheets: make(map[string]*Sheet)}
}

// add puts a sheet in the workbook. A second sheet of the same name replaces
// the first but keeps its place, as pyxform's dictionary of sheets does.
func (w *Workbook) add(s *Sheet) {
	key := strings.ToLower(s.Name)
	if _, ok := w.Sheets[key]; !ok {
		w.Order = append(w.Order, key)
	}
	w.Sheets[key] = s
}

// ReadWorkbook reads a workbook, choosing the reader by the extension of
// name: .xlsx/.xlsm, .xls (Excel 97–2003), .md, .csv (pyxform's single-file layout, or one sheet
// with a type column), or .zip (a csv bundle: survey.csv, choices.csv, …).
// Problems in the file (bad UTF-8, repeated column headers) are returned as
// an *Error.
func ReadWorkbook(name string, data []byte) (*Workbook, error) {
	wb, problems, err := readWorkbook(name, data)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, &Error{File: name, Problems: problems}
	}
	return wb, nil
}

// readWorkbook returns the workbook together with the problems found while
// reading it, so that compiling can add its own and report them all at once.
// err is set only when nothing usable could be read.
func readWorkbook(name string, data []byte) (*Workbook, []Problem, error) {
	switch ext := strings.ToLower(path.Ext(name)); ext {
	case ".xlsx", ".xlsm":
		return readXLSX(data)
	case ".md", ".markdown":
		wb, problems := readMarkdown(data)
		return wb, problems, nil
	case ".csv":
		wb, problems := readCSV(stem(name), data)
		return wb, problems, nil
	case ".zip":
		return readCSVZip(data)
	case ".xls":
		return readXLS(data)
	default:
		return nil, nil, &Error{File: name, Problems: []Problem{{Message: fmt.Sprintf("unsupported file type %q: use .xlsx, .xls, .csv, .zip (csv bundle) or .md", ext)}}}
	}
}

// stem is a file name without directory and extension.
func stem(name string) string {
	base := path.Base(strings.ReplaceAll(name, `\`, "/"))
	if base == "." || base == "/" {
		return ""
	}
	return strings.TrimSuffix(base, path.Ext(base))
}

// validText returns s as valid UTF-8, replacing bad bytes, and whether it had any.
func validText(b []byte) (string, bool) {
	if utf8.Valid(b) {
		return string(b), true
	}
	return string(bytes.ToValidUTF8(b, []byte("\uFFFD"))), false
}

// badUTF8Lines lists the 1-based line numbers holding invalid UTF-8.
func badUTF8Lines(b []byte) []int {
	var out []int
	for i, line := range bytes.Split(b, []byte("\n")) {
		if !utf8.Valid(line) {
			out = append(out, i+1)
		}
	}
	return out
}

func utf8Problems(sheet string, b []byte) []Problem {
	var out []Problem
	for _, n := range badUTF8Lines(b) {
		msg := fmt.Sprintf("line %d: invalid UTF-8 text (save the file as UTF-8)", n)
		out = append(out, Problem{Sheet: sheet, Message: msg})
	}
	return out
}

// trimBOM drops a leading UTF-8 byte order mark, which Excel writes.
func trimBOM(b []byte) []byte {
	return bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
}

// duplicateHeaders reports header cells written twice in one sheet: the
// second would silently hide the first.
func duplicateHeaders(s *Sheet) []Problem {
	var out []Problem
	seen := make(map[string]bool, len(s.Header))
	for _, h := range s.Header {
		if h == "" {
			continue
		}
		if seen[h] {
			out = append(out, Problem{Sheet: s.Name, Row: 1, Message: fmt.Sprintf("column header '%s' appears more than once", h)})
		}
		seen[h] = true
	}
	return out
}

// rowFromCells makes a Row from cell values under header, or reports false
// when every cell is empty.
func rowFromCells(num int, header, cells []string) (Row, bool) {
	r := Row{Num: num}
	for i, v := range cells {
		if i >= len(header) || header[i] == "" || v == "" {
			continue
		}
		if r.Cells == nil {
			r.Cells = make(map[string]string)
		}
		if _, dup := r.Cells[header[i]]; !dup {
			r.Cells[header[i]] = v
		}
	}
	return r, r.Cells != nil
}
