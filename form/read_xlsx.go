package form

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/xuri/excelize/v2"
)

// readXLSX reads every sheet of an .xlsx workbook. Values are taken as Excel
// displays them (a TRUE cell reads "TRUE", the number 2019 reads "2019"),
// trimmed, with non-breaking spaces made plain as pyxform does. The first
// row is the header; empty rows are skipped but keep their numbers, so a
// problem names the row the user sees.
func readXLSX(data []byte) (*Workbook, []Problem, error) {
	// A form is small; the limits keep a zip bomb from filling memory
	// (excelize's defaults allow 16 GB unpacked).
	xf, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{
		UnzipSizeLimit:    256 << 20,
		UnzipXMLSizeLimit: 16 << 20,
	})
	if err != nil {
		return nil, nil, &Error{Problems: []Problem{{Message: "cannot read the .xlsx workbook: " + err.Error()}}}
	}
	defer xf.Close()

	wb := newWorkbook()
	var problems []Problem
	for _, name := range xf.GetSheetList() {
		s, err := readXLSXSheet(xf, name)
		if err != nil {
			// A chart or otherwise unreadable sheet matters only if it is
			// one the form needs.
			if knownSheet(strings.ToLower(name)) {
				problems = append(problems, Problem{Sheet: name, Message: "cannot read the sheet: " + err.Error()})
			}
			continue
		}
		problems = append(problems, duplicateHeaders(s)...)
		wb.add(s)
	}
	return wb, problems, nil
}

func readXLSXSheet(xf *excelize.File, name string) (*Sheet, error) {
	rows, err := xf.Rows(name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	s := &Sheet{Name: name}
	num := 0
	for rows.Next() {
		num++
		cells, err := rows.Columns()
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", num, err)
		}
		for i, c := range cells {
			cells[i] = strings.TrimSpace(strings.ReplaceAll(c, "\u00a0", " "))
		}
		if num == 1 {
			s.Header = collapseSpaces(cells)
			continue
		}
		if r, ok := rowFromCells(num, s.Header, cells); ok {
			s.Rows = append(s.Rows, r)
		}
	}
	if err := rows.Error(); err != nil {
		return nil, err
	}
	return s, nil
}
