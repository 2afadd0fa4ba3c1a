// Command mktemplates writes the built-in template workbooks: it reads each
// instrument's markdown tables with package form's own reader and writes
// the same cells, sheet by sheet, as .xlsx with excelize. Run it through
// go generate in package form.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/govsurvey/govsurvey/form"
)

func main() {
	src := flag.String("src", "../../shared/instruments", "directory of the instrument .md files")
	out := flag.String("out", "templates", "directory to write the .xlsx files to")
	flag.Parse()
	if err := run(*src, *out); err != nil {
		fmt.Fprintln(os.Stderr, "mktemplates:", err)
		os.Exit(1)
	}
}

func run(src, out string) error {
	paths, err := filepath.Glob(filepath.Join(src, "*.md"))
	if err != nil {
		return err
	}
	sort.Strings(paths)
	n := 0
	for _, p := range paths {
		if strings.EqualFold(filepath.Base(p), "README.md") {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		wb, err := form.ReadWorkbook(filepath.Base(p), data)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		// Refuse to write a template that would not compile.
		if _, err := form.Parse(filepath.Base(p), data); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		name := strings.TrimSuffix(filepath.Base(p), ".md") + ".xlsx"
		if err := writeXLSX(filepath.Join(out, name), wb); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("no instruments in %s", src)
	}
	return nil
}

// writeXLSX writes each sheet's header on row 1 and each row at its own
// number, every cell as text, so reading the file back gives the same cells.
func writeXLSX(path string, wb *form.Workbook) error {
	xf := excelize.NewFile()
	defer xf.Close()
	if err := xf.SetDocProps(&excelize.DocProperties{Creator: "govsurvey", Title: strings.TrimSuffix(filepath.Base(path), ".xlsx")}); err != nil {
		return err
	}
	first := xf.GetSheetName(0)
	for i, key := range wb.Order {
		s := wb.Sheets[key]
		if i == 0 {
			if err := xf.SetSheetName(first, s.Name); err != nil {
				return err
			}
		} else if _, err := xf.NewSheet(s.Name); err != nil {
			return err
		}
		for col, h := range s.Header {
			if err := setText(xf, s.Name, col, 1, h); err != nil {
				return err
			}
		}
		for _, r := range s.Rows {
			for col, h := range s.Header {
				if v, ok := r.Cells[h]; ok {
					if err := setText(xf, s.Name, col, r.Num, v); err != nil {
						return err
					}
				}
			}
		}
		if len(s.Header) > 0 {
			last, err := excelize.ColumnNumberToName(len(s.Header))
			if err != nil {
				return err
			}
			if err := xf.SetColWidth(s.Name, "A", last, 24); err != nil {
				return err
			}
		}
	}
	xf.SetActiveSheet(0)
	if err := xf.SaveAs(path); err != nil {
		return err
	}
	return os.Chmod(path, 0o644)
}

func setText(xf *excelize.File, sheet string, col, row int, v string) error {
	cell, err := excelize.CoordinatesToCellName(col+1, row)
	if err != nil {
		return err
	}
	// As text, so "2019" stays the string it was and is not turned into a number.
	return xf.SetCellStr(sheet, cell, v)
}
