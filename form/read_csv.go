package form

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// readCSV reads a .csv form. pyxform's single-file layout names the sheet in
// the first column, like the markdown tables; a file whose first cell is a
// "type" header is instead taken as a lone survey sheet, which is what a user
// exporting just the survey tab from Excel produces.
func readCSV(fileStem string, data []byte) (*Workbook, []Problem) {
	data = trimBOM(data)
	records, problems := csvRecords("", data)
	if len(records) > 0 && len(records[0].cells) > 0 && strings.EqualFold(strings.TrimSpace(records[0].cells[0]), "type") {
		name := strings.ToLower(fileStem)
		if !knownSheet(name) {
			name = "survey"
		}
		wb := newWorkbook()
		s := csvSheet(name, records)
		wb.add(s)
		return wb, append(problems, duplicateHeaders(s)...)
	}

	// The single-file layout, as pyxform's csv_to_dict: a non-empty first
	// cell names the sheet; the first row with content after it is the
	// header; rows without content are dropped and not counted.
	wb := newWorkbook()
	var cur *Sheet
	var header []string
	num := 0
	finish := func() {
		if cur != nil {
			problems = append(problems, duplicateHeaders(cur)...)
			wb.add(cur)
		}
	}
	for _, rec := range records {
		if len(rec.cells) == 0 {
			continue
		}
		first := strings.TrimSpace(rec.cells[0])
		content := trimAll(rec.cells[1:])
		if first != "" {
			finish()
			cur = &Sheet{Name: first}
			header = nil
			num = 0
		}
		if cur == nil || allEmpty(content) {
			continue
		}
		if header == nil {
			header = collapseSpaces(content)
			cur.Header = header
			num = 1
			continue
		}
		num++
		if r, ok := rowFromCells(num, header, content); ok {
			cur.Rows = append(cur.Rows, r)
		}
	}
	finish()
	return wb, problems
}

// csvSheet makes a sheet from the records of one csv-bundle file: the first
// record is the header and row numbers are the file's line numbers, which
// match spreadsheet rows unless a cell spans lines.
func csvSheet(name string, records []csvRecord) *Sheet {
	s := &Sheet{Name: name}
	if len(records) == 0 {
		return s
	}
	s.Header = collapseSpaces(trimAll(records[0].cells))
	for _, rec := range records[1:] {
		if r, ok := rowFromCells(rec.line, s.Header, trimAll(rec.cells)); ok {
			s.Rows = append(s.Rows, r)
		}
	}
	return s
}

type csvRecord struct {
	line  int
	cells []string
}

// csvRecords parses CSV text leniently (quotes inside fields and ragged rows
// are accepted, as Python's csv module does). Bad UTF-8 and syntax errors are
// problems attributed to sheet.
func csvRecords(sheet string, data []byte) ([]csvRecord, []Problem) {
	var problems []Problem
	text, ok := validText(data)
	if !ok {
		problems = utf8Problems(sheet, data)
	}
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	var out []csvRecord
	for {
		cells, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			msg := err.Error()
			if errors.As(err, &pe) {
				msg = fmt.Sprintf("line %d: %v", pe.Line, pe.Err)
			}
			problems = append(problems, Problem{Sheet: sheet, Message: msg})
			break
		}
		line, _ := r.FieldPos(0)
		out = append(out, csvRecord{line: line, cells: cells})
	}
	return out, problems
}

// readCSVZip reads a csv bundle packed as a .zip: every .csv file in it is
// one sheet named by its file name, wherever it sits in the archive.
func readCSVZip(data []byte) (*Workbook, []Problem, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, nil, &Error{Problems: []Problem{{Message: "cannot read the .zip csv bundle: " + err.Error()}}}
	}
	files := make(map[string][]byte)
	var problems []Problem
	for _, zf := range zr.File {
		if zf.FileInfo().IsDir() || !strings.EqualFold(path.Ext(zf.Name), ".csv") {
			continue
		}
		base := path.Base(zf.Name)
		if strings.HasPrefix(base, "._") { // macOS resource forks in archives made by Finder
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			problems = append(problems, Problem{Message: fmt.Sprintf("%s: %v", zf.Name, err)})
			continue
		}
		// A form is small; a limit keeps a hostile archive from filling memory.
		b, err := io.ReadAll(io.LimitReader(rc, maxBundleFile+1))
		rc.Close()
		if err != nil {
			problems = append(problems, Problem{Message: fmt.Sprintf("%s: %v", zf.Name, err)})
			continue
		}
		if len(b) > maxBundleFile {
			problems = append(problems, Problem{Message: fmt.Sprintf("%s: larger than %d bytes", zf.Name, maxBundleFile)})
			continue
		}
		if _, dup := files[base]; dup {
			problems = append(problems, Problem{Message: fmt.Sprintf("the bundle holds %s more than once", base)})
			continue
		}
		files[base] = b
	}
	wb, more := csvBundle(files)
	return wb, append(problems, more...), nil
}

const maxBundleFile = 64 << 20

// readCSVDir reads a csv bundle from a directory.
func readCSVDir(dir string) (*Workbook, []Problem, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("form: %w", err)
	}
	files := make(map[string][]byte)
	for _, e := range entries {
		if e.IsDir() || !strings.EqualFold(filepath.Ext(e.Name()), ".csv") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, nil, fmt.Errorf("form: %w", err)
		}
		files[e.Name()] = b
	}
	if len(files) == 0 {
		return nil, nil, &Error{File: dir, Problems: []Problem{{Message: "the directory holds no .csv files (expected survey.csv, choices.csv, settings.csv, checks.csv)"}}}
	}
	wb, problems := csvBundle(files)
	return wb, problems, nil
}

// csvBundle makes a workbook of one sheet per file, in a stable order:
// the XLSForm sheets first, then any others by name.
func csvBundle(files map[string][]byte) (*Workbook, []Problem) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	rank := func(n string) int {
		for i, s := range []string{"survey", "choices", "settings", "checks"} {
			if strings.EqualFold(stem(n), s) {
				return i
			}
		}
		return 4
	}
	sort.Slice(names, func(i, j int) bool {
		ri, rj := rank(names[i]), rank(names[j])
		if ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	wb := newWorkbook()
	var problems []Problem
	for _, n := range names {
		sheet := stem(n)
		records, ps := csvRecords(sheet, trimBOM(files[n]))
		problems = append(problems, ps...)
		s := csvSheet(sheet, records)
		problems = append(problems, duplicateHeaders(s)...)
		wb.add(s)
	}
	return wb, problems
}

func knownSheet(name string) bool {
	switch name {
	case "survey", "choices", "settings", "checks", "external_choices", "entities", "osm":
		return true
	}
	return false
}

func trimAll(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = strings.TrimSpace(c)
	}
	return out
}

// collapseSpaces trims header cells and squeezes runs of spaces, as
// pyxform does for headers ("list  name" is "list name").
func collapseSpaces(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = strings.Join(strings.FieldsFunc(strings.TrimSpace(c), func(r rune) bool { return r == ' ' }), " ")
	}
	return out
}
