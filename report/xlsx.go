package report

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// XLSX writes every table of the report to a workbook: one sheet per
// figure, named by its number ("图2-1", "表1-1"), with the caption, the
// header, the rows (numbers as numbers, percentages to two decimals as in
// the text) and the notes with the bases.
func (r *Report) XLSX(w io.Writer) error {
	x := excelize.NewFile()
	defer x.Close()
	bold, err := x.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return fmt.Errorf("report: xlsx: %w", err)
	}
	twoDP, err := x.NewStyle(&excelize.Style{NumFmt: 2}) // 0.00
	if err != nil {
		return fmt.Errorf("report: xlsx: %w", err)
	}
	whole, err := x.NewStyle(&excelize.Style{NumFmt: 3}) // #,##0
	if err != nil {
		return fmt.Errorf("report: xlsx: %w", err)
	}
	used := map[string]bool{}
	first := true
	for _, f := range r.Figures() {
		name := sheetName(f.Number, used)
		if first {
			// The new workbook's default sheet becomes the first figure's.
			if err := x.SetSheetName("Sheet1", name); err != nil {
				return fmt.Errorf("report: xlsx: %w", err)
			}
			first = false
		} else if _, err := x.NewSheet(name); err != nil {
			return fmt.Errorf("report: xlsx: %w", err)
		}
		set := func(col, row int, v any, style int) error {
			cell, err := excelize.CoordinatesToCellName(col, row)
			if err != nil {
				return err
			}
			if err := x.SetCellValue(name, cell, v); err != nil {
				return err
			}
			if style != 0 {
				return x.SetCellStyle(name, cell, cell, style)
			}
			return nil
		}
		if err := set(1, 1, f.Caption(), bold); err != nil {
			return fmt.Errorf("report: xlsx: %w", err)
		}
		for j, h := range f.Table.Header {
			if err := set(j+1, 3, h, bold); err != nil {
				return fmt.Errorf("report: xlsx: %w", err)
			}
		}
		row := 4
		for _, cells := range f.Table.Rows {
			for j, c := range cells {
				var err error
				switch {
				case c.Num && c.Unit == "":
					err = set(j+1, row, c.Value, whole)
				case c.Num:
					err = set(j+1, row, c.Value, twoDP)
				default:
					err = set(j+1, row, c.Text, 0)
				}
				if err != nil {
					return fmt.Errorf("report: xlsx: %w", err)
				}
			}
			row++
		}
		row++
		for _, n := range f.Table.Notes {
			if err := set(1, row, n, 0); err != nil {
				return fmt.Errorf("report: xlsx: %w", err)
			}
			row++
		}
		if err := x.SetColWidth(name, "A", "A", 36); err != nil {
			return fmt.Errorf("report: xlsx: %w", err)
		}
	}
	if first {
		return fmt.Errorf("report: xlsx: the report has no tables")
	}
	if _, err := x.WriteTo(w); err != nil {
		return fmt.Errorf("report: xlsx: %w", err)
	}
	return nil
}

// sheetName makes a sheet name from a figure number: at most 31
// characters, none of : \ / ? * [ ], unique in the workbook.
func sheetName(number string, used map[string]bool) string {
	s := strings.Map(func(r rune) rune {
		switch r {
		case ':', '\\', '/', '?', '*', '[', ']', ' ':
			return -1
		}
		return r
	}, number)
	if s == "" {
		s = "table"
	}
	for utf8.RuneCountInString(s) > 31 {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	name := s
	for i := 2; used[strings.ToLower(name)]; i++ {
		suffix := fmt.Sprintf("_%d", i)
		base := []rune(s)
		if len(base)+len(suffix) > 31 {
			base = base[:31-len(suffix)]
		}
		name = string(base) + suffix
	}
	used[strings.ToLower(name)] = true
	return name
}
